/*
 * publisher.c - zone discovery, UPDATE per zone, retries, verification
 * (see publisher.h for the design).
 *
 * Structure: a run owns one dom_t per input domain and one zone_t per zone
 * found.  Every DNS exchange is an xchg_t: it renders its message afresh
 * for each attempt (new ID, new TSIG), sends it through dns/transport, and
 * retries transient failures after a backoff timer.  Its callback is the
 * only way results flow back into the run; counters (disc_pending,
 * zones_pending, zone->pending) tell when a phase is over.  The run ends
 * (user callback, then free) when discovery and every zone are done.
 * Handles (xchg timers, verify timers) are counted on the engine so that
 * pub_engine_free() can release the engine after the last close callback.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "dns/rcode.h"
#include "dns/resolvconf.h"
#include "publisher/pub_int.h"

const char *pub_op_name(pub_op_t op)
{
    switch (op) {
    case PUB_PUBLISH:
        return "publish";
    case PUB_UNPUBLISH:
        return "unpublish";
    default:
        return "show";
    }
}

void pub_options_init(pub_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->port = 1688;
    o->ttl = 3600;
    o->attempts = 4;
    o->timeout_ms = 2000;
    o->backoff_ms = 250;
    o->backoff_max_ms = 30000;
    o->verify_timeout_ms = 30000;
    o->max_inflight = 64;
}

void pub__engine_maybe_free(pub_engine_t *e)
{
    if (e->freeing && !e->run && e->handles == 0) {
        memset(&e->key, 0, sizeof e->key);
        free(e);
    }
}

/* ---- run end -------------------------------------------------------------- */

void pub__set_result(run_t *r, size_t i, int status, const char *fmt, ...)
{
    pub_result_t *res = &r->res[i];
    va_list ap;
    res->status = status;
    res->time = (int64_t)time(NULL);
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}

static void run_free(run_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->doms[i].cur);
        free(r->res[i].records);
    }
    for (size_t i = 0; i < r->nzones; i++) {
        free(r->zones[i].doms);
        free(r->zones[i].ns);
    }
    free(r->zones);
    free(r->doms);
    free(r->res);
    free(r);
}

static void run_maybe_done(run_t *r)
{
    if (r->disc_pending || !r->zones_started || r->zones_pending)
        return;
    pub_engine_t *e = r->e;
    for (size_t i = 0; i < r->n; i++) {
        if (r->res[i].time == 0)
            pub__set_result(r, i, r->canceled ? KMS_ECANCELED : KMS_EIO, "%s",
                            r->canceled ? "canceled" : "not processed");
    }
    r->cb(r->res, r->n, &r->stats, r->ud);
    e->run = NULL;
    run_free(r);
    pub__engine_maybe_free(e);
}

/* ---- phase 3: per zone ---------------------------------------------------- */

static void fmt_rr(char *buf, size_t len, const char *owner, uint32_t ttl, unsigned prio,
                   unsigned weight, unsigned port, const char *target)
{
    snprintf(buf, len, "%s %u IN SRV %u %u %u %s", owner, ttl, prio, weight, port, target);
}

/* Ours: our target and our port.  A record of another port at our target
 * (another service of that host) is left alone like another host's. */
static int is_ours(const pub_engine_t *e, const kms_srv_rec_t *s)
{
    return s->port == e->opt.port && kms_dname_eq(s->target, e->target);
}

