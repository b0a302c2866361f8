/* SPDX-License-Identifier: MIT */
/* Unit tests for rpc/pdu: golden bytes from C706 ch. 12 layouts, both
 * directions; truncation at every length; count caps; big-endian drep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "rpc/pdu.h"

#define KMS_IFACE                                                                                  \
    0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47, 0xb0, 0xd8, 0xec, 0x25, 0x55, 0x55, 0xbc, 0x06
#define NDR32                                                                                      \
    0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60

/* bind, call_id 1, max_xmit/max_recv 5840, assoc group 0, one context:
 * id 0, KMS interface v1.0, NDR32 v2.0 (C706 12.6.4.3). */
static const uint8_t bind_pdu[] = {
    0x05,      0x00, 0x0b, 0x03, 0x10, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x01,
    0x00,      0x00, 0x00, 0xd0, 0x16, 0xd0, 0x16, 0x00, 0x00, 0x00, 0x00, /* max_xmit, max_recv,
                                                                              assoc_group */
    0x01,      0x00, 0x00, 0x00,                                           /* n_context_elem 1 */
    0x00,      0x00, 0x01, 0x00,       /* p_cont_id 0, n_transfer_syn 1 */
    KMS_IFACE, 0x01, 0x00, 0x00, 0x00, /* abstract syntax v1.0 */
    NDR32,     0x02, 0x00, 0x00, 0x00, /* transfer syntax v2.0 */
};

/* The same bind in big-endian drep (drep[0] = 0x00): integers and the
 * UUIDs' first three fields byte-swapped. */
static const uint8_t bind_pdu_be[] = {
    0x05, 0x00, 0x0b, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x16, 0xd0, 0x16, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x51, 0xc8, 0x21, 0x75, 0x84, 0x4e, 0x47, 0x50, 0xb0, 0xd8,
    0xec, 0x25, 0x55, 0x55, 0xbc, 0x06, 0x00, 0x00, 0x00, 0x01, /* if_version 1 (major 1, minor 0)
                                                                   as one big-endian u32 */
    0x8a, 0x88, 0x5d, 0x04, 0x1c, 0xeb, 0x11, 0xc9, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10,
    0x48, 0x60, 0x00, 0x00, 0x00, 0x02,
};

/* bind_ack: sec_addr "1688" (length 5 incl. NUL) at offset 24, padded to 32
 * (C706 12.6.4.4), one result: acceptance, NDR32 v2. */
static const uint8_t bind_ack_pdu[] = {
    0x05,  0x00, 0x0c, 0x03, 0x10, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x01,
    0x00,  0x00, 0x00, 0xd0, 0x16, 0xd0, 0x16, 0x00, 0x10, 0x00, 0x00, /* max frags, assoc group
                                                                          0x1000 */
    0x05,  0x00, '1',  '6',  '8',  '8',  0x00, 0x00,                   /* sec_addr + 1 pad octet */
    0x01,  0x00, 0x00, 0x00,                                           /* n_results 1 */
    0x00,  0x00, 0x00, 0x00,                                           /* acceptance, reason 0 */
    NDR32, 0x02, 0x00, 0x00, 0x00,
};

/* request: call 2, alloc_hint 4, context 0, opnum 0, stub de ad be ef. */
static const uint8_t request_pdu[] = {
    0x05, 0x00, 0x00, 0x03, 0x10, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef,
};

/* response: call 2, alloc_hint 4, context 0, cancel_count 0, stub. */
static const uint8_t response_pdu[] = {
    0x05, 0x00, 0x02, 0x03, 0x10, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
};

/* fault: call 2, first|last|did_not_execute, status nca_s_unk_if, 32 octets. */
static const uint8_t fault_pdu[] = {
    0x05, 0x00, 0x03, 0x23, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x1c, 0x00, 0x00, 0x00, 0x00,
};

/* bind_nak: reason 4 (protocol version not supported), versions {5.0}, padded to 24. */
static const uint8_t bind_nak_pdu[] = {
    0x05, 0x00, 0x0d, 0x03, 0x10, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00,
    0x07, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00,
};

