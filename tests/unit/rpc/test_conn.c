/* SPDX-License-Identifier: MIT */
/* Unit tests for rpc/conn: bind decisions, alter_context, fragment
 * reassembly, faults, request before bind, response fragmentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rpc/conn.h"
#include "rpc/pdu.h"

typedef struct {
    int calls;
    size_t last_len;
    uint8_t first;
    size_t reply_len; /* bytes of reply to produce */
    int fail;         /* return this from the handler */
} hctx_t;

static int handler(void *ud, uint16_t opnum, const uint8_t *stub, size_t len, kms_wr_t *out)
{
    hctx_t *h = ud;

    h->calls++;
    h->last_len = len;
    h->first = len ? stub[0] : 0;
    if (h->fail)
        return h->fail;
    for (size_t i = 0; i < h->reply_len; i++)
        kms_wr_u8(out, (uint8_t)i);
    return 0;
}

static kms_rpc_ctx_elem_t ctx(uint16_t id, const kms_rpc_syntax_t *abs, const kms_rpc_syntax_t *ts)
{
    kms_rpc_ctx_elem_t e;

    memset(&e, 0, sizeof e);
    e.cont_id = id;
    e.n_tsyn = 1;
    e.abstract = *abs;
    e.tsyn[0] = *ts;
    return e;
}

/* Feed a bind with @p n contexts; parse the bind_ack into @p a. */
static void do_bind(kms_rpc_conn_t *c, uint8_t ptype, const kms_rpc_ctx_elem_t *e, size_t n,
                    uint16_t max_recv, kms_rpc_bind_ack_t *a)
{
    kms_wr_t in, out;

    kms_wr_init(&in);
    kms_wr_init(&out);
    assert_int_equal(kms_rpc_build_bind(&in, ptype, 1, 5840, max_recv, 0, e, n), 0);
    assert_int_equal(kms_rpc_conn_pdu(c, in.buf, in.len, &out), 0);
    assert_int_equal(kms_rpc_frame_len(out.buf, out.len, 0), (int)out.len);
    assert_int_equal(kms_rpc_parse_bind_ack(out.buf, out.len, a), 0);
    assert_int_equal(a->hdr.ptype,
                     ptype == KMS_PTYPE_BIND ? KMS_PTYPE_BIND_ACK : KMS_PTYPE_ALTER_CONTEXT_RESP);
    kms_wr_free(&in);
    kms_wr_free(&out);
}

static void windows_three_context_bind(void **state)
{
    hctx_t h = {0};
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, &h);
    kms_rpc_ctx_elem_t e[3];
    kms_rpc_syntax_t btfn;
    kms_rpc_bind_ack_t a;

    kms_rpc_btfn_syntax(3, &btfn);
    e[0] = ctx(0, &kms_rpc_kms_iface, &kms_rpc_ndr32);
    e[1] = ctx(1, &kms_rpc_kms_iface, &kms_rpc_ndr64);
    e[2] = ctx(2, &kms_rpc_kms_iface, &btfn);
    do_bind(c, KMS_PTYPE_BIND, e, 3, 5840, &a);
    assert_int_equal(a.n_results, 3);
    assert_int_equal(a.results[0].result, KMS_RPC_ACCEPTANCE);
    assert_memory_equal(&a.results[0].tsyn, &kms_rpc_ndr32, sizeof kms_rpc_ndr32);
    assert_int_equal(a.results[1].result, KMS_RPC_PROVIDER_REJECTION);
    assert_int_equal(a.results[1].reason, KMS_RPC_REASON_TRANSFER_SYNTAXES);
    assert_int_equal(a.results[2].result, KMS_RPC_NEGOTIATE_ACK);
    assert_int_equal(a.results[2].reason, 0);
    assert_true(kms_guid_is_nil(&a.results[2].tsyn.uuid));
    assert_string_equal(a.sec_addr, "1688"); /* no port set: the default */
    assert_int_not_equal(a.assoc_group_id, 0);
    assert_int_equal(a.max_xmit_frag, 5840);
    kms_rpc_conn_free(c);
    /* The server sets the port of the listener that accepted the connection. */
    c = kms_rpc_conn_new(0, handler, &h);
    kms_rpc_conn_set_port(c, 11688);
    do_bind(c, KMS_PTYPE_BIND, e, 3, 5840, &a);
    assert_string_equal(a.sec_addr, "11688");
    kms_rpc_conn_free(c);
}

