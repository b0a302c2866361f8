/*
 * srvanswer.h - an SRV answer as plain structs: the SRV records of the answer
 * section and every A/AAAA record of the answer and ADDITIONAL sections (the
 * glue named sends with SRV answers), parsed from the raw message with ldns.
 *
 * c-ares 1.18.1 has no parser that exposes the ADDITIONAL section, so the
 * query engine (dns/query.h) hands over raw bytes and this module reads them.
 * The same function parses the answer to an A or AAAA query (no SRV records,
 * addresses from the answer section).
 *
 * Names are in presentation form without the final dot ("kms1.kms.test");
 * the root is ".".  Only SRV records owned by the question name are kept
 * (case-insensitive); counts are capped at KMS_SRV_MAX_RRS records each.
 */
#ifndef KMS_DNS_SRVANSWER_H
#define KMS_DNS_SRVANSWER_H

#include <stddef.h>
#include <stdint.h>

#define KMS_DNS_NAME_MAX 256 /* presentation form incl. escapes, and the NUL */
#define KMS_SRV_MAX_RRS  256

typedef struct {
    uint16_t priority, weight, port;
    uint32_t ttl;
    char target[KMS_DNS_NAME_MAX];
} kms_srv_rr_t;

typedef struct {
    char name[KMS_DNS_NAME_MAX];
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* 4 or 16 bytes, network order */
    int additional;   /* 1: from the ADDITIONAL section */
} kms_addr_rr_t;

typedef struct {
    int rcode; /* DNS rcode of the message */
    char qname[KMS_DNS_NAME_MAX];
    kms_srv_rr_t *srv; /* owned */
    size_t n_srv;
    kms_addr_rr_t *addrs; /* owned */
    size_t n_addrs;
    size_t cap; /* room in each array */
} kms_srv_answer_t;

/**
 * Parse the raw DNS message @p msg of @p len bytes.  On success *@p out is a
 * new answer the caller frees with kms_srv_answer_free() (possibly with no
 * records: the caller decides what an empty answer means).
 * @return 0, KMS_EDNS_BADANSWER (does not parse), KMS_ENOMEM.
 */
int kms_srv_answer_parse(const uint8_t *msg, size_t len, kms_srv_answer_t **out);

/** Free an answer; NULL is a no-op. */
void kms_srv_answer_free(kms_srv_answer_t *a);

/** Case-insensitive DNS name equality, ignoring one final dot on either side. */
int kms_dns_name_eq(const char *a, const char *b);

#endif