static void on_update(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    zone_t *z = ud;
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    char why[400];
    kms_dns_explain_ctx_t c = {"update", z->primary_str, e->has_key ? e->key_display : NULL,
                               z->name};
    int st = status ? status : reply->status;

    if (st) {
        if (reply)
            kms_dns_explain(reply, &c, why, sizeof why);
        else
            kms_dns_explain_err(status, &c, why, sizeof why);
        if (!reply && attempts > 1) {
            size_t l = strlen(why);
            snprintf(why + l, sizeof why - l, " (%u attempts)", attempts);
        }
    }
    for (size_t k = 0; k < z->ndoms; k++) {
        size_t i = z->doms[k];
        pub_result_t *res = &r->res[i];
        res->attempts = attempts;
        if (st) {
            pub__set_result(r, i, st, "%s", why);
            continue;
        }
        char rr[700];
        fmt_rr(rr, sizeof rr, res->owner, e->opt.ttl, res->priority, res->weight, e->opt.port,
               e->target);
        if (r->op == PUB_PUBLISH)
            pub__set_result(r, i, 0, "published %s (zone %s, server %s%s)", rr, z->name,
                            z->primary_str, res->replaced ? ", replaced our older record" : "");
        else if (res->removed)
            pub__set_result(r, i, 0, "removed %d record%s of %s from %s (zone %s, server %s)",
                            res->removed, res->removed == 1 ? "" : "s", e->target, res->owner,
                            z->name, z->primary_str);
        else
            pub__set_result(r, i, 0, "not published: no record of %s at %s (zone %s, server %s)",
                            e->target, res->owner, z->name, z->primary_str);
    }
    if (!st && e->opt.verify && !r->canceled) {
        pub__verify_start(z);
        return;
    }
    pub__zone_finish(z);
}

static void send_update(zone_t *z)
{
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    kms_dns_msg_t *m = NULL;
    int rc = kms_dns_msg_update_new(z->name, &m);

    for (size_t k = 0; rc == 0 && k < z->ndoms; k++) {
        dom_t *d = &r->doms[z->doms[k]];
        pub_result_t *res = &r->res[d->idx];
        for (size_t j = 0; rc == 0 && j < d->ncur; j++) {
            kms_srv_rec_t *s = &d->cur[j];
            if (!is_ours(e, s))
                continue; /* another host's record: never touched */
            if (r->op == PUB_PUBLISH) {
                if (s->priority == res->priority && s->weight == res->weight &&
                    s->ttl == e->opt.ttl)
                    continue; /* already as wanted: the add below is a no-op */
                rc = kms_dns_msg_del_srv(m, res->owner, s->priority, s->weight, s->port, s->target);
                res->replaced = 1;
            } else {
                rc = kms_dns_msg_del_srv(m, res->owner, s->priority, s->weight, s->port, s->target);
                res->removed++;
            }
        }
        if (rc == 0 && r->op == PUB_PUBLISH)
            rc = kms_dns_msg_add_srv(m, res->owner, e->opt.ttl, res->priority, res->weight,
                                     e->opt.port, e->target);
    }
    if (rc == 0 && kms_dns_msg_update_count(m) == 0) {
        /* unpublish with nothing of ours there: nothing to send */
        kms_dns_msg_free(m);
        on_update(z, 0, &(kms_dns_reply_t){.status = 0}, 0);
        return;
    }
    if (rc < 0) {
        kms_dns_msg_free(m);
        m = NULL; /* pub__xchg_start reports the failure asynchronously */
    }
    pub__xchg_start(r, m, (struct sockaddr *)&z->primary, e->has_key, on_update, z);
}

typedef struct {
    zone_t *z;
    size_t dom;
} dq_t;

/* Keep the SRV records at @p d's owner found in @p reply as its current state. */
static void take_current(dom_t *d, const char *owner, const kms_dns_reply_t *reply)
{
    size_t n = 0;
    free(d->cur);
    d->cur = NULL;
    d->ncur = 0;
    d->cur_ok = 1;
    for (size_t i = 0; reply && i < reply->nrrs; i++)
        n += reply->rrs[i].section == KMS_DNS_ANSWER && reply->rrs[i].type == KMS_DNS_T_SRV;
    if (!n)
        return;
    d->cur = calloc(n, sizeof *d->cur);
    if (!d->cur) {
        d->cur_ok = 0;
        return;
    }
    for (size_t i = 0; i < reply->nrrs; i++) {
        const kms_dns_rr_t *x = &reply->rrs[i];
        if (x->section != KMS_DNS_ANSWER || x->type != KMS_DNS_T_SRV ||
            !kms_dname_eq(x->name, owner))
            continue;
        kms_srv_rec_t *s = &d->cur[d->ncur++];
        snprintf(s->owner, sizeof s->owner, "%s", x->name);
        snprintf(s->target, sizeof s->target, "%s", x->target);
        s->ttl = x->ttl;
        s->priority = x->priority;
        s->weight = x->weight;
        s->port = x->port;
    }
}

