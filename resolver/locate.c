/* SPDX-License-Identifier: MIT */
/*
 * locate.c - one discovery: cache, domains, SRV, ordering, addresses,
 * probes (see locate.h).
 */
#include "resolver/locate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/addr.h"
#include "base/err.h"
#include "resolver/cache.h"
#include "resolver/outcome.h"

#define DEFAULT_PROBE_MS 2000

#define LOC_FAILED_MAX 32

typedef struct job {
    uv_loop_t *loop;
    kms_dnsq_t *dns;
    uv_timer_t kick; /* never started; closing it delivers the completion from the loop */
    loc_done_cb cb;
    void *ud;
    loc_result_t *res;
    loc_rng_t rng;
    char manual[LOC_HOST_MAX + 8];
    char *cache_path;
    int probe, all;
    unsigned probe_ms;
    uint32_t required;
    kms_guid_t client_id;
    int have_client_id;
    size_t dom_i;
    int inflight;
    int cache_first; /* probing the cached host before DNS */
    size_t probe_host, probe_addr;
    /* addresses that failed a probe in this run, with that result: a later
       host at the same address and port (the cached host's own SRV record,
       say) is not waited for again */
    struct {
        loc_sockaddr_t sa;
        loc_probe_result_t pr;
    } failed[LOC_FAILED_MAX];
    size_t n_failed;
    int err;
    int done;
} job_t;

typedef struct {
    job_t *job;
    size_t host;
} addrq_t;

static void next_domain(job_t *j);
static void resolve_phase(job_t *j);
static void probe_next(job_t *j);
static void finish(job_t *j, int err);

/* ---- helpers ----------------------------------------------------------- */

int loc_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    struct sockaddr_storage ss;
    const char *colon;
    size_t n;

    *port = LOC_KMS_PORT;
    if (!s || !*s)
        return KMS_EINVAL;
    if (kms_addr_parse(s, LOC_KMS_PORT, &ss) == 0) {
        /* numeric: keep the address text without brackets or port */
        char buf[KMS_ADDRSTRLEN];
        snprintf(host, hostlen, "%s", kms_addr_format_ip((struct sockaddr *)&ss, buf));
        *port = kms_addr_port((struct sockaddr *)&ss);
        return 0;
    }
    colon = strchr(s, ':');
    if (colon && strchr(colon + 1, ':'))
        return KMS_EINVAL; /* a v6 address that did not parse */
    n = colon ? (size_t)(colon - s) : strlen(s);
    if (n == 0 || n >= hostlen)
        return KMS_EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    if (n > 1 && host[n - 1] == '.')
        host[n - 1] = '\0';
    if (!loc_host_valid(host))
        return KMS_EINVAL;
    if (colon && kms_port_parse(colon + 1, port) != 0)
        return KMS_EINVAL;
    return 0;
}

static void add_addr(loc_host_t *h, int family, const uint8_t *bytes)
{
    loc_sockaddr_t ss;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        ss.sin.sin_family = AF_INET;
        memcpy(&ss.sin.sin_addr, bytes, 4);
    } else {
        ss.sin6.sin6_family = AF_INET6;
        memcpy(&ss.sin6.sin6_addr, bytes, 16);
    }
    kms_addr_set_port(&ss.sa, h->port);
    for (size_t i = 0; i < h->n_addrs; i++)
        if (memcmp(&h->addrs[i], &ss, sizeof(ss)) == 0)
            return;
    if (h->n_addrs < LOC_MAX_ADDRS)
        h->addrs[h->n_addrs++] = ss;
}