/* A bind asking for concurrent multiplexing (vlmcs, Windows) gets it
 * echoed in the bind_ack, as Windows answers; header signing is not. */
static void conc_mpx_is_echoed(void **state)
{
    hctx_t h = {0};
    kms_rpc_conn_t *c;
    kms_rpc_ctx_elem_t e = ctx(0, &kms_rpc_kms_iface, &kms_rpc_ndr32);
    kms_rpc_bind_ack_t a;
    static const uint8_t asked[] = {0, KMS_PFC_CONC_MPX, KMS_PFC_CONC_MPX | KMS_PFC_PENDING_CANCEL,
                                    KMS_PFC_PENDING_CANCEL};

    (void)state;
    for (size_t i = 0; i < sizeof asked; i++) {
        kms_wr_t in, out;

        c = kms_rpc_conn_new(0, handler, &h);
        kms_wr_init(&in);
        kms_wr_init(&out);
        assert_int_equal(kms_rpc_build_bind(&in, KMS_PTYPE_BIND, 1, 5840, 5840, 0, &e, 1), 0);
        in.buf[3] |= asked[i]; /* pfc_flags */
        assert_int_equal(kms_rpc_conn_pdu(c, in.buf, in.len, &out), 0);
        assert_int_equal(kms_rpc_parse_bind_ack(out.buf, out.len, &a), 0);
        assert_int_equal(a.hdr.pfc_flags,
                         KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG | (asked[i] & KMS_PFC_CONC_MPX));
        assert_int_equal(a.results[0].result, KMS_RPC_ACCEPTANCE);
        kms_wr_free(&in);
        kms_wr_free(&out);
        kms_rpc_conn_free(c);
    }
}

static void ndr64_only_and_foreign_interface(void **state)
{
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, NULL);
    kms_rpc_syntax_t other = kms_rpc_kms_iface;
    kms_rpc_ctx_elem_t e;
    kms_rpc_bind_ack_t a;
    kms_rpc_stats_t st;

    e = ctx(0, &kms_rpc_kms_iface, &kms_rpc_ndr64);
    do_bind(c, KMS_PTYPE_BIND, &e, 1, 5840, &a);
    assert_int_equal(a.n_results, 1);
    assert_int_equal(a.results[0].result, KMS_RPC_PROVIDER_REJECTION);
    assert_int_equal(a.results[0].reason, KMS_RPC_REASON_TRANSFER_SYNTAXES);
    kms_rpc_conn_stats(c, &st);
    assert_int_equal(st.rejected_binds, 1);
    kms_rpc_conn_free(c);

    c = kms_rpc_conn_new(0, handler, NULL);
    other.uuid.b[0] ^= 1;
    e = ctx(0, &other, &kms_rpc_ndr32);
    do_bind(c, KMS_PTYPE_BIND, &e, 1, 5840, &a);
    assert_int_equal(a.results[0].result, KMS_RPC_PROVIDER_REJECTION);
    assert_int_equal(a.results[0].reason, KMS_RPC_REASON_ABSTRACT_SYNTAX);
    kms_rpc_conn_free(c);

    /* Right interface, wrong version. */
    c = kms_rpc_conn_new(0, handler, NULL);
    other = kms_rpc_kms_iface;
    other.vers_major = 2;
    e = ctx(0, &other, &kms_rpc_ndr32);
    do_bind(c, KMS_PTYPE_BIND, &e, 1, 5840, &a);
    assert_int_equal(a.results[0].reason, KMS_RPC_REASON_ABSTRACT_SYNTAX);
    kms_rpc_conn_free(c);
}

