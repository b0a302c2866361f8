/* SPDX-License-Identifier: MIT */
/*
 * conn.c - one server-side DCE/RPC association; see conn.h.
 *
 * State machine (MS-RPCE 3.3.3): a fresh association accepts only bind.  A
 * request, alter_context or any client-bound PDU before a successful bind is
 * a protocol error and closes the connection (MS-RPCE: errors in a state
 * without an error transition are handled by closing the connection).  After
 * the bind, requests on an accepted context are dispatched; other context ids
 * get a fault nca_s_unk_if, other opnums nca_s_op_rng_error.
 */
#include "rpc/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rpc/pdu.h"

#define MAX_ACCEPTED 8 /* accepted presentation contexts per association */
#define MUST_RECV_FRAG                                                                             \
    1432 /* C706 12.6.3.1: every implementation receives 1432-octet fragments                      \
          */
#define RESP_HDR_LEN 24

/* Bind time feature bits we answer with (MS-RPCE 2.2.2.14): none.  Both
 * defined bits promise behaviour we do not implement: several security
 * contexts per connection (we do no authentication at all) and keeping the
 * connection after an orphaned PDU (we process calls synchronously and do
 * not track orphans), so the honest answer is the empty set. */
#define BTFN_SUPPORTED 0x00

typedef struct {
    uint32_t call_id;
    uint16_t cont_id, opnum;
    kms_wr_t stub;
} reasm_t;

struct kms_rpc_conn {
    kms_rpc_handler_fn fn;
    void *ud;
    reasm_t *reasm; /* only while a fragmented request is in flight */
    uint32_t max_pdu;
    uint32_t assoc_group;
    uint16_t xmit_frag; /* our fragments toward the client */
    uint16_t port;
    uint8_t bound;
    uint8_t n_accepted;
    uint16_t accepted[MAX_ACCEPTED];
    kms_rpc_stats_t st;
};

static uint32_t next_assoc_group = 0x00001000;

kms_rpc_conn_t *kms_rpc_conn_new(size_t max_pdu, kms_rpc_handler_fn fn, void *ud)
{
    kms_rpc_conn_t *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    if (max_pdu == 0 || max_pdu > KMS_RPC_MAX_PDU)
        max_pdu = KMS_RPC_MAX_PDU;
    c->max_pdu = (uint32_t)max_pdu;
    c->fn = fn;
    c->ud = ud;
    c->port = 1688;
    c->xmit_frag = KMS_RPC_MAX_FRAG;
    return c;
}

static void reasm_drop(kms_rpc_conn_t *c)
{
    if (c->reasm) {
        kms_wr_free(&c->reasm->stub);
        free(c->reasm);
        c->reasm = NULL;
    }
}

void kms_rpc_conn_free(kms_rpc_conn_t *c)
{
    if (!c)
        return;
    reasm_drop(c);
    free(c);
}

void kms_rpc_conn_set_port(kms_rpc_conn_t *c, uint16_t port)
{
    c->port = port;
}

int kms_rpc_conn_in_call(const kms_rpc_conn_t *c)
{
    return c->reasm != NULL;
}

void kms_rpc_conn_stats(const kms_rpc_conn_t *c, kms_rpc_stats_t *st)
{
    *st = c->st;
}

int kms_rpc_frame_len(const uint8_t *buf, size_t have, size_t max_pdu)
{
    kms_rd_t rd;
    uint8_t vers, minor, ptype, flags, drep[4];
    uint16_t flen;

    if (max_pdu == 0)
        max_pdu = KMS_RPC_MAX_PDU;
    if (have < KMS_RPC_HEADER_LEN)
        return 0;
    kms_rd_init(&rd, buf, have);
    kms_rd_u8(&rd, &vers);
    kms_rd_u8(&rd, &minor);
    kms_rd_u8(&rd, &ptype);
    kms_rd_u8(&rd, &flags);
    kms_rd_bytes(&rd, drep, 4);
    kms_rd_u16(&rd, (drep[0] & 0x10) != 0, &flen);
    if (rd.err)
        return rd.err;
    if (vers != 5)
        return KMS_EPROTO;
    if (flen < KMS_RPC_HEADER_LEN)
        return KMS_EMALFORMED;
    if (flen > max_pdu)
        return KMS_ETOOBIG;
    return flen;
}

