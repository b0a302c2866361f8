/* SPDX-License-Identifier: MIT */
/*
 * tls.h - DNS over TLS (RFC 7858) on a libuv loop: a client configuration
 * and reused, pipelined, certificate-checked connections to one server.
 *
 * The only module that includes OpenSSL's TLS headers.  OpenSSL never
 * touches a socket here: the connection's TCP stream is libuv's, its bytes
 * go through two memory BIOs (what the server sent is written into one, what
 * TLS wants to send is read out of the other and handed to uv_write()), so
 * no call blocks and there is no thread.  Inside TLS the framing is TCP's
 * (a 2-byte length before every message, dns/stream.h): answers are
 * reassembled across TLS records and partial reads.
 *
 * Configuration (kms_tls_ctx_t): TLS 1.2 at least; the server's certificate
 * must chain to the CA file given (default: the system store) and match the
 * name the caller expects, a DNS name (RFC 6125, SAN dNSName, no partial
 * wildcard; the name is also sent as SNI) or an IP literal (SAN iPAddress,
 * no SNI); an optional client certificate and key.
 *
 * Connection (kms_tls_conn_t): one per (server, name), opened on the first
 * exchange and shared by every exchange sent while it is up (RFC 7766
 * section 6.2.1.1 pipelining: many messages in flight, answers matched by
 * message ID, in any order, so two exchanges waiting on one connection may
 * not share an ID).  It stays up while exchanges use it and @c idle_ms
 * after the last, then ends with a close_notify; the next exchange opens a
 * new one.  An idle connection keeps no loop alive (its handles are
 * unreferenced while no exchange waits): uv_run() returns when the
 * exchanges are done, and the owner closes the connection.  A server that
 * closes it (named restarted; a close_notify gets ours in return) ends every
 * exchange waiting there with KMS_ECLOSED (retriable, like TCP); so does a
 * session that stays silent while an exchange times out on it (the next
 * attempt gets a new connection instead of a dead one).  A server that asked
 * for a client certificate (none configured) and drops the connection during
 * the handshake, or in TLS 1.3 before saying anything after it, refused us:
 * KMS_ETLS, with a line that says so.
 *
 * Failures: a certificate that is not accepted is KMS_ETLSVERIFY (our alert
 * tells the server why), another failed handshake or broken session (the
 * server speaks no TLS, an alert) KMS_ETLS; both come with one line naming
 * the server, the name checked and the reason (kms_tls_conn_error()), e.g.
 *
 *   TLS: certificate of 127.0.0.1#8853 does not match the name ns.kms.test (hostname mismatch)
 *   TLS: certificate of 127.0.0.1#8853 for ns.kms.test: unable to get local issuer certificate
 *   (unknown CA; give --tls-ca)       <- the caller's ca_hint: kms-publish's words here
 *   TLS: certificate of 127.0.0.1#8853 for ns.kms.test: certificate has expired
 *
 * Lifecycle (base/loop.h): kms_tls_conn_new() opens its idle timer at once,
 * so kms_tls_conn_close() is due; it cancels what waits and calls back once
 * every handle is closed.  An exchange (kms_tls_send) follows the one-shot
 * rule: its callback runs exactly once, from the loop, after its timer is
 * closed, never from inside kms_tls_send() or kms_tls_send_cancel().  The
 * context must outlive its connections.
 *
 * Signals: the session's bytes go out through libuv's write() on a socket,
 * which raises SIGPIPE when the server has reset the connection; the
 * program must ignore SIGPIPE (kms-publish and kmsd do), and the write then
 * fails with EPIPE, reported as a closed connection.
 *
 * Implementation: dns/tls.c the configuration and the certificate-failure
 * lines, dns/dot.c the connection, its sessions and exchanges; dns/tls_int.h
 * between them.
 */
#ifndef KMS_DNS_TLS_H
#define KMS_DNS_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "dns/transport.h"

#define KMS_TLS_PORT    853  /* RFC 7858 section 3.1 */
#define KMS_TLS_IDLE_MS 5000 /* a connection outlives its last exchange this long */
#define KMS_TLS_ERRLEN  512  /* room for a failure line */
#define KMS_TLS_NAMELEN 256

/** What a client trusts and shows; strings are read by kms_tls_ctx_new() only. */
typedef struct {
    const char *ca_file;   /**< PEM certificates to trust; NULL: the system store */
    const char *cert_file; /**< client certificate chain (PEM); NULL: none */
    const char *key_file;  /**< its private key (PEM); NULL: in cert_file */
    const char *ca_hint;   /**< appended to an unknown-CA failure ("give --tls-ca"); NULL: none */
} kms_tls_config_t;

