/* SPDX-License-Identifier: MIT */
/*
 * pdu.c - DCE/RPC connection-oriented PDU codec; see pdu.h.
 */
#include "rpc/pdu.h"

#include <string.h>

#include "base/err.h"

const kms_rpc_syntax_t kms_rpc_kms_iface = {{{0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47, 0xb0,
                                              0xd8, 0xec, 0x25, 0x55, 0x55, 0xbc, 0x06}},
                                            1,
                                            0};
const kms_rpc_syntax_t kms_rpc_ndr32 = {{{0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f,
                                          0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}},
                                        2,
                                        0};
const kms_rpc_syntax_t kms_rpc_ndr64 = {{{0x33, 0x05, 0x71, 0x71, 0xba, 0xbe, 0x37, 0x49, 0x83,
                                          0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36}},
                                        1,
                                        0};

/* MS-RPCE 3.3.1.5.3: 6cb71c2c-9812-4540 in wire order. */
static const uint8_t btfn_prefix[8] = {0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45};

int kms_rpc_is_btfn(const kms_rpc_syntax_t *s, uint8_t *bits)
{
    if (memcmp(s->uuid.b, btfn_prefix, sizeof btfn_prefix) != 0 || s->vers_major != 1 ||
        s->vers_minor != 0)
        return 0;
    if (bits)
        *bits = s->uuid.b[8];
    return 1;
}

void kms_rpc_btfn_syntax(uint8_t bits, kms_rpc_syntax_t *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->uuid.b, btfn_prefix, sizeof btfn_prefix);
    s->uuid.b[8] = bits;
    s->vers_major = 1;
}

const char *kms_rpc_ptype_name(uint8_t ptype)
{
    switch (ptype) {
    case KMS_PTYPE_REQUEST:
        return "request";
    case KMS_PTYPE_RESPONSE:
        return "response";
    case KMS_PTYPE_FAULT:
        return "fault";
    case KMS_PTYPE_BIND:
        return "bind";
    case KMS_PTYPE_BIND_ACK:
        return "bind_ack";
    case KMS_PTYPE_BIND_NAK:
        return "bind_nak";
    case KMS_PTYPE_ALTER_CONTEXT:
        return "alter_context";
    case KMS_PTYPE_ALTER_CONTEXT_RESP:
        return "alter_context_resp";
    case KMS_PTYPE_AUTH3:
        return "auth3";
    case KMS_PTYPE_SHUTDOWN:
        return "shutdown";
    case KMS_PTYPE_CO_CANCEL:
        return "co_cancel";
    case KMS_PTYPE_ORPHANED:
        return "orphaned";
    default:
        return "ptype?";
    }
}

/* ---- parsing ------------------------------------------------------------ */

static int hdr_le(const kms_rpc_hdr_t *h)
{
    /* C706 14.2.5: drep[0] high nibble is the integer representation, 1 = little-endian. */
    return (h->drep[0] & 0x10) != 0;
}

static int read_hdr(kms_rd_t *rd, kms_rpc_hdr_t *h)
{
    kms_rd_u8(rd, &h->rpc_vers);
    kms_rd_u8(rd, &h->rpc_vers_minor);
    kms_rd_u8(rd, &h->ptype);
    kms_rd_u8(rd, &h->pfc_flags);
    kms_rd_bytes(rd, h->drep, 4);
    if (rd->err)
        return rd->err;
    kms_rd_u16(rd, hdr_le(h), &h->frag_length);
    kms_rd_u16(rd, hdr_le(h), &h->auth_length);
    kms_rd_u32(rd, hdr_le(h), &h->call_id);
    return rd->err;
}

int kms_rpc_parse_hdr(const uint8_t *pdu, size_t len, kms_rpc_hdr_t *h)
{
    kms_rd_t rd;
    int r;

    memset(h, 0, sizeof *h);
    kms_rd_init(&rd, pdu, len);
    if ((r = read_hdr(&rd, h)) != 0)
        return r;
    if (h->rpc_vers != 5 || h->frag_length < 16)
        return KMS_EMALFORMED;
    if (h->frag_length > len)
        return KMS_ETRUNC;
    /* sec_trailer (8 octets) + auth value must fit after the header. */
    if (h->auth_length && (size_t)h->auth_length + 8 > (size_t)h->frag_length - 16)
        return KMS_EMALFORMED;
    return 0;
}

