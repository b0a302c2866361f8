/* SPDX-License-Identifier: MIT */
/*
 * dnsjob.c - kmsd's DNS job queue: one engine run at a time, background
 * retries, superseding, the status table and the verbs' replies (see
 * dnspub_int.h).
 */
#include "kms/daemon/dnspub_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/addr.h"
#include "base/backoff.h"
#include "base/err.h"
#include "base/log.h"

job_t *dp_job_new(pub_op_t op, int daemon)
{
    job_t *j = calloc(1, sizeof *j);

    if (!j)
        return NULL;
    j->op = op;
    j->daemon = daemon;
    return j;
}

void dp_job_free(job_t *j)
{
    if (!j)
        return;
    pub_domain_list_free(&j->doms);
    free(j->target);
    free(j->ran_target);
    free(j);
}

/* Append @p j to the job list @p head (the queue, or the retries waiting). */
static void list_append(job_t **head, job_t *j)
{
    while (*head)
        head = &(*head)->next;
    *head = j;
}

void dp_queue_append(kms_dnspub_t *p, job_t *j)
{
    list_append(&p->queue, j);
}

/* ---- status table -------------------------------------------------------- */

kms_dns_state_t *dp_status_row(kms_dnspub_t *p, const char *domain)
{
    char d[KMS_DNS_NAMELEN];
    kms_dns_state_t *nt;

    kms_dname_shown(domain, d, sizeof d);
    for (size_t i = 0; i < p->n_st; i++)
        if (strcmp(p->st[i].domain, d) == 0)
            return &p->st[i];
    if (!(nt = realloc(p->st, (p->n_st + 1) * sizeof *nt)))
        return NULL;
    p->st = nt;
    memset(&nt[p->n_st], 0, sizeof *nt);
    snprintf(nt[p->n_st].domain, sizeof nt[p->n_st].domain, "%s", d);
    return &nt[p->n_st++];
}

/* How updates are signed, for `status`: from the daemon's engine once it
 * has read credentials, else from the options. */
static void auth_push(kms_dnspub_t *p)
{
    kms_dns_auth_t a;
    pub_auth_info_t i;

    memset(&a, 0, sizeof a);
    if (p->eng_daemon && p->ops == &kms_dnspub_engine) { /* not a test's stand-in */
        pub_auth_info(p->eng_daemon, &i);
        snprintf(a.method, sizeof a.method, "%s", i.method);
        snprintf(a.name, sizeof a.name, "%s", i.key_name ? i.key_name : "");
        snprintf(a.algorithm, sizeof a.algorithm, "%s", i.algorithm ? i.algorithm : "");
        a.creds_expiry = i.creds_expiry;
        a.key_expiry = i.key_expiry;
    } else {
        snprintf(a.method, sizeof a.method, "%s",
                 p->gss       ? "gss-tsig"
                 : p->has_key ? "tsig"
                              : "none");
        if (p->has_key) {
            kms_tsig_key_display(&p->key, a.name, sizeof a.name);
            snprintf(a.algorithm, sizeof a.algorithm, "%s", p->key.algorithm);
        }
    }
    kms_host_set_dns_auth(p->host, &a);
}

/* What is published, for `status` (and kmsctl handover). */
static void record_push(kms_dnspub_t *p)
{
    kms_dns_record_t rec;
    char a[KMS_ADDRSTRLEN];

    memset(&rec, 0, sizeof rec);
    snprintf(rec.target, sizeof rec.target, "%s", p->target ? p->target : "");
    rec.port = p->port;
    rec.ttl = p->ttl;
    if (p->server.ss_family)
        snprintf(rec.server, sizeof rec.server, "%s",
                 kms_addr_format((const struct sockaddr *)&p->server, a));
    kms_host_set_dns_record(p->host, &rec);
}

/* How the primary is reached, for `status`. */
static void transport_push(kms_dnspub_t *p)
{
    kms_dns_transport_t t;
    const char *name = p->tls_name ? p->tls_name : p->tls_server_name;

    memset(&t, 0, sizeof t);
    t.tls = p->tls;
    snprintf(t.name, sizeof t.name, "%s", p->tls ? name : "");
    snprintf(t.ca_file, sizeof t.ca_file, "%s", p->tls && p->tls_ca_file ? p->tls_ca_file : "");
    snprintf(t.cert_file, sizeof t.cert_file, "%s",
             p->tls && p->tls_cert_file ? p->tls_cert_file : "");
    kms_host_set_dns_transport(p->host, &t);
}

