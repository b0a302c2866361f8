/* SPDX-License-Identifier: MIT */
#include "base/wire.h"

#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kms_rd_init(kms_rd_t *rd, const void *data, size_t len)
{
    rd->p = data;
    rd->len = data ? len : 0;
    rd->pos = 0;
    rd->err = 0;
}

size_t kms_rd_left(const kms_rd_t *rd)
{
    return rd->err ? 0 : rd->len - rd->pos;
}

/* Claim @p n bytes; returns a pointer to them or NULL (and sets the error). */
static const uint8_t *take(kms_rd_t *rd, size_t n)
{
    const uint8_t *at;

    if (rd->err)
        return NULL;
    if (n > rd->len - rd->pos) {
        rd->err = KMS_ETRUNC;
        return NULL;
    }
    at = rd->p + rd->pos;
    rd->pos += n;
    return at;
}

int kms_rd_u8(kms_rd_t *rd, uint8_t *v)
{
    const uint8_t *b = take(rd, 1);

    *v = b ? b[0] : 0;
    return b ? 0 : rd->err;
}

int kms_rd_u16le(kms_rd_t *rd, uint16_t *v)
{
    const uint8_t *b = take(rd, 2);

    *v = b ? (uint16_t)(b[0] | b[1] << 8) : 0;
    return b ? 0 : rd->err;
}

int kms_rd_u16be(kms_rd_t *rd, uint16_t *v)
{
    const uint8_t *b = take(rd, 2);

    *v = b ? (uint16_t)(b[0] << 8 | b[1]) : 0;
    return b ? 0 : rd->err;
}

int kms_rd_u32le(kms_rd_t *rd, uint32_t *v)
{
    const uint8_t *b = take(rd, 4);

    *v = b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0;
    return b ? 0 : rd->err;
}

int kms_rd_u32be(kms_rd_t *rd, uint32_t *v)
{
    const uint8_t *b = take(rd, 4);

    *v = b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3] : 0;
    return b ? 0 : rd->err;
}

int kms_rd_u64le(kms_rd_t *rd, uint64_t *v)
{
    uint32_t lo, hi;

    kms_rd_u32le(rd, &lo);
    kms_rd_u32le(rd, &hi);
    *v = rd->err ? 0 : (uint64_t)hi << 32 | lo;
    return rd->err;
}

int kms_rd_u16(kms_rd_t *rd, int le, uint16_t *v)
{
    return le ? kms_rd_u16le(rd, v) : kms_rd_u16be(rd, v);
}

int kms_rd_u32(kms_rd_t *rd, int le, uint32_t *v)
{
    return le ? kms_rd_u32le(rd, v) : kms_rd_u32be(rd, v);
}

int kms_rd_bytes(kms_rd_t *rd, void *out, size_t n)
{
    const uint8_t *b = take(rd, n);

    if (!b) {
        memset(out, 0, n);
        return rd->err;
    }
    if (n)
        memcpy(out, b, n);
    return 0;
}

int kms_rd_view(kms_rd_t *rd, const uint8_t **out, size_t n)
{
    *out = take(rd, n);
    return *out || !rd->err ? 0 : rd->err;
}

int kms_rd_skip(kms_rd_t *rd, size_t n)
{
    return take(rd, n) || !rd->err ? 0 : rd->err;
}

int kms_rd_align(kms_rd_t *rd, size_t align)
{
    size_t pad = (align - (rd->pos & (align - 1))) & (align - 1);

    return kms_rd_skip(rd, pad);
}

int kms_rd_sub(kms_rd_t *rd, kms_rd_t *sub, size_t n)
{
    const uint8_t *b = take(rd, n);

    kms_rd_init(sub, b, b ? n : 0);
    if (!b)
        sub->err = rd->err;
    return b || !rd->err ? 0 : rd->err;
}

void kms_wr_init(kms_wr_t *wr)
{
    memset(wr, 0, sizeof *wr);
}

void kms_wr_free(kms_wr_t *wr)
{
    free(wr->buf);
    kms_wr_init(wr);
}

