/*
 * state.c - text state files with a version header and a CRC line (state.h).
 */
#include "kms/core/state.h"

#include "base/duration.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "dns/name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT_VERSION 1
#define MAX_TOKENS     8

/* ---- helpers ---------------------------------------------------------------- */

uint32_t kms_crc32(uint32_t crc, const void *data, size_t len)
{
    static uint32_t table[256];
    static int ready;
    const uint8_t *p = data;

    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;

            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void wr_printf(kms_wr_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wr_printf(kms_wr_t *w, const char *fmt, ...)
{
    va_list ap;
    char small[512];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        w->err = KMS_EINVAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        kms_wr_bytes(w, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);

    if (!big) {
        w->err = KMS_ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    kms_wr_bytes(w, big, (size_t)n);
    free(big);
}

static void wr_header(kms_wr_t *w, const char *kind, size_t *start)
{
    *start = w->len;
    wr_printf(w, "kmsdns-%s %d\n", kind, FORMAT_VERSION);
}

static int wr_end(kms_wr_t *w, size_t start)
{
    if (w->err)
        return w->err;
    wr_printf(w, "end crc32=%08x\n", kms_crc32(0, w->buf + start, w->len - start));
    return w->err;
}

void kms_overrides_free(kms_overrides_t *o)
{
    if (!o)
        return;
    pub_domain_list_free(&o->domains);
    memset(o, 0, sizeof *o);
}

int kms_overrides_copy(kms_overrides_t *dst, const kms_overrides_t *src)
{
    *dst = *src;
    memset(&dst->domains, 0, sizeof dst->domains);
    if (pub_domains_copy(&dst->domains, &src->domains) < 0)
        goto fail;
    return 0;

fail:
    kms_overrides_free(dst);
    return KMS_ENOMEM;
}

/* ---- generic parse ------------------------------------------------------------ */

typedef struct {
    const char *fname;
    char *err;
    size_t errlen;
    unsigned line;
} pctx_t;

static int perr(pctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(pctx_t *c, const char *fmt, ...)
{
    va_list ap;
    char why[256];

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s:%u: %s", c->fname, c->line, why);
    return KMS_ECORRUPT;
}

/* Called per record line with its tokens; returns 0 or perr(). */
typedef int (*record_fn)(pctx_t *c, char **tok, int ntok, char *rest, void *obj);

static int parse_file(const char *text, size_t len, const char *fname, unsigned flags,
                      const char *kind, record_fn fn, void *obj, char *err, size_t errlen)
{
    pctx_t c = {fname, err, errlen, 0};
    char header[64], *line = NULL;
    size_t pos = 0, end_at, nlines = 0, hl;
    int r = 0;

    /* Count lines and find where the last one starts. */
    if (len == 0) {
        c.line = 1;
        return perr(&c, "empty file (expected 'kmsdns-%s %d')", kind, FORMAT_VERSION);
    }
    for (size_t i = 0; i < len; i++)
        nlines += text[i] == '\n';
    if (text[len - 1] != '\n') {
        c.line = (unsigned)nlines + 1;
        return perr(&c, "truncated: last line has no newline and is not 'end crc32=...'");
    }
    end_at = len - 1;
    while (end_at > 0 && text[end_at - 1] != '\n')
        end_at--;
    snprintf(header, sizeof header, "kmsdns-%s %d\n", kind, FORMAT_VERSION);
    hl = strlen(header);
    c.line = 1;
    if (len < hl || memcmp(text, header, hl) != 0) {
        size_t pl = strlen(kind) + 8;

        if (len > pl && memcmp(text, header, pl) == 0)
            return perr(&c, "unsupported format version (this program reads version %d)",
                        FORMAT_VERSION);
        return perr(&c, "not a kmsdns %s file (expected 'kmsdns-%s %d')", kind, kind,
                    FORMAT_VERSION);
    }
    c.line = (unsigned)nlines;
    if (end_at < hl || len - end_at < 10 || memcmp(text + end_at, "end crc32=", 10) != 0)
        return perr(&c, "truncated: no final 'end crc32=...' line");
    {
        char hex[16];
        size_t hlen = len - 1 - end_at - 10;
        unsigned long want;
        char *e;

        if (hlen != 8)
            return perr(&c, "bad checksum line");
        memcpy(hex, text + end_at + 10, 8);
        hex[8] = 0;
        want = strtoul(hex, &e, 16);
        if (*e || strspn(hex, "0123456789abcdef") != 8)
            return perr(&c, "bad checksum line");
        if (!(flags & KMS_STATE_NO_CRC) && kms_crc32(0, text, end_at) != (uint32_t)want)
            return perr(&c, "checksum mismatch: file edited or corrupt");
    }
    /* Records: lines 2 .. nlines-1. */
    pos = hl;
    c.line = 1;
    while (pos < end_at) {
        size_t n = 0;
        char *tok[MAX_TOKENS], *save = NULL, *t, *rest = NULL;
        int ntok = 0;

        c.line++;
        while (text[pos + n] != '\n')
            n++;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)text[pos + i];

            if (ch < 0x20 || ch == 0x7f) {
                r = perr(&c, "control character in line");
                goto done;
            }
        }
        free(line);
        line = malloc(n + 1);
        if (!line) {
            r = KMS_ENOMEM;
            goto done;
        }
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos += n + 1;
        /* "domains" keeps the rest of the line as one value. */
        if (n > 8 && memcmp(line, "domains ", 8) == 0) {
            rest = line + 8;
            line[7] = 0;
            tok[ntok++] = line;
        } else {
            for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (ntok == MAX_TOKENS) {
                    r = perr(&c, "too many fields");
                    goto done;
                }
                tok[ntok++] = t;
            }
        }
        if (ntok == 0) {
            r = perr(&c, "empty line");
            goto done;
        }
        if ((r = fn(&c, tok, ntok, rest, obj)) < 0)
            goto done;
    }
done:
    free(line);
    return r;
}

static int tok_guid(pctx_t *c, const char *s, kms_guid_t *g, const char *what)
{
    if (strlen(s) != 36 || kms_guid_parse(s, g) < 0)
        return perr(c, "bad %s '%.40s'", what, s);
    return 0;
}

static int tok_uint(pctx_t *c, const char *s, uint64_t min, uint64_t max, uint64_t *v,
                    const char *what)
{
    if (kms_uint_parse(s, min, max, v) < 0)
        return perr(c, "bad %s '%.40s' (%llu..%llu)", what, s, (unsigned long long)min,
                    (unsigned long long)max);
    return 0;
}

/* ---- inventory ------------------------------------------------------------------ */

int kms_state_format_inventory(const kms_inv_t *inv, kms_wr_t *out)
{
    size_t start;

    wr_header(out, "inventory", &start);
    for (size_t i = 0; i < inv->n; i++) {
        const kms_product_t *p = &inv->items[i];
        char g[KMS_GUID_STRLEN];

        wr_printf(out, "product %s %s %d %s %lld ",
                  p->is_default ? "default" : kms_guid_format(&p->act_id, g),
                  kms_family_name(p->family), p->enabled ? 1 : 0, p->key, (long long)p->installed);
        if (!p->n_kms_ids)
            wr_printf(out, "-");
        for (size_t k = 0; k < p->n_kms_ids; k++)
            wr_printf(out, "%s%s", k ? "," : "", kms_guid_format(&p->kms_ids[k], g));
        wr_printf(out, "\n");
    }
    return wr_end(out, start);
}

static int inv_record(pctx_t *c, char **tok, int ntok, char *rest, void *obj)
{
    kms_inv_t *inv = obj;
    kms_guid_t act, ids[KMS_INV_MAX_KMSIDS];
    size_t nids = 0;
    kms_family_t fam;
    uint64_t en, when;
    char key[KMS_KEY_STRLEN];
    int is_def, r;

    if (strcmp(tok[0], "product") != 0)
        return perr(c, "unknown record '%.40s'", tok[0]);
    if (ntok != 7)
        return perr(c, "product: expected 6 fields, found %d", ntok - 1);
    is_def = strcmp(tok[1], "default") == 0;
    if (!is_def && (r = tok_guid(c, tok[1], &act, "activation ID")) < 0)
        return r;
    if (kms_inv_find(inv, is_def ? NULL : &act))
        return perr(c, "product %s listed twice", tok[1]);
    if (kms_family_parse(tok[2], &fam) < 0)
        return perr(c, "bad family '%.40s'", tok[2]);
    if ((r = tok_uint(c, tok[3], 0, 1, &en, "enabled flag")) < 0)
        return r;
    if (kms_key_check(tok[4], key) < 0 || strcmp(key, tok[4]) != 0)
        return perr(c, "malformed product key");
    if ((r = tok_uint(c, tok[5], 0, INT64_MAX, &when, "install time")) < 0)
        return r;
    if (strcmp(tok[6], "-") != 0) {
        char *save = NULL;

        for (char *t = strtok_r(tok[6], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (nids == KMS_INV_MAX_KMSIDS)
                return perr(c, "more than %d KMS IDs", KMS_INV_MAX_KMSIDS);
            if ((r = tok_guid(c, t, &ids[nids], "KMS ID")) < 0)
                return r;
            nids++;
        }
        if (!nids)
            return perr(c, "empty KMS ID list");
    }
    r = kms_inv_install(inv, key, is_def ? NULL : &act, fam, ids, nids, (int64_t)when);
    if (r == KMS_ENOMEM)
        return r;
    if (r < 0)
        return perr(c, "cannot add product: %s", kms_strerror(r));
    if (en)
        kms_inv_enable(inv, is_def ? NULL : &act);
    (void)rest;
    return 0;
}

int kms_state_parse_inventory(const char *text, size_t len, const char *fname, unsigned flags,
                              kms_inv_t *inv, char *err, size_t errlen)
{
    kms_inv_t tmp;
    int r;

    kms_inv_init(&tmp);
    r = parse_file(text, len, fname, flags, "inventory", inv_record, &tmp, err, errlen);
    if (r < 0) {
        kms_inv_clear(&tmp);
        return r;
    }
    kms_inv_clear(inv);
    *inv = tmp;
    return 0;
}

/* ---- ledger -------------------------------------------------------------------- */

typedef struct {
    kms_wr_t *out;
} ledger_wctx_t;

static int ledger_write_client(void *ud, const kms_guid_t *client, int64_t last_seen)
{
    ledger_wctx_t *w = ud;
    char g[KMS_GUID_STRLEN];

    wr_printf(w->out, "client %s %lld\n", kms_guid_format(client, g), (long long)last_seen);
    return w->out->err;
}

int kms_state_format_ledger(const kms_ledger_t *l, kms_wr_t *out)
{
    size_t start, n = kms_ledger_npools(l);
    ledger_wctx_t w = {out};

    wr_header(out, "ledger", &start);
    for (size_t i = 0; i < n; i++) {
        kms_guid_t counted;
        uint32_t cap, count;
        char g[KMS_GUID_STRLEN];

        kms_ledger_pool(l, i, &counted, &cap, &count, 0);
        wr_printf(out, "pool %s %u\n", kms_guid_format(&counted, g), cap);
        kms_ledger_visit(l, i, ledger_write_client, &w);
    }
    return wr_end(out, start);
}

typedef struct {
    kms_ledger_t *l;
    int have_pool;
    kms_guid_t pool;
} ledger_pctx_t;

static int ledger_record(pctx_t *c, char **tok, int ntok, char *rest, void *obj)
{
    ledger_pctx_t *lp = obj;
    kms_guid_t g;
    uint64_t v;
    int r;

    (void)rest;
    if (strcmp(tok[0], "pool") == 0) {
        if (ntok != 3)
            return perr(c, "pool: expected 2 fields, found %d", ntok - 1);
        if ((r = tok_guid(c, tok[1], &g, "KMS counted ID")) < 0 ||
            (r = tok_uint(c, tok[2], 2, KMS_LEDGER_MAX_CAP, &v, "capacity")) < 0)
            return r;
        if (kms_ledger_has_pool(lp->l, &g))
            return perr(c, "pool %s listed twice", tok[1]);
        if (kms_ledger_npools(lp->l) >= KMS_LEDGER_MAX_POOLS)
            return perr(c, "more than %d pools", KMS_LEDGER_MAX_POOLS);
        r = kms_ledger_restore_pool(lp->l, &g, (uint32_t)v);
        if (r < 0)
            return r == KMS_ENOMEM ? r : perr(c, "pool: %s", kms_strerror(r));
        lp->have_pool = 1;
        lp->pool = g;
        return 0;
    }
    if (strcmp(tok[0], "client") == 0) {
        if (!lp->have_pool)
            return perr(c, "client before any pool");
        if (ntok != 3)
            return perr(c, "client: expected 2 fields, found %d", ntok - 1);
        if ((r = tok_guid(c, tok[1], &g, "client machine ID")) < 0 ||
            (r = tok_uint(c, tok[2], 0, INT64_MAX / 2, &v, "time")) < 0)
            return r;
        r = kms_ledger_restore_client(lp->l, &lp->pool, &g, (int64_t)v);
        if (r == KMS_EEXIST)
            return perr(c, "client %s listed twice in its pool", tok[1]);
        if (r == KMS_ETOOBIG)
            return perr(c, "more clients than the pool's capacity");
        if (r < 0)
            return r == KMS_ENOMEM ? r : perr(c, "client: %s", kms_strerror(r));
        return 0;
    }
    return perr(c, "unknown record '%.40s'", tok[0]);
}

int kms_state_parse_ledger(const char *text, size_t len, const char *fname, unsigned flags,
                           kms_ledger_t *l, char *err, size_t errlen)
{
    ledger_pctx_t lp;

    memset(&lp, 0, sizeof lp);
    lp.l = l;
    return parse_file(text, len, fname, flags, "ledger", ledger_record, &lp, err, errlen);
}

/* ---- settings ------------------------------------------------------------------ */

int kms_state_format_settings(const kms_overrides_t *o, kms_wr_t *out)
{
    size_t start;

    wr_header(out, "settings", &start);
    if (o->set & KMS_OVR_PORT)
        wr_printf(out, "port %u\n", o->port);
    if (o->set & KMS_OVR_ACT_INTERVAL)
        wr_printf(out, "activation_interval %u\n", o->activation_interval);
    if (o->set & KMS_OVR_REN_INTERVAL)
        wr_printf(out, "renewal_interval %u\n", o->renewal_interval);
    if (o->set & KMS_OVR_PUBLISH)
        wr_printf(out, "publish %d\n", o->publish ? 1 : 0);
    if (o->set & KMS_OVR_PRIORITY)
        wr_printf(out, "priority %u\n", o->priority);
    if (o->set & KMS_OVR_WEIGHT)
        wr_printf(out, "weight %u\n", o->weight);
    if (o->set & KMS_OVR_DOMAINS) {
        char *s = pub_domains_format(&o->domains);

        if (!s)
            return KMS_ENOMEM;
        wr_printf(out, "domains %s\n", s);
        free(s);
    }
    if (o->decommissioned)
        wr_printf(out, "decommissioned 1\n");
    return wr_end(out, start);
}

typedef struct {
    kms_overrides_t *o;
    unsigned seen;
} settings_pctx_t;

static int settings_record(pctx_t *c, char **tok, int ntok, char *rest, void *obj)
{
    static const struct {
        const char *name;
        unsigned bit;
        uint64_t min, max;
    } keys[] = {
        {"port", KMS_OVR_PORT, 1, 65535},
        {"activation_interval", KMS_OVR_ACT_INTERVAL, 15, 43200},
        {"renewal_interval", KMS_OVR_REN_INTERVAL, 15, 43200},
        {"publish", KMS_OVR_PUBLISH, 0, 1},
        {"priority", KMS_OVR_PRIORITY, 0, 65535},
        {"weight", KMS_OVR_WEIGHT, 0, 65535},
        {"domains", KMS_OVR_DOMAINS, 0, 0},
        {"decommissioned", 1u << 30, 0, 1},
    };
    settings_pctx_t *sp = obj;
    kms_overrides_t *o = sp->o;
    uint64_t v;
    int r;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(tok[0], keys[i].name) != 0)
            continue;
        if (sp->seen & keys[i].bit)
            return perr(c, "%s listed twice", tok[0]);
        sp->seen |= keys[i].bit;
        if (keys[i].bit == KMS_OVR_DOMAINS) {
            char why[200];

            if (!rest)
                return perr(c, "domains: missing list");
            pub_domain_list_free(&o->domains);
            r = pub_domains_parse(rest, &o->domains, why, sizeof why);
            if (r == KMS_ENOMEM)
                return r;
            if (r < 0)
                return perr(c, "domains: %s", why);
            o->set |= KMS_OVR_DOMAINS;
            return 0;
        }
        if (ntok != 2)
            return perr(c, "%s: expected 1 field, found %d", tok[0], ntok - 1);
        if ((r = tok_uint(c, tok[1], keys[i].min, keys[i].max, &v, tok[0])) < 0)
            return r;
        switch (keys[i].bit) {
        case KMS_OVR_PORT:
            o->port = (uint16_t)v;
            break;
        case KMS_OVR_ACT_INTERVAL:
            o->activation_interval = (uint32_t)v;
            break;
        case KMS_OVR_REN_INTERVAL:
            o->renewal_interval = (uint32_t)v;
            break;
        case KMS_OVR_PUBLISH:
            o->publish = (int)v;
            break;
        case KMS_OVR_PRIORITY:
            o->priority = (uint16_t)v;
            break;
        case KMS_OVR_WEIGHT:
            o->weight = (uint16_t)v;
            break;
        default:
            o->decommissioned = (int)v;
            return 0;
        }
        o->set |= keys[i].bit;
        return 0;
    }
    return perr(c, "unknown setting '%.40s'", tok[0]);
}

