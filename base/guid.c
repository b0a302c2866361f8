/* SPDX-License-Identifier: MIT */
#include "base/guid.h"

#include "base/err.h"
#include "base/random.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Text position order of the 16 wire bytes (Data1..3 are little-endian). */
static const int text_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int kms_guid_parse(const char *s, kms_guid_t *out)
{
    size_t len = strlen(s);
    int braces = len == 38 && s[0] == '{' && s[37] == '}';
    const char *p = s + braces;
    int bi = 0;

    memset(out, 0, sizeof *out);
    if (len != (size_t)(36 + 2 * braces))
        return KMS_EINVAL;
    for (int i = 0; i < 36; i++) {
        int hi, lo;

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (p[i] != '-')
                return KMS_EINVAL;
            continue;
        }
        hi = hexval((unsigned char)p[i]);
        lo = hexval((unsigned char)p[i + 1]);
        if (hi < 0 || lo < 0)
            return KMS_EINVAL;
        out->b[text_order[bi++]] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    return 0;
}

char *kms_guid_format(const kms_guid_t *g, char *buf)
{
    uint8_t t[16];

    for (int i = 0; i < 16; i++)
        t[i] = g->b[text_order[i]];
    snprintf(buf, KMS_GUID_STRLEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", t[0], t[1],
             t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13], t[14],
             t[15]);
    return buf;
}

int kms_guid_eq(const kms_guid_t *a, const kms_guid_t *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

int kms_guid_is_nil(const kms_guid_t *g)
{
    static const kms_guid_t nil;

    return kms_guid_eq(g, &nil);
}

int kms_rd_guid(kms_rd_t *rd, int le, kms_guid_t *out)
{
    int r = kms_rd_bytes(rd, out->b, 16);

    if (r == 0 && !le) {
        uint8_t t;
        /* Big-endian drep: Data1 (4), Data2 (2), Data3 (2) arrive byte-swapped. */
        t = out->b[0], out->b[0] = out->b[3], out->b[3] = t;
        t = out->b[1], out->b[1] = out->b[2], out->b[2] = t;
        t = out->b[4], out->b[4] = out->b[5], out->b[5] = t;
        t = out->b[6], out->b[6] = out->b[7], out->b[7] = t;
    }
    return r;
}

int kms_wr_guid(kms_wr_t *wr, const kms_guid_t *g)
{
    return kms_wr_bytes(wr, g->b, 16);
}

int kms_guid_random(kms_guid_t *out)
{
    kms_random_bytes(out->b, 16);
    out->b[7] = (uint8_t)((out->b[7] & 0x0f) | 0x40); /* Data3 high nibble: version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return 0;
}
