/* SPDX-License-Identifier: MIT */
/*
 * update.c - phase 3 of a run (publisher.h, step 3): per zone, the current
 * records, one UPDATE, the results.
 *
 * The current SRV records of each owner are read from the zone's primary
 * (unless discovery already read them there); zone->pending counts those
 * reads.  A domain whose records could not be read is left out of the
 * UPDATE.  Then ONE UPDATE carries every other domain of the zone (publish:
 * a class-NONE delete of each of our records that differ, then the add;
 * unpublish: a delete of exactly ours; show sends none, the records found
 * are its result).  Ours means our target and our port: another host's
 * records are never touched.  The answer gives each domain its result; then
 * the zone is verified (verify.c) or ends.  pub__zone_finish() is the one
 * end of a zone, from any phase; the last zone's end may end the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/rcode.h"
#include "publisher/pub_int.h"

static void fmt_rr(char *buf, size_t len, const char *owner, uint32_t ttl, unsigned prio,
                   unsigned weight, unsigned port, const char *target)
{
    snprintf(buf, len, "%s %u IN SRV %u %u %u %s", owner, ttl, prio, weight, port, target);
}

/* A query of one domain of zone z. */
typedef struct {
    zone_t *z;
    size_t dom;
} dq_t;

/* Ours: our target and our port.  A record of another port at our target
 * (another service of that host) is left alone like another host's. */
static int is_ours(const pub_engine_t *e, const kms_srv_rec_t *s)
{
    return s->port == e->opt.port && kms_dname_eq(s->target, e->target);
}

/* The domain's records read at the primary hold ours as wanted (priority,
 * weight, and the TTL when @p ttl) and no other record of ours.  The TTL is
 * the RRset's, which another host's update may have set (RFC 2181 5.2). */
static int as_wanted(const pub_engine_t *e, const dom_t *d, const pub_result_t *res, int ttl)
{
    size_t ours = 0, exact = 0;

    if (!d->cur_ok)
        return 0;
    for (size_t j = 0; j < d->ncur; j++) {
        const kms_srv_rec_t *s = &d->cur[j];

        if (!is_ours(e, s))
            continue;
        ours++;
        exact += s->priority == res->priority && s->weight == res->weight &&
                 (!ttl || s->ttl == e->opt.ttl);
    }
    return ours == 1 && exact == 1;
}

/* The zone's UPDATE is through (confirmed where it could be): verify, or end. */
static void after_update(zone_t *z)
{
    run_t *r = z->run;

    for (size_t k = 0; k < z->ndoms && r->e->opt.verify && !r->canceled; k++)
        if (r->res[z->doms[k]].status == 0) {
            pub__verify_start(z);
            return;
        }
    pub__zone_finish(z);
}

static void confirm_step(zone_t *z)
{
    if (--z->pending == 0)
        after_update(z);
}

/* The primary's records of one domain after a NOERROR: they must show the
 * change.  Not so means the server dropped it without saying (a PowerDNS Lua
 * update policy answers NOERROR and applies nothing). */
static void on_confirm(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    dq_t *q = ud;
    zone_t *z = q->z;
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    dom_t *d = &r->doms[q->dom];
    pub_result_t *res = &r->res[d->idx];
    int st = status ? status : reply->status;

    (void)attempts;
    free(q);
    if (st == 0 || st == KMS_EDNS_NXDOMAIN) {
        size_t ours = 0;

        pub__take_current(d, res->owner, reply);
        for (size_t j = 0; d->cur_ok && j < d->ncur; j++)
            ours += is_ours(e, &d->cur[j]);
        if (d->cur_ok && (r->op == PUB_PUBLISH ? !as_wanted(e, d, res, 0) : ours > 0))
            pub__set_result(r, d->idx, KMS_EDNS_IGNORED,
                            "update accepted by %s (NOERROR) but not applied: %s still %s; "
                            "its update policy drops changes without saying so (a PowerDNS "
                            "Lua policy does)",
                            z->primary_str, res->owner,
                            r->op == PUB_PUBLISH ? "lacks our record" : "holds our record");
    }
    /* a read that fails leaves the NOERROR's result: the server said yes */
    confirm_step(z);
}

/* Read back, at the primary, every domain the UPDATE changed. */
static void confirm_start(zone_t *z)
{
    run_t *r = z->run;

    z->pending = 1; /* the loop below must not see the zone finish under its feet */
    for (size_t k = 0; k < z->ndoms; k++) {
        dq_t *q;

        if (r->res[z->doms[k]].status != 0 || r->res[z->doms[k]].unchanged)
            continue;
        if (!(q = malloc(sizeof *q)))
            continue; /* not confirmed: the NOERROR stands */
        q->z = z;
        q->dom = z->doms[k];
        z->pending++;
        pub__xchg_start(r, z, pub__query(r->res[q->dom].owner, KMS_DNS_T_SRV, 0),
                        (struct sockaddr *)&z->primary, NULL, on_confirm, q);
    }
    confirm_step(z);
}

