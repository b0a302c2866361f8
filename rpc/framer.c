/* SPDX-License-Identifier: MIT */
/*
 * framer.c - stream to PDUs (see framer.h).
 */
#include "rpc/framer.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rpc/conn.h"

#define MIN_CAP 64

/* Make room for @p want bytes, keeping what is held. */
static int reserve(kms_framer_t *f, size_t want)
{
    uint8_t *nb;

    if (f->cap >= want)
        return 0;
    if (want < MIN_CAP)
        want = MIN_CAP;
    nb = realloc(f->buf, want);
    if (!nb)
        return KMS_ENOMEM;
    f->buf = nb;
    f->cap = (uint32_t)want;
    return 0;
}

int kms_framer_feed(kms_framer_t *f, const uint8_t *data, size_t n, size_t max_pdu, kms_frame_fn fn,
                    void *ud)
{
    size_t pos = 0;
    int flen, rc;

    /* First complete the PDU begun in an earlier read. */
    while (f->len > 0) {
        size_t need, take;

        flen = kms_rpc_frame_len(f->buf, f->len, max_pdu);
        if (flen < 0)
            return flen;
        if (flen > 0 && f->len == (size_t)flen) {
            rc = fn(ud, f->buf, (size_t)flen);
            kms_framer_reset(f);
            if (rc < 0)
                return rc;
            break;
        }
        if (pos == n)
            return 0; /* still incomplete; every byte is kept */
        need = flen > 0 ? (size_t)flen : KMS_RPC_HEADER_LEN;
        if ((rc = reserve(f, need)) < 0)
            return rc;
        take = need - f->len;
        if (take > n - pos)
            take = n - pos;
        memcpy(f->buf + f->len, data + pos, take);
        f->len += (uint32_t)take;
        pos += take;
    }
    /* Whole PDUs straight from the caller's buffer. */
    while (pos < n) {
        flen = kms_rpc_frame_len(data + pos, n - pos, max_pdu);
        if (flen < 0)
            return flen;
        if (flen == 0 || (size_t)flen > n - pos) {
            if ((rc = reserve(f, flen > 0 ? (size_t)flen : n - pos)) < 0)
                return rc;
            memcpy(f->buf, data + pos, n - pos);
            f->len = (uint32_t)(n - pos);
            return 0;
        }
        if ((rc = fn(ud, data + pos, (size_t)flen)) < 0)
            return rc;
        pos += (size_t)flen;
    }
    return 0;
}

size_t kms_framer_pending(const kms_framer_t *f)
{
    return f->len;
}

void kms_framer_reset(kms_framer_t *f)
{
    free(f->buf);
    f->buf = NULL;
    f->len = f->cap = 0;
}
