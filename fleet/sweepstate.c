/* SPDX-License-Identifier: MIT */
/*
 * sweepstate.c - the sweep's state file (sweepstate.h): entries, the strict
 * text format, atomic load and save.
 */
#include "fleet/sweepstate.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/wire.h"

#define MAGIC      "kmsdns-sweep"
#define VERSION    1
#define MAX_LINE   1024
#define MAX_FIELDS 8

void fleet_sweepstate_free(fleet_sweepstate_t *st)
{
    if (!st)
        return;
    free(st->v);
    st->v = NULL;
    st->n = 0;
}

/* Entries hold canonical names (put() makes them so): the names asked for
 * are made canonical once, then compared byte for byte. */
static long find_index(const fleet_sweepstate_t *st, const char *owner, const char *target,
                       uint16_t port)
{
    char o[KMS_DNS_NAMELEN], t[KMS_DNS_NAMELEN];

    if (kms_dname_canon(owner, KMS_DNAME_ANY, o, sizeof o) < 0 ||
        kms_dname_canon(target, KMS_DNAME_ANY, t, sizeof t) < 0)
        return -1;
    for (size_t i = 0; i < st->n; i++)
        if (st->v[i].port == port && strcmp(st->v[i].target, t) == 0 &&
            strcmp(st->v[i].owner, o) == 0)
            return (long)i;
    return -1;
}

fleet_sweep_entry_t *fleet_sweepstate_find(const fleet_sweepstate_t *st, const char *owner,
                                           const char *target, uint16_t port)
{
    long i = find_index(st, owner, target, port);

    return i < 0 ? NULL : &st->v[i];
}

int fleet_sweepstate_put(fleet_sweepstate_t *st, const fleet_sweep_entry_t *e)
{
    fleet_sweep_entry_t r, *nv;
    long i;

    memset(&r, 0, sizeof r);
    if (e->port == 0 || e->failures == 0 || e->first_dead < 0 || e->first_dead > e->last_probe ||
        kms_dname_canon(e->owner, KMS_DNAME_ANY, r.owner, sizeof r.owner) < 0 ||
        kms_dname_canon(e->target, KMS_DNAME_ANY, r.target, sizeof r.target) < 0 ||
        strcmp(r.owner, ".") == 0 || strcmp(r.target, ".") == 0)
        return KMS_EINVAL;
    r.port = e->port;
    r.first_dead = e->first_dead;
    r.last_probe = e->last_probe;
    r.failures = e->failures;
    if ((i = find_index(st, r.owner, r.target, r.port)) >= 0) {
        st->v[i] = r;
        return 0;
    }
    if (st->n >= FLEET_SWEEPSTATE_MAX)
        return KMS_ERANGE;
    if ((st->n & (st->n - 1)) == 0) { /* at 0, 1, 2, 4, ...: room doubles */
        if (!(nv = realloc(st->v, (st->n ? 2 * st->n : 1) * sizeof *nv)))
            return KMS_ENOMEM;
        st->v = nv;
    }
    st->v[st->n++] = r;
    return 0;
}

int fleet_sweepstate_del(fleet_sweepstate_t *st, const char *owner, const char *target,
                         uint16_t port)
{
    long i = find_index(st, owner, target, port);

    if (i < 0)
        return 0;
    memmove(&st->v[i], &st->v[i + 1], (st->n - (size_t)i - 1) * sizeof st->v[0]);
    st->n--;
    return 1;
}

/* ---- text form ------------------------------------------------------------- */

typedef struct {
    const char *fname;
    unsigned line;
    char *err;
    size_t errlen;
} pctx_t;

__attribute__((format(printf, 2, 3))) static int perr(pctx_t *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kms_vseterr_at(c->err, c->errlen, c->fname, c->line, fmt, ap);
    va_end(ap);
    return KMS_ECORRUPT;
}

/* Split @p s in place at single spaces; an empty field (two spaces, a
   leading or trailing one) is an error.  Returns the count, or -1. */
static int split(char *s, char **tok, int max)
{
    int n = 0;

    for (;;) {
        char *sp = strchr(s, ' ');
        if (n == max || *s == '\0' || sp == s)
            return -1;
        tok[n++] = s;
        if (!sp)
            return n;
        *sp = '\0';
        s = sp + 1;
    }
}

static int tok_uint(pctx_t *c, const char *what, const char *tok, uint64_t min, uint64_t max,
                    uint64_t *out)
{
    /* only digits: no sign, no blank, whatever kms_uint_parse() would take */
    if (tok[0] < '0' || tok[0] > '9' || kms_uint_parse(tok, min, max, out) < 0)
        return perr(c, "record: bad %s '%.24s'", what, tok);
    return 0;
}

