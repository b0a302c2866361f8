/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dns_stream.c - kms_dns_stream_feed() (the TCP and DNS-over-TLS
 * framing) over arbitrary streams cut at arbitrary points, as TLS records
 * and partial reads cut them, must deliver exactly the messages that feeding
 * the whole stream at once delivers (same bytes, same order), each as long
 * as its prefix says, and hold exactly the rest: every byte is either in a
 * delivered message, its prefix, or pending.
 *
 * Input: bytes 0..7 are chunk sizes used cyclically (1..256), the rest is
 * the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/stream.h"

typedef struct {
    uint8_t *log; /* concatenated messages, each with its prefix again */
    size_t len, n;
} sink_t;

static int collect(void *ud, const uint8_t *msg, size_t len)
{
    sink_t *s = ud;
    uint8_t *nl;

    if (len > 65535)
        abort();
    nl = realloc(s->log, s->len + 2 + len + 1);
    if (!nl)
        abort();
    s->log = nl;
    s->log[s->len] = (uint8_t)(len >> 8);
    s->log[s->len + 1] = (uint8_t)len;
    if (len)
        memcpy(s->log + s->len + 2, msg, len);
    s->len += 2 + len;
    s->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_dns_stream_t whole = {0}, cut = {0};
    sink_t a = {0}, b = {0};
    size_t pos = 0, k = 0;
    const uint8_t *stream;
    size_t slen;

    if (size < 8)
        return 0;
    stream = data + 8;
    slen = size - 8;

    if (kms_dns_stream_feed(&whole, stream, slen, collect, &a) != 0)
        abort();
    while (pos < slen) {
        size_t chunk = (size_t)data[k++ % 8] + 1;
        uint8_t *copy;

        if (chunk > slen - pos)
            chunk = slen - pos;
        copy = malloc(chunk); /* a fresh copy per read, scribbled over after */
        if (!copy)
            abort();
        memcpy(copy, stream + pos, chunk);
        if (kms_dns_stream_feed(&cut, copy, chunk, collect, &b) != 0)
            abort();
        memset(copy, 0xAA, chunk);
        free(copy);
        pos += chunk;
        if (kms_dns_stream_pending(&cut) > 65535 + 2)
            abort();
    }
    /* same messages, and the delivered bytes are the stream's own */
    if (a.n != b.n || a.len != b.len || (a.len && memcmp(a.log, b.log, a.len) != 0))
        abort();
    if (a.len && memcmp(a.log, stream, a.len) != 0)
        abort();
    if (a.len + kms_dns_stream_pending(&whole) != slen ||
        kms_dns_stream_pending(&whole) != kms_dns_stream_pending(&cut))
        abort();
    if (kms_dns_stream_pending(&cut) &&
        memcmp(cut.buf, stream + a.len, kms_dns_stream_pending(&cut)) != 0)
        abort();
    kms_dns_stream_reset(&whole);
    kms_dns_stream_reset(&cut);
    free(a.log);
    free(b.log);
    return 0;
}
