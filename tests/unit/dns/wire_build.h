/* SPDX-License-Identifier: MIT */
/*
 * wire_build.h - test helper shared by the dns/ unit tests: hand-built
 * DNS messages (names in uncompressed wire form).
 */
#ifndef KMS_TESTS_UNIT_DNS_WIRE_BUILD_H
#define KMS_TESTS_UNIT_DNS_WIRE_BUILD_H

#include <string.h>

#include "base/wire.h"

/* Append @p name ("kms.test", no final dot) in wire form, with the root label. */
static inline void put_name(kms_wr_t *wr, const char *name)
{
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        kms_wr_u8(wr, (uint8_t)l);
        kms_wr_bytes(wr, p, l);
        p += l;
        if (*p == '.')
            p++;
    }
    kms_wr_u8(wr, 0);
}

#endif
