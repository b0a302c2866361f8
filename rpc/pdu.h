/* SPDX-License-Identifier: MIT */
/*
 * pdu.h - DCE/RPC connection-oriented PDU codec (Open Group C706 ch. 12,
 * MS-RPCE 2.2.2).
 *
 * Parsing: every parse function takes one whole PDU (as framed by
 * kms_rpc_frame_len(), see conn.h), reads it through kms_rd_t only, and
 * fills a caller-owned struct.  Nothing is allocated: counts that size arrays
 * (n_context_elem, n_transfer_syn, n_results) are capped by KMS_RPC_MAX_CTX
 * and KMS_RPC_MAX_TSYN and larger counts are KMS_ETOOBIG.  Stub data is a
 * view into the caller's buffer (borrowed, valid as long as that buffer).
 * Both little- and big-endian data representations (drep[0] bit 4) are
 * understood; the character and float formats are ignored (we carry no
 * characters or floats in headers).  An auth_verifier (auth_length > 0) is
 * skipped: the stub ends before the sec_trailer and its auth padding.
 *
 * Building: every build function appends one whole PDU to a kms_wr_t, always
 * in little-endian drep (0x10 0x00 0x00 0x00), with frag_length filled in.
 */
#ifndef KMS_RPC_PDU_H
#define KMS_RPC_PDU_H

#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"
#include "base/wire.h"

/* C706 12.6.4: PDU types. */
enum {
    KMS_PTYPE_REQUEST = 0,
    KMS_PTYPE_RESPONSE = 2,
    KMS_PTYPE_FAULT = 3,
    KMS_PTYPE_BIND = 11,
    KMS_PTYPE_BIND_ACK = 12,
    KMS_PTYPE_BIND_NAK = 13,
    KMS_PTYPE_ALTER_CONTEXT = 14,
    KMS_PTYPE_ALTER_CONTEXT_RESP = 15,
    KMS_PTYPE_AUTH3 = 16,
    KMS_PTYPE_SHUTDOWN = 17,
    KMS_PTYPE_CO_CANCEL = 18,
    KMS_PTYPE_ORPHANED = 19,
};

/* C706 12.6.3.1 pfc_flags. */
#define KMS_PFC_FIRST_FRAG      0x01
#define KMS_PFC_LAST_FRAG       0x02
#define KMS_PFC_PENDING_CANCEL  0x04 /* MS-RPCE: PFC_SUPPORT_HEADER_SIGN in bind */
#define KMS_PFC_CONC_MPX        0x10
#define KMS_PFC_DID_NOT_EXECUTE 0x20
#define KMS_PFC_MAYBE           0x40
#define KMS_PFC_OBJECT_UUID     0x80

/* p_cont_def_result_t (C706 12.6.3.1, MS-RPCE 2.2.2.4). */
#define KMS_RPC_ACCEPTANCE         0
#define KMS_RPC_USER_REJECTION     1
#define KMS_RPC_PROVIDER_REJECTION 2
#define KMS_RPC_NEGOTIATE_ACK      3
/* p_provider_reason_t. */
#define KMS_RPC_REASON_NOT_SPECIFIED        0
#define KMS_RPC_REASON_ABSTRACT_SYNTAX      1 /* abstract_syntax_not_supported */
#define KMS_RPC_REASON_TRANSFER_SYNTAXES    2 /* proposed_transfer_syntaxes_not_supported */
#define KMS_RPC_REASON_LOCAL_LIMIT_EXCEEDED 3
/* bind_nak reject reasons (C706 12.6.3.1 p_reject_reason_t). */
#define KMS_RPC_NAK_NOT_SPECIFIED    0
#define KMS_RPC_NAK_LOCAL_LIMIT      2
#define KMS_RPC_NAK_PROTOCOL_VERSION 4

