/* SPDX-License-Identifier: MIT */
/* Unit tests for rpc/activation: round trips, the docs/protocol.md example,
 * Microsoft's protected versions, malformed lengths, UTF-16 validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "rpc/activation.h"

static void example_request(kms_act_request_t *q)
{
    memset(q, 0, sizeof *q);
    q->license_status = 2;
    q->grace_time = 43200;
    assert_int_equal(kms_guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &q->app_id), 0);
    assert_int_equal(kms_guid_parse("01234567-89ab-cdef-0123-456789abcdef", &q->sku_id), 0);
    assert_int_equal(kms_guid_parse("0fedcba9-8765-4321-0fed-cba987654321", &q->kms_counted_id), 0);
    assert_int_equal(kms_guid_parse("6ff1c5c4-3a2e-4d8b-9c1a-0b1e2f3a4b5c", &q->client_machine_id),
                     0);
    q->required_client_count = 25;
    q->request_time = kms_filetime_from_unix(1764000000);
    strcpy(q->workstation, "pc01.corp.example");
}

static void example_response(kms_act_response_t *r)
{
    kms_act_request_t q;

    example_request(&q);
    memset(r, 0, sizeof *r);
    r->status = KMS_HR_OK;
    strcpy(r->host_epid, "kmsdns-example-host");
    r->client_machine_id = q.client_machine_id;
    r->response_time = kms_filetime_from_unix(1764000001);
    r->current_count = 26;
    r->activation_interval = 120;
    r->renewal_interval = 10080;
}

/* Bytes of the hex block after "<!-- hex:NAME -->" in docs/protocol.md;
 * each line is an offset followed by hex octets. */
static size_t doc_hex(const char *name, uint8_t *out, size_t cap)
{
    const char *src = getenv("KMSDNS_SRC");
    char path[1024], marker[128], *doc, *p;
    size_t len, n = 0;

    assert_non_null(src);
    snprintf(path, sizeof path, "%s/docs/protocol.md", src);
    assert_int_equal(kms_file_read(path, 1 << 20, &doc, &len), 0);
    snprintf(marker, sizeof marker, "<!-- hex:%s -->", name);
    p = strstr(doc, marker);
    assert_non_null(p);
    p = strstr(p, "```");
    assert_non_null(p);
    p = strchr(p, '\n') + 1;
    while (strncmp(p, "```", 3) != 0) {
        char *eol = strchr(p, '\n');

        assert_non_null(eol);
        p += strspn(p, "0123456789abcdef"); /* the offset column */
        while (p < eol) {
            unsigned v;

            while (p < eol && isspace((unsigned char)*p))
                p++;
            if (p >= eol)
                break;
            assert_int_equal(sscanf(p, "%2x", &v), 1);
            assert_true(n < cap);
            out[n++] = (uint8_t)v;
            p += 2;
        }
        p = eol + 1;
    }
    free(doc);
    return n;
}

static void doc_example_matches_code(void **state)
{
    kms_act_request_t q, q2;
    kms_act_response_t r, r2;
    uint8_t doc[512];
    kms_wr_t wr;
    size_t n;

    example_request(&q);
    kms_wr_init(&wr);
    assert_int_equal(kms_act_encode_request(&q, &wr), 0);
    n = doc_hex("request-stub", doc, sizeof doc);
    assert_int_equal(n, wr.len);
    assert_memory_equal(doc, wr.buf, n);
    assert_int_equal(kms_act_decode_request(doc, n, &q2), 0);
    assert_string_equal(q2.workstation, "pc01.corp.example");
    assert_int_equal(q2.version_major, KMS_ACT_PLAIN_MAJOR);
    assert_int_equal(q2.version_minor, KMS_ACT_PLAIN_MINOR);
    assert_int_equal(kms_filetime_to_unix(q2.request_time), 1764000000);
    kms_wr_free(&wr);

    example_response(&r);
    kms_wr_init(&wr);
    assert_int_equal(kms_act_encode_response(&r, &wr), 0);
    n = doc_hex("response-stub", doc, sizeof doc);
    assert_int_equal(n, wr.len);
    assert_memory_equal(doc, wr.buf, n);
    assert_int_equal(kms_act_decode_response(doc, n, &r2), 0);
    assert_string_equal(r2.host_epid, "kmsdns-example-host");
    assert_int_equal(r2.current_count, 26);
    assert_int_equal(r2.renewal_interval, 10080);
    kms_wr_free(&wr);
}

