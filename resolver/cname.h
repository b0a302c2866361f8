/* SPDX-License-Identifier: MIT */
/*
 * cname.h - a CNAME at _vlmcs._tcp.<domain>, followed as a client's resolver
 * follows it (RFC 1034 3.6.2, RFC 2181 10.1).
 *
 * A recursive resolver answers an SRV query for an alias with the whole
 * chain - the CNAMEs, then the SRV records owned by the chain's last name -
 * and an authoritative server does the same within its own zones.  The
 * chain is followed through the answer's CNAMEs, bounded (LOC_CNAME_MAX
 * links) and loop-safe (a name met twice is a loop, not a longer chain).
 * When the answer stops at a name it holds no records for (a "bare" CNAME:
 * the server is not authoritative for the target and does not recurse), the
 * caller asks again for that name, the same chain continuing.
 */
#ifndef KMS_RESOLVER_CNAME_H
#define KMS_RESOLVER_CNAME_H

#include <stddef.h>

#include "dns/srv.h"

#define LOC_CNAME_MAX 8 /* links in a chain, across every query it takes */

/** The names a query's chain led to: name[0] is the first CNAME's target. */
typedef struct {
    char name[LOC_CNAME_MAX][KMS_DNS_NAMELEN];
    size_t n;
} loc_chain_t;

/**
 * Follow @p a's CNAMEs from the last name of @p c (@p qname when @p c is
 * empty), appending the names they lead to.  @p added gets the links this
 * answer added.  0; KMS_EDNS_BADANSWER for a loop or a chain longer than
 * LOC_CNAME_MAX (the chain stays as far as it was followed).
 */
int loc_chain_follow(loc_chain_t *c, const char *qname, const kms_srv_answer_t *a, size_t *added);

/** The name whose records count: the chain's last name, or @p qname. */
const char *loc_chain_last(const loc_chain_t *c, const char *qname);

#endif