/* Fault status codes (C706 appendix E, MS-RPCE 2.2.2.8 / 3.3.3.5.1). */
#define KMS_NCA_S_OP_RNG_ERROR           0x1c010002u
#define KMS_NCA_S_UNK_IF                 0x1c010003u
#define KMS_NCA_S_PROTO_ERROR            0x1c01000bu
#define KMS_NCA_S_FAULT_CONTEXT_MISMATCH 0x1c00001au
#define KMS_NCA_S_FAULT_REMOTE_NO_MEMORY 0x1c000018u
#define KMS_NCA_S_FAULT_NDR              0x000006f7u /* RPC_X_BAD_STUB_DATA */

#define KMS_RPC_MAX_CTX     16 /* cap on n_context_elem / n_results we parse */
#define KMS_RPC_MAX_TSYN    8  /* cap on n_transfer_syn per context */
#define KMS_RPC_SECADDR_MAX 64

/** C706 p_syntax_id_t: a UUID and a version (major in the low 16 bits). */
typedef struct {
    kms_guid_t uuid;
    uint16_t vers_major, vers_minor;
} kms_rpc_syntax_t;

/** The 16-octet common header. */
typedef struct {
    uint8_t rpc_vers, rpc_vers_minor, ptype, pfc_flags;
    uint8_t drep[4];
    uint16_t frag_length, auth_length;
    uint32_t call_id;
} kms_rpc_hdr_t;

typedef struct {
    uint16_t cont_id;
    uint8_t n_tsyn;
    kms_rpc_syntax_t abstract;
    kms_rpc_syntax_t tsyn[KMS_RPC_MAX_TSYN];
} kms_rpc_ctx_elem_t;

/** bind and alter_context. */
typedef struct {
    kms_rpc_hdr_t hdr;
    uint16_t max_xmit_frag, max_recv_frag;
    uint32_t assoc_group_id;
    uint8_t n_ctx;
    kms_rpc_ctx_elem_t ctx[KMS_RPC_MAX_CTX];
} kms_rpc_bind_t;

/** One p_result_t. */
typedef struct {
    uint16_t result, reason;
    kms_rpc_syntax_t tsyn;
} kms_rpc_result_t;

/** bind_ack and alter_context_resp. */
typedef struct {
    kms_rpc_hdr_t hdr;
    uint16_t max_xmit_frag, max_recv_frag;
    uint32_t assoc_group_id;
    char
        sec_addr[KMS_RPC_SECADDR_MAX]; /* port_spec, NUL-terminated (longer ones are KMS_ETOOBIG) */
    uint8_t n_results;
    kms_rpc_result_t results[KMS_RPC_MAX_CTX];
} kms_rpc_bind_ack_t;

typedef struct {
    kms_rpc_hdr_t hdr;
    uint16_t reason;
    uint8_t n_versions;     /* as sent; at most 8 are stored */
    uint8_t versions[8][2]; /* major, minor */
} kms_rpc_bind_nak_t;

typedef struct {
    kms_rpc_hdr_t hdr;
    uint32_t alloc_hint;
    uint16_t cont_id, opnum;
    int has_object;
    kms_guid_t object;
    const uint8_t *stub; /* borrowed from the PDU buffer */
    size_t stub_len;
} kms_rpc_request_t;

typedef struct {
    kms_rpc_hdr_t hdr;
    uint32_t alloc_hint;
    uint16_t cont_id;
    uint8_t cancel_count;
    const uint8_t *stub; /* borrowed from the PDU buffer */
    size_t stub_len;
} kms_rpc_response_t;

typedef struct {
    kms_rpc_hdr_t hdr;
    uint32_t alloc_hint;
    uint16_t cont_id;
    uint8_t cancel_count;
    uint32_t status;
} kms_rpc_fault_t;

/* Well-known syntaxes. */
extern const kms_rpc_syntax_t kms_rpc_kms_iface; /* 51c82175-844e-4750-b0d8-ec255555bc06 v1.0 */
extern const kms_rpc_syntax_t kms_rpc_ndr32;     /* 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 */
extern const kms_rpc_syntax_t kms_rpc_ndr64;     /* 71710533-beba-4937-8319-b5dbef9ccc36 v1.0 */

/** True when @p s is a bind time feature negotiation syntax (MS-RPCE 3.3.1.5.3:
 *  UUID prefix 6cb71c2c-9812-4540, version 1.0); @p bits gets the bitmask's
 *  first octet (the last 8 UUID octets are the BindTimeFeatureNegotiationBitmask). */