int kms_state_parse_settings(const char *text, size_t len, const char *fname, unsigned flags,
                             kms_overrides_t *o, char *err, size_t errlen)
{
    kms_overrides_t tmp;
    settings_pctx_t sp;
    int r;

    memset(&tmp, 0, sizeof tmp);
    sp.o = &tmp;
    sp.seen = 0;
    r = parse_file(text, len, fname, flags, "settings", settings_record, &sp, err, errlen);
    if (r < 0) {
        kms_overrides_free(&tmp);
        return r;
    }
    kms_overrides_free(o);
    *o = tmp;
    return 0;
}

/* ---- published ----------------------------------------------------------------- */

void kms_published_free(kms_published_t *p)
{
    if (!p)
        return;
    free(p->recs);
    memset(p, 0, sizeof *p);
}

long kms_published_find(const kms_published_t *p, const char *domain, const char *target,
                        uint16_t port)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->recs[i].port == port && kms_dname_eq(p->recs[i].domain, domain) &&
            kms_dname_eq(p->recs[i].target, target))
            return (long)i;
    return -1;
}

int kms_published_add(kms_published_t *p, const char *domain, const char *target, uint16_t port)
{
    kms_published_rec_t r, *nr;

    memset(&r, 0, sizeof r);
    if (port == 0 || kms_dname_canon(domain, KMS_DNAME_ANY, r.domain, sizeof r.domain) < 0 ||
        kms_dname_canon(target, KMS_DNAME_ANY, r.target, sizeof r.target) < 0 ||
        strcmp(r.target, ".") == 0)
        return KMS_EINVAL;
    r.port = port;
    if (kms_published_find(p, r.domain, r.target, port) >= 0)
        return 0;
    if (p->n >= KMS_PUBLISHED_MAX)
        return KMS_ERANGE;
    if (!(nr = realloc(p->recs, (p->n + 1) * sizeof *nr)))
        return KMS_ENOMEM;
    p->recs = nr;
    p->recs[p->n++] = r;
    return 1;
}

