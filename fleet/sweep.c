/* SPDX-License-Identifier: MIT */
/*
 * sweep.c - the stale-record sweep (sweep.h).
 *
 * One sweep is a chain of loop callbacks: the PUB_SHOW run's callback
 * creates the records and sends two queries (A, AAAA) per record; the
 * last answer of a record queues one probe job per address; probes run
 * from that queue, at most max_probes at a time; the last probe of a
 * record gives its verdict; once every record has one, the state is
 * updated, decisions made and withdrawals run one after the other.  The
 * result is reported after every engine (show, each withdrawal) and the
 * query engine have called their stopped callbacks: `open` counts them.
 */
#include "fleet/sweep.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"
#include "dns/query.h"
#include "dns/srv.h"
#include "resolver/probe.h"

#define MAX_ADDRS 16 /* per target: more addresses than that are not probed */

typedef struct job {
    struct job *next;
    fleet_sweep_t *s;
    size_t rec;
    struct sockaddr_storage sa;
} job_t;

typedef struct {
    fleet_sweep_rec_t out;
    fleet_sweep_t *s; /* for the query callbacks */
    size_t index;
    int dns_pending;
    int dns_status; /* first failure of its queries */
    struct sockaddr_storage addrs[MAX_ADDRS];
    size_t naddrs;
    long leader; /* index of the record that resolves this target for it, -1: itself */
    int probes_pending;
    int answered;
    int not_tried; /* addresses whose probe could not start */
    int withdraw;  /* decided: withdraw (apply) */
} rec_t;

struct fleet_sweep {
    uv_loop_t *loop;
    fleet_sweep_options_t opt;
    kms_tsig_key_t key;
    struct sockaddr_storage server, resolver;
    fleet_sweepstate_t *state;
    pub_domain_t *doms;
    size_t ndoms;
    pub_engine_t *show;
    pub_engine_t **engines; /* withdrawals, freed with the sweep */
    size_t nengines;
    kms_dnsq_t *dnsq;
    rec_t *recs;
    size_t nrecs, undecided;
    fleet_sweep_domerr_t *errs;
    size_t nerrs;
    int oom; /* the records read could not be kept: the sweep failed */
    job_t *head, *tail;
    unsigned inflight, probes;
    size_t next_withdraw;
    int open; /* engines and the query engine not yet stopped */
    int started, finishing, done;
    uint64_t t0, probe_ms;
    fleet_sweep_cb cb;
    void *ud;
};

static void decide_all(fleet_sweep_t *s);
static void withdraw_next(fleet_sweep_t *s);

const char *fleet_verdict_name(fleet_verdict_t v)
{
    return v == FLEET_ALIVE ? "alive" : v == FLEET_DEAD ? "dead" : "unknown";
}

