/* SPDX-License-Identifier: MIT */
/*
 * backoff.c - see backoff.h.
 */
#include "base/backoff.h"

#include "base/random.h"

uint64_t kms_backoff(uint64_t first, uint64_t max, unsigned step)
{
    uint64_t d = first ? first : 1, half;

    for (unsigned i = 0; i < step && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    /* jitter: 75%..125% */
    half = d / 2 > 0xfffffffeu ? 0xfffffffeu : d / 2;
    return d - d / 4 + kms_random_uniform((uint32_t)half + 1);
}