static int parse_record(pctx_t *c, char **tok, int ntok, fleet_sweepstate_t *st)
{
    fleet_sweep_entry_t e;
    uint64_t port, first, last, failures;
    int r;

    if (ntok != 7)
        return perr(c, "record: expected 6 fields, found %d", ntok - 1);
    memset(&e, 0, sizeof e);
    if ((r = tok_uint(c, "port", tok[3], 1, 65535, &port)) < 0 ||
        (r = tok_uint(c, "first_dead", tok[4], 0, INT64_MAX, &first)) < 0 ||
        (r = tok_uint(c, "last_probe", tok[5], 0, INT64_MAX, &last)) < 0 ||
        (r = tok_uint(c, "failures", tok[6], 1, UINT32_MAX, &failures)) < 0)
        return r;
    if (first > last)
        return perr(c, "record: first_dead %" PRIu64 " after last_probe %" PRIu64, first, last);
    if (kms_dname_canon(tok[1], KMS_DNAME_ANY, e.owner, sizeof e.owner) < 0 ||
        strcmp(e.owner, ".") == 0)
        return perr(c, "record: owner '%.60s' is not a DNS name", tok[1]);
    if (kms_dname_canon(tok[2], KMS_DNAME_ANY, e.target, sizeof e.target) < 0 ||
        strcmp(e.target, ".") == 0)
        return perr(c, "record: target '%.60s' is not a DNS name", tok[2]);
    e.port = (uint16_t)port;
    e.first_dead = (int64_t)first;
    e.last_probe = (int64_t)last;
    e.failures = (uint32_t)failures;
    if (fleet_sweepstate_find(st, e.owner, e.target, e.port))
        return perr(c, "record listed twice");
    if ((r = fleet_sweepstate_put(st, &e)) == KMS_ERANGE)
        return perr(c, "more than %u records", FLEET_SWEEPSTATE_MAX);
    return r == KMS_ENOMEM ? r : (r < 0 ? perr(c, "record: not valid") : 0);
}

int fleet_sweepstate_parse(const char *text, size_t len, const char *fname, fleet_sweepstate_t *st,
                           char *err, size_t errlen)
{
    pctx_t c = {fname ? fname : "sweep state", 0, err, errlen};
    fleet_sweepstate_t tmp = {NULL, 0};
    char line[MAX_LINE + 1], *tok[MAX_FIELDS];
    size_t pos = 0;
    int ntok, r = 0, ended = 0;
    uint64_t count;

    if (err && errlen)
        err[0] = '\0';
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l;

        c.line++;
        if (!nl) {
            r = perr(&c, "last line has no newline (file cut short?)");
            goto fail;
        }
        l = (size_t)(nl - (text + pos));
        if (l > MAX_LINE) {
            r = perr(&c, "line longer than %u bytes", MAX_LINE);
            goto fail;
        }
        memcpy(line, text + pos, l);
        line[l] = '\0';
        pos += l + 1;
        if (strlen(line) != l) {
            r = perr(&c, "NUL byte in line");
            goto fail;
        }
        if (ended) {
            r = perr(&c, "text after 'end'");
            goto fail;
        }
        if ((ntok = split(line, tok, MAX_FIELDS)) < 0) {
            r = perr(&c, "empty field, or too many (fields are separated by one space)");
            goto fail;
        }
        if (c.line == 1) {
            if (ntok != 2 || strcmp(tok[0], MAGIC) != 0) {
                r = perr(&c, "not a sweep state file (expected '%s %d')", MAGIC, VERSION);
                goto fail;
            }
            if (strcmp(tok[1], "1") != 0) {
                r = perr(&c, "format version '%.12s' not supported (this kms-publish reads %d)",
                         tok[1], VERSION);
                goto fail;
            }
        } else if (strcmp(tok[0], "record") == 0) {
            if ((r = parse_record(&c, tok, ntok, &tmp)) < 0)
                goto fail;
        } else if (strcmp(tok[0], "end") == 0) {
            if (ntok != 2 || tok[1][0] < '0' || tok[1][0] > '9' ||
                kms_uint_parse(tok[1], 0, FLEET_SWEEPSTATE_MAX, &count) < 0) {
                r = perr(&c, "end: expected the record count");
                goto fail;
            }
            if (count != tmp.n) {
                r = perr(&c, "end: %" PRIu64 " records announced, %zu found", count, tmp.n);
                goto fail;
            }
            ended = 1;
        } else {
            r = perr(&c, "unknown line '%.40s'", tok[0]);
            goto fail;
        }
    }
    if (!ended) {
        c.line++;
        r = perr(&c, c.line == 1 ? "empty file" : "no 'end' line (file cut short?)");
        goto fail;
    }
    fleet_sweepstate_free(st);
    *st = tmp;
    return 0;
fail:
    fleet_sweepstate_free(&tmp);
    return r;
}

int fleet_sweepstate_format(const fleet_sweepstate_t *st, char **out, size_t *len)
{
    kms_wr_t w;

    *out = NULL;
    *len = 0;
    kms_wr_init(&w);
    kms_wr_printf(&w, "%s %d\n", MAGIC, VERSION);
    for (size_t i = 0; i < st->n; i++) {
        const fleet_sweep_entry_t *e = &st->v[i];
        kms_wr_printf(&w, "record %s %s %u %" PRId64 " %" PRId64 " %" PRIu32 "\n", e->owner,
                      e->target, e->port, e->first_dead, e->last_probe, e->failures);
    }
    kms_wr_printf(&w, "end %zu\n", st->n);
    kms_wr_u8(&w, 0); /* the NUL, not counted */
    if (!(*out = (char *)kms_wr_steal(&w, len)))
        return KMS_ENOMEM;
    (*len)--;
    return 0;
}

int fleet_sweepstate_load(const char *path, fleet_sweepstate_t *st, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int r = kms_file_read(path, FLEET_SWEEPSTATE_SIZE, &text, &len);

    if (r == KMS_ENOENT) {
        fleet_sweepstate_free(st);
        return 0;
    }
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, kms_strerror(r));
        return r;
    }
    r = fleet_sweepstate_parse(text, len, path, st, err, errlen);
    free(text);
    return r;
}

int fleet_sweepstate_save(const char *path, const fleet_sweepstate_t *st)
{
    char *text;
    size_t len;
    int r = fleet_sweepstate_format(st, &text, &len);

    if (r < 0)
        return r;
    r = kms_file_write_atomic(path, text, len, 0644);
    free(text);
    return r;
}