typedef struct kms_tls_ctx kms_tls_ctx_t;   /* opaque */
typedef struct kms_tls_conn kms_tls_conn_t; /* opaque */
typedef struct kms_tls_send kms_tls_send_t; /* opaque */

/**
 * A client configuration (reads the files now: at configuration time, not on the loop).
 * @param err  one line on failure ("cannot load the CA file x.pem: no such file")
 * @return 0, KMS_ECONFIG (a file cannot be read or does not match), KMS_ENOMEM
 */
int kms_tls_ctx_new(const kms_tls_config_t *cfg, kms_tls_ctx_t **out, char *err, size_t errlen);

/** Free a configuration none of whose connections is still open; NULL is a no-op. */
void kms_tls_ctx_free(kms_tls_ctx_t *ctx);

/** Handshakes completed by every connection of @p ctx so far. */
unsigned kms_tls_ctx_handshakes(const kms_tls_ctx_t *ctx);

/**
 * A connection to @p server whose certificate must match @p name (a DNS
 * name, a final dot allowed, or an IP literal; NULL: the server's address).
 * Nothing is sent before the first kms_tls_send().
 * @param idle_ms how long the session outlives its last exchange (0: KMS_TLS_IDLE_MS)
 * @return 0, KMS_EINVAL, KMS_ENOMEM
 */
int kms_tls_conn_new(uv_loop_t *loop, kms_tls_ctx_t *ctx, const struct sockaddr *server,
                     const char *name, uint64_t idle_ms, kms_tls_conn_t **out);

/** The connection has closed every handle; its memory is gone after this returns. */
typedef void (*kms_tls_closed_cb)(kms_tls_conn_t *c, void *ud);

/** End every exchange waiting (KMS_ECANCELED), close the session
 *  (close_notify) and the timer; @p cb (may be NULL) runs from the loop
 *  once all is closed and after the last exchange's callback, then the
 *  memory goes.  NULL is a no-op. */
void kms_tls_conn_close(kms_tls_conn_t *c, kms_tls_closed_cb cb, void *ud);

/** The line of the connection's last failure that has one (KMS_ETLS,
 *  KMS_ETLSVERIFY, a handshake that timed out or that the server closed),
 *  "" if none or once a handshake has succeeded since; @p status (may be
 *  NULL) gets the status the exchanges ended with.  The string belongs to
 *  @p c and changes with its next failure or handshake: read or copy it
 *  before calling kms_tls_send() on @p c or returning to the loop.  It is
 *  gone once kms_tls_conn_close()'s callback returns. */
const char *kms_tls_conn_error(const kms_tls_conn_t *c, int *status);

/** Handshakes completed by this connection (a new session after each close). */
unsigned kms_tls_conn_handshakes(const kms_tls_conn_t *c);

/** The name checked in the server's certificate (no final dot). */
const char *kms_tls_conn_name(const kms_tls_conn_t *c);

/**
 * Send @p msg (copied; its first two bytes are the ID) on @p c and wait for
 * the answer with that ID, at most @p timeout_ms (connect and handshake
 * included).  The callback gets info->tls = 1 and, on success, the answer.
 * @param status (callback) 0, KMS_ETIMEOUT, KMS_ECONNREFUSED, KMS_ECLOSED,
 *        KMS_ECANCELED, KMS_ETLS, KMS_ETLSVERIFY, KMS_EDNS_BADANSWER (a
 *        message under 12 bytes: the session is dropped), other KMS_E*
 * @return 0 (the callback will run), KMS_EEXIST (an exchange with this ID
 *         waits on @p c: render the message with another ID), KMS_EINVAL,
 *         KMS_ENOMEM, KMS_E* of the socket (the callback never runs)
 */
int kms_tls_send(kms_tls_conn_t *c, const uint8_t *msg, size_t len, uint64_t timeout_ms,
                 kms_dns_send_cb cb, void *ud, kms_tls_send_t **out);

/** Cancel a pending exchange: its callback runs soon with KMS_ECANCELED
 *  (an exchange already ended keeps its outcome).  @p s is valid until its
 *  callback returns: never cancel it after that (its memory is gone; drop
 *  the handle in the callback).  NULL is a no-op. */
void kms_tls_send_cancel(kms_tls_send_t *s);

#endif
