/* SPDX-License-Identifier: MIT */
/*
 * transport.h - send one DNS message and get its answer, on a libuv loop.
 *
 * UDP when the (already signed) message fits in 512 bytes, TCP otherwise or
 * when asked; a UDP answer with TC=1 makes the same bytes go again over TCP
 * (RFC 7766 section 5), as does a UDP answer too large for the 4 KiB receive
 * buffer (we send no EDNS, so 512 bytes is all a server may send).  UDP
 * exchanges to one server on one loop share a connected socket while any of
 * them waits (as a stub resolver keeps one per server; a message whose ID
 * is already waiting there gets a socket of its own); only the server's
 * datagrams arrive, an answer goes to the exchange with its ID, others are
 * ignored, and an ICMP error ends every exchange waiting on the socket.
 * Message IDs are the caller's: random, fresh per attempt.  One timer bounds the whole exchange
 * (restarted once when switching to TCP).  Nothing blocks: the callback runs on the loop.
 *
 * Lifecycle: kms_dns_send() starts an exchange; the callback runs exactly
 * once (success, error, timeout or cancel), after every handle of the
 * exchange is closed, and the exchange is freed right after it returns.
 * kms_dns_send_cancel() may be called any time before the callback; the
 * callback then reports KMS_ECANCELED.  Retries are the caller's business:
 * re-render (new ID, new signature) and call kms_dns_send() again.
 * DNS over TLS has its own entry point with this callback: dns/tls.h.
 */
#ifndef KMS_DNS_TRANSPORT_H
#define KMS_DNS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define KMS_DNS_UDP_MAX 512 /* RFC 1035 4.2.1: no EDNS for our messages */

enum {
    KMS_DNS_SEND_TCP = 1, /**< use TCP even if the message fits in UDP */
};

/** How an exchange went (for counters and --json). */
typedef struct {
    int tcp;         /**< the answer came over TCP */
    int tc_fallback; /**< a truncated UDP answer made us retry over TCP */
    int tls;         /**< the exchange went over DNS-over-TLS (dns/tls.h) */
    uint64_t rtt_ms; /**< from start to answer */
} kms_dns_send_info_t;

/**
 * Completion callback.
 * @param status 0 or KMS_ETIMEOUT, KMS_ECONNREFUSED, KMS_ECANCELED,
 *               KMS_EDNS_BADANSWER (TCP answer with a wrong ID or length),
 *               KMS_ENOMEM, other KMS_E* from socket errors
 * @param reply  the answer bytes (status 0 only), valid during the call
 */
typedef void (*kms_dns_send_cb)(int status, const uint8_t *reply, size_t len,
                                const kms_dns_send_info_t *info, void *ud);

typedef struct kms_dns_send kms_dns_send_t; /* opaque */

/**
 * Start an exchange.
 * @param msg        the message (copied); its first two bytes are the ID
 * @param timeout_ms bound for the exchange (UDP wait, or TCP connect+answer)
 * @param out        optional: the handle, for kms_dns_send_cancel(); it
 *                   stays valid until the callback has run
 * @return 0 (the callback will run), or KMS_EINVAL/KMS_ENOMEM/KMS_E* from
 *         socket setup (then the callback never runs)
 */
int kms_dns_send(uv_loop_t *loop, const struct sockaddr *server, const uint8_t *msg, size_t len,
                 uint64_t timeout_ms, unsigned flags, kms_dns_send_cb cb, void *ud,
                 kms_dns_send_t **out);

/** Cancel a pending exchange: its callback runs soon with KMS_ECANCELED. */
void kms_dns_send_cancel(kms_dns_send_t *s);

#endif
