/* SPDX-License-Identifier: MIT */
/*
 * rcode.h - DNS answers explained in one line.
 *
 * Turns an rcode, a TSIG error and our own verdict on an answer into the one
 * clear line a user sees, naming the server as named does ("127.0.0.1#5300"),
 * the rcode, the TSIG error and what it most likely means, e.g.
 *
 *   update refused by 127.0.0.1#5300: NOTAUTH (TSIG BADSIG): key
 *   "kms-publisher" does not match the server's
 *
 * NOTAUTH alone is ambiguous in BIND (wrong zone, not the primary, or a TSIG
 * failure), so the TSIG error is read first.
 */
#ifndef KMS_DNS_RCODE_H
#define KMS_DNS_RCODE_H

#include <stddef.h>

#include "dns/message.h"

/** Map an rcode (0..15) to KMS_E* (0 for NOERROR). */
int kms_dns_rcode_err(int rcode);

/** "NOERROR", "FORMERR", ... "NOTZONE", or "RCODE<n>"; never NULL (static or @p buf-free). */
const char *kms_dns_rcode_name(int rcode);

/** "BADSIG", "BADKEY", "BADTIME", "BADTRUNC", or "ERROR<n>" style text; never NULL. */
const char *kms_tsig_error_name(int tsig_error);

/** What was asked and of whom, for kms_dns_explain(). */
typedef struct {
    const char *what;     /**< "update" or "query" */
    const char *server;   /**< "127.0.0.1#5300" */
    const char *key_name; /**< key shown to the user ("kms-publisher"), NULL if unsigned */
    const char *zone;     /**< zone of an update ("kms.test."), may be NULL */
    int gss;              /**< signed with GSS-TSIG: key_name is our Kerberos principal */
} kms_dns_explain_ctx_t;

/**
 * One line (no newline) explaining @p r (status 0 too: "update accepted by ...").
 * @return @p buf
 */
char *kms_dns_explain(const kms_dns_reply_t *r, const kms_dns_explain_ctx_t *ctx, char *buf,
                      size_t len);

/**
 * One line for a failure that has no answer (timeout, refused connection,
 * malformed answer): "no answer from 127.0.0.1#5300 to the update: timed out".
 */
char *kms_dns_explain_err(int err, const kms_dns_explain_ctx_t *ctx, char *buf, size_t len);

#endif
