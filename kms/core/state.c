/* SPDX-License-Identifier: MIT */
/*
 * state.c - the inventory, ledger and settings files (state.h; their
 * shared format is statefile.c, the published file published.c).
 */
#include "kms/core/state.h"
#include "kms/core/statefile.h"

#include "base/duration.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- inventory ------------------------------------------------------------------ */

int kms_state_format_inventory(const kms_inv_t *inv, kms_wr_t *out)
{
    size_t start;

    /* Room for everything at once: a buffer that grew by realloc would leave
     * copies of whole keys behind in freed memory.  A line is at most
     * ~120 bytes and 37 per KMS ID. */
    kms_wr_reserve(out, 64 + inv->n * (160 + KMS_INV_MAX_KMSIDS * 37));
    sf_header(out, "inventory", &start);
    for (size_t i = 0; i < inv->n; i++) {
        const kms_product_t *p = &inv->items[i];
        char g[KMS_GUID_STRLEN];

        kms_wr_printf(out, "product %s %s %d %s %lld ",
                      p->is_default ? "default" : kms_guid_format(&p->act_id, g),
                      kms_family_name(p->family), p->enabled ? 1 : 0, p->key,
                      (long long)p->installed);
        if (!p->n_kms_ids)
            kms_wr_printf(out, "-");
        for (size_t k = 0; k < p->n_kms_ids; k++)
            kms_wr_printf(out, "%s%s", k ? "," : "", kms_guid_format(&p->kms_ids[k], g));
        kms_wr_printf(out, "\n");
    }
    return sf_end(out, start);
}

