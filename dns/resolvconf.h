/* SPDX-License-Identifier: MIT */
/*
 * resolvconf.h - the one reader of resolv.conf(5): the nameservers the
 * publisher and the query engine ask when none is given, and the search
 * list of a KMS client's discovery.
 *
 * Keywords read: "nameserver ADDR" (first KMS_RC_MAX_NS kept, as glibc's
 * MAXNS), "search D..." and "domain D".  As in glibc, search and domain
 * replace each other and the last one in the file wins; "options" and
 * anything unknown are ignored; lines starting with '#' or ';' are comments.
 * Domains are stored without a final dot.  resolv.conf has no port syntax:
 * a test that needs a port passes the servers separately (kms-locate
 * --server) and uses a resolv.conf for its search list only.
 */
#ifndef KMS_DNS_RESOLVCONF_H
#define KMS_DNS_RESOLVCONF_H

#include <stddef.h>
#include <sys/socket.h>

#define KMS_RC_MAX_NS     3
#define KMS_RC_MAX_SEARCH 32
#define KMS_RC_NAME_MAX   254

typedef struct {
    char nameservers[KMS_RC_MAX_NS][64];
    size_t n_ns;
    char search[KMS_RC_MAX_SEARCH][KMS_RC_NAME_MAX + 1];
    size_t n_search;
} kms_resolvconf_t;

/** Parse @p len bytes of resolv.conf text (need not be NUL-terminated) into @p out.
 *  Over-long names and surplus entries are dropped.  Always 0. */
int kms_resolvconf_parse(const char *text, size_t len, kms_resolvconf_t *out);

/**
 * The nameservers of @p rc that parse as numeric addresses, with port 53,
 * in file order, into @p out (room for @p max).  Returns how many were
 * written (0 when the file names none: the C library would then ask
 * 127.0.0.1; callers decide).
 */
size_t kms_resolvconf_servers(const kms_resolvconf_t *rc, struct sockaddr_storage *out, size_t max);

/** Read and parse @p path (NULL: /etc/resolv.conf).  A missing file gives an
 *  empty result and 0, like the C library; 0 or KMS_EIO/KMS_ETOOBIG. */
int kms_resolvconf_load(const char *path, kms_resolvconf_t *out);

#endif
