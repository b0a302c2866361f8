/* SPDX-License-Identifier: MIT */
#include "base/addr.h"

#include "base/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kms_port_parse(const char *s, uint16_t *port)
{
    char *end;
    unsigned long v;

    *port = 0;
    if (!*s || *s < '0' || *s > '9')
        return KMS_EINVAL;
    v = strtoul(s, &end, 10);
    if (*end)
        return KMS_EINVAL;
    if (v < 1 || v > 65535)
        return KMS_ERANGE;
    *port = (uint16_t)v;
    return 0;
}

int kms_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port_s = NULL;
    uint16_t port = default_port;
    const char *colon = strchr(s, ':');
    size_t hlen;

    memset(out, 0, sizeof *out);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (!close)
            return KMS_EADDR;
        hlen = (size_t)(close - s - 1);
        if (hlen >= sizeof host)
            return KMS_EADDR;
        memcpy(host, s + 1, hlen);
        host[hlen] = 0;
        if (close[1] == ':')
            port_s = close + 2;
        else if (close[1])
            return KMS_EADDR;
    } else if (colon && strchr(colon + 1, ':')) {
        /* Two or more colons without brackets: a bare IPv6 address. */
        if (strlen(s) >= sizeof host)
            return KMS_EADDR;
        strcpy(host, s);
    } else {
        hlen = colon ? (size_t)(colon - s) : strlen(s);
        if (hlen >= sizeof host)
            return KMS_EADDR;
        memcpy(host, s, hlen);
        host[hlen] = 0;
        if (colon)
            port_s = colon + 1;
    }
    if (port_s) {
        int r = kms_port_parse(port_s, &port);

        if (r)
            return r;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;

    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        return 0;
    }
    memset(out, 0, sizeof *out);
    return KMS_EADDR;
}

/* style: 0 "a:port" / "[a]:port", 1 "a#port" (named's), 2 "a" (no port) */
static char *format(const struct sockaddr *sa, char *buf, int style)
{
    char host[INET6_ADDRSTRLEN];
    uint16_t port = kms_addr_port(sa);

    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
        snprintf(buf, KMS_ADDRSTRLEN, style == 2 ? "%s" : style ? "%s#%u" : "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
        snprintf(buf, KMS_ADDRSTRLEN, style == 2 ? "%s" : style ? "%s#%u" : "[%s]:%u", host, port);
    } else {
        snprintf(buf, KMS_ADDRSTRLEN, "(unknown address family %d)", sa->sa_family);
    }
    return buf;
}

char *kms_addr_format(const struct sockaddr *sa, char *buf)
{
    return format(sa, buf, 0);
}

char *kms_addr_format_dns(const struct sockaddr *sa, char *buf)
{
    return format(sa, buf, 1);
}

char *kms_addr_format_ip(const struct sockaddr *sa, char *buf)
{
    return format(sa, buf, 2);
}

uint16_t kms_addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

void kms_addr_set_port(struct sockaddr *sa, uint16_t port)
{
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *)sa)->sin_port = htons(port);
    else if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

socklen_t kms_addr_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

int kms_addr_from_bytes(int family, const uint8_t *bytes, uint16_t port,
                        struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, bytes, 4);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, bytes, 16);
    } else {
        return KMS_EINVAL;
    }
    kms_addr_set_port((struct sockaddr *)out, port);
    return 0;
}
