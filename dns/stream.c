/* SPDX-License-Identifier: MIT */
/*
 * stream.c - length-prefixed DNS messages out of a byte stream (stream.h).
 */
#include "dns/stream.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/wire.h"

uint16_t kms_dns_u16_at(const uint8_t *p, size_t len)
{
    kms_rd_t rd;
    uint16_t v = 0;

    kms_rd_init(&rd, p, len);
    kms_rd_u16be(&rd, &v);
    return v;
}

/* Room for @p want bytes in the held buffer, keeping what is there. */
static int hold_room(kms_dns_stream_t *f, size_t want)
{
    uint8_t *nb;

    if (f->cap >= want)
        return 0;
    nb = realloc(f->buf, want);
    if (!nb)
        return KMS_ENOMEM;
    f->buf = nb;
    f->cap = want;
    return 0;
}

/* Move up to what the held message still lacks from @p data into the
 * buffer; *pos advances.  1 when the held message is whole. */
static int hold_fill(kms_dns_stream_t *f, const uint8_t *data, size_t n, size_t *pos, int *err)
{
    size_t want = f->len < 2 ? 2 : 2 + (size_t)kms_dns_u16_at(f->buf, f->len);
    size_t take = want - f->len;

    if (take > n - *pos)
        take = n - *pos;
    if ((*err = hold_room(f, want)) < 0)
        return 0;
    memcpy(f->buf + f->len, data + *pos, take);
    f->len += take;
    *pos += take;
    return f->len >= 2 && f->len == 2 + (size_t)kms_dns_u16_at(f->buf, f->len);
}

int kms_dns_stream_feed(kms_dns_stream_t *f, const uint8_t *data, size_t n, kms_dns_stream_fn fn,
                        void *ud)
{
    size_t pos = 0;
    int rc = 0;

    /* First the message begun in an earlier chunk: its prefix may itself be
     * split, so fill it in (at most) two steps. */
    while (f->len > 0 && pos < n) {
        if (!hold_fill(f, data, n, &pos, &rc)) {
            if (rc < 0)
                return rc;
            continue; /* prefix now whole, body still to come (or chunk used up) */
        }
        rc = fn(ud, f->buf + 2, f->len - 2);
        kms_dns_stream_reset(f);
        if (rc < 0)
            return rc;
    }
    /* Whole messages straight from the caller's buffer. */
    while (pos < n) {
        size_t left = n - pos;
        size_t len = left >= 2 ? kms_dns_u16_at(data + pos, left) : 0;

        if (left < 2 || left - 2 < len) {
            /* keep the tail; the buffer is sized for the whole message */
            if ((rc = hold_room(f, left < 2 ? 2 : 2 + len)) < 0)
                return rc;
            memcpy(f->buf, data + pos, left);
            f->len = left;
            return 0;
        }
        if ((rc = fn(ud, data + pos + 2, len)) < 0)
            return rc;
        pos += 2 + len;
    }
    return 0;
}

size_t kms_dns_stream_pending(const kms_dns_stream_t *f)
{
    return f->len;
}

void kms_dns_stream_reset(kms_dns_stream_t *f)
{
    if (!f)
        return;
    free(f->buf);
    f->buf = NULL;
    f->len = f->cap = 0;
}
