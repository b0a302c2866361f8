/* SPDX-License-Identifier: MIT */
/*
 * tls.c - the DNS-over-TLS client configuration (an SSL_CTX: the CA file or
 * the system store, a client certificate, the hint for an unknown CA) and
 * the one line that says why a handshake failed (see tls.h).  The
 * connections and their exchanges are in dot.c.
 */
#include "dns/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "dns/tls_int.h"

/* ---- configuration --------------------------------------------------------- */

/* The reason of OpenSSL's last error ("no such file"), the queue cleared. */
const char *kms_tls__ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    snprintf(buf, len, "%s", r ? r : "unknown error");
    ERR_clear_error();
    return buf;
}

/* The server asks for a client certificate and none is configured: go on
 * without (it may not insist), but remember it for the line if it closes
 * (the SSL's app data is the session's flag, tls_int.h). */
static int no_client_cert(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    int *cert_asked = SSL_get_app_data(ssl);
    (void)x509;
    (void)pkey;
    if (cert_asked)
        *cert_asked = 1;
    return 0;
}

int kms_tls_ctx_new(const kms_tls_config_t *cfg, kms_tls_ctx_t **out, char *err, size_t errlen)
{
    kms_tls_ctx_t *c = NULL;
    char why[200];
    int rc = KMS_ECONFIG;

    *out = NULL;
    if (!cfg)
        return KMS_EINVAL;
    ERR_clear_error();
    if (!(c = calloc(1, sizeof *c)) || !(c->ssl = SSL_CTX_new(TLS_client_method()))) {
        kms_seterr(err, errlen, "TLS: out of memory");
        rc = KMS_ENOMEM;
        goto fail;
    }
    snprintf(c->ca_hint, sizeof c->ca_hint, "%s", cfg->ca_hint ? cfg->ca_hint : "");
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    if (cfg->ca_file ? SSL_CTX_load_verify_locations(c->ssl, cfg->ca_file, NULL) != 1
                     : SSL_CTX_set_default_verify_paths(c->ssl) != 1) {
        kms_seterr(err, errlen, "TLS: cannot load the CA %s%s: %s", cfg->ca_file ? "file " : "",
                   cfg->ca_file ? cfg->ca_file : "certificates of the system store",
                   kms_tls__ssl_reason(why, sizeof why));
        goto fail;
    }
    if (cfg->cert_file) {
        const char *key = cfg->key_file ? cfg->key_file : cfg->cert_file;
        if (SSL_CTX_use_certificate_chain_file(c->ssl, cfg->cert_file) != 1) {
            kms_seterr(err, errlen, "TLS: cannot load the client certificate %s: %s",
                       cfg->cert_file, kms_tls__ssl_reason(why, sizeof why));
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1) {
            kms_seterr(err, errlen, "TLS: cannot load the client key %s: %s", key,
                       kms_tls__ssl_reason(why, sizeof why));
            goto fail;
        }
        if (SSL_CTX_check_private_key(c->ssl) != 1) {
            kms_seterr(err, errlen, "TLS: the key %s does not match the certificate %s", key,
                       cfg->cert_file);
            ERR_clear_error();
            goto fail;
        }
    } else if (cfg->key_file) {
        kms_seterr(err, errlen, "TLS: a client key (%s) without its certificate", cfg->key_file);
        rc = KMS_EINVAL;
        goto fail;
    } else {
        SSL_CTX_set_client_cert_cb(c->ssl, no_client_cert);
    }
    *out = c;
    return 0;
fail:
    kms_tls_ctx_free(c);
    return rc;
}

void kms_tls_ctx_free(kms_tls_ctx_t *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ssl);
    free(c);
}

unsigned kms_tls_ctx_handshakes(const kms_tls_ctx_t *c)
{
    return c ? c->handshakes : 0;
}

/* ---- certificate verification ---------------------------------------------- */

int kms_tls__handshake_line(const kms_tls_ctx_t *ctx, SSL *ssl, const char *server,
                            const char *name, int name_is_ip, char *line, size_t len)
{
    long vr = SSL_get_verify_result(ssl);
    char why[200];

    if (vr == X509_V_OK) {
        snprintf(line, len, "TLS: handshake with %s failed: %s (is it a DNS-over-TLS port?)",
                 server, kms_tls__ssl_reason(why, sizeof why));
        return KMS_ETLS;
    }
    ERR_clear_error();
    const char *reason = X509_verify_cert_error_string(vr);
    switch (vr) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(line, len, "TLS: certificate of %s does not match the %s %s (%s mismatch)", server,
                 name_is_ip ? "address" : "name", name, name_is_ip ? "IP address" : "hostname");
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        snprintf(line, len, "TLS: certificate of %s for %s: %s (unknown CA%s%s)", server, name,
                 reason, ctx->ca_hint[0] ? "; " : "", ctx->ca_hint);
        break;
    default:
        snprintf(line, len, "TLS: certificate of %s for %s: %s", server, name, reason);
        break;
    }
    return KMS_ETLSVERIFY;
}