void fleet_sweep_options_init(fleet_sweep_options_t *o)
{
    memset(o, 0, sizeof *o);
    pub_options_init(&o->pub);
    o->timeout_ms = 2000;
    o->max_probes = 64;
    o->failures = 3;
    o->min_age_s = 3600;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void maybe_done(fleet_sweep_t *s)
{
    fleet_sweep_result_t r;

    if (!s->finishing || s->open || s->done)
        return;
    s->done = 1;
    memset(&r, 0, sizeof r);
    r.recs = s->nrecs ? calloc(s->nrecs, sizeof *r.recs) : NULL;
    r.nrecs = r.recs ? s->nrecs : 0;
    for (size_t i = 0; i < r.nrecs; i++)
        r.recs[i] = s->recs[i].out;
    r.errs = s->errs;
    r.nerrs = s->nerrs;
    r.probes = s->probes;
    r.probe_ms = s->probe_ms;
    r.ok = s->nerrs == 0 && r.nrecs == s->nrecs && !s->oom;
    for (size_t i = 0; i < r.nrecs; i++)
        if (r.recs[i].status)
            r.ok = 0;
    s->cb(s, &r, s->ud);
    free(r.recs);
}

static void engine_stopped(pub_engine_t *e, void *ud)
{
    fleet_sweep_t *s = ud;

    (void)e;
    s->open--;
    maybe_done(s);
}

static void dnsq_stopped(kms_dnsq_t *q, void *ud)
{
    fleet_sweep_t *s = ud;

    (void)q;
    s->open--;
    maybe_done(s);
}

int fleet_sweep_new(uv_loop_t *loop, const fleet_sweep_options_t *opt, fleet_sweepstate_t *state,
                    fleet_sweep_t **out)
{
    fleet_sweep_t *s = NULL;
    pub_options_t show;
    int r;

    *out = NULL;
    if (opt->failures == 0 || opt->max_probes == 0 || opt->timeout_ms == 0)
        return KMS_EINVAL;
    if (!(s = calloc(1, sizeof *s)))
        return KMS_ENOMEM;
    s->loop = loop;
    s->opt = *opt;
    s->state = state;
    if (opt->pub.key) {
        s->key = *opt->pub.key;
        s->opt.pub.key = &s->key;
    }
    if (opt->pub.server) {
        memcpy(&s->server, opt->pub.server, kms_addr_len(opt->pub.server));
        s->opt.pub.server = (struct sockaddr *)&s->server;
    }
    if (opt->pub.resolver) {
        memcpy(&s->resolver, opt->pub.resolver, kms_addr_len(opt->pub.resolver));
        s->opt.pub.resolver = (struct sockaddr *)&s->resolver;
    }
    s->opt.pub.target = NULL;
    if (!s->opt.now)
        s->opt.now = (int64_t)time(NULL);

    /* reading needs no signature: queries are never signed */
    show = s->opt.pub;
    show.key = NULL;
    show.gss.enabled = 0;
    show.allow_unsigned = 1;
    if ((r = pub_engine_new(loop, &show, &s->show)) < 0)
        goto fail;

    *out = s;
    return 0;
fail:
    pub_engine_free(s->show);
    explicit_bzero(&s->key, sizeof s->key);
    free(s);
    return r;
}

void fleet_sweep_free(fleet_sweep_t *s)
{
    if (!s)
        return;
    if (s->started && !s->done)
        return; /* misuse: still running; leaking beats a use after free */
    pub_engine_free(s->show);
    for (size_t i = 0; i < s->nengines; i++)
        pub_engine_free(s->engines[i]);
    free(s->engines);
    kms_dnsq_free(s->dnsq);
    for (size_t i = 0; i < s->ndoms; i++)
        free(s->doms[i].name);
    free(s->doms);
    free(s->recs);
    free(s->errs);
    while (s->head) {
        job_t *j = s->head;
        s->head = j->next;
        free(j);
    }
    explicit_bzero(&s->key, sizeof s->key);
    free(s);
}

/* ---- probes ---------------------------------------------------------------- */

static void verdict(fleet_sweep_t *s, rec_t *rc, fleet_verdict_t v)
{
    rc->out.verdict = v;
    if (--s->undecided == 0) {
        s->probe_ms = (uv_hrtime() - s->t0) / 1000000u;
        kms_dnsq_stop(s->dnsq, dnsq_stopped, s);
        decide_all(s);
        withdraw_next(s);
    }
}

static void pump(fleet_sweep_t *s);

/*
 * Every probe of @p rc has ended.  Dead needs a "no" from every address
 * and both lookups answered: an address we could not even try (a local
 * error: no route of that family, out of descriptors) or a lookup that
 * failed leaves the record unknown, since the sweeper's own network may be
 * the culprit.
 */
static void settle(fleet_sweep_t *s, rec_t *rc)
{
    if (rc->answered)
        verdict(s, rc, FLEET_ALIVE);
    else if (rc->not_tried || rc->dns_status) {
        if (rc->dns_status)
            snprintf(rc->out.detail, sizeof rc->out.detail,
                     "no address answered, and a lookup of %.255s failed: %.80s", rc->out.target,
                     kms_strerror(rc->dns_status));
        else
            snprintf(rc->out.detail, sizeof rc->out.detail,
                     "no address answered, and %d could not be tried from here", rc->not_tried);
        verdict(s, rc, FLEET_UNKNOWN);
    } else
        verdict(s, rc, FLEET_DEAD);
}

static void probe_done(void *ud, const loc_probe_result_t *r)
{
    job_t *j = ud;
    fleet_sweep_t *s = j->s;
    rec_t *rc = &s->recs[j->rec];
    char addr[KMS_ADDRSTRLEN];

    s->inflight--;
    if (r->state == LOC_PROBE_OK) {
        if (!rc->answered)
            snprintf(rc->out.detail, sizeof rc->out.detail, "%s answered the RPC bind",
                     kms_addr_format((struct sockaddr *)&j->sa, addr));
        rc->answered = 1;
    } else if (!rc->answered && !rc->out.detail[0]) {
        snprintf(rc->out.detail, sizeof rc->out.detail, "%s: %s",
                 kms_addr_format((struct sockaddr *)&j->sa, addr), loc_probe_state_name(r->state));
    }
    free(j);
    if (--rc->probes_pending == 0)
        settle(s, rc);
    pump(s);
}

static void pump(fleet_sweep_t *s)
{
    while (s->head && s->inflight < s->opt.max_probes) {
        job_t *j = s->head;
        rec_t *rc = &s->recs[j->rec];

        if (!(s->head = j->next))
            s->tail = NULL;
        s->probes++;
        if (loc_probe_start(s->loop, (struct sockaddr *)&j->sa, s->opt.timeout_ms, 0, NULL,
                            probe_done, j) == 0) {
            s->inflight++;
            continue;
        }
        /* not even started (out of memory): no verdict from this address */
        rc->not_tried++;
        free(j);
        if (--rc->probes_pending == 0)
            settle(s, rc); /* may end the sweep: nothing queued is left then */
    }
}

/* ---- name resolution ------------------------------------------------------- */

static void add_addrs(rec_t *rc, const uint8_t *answer, size_t len)
{
    kms_srv_answer_t *a = NULL;

    if (kms_srv_answer_parse(answer, len, &a) < 0)
        return;
    for (size_t i = 0; i < a->naddrs && rc->naddrs < MAX_ADDRS; i++) {
        struct sockaddr_storage ss;
        int dup = 0;
        if (kms_addr_from_bytes(a->addrs[i].family, a->addrs[i].addr, rc->out.port, &ss) < 0)
            continue;
        for (size_t k = 0; k < rc->naddrs; k++)
            dup |= memcmp(&rc->addrs[k], &ss, sizeof ss) == 0;
        if (!dup)
            rc->addrs[rc->naddrs++] = ss;
    }
    kms_srv_answer_free(a);
}

/* The addresses of a record's target are known (or not): queue its probes. */
static void resolved(fleet_sweep_t *s, rec_t *rc, const rec_t *from)
{
    if (from != rc) {
        rc->dns_status = from->dns_status;
        rc->naddrs = from->naddrs;
        for (size_t i = 0; i < from->naddrs; i++) {
            rc->addrs[i] = from->addrs[i];
            kms_addr_set_port((struct sockaddr *)&rc->addrs[i], rc->out.port);
        }
    }
    if (rc->naddrs == 0) {
        snprintf(rc->out.detail, sizeof rc->out.detail, "%.255s does not resolve: %.80s",
                 rc->out.target, rc->dns_status ? kms_strerror(rc->dns_status) : "no address");
        verdict(s, rc, FLEET_UNKNOWN);
        return;
    }
    for (size_t i = 0; i < rc->naddrs; i++) {
        job_t *j = calloc(1, sizeof *j);
        if (!j)
            continue;
        j->s = s;
        j->rec = rc->index;
        j->sa = rc->addrs[i];
        if (s->tail)
            s->tail->next = j;
        else
            s->head = j;
        s->tail = j;
        rc->probes_pending++;
    }
    if (rc->probes_pending == 0) {
        snprintf(rc->out.detail, sizeof rc->out.detail, "out of memory");
        verdict(s, rc, FLEET_UNKNOWN);
    }
}

static void dns_finished(fleet_sweep_t *s, rec_t *rc)
{
    for (size_t i = rc->index + 1; i < s->nrecs; i++)
        if (s->recs[i].leader == (long)rc->index)
            resolved(s, &s->recs[i], rc);
    resolved(s, rc, rc); /* last: its verdict may be the sweep's last */
}

/* A record's target is resolved once per sweep: the first record naming
   it leads, the others follow its answer. */
static void dns_done(void *ud, int status, const uint8_t *answer, size_t len)
{
    rec_t *rc = ud;
    fleet_sweep_t *s = rc->s;

    if (status == 0 && answer)
        add_addrs(rc, answer, len);
    else if (!rc->dns_status && status != KMS_EDNS_NODATA && status != KMS_EDNS_NXDOMAIN)
        rc->dns_status = status; /* no answer: NODATA (an IPv4-only host's AAAA) is one */
    if (--rc->dns_pending)
        return;
    dns_finished(s, rc);
    pump(s);
}

/* ---- reading the records --------------------------------------------------- */

/* The query engine, at the publisher's resolver: --resolver, else
   --server, else resolv.conf.  Made here, from the loop, so that a sweep
   that never started holds no handle. */
static int start_dnsq(fleet_sweep_t *s, char *err, size_t errlen)
{
    kms_dnsq_opts_t qo;
    char addr[KMS_ADDRSTRLEN];
    const char *servers[1];
    const struct sockaddr *at = s->opt.pub.resolver ? s->opt.pub.resolver : s->opt.pub.server;
    int r;

    memset(&qo, 0, sizeof qo);
    if (at) {
        servers[0] = kms_addr_format(at, addr);
        qo.servers = servers;
        qo.n_servers = 1;
    }
    qo.timeout_ms = (unsigned)(s->opt.pub.timeout_ms ? s->opt.pub.timeout_ms : 2000);
    if ((r = kms_dnsq_new(s->loop, &qo, &s->dnsq, err, errlen)) < 0)
        return r;
    s->open++; /* until dnsq_stopped */
    return 0;
}

static void show_done(const pub_result_t *res, size_t n, const pub_stats_t *st, void *ud)
{
    fleet_sweep_t *s = ud;
    size_t total = 0;
    char err[300];

    (void)st;
    for (size_t i = 0; i < n; i++)
        if (res[i].status == 0)
            total += res[i].nrecords;
    s->recs = total ? calloc(total, sizeof *s->recs) : NULL;
    s->errs = calloc(n, sizeof *s->errs);
    if ((total && !s->recs) || !s->errs) {
        free(s->errs); /* nothing can be reported but the failure */
        s->errs = NULL;
        total = 0;
        s->oom = 1; /* and no state entry may be dropped as "gone" */
    }
    for (size_t i = 0; i < n; i++) {
        const pub_result_t *r = &res[i];
        if (r->status || !s->errs) {
            if (s->errs) {
                fleet_sweep_domerr_t *e = &s->errs[s->nerrs++];
                snprintf(e->domain, sizeof e->domain, "%s", r->domain);
                e->status = r->status;
                snprintf(e->message, sizeof e->message, "%s", r->message);
            }
            continue;
        }
        for (size_t k = 0; k < r->nrecords && s->nrecs < total; k++) {
            const kms_srv_rec_t *sr = &r->records[k];
            rec_t *rc;
            if (strcmp(sr->target, ".") == 0 || sr->port == 0)
                continue; /* RFC 2782: "." means no service here */
            rc = &s->recs[s->nrecs];
            rc->s = s;
            rc->index = s->nrecs++;
            snprintf(rc->out.domain, sizeof rc->out.domain, "%s", r->domain);
            snprintf(rc->out.owner, sizeof rc->out.owner, "%s", r->owner);
            if (kms_dname_canon(sr->target, KMS_DNAME_ANY, rc->out.target, sizeof rc->out.target) <
                0)
                snprintf(rc->out.target, sizeof rc->out.target, "%s", sr->target);
            rc->out.port = sr->port;
            rc->out.since = -1;
        }
    }
    pub_engine_stop(s->show, engine_stopped, s);
    s->open++;
    s->undecided = s->nrecs;
    if (s->nrecs && start_dnsq(s, err, sizeof err) < 0) {
        for (size_t i = 0; i < s->nrecs; i++) {
            snprintf(s->recs[i].out.detail, sizeof s->recs[i].out.detail, "%.300s", err);
            s->recs[i].out.verdict = FLEET_UNKNOWN;
        }
        s->undecided = 0;
    }
    if (s->undecided == 0) {
        s->probe_ms = (uv_hrtime() - s->t0) / 1000000u;
        decide_all(s);
        withdraw_next(s);
        return;
    }
    for (size_t i = 0; i < s->nrecs; i++) {
        rec_t *rc = &s->recs[i];
        rc->leader = -1;
        for (size_t k = 0; k < i && rc->leader < 0; k++)
            if (s->recs[k].leader < 0 && strcmp(s->recs[k].out.target, rc->out.target) == 0)
                rc->leader = (long)k;
    }
    for (size_t i = 0; i < s->nrecs; i++) {
        rec_t *rc = &s->recs[i];
        static const uint16_t types[2] = {KMS_DNS_TYPE_A, KMS_DNS_TYPE_AAAA};
        if (rc->leader >= 0)
            continue; /* resolved with its leader's answer */
        for (int t = 0; t < 2; t++) {
            int q = kms_dnsq_send(s->dnsq, rc->out.target, types[t], dns_done, rc);
            if (q < 0) {
                if (!rc->dns_status)
                    rc->dns_status = q;
            } else {
                rc->dns_pending++;
            }
        }
        if (rc->dns_pending == 0)
            dns_finished(s, rc); /* no query sent: unknown (from the loop: a callback) */
    }
    pump(s);
}

int fleet_sweep_start(fleet_sweep_t *s, const pub_domain_t *domains, size_t n, fleet_sweep_cb cb,
                      void *ud)
{
    int r;

    if (s->started)
        return KMS_EBUSY;
    if (!domains || n == 0 || !cb)
        return KMS_EINVAL;
    if (!(s->doms = calloc(n, sizeof *s->doms)))
        return KMS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        s->doms[i].priority = s->doms[i].weight = -1;
        if (!(s->doms[i].name = strdup(domains[i].name)))
            return KMS_ENOMEM; /* names so far are freed with the sweep */
        s->ndoms = i + 1;
    }
    s->cb = cb;
    s->ud = ud;
    s->t0 = uv_hrtime();
    if ((r = pub_run(s->show, PUB_SHOW, s->doms, s->ndoms, show_done, s)) < 0)
        return r;
    s->started = 1;
    return 0;
}

