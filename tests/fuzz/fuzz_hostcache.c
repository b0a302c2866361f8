/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hostcache.c - the host cache file parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    loc_cache_entry_t e;

    if (loc_cache_parse((const char *)data, size, &e) == 0) {
        if (e.port == 0 || !loc_host_valid(e.host))
            abort(); /* accepted entries are always usable */
    } else if (e.host[0] != '\0') {
        abort(); /* never trusted in part */
    }
    return 0;
}