static void on_update(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    zone_t *z = ud;
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    char why[512];
    kms_dns_explain_ctx_t c = {"update", z->primary_str,
                               e->has_key ? e->key_display
                               : e->gss   ? e->auth_principal
                                          : NULL,
                               z->name, e->gss != NULL};
    int st = status ? status : reply->status;

    if (st) {
        const char *neg = !reply && e->gss
                              ? pub__gss_error(e, (struct sockaddr *)&z->primary, z->mname, status)
                              : NULL;
        if (neg) /* the key could not be negotiated: say why, in Kerberos terms */
            snprintf(why, sizeof why, "%s", neg);
        else if (reply)
            kms_dns_explain(reply, &c, why, sizeof why);
        else
            pub__explain_err(e, (struct sockaddr *)&z->primary,
                             pub__tls_name(e, (struct sockaddr *)&z->primary, z), status, &c, why,
                             sizeof why);
        if (!reply && attempts > 1) {
            size_t l = strlen(why);
            snprintf(why + l, sizeof why - l, " (%u attempts)", attempts);
        }
        if (!reply && attempts > 0 &&
            (status == KMS_ETIMEOUT || status == KMS_ECLOSED ||
             (status == KMS_ECONNREFUSED && attempts > 1))) {
            /* An UPDATE sent and never answered may have been applied: the
             * answer, not the change, may be what was lost.  (A refused
             * connection on the only attempt, or a message never sent, is
             * no such case.) */
            size_t l = strlen(why);
            snprintf(why + l, sizeof why - l,
                     "; the server may have applied it before it went silent (kms-publish show "
                     "tells)");
        }
    }
    for (size_t k = 0; k < z->ndoms; k++) {
        size_t i = z->doms[k];
        pub_result_t *res = &r->res[i];
        res->attempts = attempts;
        if (st && !res->unchanged) { /* an unchanged domain was not in the UPDATE */
            pub__set_result(r, i, st, "%s", why);
            continue;
        }
        char rr[700];
        fmt_rr(rr, sizeof rr, res->owner, e->opt.ttl, res->priority, res->weight, e->opt.port,
               e->target);
        if (r->op == PUB_PUBLISH && res->unchanged)
            pub__set_result(r, i, 0, "already published %s (zone %s, server %s): nothing to change",
                            rr, z->name, z->primary_str);
        else if (r->op == PUB_PUBLISH)
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
    if (!st && attempts > 0 && !r->canceled) {
        confirm_start(z);
        return;
    }
    after_update(z);
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
        if (r->op == PUB_PUBLISH && as_wanted(e, d, res, 1)) {
            res->unchanged = 1; /* a refresh with nothing to change sends nothing */
            continue;
        }
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
        /* nothing to change: every record already as wanted, or (unpublish)
         * nothing of ours there - no UPDATE */
        kms_dns_msg_free(m);
        on_update(z, 0, &(kms_dns_reply_t){.status = 0}, 0);
        return;
    }
    if (rc < 0) {
        kms_dns_msg_free(m);
        m = NULL; /* pub__xchg_start reports the failure asynchronously */
    }
    pub__xchg_start(r, z, m, (struct sockaddr *)&z->primary, e->has_key || e->gss ? z->mname : NULL,
                    on_update, z);
}

void pub__take_current(dom_t *d, const char *owner, const kms_dns_reply_t *reply)
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

/* The await operations: the state each domain's primary holds decides
   whether there is anything to wait for; the domains that hold it go on
   to verification, always on for them. */
static void await_start(zone_t *z)
{
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    size_t k = 0;

    for (size_t i = 0; i < z->ndoms; i++) {
        dom_t *d = &r->doms[z->doms[i]];
        pub_result_t *res = &r->res[d->idx];
        size_t ours = 0;

        if (!d->cur_ok)
            continue; /* current_done() said why */
        for (size_t j = 0; j < d->ncur; j++)
            ours += is_ours(e, &d->cur[j]);
        if (r->op == PUB_AWAIT_PUBLISHED && ours == 0)
            pub__set_result(r, d->idx, KMS_ENOENT,
                            "the primary %s holds no record %s SRV * * %u %s: nothing to wait for",
                            z->primary_str, res->owner, e->opt.port, e->target);
        else if (r->op == PUB_AWAIT_WITHDRAWN && ours > 0)
            pub__set_result(r, d->idx, KMS_EEXIST,
                            "the primary %s still holds %s SRV * * %u %s: nothing to wait for",
                            z->primary_str, res->owner, e->opt.port, e->target);
        else {
            pub__set_result(r, d->idx, 0, "%s the primary %s",
                            r->op == PUB_AWAIT_PUBLISHED ? "served at" : "gone from",
                            z->primary_str);
            z->doms[k++] = z->doms[i];
        }
    }
    z->ndoms = k;
    if (k == 0 || r->canceled)
        pub__zone_finish(z);
    else
        pub__verify_start(z);
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
    if (pub__op_awaits(r->op)) {
        await_start(z);
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
    kms_dns_explain_ctx_t c = {"query", z->primary_str, NULL, z->name, 0};
    const char *pre = r->op == PUB_SHOW || pub__op_awaits(r->op) || status == KMS_ETLS ||
                              status == KMS_ETLSVERIFY /* that line says it all */
                          ? ""
                          : "current records not read, nothing changed: ";
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
                        pub__explain_err(r->e, (struct sockaddr *)&z->primary,
                                         pub__tls_name(r->e, (struct sockaddr *)&z->primary, z),
                                         status, &c, why, sizeof why));
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
        pub__take_current(d, z->run->res[d->idx].owner, reply);
    current_done(z, d, st, status, reply);
}

void pub__zone_work(zone_t *z)
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
        pub__xchg_start(r, z, pub__query(r->res[q->dom].owner, KMS_DNS_T_SRV, 0),
                        (struct sockaddr *)&z->primary, NULL, on_current, q);
    }
    zone_current_step(z); /* the +1; z may be gone after this */
}

void pub__zone_fail(zone_t *z, int status, const char *msg)
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
    pub__run_maybe_done(r);
}