/* ---- state and decisions --------------------------------------------------- */

static int owner_has_alive(const fleet_sweep_t *s, const char *owner)
{
    for (size_t i = 0; i < s->nrecs; i++)
        if (s->recs[i].out.verdict == FLEET_ALIVE && kms_dname_eq(s->recs[i].out.owner, owner))
            return 1;
    return 0;
}

static int owner_all_dead(const fleet_sweep_t *s, const char *owner)
{
    for (size_t i = 0; i < s->nrecs; i++)
        if (s->recs[i].out.verdict != FLEET_DEAD && kms_dname_eq(s->recs[i].out.owner, owner))
            return 0;
    return 1;
}

/* Entries of an owner that was read, whose record is no longer there. */
static void drop_vanished(fleet_sweep_t *s)
{
    for (size_t i = 0; i < s->state->n;) {
        const fleet_sweep_entry_t *e = &s->state->v[i];
        int read = 0, seen = 0;
        for (size_t k = 0; k < s->nrecs && !seen; k++) {
            const fleet_sweep_rec_t *o = &s->recs[k].out;
            if (kms_dname_eq(o->owner, e->owner)) {
                read = 1;
                seen = o->port == e->port && kms_dname_eq(o->target, e->target);
            }
        }
        if (!read) {
            /* an owner read with no record at all also counts as read */
            for (size_t d = 0; d < s->ndoms && !read; d++) {
                char owner[KMS_DNS_NAMELEN];
                int failed = 0;
                snprintf(owner, sizeof owner, "_vlmcs._tcp.%s", s->doms[d].name);
                for (size_t x = 0; x < s->nerrs; x++)
                    failed |= kms_dname_eq(s->errs[x].domain, s->doms[d].name);
                read = !failed && kms_dname_eq(owner, e->owner);
            }
        }
        if (read && !seen)
            fleet_sweepstate_del(s->state, e->owner, e->target, e->port);
        else
            i++;
    }
}