int kms_published_del(kms_published_t *p, const char *domain, const char *target, uint16_t port)
{
    long i = kms_published_find(p, domain, target, port);

    if (i < 0)
        return 0;
    memmove(&p->recs[i], &p->recs[i + 1], (p->n - (size_t)i - 1) * sizeof p->recs[0]);
    p->n--;
    return 1;
}

int kms_state_format_published(const kms_published_t *p, kms_wr_t *out)
{
    size_t start;

    wr_header(out, "published", &start);
    for (size_t i = 0; i < p->n; i++)
        wr_printf(out, "record %s %s %u\n", p->recs[i].domain, p->recs[i].target, p->recs[i].port);
    return wr_end(out, start);
}

static int published_record(pctx_t *c, char **tok, int ntok, char *rest, void *obj)
{
    kms_published_t *p = obj;
    uint64_t port;
    int r;

    (void)rest;
    if (strcmp(tok[0], "record") != 0)
        return perr(c, "unknown record '%.40s'", tok[0]);
    if (ntok != 4)
        return perr(c, "record: expected 3 fields, found %d", ntok - 1);
    if ((r = tok_uint(c, tok[3], 1, 65535, &port, "port")) < 0)
        return r;
    r = kms_published_add(p, tok[1], tok[2], (uint16_t)port);
    if (r == KMS_ENOMEM)
        return r;
    if (r == KMS_EINVAL)
        return perr(c, "record: '%.60s' or '%.60s' is not a DNS name", tok[1], tok[2]);
    if (r == KMS_ERANGE)
        return perr(c, "more than %u records", KMS_PUBLISHED_MAX);
    if (r == 0)
        return perr(c, "record listed twice");
    return 0;
}