int kms_rpc_is_btfn(const kms_rpc_syntax_t *s, uint8_t *bits);
/** Fill @p s with the bind time feature negotiation syntax carrying @p bits. */
void kms_rpc_btfn_syntax(uint8_t bits, kms_rpc_syntax_t *s);

/** Parse the common header of @p pdu (@p len bytes, at least frag_length).
 *  0; KMS_ETRUNC; KMS_EMALFORMED when rpc_vers != 5 or frag_length is out of
 *  [16, len] or auth_length does not fit. */
int kms_rpc_parse_hdr(const uint8_t *pdu, size_t len, kms_rpc_hdr_t *h);

/** Parse a bind or alter_context PDU (server side). */
int kms_rpc_parse_bind(const uint8_t *pdu, size_t len, kms_rpc_bind_t *b);
/** Parse a bind_ack or alter_context_resp PDU (client side). */
int kms_rpc_parse_bind_ack(const uint8_t *pdu, size_t len, kms_rpc_bind_ack_t *a);
/** Parse a bind_nak PDU (client side); the version list is optional on the wire. */
int kms_rpc_parse_bind_nak(const uint8_t *pdu, size_t len, kms_rpc_bind_nak_t *n);
/** Parse a request PDU (server side). */
int kms_rpc_parse_request(const uint8_t *pdu, size_t len, kms_rpc_request_t *r);
/** Parse a response PDU (client side). */
int kms_rpc_parse_response(const uint8_t *pdu, size_t len, kms_rpc_response_t *r);
/** Parse a fault PDU (client side). */
int kms_rpc_parse_fault(const uint8_t *pdu, size_t len, kms_rpc_fault_t *f);

/** Append a bind (@p ptype KMS_PTYPE_BIND) or alter_context PDU proposing
 *  @p n contexts. KMS_EINVAL for n > 255 or a context with n_tsyn 0. */
int kms_rpc_build_bind(kms_wr_t *wr, uint8_t ptype, uint32_t call_id, uint16_t max_xmit,
                       uint16_t max_recv, uint32_t assoc_group, const kms_rpc_ctx_elem_t *ctx,
                       size_t n);
/** Append a bind_ack (@p ptype KMS_PTYPE_BIND_ACK) or alter_context_resp with
 *  the port string @p sec_addr ("" or NULL: length 0) and @p n results;
 *  pfc_flags first+last fragment plus @p extra_flags (KMS_PFC_CONC_MPX). */
int kms_rpc_build_bind_ack(kms_wr_t *wr, uint8_t ptype, uint8_t extra_flags, uint32_t call_id,
                           uint16_t max_xmit, uint16_t max_recv, uint32_t assoc_group,
                           const char *sec_addr, const kms_rpc_result_t *res, size_t n);
/** Append a bind_nak with @p reason and the one supported version 5.0. */
int kms_rpc_build_bind_nak(kms_wr_t *wr, uint32_t call_id, uint16_t reason);
/** Append a request PDU (@p object may be NULL; non-NULL sets PFC_OBJECT_UUID). */
int kms_rpc_build_request(kms_wr_t *wr, uint8_t flags, uint32_t call_id, uint32_t alloc_hint,
                          uint16_t cont_id, uint16_t opnum, const kms_guid_t *object,
                          const uint8_t *stub, size_t len);
/** Append a response PDU. */
int kms_rpc_build_response(kms_wr_t *wr, uint8_t flags, uint32_t call_id, uint32_t alloc_hint,
                           uint16_t cont_id, const uint8_t *stub, size_t len);
/** Append a fault PDU (first+last fragment, plus @p extra_flags, e.g. DID_NOT_EXECUTE). */
int kms_rpc_build_fault(kms_wr_t *wr, uint8_t extra_flags, uint32_t call_id, uint16_t cont_id,
                        uint32_t status);

/** Name of a PDU type for logs ("bind", "request", ...; "ptype?" if unknown). */
const char *kms_rpc_ptype_name(uint8_t ptype);

#endif
