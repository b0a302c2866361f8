/* SPDX-License-Identifier: MIT */
/*
 * conn.h - one DCE/RPC connection-oriented association, server side,
 * independent of any transport.
 *
 * The transport (kms/daemon/server.c) frames the byte stream into PDUs with
 * kms_rpc_frame_len() and hands each whole PDU to kms_rpc_conn_pdu(), which
 * appends the reply PDUs (bind_ack, bind_nak, alter_context_resp, response,
 * fault) to an output buffer.  The association remembers the presentation
 * contexts it accepted (C706 12.6.3.1), reassembles fragmented requests
 * (bounded by the PDU cap and a total-stub cap), and calls the handler once
 * per complete request with the stub data.
 *
 * Interface: KMS 51c82175-844e-4750-b0d8-ec255555bc06 v1.0.  Transfer
 * syntaxes: NDR32 accepted; NDR64 answered "provider rejection: proposed
 * transfer syntaxes not supported"; bind-time feature negotiation
 * (6cb71c2c-9812-4540-...) answered with negotiate_ack; another interface
 * gets "provider rejection: abstract syntax not supported".
 *
 * Memory: an idle association is a few dozen bytes; the reassembly buffer
 * exists only while a fragmented request is in flight.
 */
#ifndef KMS_RPC_CONN_H
#define KMS_RPC_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "base/wire.h"

#define KMS_RPC_HEADER_LEN 16
#define KMS_RPC_MAX_FRAG   5840   /* what we offer as max_xmit/max_recv_frag (Windows' value) */
#define KMS_RPC_MAX_PDU    65535  /* default and largest cap on one PDU (frag_length is 16 bits) */
#define KMS_RPC_MAX_STUB   262144 /* cap on a reassembled request stub */

/**
 * Request handler: called for each complete request on an accepted context.
 * Append the response stub to @p out_stub and return 0, or return a negative
 * KMS_E* to make the association answer with a fault PDU (nca_s_fault_*).
 */
typedef int (*kms_rpc_handler_fn)(void *ud, uint16_t opnum, const uint8_t *stub, size_t len,
                                  kms_wr_t *out_stub);

typedef struct kms_rpc_conn kms_rpc_conn_t;

/** New association; @p max_pdu caps frag_length (0: KMS_RPC_MAX_PDU). NULL on ENOMEM.
 *  The caller frees it with kms_rpc_conn_free(). */
kms_rpc_conn_t *kms_rpc_conn_new(size_t max_pdu, kms_rpc_handler_fn fn, void *ud);

/** Free an association; NULL is a no-op. */
void kms_rpc_conn_free(kms_rpc_conn_t *c);

/**
 * Length of the PDU starting at @p buf: > 0 when the common header is there
 * (the PDU is complete once @p have reaches it), 0 when fewer than 16 bytes
 * are at hand, or a negative KMS_E* when the header cannot start a valid PDU
 * (wrong rpc_vers, frag_length < 16 or > @p max_pdu): close the connection.
 */
int kms_rpc_frame_len(const uint8_t *buf, size_t have, size_t max_pdu);

/**
 * Process one complete PDU of @p len bytes (as framed above).  Reply PDUs are
 * appended to @p out (possibly none, e.g. for a non-last fragment).  Returns
 * 0, or a negative KMS_E* when the connection must be closed (malformed PDU,
 * protocol violation, reassembly over the cap); in that case nothing useful
 * was appended.
 */
int kms_rpc_conn_pdu(kms_rpc_conn_t *c, const uint8_t *pdu, size_t len, kms_wr_t *out);

/** Port announced in the bind_ack's sec_addr (C706 12.6.4.4 port_spec as a
 *  decimal string, as Windows sends it): kms/daemon/server.c sets the port of the
 *  listener that accepted the connection; default 1688. */
void kms_rpc_conn_set_port(kms_rpc_conn_t *c, uint16_t port);

/** 1 while a fragmented request is open (its first fragment in, its last
 *  not yet), else 0. */
int kms_rpc_conn_in_call(const kms_rpc_conn_t *c);

/** Counters for logs and status. */
typedef struct {
    uint64_t binds, requests, faults, rejected_binds;
} kms_rpc_stats_t;
void kms_rpc_conn_stats(const kms_rpc_conn_t *c, kms_rpc_stats_t *st);

#endif
