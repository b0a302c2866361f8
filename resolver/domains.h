/* SPDX-License-Identifier: MIT */
/*
 * domains.h - which DNS domains a KMS client searches, in which order.
 *
 * The order of a Windows KMS client:
 *  1. a manual KMS host (slmgr /skms, kms-locate --kms HOST[:PORT]) skips
 *     DNS entirely and wins over everything (no domain at all);
 *  2. else a lookup domain (slmgr /skms-domain, --lookup-domain D) is the
 *     only domain queried; the search list is ignored;
 *  3. else the primary DNS suffix (the domain part of this host's FQDN),
 *     then the resolv.conf search list, without duplicates.
 * An explicit domain list (--domain D, repeatable) replaces 3.
 *
 * Names compare case-insensitively with a final dot ignored; they are kept
 * without the final dot and every query name is absolute:
 * "_vlmcs._tcp.<domain>." (so no search rule, ndots or root query applies).
 *
 * The FQDN is the one given (--hostname, or the environment variable
 * KMSDNS_HOSTNAME), taken as is; else this host's FQDN as kmsd finds it
 * (base/hostname.h: gethostname(), and for a short name its canonical name
 * from getaddrinfo - /etc/hosts, then DNS - waited for a bounded time).
 */
#ifndef KMS_RESOLVER_DOMAINS_H
#define KMS_RESOLVER_DOMAINS_H

#include <stddef.h>

#include "dns/resolvconf.h"

#define LOC_MAX_DOMAINS 40
#define LOC_QNAME_MAX   (KMS_RC_NAME_MAX + 16)

typedef enum {
    LOC_DOM_LOOKUP = 0, /* --lookup-domain (/skms-domain) */
    LOC_DOM_EXPLICIT,   /* --domain */
    LOC_DOM_SUFFIX,     /* primary DNS suffix */
    LOC_DOM_SEARCH,     /* resolv.conf search/domain */
} loc_dom_source_t;

typedef struct {
    char name[KMS_RC_NAME_MAX + 1]; /* no final dot */
    char qname[LOC_QNAME_MAX + 1];  /* "_vlmcs._tcp.<name>." */
    loc_dom_source_t source;
} loc_domain_t;

typedef struct {
    const char *manual_host;             /* --kms: non-NULL means no domain at all */
    const char *lookup_domain;           /* --lookup-domain */
    const char *const *explicit_domains; /* --domain, in order */
    size_t n_explicit;
    const char *fqdn;           /* NULL: KMSDNS_HOSTNAME, then kms_host_fqdn() */
    unsigned fqdn_wait_ms;      /* bound of kms_host_fqdn()'s lookup (0: its default) */
    const kms_resolvconf_t *rc; /* search list; may be NULL */
} loc_domain_opts_t;

/**
 * Build the ordered list into @p out (room for LOC_MAX_DOMAINS); *@p n gets
 * the count (0 with a manual host, or when nothing is known).
 * @return 0, or KMS_EINVAL when a given domain is not a valid name.
 */
int loc_domains_build(const loc_domain_opts_t *o, loc_domain_t *out, size_t *n);

/**
 * This host's FQDN as used for the primary DNS suffix, into @p buf:
 * @p override, else $KMSDNS_HOSTNAME, else kms_host_fqdn(@p wait_ms).
 */
const char *loc_host_fqdn(const char *override, unsigned wait_ms, char *buf, size_t len);

/** Human name of a domain source ("lookup domain", "search list", ...). */
const char *loc_dom_source_name(loc_dom_source_t s);

#endif
