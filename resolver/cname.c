/* SPDX-License-Identifier: MIT */
/*
 * cname.c - following a CNAME chain (cname.h).
 */
#include "resolver/cname.h"

#include <stdio.h>

#include "base/err.h"
#include "dns/name.h"

const char *loc_chain_last(const loc_chain_t *c, const char *qname)
{
    return c->n ? c->name[c->n - 1] : qname;
}

/* @p name is @p qname or already in the chain: following it again loops. */
static int seen(const loc_chain_t *c, const char *qname, const char *name)
{
    if (kms_dname_eq(name, qname))
        return 1;
    for (size_t i = 0; i < c->n; i++)
        if (kms_dname_eq(name, c->name[i]))
            return 1;
    return 0;
}

int loc_chain_follow(loc_chain_t *c, const char *qname, const kms_srv_answer_t *a, size_t *added)
{
    *added = 0;
    /* Each pass takes the one CNAME owned by the last name; the passes are
     * bounded by the chain's room, so a hostile answer cannot spin. */
    for (;;) {
        const char *from = loc_chain_last(c, qname), *to = NULL;

        for (size_t i = 0; i < a->ncnames && !to; i++)
            if (kms_dname_eq(a->cnames[i].owner, from))
                to = a->cnames[i].target;
        if (!to)
            return 0;
        if (seen(c, qname, to) || c->n == LOC_CNAME_MAX)
            return KMS_EDNS_BADANSWER;
        snprintf(c->name[c->n++], sizeof c->name[0], "%s", to);
        ++*added;
    }
}
