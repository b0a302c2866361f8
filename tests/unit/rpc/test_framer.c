/* SPDX-License-Identifier: MIT */
/* Unit tests for rpc/framer: stream to whole DCE/RPC PDUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rpc/framer.h"

typedef struct {
    size_t n;
    size_t lens[16];
    uint32_t call_ids[16];
    int fail_at; /* return KMS_EPROTO on this PDU (1-based); 0 never */
} seen_t;

static int on_pdu(void *ud, const uint8_t *pdu, size_t len)
{
    seen_t *s = ud;

    assert_true(s->n < 16);
    s->lens[s->n] = len;
    s->call_ids[s->n] = (uint32_t)pdu[12] | (uint32_t)pdu[13] << 8;
    s->n++;
    return (int)s->n == s->fail_at ? KMS_EPROTO : 0;
}

/* A little-endian PDU of @p len bytes (>= 16) with @p call_id. */
static void pdu(uint8_t *p, size_t len, uint8_t call_id)
{
    memset(p, 0, len);
    p[0] = 5;
    p[2] = 0;    /* request */
    p[3] = 3;    /* first + last fragment */
    p[4] = 0x10; /* little-endian */
    p[8] = (uint8_t)len;
    p[9] = (uint8_t)(len >> 8);
    p[12] = call_id;
}

static void test_whole_and_split(void **st)
{
    uint8_t s[16 + 40 + 24];
    seen_t seen = {0};
    kms_framer_t f = {0};

    (void)st;
    pdu(s, 16, 1);
    pdu(s + 16, 40, 2);
    pdu(s + 56, 24, 3);
    /* All at once: three PDUs, nothing kept. */
    assert_int_equal(kms_framer_feed(&f, s, sizeof s, 4096, on_pdu, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.lens[1], 40);
    assert_int_equal(kms_framer_pending(&f), 0);
    assert_null(f.buf); /* an idle framer owns nothing */
    /* Byte by byte: the same three, in order. */
    memset(&seen, 0, sizeof seen);
    for (size_t i = 0; i < sizeof s; i++)
        assert_int_equal(kms_framer_feed(&f, s + i, 1, 4096, on_pdu, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.call_ids[0], 1);
    assert_int_equal(seen.call_ids[2], 3);
    assert_int_equal(kms_framer_pending(&f), 0);
    kms_framer_reset(&f);
}

static void test_header_only_pdu_completed_by_second_read(void **st)
{
    uint8_t s[16];
    seen_t seen = {0};
    kms_framer_t f = {0};

    (void)st;
    pdu(s, 16, 7);
    assert_int_equal(kms_framer_feed(&f, s, 10, 4096, on_pdu, &seen), 0);
    assert_int_equal(seen.n, 0);
    assert_int_equal(kms_framer_pending(&f), 10);
    assert_int_equal(kms_framer_feed(&f, s + 10, 6, 4096, on_pdu, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.call_ids[0], 7);
    kms_framer_reset(&f);
}

static void test_bad_headers(void **st)
{
    uint8_t s[64];
    seen_t seen = {0};
    kms_framer_t f = {0};

    (void)st;
    /* frag_length over the cap: refused from the header, body never buffered. */
    pdu(s, 64, 1);
    assert_true(kms_framer_feed(&f, s, 16, 32, on_pdu, &seen) < 0);
    kms_framer_reset(&f);
    /* Wrong version after a good PDU: the good one is delivered first. */
    pdu(s, 16, 1);
    memset(s + 16, 0x04, 16);
    assert_true(kms_framer_feed(&f, s, 32, 4096, on_pdu, &seen) < 0);
    assert_int_equal(seen.n, 1);
    kms_framer_reset(&f);
    /* Wrong version noticed as soon as the partial header is complete. */
    memset(s, 0x04, 16);
    assert_int_equal(kms_framer_feed(&f, s, 8, 4096, on_pdu, &seen), 0);
    assert_true(kms_framer_feed(&f, s + 8, 8, 4096, on_pdu, &seen) < 0);
    kms_framer_reset(&f);
}

static void test_callback_error_stops(void **st)
{
    uint8_t s[48];
    seen_t seen = {.fail_at = 2};
    kms_framer_t f = {0};

    (void)st;
    pdu(s, 16, 1);
    pdu(s + 16, 16, 2);
    pdu(s + 32, 16, 3);
    assert_int_equal(kms_framer_feed(&f, s, sizeof s, 4096, on_pdu, &seen), KMS_EPROTO);
    assert_int_equal(seen.n, 2);
    kms_framer_reset(&f);
}

/* The client stops at the PDU that completes its operation, which is often
 * one completed from the framer's own buffer: the stop is returned there
 * too, and the PDU after it is not delivered. */
static void test_callback_error_on_buffered_pdu(void **st)
{
    uint8_t s[40];
    seen_t seen = {.fail_at = 1};
    kms_framer_t f = {0};

    (void)st;
    pdu(s, 24, 1);
    pdu(s + 24, 16, 2);
    assert_int_equal(kms_framer_feed(&f, s, 10, 4096, on_pdu, &seen), 0);
    assert_int_equal(kms_framer_pending(&f), 10);
    assert_int_equal(kms_framer_feed(&f, s + 10, sizeof s - 10, 4096, on_pdu, &seen), KMS_EPROTO);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.lens[0], 24);
    assert_int_equal(seen.call_ids[0], 1);
    kms_framer_reset(&f);
    assert_int_equal(kms_framer_pending(&f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_split),
        cmocka_unit_test(test_header_only_pdu_completed_by_second_read),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_callback_error_stops),
        cmocka_unit_test(test_callback_error_on_buffered_pdu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