/*
 * Open a reader over the body of the PDU: from the start of the PDU (so that
 * kms_rd_align() counts from octet 0 as C706 alignment does) to the start of
 * the sec_trailer, header already consumed.  @p pad gets the auth padding
 * length (stub octets that precede the sec_trailer and are not stub data).
 */
static int open_body(const uint8_t *pdu, size_t len, kms_rpc_hdr_t *h, uint8_t ptype_a,
                     uint8_t ptype_b, kms_rd_t *rd, size_t *pad)
{
    int r = kms_rpc_parse_hdr(pdu, len, h);
    size_t end;

    if (r)
        return r;
    if (h->ptype != ptype_a && h->ptype != ptype_b)
        return KMS_EMALFORMED;
    end = h->frag_length;
    *pad = 0;
    if (h->auth_length) {
        kms_rd_t st;
        uint8_t auth_pad;

        end -= (size_t)h->auth_length + 8;
        /* sec_trailer: auth_type, auth_level, auth_pad_length, reserved, context_id. */
        kms_rd_init(&st, pdu, h->frag_length);
        kms_rd_skip(&st, end + 2);
        kms_rd_u8(&st, &auth_pad);
        if (st.err)
            return st.err;
        *pad = auth_pad;
    }
    kms_rd_init(rd, pdu, end);
    kms_rd_skip(rd, 16);
    return rd->err;
}

static void read_syntax(kms_rd_t *rd, int le, kms_rpc_syntax_t *s)
{
    uint32_t v;

    kms_rd_guid(rd, le, &s->uuid);
    kms_rd_u32(rd, le, &v);
    /* C706: if_version is major in the low 16 bits, minor in the high 16. */
    s->vers_major = (uint16_t)(v & 0xffff);
    s->vers_minor = (uint16_t)(v >> 16);
}

int kms_rpc_parse_bind(const uint8_t *pdu, size_t len, kms_rpc_bind_t *b)
{
    kms_rd_t rd;
    size_t pad;
    uint8_t n, u8;
    int le, r;

    memset(b, 0, sizeof *b);
    r = open_body(pdu, len, &b->hdr, KMS_PTYPE_BIND, KMS_PTYPE_ALTER_CONTEXT, &rd, &pad);
    if (r)
        return r;
    le = hdr_le(&b->hdr);
    kms_rd_u16(&rd, le, &b->max_xmit_frag);
    kms_rd_u16(&rd, le, &b->max_recv_frag);
    kms_rd_u32(&rd, le, &b->assoc_group_id);
    /* p_cont_list_t: n_context_elem u8, reserved u8, reserved2 u16. */
    kms_rd_u8(&rd, &n);
    kms_rd_skip(&rd, 3);
    if (rd.err)
        return rd.err;
    if (n > KMS_RPC_MAX_CTX)
        return KMS_ETOOBIG;
    for (uint8_t i = 0; i < n; i++) {
        kms_rpc_ctx_elem_t *e = &b->ctx[i];

        kms_rd_u16(&rd, le, &e->cont_id);
        kms_rd_u8(&rd, &e->n_tsyn);
        kms_rd_u8(&rd, &u8);
        read_syntax(&rd, le, &e->abstract);
        if (rd.err)
            return rd.err;
        if (e->n_tsyn > KMS_RPC_MAX_TSYN)
            return KMS_ETOOBIG;
        if (e->n_tsyn == 0)
            return KMS_EMALFORMED;
        for (uint8_t j = 0; j < e->n_tsyn; j++)
            read_syntax(&rd, le, &e->tsyn[j]);
        if (rd.err)
            return rd.err;
    }
    b->n_ctx = n;
    return rd.err;
}