static void assert_wr_eq(const kms_wr_t *wr, const uint8_t *exp, size_t n)
{
    assert_int_equal(wr->err, 0);
    assert_int_equal(wr->len, n);
    assert_memory_equal(wr->buf, exp, n);
}

static void bind_golden_both_directions(void **state)
{
    kms_rpc_bind_t b;
    kms_rpc_ctx_elem_t e;
    kms_wr_t wr;

    assert_int_equal(kms_rpc_parse_bind(bind_pdu, sizeof bind_pdu, &b), 0);
    assert_int_equal(b.hdr.ptype, KMS_PTYPE_BIND);
    assert_int_equal(b.hdr.call_id, 1);
    assert_int_equal(b.max_xmit_frag, 5840);
    assert_int_equal(b.max_recv_frag, 5840);
    assert_int_equal(b.n_ctx, 1);
    assert_int_equal(b.ctx[0].n_tsyn, 1);
    assert_memory_equal(&b.ctx[0].abstract, &kms_rpc_kms_iface, sizeof kms_rpc_kms_iface);
    assert_memory_equal(&b.ctx[0].tsyn[0], &kms_rpc_ndr32, sizeof kms_rpc_ndr32);

    memset(&e, 0, sizeof e);
    e.n_tsyn = 1;
    e.abstract = kms_rpc_kms_iface;
    e.tsyn[0] = kms_rpc_ndr32;
    kms_wr_init(&wr);
    assert_int_equal(kms_rpc_build_bind(&wr, KMS_PTYPE_BIND, 1, 5840, 5840, 0, &e, 1), 0);
    assert_wr_eq(&wr, bind_pdu, sizeof bind_pdu);
    kms_wr_free(&wr);
}

static void bind_big_endian_drep(void **state)
{
    kms_rpc_bind_t b;

    assert_int_equal(kms_rpc_parse_bind(bind_pdu_be, sizeof bind_pdu_be, &b), 0);
    assert_int_equal(b.hdr.frag_length, 0x48);
    assert_int_equal(b.hdr.call_id, 1);
    assert_int_equal(b.max_xmit_frag, 5840);
    assert_int_equal(b.n_ctx, 1);
    assert_int_equal(b.ctx[0].abstract.vers_major, 1);
    assert_int_equal(b.ctx[0].abstract.vers_minor, 0);
    assert_memory_equal(&b.ctx[0].abstract, &kms_rpc_kms_iface, sizeof kms_rpc_kms_iface);
    assert_memory_equal(&b.ctx[0].tsyn[0], &kms_rpc_ndr32, sizeof kms_rpc_ndr32);
}

static void bind_ack_golden_both_directions(void **state)
{
    kms_rpc_bind_ack_t a;
    kms_rpc_result_t res = {KMS_RPC_ACCEPTANCE, 0, kms_rpc_ndr32};
    kms_wr_t wr;

    assert_int_equal(kms_rpc_parse_bind_ack(bind_ack_pdu, sizeof bind_ack_pdu, &a), 0);
    assert_int_equal(a.assoc_group_id, 0x1000);
    assert_string_equal(a.sec_addr, "1688");
    assert_int_equal(a.n_results, 1);
    assert_int_equal(a.results[0].result, KMS_RPC_ACCEPTANCE);
    assert_memory_equal(&a.results[0].tsyn, &kms_rpc_ndr32, sizeof kms_rpc_ndr32);

    kms_wr_init(&wr);
    assert_int_equal(
        kms_rpc_build_bind_ack(&wr, KMS_PTYPE_BIND_ACK, 0, 1, 5840, 5840, 0x1000, "1688", &res, 1),
        0);
    assert_wr_eq(&wr, bind_ack_pdu, sizeof bind_ack_pdu);
    kms_wr_free(&wr);
}