int kms_state_parse_published(const char *text, size_t len, const char *fname, unsigned flags,
                              kms_published_t *p, char *err, size_t errlen)
{
    kms_published_t tmp = {NULL, 0};
    int r = parse_file(text, len, fname, flags, "published", published_record, &tmp, err, errlen);

    if (r < 0) {
        kms_published_free(&tmp);
        return r;
    }
    kms_published_free(p);
    *p = tmp;
    return 0;
}

/* ---- files ----------------------------------------------------------------------- */

typedef int (*parse_fn)(const char *text, size_t len, const char *fname, unsigned flags, void *obj,
                        char *err, size_t errlen);

static int load(const char *dir, const char *name, parse_fn fn, void *obj, char *err, size_t errlen)
{
    char *path = kms_path_join(dir, name), *text = NULL;
    size_t len;
    int r;

    if (!path)
        return KMS_ENOMEM;
    r = kms_file_read(path, KMS_STATE_MAX_FILE, &text, &len);
    if (r == KMS_ENOENT) {
        r = 0;
    } else if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, kms_strerror(r));
    } else {
        r = fn(text, len, path, 0, obj, err, errlen);
        if (r == KMS_ENOMEM)
            snprintf(err, errlen, "%s: %s", path, kms_strerror(r));
    }
    free(text);
    free(path);
    return r;
}

