/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dns/tsig: every HMAC algorithm of tsig-keygen signs and
 * checks (RFC 4231 vectors for the two ldns could not do), a changed byte or
 * another request MAC fails the check, and kms_tsig_find() refuses a TSIG
 * that is not the last record, a second one, or one with bytes past its
 * fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/keyfile.h"
#include "dns/tsig.h"

#define SECRET "ID/W3Kv64MGI8b53FZE2qadfvTbAyDPi9ciBpEn6uqg="

static kms_tsig_key_t key_of(const char *alg, const char *secret)
{
    char text[300];
    kms_tsig_key_t k;
    snprintf(text, sizeof text, "key \"kms-publisher.\" { algorithm %s; secret \"%s\"; };", alg,
             secret);
    assert_int_equal(kms_keyfile_parse(text, strlen(text), NULL, &k, NULL, 0), 0);
    return k;
}

/* A query for kms.test SOA, ID 0x4242, in a malloc'd buffer. */
static uint8_t *query(size_t *len)
{
    static const uint8_t q[] = {0x42, 0x42, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                0x00, 0x00, 0x00, 3,    'k',  'm',  's',  4,    't',
                                'e',  's',  't',  0,    0x00, 0x06, 0x00, 0x01};
    uint8_t *w = malloc(sizeof q);
    memcpy(w, q, sizeof q);
    *len = sizeof q;
    return w;
}

static void rfc4231_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *alg, *hex;
    } v[] = {
        {"hmac-sha224", "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"},
        {"hmac-sha384", "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e"
                        "69e2c78b3239ecfab21649"},
    };
    const char *data = "what do ya want for nothing?";
    for (size_t i = 0; i < 2; i++) {
        kms_tsig_key_t k = key_of(v[i].alg, "SmVmZQ=="); /* "Jefe" */
        kms_tsig_signer_t s;
        uint8_t mac[KMS_TSIG_MAC_MAX];
        size_t n = 0;
        char hex[200] = "";
        assert_int_equal(kms_tsig_hmac_signer(&k, &s), 0);
        assert_int_equal(s.sign(&s, (const uint8_t *)data, strlen(data), mac, &n), 0);
        for (size_t j = 0; j < n; j++)
            snprintf(hex + 2 * j, 3, "%02x", mac[j]);
        assert_string_equal(hex, v[i].hex);
    }
}

static void every_algorithm_round_trips(void **state)
{
    (void)state;
    const char *algs[] = {"hmac-md5",    "hmac-sha1",   "hmac-sha224",
                          "hmac-sha256", "hmac-sha384", "hmac-sha512"};
    for (size_t i = 0; i < 6; i++) {
        kms_tsig_key_t k = key_of(algs[i], SECRET);
        kms_tsig_signer_t s;
        kms_tsig_rr_t t;
        uint8_t mac[KMS_TSIG_MAC_MAX], req[KMS_TSIG_MAC_MAX];
        size_t n, maclen = 0, reqlen = 0;
        uint8_t *w = query(&n);

        assert_int_equal(kms_tsig_hmac_signer(&k, &s), 0);
        assert_int_equal(kms_tsig_append(&s, &w, &n, NULL, 0, 1700000000, req, &reqlen), 0);
        assert_int_equal(w[11], 1); /* ARCOUNT */
        assert_int_equal(kms_tsig_find(w, n, &t), 1);
        assert_string_equal(t.name, "kms-publisher.");
        assert_int_equal(t.time, 1700000000);
        assert_int_equal(t.orig_id, 0x4242);
        assert_int_equal(t.mac_len, reqlen);
        assert_int_equal(kms_tsig_check(&s, w, n, &t, NULL, 0), 0);
        /* the ID may change on the way (Original ID keeps it) */
        w[0] ^= 0xff;
        assert_int_equal(kms_tsig_check(&s, w, n, &t, NULL, 0), 0);
        /* any other byte may not */
        w[13] ^= 0x20;
        assert_int_equal(kms_tsig_check(&s, w, n, &t, NULL, 0), KMS_ETSIG_VERIFY);
        free(w);

        /* an answer covers the request's MAC */
        w = query(&n);
        w[2] |= 0x80;
        assert_int_equal(kms_tsig_append(&s, &w, &n, req, reqlen, 1700000001, mac, &maclen), 0);
        assert_int_equal(kms_tsig_find(w, n, &t), 1);
        assert_int_equal(kms_tsig_check(&s, w, n, &t, req, reqlen), 0);
        req[0] ^= 1;
        assert_int_equal(kms_tsig_check(&s, w, n, &t, req, reqlen), KMS_ETSIG_VERIFY);
        assert_int_equal(kms_tsig_check(&s, w, n, &t, NULL, 0), KMS_ETSIG_VERIFY);
        free(w);
    }
}

static void misplaced_tsig_is_refused(void **state)
{
    (void)state;
    kms_tsig_key_t k = key_of("hmac-sha256", SECRET);
    kms_tsig_signer_t s;
    kms_tsig_rr_t t;
    size_t n, n1;
    uint8_t *w = query(&n);

    assert_int_equal(kms_tsig_hmac_signer(&k, &s), 0);
    assert_int_equal(kms_tsig_find(w, n, &t), 0); /* none */
    assert_int_equal(kms_tsig_append(&s, &w, &n, NULL, 0, 1700000000, NULL, NULL), 0);
    n1 = n;
    /* two TSIGs */
    assert_int_equal(kms_tsig_append(&s, &w, &n, NULL, 0, 1700000000, NULL, NULL), 0);
    assert_int_equal(kms_tsig_find(w, n, &t), KMS_EDNS_BADANSWER);
    /* a TSIG followed by another record (an A record at the root) */
    static const uint8_t a[] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1};
    w = realloc(w, n1 + sizeof a);
    memcpy(w + n1, a, sizeof a);
    w[11] = 2;
    assert_int_equal(kms_tsig_find(w, n1 + sizeof a, &t), KMS_EDNS_BADANSWER);
    /* a byte past the TSIG's fields, inside its RDLENGTH */
    w[11] = 1;
    w = realloc(w, n1 + 1);
    w[n1] = 0;
    size_t rdlen_at = 12 + 14 + 15 + 8; /* header, question, owner, type/class/TTL */
    w[rdlen_at + 1]++;
    assert_int_equal(kms_tsig_find(w, n1 + 1, &t), KMS_EDNS_BADANSWER);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4231_vectors),
        cmocka_unit_test(every_algorithm_round_trips),
        cmocka_unit_test(misplaced_tsig_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
