/* SPDX-License-Identifier: MIT */
/*
 * tsig.h - TSIG (RFC 8945) built and checked by kmsdns itself.
 *
 * ldns 1.8.3 signs only with some HMACs (hmac-sha224 and hmac-sha384 fail)
 * and knows nothing of GSS-TSIG (RFC 3645), whose MAC is a GSS-API MIC.  So
 * the TSIG record and the digest input are ours, for every key, and the MAC
 * comes from a signer: an HMAC key (OpenSSL HMAC, kms_tsig_hmac_signer()),
 * or a negotiated GSS-API context (dns/gss.h).  Key and algorithm names are
 * written uncompressed in lower case, as RFC 8945 asks and Windows DNS
 * requires.
 *
 * Digest input (RFC 8945 4.3.3): for an answer, the request's MAC (2-byte
 * length, then the MAC) when the request was signed; the message without
 * its TSIG record, with ARCOUNT one lower and the ID put back to Original
 * ID; then the TSIG variables: key name, class ANY, TTL 0, algorithm name,
 * time signed (48 bits), fudge, error, other length and other data.
 */
#ifndef KMS_DNS_TSIG_H
#define KMS_DNS_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "dns/keyfile.h"
#include "dns/name.h"

#define KMS_TSIG_MAC_MAX 1024 /* a MAC or GSS-API MIC we send or accept */
#define KMS_TSIG_FUDGE   300  /* seconds; RFC 8945 section 10 recommends 300 */
#define KMS_DNS_T_TSIG   250
#define KMS_DNS_T_TKEY   249
#define KMS_DNS_C_ANY    255

typedef struct kms_tsig_signer kms_tsig_signer_t;

/** What makes and checks MACs for one key.  Plain data the caller keeps
 *  alive while messages are signed or checked with it. */
struct kms_tsig_signer {
    char name[KMS_DNS_NAMELEN];      /**< key name: canonical, "kms-publisher." */
    char algorithm[KMS_DNS_NAMELEN]; /**< canonical: "hmac-sha256.", "gss-tsig." */
    /** MAC of @p data into @p mac (at most KMS_TSIG_MAC_MAX bytes); 0 or KMS_E* */
    int (*sign)(const kms_tsig_signer_t *s, const uint8_t *data, size_t len, uint8_t *mac,
                size_t *maclen);
    /** 0 when @p mac is @p data's, else KMS_ETSIG_VERIFY */
    int (*verify)(const kms_tsig_signer_t *s, const uint8_t *data, size_t len, const uint8_t *mac,
                  size_t maclen);
    const void *ctx; /**< the key (HMAC) or the GSS-API context */
};

/** A signer for the HMAC key @p key, which must outlive it.
 *  @return 0, KMS_EALGORITHM (not an HMAC algorithm we know) */
int kms_tsig_hmac_signer(const kms_tsig_key_t *key, kms_tsig_signer_t *out);

/** A message's TSIG record, read from the wire (pointers into it). */
typedef struct {
    size_t offset;                   /**< where the record starts */
    char name[KMS_DNS_NAMELEN];      /**< canonical */
    char algorithm[KMS_DNS_NAMELEN]; /**< canonical */
    int64_t time;                    /**< Time Signed */
    uint16_t fudge;
    const uint8_t *mac;
    uint16_t mac_len;
    uint16_t orig_id;
    uint16_t error;
    const uint8_t *other;
    uint16_t other_len;
} kms_tsig_rr_t;

/**
 * Append a TSIG record to the message @p *wire (@p *len bytes, malloc'd;
 * replaced by a longer buffer), signed by @p s at time @p now.
 * @param req_mac   the request's MAC when signing an answer, else NULL
 * @param mac_out   out (may be NULL): the MAC sent, KMS_TSIG_MAC_MAX bytes
 * @return 0, KMS_EINVAL (not a message), KMS_ETOOBIG, KMS_ENOMEM, or the
 *         signer's error (the message is left unchanged)
 */
int kms_tsig_append(const kms_tsig_signer_t *s, uint8_t **wire, size_t *len, const uint8_t *req_mac,
                    size_t req_mac_len, int64_t now, uint8_t *mac_out, size_t *mac_out_len);

/**
 * Find the TSIG record of a message.
 * @return 1 (found: the last additional record, read into @p out), 0 (the
 *         message carries none), KMS_EDNS_BADANSWER (malformed, a TSIG that
 *         is not the last record, two of them, fields past RDLENGTH)
 */
int kms_tsig_find(const uint8_t *wire, size_t len, kms_tsig_rr_t *out);

/**
 * Check the MAC of the TSIG record @p t (from kms_tsig_find()) of @p wire
 * with @p s: key and algorithm must be @p s's.
 * @param req_mac the request's MAC (answer to a signed request), else NULL
 * @return 0, KMS_ETSIG_VERIFY, KMS_ENOMEM
 */
int kms_tsig_check(const kms_tsig_signer_t *s, const uint8_t *wire, size_t len,
                   const kms_tsig_rr_t *t, const uint8_t *req_mac, size_t req_mac_len);

#endif