uint8_t *kms_wr_steal(kms_wr_t *wr, size_t *len)
{
    uint8_t *b = wr->buf;

    if (wr->err) {
        kms_wr_free(wr);
        *len = 0;
        return NULL;
    }
    if (!b)
        b = malloc(1); /* an empty message is still a buffer to free */
    *len = wr->len;
    kms_wr_init(wr);
    return b;
}

int kms_wr_reserve(kms_wr_t *wr, size_t extra)
{
    size_t cap;
    uint8_t *nb;

    if (wr->err)
        return wr->err;
    if (extra <= wr->cap - wr->len)
        return 0;
    if (extra > SIZE_MAX / 2 - wr->len) {
        wr->err = KMS_ETOOBIG;
        return wr->err;
    }
    cap = wr->cap ? wr->cap : 64;
    while (cap - wr->len < extra)
        cap *= 2;
    nb = realloc(wr->buf, cap);
    if (!nb) {
        wr->err = KMS_ENOMEM;
        return wr->err;
    }
    wr->buf = nb;
    wr->cap = cap;
    return 0;
}

int kms_wr_bytes(kms_wr_t *wr, const void *data, size_t n)
{
    if (kms_wr_reserve(wr, n))
        return wr->err;
    if (n)
        memcpy(wr->buf + wr->len, data, n);
    wr->len += n;
    return 0;
}

int kms_wr_zeros(kms_wr_t *wr, size_t n)
{
    if (kms_wr_reserve(wr, n))
        return wr->err;
    if (n)
        memset(wr->buf + wr->len, 0, n);
    wr->len += n;
    return 0;
}

int kms_wr_u8(kms_wr_t *wr, uint8_t v)
{
    return kms_wr_bytes(wr, &v, 1);
}

int kms_wr_u16le(kms_wr_t *wr, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    return kms_wr_bytes(wr, b, 2);
}

int kms_wr_u16be(kms_wr_t *wr, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    return kms_wr_bytes(wr, b, 2);
}

int kms_wr_u32le(kms_wr_t *wr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

    return kms_wr_bytes(wr, b, 4);
}

int kms_wr_u32be(kms_wr_t *wr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

    return kms_wr_bytes(wr, b, 4);
}

int kms_wr_u64le(kms_wr_t *wr, uint64_t v)
{
    kms_wr_u32le(wr, (uint32_t)v);
    return kms_wr_u32le(wr, (uint32_t)(v >> 32));
}

int kms_wr_align(kms_wr_t *wr, size_t align)
{
    return kms_wr_zeros(wr, (align - (wr->len & (align - 1))) & (align - 1));
}

int kms_wr_patch_u16le(kms_wr_t *wr, size_t off, uint16_t v)
{
    if (wr->err)
        return wr->err;
    if (off > wr->len || wr->len - off < 2)
        return KMS_EINVAL;
    wr->buf[off] = (uint8_t)v;
    wr->buf[off + 1] = (uint8_t)(v >> 8);
    return 0;
}

int kms_wr_patch_u32le(kms_wr_t *wr, size_t off, uint32_t v)
{
    if (wr->err)
        return wr->err;
    if (off > wr->len || wr->len - off < 4)
        return KMS_EINVAL;
    for (int i = 0; i < 4; i++)
        wr->buf[off + i] = (uint8_t)(v >> (8 * i));
    return 0;
}

int kms_wr_vprintf(kms_wr_t *wr, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (wr->err)
        return wr->err;
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        wr->err = KMS_EINVAL;
        return wr->err;
    }
    /* room for the NUL vsnprintf writes; it is not counted */
    if (kms_wr_reserve(wr, (size_t)n + 1) < 0)
        return wr->err;
    vsnprintf((char *)wr->buf + wr->len, (size_t)n + 1, fmt, ap);
    wr->len += (size_t)n;
    return 0;
}

int kms_wr_printf(kms_wr_t *wr, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = kms_wr_vprintf(wr, fmt, ap);
    va_end(ap);
    return r;
}
