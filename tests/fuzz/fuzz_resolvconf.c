/* SPDX-License-Identifier: MIT */
/*
 * fuzz_resolvconf.c - the resolv.conf reader, and the domain list built
 * from what it read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/domains.h"
#include "dns/resolvconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_resolvconf_t rc;
    loc_domain_t d[LOC_MAX_DOMAINS];
    loc_domain_opts_t o;
    size_t n = 0;

    kms_resolvconf_parse((const char *)data, size, &rc);
    if (rc.n_ns > KMS_RC_MAX_NS || rc.n_search > KMS_RC_MAX_SEARCH)
        abort();
    for (size_t i = 0; i < rc.n_search; i++)
        if (strlen(rc.search[i]) == 0 || strlen(rc.search[i]) > KMS_RC_NAME_MAX)
            abort();
    memset(&o, 0, sizeof(o));
    o.fqdn = "pc.fuzz.test";
    o.rc = &rc;
    loc_domains_build(&o, d, &n);
    if (n > LOC_MAX_DOMAINS)
        abort();
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(d[i].qname);
        if (l == 0 || d[i].qname[l - 1] != '.')
            abort(); /* query names are always absolute */
    }
    return 0;
}
