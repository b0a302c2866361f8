/* SPDX-License-Identifier: MIT */
/*
 * keyfile.h - TSIG keys from BIND key files.
 *
 * A key file is what `tsig-keygen` writes and what named.conf includes:
 *
 *     key "kms-publisher." {
 *         algorithm hmac-sha256;
 *         secret "base64...";
 *     };
 *
 * The parser accepts several key statements, `#`, `//` and C comments, quoted
 * or bare key names, and skips other top-level statements (balanced braces),
 * so a named.conf fragment holding keys can be given too.  A key is chosen by
 * name (case-insensitive, trailing dot optional) or, without a name, the
 * file's only key.  The secret must be valid base64.
 *
 * Algorithms are mapped to their names on the wire: every one BIND's
 * tsig-keygen offers, hmac-sha256 (the default when the statement gives
 * none), hmac-sha224, hmac-sha384, hmac-sha512, hmac-sha1 and hmac-md5
 * (signed as "hmac-md5.sig-alg.reg.int"); another name is refused at
 * configuration load, not at the first update.  Errors come with a one-line
 * reason naming the line.
 */
#ifndef KMS_DNS_KEYFILE_H
#define KMS_DNS_KEYFILE_H

#include <stddef.h>

#define KMS_TSIG_NAMELEN   256 /* presentation name incl. trailing dot and NUL */
#define KMS_TSIG_SECRETLEN 700 /* base64 text of a secret up to 512 bytes, NUL */

/** One TSIG key, plain data (no heap): copy freely. */
typedef struct {
    char name[KMS_TSIG_NAMELEN];     /**< absolute, lower case: "kms-publisher." */
    char algorithm[32];              /**< as the user wrote it, lower case: "hmac-sha256" */
    const char *sign_algorithm;      /**< static: the algorithm's name on the wire */
    char secret[KMS_TSIG_SECRETLEN]; /**< base64, validated */
    size_t secret_len;               /**< decoded length in bytes */
    unsigned file_mode; /**< kms_keyfile_load(): the file's permission bits (0: unknown); a
                             caller warns when others may read it (S_IROTH), as BIND does */
} kms_tsig_key_t;

/**
 * Map a user-facing algorithm name to its name on the wire.
 * @param name      e.g. "hmac-sha256", "HMAC-MD5", "hmac-md5.sig-alg.reg.int."
 * @param sign_name out: static string, set on success
 * @return 0, KMS_EALGORITHM (not an HMAC algorithm of TSIG)
 */
int kms_tsig_algorithm_map(const char *name, const char **sign_name);

/**
 * Parse key file text and pick one key.
 * @param text  file contents (need not be NUL-terminated)
 * @param len   length of @p text
 * @param want  key name to pick, or NULL for "the only key in the file"
 * @param out   filled on success, zeroed on failure
 * @param err   buffer for a one-line reason ("line 3: ..."), may be NULL
 * @return 0, KMS_EKEYFILE (syntax, bad base64, missing secret, no such key,
 *         several keys and no name given), KMS_EALGORITHM
 */
int kms_keyfile_parse(const char *text, size_t len, const char *want, kms_tsig_key_t *out,
                      char *err, size_t errlen);

/**
 * Read @p path (at most 64 KiB) and parse it with kms_keyfile_parse().
 * The reason in @p err is prefixed with the path.
 * @return as kms_keyfile_parse(), or KMS_ENOENT/KMS_EPERM/KMS_EIO/KMS_ETOOBIG
 */
int kms_keyfile_load(const char *path, const char *want, kms_tsig_key_t *out, char *err,
                     size_t errlen);

/** Key name for messages: "kms-publisher" (no trailing dot), written to @p buf; returns @p buf. */
const char *kms_tsig_key_display(const kms_tsig_key_t *key, char *buf, size_t len);

#endif