static int is_accepted(const kms_rpc_conn_t *c, uint16_t id)
{
    for (unsigned i = 0; i < c->n_accepted; i++)
        if (c->accepted[i] == id)
            return 1;
    return 0;
}

static int syntax_eq(const kms_rpc_syntax_t *a, const kms_rpc_syntax_t *b)
{
    return kms_guid_eq(&a->uuid, &b->uuid) && a->vers_major == b->vers_major &&
           a->vers_minor == b->vers_minor;
}

/* Decide one presentation context (C706 12.6.3.1; MS-RPCE 3.3.1.5.3). */
static void decide(kms_rpc_conn_t *c, const kms_rpc_ctx_elem_t *e, int *btfn_seen,
                   kms_rpc_result_t *res)
{
    memset(res, 0, sizeof *res);
    if (e->n_tsyn == 1 && kms_rpc_is_btfn(&e->tsyn[0], NULL) && !*btfn_seen) {
        /* negotiate_ack: reason carries our feature bits, transfer syntax zero. */
        *btfn_seen = 1;
        res->result = KMS_RPC_NEGOTIATE_ACK;
        res->reason = BTFN_SUPPORTED;
        return;
    }
    res->result = KMS_RPC_PROVIDER_REJECTION;
    if (!syntax_eq(&e->abstract, &kms_rpc_kms_iface)) {
        res->reason = KMS_RPC_REASON_ABSTRACT_SYNTAX;
        return;
    }
    for (unsigned j = 0; j < e->n_tsyn; j++) {
        if (!syntax_eq(&e->tsyn[j], &kms_rpc_ndr32))
            continue;
        if (!is_accepted(c, e->cont_id)) {
            if (c->n_accepted >= MAX_ACCEPTED) {
                res->reason = KMS_RPC_REASON_LOCAL_LIMIT_EXCEEDED;
                return;
            }
            c->accepted[c->n_accepted++] = e->cont_id;
        }
        res->result = KMS_RPC_ACCEPTANCE;
        res->reason = 0;
        res->tsyn = kms_rpc_ndr32;
        return;
    }
    /* NDR64 (or anything else) only: we speak NDR32 alone. */
    res->reason = KMS_RPC_REASON_TRANSFER_SYNTAXES;
}

static uint16_t clamp_frag(uint16_t v)
{
    if (v < MUST_RECV_FRAG)
        return MUST_RECV_FRAG;
    return v > KMS_RPC_MAX_FRAG ? KMS_RPC_MAX_FRAG : v;
}

static int on_bind(kms_rpc_conn_t *c, const kms_rpc_hdr_t *h, const uint8_t *pdu, size_t len,
                   kms_wr_t *out)
{
    kms_rpc_bind_t *b;
    kms_rpc_result_t res[KMS_RPC_MAX_CTX];
    int btfn_seen = 0, r, alter = h->ptype == KMS_PTYPE_ALTER_CONTEXT;
    char port[8];
    uint16_t recv_frag;

    if (alter && !c->bound)
        return KMS_EPROTO;
    if (!alter) {
        c->st.binds++;
        if (c->bound || h->rpc_vers_minor > 1) {
            /* C706: one bind per association; an unknown minor version gets
             * protocol_version_not_supported, as does a client on rpc_vers 4. */
            c->st.rejected_binds++;
            return kms_rpc_build_bind_nak(out, h->call_id,
                                          c->bound ? KMS_RPC_NAK_NOT_SPECIFIED
                                                   : KMS_RPC_NAK_PROTOCOL_VERSION);
        }
    }
    b = malloc(sizeof *b);
    if (!b)
        return KMS_ENOMEM;
    if ((r = kms_rpc_parse_bind(pdu, len, b)) != 0)
        goto done;
    if (!(b->hdr.pfc_flags & KMS_PFC_LAST_FRAG) || !(b->hdr.pfc_flags & KMS_PFC_FIRST_FRAG)) {
        r = KMS_EUNSUPPORTED; /* fragmented binds are not used by any KMS client */
        goto done;
    }
    for (unsigned i = 0; i < b->n_ctx; i++)
        decide(c, &b->ctx[i], &btfn_seen, &res[i]);
    if (!alter) {
        /* The client's max_recv_frag bounds what we send; its max_xmit_frag what it sends. */
        c->xmit_frag = clamp_frag(b->max_recv_frag);
        c->assoc_group = b->assoc_group_id ? b->assoc_group_id : next_assoc_group++;
        if (next_assoc_group == 0)
            next_assoc_group = 0x00001000;
        c->bound = 1;
    }
    recv_frag = clamp_frag(b->max_xmit_frag);
    if (!c->n_accepted)
        c->st.rejected_binds++;
    snprintf(port, sizeof port, "%u", (unsigned)c->port);
    /* alter_context_resp carries an empty sec_addr (as Windows sends it). */
    /* PFC_CONC_MPX is echoed, as Windows does: calls on this connection
     * may use any accepted context, answered in order (vlmcs warns
     * without it).  Header signing (0x04) is not: we take no auth. */
    r = kms_rpc_build_bind_ack(out, alter ? KMS_PTYPE_ALTER_CONTEXT_RESP : KMS_PTYPE_BIND_ACK,
                               b->hdr.pfc_flags & KMS_PFC_CONC_MPX, h->call_id, c->xmit_frag,
                               recv_frag, c->assoc_group, alter ? "" : port, res, b->n_ctx);
done:
    free(b);
    return r;
}

