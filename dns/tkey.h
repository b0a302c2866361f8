/* SPDX-License-Identifier: MIT */
/*
 * tkey.h - TKEY messages (RFC 2930) for GSS-TSIG key negotiation (RFC 3645).
 *
 * The query asks for key <name> with a GSS-API token: question <name> TKEY
 * ANY, and a TKEY record (mode 3, GSS-API) carrying the token; the record
 * goes in the additional section, or in the answer section for the
 * "gss.microsoft.com" variant of older Windows servers, as BIND's nsupdate
 * does.  Names are written uncompressed.  The answer is parsed without
 * trust: every length is bounded by the message and by its RDLENGTH.
 * ldns has no TKEY support, so both are ours, on base/wire.h.
 */
#ifndef KMS_DNS_TKEY_H
#define KMS_DNS_TKEY_H

#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"
#include "dns/tsig.h"

enum { KMS_TKEY_MODE_GSSAPI = 3 };

/** A TKEY answer, with pointers into the message. */
typedef struct {
    uint16_t id;
    int rcode;
    int found;                       /**< a TKEY record for our key name */
    char algorithm[KMS_DNS_NAMELEN]; /**< canonical */
    uint32_t inception, expiration;
    uint16_t mode;
    uint16_t error;     /**< TKEY error (RFC 2930 4.7: BADSIG/BADKEY/BADNAME/BADALG...) */
    const uint8_t *key; /**< the server's GSS-API token */
    uint16_t key_len;
    int signed_; /**< carries a TSIG record (in tsig) */
    kms_tsig_rr_t tsig;
} kms_tkey_answer_t;

/**
 * Build the query for key @p keyname with @p token.
 * @param ms  1: the "gss.microsoft.com" form (record in the answer section)
 * @return 0, KMS_EINVAL (bad name, token over 65535 bytes), KMS_ENOMEM
 */
int kms_tkey_query(uint16_t id, const char *keyname, const char *algorithm, int ms, uint32_t now,
                   const uint8_t *token, size_t toklen, uint8_t **wire, size_t *len);

/**
 * Parse an answer to the query of ID @p id for @p keyname.
 * @return 0 (read into @p out; found says whether it holds our TKEY),
 *         KMS_EDNS_BADANSWER (malformed, not an answer, another ID)
 */
int kms_tkey_answer_parse(const uint8_t *wire, size_t len, uint16_t id, const char *keyname,
                          kms_tkey_answer_t *out);

/** "BADKEY", "BADNAME", ... for a TKEY/TSIG error; NULL when unknown. */
const char *kms_tkey_error_name(int error);

#endif
