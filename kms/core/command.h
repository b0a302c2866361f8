/* SPDX-License-Identifier: MIT */
/*
 * command.h - the host's control verbs (named after slmgr's), one table,
 * and what running one gives back.
 *
 * The table (command.c) names every verb, its arguments, its help line,
 * whether it answers with one JSON document under --json, and the DNS work
 * kmsd does once it succeeded.  It alone drives the dispatch, the
 * unknown-verb message, kmsctl's usage text and which verbs kmsctl asks
 * for JSON; kms_cmd_usage_error() says which errors are the caller's fault
 * (kmsctl's exit code 2) rather than the host's refusal (1).
 *
 * kms_host_command() runs one control line (docs/control.md) and fills a
 * kms_cmd_result_t: the verb it was (NULL when none could be told), its
 * status, and either the payload lines or the error message.  Nothing
 * parses the rendered text to learn what happened: kmsd's DNS glue reads
 * result->verb->dns, and appends its own lines to the same result before
 * the control socket renders it (kms_cmd_render()) as "OK <n>" and n lines,
 * or "ERR <KMS_E name> <message>".
 */
#ifndef KMS_CORE_COMMAND_H
#define KMS_CORE_COMMAND_H

#include <stddef.h>

#include "base/wire.h"
#include "publisher/domains.h"

/* A control line, without its newline: room for the longest list a
 * configuration's [dns] domains can hold (PUB_MAX_DOMAINS entries of a
 * 253-character name, priority and weight, ", " between) after "sdomains ".
 * 274448 bytes. */
#define KMS_CMD_MAX_LINE (PUB_MAX_DOMAINS * 268 + 16)
#define KMS_CMD_MSGLEN   640 /* an error message */

/** What kmsd does in DNS after a verb succeeded. */
typedef enum {
    KMS_VERB_DNS_NONE = 0,
    KMS_VERB_DNS_PUBLISH,   /**< publish the current settings (while publishing is on) */
    KMS_VERB_DNS_UNPUBLISH, /**< remove this host's records; a DNS failure fails the verb */
} kms_verb_dns_t;

typedef struct kms_cmd kms_cmd_t; /* a command being run (command_int.h) */

/** One row of the verb table. */
typedef struct {
    const char *name;  /**< "ipk" */
    const char *args;  /**< the arguments in short, for kmsctl --help ("" for none) */
    const char *usage; /**< the whole usage after the verb, for the usage error */
    const char *help;  /**< kmsctl --help's description (lines separated by '\n') */
    int json;          /**< answers with one JSON document under --json */
    kms_verb_dns_t dns;
    int (*run)(kms_cmd_t *c); /**< 0, or the KMS_E* of the error it set */
    int whole;                /**< its one argument is the rest of the line, spaces and all */
} kms_verb_t;

/** The verbs, in the order help texts list them; @p n gets the count. */
const kms_verb_t *kms_verbs(size_t *n);

/** The verb named @p name, or NULL. */
const kms_verb_t *kms_verb_find(const char *name);

/** Is @p err a usage error (a wrong or out-of-range argument, an unknown
 *  verb, a malformed line) rather than the host refusing a well-formed
 *  command?  kmsctl exits 2 for the first, 1 for the second. */
int kms_cmd_usage_error(int err);

/** The outcome of one command.  kms_cmd_result_init() before use,
 *  kms_cmd_result_free() after. */
typedef struct {
    const kms_verb_t *verb;       /**< the verb run; NULL: none could be told */
    int status;                   /**< 0 or a KMS_E* */
    char message[KMS_CMD_MSGLEN]; /**< status < 0: one line saying why */
    kms_wr_t lines;               /**< status 0: the payload, each line ending in '\n' */
    unsigned nlines;
} kms_cmd_result_t;

void kms_cmd_result_init(kms_cmd_result_t *r);
void kms_cmd_result_free(kms_cmd_result_t *r);

/** Append one payload line (no newline in @p fmt).  On ENOMEM the result
 *  becomes that error. */
void kms_cmd_result_line(kms_cmd_result_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Make @p r an error: @p status (< 0) and the message; the payload is
 *  dropped.  Returns @p status. */
int kms_cmd_result_fail(kms_cmd_result_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Append @p r in the control protocol to @p out: "OK <n>\n" and the
 *  lines, or "ERR <KMS_E name> <message>\n".  0 or KMS_ENOMEM. */
int kms_cmd_render(const kms_cmd_result_t *r, kms_wr_t *out);

#endif