/* Send a request (possibly one fragment); return what conn_pdu returned. */
static int send_req(kms_rpc_conn_t *c, uint8_t flags, uint32_t call, uint16_t cid, uint16_t op,
                    const uint8_t *stub, size_t n, kms_wr_t *out)
{
    kms_wr_t in;
    int r;

    kms_wr_init(&in);
    kms_rpc_build_request(&in, flags, call, (uint32_t)n, cid, op, NULL, stub, n);
    r = kms_rpc_conn_pdu(c, in.buf, in.len, out);
    kms_wr_free(&in);
    return r;
}

static void expect_fault(const kms_wr_t *out, uint32_t status)
{
    kms_rpc_fault_t f;

    assert_int_equal(kms_rpc_parse_fault(out->buf, out->len, &f), 0);
    assert_int_equal(f.status, status);
}

static void bound(kms_rpc_conn_t *c, uint16_t max_recv)
{
    kms_rpc_ctx_elem_t e = ctx(0, &kms_rpc_kms_iface, &kms_rpc_ndr32);
    kms_rpc_bind_ack_t a;

    do_bind(c, KMS_PTYPE_BIND, &e, 1, max_recv, &a);
    assert_int_equal(a.results[0].result, KMS_RPC_ACCEPTANCE);
}

static void alter_context_adds_a_context(void **state)
{
    hctx_t h = {0};
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, &h);
    kms_rpc_ctx_elem_t e[2];
    kms_rpc_bind_ack_t a;
    kms_wr_t out;
    uint8_t stub[4] = {9, 8, 7, 6};

    bound(c, 5840);
    kms_wr_init(&out);
    assert_int_equal(send_req(c, 3, 2, 5, 0, stub, 4, &out), 0);
    expect_fault(&out, KMS_NCA_S_UNK_IF);
    assert_int_equal(h.calls, 0);
    e[0] = ctx(5, &kms_rpc_kms_iface, &kms_rpc_ndr32);
    e[1] = ctx(6, &kms_rpc_kms_iface, &kms_rpc_ndr64);
    do_bind(c, KMS_PTYPE_ALTER_CONTEXT, e, 2, 5840, &a);
    assert_int_equal(a.n_results, 2);
    assert_int_equal(a.results[0].result, KMS_RPC_ACCEPTANCE);
    assert_int_equal(a.results[1].result, KMS_RPC_PROVIDER_REJECTION);
    assert_string_equal(a.sec_addr, "");
    out.len = 0;
    assert_int_equal(send_req(c, 3, 3, 5, 0, stub, 4, &out), 0);
    assert_int_equal(h.calls, 1);
    assert_int_equal(out.buf[2], KMS_PTYPE_RESPONSE);
    kms_wr_free(&out);
    kms_rpc_conn_free(c);
}

static void fragmented_request_reassembly(void **state)
{
    hctx_t h = {0};
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, &h);
    uint8_t *big = calloc(1, 40000);
    kms_wr_t out;

    big[0] = 0x42;
    bound(c, 5840);
    kms_wr_init(&out);
    assert_int_equal(send_req(c, KMS_PFC_FIRST_FRAG, 7, 0, 0, big, 1000, &out), 0);
    assert_int_equal(send_req(c, 0, 7, 0, 0, big + 1000, 1000, &out), 0);
    assert_int_equal(out.len, 0); /* nothing answered before the last fragment */
    assert_int_equal(h.calls, 0);
    assert_int_equal(send_req(c, KMS_PFC_LAST_FRAG, 7, 0, 0, big + 2000, 500, &out), 0);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.last_len, 2500);
    assert_int_equal(h.first, 0x42);
    assert_int_equal(out.buf[2], KMS_PTYPE_RESPONSE);

    /* A fragment of another call in the middle: protocol error. */
    out.len = 0;
    assert_int_equal(send_req(c, KMS_PFC_FIRST_FRAG, 8, 0, 0, big, 100, &out), 0);
    assert_int_equal(send_req(c, KMS_PFC_LAST_FRAG, 9, 0, 0, big, 100, &out), KMS_EPROTO);
    kms_rpc_conn_free(c);

    /* Over the total cap: 7 fragments of 40000 > 262144. */
    c = kms_rpc_conn_new(0, handler, &h);
    bound(c, 5840);
    h.calls = 0;
    int r = send_req(c, KMS_PFC_FIRST_FRAG, 10, 0, 0, big, 40000, &out);
    for (int i = 0; i < 10 && r == 0; i++)
        r = send_req(c, 0, 10, 0, 0, big, 40000, &out);
    assert_int_equal(r, KMS_ETOOBIG);
    assert_int_equal(h.calls, 0);
    kms_rpc_conn_free(c);

    /* A continuation without a first fragment. */
    c = kms_rpc_conn_new(0, handler, &h);
    bound(c, 5840);
    assert_int_equal(send_req(c, KMS_PFC_LAST_FRAG, 11, 0, 0, big, 10, &out), KMS_EPROTO);
    kms_rpc_conn_free(c);
    kms_wr_free(&out);
    free(big);
}

