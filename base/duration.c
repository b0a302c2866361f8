/* SPDX-License-Identifier: MIT */
#include "base/duration.h"

#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kms_uint_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    *out = 0;
    if (*s < '0' || *s > '9')
        return KMS_EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end)
        return KMS_EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return KMS_ERANGE;
    *out = v;
    return 0;
}

int kms_duration_parse(const char *s, uint64_t bare_unit_s, uint64_t *seconds)
{
    char *end;
    unsigned long long v;
    uint64_t unit = bare_unit_s;

    *seconds = 0;
    if (*s < '0' || *s > '9')
        return KMS_EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return KMS_ERANGE;
    if (*end) {
        switch (*end) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return KMS_EINVAL;
        }
        if (end[1])
            return KMS_EINVAL;
    }
    if (v > UINT64_MAX / unit)
        return KMS_ERANGE;
    *seconds = v * unit;
    return 0;
}

char *kms_duration_format(uint64_t s, char *buf, unsigned len)
{
    if (s && s % 86400 == 0)
        snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
    else if (s && s % 3600 == 0)
        snprintf(buf, len, "%lluh", (unsigned long long)(s / 3600));
    else if (s && s % 60 == 0)
        snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
    else
        snprintf(buf, len, "%llus", (unsigned long long)s);
    return buf;
}

char *kms_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}
