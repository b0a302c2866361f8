/*
 * resolvconf.h - the part of resolv.conf(5) a KMS client's discovery needs.
 *
 * Keywords read: "nameserver ADDR" (first KMS_RC_MAX_NS kept, as glibc's
 * MAXNS), "search D..." and "domain D".  As in glibc, search and domain
 * replace each other and the last one in the file wins; "options" and
 * anything unknown are ignored; lines starting with '#' or ';' are comments.
 * Domains are stored without a final dot.  resolv.conf has no port syntax:
 * a test that needs a port passes the servers separately (kms-locate
 * --server) and uses a resolv.conf for its search list only.
 */
#ifndef KMS_RESOLVER_RESOLVCONF_H
#define KMS_RESOLVER_RESOLVCONF_H

#include <stddef.h>

#define LOC_RC_MAX_NS     3
#define LOC_RC_MAX_SEARCH 32
#define LOC_RC_NAME_MAX   254

typedef struct {
    char nameservers[LOC_RC_MAX_NS][64];
    size_t n_ns;
    char search[LOC_RC_MAX_SEARCH][LOC_RC_NAME_MAX + 1];
    size_t n_search;
} loc_resolvconf_t;

/** Parse @p len bytes of resolv.conf text (need not be NUL-terminated) into @p out.
 *  Over-long names and surplus entries are dropped.  Always 0. */
int loc_resolvconf_parse(const char *text, size_t len, loc_resolvconf_t *out);

/** Read and parse @p path (NULL: /etc/resolv.conf).  A missing file gives an
 *  empty result and 0, like the C library; 0 or KMS_EIO/KMS_ETOOBIG. */
int loc_resolvconf_load(const char *path, loc_resolvconf_t *out);

#endif