/* A record before @p i of this run with the same owner, target and port
 * (another priority or weight): its failure was counted already. */
static int counted_earlier(const fleet_sweep_t *s, size_t i)
{
    const fleet_sweep_rec_t *r = &s->recs[i].out;
    for (size_t k = 0; k < i; k++) {
        const fleet_sweep_rec_t *o = &s->recs[k].out;
        if (o->verdict == FLEET_DEAD && o->port == r->port && kms_dname_eq(o->owner, r->owner) &&
            kms_dname_eq(o->target, r->target))
            return 1;
    }
    return 0;
}

static void decide_all(fleet_sweep_t *s)
{
    const fleet_sweep_options_t *o = &s->opt;
    char a[32], b[32];

    if (!s->oom)
        drop_vanished(s);
    for (size_t i = 0; i < s->nrecs; i++) {
        fleet_sweep_rec_t *r = &s->recs[i].out;
        fleet_sweep_entry_t *e = fleet_sweepstate_find(s->state, r->owner, r->target, r->port);
        fleet_sweep_entry_t ne;

        if (r->verdict == FLEET_ALIVE) {
            fleet_sweepstate_del(s->state, r->owner, r->target, r->port);
            r->since = -1;
            r->failures = 0;
            snprintf(r->why, sizeof r->why, "alive");
            continue;
        }
        if (r->verdict == FLEET_UNKNOWN) {
            r->since = e ? e->first_dead : -1;
            r->failures = e ? e->failures : 0;
            snprintf(r->why, sizeof r->why, "unknown: %s", r->detail);
            continue;
        }
        memset(&ne, 0, sizeof ne);
        snprintf(ne.owner, sizeof ne.owner, "%s", r->owner);
        snprintf(ne.target, sizeof ne.target, "%s", r->target);
        ne.port = r->port;
        ne.first_dead = e && e->first_dead <= o->now ? e->first_dead : o->now;
        ne.last_probe = o->now;
        if (e && e->last_probe == o->now && counted_earlier(s, i))
            ne.failures = e->failures; /* another RR of the same host and port: one run, one */
        else
            ne.failures = !e ? 1 : e->failures < UINT32_MAX ? e->failures + 1 : UINT32_MAX;
        (void)fleet_sweepstate_put(s->state, &ne); /* ENOMEM: forgotten, decided all the same */
        r->since = ne.first_dead;
        r->failures = ne.failures;
        if (r->failures < o->failures)
            snprintf(r->why, sizeof r->why, "%" PRIu32 " of %" PRIu32 " failures", r->failures,
                     o->failures);
        else if ((uint64_t)(o->now - r->since) < o->min_age_s)
            snprintf(r->why, sizeof r->why, "dead for %s of %s",
                     kms_duration_format((uint64_t)(o->now - r->since), a, sizeof a),
                     kms_duration_format(o->min_age_s, b, sizeof b));
        else if (!o->allow_empty && !owner_has_alive(s, r->owner))
            snprintf(r->why, sizeof r->why, "%s (--allow-empty)",
                     owner_all_dead(s, r->owner) ? "every host of the name looks dead"
                                                 : "no host of the name is alive");
        else if (!o->apply)
            snprintf(r->why, sizeof r->why, "dry run: would be withdrawn");
        else
            s->recs[i].withdraw = 1;
    }
}

