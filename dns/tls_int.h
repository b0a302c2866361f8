/* SPDX-License-Identifier: MIT */
/*
 * tls_int.h - internal to DNS over TLS (dns/tls.h): what its two files share.
 *
 *   tls.c  the client configuration (kms_tls_ctx_t, below) and the line that
 *          says why a handshake failed;
 *   dot.c  the connection, its sessions (one TCP connection and one SSL,
 *          memory BIOs) and the pipelined exchanges.
 *
 * A session's SSL carries, as its app data, a pointer to the session's int
 * "the server asked for a client certificate": tls.c's client-certificate
 * callback (set when none is configured) sets it, dot.c reads it when the
 * server drops the connection.
 */
#ifndef KMS_DNS_TLS_INT_H
#define KMS_DNS_TLS_INT_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "dns/tls.h"

struct kms_tls_ctx {
    SSL_CTX *ssl;
    unsigned handshakes; /* counted by dot.c */
    char ca_hint[128];
};

/* The reason of OpenSSL's last error ("no such file") in @p buf, the queue
 * cleared; returns @p buf. */
const char *kms_tls__ssl_reason(char *buf, size_t len);

/* Why the handshake of @p ssl with @p server, expected to be @p name (an IP
 * literal if @p name_is_ip), failed: one line in @p line; returns
 * KMS_ETLSVERIFY (the certificate was not accepted) or KMS_ETLS. */
int kms_tls__handshake_line(const kms_tls_ctx_t *ctx, SSL *ssl, const char *server,
                            const char *name, int name_is_ip, char *line, size_t len);

#endif