void dp_status_push(kms_dnspub_t *p)
{
    auth_push(p);
    record_push(p);
    transport_push(p);
    if (kms_host_set_dns(p->host, p->st, p->n_st, p->active != NULL || p->delayed != NULL) < 0)
        kms_warn("dns: out of memory updating the status table");
}

/* ---- the verbs' replies --------------------------------------------------- */

/*
 * The DNS outcome into the waiting verb's result, then tell the verb: one
 * "dns DOMAIN ok|error MESSAGE" line per domain (or "dns - error WHY" when
 * the run could not start: @p status, @p why).  For a verb whose DNS work
 * is a removal (cdns, decommission) a DNS failure fails the verb instead:
 * KMS_EPUBLISH, "dns DOMAIN: MESSAGE" for the first failing domain.
 */
void dp_job_answer(job_t *j, const pub_result_t *r, size_t n, int status, const char *why)
{
    kms_cmd_result_t *res = j->res;
    char dn[KMS_DNS_NAMELEN];
    int strict;
    size_t i;

    if (!res)
        return;
    strict = res->verb && res->verb->dns == KMS_VERB_DNS_UNPUBLISH;
    for (i = 0; i < n && r[i].status >= 0; i++)
        ;
    if (strict && i < n)
        kms_cmd_result_fail(res, KMS_EPUBLISH, "dns %s: %s",
                            kms_dname_shown(r[i].domain, dn, sizeof dn), r[i].message);
    else if (strict && status < 0) /* kmsd stopping is no DNS failure */
        kms_cmd_result_fail(res, status == KMS_ECANCELED ? status : KMS_EPUBLISH, "dns: %s",
                            why ? why : kms_strerror(status));
    for (i = 0; i < n; i++)
        kms_cmd_result_line(res, "dns %s %s %s", kms_dname_shown(r[i].domain, dn, sizeof dn),
                            r[i].status == 0 ? "ok" : "error", r[i].message);
    if (status < 0 && n == 0)
        kms_cmd_result_line(res, "dns - error %s", why ? why : kms_strerror(status));
    j->res = NULL;
    j->done(j->done_ud);
}

/* ---- retries ------------------------------------------------------------- */

void dp_retry_cb(uv_timer_t *t)
{
    kms_dnspub_t *p = t->data;

    while (p->delayed) {
        job_t *j = p->delayed;

        p->delayed = j->next;
        j->next = NULL;
        dp_queue_append(p, j);
    }
    dp_run_next(p);
}

/*
 * After a run: the domains that failed for a reason that may pass are
 * retried as a daemon job once the backoff of this step has passed,
 * whether the run was a daemon's or a verb's (whose reply has gone:
 * nothing asked for is dropped).  Definitive answers (REFUSED, NOTAUTH,
 * TSIG errors) are not retried.  Logs the step: one line, whatever the
 * number of domains.
 */
static void schedule_retry(kms_dnspub_t *p, const job_t *j, const pub_result_t *r, size_t n)
{
    job_t *nj = NULL;
    size_t first = 0;
    uint64_t delay;
    char dn[KMS_DNS_NAMELEN];

    for (size_t i = 0; i < n; i++) {
        long m;

        if (!pub_status_retriable(r[i].status) || (m = pub_domains_find(&j->doms, r[i].domain)) < 0)
            continue;
        if (!nj) {
            if (!(nj = dp_job_new(j->op, 1)) || (j->target && !(nj->target = strdup(j->target)))) {
                dp_job_free(nj);
                kms_error("dns: out of memory: the %s of %s is not retried", pub_op_name(j->op),
                          kms_dname_shown(r[i].domain, dn, sizeof dn));
                return;
            }
            nj->port = j->port;
            first = i;
        }
        if (pub_domains_add(&nj->doms, &j->doms.v[m]) < 0) {
            kms_error("dns: out of memory: only %zu domain(s) are retried", nj->doms.n);
            break;
        }
    }
    if (!nj || nj->doms.n == 0) {
        dp_job_free(nj);
        if (!nj && j->daemon)
            p->retry_step = 0; /* everything got through: the next failure starts over */
        return;
    }
    list_append(&p->delayed, nj);
    if (uv_is_active((uv_handle_t *)&p->retry))
        return; /* joins the retry already waiting */
    delay = kms_backoff(DP_RETRY_FIRST_MS, DP_RETRY_MAX_MS, p->retry_step);
    if (p->retry_step < 32)
        p->retry_step++;
    if (nj->doms.n == 1)
        kms_warn("dns: %s of %s did not get through (%s); retrying in the background in %.1f s",
                 pub_op_name(j->op), kms_dname_shown(r[first].domain, dn, sizeof dn),
                 r[first].message, (double)delay / 1000.0);
    else
        kms_warn("dns: %s of %zu domains did not get through (%s: %s; ...); retrying in the "
                 "background in %.1f s",
                 pub_op_name(j->op), nj->doms.n, kms_dname_shown(r[first].domain, dn, sizeof dn),
                 r[first].message, (double)delay / 1000.0);
    uv_timer_start(&p->retry, dp_retry_cb, delay, 0);
}

