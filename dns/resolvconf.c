/* SPDX-License-Identifier: MIT */
/*
 * resolvconf.c - a small resolv.conf reader (see resolvconf.h).
 */
#include "dns/resolvconf.h"

#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/fsutil.h"

#define RC_MAX_FILE (1u << 20)

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Next whitespace-separated word of [*p, end); 0 when none is left. */
static size_t next_word(const char **p, const char *end, const char **word)
{
    const char *s = *p;

    while (s < end && is_space(*s))
        s++;
    *word = s;
    while (s < end && !is_space(*s))
        s++;
    *p = s;
    return (size_t)(s - *word);
}

static int keyword(const char *w, size_t n, const char *k)
{
    return n == strlen(k) && memcmp(w, k, n) == 0;
}

static void add_search(kms_resolvconf_t *rc, const char *w, size_t n)
{
    if (n > 1 && w[n - 1] == '.')
        n--;
    if (n == 0 || n > KMS_RC_NAME_MAX || rc->n_search >= KMS_RC_MAX_SEARCH)
        return;
    if (n == 1 && w[0] == '.')
        return; /* the root is not a search domain */
    for (size_t i = 0; i < n; i++)
        if (w[i] == '\0')
            return;
    memcpy(rc->search[rc->n_search], w, n);
    rc->search[rc->n_search][n] = '\0';
    rc->n_search++;
}

static void parse_line(kms_resolvconf_t *rc, const char *s, const char *end)
{
    const char *w;
    size_t n = next_word(&s, end, &w);

    if (n == 0 || w[0] == '#' || w[0] == ';')
        return;
    if (keyword(w, n, "nameserver")) {
        n = next_word(&s, end, &w);
        if (n == 0 || n >= sizeof(rc->nameservers[0]) || rc->n_ns >= KMS_RC_MAX_NS)
            return;
        memcpy(rc->nameservers[rc->n_ns], w, n);
        rc->nameservers[rc->n_ns][n] = '\0';
        rc->n_ns++;
    } else if (keyword(w, n, "domain")) {
        rc->n_search = 0; /* glibc: domain and search replace each other */
        n = next_word(&s, end, &w);
        if (n)
            add_search(rc, w, n);
    } else if (keyword(w, n, "search")) {
        rc->n_search = 0;
        while ((n = next_word(&s, end, &w)) != 0)
            add_search(rc, w, n);
    }
}

int kms_resolvconf_parse(const char *text, size_t len, kms_resolvconf_t *out)
{
    const char *p = text, *end = text + len;

    memset(out, 0, sizeof(*out));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;

        parse_line(out, p, eol);
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int kms_resolvconf_load(const char *path, kms_resolvconf_t *out)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = kms_file_read(path ? path : "/etc/resolv.conf", RC_MAX_FILE, &buf, &len);
    if (rc == KMS_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    kms_resolvconf_parse(buf, len, out);
    free(buf);
    return 0;
}

size_t kms_resolvconf_servers(const kms_resolvconf_t *rc, struct sockaddr_storage *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; rc && i < rc->n_ns && n < max; i++)
        if (kms_addr_parse(rc->nameservers[i], 53, &out[n]) == 0)
            n++;
    return n;
}