/* ---- withdrawals ----------------------------------------------------------- */

static void withdrawn(const pub_result_t *res, size_t n, const pub_stats_t *st, void *ud)
{
    fleet_sweep_t *s = ud;
    rec_t *rc = &s->recs[s->next_withdraw];
    fleet_sweep_rec_t *r = &rc->out;

    (void)st;
    if (n == 1 && res[0].status == 0) {
        r->withdrawn = res[0].removed > 0;
        snprintf(r->why, sizeof r->why, "%s",
                 r->withdrawn ? "withdrawn" : "already gone at the primary");
        fleet_sweepstate_del(s->state, r->owner, r->target, r->port);
    } else {
        r->status = n == 1 ? res[0].status : KMS_EINVAL;
        snprintf(r->why, sizeof r->why, "withdrawal failed: %.480s",
                 n == 1 ? res[0].message : kms_strerror(r->status));
    }
    pub_engine_stop(s->engines[s->nengines - 1], engine_stopped, s);
    s->open++;
    s->next_withdraw++;
    withdraw_next(s);
}

/* Start the next withdrawal, or finish.  Runs from loop callbacks only. */
static void withdraw_next(fleet_sweep_t *s)
{
    for (; s->next_withdraw < s->nrecs; s->next_withdraw++) {
        rec_t *rc = &s->recs[s->next_withdraw];
        fleet_sweep_rec_t *r = &rc->out;
        pub_options_t po = s->opt.pub;
        pub_domain_t dom = {r->domain, -1, -1};
        pub_engine_t **ne, *e = NULL;
        int err;

        if (!rc->withdraw)
            continue;
        po.target = r->target;
        po.port = r->port;
        po.verify = 0;
        if (!(ne = realloc(s->engines, (s->nengines + 1) * sizeof *ne))) {
            err = KMS_ENOMEM;
        } else {
            s->engines = ne;
            if ((err = pub_engine_new(s->loop, &po, &e)) == 0) {
                s->engines[s->nengines++] = e;
                if ((err = pub_run(e, PUB_UNPUBLISH, &dom, 1, withdrawn, s)) == 0)
                    return; /* withdrawn() goes on */
                pub_engine_stop(e, engine_stopped, s);
                s->open++;
            }
        }
        r->status = err;
        snprintf(r->why, sizeof r->why, "withdrawal failed: %s", kms_strerror(err));
    }
    s->finishing = 1;
    maybe_done(s);
}
