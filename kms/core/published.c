/* SPDX-License-Identifier: MIT */
/*
 * published.c - the SRV records this host published and has not removed,
 * and their state file (state.h, "published").
 */
#include "kms/core/state.h"
#include "kms/core/statefile.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/name.h"

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

    sf_header(out, "published", &start);
    for (size_t i = 0; i < p->n; i++)
        kms_wr_printf(out, "record %s %s %u\n", p->recs[i].domain, p->recs[i].target,
                      p->recs[i].port);
    return sf_end(out, start);
}

static int published_record(sf_ctx_t *c, char **tok, int ntok, char *rest, void *obj)
{
    kms_published_t *p = obj;
    uint64_t port;
    int r;

    (void)rest;
    if (strcmp(tok[0], "record") != 0)
        return sf_perr(c, "unknown record '%.40s'", tok[0]);
    if (ntok != 4)
        return sf_perr(c, "record: expected 3 fields, found %d", ntok - 1);
    if ((r = sf_tok_uint(c, tok[3], 1, 65535, &port, "port")) < 0)
        return r;
    r = kms_published_add(p, tok[1], tok[2], (uint16_t)port);
    if (r == KMS_ENOMEM)
        return r;
    if (r == KMS_EINVAL)
        return sf_perr(c, "record: '%.60s' or '%.60s' is not a DNS name", tok[1], tok[2]);
    if (r == KMS_ERANGE)
        return sf_perr(c, "more than %u records", KMS_PUBLISHED_MAX);
    if (r == 0)
        return sf_perr(c, "record listed twice");
    return 0;
}

int kms_state_parse_published(const char *text, size_t len, const char *fname, unsigned flags,
                              kms_published_t *p, char *err, size_t errlen)
{
    kms_published_t tmp = {NULL, 0};
    int r = sf_parse(text, len, fname, flags, "published", published_record, &tmp, err, errlen);

    if (r < 0) {
        kms_published_free(&tmp);
        return r;
    }
    kms_published_free(p);
    *p = tmp;
    return 0;
}

static int parse_published_v(const char *t, size_t n, const char *f, unsigned fl, void *o, char *e,
                             size_t el)
{
    return kms_state_parse_published(t, n, f, fl, o, e, el);
}

int kms_state_load_published(const char *dir, kms_published_t *p, char *err, size_t errlen)
{
    return sf_load(dir, KMS_STATE_PUBLISHED, parse_published_v, p, err, errlen);
}

int kms_state_save_published(const char *dir, const kms_published_t *p, int durable)
{
    kms_wr_t w;

    kms_wr_init(&w);
    return sf_save(dir, KMS_STATE_PUBLISHED, &w, kms_state_format_published(p, &w), durable);
}