int kms_rpc_parse_bind_ack(const uint8_t *pdu, size_t len, kms_rpc_bind_ack_t *a)
{
    kms_rd_t rd;
    size_t pad;
    uint16_t slen;
    const uint8_t *s;
    uint8_t n;
    int le, r;

    memset(a, 0, sizeof *a);
    r = open_body(pdu, len, &a->hdr, KMS_PTYPE_BIND_ACK, KMS_PTYPE_ALTER_CONTEXT_RESP, &rd, &pad);
    if (r)
        return r;
    le = hdr_le(&a->hdr);
    kms_rd_u16(&rd, le, &a->max_xmit_frag);
    kms_rd_u16(&rd, le, &a->max_recv_frag);
    kms_rd_u32(&rd, le, &a->assoc_group_id);
    /* port_any_t: length u16 (including the NUL), then the string. */
    kms_rd_u16(&rd, le, &slen);
    if (kms_rd_view(&rd, &s, slen))
        return rd.err;
    if (slen >= sizeof a->sec_addr)
        return KMS_ETOOBIG;
    for (uint16_t i = 0; i < slen && s[i]; i++)
        a->sec_addr[i] = (char)s[i];
    /* C706 12.6.4.4: pad to a 4-octet boundary before the result list. */
    kms_rd_align(&rd, 4);
    kms_rd_u8(&rd, &n);
    kms_rd_skip(&rd, 3);
    if (rd.err)
        return rd.err;
    if (n > KMS_RPC_MAX_CTX)
        return KMS_ETOOBIG;
    for (uint8_t i = 0; i < n; i++) {
        kms_rd_u16(&rd, le, &a->results[i].result);
        kms_rd_u16(&rd, le, &a->results[i].reason);
        read_syntax(&rd, le, &a->results[i].tsyn);
    }
    if (rd.err)
        return rd.err;
    a->n_results = n;
    return 0;
}

int kms_rpc_parse_bind_nak(const uint8_t *pdu, size_t len, kms_rpc_bind_nak_t *nk)
{
    kms_rd_t rd;
    size_t pad;
    int le, r;

    memset(nk, 0, sizeof *nk);
    r = open_body(pdu, len, &nk->hdr, KMS_PTYPE_BIND_NAK, KMS_PTYPE_BIND_NAK, &rd, &pad);
    if (r)
        return r;
    le = hdr_le(&nk->hdr);
    if (kms_rd_u16(&rd, le, &nk->reason))
        return rd.err;
    /* p_rt_versions_supported_t: optional in practice (some servers stop here). */
    if (kms_rd_left(&rd) == 0)
        return 0;
    if (kms_rd_u8(&rd, &nk->n_versions))
        return rd.err;
    for (unsigned i = 0; i < nk->n_versions; i++) {
        uint8_t v[2];

        if (kms_rd_bytes(&rd, v, 2))
            return rd.err;
        if (i < 8)
            memcpy(nk->versions[i], v, 2);
    }
    return 0;
}

/* Stub bytes: from the reader's position to its end, less the auth padding. */
static int take_stub(kms_rd_t *rd, size_t pad, const uint8_t **stub, size_t *len)
{
    size_t left = kms_rd_left(rd);

    if (rd->err)
        return rd->err;
    if (pad > left)
        return KMS_EMALFORMED;
    *len = left - pad;
    return kms_rd_view(rd, stub, *len);
}

int kms_rpc_parse_request(const uint8_t *pdu, size_t len, kms_rpc_request_t *q)
{
    kms_rd_t rd;
    size_t pad;
    int le, r;

    memset(q, 0, sizeof *q);
    r = open_body(pdu, len, &q->hdr, KMS_PTYPE_REQUEST, KMS_PTYPE_REQUEST, &rd, &pad);
    if (r)
        return r;
    le = hdr_le(&q->hdr);
    kms_rd_u32(&rd, le, &q->alloc_hint);
    kms_rd_u16(&rd, le, &q->cont_id);
    kms_rd_u16(&rd, le, &q->opnum);
    if (q->hdr.pfc_flags & KMS_PFC_OBJECT_UUID) {
        q->has_object = 1;
        kms_rd_guid(&rd, le, &q->object);
    }
    return take_stub(&rd, pad, &q->stub, &q->stub_len);
}