static void bind_ack_empty_sec_addr_alignment(void **state)
{
    /* alter_context_resp with sec_addr length 0: 2 octets, pad to 28. */
    kms_rpc_result_t res = {KMS_RPC_PROVIDER_REJECTION, 2, {{{0}}, 0, 0}};
    kms_rpc_bind_ack_t a;
    kms_wr_t wr;

    kms_wr_init(&wr);
    assert_int_equal(kms_rpc_build_bind_ack(&wr, KMS_PTYPE_ALTER_CONTEXT_RESP, KMS_PFC_CONC_MPX, 3,
                                            5840, 5840, 7, "", &res, 1),
                     0);
    assert_int_equal(wr.len, 28 + 4 + 24);
    assert_int_equal(wr.buf[3], KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG | KMS_PFC_CONC_MPX);
    assert_int_equal(wr.buf[24], 0);
    assert_int_equal(wr.buf[25], 0);
    assert_int_equal(wr.buf[28], 1); /* n_results at the aligned offset */
    assert_int_equal(kms_rpc_parse_bind_ack(wr.buf, wr.len, &a), 0);
    assert_string_equal(a.sec_addr, "");
    assert_int_equal(a.results[0].result, KMS_RPC_PROVIDER_REJECTION);
    assert_int_equal(a.results[0].reason, 2);
    kms_wr_free(&wr);
}

static void request_response_fault_golden(void **state)
{
    static const uint8_t stub[] = {0xde, 0xad, 0xbe, 0xef}, rstub[] = {1, 2, 3, 4};
    kms_rpc_request_t q;
    kms_rpc_response_t p;
    kms_rpc_fault_t f;
    kms_wr_t wr;

    assert_int_equal(kms_rpc_parse_request(request_pdu, sizeof request_pdu, &q), 0);
    assert_int_equal(q.hdr.call_id, 2);
    assert_int_equal(q.alloc_hint, 4);
    assert_int_equal(q.opnum, 0);
    assert_int_equal(q.has_object, 0);
    assert_int_equal(q.stub_len, 4);
    assert_memory_equal(q.stub, stub, 4);
    kms_wr_init(&wr);
    assert_int_equal(kms_rpc_build_request(&wr, KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG, 2, 4, 0, 0,
                                           NULL, stub, 4),
                     0);
    assert_wr_eq(&wr, request_pdu, sizeof request_pdu);
    kms_wr_free(&wr);

    assert_int_equal(kms_rpc_parse_response(response_pdu, sizeof response_pdu, &p), 0);
    assert_int_equal(p.hdr.call_id, 2);
    assert_int_equal(p.stub_len, 4);
    assert_memory_equal(p.stub, rstub, 4);
    kms_wr_init(&wr);
    assert_int_equal(
        kms_rpc_build_response(&wr, KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG, 2, 4, 0, rstub, 4), 0);
    assert_wr_eq(&wr, response_pdu, sizeof response_pdu);
    kms_wr_free(&wr);

    assert_int_equal(kms_rpc_parse_fault(fault_pdu, sizeof fault_pdu, &f), 0);
    assert_int_equal(f.status, KMS_NCA_S_UNK_IF);
    assert_true(f.hdr.pfc_flags & KMS_PFC_DID_NOT_EXECUTE);
    kms_wr_init(&wr);
    assert_int_equal(kms_rpc_build_fault(&wr, KMS_PFC_DID_NOT_EXECUTE, 2, 0, KMS_NCA_S_UNK_IF), 0);
    assert_wr_eq(&wr, fault_pdu, sizeof fault_pdu);
    kms_wr_free(&wr);
}

static void bind_nak_golden(void **state)
{
    kms_rpc_bind_nak_t nk;
    kms_wr_t wr;

    kms_wr_init(&wr);
    assert_int_equal(kms_rpc_build_bind_nak(&wr, 7, KMS_RPC_NAK_PROTOCOL_VERSION), 0);
    assert_wr_eq(&wr, bind_nak_pdu, sizeof bind_nak_pdu);
    kms_wr_free(&wr);
    assert_int_equal(kms_rpc_parse_bind_nak(bind_nak_pdu, sizeof bind_nak_pdu, &nk), 0);
    assert_int_equal(nk.reason, 4);
    assert_int_equal(nk.n_versions, 1);
    assert_int_equal(nk.versions[0][0], 5);
    assert_int_equal(nk.versions[0][1], 0);
}