static void request_round_trip(void **state)
{
    kms_act_request_t q, q2;
    kms_wr_t wr;

    example_request(&q);
    q.is_client_vm = 1;
    kms_guid_parse("11111111-2222-3333-4444-555555555555", &q.previous_client_machine_id);
    /* Non-ASCII: é (2 octets), 中 (3), 😀 (4 octets, a surrogate pair). */
    strcpy(q.workstation, "h\xc3\xa9-\xe4\xb8\xad-\xf0\x9f\x98\x80");
    kms_wr_init(&wr);
    assert_int_equal(kms_act_encode_request(&q, &wr), 0);
    assert_int_equal(kms_act_decode_request(wr.buf, wr.len, &q2), 0);
    assert_string_equal(q2.workstation, q.workstation);
    assert_int_equal(q2.is_client_vm, 1);
    assert_int_equal(q2.grace_time, 43200);
    assert_true(kms_guid_eq(&q2.sku_id, &q.sku_id));
    assert_true(kms_guid_eq(&q2.kms_counted_id, &q.kms_counted_id));
    assert_true(kms_guid_eq(&q2.previous_client_machine_id, &q.previous_client_machine_id));
    assert_int_equal(q2.request_time, q.request_time);
    kms_wr_free(&wr);
}

static void response_round_trip_and_failure(void **state)
{
    kms_act_response_t r, r2;
    kms_wr_t wr;

    example_response(&r);
    r.status = KMS_HR_COUNT_INSUFFICIENT;
    kms_wr_init(&wr);
    assert_int_equal(kms_act_encode_response(&r, &wr), 0);
    assert_int_equal(kms_act_decode_response(wr.buf, wr.len, &r2), 0);
    assert_int_equal(r2.status, KMS_HR_COUNT_INSUFFICIENT);
    assert_true(kms_guid_eq(&r2.client_machine_id, &r.client_machine_id));
    kms_wr_free(&wr);

    kms_wr_init(&wr);
    assert_int_equal(kms_act_encode_failure(KMS_HR_NOT_SERVED, &wr), 0);
    assert_int_equal(wr.len, 12);
    assert_int_equal(kms_act_decode_response(wr.buf, wr.len, &r2), 0);
    assert_int_equal(r2.status, KMS_HR_NOT_SERVED);
    assert_int_equal(r2.version_major, 0);
    assert_string_equal(r2.host_epid, "");
    kms_wr_free(&wr);
}

/* An NDR request stub around @p msg. */
static void wrap(kms_wr_t *wr, const uint8_t *msg, size_t n)
{
    kms_wr_u32le(wr, (uint32_t)n);
    kms_wr_u32le(wr, (uint32_t)n);
    kms_wr_bytes(wr, msg, n);
}

static void protected_versions_unsupported(void **state)
{
    for (uint16_t major = 4; major <= 6; major++) {
        uint8_t msg[260] = {0};
        kms_act_request_t q;
        kms_act_response_t r;
        kms_wr_t wr;

        msg[0] = 0; /* minor 0 */
        msg[2] = (uint8_t)major;
        kms_wr_init(&wr);
        wrap(&wr, msg, sizeof msg);
        assert_int_equal(kms_act_decode_request(wr.buf, wr.len, &q), KMS_EUNSUPPORTED);
        assert_int_equal(q.version_major, major);
        assert_int_equal(q.version_minor, 0);
        /* Same message inside a response stub. */
        wr.len = 0;
        kms_wr_u32le(&wr, sizeof msg);
        kms_wr_u32le(&wr, 0x20000);
        kms_wr_u32le(&wr, sizeof msg);
        kms_wr_bytes(&wr, msg, sizeof msg);
        kms_wr_u32le(&wr, 0);
        assert_int_equal(kms_act_decode_response(wr.buf, wr.len, &r), KMS_EUNSUPPORTED);
        assert_int_equal(r.version_major, major);
        kms_wr_free(&wr);
    }
}

