/* SPDX-License-Identifier: MIT */
/*
 * fuzz_client_id.c - kms-locate's client ID files: /etc/machine-id (32 hex
 * digits) and its own client-id file (one GUID line).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/guid.h"
#include "resolver/client_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_guid_t g, back;
    char text[KMS_GUID_STRLEN + 2];

    if (loc_client_id_from_machine_id((const char *)data, size, &g) == 0 &&
        (g.b[7] >> 4) != 4) /* wire order: Data3's high byte carries the version */
        abort();
    if (loc_client_id_parse((const char *)data, size, &g) == 0) {
        /* what is accepted is written back the same way and read again */
        kms_guid_format(&g, text);
        strcat(text, "\n");
        if (loc_client_id_parse(text, strlen(text), &back) != 0 || memcmp(&g, &back, sizeof g))
            abort();
    }
    return 0;
}
