/* SPDX-License-Identifier: MIT */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

const char *kms_strerror(int err)
{
    switch (err) {
#define KMS_ERR_MSG(name, val, msg)                                                                \
    case val:                                                                                      \
        return msg;
        KMS_ERROR_TABLE(KMS_ERR_MSG)
#undef KMS_ERR_MSG
    }
    return "unknown error";
}

const char *kms_err_name(int err)
{
    switch (err) {
#define KMS_ERR_NAME(name, val, msg)                                                               \
    case val:                                                                                      \
        return #name;
        KMS_ERROR_TABLE(KMS_ERR_NAME)
#undef KMS_ERR_NAME
    }
    return "KMS_E?";
}

int kms_err_from_name(const char *name)
{
#define KMS_ERR_FROM_NAME(n, val, msg)                                                             \
    if (strcmp(name, #n) == 0)                                                                     \
        return val;
    KMS_ERROR_TABLE(KMS_ERR_FROM_NAME)
#undef KMS_ERR_FROM_NAME
    return 1;
}

int kms_err_from_errno(int errnum)
{
    switch (errnum) {
    case 0:
        return KMS_OK;
    case ENOMEM:
        return KMS_ENOMEM;
    case EINVAL:
        return KMS_EINVAL;
    case ENOENT:
        return KMS_ENOENT;
    case EEXIST:
        return KMS_EEXIST;
    case ERANGE:
        return KMS_ERANGE;
    case ETIMEDOUT:
        return KMS_ETIMEOUT;
    case ECONNREFUSED:
        return KMS_ECONNREFUSED;
    case EACCES:
    case EPERM:
        return KMS_EPERM;
    case EBUSY:
    case EADDRINUSE:
        return KMS_EBUSY;
    case ECANCELED:
        return KMS_ECANCELED;
    case EPIPE:
    case ECONNRESET:
        return KMS_ECLOSED;
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return KMS_EADDR;
    case EIO:
        return KMS_EIO;
    case EISDIR:
        return KMS_EISDIR;
    case ENOTDIR:
        return KMS_ENOTDIR;
    case ENOSPC:
    case EDQUOT:
        return KMS_ENOSPC;
    case EROFS:
        return KMS_EROFS;
    default:
        return KMS_ESYS;
    }
}

int kms_err_from_uv(int uverr)
{
    if (uverr >= 0)
        return KMS_OK;
    if (uverr == UV_EOF)
        return KMS_ECLOSED;
    if (uverr == UV_ECANCELED)
        return KMS_ECANCELED;
    /* On Unix, libuv errors are negated errno values. */
    return kms_err_from_errno(-uverr);
}

void kms_vseterr_at(char *err, size_t errlen, const char *file, unsigned line, const char *fmt,
                    va_list ap)
{
    char why[512];

    if (!err || !errlen)
        return;
    vsnprintf(why, sizeof why, fmt, ap);
    snprintf(err, errlen, "%s:%u: %s", file, line, why);
}

void kms_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