int kms_rpc_parse_response(const uint8_t *pdu, size_t len, kms_rpc_response_t *p)
{
    kms_rd_t rd;
    size_t pad;
    int le, r;

    memset(p, 0, sizeof *p);
    r = open_body(pdu, len, &p->hdr, KMS_PTYPE_RESPONSE, KMS_PTYPE_RESPONSE, &rd, &pad);
    if (r)
        return r;
    le = hdr_le(&p->hdr);
    kms_rd_u32(&rd, le, &p->alloc_hint);
    kms_rd_u16(&rd, le, &p->cont_id);
    kms_rd_u8(&rd, &p->cancel_count);
    kms_rd_skip(&rd, 1);
    return take_stub(&rd, pad, &p->stub, &p->stub_len);
}

int kms_rpc_parse_fault(const uint8_t *pdu, size_t len, kms_rpc_fault_t *f)
{
    kms_rd_t rd;
    size_t pad;
    int le, r;

    memset(f, 0, sizeof *f);
    r = open_body(pdu, len, &f->hdr, KMS_PTYPE_FAULT, KMS_PTYPE_FAULT, &rd, &pad);
    if (r)
        return r;
    le = hdr_le(&f->hdr);
    kms_rd_u32(&rd, le, &f->alloc_hint);
    kms_rd_u16(&rd, le, &f->cont_id);
    kms_rd_u8(&rd, &f->cancel_count);
    kms_rd_skip(&rd, 1);
    kms_rd_u32(&rd, le, &f->status);
    /* The 4 reserved octets after status are not required (C706 leaves them optional). */
    return rd.err;
}

/* ---- building ----------------------------------------------------------- */

/* Common header with frag_length 0; returns the PDU's start offset. */
static size_t write_hdr(kms_wr_t *wr, uint8_t ptype, uint8_t flags, uint32_t call_id)
{
    size_t start = wr->len;

    kms_wr_u8(wr, 5);
    kms_wr_u8(wr, 0);
    kms_wr_u8(wr, ptype);
    kms_wr_u8(wr, flags);
    kms_wr_u32le(wr, 0x00000010); /* drep: little-endian, ASCII, IEEE */
    kms_wr_u16le(wr, 0);          /* frag_length, patched by finish() */
    kms_wr_u16le(wr, 0);          /* auth_length */
    kms_wr_u32le(wr, call_id);
    return start;
}

static int finish(kms_wr_t *wr, size_t start)
{
    size_t n;

    if (wr->err)
        return wr->err;
    n = wr->len - start;
    if (n > 0xffff) {
        wr->len = start;
        return KMS_ETOOBIG;
    }
    return kms_wr_patch_u16le(wr, start + 8, (uint16_t)n);
}

static void write_syntax(kms_wr_t *wr, const kms_rpc_syntax_t *s)
{
    kms_wr_guid(wr, &s->uuid);
    kms_wr_u16le(wr, s->vers_major);
    kms_wr_u16le(wr, s->vers_minor);
}

int kms_rpc_build_bind(kms_wr_t *wr, uint8_t ptype, uint32_t call_id, uint16_t max_xmit,
                       uint16_t max_recv, uint32_t assoc_group, const kms_rpc_ctx_elem_t *ctx,
                       size_t n)
{
    size_t start;

    if (n > 255 || (ptype != KMS_PTYPE_BIND && ptype != KMS_PTYPE_ALTER_CONTEXT))
        return KMS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (ctx[i].n_tsyn == 0 || ctx[i].n_tsyn > KMS_RPC_MAX_TSYN)
            return KMS_EINVAL;
    start = write_hdr(wr, ptype, KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG, call_id);
    kms_wr_u16le(wr, max_xmit);
    kms_wr_u16le(wr, max_recv);
    kms_wr_u32le(wr, assoc_group);
    kms_wr_u8(wr, (uint8_t)n);
    kms_wr_zeros(wr, 3);
    for (size_t i = 0; i < n; i++) {
        kms_wr_u16le(wr, ctx[i].cont_id);
        kms_wr_u8(wr, ctx[i].n_tsyn);
        kms_wr_u8(wr, 0);
        write_syntax(wr, &ctx[i].abstract);
        for (uint8_t j = 0; j < ctx[i].n_tsyn; j++)
            write_syntax(wr, &ctx[i].tsyn[j]);
    }
    return finish(wr, start);
}