static void request_object_uuid_and_auth_trailer(void **state)
{
    kms_guid_t obj = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
    static const uint8_t stub[] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22};
    kms_rpc_request_t q;
    kms_wr_t wr;

    kms_wr_init(&wr);
    assert_int_equal(kms_rpc_build_request(&wr, 3, 9, 8, 0, 0, &obj, stub, sizeof stub), 0);
    assert_int_equal(wr.buf[3], 0x83);
    assert_int_equal(kms_rpc_parse_request(wr.buf, wr.len, &q), 0);
    assert_true(q.has_object);
    assert_memory_equal(q.object.b, obj.b, 16);
    assert_int_equal(q.stub_len, sizeof stub);
    kms_wr_free(&wr);

    /* Stub of 8 where the last 4 are auth padding, then an 8-octet
     * sec_trailer (pad length 4) and an 8-octet auth value. */
    kms_wr_init(&wr);
    kms_rpc_build_request(&wr, 3, 9, 4, 0, 0, NULL, stub, sizeof stub);
    kms_wr_u8(&wr, 10); /* auth_type */
    kms_wr_u8(&wr, 2);  /* auth_level */
    kms_wr_u8(&wr, 4);  /* auth_pad_length */
    kms_wr_u8(&wr, 0);
    kms_wr_u32le(&wr, 0);
    kms_wr_zeros(&wr, 8);
    kms_wr_patch_u16le(&wr, 8, (uint16_t)wr.len);
    kms_wr_patch_u16le(&wr, 10, 8);
    assert_int_equal(kms_rpc_parse_request(wr.buf, wr.len, &q), 0);
    assert_int_equal(q.stub_len, 4);
    assert_memory_equal(q.stub, stub, 4);
    /* An auth_length that does not fit is malformed. */
    kms_wr_patch_u16le(&wr, 10, 200);
    assert_int_equal(kms_rpc_parse_request(wr.buf, wr.len, &q), KMS_EMALFORMED);
    kms_wr_free(&wr);
}

static void truncation_at_every_length(void **state)
{
    struct {
        const uint8_t *p;
        size_t n;
    } cases[] = {{bind_pdu, sizeof bind_pdu},        {bind_ack_pdu, sizeof bind_ack_pdu},
                 {request_pdu, sizeof request_pdu},  {response_pdu, sizeof response_pdu},
                 {fault_pdu, sizeof fault_pdu},      {bind_pdu_be, sizeof bind_pdu_be},
                 {bind_nak_pdu, sizeof bind_nak_pdu}};
    uint8_t buf[128];

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t n = 0; n < cases[c].n; n++) {
            kms_rpc_bind_t b;
            kms_rpc_bind_ack_t a;
            kms_rpc_bind_nak_t nk;
            kms_rpc_request_t q;
            kms_rpc_response_t p;
            kms_rpc_fault_t f;

            /* Short buffer: every parser refuses. */
            assert_int_not_equal(kms_rpc_parse_bind(cases[c].p, n, &b), 0);
            assert_int_not_equal(kms_rpc_parse_bind_ack(cases[c].p, n, &a), 0);
            assert_int_not_equal(kms_rpc_parse_bind_nak(cases[c].p, n, &nk), 0);
            assert_int_not_equal(kms_rpc_parse_request(cases[c].p, n, &q), 0);
            assert_int_not_equal(kms_rpc_parse_response(cases[c].p, n, &p), 0);
            assert_int_not_equal(kms_rpc_parse_fault(cases[c].p, n, &f), 0);
            /* Consistent header claiming a shorter PDU: only prefixes that end
             * exactly after a complete structure may parse. */
            if (n >= 16) {
                memcpy(buf, cases[c].p, n);
                if (buf[4] & 0x10)
                    buf[8] = (uint8_t)n, buf[9] = 0;
                else
                    buf[8] = 0, buf[9] = (uint8_t)n;
                if (cases[c].p == bind_pdu || cases[c].p == bind_pdu_be)
                    assert_int_not_equal(kms_rpc_parse_bind(buf, n, &b), 0);
                if (cases[c].p == bind_ack_pdu)
                    assert_int_not_equal(kms_rpc_parse_bind_ack(buf, n, &a), 0);
                if (cases[c].p == fault_pdu && n < 28)
                    assert_int_not_equal(kms_rpc_parse_fault(buf, n, &f), 0);
                if (cases[c].p == request_pdu && n < 24)
                    assert_int_not_equal(kms_rpc_parse_request(buf, n, &q), 0);
            }
        }
    }
}

