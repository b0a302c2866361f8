/* SPDX-License-Identifier: MIT */
/*
 * domains.h - the publish domain list (Windows' DnsDomainPublishList): the
 * one type for it, shared by kmsd's configuration, its state file and
 * `kmsctl sdomains`, kmsd's DNS publishing, kms-publish's --domain and the
 * publisher engine.  No event loop here: the host core includes this.
 *
 * Text form (the one parser and the one formatter of it): comma-separated
 * entries, each "domain" or "domain priority weight" (whitespace-
 * separated), e.g. "kms.test, corp.test 10 50"; one trailing comma is
 * allowed (a list continued on the next line), an empty entry elsewhere is
 * not; a domain may appear once; at most PUB_MAX_DOMAINS.  Names are kept
 * in display form with host-name syntax (dns/name.h, KMS_DNAME_HOST).  An
 * entry without numbers takes the defaults (-1 in pub_domain_t: the
 * configured or slmgr-set priority and weight).
 */
#ifndef KMS_PUBLISHER_DOMAINS_H
#define KMS_PUBLISHER_DOMAINS_H

#include <stddef.h>

#define PUB_MAX_DOMAINS 1024

/** One publish domain. */
typedef struct {
    char *name;   /**< "kms.test": the record goes to _vlmcs._tcp.<name> (owned by its list) */
    int priority; /**< 0..65535, or -1: the default priority */
    int weight;   /**< 0..65535, or -1: the default weight (-1 exactly when priority is) */
} pub_domain_t;

/** A list of publish domains; the names belong to the list.  Zero it to start. */
typedef struct {
    pub_domain_t *v;
    size_t n, cap;
} pub_domain_list_t;

/**
 * Parse @p text and append its entries to @p list (all or nothing: on
 * failure the list is as before).
 * @param err one-line reason on failure ("entry 2: ..."), may be NULL
 * @return 0, KMS_EINVAL (bad name, missing weight, extra words, empty
 *         entry, a domain already in the list, more than PUB_MAX_DOMAINS),
 *         KMS_ERANGE (priority/weight over 65535), KMS_ENOMEM
 */
int pub_domains_parse(const char *text, pub_domain_list_t *list, char *err, size_t errlen);

/** Append a copy of @p d (name copied) to @p list.  0, KMS_EEXIST (the
 *  domain is listed already), KMS_EINVAL (more than PUB_MAX_DOMAINS),
 *  KMS_ENOMEM. */
int pub_domains_add(pub_domain_list_t *list, const pub_domain_t *d);

/** The text form of @p list ("kms.test, corp.test 10 50"; "" when empty),
 *  malloc'd: the caller frees it.  NULL on ENOMEM. */
char *pub_domains_format(const pub_domain_list_t *list);

/** Replace @p dst (which must be a valid list, possibly empty) with a deep
 *  copy of @p src.  0 or KMS_ENOMEM (then @p dst is left empty). */
int pub_domains_copy(pub_domain_list_t *dst, const pub_domain_list_t *src);

/** Index of @p name in @p list (compared as DNS names), or -1. */
long pub_domains_find(const pub_domain_list_t *list, const char *name);

/** Do two lists hold the same entries in the same order? */
int pub_domains_equal(const pub_domain_list_t *a, const pub_domain_list_t *b);

/** Free the names and the array; the list is left empty.  NULL is a no-op. */
void pub_domain_list_free(pub_domain_list_t *list);

#endif
