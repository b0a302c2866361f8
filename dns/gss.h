/* SPDX-License-Identifier: MIT */
/*
 * gss.h - Kerberos through MIT GSS-API, for GSS-TSIG (RFC 3645): the one
 * wrapper around libgssapi_krb5.
 *
 * Credentials come either from the caller's ticket cache (KRB5CCNAME, what
 * `kinit` filled: kms-publish --gss) or from a keytab (kmsd, kms-publish
 * --keytab): then they are fetched from the KDC into a private in-memory
 * cache, never the user's, and fetched again by kms_gss_creds_refresh()
 * when they near their end, so a long-running kmsd needs no kinit ever.
 * Contexts are SPNEGO, as Windows DNS and BIND's nsupdate use, with mutual
 * authentication, replay detection and integrity, and no sequence flag
 * (Windows DNS refuses it).
 *
 * Calls marked BLOCKS may talk to the KDC: never on an event loop thread.
 * The others are local computations.  An error is a KMS_EKRB_* code and a
 * one-line reason that says what to do; no key or ticket material ever
 * reaches a message.  Everything is released (and GSS-API wipes its keys)
 * by the _free() calls, on every path.
 */
#ifndef KMS_DNS_GSS_H
#define KMS_DNS_GSS_H

#include <stddef.h>
#include <stdint.h>

#include "dns/tsig.h"

typedef struct kms_gss_creds kms_gss_creds_t;
typedef struct kms_gss_ctx kms_gss_ctx_t;

/** Where credentials come from. */
typedef struct {
    const char *keytab;    /**< NULL: the ticket cache; "": the default keytab (KRB5_KTNAME) */
    const char *principal; /**< ours; NULL: the cache's (ticket cache) or host/<fqdn> given by
                                the caller (keytab) */
} kms_gss_cred_opts_t;

/** BLOCKS.  Credentials as @p o says, checked to be usable now.
 *  @return 0, KMS_EKRB_NOCREDS, KMS_EKRB_EXPIRED, KMS_EKRB_KEYTAB,
 *          KMS_EKRB_KDC, KMS_EKRB_SKEW, KMS_EKRB, KMS_ENOMEM */
int kms_gss_creds_acquire(const kms_gss_cred_opts_t *o, kms_gss_creds_t **out, char *err,
                          size_t errlen);

/** BLOCKS.  Fetch new credentials from the keytab when the current ones end
 *  within @p margin seconds (a ticket cache cannot be refreshed: then this
 *  is a check).  Same returns as kms_gss_creds_acquire(). */
int kms_gss_creds_refresh(kms_gss_creds_t *c, int64_t margin, char *err, size_t errlen);

/** Unix time the credentials end (0: unknown). */
int64_t kms_gss_creds_expiry(const kms_gss_creds_t *c);

/** Our principal, "host/kms1.kms.test@KMS.TEST". */
const char *kms_gss_creds_principal(const kms_gss_creds_t *c);

/** The keytab in use ("FILE:/etc/krb5.keytab"), or NULL for a ticket cache. */
const char *kms_gss_creds_keytab(const kms_gss_creds_t *c);

void kms_gss_creds_free(kms_gss_creds_t *c);

/** Local check, no KDC: @p keytab ("" the default one) can be read and holds
 *  a key for @p principal.  0 or KMS_EKRB_KEYTAB with a line in @p err. */
int kms_gss_keytab_check(const char *keytab, const char *principal, char *err, size_t errlen);

/** The default realm of krb5.conf into @p out ("" when none). */
void kms_gss_default_realm(char *out, size_t outlen);

/**
 * BLOCKS.  Start a context with @p server_principal ("DNS/ns1.kms.test",
 * realm added when missing); the first token to send goes to @p token
 * (malloc'd, free with kms_gss_token_free()).
 * @return 0, KMS_EKRB_SPN, KMS_EKRB_KDC, KMS_EKRB_SKEW, KMS_EKRB_EXPIRED,
 *         KMS_EKRB, KMS_ENOMEM
 */
int kms_gss_ctx_start(kms_gss_creds_t *c, const char *server_principal, kms_gss_ctx_t **out,
                      uint8_t **token, size_t *toklen, char *err, size_t errlen);

/**
 * Take the server's token.
 * @return 1 (established; no token to send), 0 (one more round: @p token
 *         set), KMS_EKRB (the server's token is refused), KMS_ENOMEM
 */
int kms_gss_ctx_step(kms_gss_ctx_t *x, const uint8_t *in, size_t inlen, uint8_t **token,
                     size_t *toklen, char *err, size_t errlen);

/** Unix time an established context ends. */
int64_t kms_gss_ctx_expiry(const kms_gss_ctx_t *x);

/** The server principal as the context names it. */
const char *kms_gss_ctx_server(const kms_gss_ctx_t *x);

void kms_gss_ctx_free(kms_gss_ctx_t *x);
void kms_gss_token_free(uint8_t *token, size_t len);

/**
 * A TSIG signer whose MAC is a MIC of the established context @p x (which
 * must outlive it), for key @p keyname and algorithm @p algorithm
 * ("gss-tsig." or "gss.microsoft.com.").
 */
int kms_gss_signer(kms_gss_ctx_t *x, const char *keyname, const char *algorithm,
                   kms_tsig_signer_t *out);

#endif
