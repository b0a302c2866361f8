/* SPDX-License-Identifier: MIT */
/*
 * statefile.c - the format every state file shares (statefile.h): a
 * versioned header, record lines, a CRC line; read whole, written
 * atomically.
 */
#include "kms/core/statefile.h"

#include "kms/core/state.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/fsutil.h"

#define FORMAT_VERSION 1
#define MAX_TOKENS     8

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t kms_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;

    pthread_once(&crc_once, crc_init); /* formatting may run on any thread */
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

void sf_header(kms_wr_t *w, const char *kind, size_t *start)
{
    *start = w->len;
    kms_wr_printf(w, "kmsdns-%s %d\n", kind, FORMAT_VERSION);
}

int sf_end(kms_wr_t *w, size_t start)
{
    if (w->err)
        return w->err;
    kms_wr_printf(w, "end crc32=%08x\n", kms_crc32(0, w->buf + start, w->len - start));
    return w->err;
}

int sf_perr(sf_ctx_t *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    kms_vseterr_at(c->err, c->errlen, c->fname, c->line, fmt, ap);
    va_end(ap);
    return KMS_ECORRUPT;
}

int sf_parse(const char *text, size_t len, const char *fname, unsigned flags, const char *kind,
             sf_record_fn fn, void *obj, char *err, size_t errlen)
{
    sf_ctx_t c = {fname, err, errlen, 0};
    char header[64], *line = NULL;
    size_t line_len = 0;
    size_t pos = 0, end_at, nlines = 0, hl;
    int r = 0;

    /* Count lines and find where the last one starts. */
    if (len == 0) {
        c.line = 1;
        return sf_perr(&c, "empty file (expected 'kmsdns-%s %d')", kind, FORMAT_VERSION);
    }
    for (size_t i = 0; i < len; i++)
        nlines += text[i] == '\n';
    if (text[len - 1] != '\n') {
        c.line = (unsigned)nlines + 1;
        return sf_perr(&c, "truncated: last line has no newline and is not 'end crc32=...'");
    }
    end_at = len - 1;
    while (end_at > 0 && text[end_at - 1] != '\n')
        end_at--;
    snprintf(header, sizeof header, "kmsdns-%s %d\n", kind, FORMAT_VERSION);
    hl = strlen(header);
    c.line = 1;
    if (len < hl || memcmp(text, header, hl) != 0) {
        size_t pl = strlen(kind) + 8;

        if (len > pl && memcmp(text, header, pl) == 0)
            return sf_perr(&c, "unsupported format version (this program reads version %d)",
                           FORMAT_VERSION);
        return sf_perr(&c, "not a kmsdns %s file (expected 'kmsdns-%s %d')", kind, kind,
                       FORMAT_VERSION);
    }
    c.line = (unsigned)nlines;
    if (end_at < hl || len - end_at < 10 || memcmp(text + end_at, "end crc32=", 10) != 0)
        return sf_perr(&c, "truncated: no final 'end crc32=...' line");
    {
        char hex[16];
        size_t hlen = len - 1 - end_at - 10;
        unsigned long want;
        char *e;

        if (hlen != 8)
            return sf_perr(&c, "bad checksum line");
        memcpy(hex, text + end_at + 10, 8);
        hex[8] = 0;
        want = strtoul(hex, &e, 16);
        if (*e || strspn(hex, "0123456789abcdef") != 8)
            return sf_perr(&c, "bad checksum line");
        if (!(flags & KMS_STATE_NO_CRC) && kms_crc32(0, text, end_at) != (uint32_t)want)
            return sf_perr(&c, "checksum mismatch: file edited or corrupt");
    }
    /* Records: lines 2 .. nlines-1. */
    pos = hl;
    c.line = 1;
    while (pos < end_at) {
        size_t n = 0;
        char *tok[MAX_TOKENS], *save = NULL, *t, *rest = NULL;
        int ntok = 0;

        c.line++;
        while (text[pos + n] != '\n')
            n++;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)text[pos + i];

            if (ch < 0x20 || ch == 0x7f) {
                r = sf_perr(&c, "control character in line");
                goto done;
            }
        }
        /* a line of the inventory holds a whole key: wiped before it goes */
        if (line)
            explicit_bzero(line, line_len);
        free(line);
        line_len = n + 1;
        line = malloc(line_len);
        if (!line) {
            r = KMS_ENOMEM;
            goto done;
        }
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos += n + 1;
        /* "domains" keeps the rest of the line as one value. */
        if (n > 8 && memcmp(line, "domains ", 8) == 0) {
            rest = line + 8;
            line[7] = 0;
            tok[ntok++] = line;
        } else {
            for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (ntok == MAX_TOKENS) {
                    r = sf_perr(&c, "too many fields");
                    goto done;
                }
                tok[ntok++] = t;
            }
        }
        if (ntok == 0) {
            r = sf_perr(&c, "empty line");
            goto done;
        }
        if ((r = fn(&c, tok, ntok, rest, obj)) < 0)
            goto done;
    }
done:
    if (line)
        explicit_bzero(line, line_len);
    free(line);
    return r;
}

int sf_tok_guid(sf_ctx_t *c, const char *s, kms_guid_t *g, const char *what)
{
    if (strlen(s) != 36 || kms_guid_parse(s, g) < 0)
        return sf_perr(c, "bad %s '%.40s'", what, s);
    return 0;
}

int sf_tok_uint(sf_ctx_t *c, const char *s, uint64_t min, uint64_t max, uint64_t *v,
                const char *what)
{
    if (kms_uint_parse(s, min, max, v) < 0)
        return sf_perr(c, "bad %s '%.40s' (%llu..%llu)", what, s, (unsigned long long)min,
                       (unsigned long long)max);
    return 0;
}

int sf_load(const char *dir, const char *name, sf_parse_fn fn, void *obj, char *err, size_t errlen)
{
    char *path = kms_path_join(dir, name), *text = NULL;
    size_t len;
    int r;

    if (!path)
        return KMS_ENOMEM;
    r = kms_file_read_ex(path, KMS_STATE_MAX_FILE, KMS_FILE_NOFOLLOW, &text, &len);
    if (r == KMS_ENOENT) {
        r = 0;
    } else if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, kms_strerror(r));
    } else {
        r = fn(text, len, path, 0, obj, err, errlen);
        if (r == KMS_ENOMEM)
            snprintf(err, errlen, "%s: %s", path, kms_strerror(r));
        explicit_bzero(text, len); /* the inventory holds whole keys */
    }
    free(text);
    free(path);
    return r;
}

int sf_save(const char *dir, const char *name, kms_wr_t *w, int r, int durable)
{
    if (r == 0)
        r = kms_state_write(dir, name, w->buf, w->len, durable);
    if (w->buf) /* the inventory holds whole keys */
        explicit_bzero(w->buf, w->len);
    kms_wr_free(w);
    return r;
}

int kms_state_write(const char *dir, const char *kind, const void *data, size_t len, int durable)
{
    char *path = kms_path_join(dir, kind);
    int r;

    if (!path)
        return KMS_ENOMEM;
    r = kms_file_write_atomic_ex(path, data, len, 0600, durable);
    free(path);
    return r;
}
