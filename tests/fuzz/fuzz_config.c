/* SPDX-License-Identifier: MIT */
/* Fuzz target: kmsd.conf parsing (kms_config_load_string) over the defaults. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms/daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN];

    if (kms_config_defaults(&cfg) != 0)
        return 0;
    if (kms_config_load_string(&cfg, (const char *)data, size, "fuzz.conf", err, sizeof err) == 0) {
        /* What was accepted formats back and parses again to the same list. */
        char *s = pub_domains_format(&cfg.domains);

        if (s && cfg.domains.n) {
            pub_domain_list_t d = {0};

            if (pub_domains_parse(s, &d, NULL, 0) != 0 || !pub_domains_equal(&d, &cfg.domains))
                abort();
            pub_domain_list_free(&d);
        }
        free(s);
    } else if (!memchr(err, ':', strlen(err))) {
        abort(); /* every error names file:line */
    }
    kms_config_free(&cfg);
    return 0;
}
