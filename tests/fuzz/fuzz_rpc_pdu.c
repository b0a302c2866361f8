/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rpc_pdu.c - a byte stream into one server association: framed with
 * kms_rpc_frame_len(), each PDU through kms_rpc_conn_pdu() with a handler
 * that decodes the activation request and encodes a response; the replies
 * are parsed back with the client-side parsers.  Every input frame also
 * goes through the client-side parsers, as a hostile server's bytes would.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rpc/activation.h"
#include "rpc/conn.h"
#include "rpc/pdu.h"

static int handler(void *ud, uint16_t opnum, const uint8_t *stub, size_t len, kms_wr_t *out)
{
    kms_act_request_t q;
    kms_act_response_t r;
    int e = kms_act_decode_request(stub, len, &q);

    (void)ud;
    (void)opnum;
    if (e)
        return kms_act_encode_failure(0x8007000Du, out);
    memset(&r, 0, sizeof r);
    r.client_machine_id = q.client_machine_id;
    r.current_count = q.required_client_count;
    memcpy(r.host_epid, q.workstation, sizeof r.host_epid);
    return kms_act_encode_response(&r, out);
}

static void check_replies(const kms_wr_t *out)
{
    size_t off = 0;

    while (off < out->len) {
        int n = kms_rpc_frame_len(out->buf + off, out->len - off, 0);
        kms_rpc_bind_ack_t a;
        kms_rpc_response_t p;
        kms_rpc_fault_t f;
        kms_rpc_bind_nak_t nk;

        if (n <= 0 || (size_t)n > out->len - off)
            __builtin_trap(); /* we must only ever emit whole, valid PDUs */
        switch (out->buf[off + 2]) {
        case KMS_PTYPE_BIND_ACK:
        case KMS_PTYPE_ALTER_CONTEXT_RESP:
            if (kms_rpc_parse_bind_ack(out->buf + off, (size_t)n, &a))
                __builtin_trap();
            break;
        case KMS_PTYPE_RESPONSE:
            if (kms_rpc_parse_response(out->buf + off, (size_t)n, &p))
                __builtin_trap();
            break;
        case KMS_PTYPE_FAULT:
            if (kms_rpc_parse_fault(out->buf + off, (size_t)n, &f))
                __builtin_trap();
            break;
        case KMS_PTYPE_BIND_NAK:
            if (kms_rpc_parse_bind_nak(out->buf + off, (size_t)n, &nk))
                __builtin_trap();
            break;
        default:
            __builtin_trap();
        }
        off += (size_t)n;
    }
}

/* What a client would do with this frame coming from a server. */
static void client_parsers(const uint8_t *pdu, size_t len)
{
    kms_rpc_bind_ack_t a;
    kms_rpc_bind_nak_t nk;
    kms_rpc_response_t p;
    kms_rpc_fault_t f;
    kms_act_response_t r;

    kms_rpc_parse_bind_ack(pdu, len, &a);
    kms_rpc_parse_bind_nak(pdu, len, &nk);
    kms_rpc_parse_fault(pdu, len, &f);
    if (kms_rpc_parse_response(pdu, len, &p) == 0)
        kms_act_decode_response(p.stub, p.stub_len, &r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_rpc_conn_t *c = kms_rpc_conn_new(4096 + 64, handler, NULL);
    kms_wr_t out;
    size_t off = 0;

    if (!c)
        return 0;
    kms_wr_init(&out);
    while (off < size) {
        int n = kms_rpc_frame_len(data + off, size - off, 4096 + 64);

        if (n <= 0 || (size_t)n > size - off)
            break;
        client_parsers(data + off, (size_t)n);
        if (kms_rpc_conn_pdu(c, data + off, (size_t)n, &out) < 0)
            break;
        off += (size_t)n;
    }
    check_replies(&out);
    kms_wr_free(&out);
    kms_rpc_conn_free(c);
    return 0;
}