/* One more domain's current state is in; after the last, update (or, for
   show, finish).  May finish the zone, and with it the run. */
static void zone_current_step(zone_t *z)
{
    run_t *r = z->run;
    if (--z->pending > 0)
        return;
    if (r->op == PUB_SHOW || r->canceled) {
        pub__zone_finish(z);
        return;
    }
    /* A domain whose current records could not be read is not updated (its
       result says why): a blind delete could miss our record or report a
       removal that did not happen, a blind add leave two of ours. */
    size_t k = 0;
    for (size_t i = 0; i < z->ndoms; i++)
        if (r->doms[z->doms[i]].cur_ok)
            z->doms[k++] = z->doms[i];
    z->ndoms = k;
    if (k == 0)
        pub__zone_finish(z);
    else
        send_update(z);
}

/* One domain's current state is known (or could not be read): for show
   that is the result; when the zone's last one is in, update. */
static void current_done(zone_t *z, dom_t *d, int st, int status, const kms_dns_reply_t *reply)
{
    run_t *r = z->run;
    pub_result_t *res = &r->res[d->idx];
    char why[400];
    kms_dns_explain_ctx_t c = {"query", z->primary_str, NULL, z->name};
    const char *pre = r->op == PUB_SHOW ? "" : "current records not read, nothing changed: ";
    if (!st && !d->cur_ok)
        st = status = KMS_ENOMEM; /* read, but could not be kept */
    if (r->op == PUB_SHOW && d->cur_ok) {
        res->records = d->cur;
        res->nrecords = d->ncur;
        d->cur = NULL;
        pub__set_result(r, d->idx, 0, "%zu record%s at %s (zone %s, server %s)", res->nrecords,
                        res->nrecords == 1 ? "" : "s", res->owner, z->name, z->primary_str);
    } else if (!d->cur_ok && reply && reply->status) {
        pub__set_result(r, d->idx, st, "%s%s", pre, kms_dns_explain(reply, &c, why, sizeof why));
    } else if (!d->cur_ok) {
        pub__set_result(r, d->idx, st, "%s%s", pre,
                        kms_dns_explain_err(status, &c, why, sizeof why));
    }
    zone_current_step(z);
}

static void on_current(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    dq_t *q = ud;
    zone_t *z = q->z;
    dom_t *d = &z->run->doms[q->dom];
    (void)attempts;
    free(q);

    int st = status ? status : reply->status;
    if (st == 0 || st == KMS_EDNS_NXDOMAIN)
        take_current(d, z->run->res[d->idx].owner, reply);
    current_done(z, d, st, status, reply);
}

static void zone_work(zone_t *z)
{
    run_t *r = z->run;
    kms_addr_format_dns((struct sockaddr *)&z->primary, z->primary_str);
    for (size_t k = 0; k < z->ndoms; k++)
        snprintf(r->res[z->doms[k]].server, sizeof r->res[0].server, "%s", z->primary_str);
    /* +1: the loop below must not see the zone finish under its feet */
    z->pending = z->ndoms + 1;
    for (size_t k = 0; k < z->ndoms; k++) {
        dom_t *d = &r->doms[z->doms[k]];
        if (d->cur_ok) {
            /* already read from this very server during discovery */
            current_done(z, d, 0, 0, NULL);
            continue;
        }
        dq_t *q = malloc(sizeof *q);
        if (!q) {
            /* cannot track it: count it as answered with nothing known */
            current_done(z, d, KMS_ENOMEM, KMS_ENOMEM, NULL);
            continue;
        }
        q->z = z;
        q->dom = z->doms[k];
        pub__xchg_start(r, pub__query(r->res[q->dom].owner, KMS_DNS_T_SRV, 0),
                        (struct sockaddr *)&z->primary, 0, on_current, q);
    }
    zone_current_step(z); /* the +1; z may be gone after this */
}

