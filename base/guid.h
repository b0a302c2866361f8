/* SPDX-License-Identifier: MIT */
/*
 * guid.h - GUIDs/UUIDs as KMS and DCE/RPC carry them.
 *
 * kms_guid_t holds the 16 bytes in wire order as Windows marshals a GUID
 * (Data1, Data2, Data3 little-endian, Data4 as is), which is the order both
 * NDR (little-endian drep) and the activation messages use.  Text is the
 * usual 8-4-4-4-12 lower-case form; parsing accepts either case and optional
 * braces.
 */
#ifndef KMS_BASE_GUID_H
#define KMS_BASE_GUID_H

#include <stdint.h>

#include "base/wire.h"

typedef struct {
    uint8_t b[16]; /* wire order (mixed-endian, as Windows marshals it) */
} kms_guid_t;

#define KMS_GUID_STRLEN 37 /* 36 characters and the NUL */

/** Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (braces optional). KMS_EINVAL if bad. */
int kms_guid_parse(const char *s, kms_guid_t *out);
/** Format into @p buf (KMS_GUID_STRLEN bytes); returns @p buf. */
char *kms_guid_format(const kms_guid_t *g, char *buf);
int kms_guid_eq(const kms_guid_t *a, const kms_guid_t *b);
int kms_guid_is_nil(const kms_guid_t *g);
/** Read a GUID from the wire; a big-endian drep (@p le == 0) swaps Data1..3. */
int kms_rd_guid(kms_rd_t *rd, int le, kms_guid_t *out);
int kms_wr_guid(kms_wr_t *wr, const kms_guid_t *g);
/** Fill with random bytes (base/random.h) and set the RFC 4122 version 4 bits. Always 0. */
int kms_guid_random(kms_guid_t *out);

#endif
