/* SPDX-License-Identifier: MIT */
/*
 * random.h - unpredictable numbers for protocol fields and jitter.
 *
 * DNS message IDs, retry jitter and random GUIDs come from the kernel's
 * generator: arc4random_uniform() where the C library has it (glibc 2.36
 * and later, the BSDs; checked at configure time), else getrandom(2) with
 * rejection sampling.  Neither blocks once the system is up, and neither
 * can fail: a getrandom() that cannot deliver (no entropy source at all)
 * aborts rather than hand out predictable IDs.
 */
#ifndef KMS_BASE_RANDOM_H
#define KMS_BASE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/** A uniformly distributed number in [0, @p bound); 0 when @p bound < 2. */
uint32_t kms_random_uniform(uint32_t bound);

/** Fill @p buf with @p len unpredictable bytes. */
void kms_random_bytes(void *buf, size_t len);

#endif
