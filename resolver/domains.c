/* SPDX-License-Identifier: MIT */
/*
 * domains.c - the domain list of KMS discovery (see domains.h).
 */
#include "resolver/domains.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/hostname.h"
#include "dns/name.h"

const char *loc_dom_source_name(loc_dom_source_t s)
{
    switch (s) {
    case LOC_DOM_LOOKUP:
        return "lookup domain";
    case LOC_DOM_EXPLICIT:
        return "given domain";
    case LOC_DOM_SUFFIX:
        return "primary DNS suffix";
    case LOC_DOM_SEARCH:
        return "search list";
    }
    return "?";
}

const char *loc_host_fqdn(const char *override, unsigned wait_ms, char *buf, size_t len)
{
    const char *env = getenv("KMSDNS_HOSTNAME");

    if (!override && env && *env)
        override = env;
    if (override) {
        snprintf(buf, len, "%s", override);
        return buf;
    }
    return kms_host_fqdn(wait_ms, buf, len);
}

/* A domain in display form, the case kept (a client queries it as written);
 * KMS_EINVAL if it is not a name, or the root. */
static int norm(const char *in, char *out)
{
    if (kms_dname_display(in, KMS_DNAME_ANY | KMS_DNAME_KEEPCASE, out, KMS_RC_NAME_MAX + 1) < 0 ||
        strcmp(out, ".") == 0)
        return KMS_EINVAL;
    return 0;
}

static int add(loc_domain_t *out, size_t *n, const char *name, loc_dom_source_t src)
{
    char d[KMS_RC_NAME_MAX + 1];
    int rc = norm(name, d);

    if (rc != 0)
        return rc;
    for (size_t i = 0; i < *n; i++)
        if (strcasecmp(out[i].name, d) == 0)
            return 0; /* duplicates removed, first position kept */
    if (*n >= LOC_MAX_DOMAINS)
        return 0;
    memcpy(out[*n].name, d, sizeof(d));
    snprintf(out[*n].qname, sizeof(out[*n].qname), "_vlmcs._tcp.%s.", d);
    out[*n].source = src;
    (*n)++;
    return 0;
}

int loc_domains_build(const loc_domain_opts_t *o, loc_domain_t *out, size_t *n)
{
    char fqdn[300];
    const char *dot;

    *n = 0;
    if (o->manual_host)
        return 0;
    if (o->lookup_domain)
        return add(out, n, o->lookup_domain, LOC_DOM_LOOKUP);
    if (o->n_explicit > 0) {
        for (size_t i = 0; i < o->n_explicit; i++) {
            int rc = add(out, n, o->explicit_domains[i], LOC_DOM_EXPLICIT);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    loc_host_fqdn(o->fqdn, o->fqdn_wait_ms, fqdn, sizeof(fqdn));
    dot = strchr(fqdn, '.');
    if (dot && dot[1] && !(dot[1] == '.' && dot[2] == '\0'))
        (void)add(out, n, dot + 1, LOC_DOM_SUFFIX); /* a bad suffix is skipped */
    for (size_t i = 0; o->rc && i < o->rc->n_search; i++)
        (void)add(out, n, o->rc->search[i], LOC_DOM_SEARCH);
    return 0;
}
