/* SPDX-License-Identifier: MIT */
/*
 * random.c - see random.h.
 */
#include "base/random.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

void kms_random_bytes(void *buf, size_t len)
{
#ifdef KMS_HAVE_ARC4RANDOM_UNIFORM
    arc4random_buf(buf, len);
#else
    unsigned char *p = buf;

    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            abort(); /* no kernel generator: never fall back to a guessable one */
        p += n;
        len -= (size_t)n;
    }
#endif
}

uint32_t kms_random_uniform(uint32_t bound)
{
    if (bound < 2)
        return 0;
#ifdef KMS_HAVE_ARC4RANDOM_UNIFORM
    return arc4random_uniform(bound);
#else
    /* Reject the values below 2^32 mod bound so every residue is equally likely. */
    uint32_t min = -bound % bound, r;

    do
        kms_random_bytes(&r, sizeof r);
    while (r < min);
    return r % bound;
#endif
}
