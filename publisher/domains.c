/* SPDX-License-Identifier: MIT */
/*
 * domains.c - the publish domain list (see domains.h).
 */
#include "publisher/domains.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/err.h"
#include "dns/name.h"

int pub_domains_add(pub_domain_list_t *l, const pub_domain_t *d)
{
    char *copy;

    if (pub_domains_find(l, d->name) >= 0)
        return KMS_EEXIST;
    if (l->n >= PUB_MAX_DOMAINS)
        return KMS_EINVAL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        pub_domain_t *v = realloc(l->v, cap * sizeof *v);

        if (!v)
            return KMS_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (!(copy = strdup(d->name)))
        return KMS_ENOMEM;
    l->v[l->n] = *d;
    l->v[l->n++].name = copy;
    return 0;
}

int pub_domains_parse(const char *text, pub_domain_list_t *list, char *err, size_t errlen)
{
    char *copy = text ? strdup(text) : NULL;
    char *save = copy, *e;
    int rc = 0, entry = 0;
    size_t n0 = list->n;

    if (err && errlen)
        err[0] = '\0';
    if (!copy)
        return text ? KMS_ENOMEM : KMS_EINVAL;
    while ((e = strsep(&save, ",")) != NULL) {
        char *w[4] = {NULL, NULL, NULL, NULL};
        char *ws = NULL, norm[256];
        int nw = 0, prio = -1, weight = -1;

        entry++;
        e = kms_trim(e);
        if (!*e && !save && entry > 1)
            break; /* one trailing comma */
        for (char *t = strtok_r(e, " \t\r\n", &ws); t; t = strtok_r(NULL, " \t\r\n", &ws))
            if (nw < 4)
                w[nw++] = t;
            else
                nw = 5;
        if (nw == 0) {
            kms_seterr(err, errlen, "entry %d: empty", entry);
            rc = KMS_EINVAL;
            break;
        }
        if (nw == 2 || nw > 3) {
            kms_seterr(err, errlen, "entry %d: expected \"domain\" or \"domain priority weight\"",
                       entry);
            rc = KMS_EINVAL;
            break;
        }
        if (kms_dname_display(w[0], KMS_DNAME_HOST, norm, sizeof norm) < 0) {
            kms_seterr(err, errlen, "entry %d: '%.80s' is not a valid domain name", entry, w[0]);
            rc = KMS_EINVAL;
            break;
        }
        if (pub_domains_find(list, norm) >= 0) {
            kms_seterr(err, errlen, "entry %d: domain '%s' listed twice", entry, norm);
            rc = KMS_EINVAL;
        }
        if (rc == 0 && list->n >= PUB_MAX_DOMAINS) {
            kms_seterr(err, errlen, "more than %d domains", PUB_MAX_DOMAINS);
            rc = KMS_EINVAL;
        }
        if (rc < 0)
            break;
        if (nw == 3) {
            uint64_t p, wt;
            int r1 = kms_uint_parse(w[1], 0, 65535, &p);
            int r2 = kms_uint_parse(w[2], 0, 65535, &wt);

            if (r1 < 0 || r2 < 0) {
                kms_seterr(err, errlen, "entry %d: priority and weight must be numbers 0..65535",
                           entry);
                rc = (r1 == KMS_ERANGE || r2 == KMS_ERANGE) ? KMS_ERANGE : KMS_EINVAL;
                break;
            }
            prio = (int)p;
            weight = (int)wt;
        }
        if ((rc = pub_domains_add(list, &(pub_domain_t){norm, prio, weight})) < 0)
            break;
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

char *pub_domains_format(const pub_domain_list_t *list)
{
    size_t cap = 1;
    char *s, *p;

    for (size_t i = 0; i < list->n; i++)
        cap += strlen(list->v[i].name) + 16; /* ", " and " 65535 65535" */
    if (!(s = p = malloc(cap)))
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < list->n; i++) {
        p += sprintf(p, "%s%s", i ? ", " : "", list->v[i].name);
        if (list->v[i].priority >= 0)
            p += sprintf(p, " %d %d", list->v[i].priority, list->v[i].weight);
    }
    return s;
}

int pub_domains_copy(pub_domain_list_t *dst, const pub_domain_list_t *src)
{
    pub_domain_list_t c = {0};

    pub_domain_list_free(dst);
    if (src->n == 0)
        return 0;
    if (!(c.v = calloc(src->n, sizeof *c.v)))
        return KMS_ENOMEM;
    c.cap = src->n;
    for (; c.n < src->n; c.n++) {
        c.v[c.n] = src->v[c.n];
        if (!(c.v[c.n].name = strdup(src->v[c.n].name))) {
            pub_domain_list_free(&c);
            return KMS_ENOMEM;
        }
    }
    *dst = c;
    return 0;
}

long pub_domains_find(const pub_domain_list_t *list, const char *name)
{
    for (size_t i = 0; i < list->n; i++)
        if (kms_dname_eq(list->v[i].name, name))
            return (long)i;
    return -1;
}

int pub_domains_equal(const pub_domain_list_t *a, const pub_domain_list_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].name, b->v[i].name) != 0 || a->v[i].priority != b->v[i].priority ||
            a->v[i].weight != b->v[i].weight)
            return 0;
    return 1;
}
