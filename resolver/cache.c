/* SPDX-License-Identifier: MIT */
/*
 * cache.c - the KMS host cache file (see cache.h).
 */
#include "resolver/cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/json.h"
#include "dns/name.h"

#define CACHE_MAX_FILE 4096

int loc_host_valid(const char *s)
{
    char name[KMS_DNS_NAMELEN];
    size_t n = strlen(s);

    if (n == 0 || n >= LOC_HOST_MAX)
        return 0;
    if (strchr(s, ':')) {
        /* an IPv6 literal, perhaps scoped ("fe80::1%eth0"): parsed when used */
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == ':' || c == '%' || c == '_' || c == '-';
            if (!ok)
                return 0;
        }
        return 1;
    }
    /* a host name or an IPv4 address (which is a valid name too) */
    return kms_dname_display(s, KMS_DNAME_ANY, name, sizeof name) == 0 && strcmp(name, ".") != 0;
}

/* 1 when @p s is a numeric IPv4 or IPv6 address (no port, no brackets). */
static int ip_valid(const char *s)
{
    struct in6_addr a;

    return strlen(s) < LOC_IP_MAX &&
           (inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1);
}

int loc_cache_parse(const char *text, size_t len, loc_cache_entry_t *out)
{
    kms_json_t *v = NULL, *addr;
    const char *host;
    int64_t version, port, t;
    int rc = KMS_ECORRUPT;

    memset(out, 0, sizeof(*out));
    if (!text || len == 0 || len > CACHE_MAX_FILE || memchr(text, '\0', len))
        return KMS_ECORRUPT;
    {
        char *copy = malloc(len + 1); /* the parser wants a NUL-terminated string */
        if (!copy)
            return KMS_ENOMEM;
        memcpy(copy, text, len);
        copy[len] = '\0';
        v = kms_json_parse(copy, NULL, 0);
        free(copy);
    }
    if (!v)
        return KMS_ECORRUPT;
    if (kms_json_int(kms_json_get(v, "version"), &version) != 0 || version != 1)
        goto done;
    host = kms_json_str(kms_json_get(v, "host"));
    if (!host || !loc_host_valid(host))
        goto done;
    if (kms_json_int(kms_json_get(v, "port"), &port) != 0 || port < 1 || port > 65535)
        goto done;
    if (kms_json_int(kms_json_get(v, "time"), &t) != 0 || t < 0)
        goto done;
    addr = kms_json_get(v, "address"); /* optional */
    if (addr && (!kms_json_str(addr) || !ip_valid(kms_json_str(addr))))
        goto done;
    snprintf(out->host, sizeof(out->host), "%s", host);
    out->port = (uint16_t)port;
    out->time = t;
    if (addr)
        snprintf(out->addr, sizeof(out->addr), "%s", kms_json_str(addr));
    rc = 0;
done:
    kms_json_free(v);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int loc_cache_load(const char *path, loc_cache_entry_t *out)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = kms_file_read(path, CACHE_MAX_FILE, &buf, &len);
    if (rc == KMS_ETOOBIG)
        return KMS_ECORRUPT;
    if (rc != 0)
        return rc;
    rc = loc_cache_parse(buf, len, out);
    free(buf);
    return rc;
}

int loc_cache_store(const char *path, const char *host, uint16_t port, const char *addr,
                    int64_t now)
{
    kms_json_t *v;
    char *text = NULL;
    int rc = KMS_ENOMEM;

    if (!loc_host_valid(host) || port == 0 || (addr && *addr && !ip_valid(addr)))
        return KMS_EINVAL;
    v = kms_json_object();
    if (!v || kms_json_set_int(v, "version", 1) || kms_json_set_str(v, "host", host) ||
        kms_json_set_int(v, "port", port) || kms_json_set_int(v, "time", now) ||
        (addr && *addr && kms_json_set_str(v, "address", addr)))
        goto done;
    text = kms_json_dump(v, 0);
    if (!text || (rc = kms_mkdir_parent(path, 0700)) != 0)
        goto done;
    {
        size_t n = strlen(text);
        char *line = malloc(n + 2);
        if (!line) {
            rc = KMS_ENOMEM;
            goto done;
        }
        memcpy(line, text, n);
        line[n] = '\n';
        rc = kms_file_write_atomic(path, line, n + 1, 0600);
        free(line);
    }
done:
    kms_json_free(v);
    free(text);
    return rc;
}

int loc_cache_drop(const char *path)
{
    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    return KMS_EIO;
}

char *loc_cache_default_path(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char buf[4096];

    if (state && state[0] == '/')
        snprintf(buf, sizeof(buf), "%s/kmsdns/host-cache", state);
    else if (home && home[0] == '/')
        snprintf(buf, sizeof(buf), "%s/.cache/kmsdns/host-cache", home);
    else
        return NULL;
    return strdup(buf);
}
