/*
 * domains.h - the publish domain list (DnsDomainPublishList syntax).
 *
 * The one parser of this text form, used by kmsd.conf's `[dns] domains =`,
 * the state file and `kmsctl sdomains` (through kms_config_parse_domains)
 * and by kms-publish's --domain: comma-separated entries, each "domain" or
 * "domain priority weight" (whitespace-separated), e.g. "kms.test,
 * corp.test 10 50"; one trailing comma is allowed (a list continued on the
 * next line), an empty entry elsewhere is not; a domain may appear once; at
 * most PUB_MAX_DOMAINS.  Names are stored in display form (dns/name.h, KMS_DNAME_HOST).
 * Entries without numbers take the defaults (-1 in pub_domain_t).
 */
#ifndef KMS_PUBLISHER_DOMAINS_H
#define KMS_PUBLISHER_DOMAINS_H

#include <stddef.h>

#include "publisher/publisher.h"

#define PUB_MAX_DOMAINS 1024

/** A growable list; names are owned by the list. */
typedef struct {
    pub_domain_t *v;
    size_t n, cap;
} pub_domain_list_t;

/**
 * Parse @p text and append its entries to @p list (all or nothing: on
 * failure the list is as before).
 * @param err one-line reason on failure ("entry 2 'x 1': ..."), may be NULL
 * @return 0, KMS_EINVAL (bad name, missing weight, extra words, empty
 *         entry, a domain already in the list, more than PUB_MAX_DOMAINS),
 *         KMS_ERANGE (priority/weight over 65535), KMS_ENOMEM
 */
int pub_domains_parse(const char *text, pub_domain_list_t *list, char *err, size_t errlen);

/** Free the names and the array; the list is left empty.  NULL is a no-op. */
void pub_domain_list_free(pub_domain_list_t *list);

#endif