static int inv_record(sf_ctx_t *c, char **tok, int ntok, char *rest, void *obj)
{
    kms_inv_t *inv = obj;
    kms_guid_t act, ids[KMS_INV_MAX_KMSIDS];
    size_t nids = 0;
    kms_family_t fam;
    uint64_t en, when;
    char key[KMS_KEY_STRLEN];
    int is_def, r;

    if (strcmp(tok[0], "product") != 0)
        return sf_perr(c, "unknown record '%.40s'", tok[0]);
    if (ntok != 7)
        return sf_perr(c, "product: expected 6 fields, found %d", ntok - 1);
    is_def = strcmp(tok[1], "default") == 0;
    if (!is_def && (r = sf_tok_guid(c, tok[1], &act, "activation ID")) < 0)
        return r;
    if (kms_inv_find(inv, is_def ? NULL : &act))
        return sf_perr(c, "product %s listed twice", tok[1]);
    if (kms_family_parse(tok[2], &fam) < 0)
        return sf_perr(c, "bad family '%.40s'", tok[2]);
    if ((r = sf_tok_uint(c, tok[3], 0, 1, &en, "enabled flag")) < 0)
        return r;
    if (kms_key_check(tok[4], key) < 0 || strcmp(key, tok[4]) != 0)
        return sf_perr(c, "malformed product key");
    if ((r = sf_tok_uint(c, tok[5], 0, INT64_MAX, &when, "install time")) < 0)
        return r;
    if (strcmp(tok[6], "-") != 0) {
        char *save = NULL;

        for (char *t = strtok_r(tok[6], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (nids == KMS_INV_MAX_KMSIDS)
                return sf_perr(c, "more than %d KMS IDs", KMS_INV_MAX_KMSIDS);
            if ((r = sf_tok_guid(c, t, &ids[nids], "KMS ID")) < 0)
                return r;
            nids++;
        }
        if (!nids)
            return sf_perr(c, "empty KMS ID list");
    }
    r = kms_inv_install(inv, key, is_def ? NULL : &act, fam, ids, nids, (int64_t)when);
    if (r == KMS_ENOMEM)
        return r;
    if (r < 0)
        return sf_perr(c, "cannot add product: %s", kms_strerror(r));
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
    r = sf_parse(text, len, fname, flags, "inventory", inv_record, &tmp, err, errlen);
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

    kms_wr_printf(w->out, "client %s %lld\n", kms_guid_format(client, g), (long long)last_seen);
    return w->out->err;
}

int kms_state_format_ledger(const kms_ledger_t *l, kms_wr_t *out)
{
    size_t start, n = kms_ledger_npools(l);
    ledger_wctx_t w = {out};

    sf_header(out, "ledger", &start);
    for (size_t i = 0; i < n; i++) {
        kms_guid_t counted;
        uint32_t cap, count;
        char g[KMS_GUID_STRLEN];

        kms_ledger_pool(l, i, &counted, &cap, &count, 0);
        kms_wr_printf(out, "pool %s %u\n", kms_guid_format(&counted, g), cap);
        kms_ledger_visit(l, i, ledger_write_client, &w);
    }
    return sf_end(out, start);
}

typedef struct {
    kms_ledger_t *l;
    int have_pool;
    kms_guid_t pool;
} ledger_pctx_t;

static int ledger_record(sf_ctx_t *c, char **tok, int ntok, char *rest, void *obj)
{
    ledger_pctx_t *lp = obj;
    kms_guid_t g;
    uint64_t v;
    int r;

    (void)rest;
    if (strcmp(tok[0], "pool") == 0) {
        if (ntok != 3)
            return sf_perr(c, "pool: expected 2 fields, found %d", ntok - 1);
        if ((r = sf_tok_guid(c, tok[1], &g, "KMS counted ID")) < 0 ||
            (r = sf_tok_uint(c, tok[2], 2, KMS_LEDGER_MAX_CAP, &v, "capacity")) < 0)
            return r;
        if (kms_ledger_has_pool(lp->l, &g))
            return sf_perr(c, "pool %s listed twice", tok[1]);
        if (kms_ledger_npools(lp->l) >= KMS_LEDGER_MAX_POOLS)
            return sf_perr(c, "more than %d pools", KMS_LEDGER_MAX_POOLS);
        r = kms_ledger_restore_pool(lp->l, &g, (uint32_t)v);
        if (r < 0)
            return r == KMS_ENOMEM ? r : sf_perr(c, "pool: %s", kms_strerror(r));
        lp->have_pool = 1;
        lp->pool = g;
        return 0;
    }
    if (strcmp(tok[0], "client") == 0) {
        if (!lp->have_pool)
            return sf_perr(c, "client before any pool");
        if (ntok != 3)
            return sf_perr(c, "client: expected 2 fields, found %d", ntok - 1);
        if ((r = sf_tok_guid(c, tok[1], &g, "client machine ID")) < 0 ||
            (r = sf_tok_uint(c, tok[2], 0, INT64_MAX / 2, &v, "time")) < 0)
            return r;
        r = kms_ledger_restore_client(lp->l, &lp->pool, &g, (int64_t)v);
        if (r == KMS_EEXIST)
            return sf_perr(c, "client %s listed twice in its pool", tok[1]);
        if (r == KMS_ETOOBIG)
            return sf_perr(c, "more clients than the pool's capacity");
        if (r < 0)
            return r == KMS_ENOMEM ? r : sf_perr(c, "client: %s", kms_strerror(r));
        return 0;
    }
    return sf_perr(c, "unknown record '%.40s'", tok[0]);
}

int kms_state_parse_ledger(const char *text, size_t len, const char *fname, unsigned flags,
                           kms_ledger_t *l, char *err, size_t errlen)
{
    ledger_pctx_t lp;

    memset(&lp, 0, sizeof lp);
    lp.l = l;
    return sf_parse(text, len, fname, flags, "ledger", ledger_record, &lp, err, errlen);
}

/* ---- settings ------------------------------------------------------------------ */

int kms_state_format_settings(const kms_overrides_t *o, kms_wr_t *out)
{
    size_t start;

    sf_header(out, "settings", &start);
    if (o->set & KMS_OVR_PORT)
        kms_wr_printf(out, "port %u\n", o->port);
    if (o->set & KMS_OVR_ACT_INTERVAL)
        kms_wr_printf(out, "activation_interval %u\n", o->activation_interval);
    if (o->set & KMS_OVR_REN_INTERVAL)
        kms_wr_printf(out, "renewal_interval %u\n", o->renewal_interval);
    if (o->set & KMS_OVR_PUBLISH)
        kms_wr_printf(out, "publish %d\n", o->publish ? 1 : 0);
    if (o->set & KMS_OVR_PRIORITY)
        kms_wr_printf(out, "priority %u\n", o->priority);
    if (o->set & KMS_OVR_WEIGHT)
        kms_wr_printf(out, "weight %u\n", o->weight);
    if (o->set & KMS_OVR_DOMAINS) {
        char *s = pub_domains_format(&o->domains);

        if (!s)
            return KMS_ENOMEM;
        kms_wr_printf(out, "domains %s\n", s);
        free(s);
    }
    if (o->decommissioned)
        kms_wr_printf(out, "decommissioned 1\n");
    return sf_end(out, start);
}

typedef struct {
    kms_overrides_t *o;
    unsigned seen;
} settings_pctx_t;

static int settings_record(sf_ctx_t *c, char **tok, int ntok, char *rest, void *obj)
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
            return sf_perr(c, "%s listed twice", tok[0]);
        sp->seen |= keys[i].bit;
        if (keys[i].bit == KMS_OVR_DOMAINS) {
            char why[200];

            if (!rest)
                return sf_perr(c, "domains: missing list");
            pub_domain_list_free(&o->domains);
            r = pub_domains_parse(rest, &o->domains, why, sizeof why);
            if (r == KMS_ENOMEM)
                return r;
            if (r < 0)
                return sf_perr(c, "domains: %s", why);
            o->set |= KMS_OVR_DOMAINS;
            return 0;
        }
        if (ntok != 2)
            return sf_perr(c, "%s: expected 1 field, found %d", tok[0], ntok - 1);
        if ((r = sf_tok_uint(c, tok[1], keys[i].min, keys[i].max, &v, tok[0])) < 0)
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
    return sf_perr(c, "unknown setting '%.40s'", tok[0]);
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
    r = sf_parse(text, len, fname, flags, "settings", settings_record, &sp, err, errlen);
    if (r < 0) {
        kms_overrides_free(&tmp);
        return r;
    }
    kms_overrides_free(o);
    *o = tmp;
    return 0;
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

int kms_state_load_inventory(const char *dir, kms_inv_t *inv, char *err, size_t errlen)
{
    return sf_load(dir, KMS_STATE_INVENTORY, parse_inv_v, inv, err, errlen);
}

int kms_state_load_ledger(const char *dir, kms_ledger_t *l, char *err, size_t errlen)
{
    return sf_load(dir, KMS_STATE_LEDGER, parse_ledger_v, l, err, errlen);
}

int kms_state_load_settings(const char *dir, kms_overrides_t *o, char *err, size_t errlen)
{
    return sf_load(dir, KMS_STATE_SETTINGS, parse_settings_v, o, err, errlen);
}

int kms_state_save_inventory(const char *dir, const kms_inv_t *inv, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return sf_save(dir, KMS_STATE_INVENTORY, &w, kms_state_format_inventory(inv, &w), durable);
}

int kms_state_save_ledger(const char *dir, const kms_ledger_t *l, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return sf_save(dir, KMS_STATE_LEDGER, &w, kms_state_format_ledger(l, &w), durable);
}

int kms_state_save_settings(const char *dir, const kms_overrides_t *o, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return sf_save(dir, KMS_STATE_SETTINGS, &w, kms_state_format_settings(o, &w), durable);
}