static int parse_inv_v(const char *t, size_t n, const char *f, unsigned fl, void *o, char *e,
                       size_t el)
{
    return kms_state_parse_inventory(t, n, f, fl, o, e, el);
}

static int parse_ledger_v(const char *t, size_t n, const char *f, unsigned fl, void *o, char *e,
                          size_t el)
{
    return kms_state_parse_ledger(t, n, f, fl, o, e, el);
}

static int parse_settings_v(const char *t, size_t n, const char *f, unsigned fl, void *o, char *e,
                            size_t el)
{
    return kms_state_parse_settings(t, n, f, fl, o, e, el);
}

static int parse_published_v(const char *t, size_t n, const char *f, unsigned fl, void *o, char *e,
                             size_t el)
{
    return kms_state_parse_published(t, n, f, fl, o, e, el);
}

int kms_state_load_published(const char *dir, kms_published_t *p, char *err, size_t errlen)
{
    return load(dir, KMS_STATE_PUBLISHED, parse_published_v, p, err, errlen);
}

int kms_state_load_inventory(const char *dir, kms_inv_t *inv, char *err, size_t errlen)
{
    return load(dir, KMS_STATE_INVENTORY, parse_inv_v, inv, err, errlen);
}

int kms_state_load_ledger(const char *dir, kms_ledger_t *l, char *err, size_t errlen)
{
    return load(dir, KMS_STATE_LEDGER, parse_ledger_v, l, err, errlen);
}

