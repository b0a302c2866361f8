/* SPDX-License-Identifier: MIT */
/*
 * listen.c - see listen.h.
 */
#include "kms/daemon/listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"

char *kms_listen_format(const struct sockaddr_storage *a, char *buf)
{
    kms_addr_format((const struct sockaddr *)a, buf);
    if (kms_addr_port((const struct sockaddr *)a) == 0)
        buf[strlen(buf) - 2] = '\0'; /* drop ":0" */
    return buf;
}

/* Append @p a unless the list has it or is full. */
static int add(struct sockaddr_storage **list, size_t *n, const struct sockaddr_storage *a,
               char *why, size_t whylen)
{
    struct sockaddr_storage *nl;
    char buf[KMS_ADDRSTRLEN];

    for (size_t i = 0; i < *n; i++) {
        if (memcmp(&(*list)[i], a, sizeof *a) == 0) {
            kms_seterr(why, whylen, "address %s listed twice", kms_listen_format(a, buf));
            return KMS_EINVAL;
        }
    }
    if (*n == KMS_LISTEN_MAX) {
        kms_seterr(why, whylen, "more than %u addresses", KMS_LISTEN_MAX);
        return KMS_EINVAL;
    }
    if (!(nl = realloc(*list, (*n + 1) * sizeof *nl)))
        return KMS_ENOMEM;
    *list = nl;
    nl[(*n)++] = *a;
    return 0;
}

int kms_listen_parse(const char *text, struct sockaddr_storage **out, size_t *n, char *why,
                     size_t whylen)
{
    char *copy = strdup(text), *save, *item;
    struct sockaddr_storage *list = NULL;
    size_t count = 0;
    int r = 0;

    *out = NULL;
    *n = 0;
    if (!copy)
        return KMS_ENOMEM;
    save = copy;
    while ((item = strsep(&save, ",")) != NULL) {
        struct sockaddr_storage ss[2];
        uint16_t port;
        size_t nss = 0;

        item = kms_trim(item);
        if (!*item && !save && count)
            break; /* a trailing comma (the list continues on the next line) */
        if (!*item) {
            kms_seterr(why, whylen, "empty entry in address list");
            r = KMS_EINVAL;
            break;
        }
        if (strspn(item, "0123456789") == strlen(item)) {
            if (kms_port_parse(item, &port) < 0) {
                kms_seterr(why, whylen, "'%s' is not a port (1..65535)", item);
                r = KMS_EINVAL;
                break;
            }
            kms_addr_parse("0.0.0.0", port, &ss[nss++]);
            kms_addr_parse("::", port, &ss[nss++]);
        } else if (kms_addr_parse(item, 0, &ss[nss++]) < 0) {
            kms_seterr(why, whylen, "'%s' is not a numeric address[:port]", item);
            r = KMS_EINVAL;
            break;
        }
        for (size_t k = 0; k < nss && r == 0; k++)
            r = add(&list, &count, &ss[k], why, whylen);
        if (r < 0)
            break;
    }
    if (r == 0 && count == 0) {
        kms_seterr(why, whylen, "no address given");
        r = KMS_EINVAL;
    }
    free(copy);
    if (r < 0) {
        free(list);
        return r;
    }
    *out = list;
    *n = count;
    return 0;
}