static void zone_fail(zone_t *z, int status, const char *msg)
{
    for (size_t k = 0; k < z->ndoms; k++)
        pub__set_result(z->run, z->doms[k], status, "%s", msg);
    pub__zone_finish(z);
}

void pub__zone_finish(zone_t *z)
{
    run_t *r = z->run;
    if (z->done)
        return;
    z->done = 1;
    pub__verify_stop(z);
    r->zones_pending--;
    run_maybe_done(r);
}

/* ---- phase 2: zones ------------------------------------------------------- */

static const struct sockaddr *disc_server(const pub_engine_t *e)
{
    return (const struct sockaddr *)(e->has_server ? &e->server : &e->resolver);
}

static void on_mname(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    zone_t *z = ud;
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    (void)attempts;
    for (size_t i = 0; !status && reply && i < reply->nrrs; i++) {
        const kms_dns_rr_t *x = &reply->rrs[i];
        if (x->section != KMS_DNS_ANSWER || !x->family ||
            kms_addr_from_bytes(x->family, x->addr, kms_addr_port(disc_server(e)), &z->primary) < 0)
            continue;
        zone_work(z);
        return;
    }
    if (z->mname_try == 0 && !r->canceled) {
        z->mname_try = 1;
        pub__xchg_start(r, pub__query(z->mname, KMS_DNS_T_AAAA, 1), disc_server(e), 0, on_mname, z);
        return;
    }
    char msg[600], srv[KMS_ADDRSTRLEN];
    snprintf(msg, sizeof msg,
             "cannot find the address of %s, primary (SOA MNAME) of zone %s, at %s%s", z->mname,
             z->name, kms_addr_format_dns(disc_server(e), srv), status ? "" : "; give --server");
    zone_fail(z, status ? status : KMS_ENOENT, msg);
}

static void zones_start(run_t *r)
{
    pub_engine_t *e = r->e;
    size_t nz = 0;
    r->zones = calloc(r->n, sizeof *r->zones);
    if (!r->zones) {
        r->zones_started = 1;
        for (size_t i = 0; i < r->n; i++)
            if (!r->res[i].time)
                pub__set_result(r, i, KMS_ENOMEM, "out of memory");
        run_maybe_done(r);
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        dom_t *d = &r->doms[i];
        if (r->res[i].time)
            continue; /* discovery failed */
        size_t z = 0;
        while (z < nz && !kms_dname_eq(r->zones[z].name, d->zone_name))
            z++;
        if (z == nz) {
            zone_t *nzp = &r->zones[nz++];
            nzp->run = r;
            nzp->idx = z;
            snprintf(nzp->name, sizeof nzp->name, "%s", d->zone_name);
            snprintf(nzp->mname, sizeof nzp->mname, "%s", d->mname);
            nzp->doms = calloc(r->n, sizeof *nzp->doms);
            if (!nzp->doms) {
                pub__set_result(r, i, KMS_ENOMEM, "out of memory");
                nz--;
                continue;
            }
        }
        d->zone = (int)z;
        r->zones[z].doms[r->zones[z].ndoms++] = i;
        snprintf(r->res[i].zone, sizeof r->res[i].zone, "%s", d->zone_name);
    }
    r->nzones = nz;
    r->zones_pending = nz;
    /* zones_started stays 0 during the loop: a zone that finishes at once
       must not end the run while the loop still walks the zones */
    for (size_t z = 0; z < nz; z++) {
        zone_t *zp = &r->zones[z];
        if (e->has_server) {
            memcpy(&zp->primary, &e->server, sizeof zp->primary);
            zone_work(zp);
        } else {
            pub__xchg_start(r, pub__query(zp->mname, KMS_DNS_T_A, 1), disc_server(e), 0, on_mname,
                            zp);
        }
    }
    r->zones_started = 1;
    run_maybe_done(r); /* r may be gone after this */
}

/* ---- phase 1: discovery --------------------------------------------------- */

static void discover(dom_t *d);

static void disc_done(run_t *r)
{
    if (--r->disc_pending == 0)
        zones_start(r);
}

