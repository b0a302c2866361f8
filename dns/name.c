/* SPDX-License-Identifier: MIT */
/*
 * name.c - see name.h.
 */
#include "dns/name.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"

#define NAME_MAX_TEXT 253 /* characters without the final dot */
#define LABEL_MAX     63

static int is_ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Check @p in; *len gets its length without the final dot (0: the root).
 * 0, or KMS_EINVAL with *why saying what is wrong. */
static int check(const char *in, unsigned flags, size_t *len, const char **why)
{
    size_t n = in ? strlen(in) : 0, label = 0;

#define BAD(w) return (*why = (w), KMS_EINVAL)
    if (n == 1 && in[0] == '.') {
        *len = 0;
        if (flags & KMS_DNAME_HOST)
            BAD("the root is not a domain to use here");
        return 0;
    }
    if (n && in[n - 1] == '.')
        n--;
    if (n == 0)
        BAD("empty");
    if (n > NAME_MAX_TEXT)
        BAD("longer than 253 characters");
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)in[i] : '.';

        if (c == '.') {
            if (label == 0)
                BAD("empty label (two dots in a row, or a leading dot)");
            if ((flags & KMS_DNAME_HOST) && in[i - 1] == '-')
                BAD("a label ends with '-'");
            label = 0;
            continue;
        }
        if (c >= 0x80)
            BAD("non-ASCII character (write an internationalized name in its xn-- form)");
        if (c < 0x20 || c == 0x7f)
            BAD("control character");
        if ((flags & KMS_DNAME_TEXT) ? (c == 0x20 || c == '\\')
                                     : (!is_ldh(c) && !(c == '*' && !(flags & KMS_DNAME_HOST))))
            BAD(c == ' '    ? "space in a name"
                : c == '\\' ? "backslash escapes are not taken"
                            : "a character other than letters, digits, '-' and '_'");
        if ((flags & KMS_DNAME_HOST) && c == '-' && label == 0)
            BAD("a label starts with '-'");
        if (++label > LABEL_MAX)
            BAD("a label longer than 63 characters");
    }
#undef BAD
    *len = n;
    return 0;
}

const char *kms_dname_why(const char *in, unsigned flags)
{
    const char *why = NULL;
    size_t n;

    return check(in, flags, &n, &why) < 0 ? why : NULL;
}

static int write_form(const char *in, unsigned flags, int dot, char *out, size_t outlen)
{
    size_t n = 0;

    if (outlen)
        out[0] = '\0';
    const char *why;

    if (check(in, flags, &n, &why) < 0)
        return KMS_EINVAL;
    if (n == 0) { /* the root */
        if (outlen < 2)
            return KMS_EINVAL;
        memcpy(out, ".", 2);
        return 0;
    }
    if (n + (dot ? 2 : 1) > outlen)
        return KMS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];

        out[i] =
            c >= 'A' && c <= 'Z' && !(flags & KMS_DNAME_KEEPCASE) ? (char)(c + ('a' - 'A')) : c;
    }
    if (dot)
        out[n++] = '.';
    out[n] = '\0';
    return 0;
}

int kms_dname_canon(const char *in, unsigned flags, char *out, size_t outlen)
{
    return write_form(in, flags & ~(unsigned)KMS_DNAME_KEEPCASE, 1, out, outlen);
}

int kms_dname_display(const char *in, unsigned flags, char *out, size_t outlen)
{
    return write_form(in, flags, 0, out, outlen);
}

const char *kms_dname_shown(const char *name, char *out, size_t outlen)
{
    size_t n;

    if (!outlen)
        return out;
    snprintf(out, outlen, "%s", name ? name : "");
    n = strlen(out);
    if (n > 1 && out[n - 1] == '.')
        out[n - 1] = '\0';
    return out;
}

int kms_dname_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 1 && a[la - 1] == '.')
        la--;
    if (lb > 1 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}
