/* SPDX-License-Identifier: MIT */
/*
 * locate.h - one KMS host discovery, as a Windows KMS client makes it, on a
 * libuv loop.
 *
 *  1. A manual host (slmgr /skms) is the only host: no DNS for SRV records
 *     (its name, unless numeric, is resolved to addresses).
 *  2. Otherwise the host cache (/skhc) puts the last host that answered
 *     first, outside priority and weight.  When probing (without `all`),
 *     the cached host is probed before any SRV query, at the address that
 *     answered last time (its A/AAAA are looked up only when none is
 *     cached): if it answers, discovery ends there and DNS is never asked
 *     for SRV records, as a Windows client asks DNS only when the cached
 *     host fails; if it fails it is dropped from the cache and the domains
 *     are queried (step 3) for the other hosts.  Without probing, or with
 *     `all`, the full list is wanted: DNS is queried and the cached host is
 *     listed first (merged with its SRV record when DNS lists it).
 *  3. The domains (resolver/domains.h) are queried in turn for
 *     "_vlmcs._tcp.<domain>." SRV records until one yields records; every
 *     domain's outcome is recorded.  The records are ordered by priority
 *     and RFC 2782 weight (resolver/order.h).
 *  4. Addresses come from the ADDITIONAL section of the SRV answer when the
 *     server sent them; otherwise each target is resolved (A and AAAA).
 *  5. With probing, hosts are tried in order (every address of a host in
 *     turn) until one answers (all of them with `all`).  A cached host that
 *     fails is dropped from the cache; the host that answered is stored.
 *
 * The final outcome (resolver/outcome.h): OK when a host was found (and
 * answered, when probing); else the last domain failure when no domain had
 * records; 0x800706BA when the manual host did not answer (what Windows
 * reports for a KMS host set with /skms); 0xC004F074 when hosts from DNS or
 * the cache were listed but none answered.
 *
 * Many discoveries may run at once on one DNS engine (kms_dnsq_t).
 */
#ifndef KMS_RESOLVER_LOCATE_H
#define KMS_RESOLVER_LOCATE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include "dns/query.h"
#include "dns/srv.h"
#include "resolver/cname.h"
#include "resolver/domains.h"
#include "resolver/order.h"
#include "resolver/probe.h"

#define LOC_KMS_PORT  1688
#define LOC_MAX_ADDRS 8

typedef enum {
    LOC_HOST_MANUAL = 0, /* --kms (/skms) */
    LOC_HOST_CACHE,      /* host cache (/skhc) */
    LOC_HOST_SRV,        /* an SRV record */
} loc_host_source_t;

typedef enum {
    LOC_ADDRS_NONE = 0,
    LOC_ADDRS_LITERAL,    /* the host is a numeric address */
    LOC_ADDRS_ADDITIONAL, /* glue from the SRV answer's ADDITIONAL section */
    LOC_ADDRS_RESOLVED,   /* separate A/AAAA queries */
    LOC_ADDRS_CACHE,      /* the address the host cache remembered */
} loc_addrs_from_t;

/** One IPv4 or IPv6 socket address (a fraction of sockaddr_storage's size). */
typedef union {
    struct sockaddr sa;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
} loc_sockaddr_t;

typedef struct {
    char target[KMS_DNS_NAMELEN];
    uint16_t port, priority, weight;
    loc_host_source_t source;
    loc_pick_t pick;     /* LOC_HOST_SRV: its place in RFC 2782 order */
    int also_srv;        /* cached host that DNS lists too */
    loc_pick_t srv_pick; /* ... at this place */
    loc_sockaddr_t addrs[LOC_MAX_ADDRS];
    size_t n_addrs;
    loc_addrs_from_t addrs_from;
    int glue_completed; /* glue had one family; the other was looked up before the probe */
    int resolve_status; /* KMS_E* of the A/AAAA lookups when no address */
    int probed;
    loc_probe_result_t probe; /* the last address tried (the one that answered) */
    size_t probe_tries;
    size_t answered_addr; /* index in addrs of the address that answered */
} loc_host_t;

typedef struct {
    loc_domain_t dom;
    int queried;
    int status;  /* 0: SRV records; KMS_E* */
    uint32_t hr; /* outcome of this domain */
    size_t n_records;
    int no_service;    /* the single "." target */
    loc_chain_t chain; /* CNAMEs followed from dom.qname (the records are the last name's) */
} loc_domain_result_t;

typedef enum {
    LOC_CACHE_OFF = 0, /* --no-cache (/ckhc) */
    LOC_CACHE_EMPTY,   /* enabled, nothing cached */
    LOC_CACHE_HIT,     /* a host was cached and put first */
    LOC_CACHE_CORRUPT, /* the file did not parse: ignored */
} loc_cache_state_t;

typedef struct {
    loc_domain_result_t *domains; /* owned; n_domains entries, in query order */
    size_t n_domains;
    loc_host_t *hosts; /* try order; owned */
    size_t n_hosts;
    size_t cap_hosts;
    uint32_t outcome; /* HRESULT (resolver/outcome.h) */
    long answered;    /* index of the first host that answered; -1 */
    uint64_t queries; /* DNS queries this discovery sent */
    loc_cache_state_t cache;
    int cache_updated; /* 1 stored, -1 dropped, 0 unchanged */
    int cache_first;   /* the cached host was probed before any SRV query */
    int dns_skipped;   /* ... and answered: no SRV query was made */
    int probed;
    uint64_t seed;
} loc_result_t;

typedef struct {
    const char *manual_host; /* "HOST[:PORT]" or NULL */
    const loc_domain_t *domains;
    size_t n_domains;
    int probe, all;
    unsigned probe_timeout_ms;    /* connect and bind, each, per address (0: 2000) */
    uint32_t activation_required; /* 0: bind only; else also an activation request
                                     with this required count (0xC004F038 below it) */
    const kms_guid_t *client_id;  /* its client machine ID (NULL: random); copied */
    const char *cache_path;       /* NULL: no cache (/ckhc) */
    uint64_t seed;                /* 0: random */
} loc_opts_t;

/** Completion: @p res is owned by the callee, free it with loc_result_free(). */
typedef void (*loc_done_cb)(void *ud, int err, loc_result_t *res);

/**
 * Start a discovery.  @p cb runs once from the loop with err 0 and a result
 * (whatever the outcome), or a negative KMS_E* and NULL on an internal error
 * (ENOMEM).  @p o and the domains are copied.
 * @return 0, KMS_EINVAL (bad manual host), KMS_ENOMEM.
 */
int loc_locate_start(uv_loop_t *loop, kms_dnsq_t *dns, const loc_opts_t *o, loc_done_cb cb,
                     void *ud);

/** Free a result; NULL is a no-op. */
void loc_result_free(loc_result_t *r);

/** Split "HOST[:PORT]" / "[v6]:PORT" / "v6"; 0 or KMS_EINVAL. */
int loc_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

/** Words for why host @p i is at its place (for --explain) into @p buf. */
char *loc_host_explain(const loc_result_t *r, size_t i, char *buf, size_t len);

/**
 * Fill @p h's addresses from an SRV answer's A/AAAA records for its target
 * (no query).  Returns the number of addresses added.
 */
size_t loc_addrs_from_answer(loc_host_t *h, const kms_srv_answer_t *a);

#endif