/* Drop the daemon jobs waiting, queued or for the retry timer: a verb's
 * run or a new full publish supersedes them (the publish covers the current
 * domains, and dp_queue_removals() queues the removals again from the
 * published file). */
void dp_drop_daemon_jobs(kms_dnspub_t *p)
{
    job_t **lists[2] = {&p->queue, &p->delayed};

    for (size_t l = 0; l < 2; l++) {
        for (job_t **pp = lists[l]; *pp;) {
            job_t *q = *pp;

            if (q->daemon) {
                *pp = q->next;
                dp_job_free(q);
                continue;
            }
            pp = &q->next;
        }
    }
    if (!p->delayed && p->started)
        uv_timer_stop(&p->retry);
}

/* Queue a job; a verb's job supersedes the daemon jobs waiting and
 * cancels a daemon run in flight.  It starts from the loop. */
void dp_enqueue(kms_dnspub_t *p, job_t *j)
{
    if (!j->daemon) {
        dp_drop_daemon_jobs(p);
        dp_supersede_active(p);
    }
    dp_queue_append(p, j);
    dp_kick(p);
}

/* Cancel the daemon run in flight, unless it removes an older record: a
 * canceled removal would not be retried, and dp_queue_removals() counts it
 * as under way, so the record would stay in DNS.  It finishes first. */
void dp_supersede_active(kms_dnspub_t *p)
{
    if (p->active && p->active->daemon && !p->active->target)
        p->ops->cancel(p->active->eng);
}

void dp_kick(kms_dnspub_t *p)
{
    if (p->started && !p->stopping)
        uv_timer_start(&p->kick, dp_kick_cb, 0, 0);
}

/* ---- runs ---------------------------------------------------------------- */

void dp_kick_cb(uv_timer_t *t)
{
    dp_run_next(t->data);
}

static void run_done(const pub_result_t *r, size_t n, const pub_stats_t *stats, void *ud)
{
    kms_dnspub_t *p = ud;
    job_t *j = p->active;
    char dn[KMS_DNS_NAMELEN];
    size_t logged = 0, unlogged = 0;

    (void)stats;
    p->active = NULL;
    for (size_t i = 0; i < n; i++) {
        /* A listed domain's row tells of its current record, not of the
         * removal of an older one (logged all the same). */
        kms_dns_state_t *d =
            j->target && dp_listed(p, r[i].domain) ? NULL : dp_status_row(p, r[i].domain);

        kms_dname_shown(r[i].domain, dn, sizeof dn);
        if (r[i].status == 0 && r[i].unchanged) /* a refresh or check with nothing to do */
            kms_debug("dns: %s: %s", dn, r[i].message);
        else if (r[i].status == 0)
            kms_info("dns: %s: %s", dn, r[i].message);
        else if (r[i].status == KMS_ECANCELED)
            kms_debug("dns: %s: %s canceled", dn, pub_op_name(j->op));
        else if (pub_status_retriable(r[i].status))
            ; /* logged once for the step by schedule_retry() */
        else if (logged++ < DP_LOG_DOMAINS)
            kms_error("dns: %s: %s failed: %s", dn, pub_op_name(j->op), r[i].message);
        else
            unlogged++;
        if (!d || r[i].status == KMS_ECANCELED)
            continue;
        snprintf(d->op, sizeof d->op, "%s", pub_op_name(j->op));
        d->status = r[i].status;
        d->time = r[i].time ? r[i].time : (int64_t)time(NULL);
        if (d->status == 0)
            d->last_ok = d->time;
        else
            d->last_error = d->time;
        snprintf(d->message, sizeof d->message, "%s", r[i].message);
    }
    if (unlogged)
        kms_error("dns: %s failed for %zu more domain(s) (kmsctl status lists each)",
                  pub_op_name(j->op), unlogged);
    dp_track_published(p, j, r, n);
    dp_job_answer(j, r, n, 0, NULL);
    if (!p->stopping)
        schedule_retry(p, j, r, n);
    dp_job_free(j);
    if (p->stopping) {
        dp_maybe_stopped(p);
        return;
    }
    dp_status_push(p);
    dp_kick(p);
}