static void malformed_lengths(void **state)
{
    kms_act_request_t q;
    kms_act_response_t r;
    kms_wr_t wr;
    uint8_t *p;

    example_request(&q);
    kms_wr_init(&wr);
    assert_int_equal(kms_act_encode_request(&q, &wr), 0);
    p = wr.buf;
    /* Every truncation fails. */
    for (size_t n = 0; n < wr.len; n++)
        assert_int_not_equal(kms_act_decode_request(p, n, &q), 0);
    /* requestSize != max_count. */
    p[0]++;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_EMALFORMED);
    p[0]--;
    /* Both sizes larger than the data. */
    p[0] += 2, p[4] += 2;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_ETRUNC);
    /* Both one smaller: the message lacks its last octet. */
    p[0] -= 3, p[4] -= 3;
    assert_int_not_equal(kms_act_decode_request(p, wr.len, &q), 0);
    p[0]++, p[4]++;
    /* Name length over 64 units. */
    p[8 + 108] = 65;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_EMALFORMED);
    /* Name length shorter than the data: v1 must end exactly. */
    p[8 + 108] = 16;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_EMALFORMED);
    p[8 + 108] = 17;
    /* Unpaired surrogate, then U+0000. */
    p[8 + 110] = 0x00, p[8 + 111] = 0xd8;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_EMALFORMED);
    p[8 + 110] = 0x00, p[8 + 111] = 0x00;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_EMALFORMED);
    p[8 + 110] = 'p';
    /* Plain major with minor 0, and an unknown major. */
    p[8] = 0;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_EMALFORMED);
    p[8] = 1, p[10] = 7, p[11] = 0;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), KMS_EMALFORMED);
    p[10] = 0x50, p[11] = 0x4b;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), 0);
    /* Minor 2 may append fields. */
    kms_wr_u32le(&wr, 0x12345678);
    p = wr.buf;
    p[0] += 4, p[4] += 4, p[8] = 2;
    assert_int_equal(kms_act_decode_request(p, wr.len, &q), 0);
    kms_wr_free(&wr);

    /* Response: NULL pointer with a size, message status != HRESULT. */
    kms_wr_init(&wr);
    kms_wr_u32le(&wr, 5);
    kms_wr_u32le(&wr, 0);
    kms_wr_u32le(&wr, 0);
    assert_int_equal(kms_act_decode_response(wr.buf, wr.len, &r), KMS_EMALFORMED);
    kms_wr_free(&wr);
    example_response(&r);
    kms_wr_init(&wr);
    kms_act_encode_response(&r, &wr);
    wr.buf[wr.len - 1] = 0x80; /* HRESULT differs from the message's status */
    assert_int_equal(kms_act_decode_response(wr.buf, wr.len, &r), KMS_EMALFORMED);
    for (size_t n = 0; n < wr.len; n++)
        assert_int_not_equal(kms_act_decode_response(wr.buf, n, &r), 0);
    kms_wr_free(&wr);
}

static void encoder_validates_utf8(void **state)
{
    kms_act_request_t q;
    kms_act_response_t r;
    kms_wr_t wr;

    example_request(&q);
    kms_wr_init(&wr);
    strcpy(q.workstation, "bad\xc0\xafname"); /* overlong '/' */
    assert_int_equal(kms_act_encode_request(&q, &wr), KMS_EINVAL);
    strcpy(q.workstation, "\xed\xa0\x80"); /* encoded surrogate */
    assert_int_equal(kms_act_encode_request(&q, &wr), KMS_EINVAL);
    memset(q.workstation, 'a', 65);
    q.workstation[65] = 0;
    assert_int_equal(kms_act_encode_request(&q, &wr), KMS_ERANGE);
    assert_int_equal(wr.len, 0); /* nothing half-written */
    memset(q.workstation, 'a', 64);
    q.workstation[64] = 0;
    assert_int_equal(kms_act_encode_request(&q, &wr), 0);
    kms_wr_free(&wr);

    /* 64 three-octet characters decode into the 193-octet buffer. */
    example_response(&r);
    for (int i = 0; i < 64; i++)
        memcpy(r.host_epid + 3 * i, "\xe4\xb8\xad", 3);
    r.host_epid[192] = 0;
    kms_wr_init(&wr);
    assert_int_equal(kms_act_encode_response(&r, &wr), 0);
    kms_act_response_t r2;
    assert_int_equal(kms_act_decode_response(wr.buf, wr.len, &r2), 0);
    assert_string_equal(r2.host_epid, r.host_epid);
    kms_wr_free(&wr);
}

static void filetime(void **state)
{
    assert_int_equal(kms_filetime_from_unix(0), 116444736000000000ULL);
    assert_int_equal(kms_filetime_to_unix(116444736000000000ULL), 0);
    assert_int_equal(kms_filetime_to_unix(kms_filetime_from_unix(1764000000)), 1764000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_example_matches_code),
        cmocka_unit_test(request_round_trip),
        cmocka_unit_test(response_round_trip_and_failure),
        cmocka_unit_test(protected_versions_unsupported),
        cmocka_unit_test(malformed_lengths),
        cmocka_unit_test(encoder_validates_utf8),
        cmocka_unit_test(filetime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
