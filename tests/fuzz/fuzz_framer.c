/* SPDX-License-Identifier: MIT */
/*
 * fuzz_framer.c - kms_framer_feed() over arbitrary streams cut at arbitrary
 * points must deliver exactly the PDUs that feeding the whole stream at once
 * delivers (same bytes, same order, same stopping error), each PDU's length
 * equal to its frag_length and within the cap.
 *
 * Input: byte 0 selects the cap (small or 64 KiB), bytes 1..8 are chunk
 * sizes used cyclically, the rest is the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rpc/framer.h"

typedef struct {
    uint8_t *log; /* concatenated PDUs */
    size_t len, n;
    size_t max;
} sink_t;

static int collect(void *ud, const uint8_t *pdu, size_t len)
{
    sink_t *s = ud;
    uint8_t *nl;

    size_t flen;

    if (len < 16 || len > s->max)
        abort();
    /* frag_length in the byte order of drep[0] (C706 14.2.5: 0x10 little-endian). */
    flen = (pdu[4] & 0x10) ? (size_t)(pdu[8] | pdu[9] << 8) : (size_t)(pdu[8] << 8 | pdu[9]);
    if (flen != len)
        abort();
    nl = realloc(s->log, s->len + len);
    if (!nl)
        abort();
    s->log = nl;
    memcpy(s->log + s->len, pdu, len);
    s->len += len;
    s->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_framer_t whole = {0}, cut = {0};
    sink_t a = {0}, b = {0};
    size_t max, pos = 0, k = 0;
    const uint8_t *stream;
    size_t slen;
    int ra, rb = 0;

    if (size < 9)
        return 0;
    max = (data[0] & 1) ? 65536 : 16 + (data[0] >> 1);
    a.max = b.max = max;
    stream = data + 9;
    slen = size - 9;

    ra = kms_framer_feed(&whole, stream, slen, max, collect, &a);
    while (pos < slen) {
        size_t chunk = (size_t)data[1 + (k++ % 8)] + 1;
        uint8_t *copy;

        if (chunk > slen - pos)
            chunk = slen - pos;
        /* A fresh heap copy per read, as the transport's buffer is reused. */
        copy = malloc(chunk);
        if (!copy)
            abort();
        memcpy(copy, stream + pos, chunk);
        rb = kms_framer_feed(&cut, copy, chunk, max, collect, &b);
        memset(copy, 0xAA, chunk);
        free(copy);
        pos += chunk;
        if (rb < 0)
            break;
    }
    /* Same verdict, same PDUs. */
    if ((ra < 0) != (rb < 0) || a.n != b.n || a.len != b.len ||
        (a.len && memcmp(a.log, b.log, a.len) != 0))
        abort();
    if (ra == 0 && kms_framer_pending(&whole) != kms_framer_pending(&cut))
        abort();
    kms_framer_reset(&whole);
    kms_framer_reset(&cut);
    free(a.log);
    free(b.log);
    return 0;
}