/* The engine for a job removing an older record: the configured options
 * with that record's target and port (rebuilt per such job; never called
 * while an engine is in its callback). */
static int old_engine(kms_dnspub_t *p, const job_t *j, pub_engine_t **e)
{
    pub_options_t o;
    int rc;

    dp_engine_discard(p, &p->eng_old);
    if ((rc = dp_engine_options(p, &o)) < 0)
        return rc;
    o.target = j->target;
    o.port = j->port;
    o.attempts = j->daemon ? DP_DAEMON_ATTEMPTS : DP_CMD_ATTEMPTS;
    o.log_retries = 0; /* as dp_build_engines() */
    if ((rc = p->ops->engine_new(p->loop, &o, &p->eng_old)) < 0)
        return rc;
    *e = p->eng_old;
    return 0;
}

/* A job that cannot run: why, on every domain's row, in the log and to
 * the verb waiting. */
static void job_cannot_run(kms_dnspub_t *p, job_t *j, int rc)
{
    const char *why = NULL;

    if (rc == KMS_EINVAL && !p->has_key && !p->gss && !p->allow_unsigned)
        why = "no TSIG key ([dns] key_file, or allow_unsigned = yes)";
    else if (rc == KMS_EADDR)
        why = "no DNS server ([dns] server, or a nameserver in /etc/resolv.conf)";
    kms_error("dns: cannot %s: %s", pub_op_name(j->op), why ? why : kms_strerror(rc));
    for (size_t i = 0; i < j->doms.n; i++) {
        kms_dns_state_t *d = dp_status_row(p, j->doms.v[i].name);

        if (!d)
            continue;
        snprintf(d->op, sizeof d->op, "%s", pub_op_name(j->op));
        d->status = rc;
        d->time = (int64_t)time(NULL);
        d->last_error = d->time;
        snprintf(d->message, sizeof d->message, "%s", why ? why : kms_strerror(rc));
    }
    dp_job_answer(j, NULL, 0, rc, why);
}

/* Start queued jobs until one runs (or none is left). */
void dp_run_next(kms_dnspub_t *p)
{
    while (!p->active && p->queue && !p->stopping) {
        job_t *j = p->queue;
        pub_engine_t *e;
        int rc = 0;

        p->queue = j->next;
        j->next = NULL;
        if (j->daemon && j->op == PUB_PUBLISH && !dp_publishing(p)) {
            /* publishing was turned off (reload, verb) since it was queued */
            dp_job_free(j);
            continue;
        }
        if (p->stale)
            rc = dp_build_engines(p);
        e = j->daemon ? p->eng_daemon : p->eng_cmd;
        if (rc == 0 && j->target)
            rc = old_engine(p, j, &e);
        /* what the run publishes or removes, whatever a reload changes meanwhile */
        free(j->ran_target);
        j->ran_target = NULL;
        j->ran_port = j->target ? j->port : p->port;
        if (rc == 0 && (j->target || p->target) &&
            !(j->ran_target = strdup(j->target ? j->target : p->target)))
            rc = KMS_ENOMEM;
        if (rc == 0)
            rc = p->ops->run(e, j->op, j->doms.v, j->doms.n, run_done, p);
        if (rc == 0) {
            j->eng = e;
            p->active = j;
            dp_status_push(p);
            return;
        }
        job_cannot_run(p, j, rc);
        dp_job_free(j);
        dp_status_push(p);
    }
}
