/* SPDX-License-Identifier: MIT */
/*
 * srv.h - the resolver's view of an SRV answer: the SRV and CNAME records of
 * the ANSWER section and the A/AAAA records of ANSWER and ADDITIONAL (the
 * glue named sends with SRV answers; c-ares 1.18 exposes no parser for it),
 * as plain arrays.
 *
 * The hot path of discovery, so it does not build an ldns packet: the
 * bounded walk of dns/walk.c finds every record by RDLENGTH, ldns only
 * decompresses the names, and only the records the resolver uses are read.
 * Refused as malformed, as kms_dns_reply_parse() refuses them: an SRV
 * target that does not end exactly at the end of its RDATA, an A or AAAA
 * whose RDATA is not 4 or 16 bytes, a record running past the message.
 */
#ifndef KMS_DNS_SRV_H
#define KMS_DNS_SRV_H

#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

/** SRV answer as plain arrays (the resolver's view). */
typedef struct {
    char owner[KMS_DNS_NAMELEN];
    uint32_t ttl;
    uint16_t priority, weight, port;
    char target[KMS_DNS_NAMELEN];
} kms_srv_rec_t;

typedef struct {
    char name[KMS_DNS_NAMELEN];
    uint32_t ttl;
    int family; /**< AF_INET or AF_INET6 */
    uint8_t addr[16];
} kms_addr_rec_t;

/** A CNAME of the ANSWER section: @p owner is an alias of @p target. */
typedef struct {
    char owner[KMS_DNS_NAMELEN];
    char target[KMS_DNS_NAMELEN];
} kms_cname_rec_t;

typedef struct {
    int rcode;
    int aa, tc;
    kms_srv_rec_t *srv; /**< ANSWER section SRV records, in answer order */
    size_t nsrv;
    kms_addr_rec_t *addrs; /**< A/AAAA from ANSWER and ADDITIONAL (glue) */
    size_t naddrs;
    kms_cname_rec_t *cnames; /**< ANSWER section CNAMEs, in answer order */
    size_t ncnames;
} kms_srv_answer_t;

/**
 * Parse a raw SRV answer (as received, e.g. from c-ares' raw callback).
 * @param out caller frees with kms_srv_answer_free(); NULL on failure
 * @return 0 (also for NXDOMAIN/NODATA: check rcode and nsrv),
 *         KMS_EDNS_BADANSWER, KMS_ENOMEM
 */
int kms_srv_answer_parse(const uint8_t *wire, size_t len, kms_srv_answer_t **out);

/** Free an SRV answer; NULL is a no-op. */
void kms_srv_answer_free(kms_srv_answer_t *a);

#endif