int kms_state_load_settings(const char *dir, kms_overrides_t *o, char *err, size_t errlen)
{
    return load(dir, KMS_STATE_SETTINGS, parse_settings_v, o, err, errlen);
}

static int save(const char *dir, const char *name, kms_wr_t *w, int r, int durable)
{
    char *path = NULL;

    if (r < 0)
        goto done;
    if (!(path = kms_path_join(dir, name))) {
        r = KMS_ENOMEM;
        goto done;
    }
    r = kms_file_write_atomic_ex(path, w->buf, w->len, 0600, durable);
done:
    free(path);
    kms_wr_free(w);
    return r;
}

int kms_state_save_inventory(const char *dir, const kms_inv_t *inv, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return save(dir, KMS_STATE_INVENTORY, &w, kms_state_format_inventory(inv, &w), durable);
}

int kms_state_save_ledger(const char *dir, const kms_ledger_t *l, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return save(dir, KMS_STATE_LEDGER, &w, kms_state_format_ledger(l, &w), durable);
}

int kms_state_save_settings(const char *dir, const kms_overrides_t *o, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return save(dir, KMS_STATE_SETTINGS, &w, kms_state_format_settings(o, &w), durable);
}

int kms_state_save_published(const char *dir, const kms_published_t *p, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return save(dir, KMS_STATE_PUBLISHED, &w, kms_state_format_published(p, &w), durable);
}
