/* SPDX-License-Identifier: MIT */
/*
 * walk.h - internal to dns/ (it names ldns types; nothing outside dns/
 * includes it): what both answer parsers, message.c's kms_dns_reply_parse()
 * and srv.c's kms_srv_answer_parse(), share.
 *
 * The walk: every record of a message is found by its RDLENGTH with the
 * bounded reader (base/wire.h), names skipped label by label (a pointer
 * ends a name; extended label types and over 128 labels are refused),
 * before ldns reads a byte of it.  Names: decompressed by ldns, written in
 * presentation form, lower case, escaped as ldns_rdf2str() does.
 */
#ifndef KMS_DNS_WALK_H
#define KMS_DNS_WALK_H

#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>

#include "base/wire.h"
#include "dns/message.h"

/** Where one resource record sits in a message (offsets into the wire). */
typedef struct {
    size_t owner; /**< start of the owner name */
    size_t rdata; /**< start of RDATA */
    uint16_t type, rdlen;
    uint32_t ttl;
    int section; /**< KMS_DNS_ANSWER / _AUTHORITY / _ADDITIONAL */
} kms_dns_wire_rr_t;

/** Skip one (possibly compressed) name.  0, or KMS_ETRUNC/KMS_EDNS_BADANSWER. */
int kms_dns_skip_name(kms_rd_t *rd);

/** Header of @p wire, leaving @p rd past the question section.
 *  @p count: answer, authority, additional counts.  0 or KMS_EDNS_BADANSWER. */
int kms_dns_walk_start(kms_rd_t *rd, const uint8_t *wire, size_t len, uint16_t *flags,
                       uint16_t count[3]);

/** The next record at @p rd (record @p i of the message), its RDATA skipped.
 *  0 or KMS_EDNS_BADANSWER. */
int kms_dns_walk_rr(kms_rd_t *rd, const uint16_t count[3], unsigned i, kms_dns_wire_rr_t *rr);

/** The name at wire[*pos] (advanced past it), decompressed by ldns, into @p out.
 *  0 or KMS_EDNS_BADANSWER. */
int kms_dns_wire_name(const uint8_t *wire, size_t len, size_t *pos, char *out, size_t outlen);

/** @p name (presentation form, KMS_DNAME_ANY) as an ldns dname rdf, in
 *  canonical form (lower case); NULL when it is not a valid name. */
ldns_rdf *kms_dns_name_rdf(const char *name);

/** Append @p name in canonical wire form (lower case, uncompressed), as
 *  TSIG and TKEY records carry names.  0, or the writer's error (KMS_EINVAL,
 *  sticky, when @p name is not a valid name). */
int kms_dns_wr_name(kms_wr_t *wr, const char *name);

/** Presentation form of a dname rdf into @p out ("" for anything else). */
void kms_dns_rdf_name(const ldns_rdf *rdf, char *out, size_t outlen);

#endif