static void on_soa(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    dom_t *d = ud;
    run_t *r = d->run;
    pub_engine_t *e = r->e;
    char srv[KMS_ADDRSTRLEN], why[400];
    kms_dns_explain_ctx_t c = {"query", kms_addr_format_dns(disc_server(e), srv), NULL, NULL};
    (void)attempts;

    if (status) {
        char n[32] = "";
        if (attempts > 1)
            snprintf(n, sizeof n, " (%u attempts)", attempts);
        pub__set_result(r, d->idx, status, "zone of %s not found: %s%s", r->res[d->idx].owner,
                        kms_dns_explain_err(status, &c, why, sizeof why), n);
        disc_done(r);
        return;
    }
    if (d->qtype == KMS_DNS_T_SRV) {
        /* With a configured server (the one updates go to), the first
           question is the owner's SRV set: an empty answer names the zone in
           its authority SOA, and a non-empty one is the current state; either
           way one query less per domain.  Then the usual SOA walk. */
        d->qtype = KMS_DNS_T_SOA;
        if (reply->status == 0 || reply->status == KMS_EDNS_NXDOMAIN) {
            take_current(d, r->res[d->idx].owner, reply);
            if (d->ncur > 0 || !d->cur_ok) {
                discover(d);
                return;
            }
        }
    }
    if (pub_status_retriable(reply->status)) {
        /* SERVFAIL and the like: the server cannot answer for this name
           now (a zone that failed to load, say).  Stripping labels would
           only hide that behind the parent's REFUSED; retrying may pass. */
        c.zone = d->walk;
        pub__set_result(r, d->idx, reply->status, "zone of %s not found: %s", r->res[d->idx].owner,
                        kms_dns_explain(reply, &c, why, sizeof why));
        disc_done(r);
        return;
    }
    const kms_dns_rr_t *soa = NULL;
    for (int pass = KMS_DNS_ANSWER; !soa && pass <= KMS_DNS_AUTHORITY; pass++)
        for (size_t i = 0; !soa && i < reply->nrrs; i++)
            if (reply->rrs[i].section == pass && reply->rrs[i].type == KMS_DNS_T_SOA &&
                reply->rrs[i].target[0])
                soa = &reply->rrs[i];
    if (soa && reply->status != KMS_EDNS_REFUSED) {
        snprintf(d->zone_name, sizeof d->zone_name, "%s", soa->name);
        snprintf(d->mname, sizeof d->mname, "%s", soa->target);
        disc_done(r);
        return;
    }
    /* strip a label and ask again (the nsupdate walk) */
    const char *dot = strchr(d->walk, '.');
    if (r->canceled || !dot || !dot[1]) {
        if (r->canceled)
            pub__set_result(r, d->idx, KMS_ECANCELED, "canceled");
        else
            pub__set_result(r, d->idx, reply->status ? reply->status : KMS_ENOENT,
                            "no zone found for %s at %s (last answer %s)", r->res[d->idx].owner,
                            srv, kms_dns_rcode_name(reply->rcode));
        disc_done(r);
        return;
    }
    memmove(d->walk, dot + 1, strlen(dot + 1) + 1);
    discover(d);
}

static void discover(dom_t *d)
{
    run_t *r = d->run;
    pub__xchg_start(r, pub__query(d->walk, d->qtype, 1), disc_server(r->e), 0, on_soa, d);
}

/* ---- API ------------------------------------------------------------------ */

/* The first nameserver of /etc/resolv.conf, or KMS_EADDR. */
static int resolv_conf_server(struct sockaddr_storage *out)
{
    kms_resolvconf_t rc;

    if (kms_resolvconf_load(NULL, &rc) < 0 || kms_resolvconf_servers(&rc, out, 1) == 0)
        return KMS_EADDR;
    return 0;
}

