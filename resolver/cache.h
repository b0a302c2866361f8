/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the KMS host cache (slmgr /skhc, /ckhc).
 *
 * A Windows client remembers the last KMS host that answered and tries it
 * first next time, before (and regardless of) the priority and weight of the
 * SRV records; if that host fails it is forgotten and DNS decides again.
 * kms-locate keeps that one entry in a small JSON state file:
 *
 *   {"version": 1, "host": "kms1.kms.test", "port": 1688, "time": 1764063000,
 *    "address": "127.0.0.11"}
 *
 * "address" (optional; numeric IPv4 or IPv6, no port) is the address that
 * answered, as Windows keeps the host's IP address beside its name: a cached
 * host is probed there first, with no DNS query at all.
 *
 * Default path: $XDG_STATE_HOME/kmsdns/host-cache, else
 * ~/.cache/kmsdns/host-cache.  Writes are atomic (base/fsutil.h).  The file
 * is parsed strictly: anything but the documented object (wrong types, bad
 * host name, port out of range, trailing bytes, NULs) is KMS_ECORRUPT and
 * is treated as "no cache" by the caller, never trusted in part.
 */
#ifndef KMS_RESOLVER_CACHE_H
#define KMS_RESOLVER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define LOC_HOST_MAX 256
#define LOC_IP_MAX   46 /* INET6_ADDRSTRLEN */

typedef struct {
    char host[LOC_HOST_MAX]; /* name (no final dot) or numeric address */
    uint16_t port;
    int64_t time;          /* Unix time of the last successful contact */
    char addr[LOC_IP_MAX]; /* the address that answered; "" when unknown */
} loc_cache_entry_t;

/** Parse cache text of @p len bytes.  0 or KMS_ECORRUPT. */
int loc_cache_parse(const char *text, size_t len, loc_cache_entry_t *out);

/** Load @p path.  0, KMS_ENOENT (no cache), KMS_ECORRUPT, KMS_EIO/KMS_ETOOBIG. */
int loc_cache_load(const char *path, loc_cache_entry_t *out);

/** Remember @p host:@p port and the numeric address @p addr that answered
 *  (NULL or "": none), creating the directory.  0 or KMS_E*. */
int loc_cache_store(const char *path, const char *host, uint16_t port, const char *addr,
                    int64_t now);

/** Forget the cached host.  0 (also when there was none) or KMS_EIO. */
int loc_cache_drop(const char *path);

/** The default cache path, malloc'd (caller frees); NULL when no home is known. */
char *loc_cache_default_path(void);

/** 1 when @p s is acceptable as a host (DNS name or numeric address). */
int loc_host_valid(const char *s);

#endif
