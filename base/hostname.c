/* SPDX-License-Identifier: MIT */
/*
 * hostname.c - this host's FQDN (see hostname.h).
 */
#include "base/hostname.h"

#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"

#define NAME_MAX_LEN 256

int kms_canon_lookup(const char *host, unsigned wait_ms, char *out, size_t len)
{
    /* Static: a lookup that outlives its wait still writes into the request
     * after we return; it is never reused while it runs (KMS_EBUSY). */
    static struct gaicb req;
    static struct addrinfo hints;
    static char name[NAME_MAX_LEN];
    static int running;
    struct gaicb *list[1] = {&req};
    struct timespec ts, now;
    uint64_t end;
    int rc;

    if (!host || !*host || strlen(host) >= sizeof name || len == 0)
        return KMS_EINVAL;
    if (running) {
        if (gai_error(&req) == EAI_INPROGRESS)
            return KMS_EBUSY;
        if (req.ar_result)
            freeaddrinfo(req.ar_result);
        running = 0;
    }
    memset(&req, 0, sizeof req);
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_CANONNAME;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(name, sizeof name, "%s", host);
    req.ar_name = name;
    req.ar_request = &hints;
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0)
        return KMS_ENOENT;
    running = 1;
    /* gai_suspend may return early (a signal, EAI_ALLDONE): wait what is
     * left of the bound, then gai_error decides */
    clock_gettime(CLOCK_MONOTONIC, &now);
    end = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u + wait_ms;
    for (;;) {
        uint64_t t;

        clock_gettime(CLOCK_MONOTONIC, &now);
        t = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
        if (t >= end)
            break;
        ts.tv_sec = (time_t)((end - t) / 1000u);
        ts.tv_nsec = (long)((end - t) % 1000u) * 1000000L;
        if (gai_suspend((const struct gaicb *const *)list, 1, &ts) != EAI_INTR)
            break;
    }
    rc = gai_error(&req);
    if (rc == EAI_INPROGRESS) {
        /* EAI_ALLDONE: it finished meanwhile, its answer counts */
        if (gai_cancel(&req) == EAI_NOTCANCELED)
            return KMS_ETIMEOUT; /* still running: left to finish into the statics */
        rc = gai_error(&req);
    }
    running = 0;
    if (rc != 0)
        return rc == EAI_CANCELED ? KMS_ETIMEOUT : KMS_ENOENT;
    rc = KMS_ENOENT;
    if (req.ar_result && req.ar_result->ai_canonname && strlen(req.ar_result->ai_canonname) < len) {
        snprintf(out, len, "%s", req.ar_result->ai_canonname);
        rc = 0;
    }
    freeaddrinfo(req.ar_result);
    req.ar_result = NULL;
    return rc;
}

/* 1 when @p s has a dot between labels ("kms1." is short). */
static int dotted(const char *s)
{
    const char *dot = strchr(s, '.');

    return dot && dot != s && dot[1] != '\0';
}

char *kms_fqdn_of(const char *hostname, kms_canon_fn canon, unsigned wait_ms, char *out, size_t len)
{
    char c[NAME_MAX_LEN];
    size_t n;

    if (len == 0)
        return out;
    snprintf(out, len, "%s", hostname ? hostname : "");
    n = strlen(out);
    if (n > 1 && out[n - 1] == '.')
        out[n - 1] = '\0'; /* "kms1." is the short name "kms1" */
    if (!out[0] || dotted(out))
        return out;
    if (!canon)
        canon = kms_canon_lookup;
    if (canon(out, wait_ms ? wait_ms : KMS_FQDN_WAIT_MS, c, sizeof c) == 0 && dotted(c)) {
        n = strlen(c);
        if (c[n - 1] == '.')
            c[n - 1] = '\0';
        snprintf(out, len, "%s", c);
    }
    return out;
}

char *kms_host_fqdn(unsigned wait_ms, char *out, size_t len)
{
    static char fqdn[NAME_MAX_LEN];
    static int done;
    char host[NAME_MAX_LEN];

    if (!done) {
        if (gethostname(host, sizeof host) != 0 || !host[0])
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        kms_fqdn_of(host, NULL, wait_ms, fqdn, sizeof fqdn);
        done = 1;
    }
    if (len)
        snprintf(out, len, "%s", fqdn);
    return out;
}