/* Append the response stub, fragmented to the negotiated size (C706 12.6.3.2:
 * every fragment but the last carries a multiple of 8 stub octets). */
static int send_response(kms_rpc_conn_t *c, uint32_t call_id, uint16_t cont_id, const uint8_t *stub,
                         size_t len, kms_wr_t *out)
{
    size_t chunk = ((size_t)c->xmit_frag - RESP_HDR_LEN) & ~(size_t)7, off = 0;
    int r;

    do {
        size_t n = len - off > chunk ? chunk : len - off;
        uint8_t flags = 0;

        if (off == 0)
            flags |= KMS_PFC_FIRST_FRAG;
        if (off + n == len)
            flags |= KMS_PFC_LAST_FRAG;
        r = kms_rpc_build_response(out, flags, call_id, (uint32_t)(len - off), cont_id, stub + off,
                                   n);
        if (r)
            return r;
        off += n;
    } while (off < len);
    return 0;
}

static uint32_t fault_for(int err)
{
    switch (err) {
    case KMS_ENOMEM:
        return KMS_NCA_S_FAULT_REMOTE_NO_MEMORY;
    default:
        /* Bad or unsupported stub contents: RPC_X_BAD_STUB_DATA, what a
         * Windows server answers to stub data it cannot unmarshal. */
        return KMS_NCA_S_FAULT_NDR;
    }
}

static int dispatch(kms_rpc_conn_t *c, uint32_t call_id, uint16_t cont_id, uint16_t opnum,
                    const uint8_t *stub, size_t len, kms_wr_t *out)
{
    kms_wr_t resp;
    int r;

    c->st.requests++;
    if (!is_accepted(c, cont_id)) {
        c->st.faults++;
        return kms_rpc_build_fault(out, KMS_PFC_DID_NOT_EXECUTE, call_id, cont_id,
                                   KMS_NCA_S_UNK_IF);
    }
    if (opnum != 0) {
        c->st.faults++;
        return kms_rpc_build_fault(out, KMS_PFC_DID_NOT_EXECUTE, call_id, cont_id,
                                   KMS_NCA_S_OP_RNG_ERROR);
    }
    kms_wr_init(&resp);
    r = c->fn ? c->fn(c->ud, opnum, stub, len, &resp) : KMS_EUNSUPPORTED;
    if (r == 0 && resp.err)
        r = resp.err;
    if (r == 0 && resp.len > KMS_RPC_MAX_STUB)
        r = KMS_ETOOBIG;
    if (r < 0) {
        c->st.faults++;
        r = kms_rpc_build_fault(out, 0, call_id, cont_id, fault_for(r));
    } else {
        r = send_response(c, call_id, cont_id, resp.buf, resp.len, out);
    }
    kms_wr_free(&resp);
    return r;
}