static void faults(void **state)
{
    hctx_t h = {0};
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, &h);
    uint8_t stub[8] = {0};
    kms_wr_t out;
    kms_rpc_stats_t st;

    bound(c, 5840);
    kms_wr_init(&out);
    assert_int_equal(send_req(c, 3, 2, 0, 1, stub, 8, &out), 0);
    expect_fault(&out, KMS_NCA_S_OP_RNG_ERROR);
    assert_int_equal(h.calls, 0);
    out.len = 0;
    h.fail = KMS_EMALFORMED;
    assert_int_equal(send_req(c, 3, 3, 0, 0, stub, 8, &out), 0);
    expect_fault(&out, KMS_NCA_S_FAULT_NDR);
    assert_int_equal(h.calls, 1);
    kms_rpc_conn_stats(c, &st);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.faults, 2);
    kms_wr_free(&out);
    kms_rpc_conn_free(c);
}

static void request_before_bind_closes(void **state)
{
    hctx_t h = {0};
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, &h);
    uint8_t stub[8] = {0};
    kms_wr_t out;

    kms_wr_init(&out);
    assert_int_equal(send_req(c, 3, 1, 0, 0, stub, 8, &out), KMS_EPROTO);
    assert_int_equal(out.len, 0);
    assert_int_equal(h.calls, 0);
    kms_wr_free(&out);
    kms_rpc_conn_free(c);
}

static void bind_version_mismatch_gets_nak(void **state)
{
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, NULL);
    kms_rpc_ctx_elem_t e = ctx(0, &kms_rpc_kms_iface, &kms_rpc_ndr32);
    kms_rpc_bind_nak_t nk;
    kms_wr_t in, out;

    kms_wr_init(&in);
    kms_wr_init(&out);
    kms_rpc_build_bind(&in, KMS_PTYPE_BIND, 1, 5840, 5840, 0, &e, 1);
    in.buf[1] = 7; /* rpc_vers_minor 7 */
    assert_int_equal(kms_rpc_conn_pdu(c, in.buf, in.len, &out), 0);
    assert_int_equal(kms_rpc_parse_bind_nak(out.buf, out.len, &nk), 0);
    assert_int_equal(nk.reason, KMS_RPC_NAK_PROTOCOL_VERSION);
    kms_rpc_conn_free(c);

    c = kms_rpc_conn_new(0, handler, NULL);
    in.buf[0] = 4;
    in.buf[1] = 0;
    out.len = 0;
    assert_int_equal(kms_rpc_conn_pdu(c, in.buf, in.len, &out), 0);
    assert_int_equal(kms_rpc_parse_bind_nak(out.buf, out.len, &nk), 0);
    assert_int_equal(nk.reason, KMS_RPC_NAK_PROTOCOL_VERSION);
    /* The framer refuses rpc_vers 4 on a stream. */
    assert_true(kms_rpc_frame_len(in.buf, in.len, 0) < 0);
    kms_rpc_conn_free(c);
    kms_wr_free(&in);
    kms_wr_free(&out);
}