static void oversized_counts_rejected(void **state)
{
    uint8_t buf[sizeof bind_pdu];
    kms_rpc_bind_t b;

    memcpy(buf, bind_pdu, sizeof buf);
    buf[24] = KMS_RPC_MAX_CTX + 1; /* n_context_elem */
    assert_int_equal(kms_rpc_parse_bind(buf, sizeof buf, &b), KMS_ETOOBIG);
    buf[24] = 255;
    assert_int_equal(kms_rpc_parse_bind(buf, sizeof buf, &b), KMS_ETOOBIG);
    memcpy(buf, bind_pdu, sizeof buf);
    buf[30] = KMS_RPC_MAX_TSYN + 1; /* n_transfer_syn */
    assert_int_equal(kms_rpc_parse_bind(buf, sizeof buf, &b), KMS_ETOOBIG);
    buf[30] = 0;
    assert_int_equal(kms_rpc_parse_bind(buf, sizeof buf, &b), KMS_EMALFORMED);
    /* Claimed 2 contexts, only 1 present. */
    memcpy(buf, bind_pdu, sizeof buf);
    buf[24] = 2;
    assert_int_equal(kms_rpc_parse_bind(buf, sizeof buf, &b), KMS_ETRUNC);
}

static void header_checks(void **state)
{
    uint8_t buf[sizeof request_pdu];
    kms_rpc_hdr_t h;
    kms_rpc_bind_t b;

    memcpy(buf, request_pdu, sizeof buf);
    buf[0] = 4;
    assert_int_equal(kms_rpc_parse_hdr(buf, sizeof buf, &h), KMS_EMALFORMED);
    memcpy(buf, request_pdu, sizeof buf);
    buf[8] = 15; /* frag_length < 16 */
    assert_int_equal(kms_rpc_parse_hdr(buf, sizeof buf, &h), KMS_EMALFORMED);
    /* Wrong ptype for the parser. */
    assert_int_equal(kms_rpc_parse_bind(request_pdu, sizeof request_pdu, &b), KMS_EMALFORMED);
}

static void btfn_syntax(void **state)
{
    kms_rpc_syntax_t s;
    uint8_t bits = 0;

    kms_rpc_btfn_syntax(3, &s);
    assert_true(kms_rpc_is_btfn(&s, &bits));
    assert_int_equal(bits, 3);
    assert_false(kms_rpc_is_btfn(&kms_rpc_ndr32, NULL));
    s.vers_major = 2;
    assert_false(kms_rpc_is_btfn(&s, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bind_golden_both_directions),
        cmocka_unit_test(bind_big_endian_drep),
        cmocka_unit_test(bind_ack_golden_both_directions),
        cmocka_unit_test(bind_ack_empty_sec_addr_alignment),
        cmocka_unit_test(request_response_fault_golden),
        cmocka_unit_test(bind_nak_golden),
        cmocka_unit_test(request_object_uuid_and_auth_trailer),
        cmocka_unit_test(truncation_at_every_length),
        cmocka_unit_test(oversized_counts_rejected),
        cmocka_unit_test(header_checks),
        cmocka_unit_test(btfn_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