int pub_engine_new(uv_loop_t *loop, const pub_options_t *opt, pub_engine_t **out)
{
    pub_engine_t *e = NULL;
    int rc = KMS_EINVAL;

    *out = NULL;
    if (!loop || !opt || opt->port == 0)
        return KMS_EINVAL;
    if (!opt->key && !opt->allow_unsigned)
        return KMS_EINVAL;
    e = calloc(1, sizeof *e);
    if (!e)
        return KMS_ENOMEM;
    e->loop = loop;
    e->opt = *opt;
    if (opt->target && kms_dname_canon(opt->target, KMS_DNAME_ANY, e->target, sizeof e->target) < 0)
        goto fail;
    e->opt.target = opt->target ? e->target : NULL;
    if (opt->server) {
        memcpy(&e->server, opt->server, kms_addr_len(opt->server));
        e->has_server = 1;
    }
    if (opt->resolver)
        memcpy(&e->resolver, opt->resolver, kms_addr_len(opt->resolver));
    else if (opt->server)
        memcpy(&e->resolver, opt->server, kms_addr_len(opt->server));
    else if ((rc = resolv_conf_server(&e->resolver)) < 0)
        goto fail;
    e->opt.server = NULL;
    e->opt.resolver = NULL;
    if (opt->key) {
        e->key = *opt->key;
        e->has_key = 1;
        kms_tsig_key_display(&e->key, e->key_display, sizeof e->key_display);
    }
    e->opt.key = NULL;
    if (!e->opt.timeout_ms)
        e->opt.timeout_ms = 2000;
    if (!e->opt.backoff_max_ms)
        e->opt.backoff_max_ms = 30000;
    if (!e->opt.max_inflight)
        e->opt.max_inflight = 64;
    if (!e->opt.verify_timeout_ms)
        e->opt.verify_timeout_ms = 30000;
    *out = e;
    return 0;
fail:
    free(e);
    return rc;
}

int pub_run(pub_engine_t *e, pub_op_t op, const pub_domain_t *domains, size_t n, pub_done_cb cb,
            void *ud)
{
    run_t *r = NULL;
    int rc = KMS_EINVAL;

    if (!e || e->freeing || !cb)
        return KMS_EINVAL;
    if (e->run)
        return KMS_EBUSY;
    if (!domains || n == 0 || n > 100000 || (op != PUB_SHOW && !e->target[0]))
        return KMS_EINVAL;
    r = calloc(1, sizeof *r);
    if (!r)
        return KMS_ENOMEM;
    r->doms = calloc(n, sizeof *r->doms);
    r->res = calloc(n, sizeof *r->res);
    if (!r->doms || !r->res) {
        rc = KMS_ENOMEM;
        goto fail;
    }
    r->e = e;
    r->op = op;
    r->n = n;
    r->cb = cb;
    r->ud = ud;
    for (size_t i = 0; i < n; i++) {
        pub_result_t *res = &r->res[i];
        dom_t *d = &r->doms[i];
        if (domains[i].priority > 65535 || domains[i].weight > 65535 ||
            kms_dname_canon(domains[i].name, KMS_DNAME_ANY, res->domain, sizeof res->domain) < 0 ||
            strlen(res->domain) + 12 >= sizeof res->owner)
            goto fail;
        snprintf(res->owner, sizeof res->owner, "_vlmcs._tcp.%.240s",
                 strcmp(res->domain, ".") == 0 ? "" : res->domain);
        res->priority = domains[i].priority >= 0 ? (uint16_t)domains[i].priority : e->opt.priority;
        res->weight = domains[i].weight >= 0 ? (uint16_t)domains[i].weight : e->opt.weight;
        d->run = r;
        d->idx = i;
        d->zone = -1;
        snprintf(d->walk, sizeof d->walk, "%s", res->owner);
        d->qtype = e->has_server ? KMS_DNS_T_SRV : KMS_DNS_T_SOA;
    }
    e->run = r;
    r->disc_pending = n;
    for (size_t i = 0; i < n; i++)
        discover(&r->doms[i]);
    return 0;
fail:
    run_free(r);
    return rc;
}

void pub_cancel(pub_engine_t *e)
{
    if (!e || !e->run)
        return;
    run_t *r = e->run;
    r->canceled = 1;
    pub__xchg_cancel(r);
    for (size_t z = 0; z < r->nzones; z++)
        pub__verify_cancel(&r->zones[z]);
}

void pub_engine_free(pub_engine_t *e)
{
    if (!e)
        return;
    e->freeing = 1;
    pub_cancel(e);
    pub__engine_maybe_free(e);
}