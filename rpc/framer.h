/* SPDX-License-Identifier: MIT */
/*
 * framer.h - split a TCP byte stream into whole DCE/RPC PDUs.
 *
 * The transport reads into a buffer it owns (kms/daemon/server.c: one buffer shared
 * by every connection) and calls kms_framer_feed() with what arrived.  Whole
 * PDUs are handed to the callback straight from that buffer; only the bytes
 * of a PDU that is still incomplete at the end of a read are copied into the
 * framer's own small buffer, which is freed again once that PDU completes.
 * An idle framer therefore owns no memory.  Lengths come from
 * kms_rpc_frame_len(), so a header that cannot start a valid PDU (wrong
 * version, frag_length < 16 or over the cap) is reported before its body is
 * buffered.
 */
#ifndef KMS_RPC_FRAMER_H
#define KMS_RPC_FRAMER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf; /* bytes of an incomplete PDU (owned; NULL when none) */
    uint32_t len, cap;
} kms_framer_t;

/** Called once per whole PDU (@p pdu is borrowed for the call).  Return 0 to
 *  go on, or a negative KMS_E* to stop feeding (kms_framer_feed returns it). */
typedef int (*kms_frame_fn)(void *ud, const uint8_t *pdu, size_t len);

/**
 * Feed @p n bytes of the stream.  Returns 0 when every byte was consumed
 * (complete PDUs delivered, a trailing partial one kept), KMS_ENOMEM, the
 * KMS_E* of kms_rpc_frame_len() for a header that cannot be valid, or what
 * @p fn returned.  After an error the framer's content is unspecified: close
 * the connection and call kms_framer_reset().
 */
int kms_framer_feed(kms_framer_t *f, const uint8_t *data, size_t n, size_t max_pdu, kms_frame_fn fn,
                    void *ud);

/** Bytes of the incomplete PDU held (0 when idle). */
size_t kms_framer_pending(const kms_framer_t *f);

/** Release the buffer; the framer is then idle and reusable. */
void kms_framer_reset(kms_framer_t *f);

#endif