static void response_fragmentation(void **state)
{
    hctx_t h = {0};
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, &h);
    uint8_t stub[8] = {0};
    kms_wr_t out, all;
    size_t off = 0;
    int frags = 0;

    h.reply_len = 5000;
    bound(c, 1432); /* the client receives at most 1432-octet fragments */
    kms_wr_init(&out);
    kms_wr_init(&all);
    assert_int_equal(send_req(c, 3, 2, 0, 0, stub, 8, &out), 0);
    while (off < out.len) {
        int n = kms_rpc_frame_len(out.buf + off, out.len - off, 0);
        kms_rpc_response_t p;

        assert_true(n > 0 && n <= 1432);
        assert_int_equal(kms_rpc_parse_response(out.buf + off, (size_t)n, &p), 0);
        assert_int_equal(!!(p.hdr.pfc_flags & KMS_PFC_FIRST_FRAG), frags == 0);
        assert_int_equal(p.alloc_hint, 5000 - all.len);
        if (!(p.hdr.pfc_flags & KMS_PFC_LAST_FRAG))
            assert_int_equal(p.stub_len % 8, 0);
        kms_wr_bytes(&all, p.stub, p.stub_len);
        off += (size_t)n;
        frags++;
        if (off == out.len)
            assert_true(p.hdr.pfc_flags & KMS_PFC_LAST_FRAG);
    }
    assert_int_equal(frags, 4);
    assert_int_equal(all.len, 5000);
    for (size_t i = 0; i < all.len; i++)
        assert_int_equal(all.buf[i], (uint8_t)i);
    kms_wr_free(&out);
    kms_wr_free(&all);
    kms_rpc_conn_free(c);
}

static void frame_len_contract(void **state)
{
    uint8_t hdr[16] = {5, 0, 0, 3, 0x10, 0, 0, 0, 0x20, 0, 0, 0, 1, 0, 0, 0};

    assert_int_equal(kms_rpc_frame_len(hdr, 15, 0), 0);
    assert_int_equal(kms_rpc_frame_len(hdr, 16, 0), 32);
    assert_int_equal(kms_rpc_frame_len(hdr, 16, 31), KMS_ETOOBIG);
    hdr[8] = 8;
    assert_true(kms_rpc_frame_len(hdr, 16, 0) < 0);
    hdr[4] = 0; /* big-endian: frag_length 0x0800 */
    hdr[8] = 0x08, hdr[9] = 0x00;
    assert_int_equal(kms_rpc_frame_len(hdr, 16, 0), 0x0800);
}

static void second_bind_and_stray_pdus(void **state)
{
    kms_rpc_conn_t *c = kms_rpc_conn_new(0, handler, NULL);
    kms_rpc_ctx_elem_t e = ctx(0, &kms_rpc_kms_iface, &kms_rpc_ndr32);
    kms_rpc_bind_nak_t nk;
    kms_wr_t in, out;

    bound(c, 5840);
    kms_wr_init(&in);
    kms_wr_init(&out);
    kms_rpc_build_bind(&in, KMS_PTYPE_BIND, 2, 5840, 5840, 0, &e, 1);
    assert_int_equal(kms_rpc_conn_pdu(c, in.buf, in.len, &out), 0);
    assert_int_equal(kms_rpc_parse_bind_nak(out.buf, out.len, &nk), 0);
    /* A server-to-client PDU sent to us closes the connection. */
    in.len = 0;
    kms_rpc_build_fault(&in, 0, 3, 0, 1);
    assert_int_equal(kms_rpc_conn_pdu(c, in.buf, in.len, &out), KMS_EPROTO);
    /* frag_length disagreeing with the framed length. */
    assert_int_equal(kms_rpc_conn_pdu(c, in.buf, in.len - 1, &out), KMS_ETRUNC);
    kms_wr_free(&in);
    kms_wr_free(&out);
    kms_rpc_conn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows_three_context_bind),
        cmocka_unit_test(conc_mpx_is_echoed),
        cmocka_unit_test(ndr64_only_and_foreign_interface),
        cmocka_unit_test(alter_context_adds_a_context),
        cmocka_unit_test(fragmented_request_reassembly),
        cmocka_unit_test(faults),
        cmocka_unit_test(request_before_bind_closes),
        cmocka_unit_test(bind_version_mismatch_gets_nak),
        cmocka_unit_test(response_fragmentation),
        cmocka_unit_test(frame_len_contract),
        cmocka_unit_test(second_bind_and_stray_pdus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