size_t loc_addrs_from_answer(loc_host_t *h, const kms_srv_answer_t *a)
{
    size_t before = h->n_addrs;

    /* IPv4 first, then IPv6, each in the server's order. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < a->naddrs; i++) {
            const kms_addr_rec_t *x = &a->addrs[i];
            if ((pass == 0) != (x->family == AF_INET))
                continue;
            if (kms_dname_eq(x->name, h->target))
                add_addr(h, x->family, x->addr);
        }
    return h->n_addrs - before;
}

/* Keep only the SRV records owned by the question name (no stray owners). */
static void keep_owned(kms_srv_answer_t *a, const char *qname)
{
    size_t k = 0;

    for (size_t i = 0; i < a->nsrv; i++)
        if (kms_dname_eq(a->srv[i].owner, qname)) {
            if (k != i)
                a->srv[k] = a->srv[i];
            k++;
        }
    a->nsrv = k;
}

static int literal_addr(loc_host_t *h)
{
    struct sockaddr_storage ss;

    if (kms_addr_parse(h->target, h->port, &ss) != 0)
        return 0;
    memset(&h->addrs[0], 0, sizeof(h->addrs[0]));
    memcpy(&h->addrs[0], &ss, kms_addr_len((struct sockaddr *)&ss));
    h->n_addrs = 1;
    h->addrs_from = LOC_ADDRS_LITERAL;
    return 1;
}

/* The numeric address @p ip (from the host cache) as @p h's only address. */
static int cached_addr(loc_host_t *h, const char *ip)
{
    uint8_t b[16];

    if (inet_pton(AF_INET, ip, b) == 1)
        add_addr(h, AF_INET, b);
    else if (inet_pton(AF_INET6, ip, b) == 1)
        add_addr(h, AF_INET6, b);
    return h->n_addrs > 0;
}

static loc_host_t *push_host(job_t *j)
{
    loc_result_t *r = j->res;
    loc_host_t *n = r->hosts;

    if (r->n_hosts >= r->cap_hosts) {
        n = realloc(r->hosts, (r->n_hosts + 1) * sizeof(*n));
        if (!n)
            return NULL;
        r->hosts = n;
        r->cap_hosts = r->n_hosts + 1;
    }
    memset(&n[r->n_hosts], 0, sizeof(*n));
    return &n[r->n_hosts++];
}

/* ---- steps ------------------------------------------------------------- */

static void on_srv(void *ud, int status, const uint8_t *msg, size_t len)
{
    job_t *j = ud;
    loc_result_t *r = j->res;
    loc_domain_result_t *d = &r->domains[j->dom_i];
    kms_srv_answer_t *a = NULL;
    loc_pick_t *picks = NULL;
    size_t n_picks = 0;

    d->queried = 1;
    if (status == KMS_ECANCELED) {
        d->status = status;
        d->hr = LOC_HR_TIMEOUT;
        finish(j, 0);
        return;
    }
    if (status == 0 && (status = kms_srv_answer_parse(msg, len, &a)) == 0) {
        size_t added = 0;
        const char *owner;

        /* an alias: the records are its chain's last name's (cname.h) */
        status = loc_chain_follow(&d->chain, d->dom.qname, a, &added);
        owner = loc_chain_last(&d->chain, d->dom.qname);
        if (status == 0)
            keep_owned(a, owner);
        if (status == 0 && a->nsrv == 0 && added > 0) {
            /* a bare CNAME (the server neither holds nor fetched the target):
             * ask for the name it leads to, the chain bounding the asking */
            kms_srv_answer_free(a);
            r->queries++;
            if ((status = kms_dnsq_send(j->dns, owner, KMS_DNS_TYPE_SRV, on_srv, j)) == 0)
                return;
            r->queries--;
            a = NULL;
        }
        if (status == 0 && a->nsrv == 0)
            status = KMS_EDNS_NODATA; /* other owners only */
    }
    if (status == 0) {
        d->n_records = a->nsrv;
        picks = calloc(a->nsrv, sizeof(*picks));
        if (!picks) {
            kms_srv_answer_free(a);
            finish(j, KMS_ENOMEM);
            return;
        }
        status = loc_order(a->srv, a->nsrv, &j->rng, picks, &n_picks);
        if (status == KMS_EDNS_NODATA)
            d->no_service = 1;
        else if (status == 0 && n_picks == 0)
            status = KMS_EDNS_NODATA;
    }
    d->status = status;
    d->hr = loc_hr_from_dns(status);
    if (status == KMS_ENOMEM) {
        free(picks);
        kms_srv_answer_free(a);
        finish(j, KMS_ENOMEM);
        return;
    }
    if (status != 0) {
        free(picks);
        kms_srv_answer_free(a);
        j->dom_i++;
        next_domain(j);
        return;
    }
    {
        /* room for every record at once (one allocation, not one per host) */
        loc_host_t *grown = realloc(r->hosts, (r->n_hosts + n_picks) * sizeof(*grown));
        if (!grown) {
            free(picks);
            kms_srv_answer_free(a);
            finish(j, KMS_ENOMEM);
            return;
        }
        r->hosts = grown;
        r->cap_hosts = r->n_hosts + n_picks;
    }
    for (size_t k = 0; k < n_picks; k++) {
        const kms_srv_rec_t *s = &a->srv[picks[k].index];
        loc_host_t *h = NULL;

        /* The cached host keeps its first place; note that DNS lists it. */
        for (size_t c = 0; c < r->n_hosts; c++)
            if (r->hosts[c].source == LOC_HOST_CACHE && !r->hosts[c].also_srv &&
                !r->hosts[c].probed && kms_dname_eq(r->hosts[c].target, s->target) &&
                r->hosts[c].port == s->port) {
                size_t had = r->hosts[c].n_addrs;
                h = &r->hosts[c];
                h->also_srv = 1;
                h->srv_pick = picks[k];
                h->priority = s->priority;
                h->weight = s->weight;
                /* the cached address first, then what DNS says now */
                if (loc_addrs_from_answer(h, a) && had == 0)
                    h->addrs_from = LOC_ADDRS_ADDITIONAL;
                break;
            }
        if (h)
            continue;
        h = push_host(j);
        if (!h) {
            free(picks);
            kms_srv_answer_free(a);
            finish(j, KMS_ENOMEM);
            return;
        }
        kms_dname_shown(s->target, h->target, sizeof(h->target));
        h->port = s->port;
        h->priority = s->priority;
        h->weight = s->weight;
        h->source = LOC_HOST_SRV;
        h->pick = picks[k];
        if (!literal_addr(h) && loc_addrs_from_answer(h, a))
            h->addrs_from = LOC_ADDRS_ADDITIONAL;
    }
    free(picks);
    kms_srv_answer_free(a);
    resolve_phase(j);
}

static void next_domain(job_t *j)
{
    loc_result_t *r = j->res;
    int rc;

    if (j->dom_i >= r->n_domains) {
        resolve_phase(j); /* no records anywhere: the cached host may remain */
        return;
    }
    r->queries++;
    rc = kms_dnsq_send(j->dns, r->domains[j->dom_i].dom.qname, KMS_DNS_TYPE_SRV, on_srv, j);
    if (rc != 0) {
        r->queries--;
        r->domains[j->dom_i].queried = 1;
        r->domains[j->dom_i].status = rc;
        r->domains[j->dom_i].hr = loc_hr_from_dns(rc);
        j->dom_i++;
        next_domain(j); /* bounded by the number of domains */
    }
}

/* Resolved addresses in a fixed order whatever order the A and AAAA answers
 * came in: IPv4 first, then IPv6 (as glue is ordered), each in answer order. */
static void order_resolved(loc_result_t *r)
{
    for (size_t i = 0; i < r->n_hosts; i++) {
        loc_host_t *h = &r->hosts[i];
        loc_sockaddr_t v[LOC_MAX_ADDRS];
        size_t k = 0;

        if (h->addrs_from != LOC_ADDRS_RESOLVED && !h->glue_completed)
            continue;
        for (int pass = 0; pass < 2; pass++)
            for (size_t a = 0; a < h->n_addrs; a++)
                if ((pass == 0) == (h->addrs[a].sa.sa_family == AF_INET))
                    v[k++] = h->addrs[a];
        memcpy(h->addrs, v, k * sizeof v[0]);
    }
}

static void on_addr(void *ud, int status, const uint8_t *msg, size_t len)
{
    addrq_t *q = ud;
    job_t *j = q->job;
    loc_host_t *h = &j->res->hosts[q->host];
    kms_srv_answer_t *a = NULL;

    if (status == 0)
        status = kms_srv_answer_parse(msg, len, &a);
    if (status == 0) {
        /* glue completed by a lookup keeps "additional" as its source */
        if (loc_addrs_from_answer(h, a) && h->addrs_from == LOC_ADDRS_NONE)
            h->addrs_from = LOC_ADDRS_RESOLVED;
        kms_srv_answer_free(a);
    } else if (h->resolve_status == 0 || h->resolve_status == KMS_EDNS_NODATA) {
        h->resolve_status = status;
    }
    free(q);
    if (--j->inflight == 0) {
        order_resolved(j->res);
        probe_next(j); /* from the first host not probed yet */
    }
}

static void resolve_phase(job_t *j)
{
    loc_result_t *r = j->res;
    static const uint16_t types[2] = {KMS_DNS_TYPE_A, KMS_DNS_TYPE_AAAA};

    j->inflight = 1; /* held while sending so a quick answer cannot finish early */
    for (size_t i = 0; i < r->n_hosts; i++) {
        loc_host_t *h = &r->hosts[i];
        int have[2] = {0, 0}; /* A, AAAA */

        if (h->probed)
            continue;
        for (size_t k = 0; k < h->n_addrs; k++)
            have[h->addrs[k].sa.sa_family == AF_INET6] = 1;
        if (h->n_addrs > 0) {
            /* Glue is a head start, not the whole truth: a server fills the
             * additional section only as far as the message allows, without
             * TC (Knot).  Before a host is judged by a probe, the family its
             * glue lacks is looked up too. */
            if (!j->probe || h->addrs_from != LOC_ADDRS_ADDITIONAL || h->glue_completed ||
                (have[0] && have[1]))
                continue;
            h->glue_completed = 1;
        }
        for (int t = 0; t < 2; t++) {
            addrq_t *q;

            if (have[t])
                continue;
            if (!(q = malloc(sizeof(*q))))
                continue;
            q->job = j;
            q->host = i;
            r->queries++;
            if (kms_dnsq_send(j->dns, h->target, types[t], on_addr, q) != 0) {
                r->queries--;
                free(q);
                continue;
            }
            j->inflight++;
        }
    }
    if (--j->inflight == 0)
        probe_next(j);
}

static void on_probe(void *ud, const loc_probe_result_t *pr)
{
    job_t *j = ud;
    loc_result_t *r = j->res;
    loc_host_t *h = &r->hosts[j->probe_host];

    h->probed = 1;
    h->probe = *pr;
    h->probe_tries++;
    if (pr->state != LOC_PROBE_OK && j->n_failed < LOC_FAILED_MAX) {
        j->failed[j->n_failed].sa = h->addrs[j->probe_addr];
        j->failed[j->n_failed++].pr = *pr;
    }
    if (pr->state == LOC_PROBE_OK) {
        h->answered_addr = j->probe_addr;
        if (r->answered < 0)
            r->answered = (long)j->probe_host;
        j->probe_host++;
        j->probe_addr = 0;
        if (!j->all) {
            finish(j, 0);
            return;
        }
    } else if (++j->probe_addr >= h->n_addrs) {
        j->probe_host++;
        j->probe_addr = 0;
    }
    probe_next(j);
}

/* 1 (and @p h's probe result set) when address @p k of @p h already failed
 * a probe in this run. */
static int failed_before(job_t *j, loc_host_t *h, size_t k)
{
    const loc_sockaddr_t *a = &h->addrs[k];

    for (size_t i = 0; i < j->n_failed; i++) {
        const loc_sockaddr_t *f = &j->failed[i].sa;
        int same = f->sa.sa_family == a->sa.sa_family &&
                   (a->sa.sa_family == AF_INET
                        ? f->sin.sin_port == a->sin.sin_port &&
                              f->sin.sin_addr.s_addr == a->sin.sin_addr.s_addr
                        : f->sin6.sin6_port == a->sin6.sin6_port &&
                              memcmp(&f->sin6.sin6_addr, &a->sin6.sin6_addr, 16) == 0);

        if (same) {
            h->probed = 1;
            h->probe = j->failed[i].pr;
            h->probe.again = 1;
            return 1;
        }
    }
    return 0;
}

static void probe_next(job_t *j)
{
    loc_result_t *r = j->res;
    int rc;

    if (!j->probe) {
        finish(j, 0);
        return;
    }
    while (j->probe_host < r->n_hosts) {
        loc_host_t *h = &r->hosts[j->probe_host];

        if (h->n_addrs == 0) {
            /* No address: the client cannot reach it either. */
            h->probed = 1;
            h->probe.state = LOC_PROBE_UNREACHABLE;
            h->probe.err = h->resolve_status ? h->resolve_status : KMS_ENOENT;
            h->probe.hr = LOC_HR_RPC_UNAVAIL;
            j->probe_host++;
            continue;
        }
        if (failed_before(j, h, j->probe_addr)) {
            if (++j->probe_addr >= h->n_addrs) {
                j->probe_host++;
                j->probe_addr = 0;
            }
            continue;
        }
        rc = loc_probe_start(j->loop, (struct sockaddr *)&h->addrs[j->probe_addr], j->probe_ms,
                             j->required, j->have_client_id ? &j->client_id : NULL, on_probe, j);
        if (rc == 0)
            return;
        if (rc == KMS_ENOMEM) {
            finish(j, rc);
            return;
        }
        /* this address cannot be used at all: next address or host */
        h->probed = 1;
        h->probe.state = LOC_PROBE_UNREACHABLE;
        h->probe.err = rc;
        h->probe.hr = LOC_HR_RPC_UNAVAIL;
        kms_addr_format((struct sockaddr *)&h->addrs[j->probe_addr], h->probe.addr);
        if (++j->probe_addr >= h->n_addrs) {
            j->probe_host++;
            j->probe_addr = 0;
        }
    }
    if (j->cache_first) {
        /* The cached host failed (had it answered, on_probe would have
         * finished): DNS decides, for the hosts after it (/skhc). */
        j->cache_first = 0;
        j->dom_i = 0;
        next_domain(j);
        return;
    }
    finish(j, 0);
}

/* ---- start and end ----------------------------------------------------- */

static void outcome(job_t *j)
{
    loc_result_t *r = j->res;

    if (r->n_hosts > 0) {
        if (!j->probe)
            r->outcome = LOC_HR_OK;
        else if (r->answered >= 0)
            r->outcome = r->hosts[r->answered].probe.hr; /* 0, or e.g. 0xC004F038 */
        else if (r->hosts[0].source == LOC_HOST_MANUAL)
            r->outcome = LOC_HR_RPC_UNAVAIL; /* Windows, for a set KMS host (/skms) */
        else
            r->outcome = LOC_HR_NO_HOST;
        return;
    }
    r->outcome = LOC_HR_NO_HOST; /* no domain to query at all */
    for (size_t i = 0; i < r->n_domains; i++)
        if (r->domains[i].queried && r->domains[i].hr != LOC_HR_OK)
            r->outcome = r->domains[i].hr; /* the last failure */
}

static void update_cache(job_t *j)
{
    loc_result_t *r = j->res;

    if (!j->cache_path || !j->probe || j->manual[0])
        return;
    if (r->answered >= 0) {
        const loc_host_t *h = &r->hosts[r->answered];
        char ip[KMS_ADDRSTRLEN] = "";

        if (h->answered_addr < h->n_addrs)
            kms_addr_format_ip(&h->addrs[h->answered_addr].sa, ip);
        if (loc_cache_store(j->cache_path, h->target, h->port, ip, (int64_t)time(NULL)) == 0)
            r->cache_updated = 1;
        return;
    }
    /* The cached host was tried and failed: forget it (DNS decides next time). */
    if (r->n_hosts > 0 && r->hosts[0].source == LOC_HOST_CACHE && r->hosts[0].probed &&
        loc_cache_drop(j->cache_path) == 0)
        r->cache_updated = -1;
}

static void on_kick_closed(uv_handle_t *h)
{
    job_t *j = h->data;
    loc_result_t *r = j->res;

    if (j->err) {
        loc_result_free(r);
        r = NULL;
    }
    j->cb(j->ud, j->err, r);
    free(j->cache_path);
    free(j);
}

static void finish(job_t *j, int err)
{
    if (j->done)
        return;
    j->done = 1;
    j->err = err;
    if (j->cache_first && j->res->answered >= 0)
        j->res->dns_skipped = 1; /* the cached host answered: no SRV query */
    if (!err) {
        update_cache(j);
        outcome(j);
    }
    uv_close((uv_handle_t *)&j->kick, on_kick_closed);
}

/* The first step, run from loc_locate_start(): every later step runs from a
 * DNS or probe callback, and the completion is delivered from the close
 * callback of j->kick, so the caller's callback never runs inside
 * loc_locate_start() even when nothing needs the network. */
static void start_work(job_t *j)
{
    loc_result_t *r = j->res;

    if (j->manual[0]) {
        loc_host_t *h = push_host(j);
        if (!h) {
            finish(j, KMS_ENOMEM);
            return;
        }
        if (loc_parse_hostport(j->manual, h->target, sizeof(h->target), &h->port) != 0) {
            finish(j, KMS_EINVAL);
            return;
        }
        h->source = LOC_HOST_MANUAL;
        literal_addr(h);
        resolve_phase(j);
        return;
    }
    if (j->cache_path) {
        loc_cache_entry_t e;
        int rc = loc_cache_load(j->cache_path, &e);

        if (rc == 0) {
            loc_host_t *h = push_host(j);
            if (!h) {
                finish(j, KMS_ENOMEM);
                return;
            }
            snprintf(h->target, sizeof(h->target), "%s", e.host);
            h->port = e.port;
            h->source = LOC_HOST_CACHE;
            int literal = literal_addr(h);
            r->cache = LOC_CACHE_HIT;
            if (j->probe && !j->all) {
                /* /skhc: the cached host first, at the address that
                   answered last time; DNS only if it fails.  Otherwise
                   (listing, --all) DNS is asked anyway and its addresses,
                   fresh, are the ones shown and probed. */
                if (!literal && e.addr[0] && cached_addr(h, e.addr))
                    h->addrs_from = LOC_ADDRS_CACHE;
                j->cache_first = 1;
                r->cache_first = 1;
                resolve_phase(j); /* its A/AAAA only when no address is known */
                return;
            }
        } else {
            r->cache = rc == KMS_ENOENT ? LOC_CACHE_EMPTY : LOC_CACHE_CORRUPT;
        }
    }
    j->dom_i = 0;
    next_domain(j);
}

int loc_locate_start(uv_loop_t *loop, kms_dnsq_t *dns, const loc_opts_t *o, loc_done_cb cb,
                     void *ud)
{
    job_t *j = calloc(1, sizeof(*j));
    loc_result_t *r = calloc(1, sizeof(*r));

    if (!j || !r)
        goto nomem;
    if (o->manual_host) {
        char host[LOC_HOST_MAX];
        uint16_t port;
        if (loc_parse_hostport(o->manual_host, host, sizeof(host), &port) != 0) {
            free(j);
            free(r);
            return KMS_EINVAL;
        }
        snprintf(j->manual, sizeof(j->manual), "%s", o->manual_host);
    }
    if (o->cache_path && !o->manual_host) {
        j->cache_path = strdup(o->cache_path);
        if (!j->cache_path)
            goto nomem;
    }
    j->loop = loop;
    j->dns = dns;
    j->cb = cb;
    j->ud = ud;
    j->res = r;
    j->probe = o->probe;
    j->all = o->all;
    j->probe_ms = o->probe_timeout_ms ? o->probe_timeout_ms : DEFAULT_PROBE_MS;
    j->required = o->activation_required;
    if (o->client_id) {
        j->client_id = *o->client_id;
        j->have_client_id = 1;
    }
    loc_rng_seed(&j->rng, o->seed);
    r->seed = j->rng.state;
    r->answered = -1;
    r->probed = o->probe;
    r->cache = LOC_CACHE_OFF;
    if (!o->manual_host && o->n_domains > 0) {
        r->n_domains = o->n_domains < LOC_MAX_DOMAINS ? o->n_domains : LOC_MAX_DOMAINS;
        r->domains = calloc(r->n_domains, sizeof(*r->domains));
        if (!r->domains)
            goto nomem;
        for (size_t i = 0; i < r->n_domains; i++)
            r->domains[i].dom = o->domains[i];
    }
    uv_timer_init(loop, &j->kick); /* never started: closed to defer the completion */
    j->kick.data = j;
    start_work(j);
    return 0;

nomem:
    if (j)
        free(j->cache_path);
    free(j);
    loc_result_free(r);
    return KMS_ENOMEM;
}

void loc_result_free(loc_result_t *r)
{
    if (!r)
        return;
    free(r->domains);
    free(r->hosts);
    free(r);
}

/* ---- words ------------------------------------------------------------- */

char *loc_host_explain(const loc_result_t *r, size_t i, char *buf, size_t len)
{
    const loc_host_t *h = &r->hosts[i];
    const loc_pick_t *p = h->source == LOC_HOST_CACHE ? &h->srv_pick : &h->pick;
    int n = 0;

    buf[0] = '\0';
    switch (h->source) {
    case LOC_HOST_MANUAL:
        n = snprintf(buf, len, "manual KMS host (like slmgr /skms): no SRV lookup is made; %s",
                     h->addrs_from == LOC_ADDRS_LITERAL
                         ? "a numeric address, so no DNS query at all"
                         : "only its addresses are looked up (A and AAAA)");
        break;
    case LOC_HOST_CACHE:
        n = snprintf(buf, len,
                     "cache hit: the last host that answered is tried first, before "
                     "priority and weight (like slmgr /skhc)%s",
                     r->dns_skipped ? "; it answered, so no SRV lookup was made"
                     : r->cache_first
                         ? "; it did not answer: dropped from the cache, DNS asked for the others"
                     : h->also_srv ? "; DNS lists it too"
                                   : "; DNS no longer lists it");
        break;
    case LOC_HOST_SRV:
        if (p->candidates <= 1)
            n = snprintf(buf, len, "priority %u: %s", p->priority,
                         p->pick == 1 ? "the only record at this priority"
                                      : "the last record left at this priority");
        else if (p->total == 0)
            n = snprintf(buf, len, "priority %u: pick %zu of %zu, all weights 0 (uniform random)",
                         p->priority, p->pick, p->candidates);
        else
            n = snprintf(buf, len,
                         "priority %u: weighted pick %zu of %zu, weight %u of total %u "
                         "(RFC 2782 draw %u in 0..%u)%s",
                         p->priority, p->pick, p->candidates, p->weight, p->total, p->draw,
                         p->total, p->weight == 0 ? "; weight 0 wins only on a draw of 0" : "");
        break;
    }
    if (n < 0 || (size_t)n >= len)
        return buf;
    if (i > 0 && h->source == LOC_HOST_SRV && r->hosts[i - 1].source == LOC_HOST_SRV &&
        r->hosts[i - 1].priority < h->priority)
        snprintf(buf + n, len - (size_t)n, "; after every record of priority %u",
                 r->hosts[i - 1].priority);
    return buf;
}
