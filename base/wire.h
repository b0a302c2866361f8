/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the one bounds-checked reader and writer for wire data.
 *
 * All parsing of bytes that come from the network or from files (DCE/RPC
 * PDUs, NDR, the plain activation encoding, DNS where ldns does not already
 * parse it) goes through kms_rd_t; all building goes through kms_wr_t.  No
 * other code does pointer arithmetic on input bytes.
 *
 * The reader is sticky: the first failed read sets rd->err (KMS_ETRUNC) and
 * every later read fails too, so a parser may read a whole structure and
 * check the error once.  Failed reads store zero in their out-param.
 *
 * The writer grows a heap buffer; on allocation failure it sets wr->err
 * (KMS_ENOMEM) and ignores later writes.  kms_wr_free() releases the buffer;
 * kms_wr_steal() hands it to the caller.
 */
#ifndef KMS_BASE_WIRE_H
#define KMS_BASE_WIRE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p; /* borrowed, never freed */
    size_t len;
    size_t pos;
    int err; /* 0 or the first KMS_E* */
} kms_rd_t;

void kms_rd_init(kms_rd_t *rd, const void *data, size_t len);
size_t kms_rd_left(const kms_rd_t *rd);
int kms_rd_u8(kms_rd_t *rd, uint8_t *v);
int kms_rd_u16le(kms_rd_t *rd, uint16_t *v);
int kms_rd_u16be(kms_rd_t *rd, uint16_t *v);
int kms_rd_u32le(kms_rd_t *rd, uint32_t *v);
int kms_rd_u32be(kms_rd_t *rd, uint32_t *v);
int kms_rd_u64le(kms_rd_t *rd, uint64_t *v);
/** Read 16 bits in the byte order given by @p le (non-zero: little-endian). */
int kms_rd_u16(kms_rd_t *rd, int le, uint16_t *v);
/** Read 32 bits in the byte order given by @p le (non-zero: little-endian). */
int kms_rd_u32(kms_rd_t *rd, int le, uint32_t *v);
/** Copy @p n bytes into @p out (zero-filled on failure). */
int kms_rd_bytes(kms_rd_t *rd, void *out, size_t n);
/** Point @p out at the next @p n bytes (borrowed from the input) and skip them. */
int kms_rd_view(kms_rd_t *rd, const uint8_t **out, size_t n);
int kms_rd_skip(kms_rd_t *rd, size_t n);
/** Skip to the next multiple of @p align (a power of two) from the start. */
int kms_rd_align(kms_rd_t *rd, size_t align);
/** Make @p sub a reader over the next @p n bytes and skip them in @p rd. */
int kms_rd_sub(kms_rd_t *rd, kms_rd_t *sub, size_t n);

typedef struct {
    uint8_t *buf; /* owned; NULL until the first write */
    size_t len;
    size_t cap;
    int err;
} kms_wr_t;

void kms_wr_init(kms_wr_t *wr);
void kms_wr_free(kms_wr_t *wr);
/** Hand the buffer to the caller (free() it); @p len gets its length. NULL on error. */
uint8_t *kms_wr_steal(kms_wr_t *wr, size_t *len);
int kms_wr_reserve(kms_wr_t *wr, size_t extra);
int kms_wr_u8(kms_wr_t *wr, uint8_t v);
int kms_wr_u16le(kms_wr_t *wr, uint16_t v);
int kms_wr_u16be(kms_wr_t *wr, uint16_t v);
int kms_wr_u32le(kms_wr_t *wr, uint32_t v);
int kms_wr_u32be(kms_wr_t *wr, uint32_t v);
int kms_wr_u64le(kms_wr_t *wr, uint64_t v);
int kms_wr_bytes(kms_wr_t *wr, const void *data, size_t n);
/** Append formatted text (no NUL), of any length.  0 or the writer's error. */
int kms_wr_printf(kms_wr_t *wr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kms_wr_vprintf(kms_wr_t *wr, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
int kms_wr_zeros(kms_wr_t *wr, size_t n);
/** Pad with zeros to the next multiple of @p align (a power of two). */
int kms_wr_align(kms_wr_t *wr, size_t align);
/** Overwrite 16 bits little-endian at @p off (must be inside what was written). */
int kms_wr_patch_u16le(kms_wr_t *wr, size_t off, uint16_t v);
int kms_wr_patch_u32le(kms_wr_t *wr, size_t off, uint32_t v);

#endif
