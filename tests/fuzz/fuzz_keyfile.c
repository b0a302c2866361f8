/* SPDX-License-Identifier: MIT */
/* Fuzz target: BIND key file parser (dns/keyfile). */
#include <stdint.h>
#include <string.h>

#include "dns/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_tsig_key_t k;
    char err[200];
    /* without a name, and with one (the first line of the input, if short) */
    if (kms_keyfile_parse((const char *)data, size, NULL, &k, err, sizeof err) == 0) {
        if (!k.sign_algorithm || !k.name[0] || !k.secret[0] || k.secret_len == 0)
            __builtin_trap();
    }
    (void)kms_keyfile_parse((const char *)data, size, "kms-publisher", &k, err, sizeof err);
    (void)kms_keyfile_parse((const char *)data, size, "kms-publisher", &k, NULL, 0);
    if (memchr(err, '\0', sizeof err) == NULL)
        __builtin_trap();
    return 0;
}
