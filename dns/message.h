/* SPDX-License-Identifier: MIT */
/*
 * message.h - DNS messages for kmsdns: the one wrapper around ldns.
 *
 * Builds the messages the publisher sends (RFC 2136 UPDATE, plain
 * queries), signs them with TSIG (RFC 8945), and turns answers into plain C
 * structs so no other module ever sees an ldns type.
 *
 * A kms_dns_msg_t is a message *template*: kms_dns_msg_render() produces the
 * wire bytes of one attempt with a given ID, signed afresh (dns/tsig.h: an
 * HMAC key or a GSS-TSIG context), and remembers that attempt's request MAC so the answer's TSIG
 * can be verified by kms_dns_reply_parse().  UPDATE messages always go out with RD=0 (the bit is
 * reserved in UPDATE; ldns_update_pkt_new() sets it).
 *
 * kms_dns_reply_parse() never trusts the answer: malformed bytes give
 * KMS_EDNS_BADANSWER; the TSIG error field (BADSIG/BADKEY/BADTIME, with the
 * server's clock for BADTIME) is read even when the answer is unsigned, as
 * named sends BADSIG/BADKEY answers; a signed answer is verified (MAC and
 * time) and an unsigned NOERROR answer to a signed request is rejected.
 *
 * Names come in and go out in the forms of dns/name.h; the resolver's own
 * fast SRV answer parser is dns/srv.h, rcodes and their explanations
 * dns/rcode.h.
 */
#ifndef KMS_DNS_MESSAGE_H
#define KMS_DNS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/keyfile.h"
#include "dns/name.h"
#include "dns/tsig.h"

enum {
    KMS_DNS_T_A = 1,
    KMS_DNS_T_NS = 2,
    KMS_DNS_T_CNAME = 5,
    KMS_DNS_T_SOA = 6,
    KMS_DNS_T_AAAA = 28,
    KMS_DNS_T_SRV = 33,
};

enum { KMS_DNS_ANSWER = 1, KMS_DNS_AUTHORITY = 2, KMS_DNS_ADDITIONAL = 3 };

/* TSIG error codes (RFC 8945 section 5.3). */
enum { KMS_TSIG_BADSIG = 16, KMS_TSIG_BADKEY = 17, KMS_TSIG_BADTIME = 18, KMS_TSIG_BADTRUNC = 22 };

/** One resource record of an answer, as plain data. */
typedef struct {
    int section;                /**< KMS_DNS_ANSWER / _AUTHORITY / _ADDITIONAL */
    char name[KMS_DNS_NAMELEN]; /**< owner, lower case, trailing dot */
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    /** NS, CNAME: the name; SOA: MNAME; SRV: the target */
    char target[KMS_DNS_NAMELEN];
    uint16_t priority, weight, port; /**< SRV */
    uint32_t serial;                 /**< SOA */
    int family;                      /**< A: AF_INET, AAAA: AF_INET6, else 0 */
    uint8_t addr[16];                /**< A (4 bytes) / AAAA (16) */
} kms_dns_rr_t;

/** A parsed answer.  Owned by the caller: kms_dns_reply_free(). */
typedef struct {
    uint16_t id;
    int opcode;
    int rcode; /**< 0..15 */
    int aa, tc, rd, ra;
    int signed_;         /**< carries a TSIG RR */
    int tsig_error;      /**< TSIG error field (0 if none or unsigned) */
    int64_t tsig_time;   /**< Time Signed of the answer's TSIG */
    int64_t server_time; /**< BADTIME: the server's clock (Other Data), else tsig_time */
    int64_t local_time;  /**< our clock when parsed */
    int status;          /**< 0 or the KMS_E* this answer means (see kms_dns_reply_status) */
    kms_dns_rr_t *rrs;   /**< answer, authority, additional (TSIG/OPT excluded) */
    size_t nrrs;
} kms_dns_reply_t;

typedef struct kms_dns_msg kms_dns_msg_t; /* opaque */

/**
 * New UPDATE message for @p zone (class IN, no prerequisites).
 * @param out caller frees with kms_dns_msg_free(); NULL on failure
 * @return 0, KMS_EINVAL (bad zone name), KMS_ENOMEM
 */
int kms_dns_msg_update_new(const char *zone, kms_dns_msg_t **out);

/**
 * New query for @p name / @p qtype (class IN).
 * @param rd recursion desired (1 when asking a recursive resolver)
 */
int kms_dns_msg_query_new(const char *name, uint16_t qtype, int rd, kms_dns_msg_t **out);

/** Free a message; NULL is a no-op. */
void kms_dns_msg_free(kms_dns_msg_t *m);

/**
 * Append "add this SRV RR" to an UPDATE (RFC 2136 section 2.5.1).
 * @return 0, KMS_EINVAL (not an UPDATE, bad name), KMS_ENOMEM
 */
int kms_dns_msg_add_srv(kms_dns_msg_t *m, const char *owner, uint32_t ttl, uint16_t priority,
                        uint16_t weight, uint16_t port, const char *target);

/**
 * Append "delete exactly this SRV RR" (class NONE, TTL 0; RFC 2136 2.5.4):
 * other RRs at the same name are untouched.
 */
int kms_dns_msg_del_srv(kms_dns_msg_t *m, const char *owner, uint16_t priority, uint16_t weight,
                        uint16_t port, const char *target);

/** Number of RRs in the update section (0 for a query). */
size_t kms_dns_msg_update_count(const kms_dns_msg_t *m);

/**
 * Render one attempt: set @p id, clear RD for UPDATE, drop any previous
 * TSIG, sign with @p signer (NULL: unsigned) at the current time, and write
 * the wire form.
 * @param wire out: malloc'd bytes, caller frees; NULL on failure
 * @param len  out: length of @p wire
 * @return 0, KMS_EALGORITHM, KMS_ENOMEM, KMS_ETOOBIG (over 65535 bytes),
 *         KMS_EINVAL
 */
int kms_dns_msg_render(kms_dns_msg_t *m, uint16_t id, const kms_tsig_signer_t *signer,
                       uint8_t **wire, size_t *len);

/**
 * Parse and judge an answer.
 * @param req   the request as last rendered (its ID, question and MAC are
 *              checked against the answer), or NULL to parse any message
 * @param signer the signer the request was signed with, or NULL
 * @param out   caller frees with kms_dns_reply_free(); set whenever the
 *              bytes parse (even when the answer means an error), else NULL
 * @return 0 when the answer parsed (then (*out)->status tells what it
 *         means: 0, KMS_EDNS_*, KMS_ETSIG_*), KMS_EDNS_BADANSWER when the
 *         bytes are not a DNS message or not an answer to @p req,
 *         KMS_ENOMEM
 */
int kms_dns_reply_parse(const kms_dns_msg_t *req, const kms_tsig_signer_t *signer,
                        const uint8_t *wire, size_t len, kms_dns_reply_t **out);

/** Free an answer; NULL is a no-op. */
void kms_dns_reply_free(kms_dns_reply_t *r);

#endif