static int on_request(kms_rpc_conn_t *c, const uint8_t *pdu, size_t len, kms_wr_t *out)
{
    kms_rpc_request_t q;
    int r = kms_rpc_parse_request(pdu, len, &q);
    uint8_t f;

    if (r)
        return r;
    if (!c->bound)
        return KMS_EPROTO;
    f = q.hdr.pfc_flags & (KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG);
    if (f == (KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG)) {
        if (c->reasm)
            return KMS_EPROTO; /* a new call while a fragmented one is open */
        return dispatch(c, q.hdr.call_id, q.cont_id, q.opnum, q.stub, q.stub_len, out);
    }
    if (f & KMS_PFC_FIRST_FRAG) {
        if (c->reasm)
            return KMS_EPROTO;
        if (q.stub_len > KMS_RPC_MAX_STUB)
            return KMS_ETOOBIG;
        c->reasm = calloc(1, sizeof *c->reasm);
        if (!c->reasm)
            return KMS_ENOMEM;
        c->reasm->call_id = q.hdr.call_id;
        c->reasm->cont_id = q.cont_id;
        c->reasm->opnum = q.opnum;
        kms_wr_init(&c->reasm->stub);
        kms_wr_bytes(&c->reasm->stub, q.stub, q.stub_len);
        return c->reasm->stub.err;
    }
    /* Middle or last fragment: must continue the open call. */
    if (!c->reasm || c->reasm->call_id != q.hdr.call_id)
        return KMS_EPROTO;
    if (q.stub_len > KMS_RPC_MAX_STUB - c->reasm->stub.len)
        return KMS_ETOOBIG;
    if (kms_wr_bytes(&c->reasm->stub, q.stub, q.stub_len))
        return c->reasm->stub.err;
    if (!(f & KMS_PFC_LAST_FRAG))
        return 0;
    r = dispatch(c, c->reasm->call_id, c->reasm->cont_id, c->reasm->opnum, c->reasm->stub.buf,
                 c->reasm->stub.len, out);
    reasm_drop(c);
    return r;
}

int kms_rpc_conn_pdu(kms_rpc_conn_t *c, const uint8_t *pdu, size_t len, kms_wr_t *out)
{
    kms_rpc_hdr_t h;
    size_t mark = out->len;
    int r;

    if (len > c->max_pdu)
        return KMS_ETOOBIG;
    if (len >= 4) {
        kms_rd_t rd;
        uint8_t vers, minor, ptype;

        /* A bind from another protocol version is answered, not dropped. */
        kms_rd_init(&rd, pdu, len);
        kms_rd_u8(&rd, &vers);
        kms_rd_u8(&rd, &minor);
        kms_rd_u8(&rd, &ptype);
        if (vers != 5 && ptype == KMS_PTYPE_BIND && !c->bound) {
            uint32_t call_id = 0;

            kms_rd_skip(&rd, 9);
            kms_rd_u32le(&rd, &call_id);
            c->st.binds++;
            c->st.rejected_binds++;
            return kms_rpc_build_bind_nak(out, call_id, KMS_RPC_NAK_PROTOCOL_VERSION);
        }
    }
    if ((r = kms_rpc_parse_hdr(pdu, len, &h)) != 0)
        return r;
    if (h.frag_length != len)
        return KMS_EMALFORMED;
    switch (h.ptype) {
    case KMS_PTYPE_BIND:
    case KMS_PTYPE_ALTER_CONTEXT:
        r = on_bind(c, &h, pdu, len, out);
        break;
    case KMS_PTYPE_REQUEST:
        r = on_request(c, pdu, len, out);
        break;
    case KMS_PTYPE_AUTH3:
    case KMS_PTYPE_SHUTDOWN:
        r = 0; /* nothing to answer */
        break;
    case KMS_PTYPE_CO_CANCEL:
    case KMS_PTYPE_ORPHANED:
        /* C706 12.6.4.1/MS-RPCE: the client abandons the call; drop its fragments. */
        if (c->reasm && c->reasm->call_id == h.call_id)
            reasm_drop(c);
        r = 0;
        break;
    default:
        r = KMS_EPROTO; /* a server-to-client PDU or an unknown type */
        break;
    }
    if (r < 0)
        out->len = mark < out->len ? mark : out->len;
    return r;
}
