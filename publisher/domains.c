/*
 * domains.c - parse "kms.test, corp.test 10 50" (see domains.h).
 */
#include "publisher/domains.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/err.h"
#include "dns/dnsmsg.h"

static int push(pub_domain_list_t *l, const char *name, int prio, int weight)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        pub_domain_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return KMS_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return KMS_ENOMEM;
    l->v[l->n].name = copy;
    l->v[l->n].priority = prio;
    l->v[l->n].weight = weight;
    l->n++;
    return 0;
}

int pub_domains_parse(const char *text, pub_domain_list_t *list, char *err, size_t errlen)
{
    char *copy = text ? strdup(text) : NULL;
    int rc = 0, entry = 0;
    size_t n0 = list->n;
    char *save = NULL;

    if (err && errlen)
        err[0] = '\0';
    if (!copy)
        return text ? KMS_ENOMEM : KMS_EINVAL;
    for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        char *w[4] = {NULL, NULL, NULL, NULL};
        char *ws = NULL;
        int nw = 0;
        entry++;
        for (char *t = strtok_r(e, " \t\r\n", &ws); t; t = strtok_r(NULL, " \t\r\n", &ws))
            if (nw < 4)
                w[nw++] = t;
            else
                nw = 5;
        char norm[KMS_DNS_NAMELEN];
        if (nw == 0 || nw == 2 || nw > 3) {
            if (err)
                snprintf(err, errlen, "entry %d: expected \"domain\" or \"domain priority weight\"",
                         entry);
            rc = KMS_EINVAL;
            break;
        }
        if (kms_dns_name_norm(w[0], norm, sizeof norm) < 0 || strlen(norm) > 240) {
            if (err)
                snprintf(err, errlen, "entry %d: '%.80s' is not a valid domain name", entry, w[0]);
            rc = KMS_EINVAL;
            break;
        }
        int prio = -1, weight = -1;
        if (nw == 3) {
            uint64_t p, wt;
            int r1 = kms_uint_parse(w[1], 0, 65535, &p);
            int r2 = kms_uint_parse(w[2], 0, 65535, &wt);
            if (r1 < 0 || r2 < 0) {
                if (err)
                    snprintf(err, errlen, "entry %d: priority and weight must be numbers 0..65535",
                             entry);
                rc = (r1 == KMS_ERANGE || r2 == KMS_ERANGE) ? KMS_ERANGE : KMS_EINVAL;
                break;
            }
            prio = (int)p;
            weight = (int)wt;
        }
        rc = push(list, w[0], prio, weight);
        if (rc < 0)
            break;
    }
    if (rc == 0 && entry == 0) {
        if (err)
            snprintf(err, errlen, "empty domain list");
        rc = KMS_EINVAL;
    }
    if (rc < 0) {
        /* all or nothing: drop what this call appended */
        while (list->n > n0)
            free((char *)list->v[--list->n].name);
    }
    free(copy);
    return rc;
}

void pub_domain_list_free(pub_domain_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        free((char *)list->v[i].name);
    free(list->v);
    list->v = NULL;
    list->n = list->cap = 0;
}
