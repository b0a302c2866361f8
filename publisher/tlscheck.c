/* SPDX-License-Identifier: MIT */
/*
 * tlscheck.c - the DNS-over-TLS settings checked where they are given
 * (kms-publish's options, kmsd's configuration), before any run: a file
 * that cannot be read or a name that cannot match is one line at start,
 * not a failure on the first update.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "dns/name.h"
#include "dns/tls.h"
#include "publisher/tlscheck.h"

static int readable(const char *path, struct stat *st, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");

    if (!f || fstat(fileno(f), st) < 0) {
        snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return KMS_ECONFIG;
    }
    fclose(f);
    if (!S_ISREG(st->st_mode)) {
        snprintf(why, whylen, "%s is not a file", path);
        return KMS_ECONFIG;
    }
    return 0;
}

/* 0 when @p cfg loads (the context is freed at once), else its status. */
static int loads(const kms_tls_config_t *cfg, char *why, size_t whylen)
{
    kms_tls_ctx_t *ctx = NULL;
    int rc = kms_tls_ctx_new(cfg, &ctx, why, whylen);

    kms_tls_ctx_free(ctx);
    return rc;
}

/* Trial-load the files as a run will (dns/tls.h): a file that can be read
 * but holds no certificate, or a key that does not match its certificate,
 * is a configuration error now.  @p why is the loader's line, which names
 * the file; @p bad the setting at fault, found by loading less: the CA
 * file alone, then the certificate file as certificates, else the key. */
static int trial_load(const pub_tls_options_t *t, pub_tls_setting_t *bad, char *why, size_t whylen)
{
    const kms_tls_config_t all = {t->ca_file, t->cert_file, t->key_file, NULL};
    const kms_tls_config_t ca = {t->ca_file, NULL, NULL, NULL};
    const kms_tls_config_t certs = {t->cert_file, NULL, NULL, NULL};
    char spare[KMS_TLS_ERRLEN];
    int rc = loads(&all, why, whylen);

    *bad = PUB_TLS_CA_FILE;
    if (rc == 0 || rc == KMS_ENOMEM)
        return rc;
    if (loads(&ca, spare, sizeof spare) < 0)
        *bad = PUB_TLS_CA_FILE;
    else if (!t->key_file || loads(&certs, spare, sizeof spare) < 0)
        *bad = PUB_TLS_CERT_FILE;
    else
        *bad = PUB_TLS_KEY_FILE; /* unreadable as a key, or not the certificate's */
    return KMS_ECONFIG;
}

int pub_tls_check(const pub_tls_options_t *t, pub_tls_setting_t *bad, unsigned *key_mode, char *why,
                  size_t whylen)
{
    const char *files[] = {t->ca_file, t->cert_file, t->key_file};
    const pub_tls_setting_t which[] = {PUB_TLS_CA_FILE, PUB_TLS_CERT_FILE, PUB_TLS_KEY_FILE};
    struct stat st;
    unsigned char ip[16];

    *key_mode = 0;
    why[0] = '\0';
    if (!t->enabled) {
        *bad = t->ca_file     ? PUB_TLS_CA_FILE
               : t->name      ? PUB_TLS_NAME
               : t->cert_file ? PUB_TLS_CERT_FILE
                              : PUB_TLS_KEY_FILE;
        if (t->ca_file || t->name || t->cert_file || t->key_file) {
            snprintf(why, whylen, "goes with DNS-over-TLS, which is not on");
            return KMS_ECONFIG;
        }
        return 0;
    }
    if (t->key_file && !t->cert_file) {
        *bad = PUB_TLS_KEY_FILE;
        snprintf(why, whylen, "a client key needs its certificate");
        return KMS_ECONFIG;
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (!files[i])
            continue;
        *bad = which[i];
        if (readable(files[i], &st, why, whylen) < 0)
            return KMS_ECONFIG;
        /* the client's private key: in key_file, else in cert_file */
        if (which[i] == PUB_TLS_KEY_FILE || (which[i] == PUB_TLS_CERT_FILE && !t->key_file))
            *key_mode = (unsigned)(st.st_mode & 07777);
    }
    if (t->name && inet_pton(AF_INET, t->name, ip) != 1 && inet_pton(AF_INET6, t->name, ip) != 1 &&
        kms_dname_why(t->name, KMS_DNAME_HOST)) {
        *bad = PUB_TLS_NAME;
        snprintf(why, whylen, "'%.255s' is neither a host name nor an IP address: %s", t->name,
                 kms_dname_why(t->name, KMS_DNAME_HOST));
        return KMS_ECONFIG;
    }
    return trial_load(t, bad, why, whylen);
}
