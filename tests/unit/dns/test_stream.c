/* SPDX-License-Identifier: MIT */
/*
 * test_stream.c - dns/stream.h: length-prefixed DNS messages out of chunks
 * cut anywhere (inside the prefix, inside the body, several messages in one
 * chunk), an empty message, the largest length, a callback that stops the
 * feed, and an idle framer that owns no memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "dns/stream.h"

typedef struct {
    size_t n;
    size_t lens[16];
    uint8_t first[16]; /* first byte of each message (0 for an empty one) */
    int stop_at;       /* return KMS_EMALFORMED for message number stop_at (1-based) */
} sink_t;

static int collect(void *ud, const uint8_t *msg, size_t len)
{
    sink_t *s = ud;

    assert_true(s->n < 16);
    s->lens[s->n] = len;
    s->first[s->n] = len ? msg[0] : 0;
    s->n++;
    if (s->stop_at && (int)s->n == s->stop_at)
        return KMS_EMALFORMED;
    return 0;
}

/* A stream of messages of lengths @p lens, message k filled with byte 'a'+k. */
static uint8_t *stream_of(const size_t *lens, size_t n, size_t *out_len)
{
    size_t total = 0, pos = 0;
    uint8_t *p;

    for (size_t i = 0; i < n; i++)
        total += 2 + lens[i];
    p = malloc(total ? total : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        p[pos++] = (uint8_t)(lens[i] >> 8);
        p[pos++] = (uint8_t)lens[i];
        memset(p + pos, 'a' + (int)i, lens[i]);
        pos += lens[i];
    }
    *out_len = total;
    return p;
}

static void test_cut_everywhere(void **state)
{
    static const size_t lens[] = {12, 300, 1, 12};
    size_t len;
    uint8_t *p = stream_of(lens, 4, &len);

    (void)state;
    /* every chunk size from 1 byte (prefixes split in two) to the whole stream */
    for (size_t chunk = 1; chunk <= len; chunk++) {
        kms_dns_stream_t f = {0};
        sink_t s = {0};

        for (size_t pos = 0; pos < len; pos += chunk) {
            size_t n = len - pos < chunk ? len - pos : chunk;
            uint8_t *copy = malloc(n); /* the reader's buffer is reused: the framer must copy */

            memcpy(copy, p + pos, n);
            assert_int_equal(kms_dns_stream_feed(&f, copy, n, collect, &s), 0);
            memset(copy, 0xEE, n);
            free(copy);
        }
        assert_int_equal(s.n, 4);
        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(s.lens[i], lens[i]);
            assert_int_equal(s.first[i], 'a' + (int)i);
        }
        assert_int_equal(kms_dns_stream_pending(&f), 0);
        assert_null(f.buf); /* idle: owns nothing */
    }
    free(p);
}

static void test_several_in_one_read_and_a_tail(void **state)
{
    static const size_t lens[] = {20, 30, 40};
    size_t len;
    uint8_t *p = stream_of(lens, 3, &len);
    kms_dns_stream_t f = {0};
    sink_t s = {0};

    (void)state;
    /* two whole messages and the first 5 bytes of the third */
    assert_int_equal(kms_dns_stream_feed(&f, p, 2 + 20 + 2 + 30 + 5, collect, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(kms_dns_stream_pending(&f), 5);
    assert_int_equal(kms_dns_stream_feed(&f, p + 57, len - 57, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.lens[2], 40);
    assert_int_equal(s.first[2], 'c');
    kms_dns_stream_reset(&f);
    free(p);
}

static void test_empty_message(void **state)
{
    static const uint8_t zero[] = {0, 0, 0, 0, 0, 1, 'x'};
    kms_dns_stream_t f = {0};
    sink_t s = {0};

    (void)state;
    /* alone, split inside its prefix, and followed by another message */
    assert_int_equal(kms_dns_stream_feed(&f, zero, 1, collect, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(kms_dns_stream_feed(&f, zero + 1, sizeof zero - 1, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.lens[0], 0);
    assert_int_equal(s.lens[1], 0);
    assert_int_equal(s.lens[2], 1);
    assert_int_equal(s.first[2], 'x');
    assert_int_equal(kms_dns_stream_pending(&f), 0);
}

static void test_largest_length(void **state)
{
    size_t lens[] = {65535, 12};
    size_t len;
    uint8_t *p = stream_of(lens, 2, &len);
    kms_dns_stream_t f = {0};
    sink_t s = {0};

    (void)state;
    /* only the prefix of a 65535-byte message: held, waiting */
    assert_int_equal(kms_dns_stream_feed(&f, p, 2, collect, &s), 0);
    assert_int_equal(kms_dns_stream_pending(&f), 2);
    /* the body in TLS-record-sized pieces */
    for (size_t pos = 2; pos < len; pos += 16384) {
        size_t n = len - pos < 16384 ? len - pos : 16384;
        assert_int_equal(kms_dns_stream_feed(&f, p + pos, n, collect, &s), 0);
        assert_true(kms_dns_stream_pending(&f) <= 65535 + 2);
    }
    assert_int_equal(s.n, 2);
    assert_int_equal(s.lens[0], 65535);
    assert_int_equal(s.lens[1], 12);
    assert_null(f.buf);
    free(p);
}

static void test_callback_stops_the_feed(void **state)
{
    static const size_t lens[] = {12, 12, 12};
    size_t len;
    uint8_t *p = stream_of(lens, 3, &len);
    kms_dns_stream_t f = {0};
    sink_t s = {.stop_at = 2};

    (void)state;
    assert_int_equal(kms_dns_stream_feed(&f, p, len, collect, &s), KMS_EMALFORMED);
    assert_int_equal(s.n, 2); /* the third is not delivered */
    kms_dns_stream_reset(&f);
    /* the same when the stopping message was held across chunks */
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    assert_int_equal(kms_dns_stream_feed(&f, p, 7, collect, &s), 0);
    assert_int_equal(kms_dns_stream_feed(&f, p + 7, len - 7, collect, &s), KMS_EMALFORMED);
    assert_int_equal(s.n, 1);
    kms_dns_stream_reset(&f);
    kms_dns_stream_reset(NULL);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_everywhere),
        cmocka_unit_test(test_several_in_one_read_and_a_tail),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_largest_length),
        cmocka_unit_test(test_callback_stops_the_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
