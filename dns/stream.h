/* SPDX-License-Identifier: MIT */
/*
 * stream.h - split a DNS byte stream (TCP, DNS-over-TLS) into messages.
 *
 * RFC 1035 4.2.2, RFC 7766 section 8 and RFC 7858 section 3.3: on a stream
 * every message is preceded by its length, two bytes in network order.  A
 * reader calls kms_dns_stream_feed() with whatever the connection gave it
 * (a TCP read, the plaintext of a TLS record, one byte or several messages
 * at once); every whole message is handed to the callback straight from the
 * caller's buffer, and only the bytes of a message still incomplete at the
 * end of the chunk are copied into the framer's own buffer, freed again as
 * soon as that message completes (an idle framer owns no memory).  The
 * length field is 16 bits, so nothing held ever exceeds 65535 + 2 bytes.  A
 * zero length is delivered as an empty message: whether that is an error is
 * the reader's call (a DNS message is at least 12 bytes).  Pure: no socket,
 * no loop; the unit test and fuzz_dns_stream drive it alone.
 */
#ifndef KMS_DNS_STREAM_H
#define KMS_DNS_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf; /* prefix and bytes of an incomplete message (owned; NULL when idle) */
    size_t len, cap;
} kms_dns_stream_t;

/** One whole message, without its length prefix (@p msg borrowed for the
 *  call).  Return 0 to go on, or a negative KMS_E* to stop feeding
 *  (kms_dns_stream_feed() returns it). */
typedef int (*kms_dns_stream_fn)(void *ud, const uint8_t *msg, size_t len);

/**
 * Feed @p n bytes of the stream (zero-initialized framer first).
 * @return 0 when every byte was consumed (whole messages delivered, a
 *         trailing partial one kept), KMS_ENOMEM, or what @p fn returned;
 *         after an error the framer holds an unspecified part of the stream:
 *         drop the connection and call kms_dns_stream_reset()
 */
int kms_dns_stream_feed(kms_dns_stream_t *f, const uint8_t *data, size_t n, kms_dns_stream_fn fn,
                        void *ud);

/** Bytes held of an incomplete message, its prefix included (0: idle). */
size_t kms_dns_stream_pending(const kms_dns_stream_t *f);

/** The 16-bit network-order value at @p p (0 when @p len < 2): a length
 *  prefix, or a message's ID. */
uint16_t kms_dns_u16_at(const uint8_t *p, size_t len);

/** Release what is held; the framer is idle and reusable.  NULL is a no-op. */
void kms_dns_stream_reset(kms_dns_stream_t *f);

#endif
