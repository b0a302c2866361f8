/* SPDX-License-Identifier: MIT */
/*
 * tlscheck.h - the DNS-over-TLS settings of a run (pub_tls_options_t,
 * publisher.h) checked where a user gives them: kms-publish's --tls
 * options and kmsd's [dns] tls keys get the same checks and the same
 * reasons, each caller naming the setting in its own words.
 */
#ifndef KMS_PUBLISHER_TLSCHECK_H
#define KMS_PUBLISHER_TLSCHECK_H

#include <stddef.h>

#include "publisher/publisher.h"

/** A setting of pub_tls_options_t, for messages naming it in the caller's words. */
typedef enum {
    PUB_TLS_CA_FILE,
    PUB_TLS_NAME,
    PUB_TLS_CERT_FILE,
    PUB_TLS_KEY_FILE,
} pub_tls_setting_t;

/**
 * Check DNS-over-TLS settings where they are given, before any run
 * (publisher/tlscheck.c): without @c enabled no other setting may be
 * given; a key file needs a certificate file; every file given can be
 * read now; the name is a host name or an IP address; the files load as
 * a run will load them (kms_tls_ctx_new(), dns/tls.h: certificates in the
 * CA file, a certificate and its matching key).
 * @param bad      the setting at fault (on failure)
 * @param key_mode the mode bits of the file holding the client's private
 *                 key (key_file, else cert_file), 0 without one: a caller
 *                 warns when others can read it
 * @param why      one line without the setting's name ("cannot read
 *                 /etc/kmsd/ca.pem: No such file or directory", "TLS: cannot
 *                 load the CA file /etc/hosts: no certificate or CRL found")
 * @return 0, KMS_ECONFIG, or KMS_ENOMEM
 */
int pub_tls_check(const pub_tls_options_t *t, pub_tls_setting_t *bad, unsigned *key_mode, char *why,
                  size_t whylen);

#endif
