/* SPDX-License-Identifier: MIT */
/*
 * name.h - DNS names: the one place that says what a name is and how it
 * is written.
 *
 * Two forms of the same name, both lower case (the display form may keep
 * the case given, KMS_DNAME_KEEPCASE):
 *
 *   canonical  "kms.test."   with the final dot (the root is ".").  What
 *                            goes into messages and state files, and what
 *                            names are compared in.
 *   display    "kms.test"    without it (the root stays ".").  What users
 *                            read: status lines, logs, JSON, kms-locate.
 *
 * Two syntaxes a caller chooses between:
 *
 *   KMS_DNAME_HOST  the names kmsdns publishes and users give for them
 *                   (publish domains, SRV targets, lookup domains): labels
 *                   of letters, digits, '-' and '_' ("_vlmcs", "_tcp"), no
 *                   '-' at either end of a label, not the root.
 *   KMS_DNAME_ANY   any name a message may carry in presentation form
 *                   without escapes: also '*' and '-' anywhere; the root.
 *
 * Either way a name has labels of 1..63 characters and at most 253
 * characters without its final dot (RFC 1035 2.3.4: 255 octets on the
 * wire).  Every other byte - a space, a control character, a non-ASCII
 * byte, a backslash escape - makes the name invalid (KMS_EINVAL): such
 * names are refused here, before anything is sent.
 */
#ifndef KMS_DNS_NAME_H
#define KMS_DNS_NAME_H

#include <stddef.h>

#define KMS_DNS_NAMELEN 256 /* room for either form of any valid name, with the NUL */

enum {
    KMS_DNAME_ANY = 0,
    KMS_DNAME_HOST = 1,
    /** display form only: keep the case as given (kms-locate shows and
     *  queries the search domains as resolv.conf or the user wrote them) */
    KMS_DNAME_KEEPCASE = 2,
    /** any printable ASCII but '\\' in a label, as named.conf takes quoted
     *  TSIG key names ("kms+pub.", "host/kms1"); no escapes */
    KMS_DNAME_TEXT = 4,
};

/**
 * Canonical form of @p in (trailing dot optional, any case) into @p out.
 * @param flags KMS_DNAME_ANY or KMS_DNAME_HOST
 * @return 0, or KMS_EINVAL (not a name of that syntax, or @p outlen too
 *         small); @p out is then the empty string
 */
int kms_dname_canon(const char *in, unsigned flags, char *out, size_t outlen);

/** Why @p in is not a name of @p flags' syntax ("empty label (two dots in a
 *  row, or a leading dot)", "non-ASCII character (...)"), for an error line
 *  that names the value; NULL when it is one. */
const char *kms_dname_why(const char *in, unsigned flags);

/** Display form of @p in into @p out; as kms_dname_canon(). */
int kms_dname_display(const char *in, unsigned flags, char *out, size_t outlen);

/**
 * Display form of a name already known to be valid (a canonical name from
 * a parsed message or a state file): the final dot dropped, nothing
 * checked.  Writes at most @p outlen bytes; returns @p out.
 */
const char *kms_dname_shown(const char *name, char *out, size_t outlen);

/** Do @p a and @p b name the same node?  Case and a final dot ignored. */
int kms_dname_eq(const char *a, const char *b);

#endif
