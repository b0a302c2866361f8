/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ctl_reply.c - kmsctl's reply framing (kms_control_reply_complete)
 * on arbitrary bytes: never reads past the buffer, and its verdict is
 * monotonic: once a prefix is complete or malformed, every longer prefix
 * says the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms/daemon/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int first = 0;

    for (size_t len = 0; len <= size; len++) {
        /* An exact-size heap copy so ASan sees any over-read. */
        char *buf = malloc(len ? len : 1);
        int r;

        if (!buf)
            abort();
        memcpy(buf, data, len);
        r = kms_control_reply_complete(buf, len);
        free(buf);
        if (r > 1)
            abort();
        if (first != 0 && r != first)
            abort();
        if (r != 0 && first == 0)
            first = r;
    }
    return 0;
}
