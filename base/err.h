/* SPDX-License-Identifier: MIT */
/*
 * err.h - the one error vocabulary of kmsdns.
 *
 * Every function that can fail returns int: 0 on success, a negative KMS_E*
 * code on failure (a non-negative value may carry a length or count where the
 * function says so).  Library status codes (libuv, c-ares, ldns, errno) and
 * DNS rcodes are translated into this table at the module boundary, so a user
 * and a caller see one vocabulary.  The table below generates the enum,
 * kms_strerror() and kms_err_name(); add a line to it rather than inventing a
 * code elsewhere.
 */
#ifndef KMS_BASE_ERR_H
#define KMS_BASE_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* X(NAME, value, "message") */
#define KMS_ERROR_TABLE(X)                                                                         \
    X(KMS_OK, 0, "success")                                                                        \
    X(KMS_ENOMEM, -1, "out of memory")                                                             \
    X(KMS_EINVAL, -2, "invalid argument")                                                          \
    X(KMS_ETRUNC, -3, "input truncated")                                                           \
    X(KMS_EMALFORMED, -4, "malformed input")                                                       \
    X(KMS_ETOOBIG, -5, "input too large")                                                          \
    X(KMS_EIO, -6, "input/output error")                                                           \
    X(KMS_ENOENT, -7, "not found")                                                                 \
    X(KMS_EEXIST, -8, "already exists")                                                            \
    X(KMS_ECORRUPT, -9, "corrupt state file")                                                      \
    X(KMS_ERANGE, -10, "value out of range")                                                       \
    X(KMS_ECONFIG, -11, "configuration error")                                                     \
    X(KMS_ETIMEOUT, -12, "timed out")                                                              \
    X(KMS_ECONNREFUSED, -13, "connection refused")                                                 \
    X(KMS_EPROTO, -14, "protocol error")                                                           \
    X(KMS_EUNSUPPORTED, -15, "not supported")                                                      \
    X(KMS_EBUSY, -16, "busy")                                                                      \
    X(KMS_ECLOSED, -17, "connection closed")                                                       \
    X(KMS_EPERM, -18, "permission denied")                                                         \
    X(KMS_ECANCELED, -19, "operation canceled")                                                    \
    X(KMS_EADDR, -20, "bad address")                                                               \
    X(KMS_ESYS, -21, "system call failed")                                                         \
    X(KMS_EKEYFORMAT, -22, "malformed product key")                                                \
    X(KMS_ENOTSERVED, -23, "product not served by this host")                                      \
    X(KMS_EISDIR, -24, "is a directory")                                                           \
    X(KMS_ENOTFILE, -25, "not a regular file")                                                     \
    X(KMS_ELINK, -26, "is a symbolic link")                                                        \
    X(KMS_ENOTDIR, -27, "not a directory")                                                         \
    X(KMS_ENOSPC, -28, "no space left on device")                                                  \
    X(KMS_EROFS, -29, "read-only file system")                                                     \
    X(KMS_EKEYFILE, -30, "malformed TSIG key file")                                                \
    X(KMS_EALGORITHM, -31, "unsupported TSIG algorithm")                                           \
    X(KMS_EDNS_FORMERR, -40, "DNS FORMERR")                                                        \
    X(KMS_EDNS_SERVFAIL, -41, "DNS SERVFAIL")                                                      \
    X(KMS_EDNS_NXDOMAIN, -42, "DNS NXDOMAIN: name does not exist")                                 \
    X(KMS_EDNS_NOTIMP, -43, "DNS NOTIMP")                                                          \
    X(KMS_EDNS_REFUSED, -44, "DNS REFUSED")                                                        \
    X(KMS_EDNS_YXDOMAIN, -45, "DNS YXDOMAIN")                                                      \
    X(KMS_EDNS_YXRRSET, -46, "DNS YXRRSET")                                                        \
    X(KMS_EDNS_NXRRSET, -47, "DNS NXRRSET")                                                        \
    X(KMS_EDNS_NOTAUTH, -48, "DNS NOTAUTH")                                                        \
    X(KMS_EDNS_NOTZONE, -49, "DNS NOTZONE")                                                        \
    X(KMS_EDNS_RCODE, -50, "DNS error rcode")                                                      \
    X(KMS_EDNS_NODATA, -51, "DNS answer has no records")                                           \
    X(KMS_EDNS_BADANSWER, -52, "malformed DNS answer")                                             \
    X(KMS_EPUBLISH, -53, "DNS publishing failed")                                                  \
    X(KMS_EDNS_IGNORED, -54, "DNS update accepted but not applied")                                \
    X(KMS_ETSIG_BADSIG, -60, "TSIG BADSIG: signature does not match")                              \
    X(KMS_ETSIG_BADKEY, -61, "TSIG BADKEY: key unknown to the server")                             \
    X(KMS_ETSIG_BADTIME, -62, "TSIG BADTIME: clocks differ too much")                              \
    X(KMS_ETSIG_UNSIGNED, -63, "answer lacks the expected TSIG signature")                         \
    X(KMS_ETSIG_VERIFY, -64, "answer's TSIG signature does not verify")                            \
    X(KMS_EKRB_NOCREDS, -70, "no Kerberos credentials")                                            \
    X(KMS_EKRB_EXPIRED, -71, "Kerberos credentials expired")                                       \
    X(KMS_EKRB_KEYTAB, -72, "keytab unreadable or without the principal")                          \
    X(KMS_EKRB_SPN, -73, "server principal unknown to the KDC")                                    \
    X(KMS_EKRB_KDC, -74, "KDC unreachable")                                                        \
    X(KMS_EKRB_SKEW, -75, "clock skew too great for Kerberos")                                     \
    X(KMS_EKRB, -76, "Kerberos (GSS-API) failure")                                                 \
    X(KMS_ETKEY, -77, "TKEY negotiation refused")                                                  \
    X(KMS_ETLS, -80, "TLS handshake or session failed")                                            \
    X(KMS_ETLSVERIFY, -81, "TLS server certificate not accepted")

typedef enum {
#define KMS_ERR_ENUM(name, val, msg) name = (val),
    KMS_ERROR_TABLE(KMS_ERR_ENUM)
#undef KMS_ERR_ENUM
} kms_err_t;

/** Human-readable message for a KMS_E* code; never NULL ("unknown error"). */
const char *kms_strerror(int err);

/** Symbolic name ("KMS_ETIMEOUT") for a KMS_E* code; never NULL ("KMS_E?"). */
const char *kms_err_name(int err);

/** The KMS_E* code named @p name ("KMS_ETIMEOUT"), or 1 when no code has that
 *  name (the error names carried by kmsd's control replies). */
int kms_err_from_name(const char *name);

/** Format a one-line error message into @p err (@p errlen bytes); NULL or 0 is a no-op. */
void kms_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The same, for a parser: "FILE:LINE: " and the message (at most 511
 *  bytes of it) into @p err; NULL or 0 is a no-op. */
void kms_vseterr_at(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
                    va_list ap) __attribute__((format(printf, 5, 0)));

/** Translate an errno value (positive) into a KMS_E* code. */
int kms_err_from_errno(int errnum);

/** Translate a libuv error (negative UV_E*) into a KMS_E* code. */
int kms_err_from_uv(int uverr);

#endif