int kms_rpc_build_bind_ack(kms_wr_t *wr, uint8_t ptype, uint8_t extra_flags, uint32_t call_id,
                           uint16_t max_xmit, uint16_t max_recv, uint32_t assoc_group,
                           const char *sec_addr, const kms_rpc_result_t *res, size_t n)
{
    size_t start, slen = sec_addr && *sec_addr ? strlen(sec_addr) + 1 : 0;

    if (n > 255 || slen >= KMS_RPC_SECADDR_MAX ||
        (ptype != KMS_PTYPE_BIND_ACK && ptype != KMS_PTYPE_ALTER_CONTEXT_RESP))
        return KMS_EINVAL;
    start = write_hdr(wr, ptype, KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG | extra_flags, call_id);
    kms_wr_u16le(wr, max_xmit);
    kms_wr_u16le(wr, max_recv);
    kms_wr_u32le(wr, assoc_group);
    kms_wr_u16le(wr, (uint16_t)slen);
    kms_wr_bytes(wr, sec_addr, slen);
    /* Alignment counts from the PDU's first octet (C706 12.6.4.4). */
    kms_wr_zeros(wr, (4 - ((wr->len - start) & 3)) & 3);
    kms_wr_u8(wr, (uint8_t)n);
    kms_wr_zeros(wr, 3);
    for (size_t i = 0; i < n; i++) {
        kms_wr_u16le(wr, res[i].result);
        kms_wr_u16le(wr, res[i].reason);
        write_syntax(wr, &res[i].tsyn);
    }
    return finish(wr, start);
}

int kms_rpc_build_bind_nak(kms_wr_t *wr, uint32_t call_id, uint16_t reason)
{
    size_t start =
        write_hdr(wr, KMS_PTYPE_BIND_NAK, KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG, call_id);

    kms_wr_u16le(wr, reason);
    kms_wr_u8(wr, 1); /* n_protocols */
    kms_wr_u8(wr, 5); /* rpc_vers 5 */
    kms_wr_u8(wr, 0); /* rpc_vers_minor 0 */
    kms_wr_zeros(wr, (4 - ((wr->len - start) & 3)) & 3);
    return finish(wr, start);
}

int kms_rpc_build_request(kms_wr_t *wr, uint8_t flags, uint32_t call_id, uint32_t alloc_hint,
                          uint16_t cont_id, uint16_t opnum, const kms_guid_t *object,
                          const uint8_t *stub, size_t len)
{
    size_t start;

    if (object)
        flags |= KMS_PFC_OBJECT_UUID;
    else
        flags &= (uint8_t)~KMS_PFC_OBJECT_UUID;
    start = write_hdr(wr, KMS_PTYPE_REQUEST, flags, call_id);
    kms_wr_u32le(wr, alloc_hint);
    kms_wr_u16le(wr, cont_id);
    kms_wr_u16le(wr, opnum);
    if (object)
        kms_wr_guid(wr, object);
    kms_wr_bytes(wr, stub, len);
    return finish(wr, start);
}

int kms_rpc_build_response(kms_wr_t *wr, uint8_t flags, uint32_t call_id, uint32_t alloc_hint,
                           uint16_t cont_id, const uint8_t *stub, size_t len)
{
    size_t start = write_hdr(wr, KMS_PTYPE_RESPONSE, flags, call_id);

    kms_wr_u32le(wr, alloc_hint);
    kms_wr_u16le(wr, cont_id);
    kms_wr_u8(wr, 0); /* cancel_count */
    kms_wr_u8(wr, 0);
    kms_wr_bytes(wr, stub, len);
    return finish(wr, start);
}

int kms_rpc_build_fault(kms_wr_t *wr, uint8_t extra_flags, uint32_t call_id, uint16_t cont_id,
                        uint32_t status)
{
    size_t start =
        write_hdr(wr, KMS_PTYPE_FAULT,
                  (uint8_t)(KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG | extra_flags), call_id);

    kms_wr_u32le(wr, 0); /* alloc_hint */
    kms_wr_u16le(wr, cont_id);
    kms_wr_u8(wr, 0); /* cancel_count */
    kms_wr_u8(wr, 0);
    kms_wr_u32le(wr, status);
    kms_wr_u32le(wr, 0); /* reserved (MS-RPCE 2.2.2.8: 32-octet fault) */
    return finish(wr, start);
}
