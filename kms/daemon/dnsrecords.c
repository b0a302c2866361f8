/* SPDX-License-Identifier: MIT */
/*
 * dnsrecords.c - the SRV records kmsd published and has not removed
 * (state_dir/published, kms/core/state.h), and the removal of those the
 * current settings no longer make: a domain dropped from the list, or a
 * changed target or port, while running (SIGHUP, a verb) or while stopped
 * (see dnspub_int.h).
 */
#include "kms/daemon/dnspub_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

int dp_listed(kms_dnspub_t *p, const char *domain)
{
    kms_settings_t s;

    kms_host_settings(p->host, &s);
    return pub_domains_find(s.domains, domain) >= 0;
}

/* 1 if an unpublish of @p a's domain at (@p a's target, port) is running,
 * queued or waiting for a retry. */
static int removal_pending(const kms_dnspub_t *p, const kms_published_rec_t *a)
{
    const job_t *lists[3] = {p->active, p->queue, p->delayed};

    for (size_t l = 0; l < 3; l++) {
        for (const job_t *j = lists[l]; j; j = l ? j->next : NULL) {
            if (j->op == PUB_UNPUBLISH && j->target && j->port == a->port &&
                kms_dname_eq(j->target, a->target) && pub_domains_find(&j->doms, a->domain) >= 0)
                return 1;
        }
    }
    return 0;
}

/*
 * Queue, before anything else the caller queues, the removal of every
 * record this host published that the current settings no longer make.
 * One job per (target, port), running with an engine of its own; a record
 * leaves the published file when its removal got through.
 */
void dp_queue_removals(kms_dnspub_t *p, int daemon)
{
    char *done;

    if (p->pubd.n == 0)
        return;
    if (!(done = calloc(p->pubd.n, 1))) {
        kms_error("dns: out of memory: older records are not removed this time");
        return;
    }
    /* Left alone: what this host still makes (the publish replaces it) and
     * what a removal already running, queued or waiting covers. */
    for (size_t i = 0; i < p->pubd.n; i++) {
        const kms_published_rec_t *a = &p->pubd.recs[i];
        int current = p->target && kms_dname_eq(a->target, p->target) && a->port == p->port;

        done[i] = (current && dp_listed(p, a->domain)) || removal_pending(p, a);
    }
    for (size_t i = 0; i < p->pubd.n; i++) {
        const kms_published_rec_t *a = &p->pubd.recs[i];
        job_t *j;

        if (done[i])
            continue;
        if (!(j = dp_job_new(PUB_UNPUBLISH, daemon)) || !(j->target = strdup(a->target))) {
            dp_job_free(j);
            kms_error("dns: out of memory: the older records of %s are not removed this time",
                      a->target);
            continue;
        }
        j->port = a->port;
        for (size_t m = i; m < p->pubd.n; m++) {
            const kms_published_rec_t *b = &p->pubd.recs[m];

            if (done[m] || b->port != a->port || !kms_dname_eq(b->target, a->target))
                continue;
            done[m] = 1;
            if (pub_domains_add(&j->doms, &(pub_domain_t){(char *)b->domain, -1, -1}) == KMS_ENOMEM)
                kms_error("dns: out of memory: the older record of %s at %s is not removed this "
                          "time",
                          b->target, b->domain);
        }
        if (j->doms.n == 0) {
            dp_job_free(j);
            continue;
        }
        kms_info("dns: removing %zu older record(s) of %s port %u", j->doms.n, j->target, j->port);
        dp_queue_append(p, j);
    }
    free(done);
}

/* Keep the published file in step with a run's results. */
void dp_track_published(kms_dnspub_t *p, const job_t *j, const pub_result_t *r, size_t n)
{
    const char *target = j->ran_target;
    uint16_t port = j->ran_port;
    int changed = 0, rc;

    if (!target)
        return;
    for (size_t i = 0; i < n; i++) {
        if (r[i].status != 0)
            continue;
        if (j->op == PUB_PUBLISH) {
            rc = kms_published_add(&p->pubd, r[i].domain, target, port);
            if (rc < 0)
                kms_warn("dns: cannot remember %s at %s: %s (it will not be removed when "
                         "the target, port or domain list changes)",
                         target, r[i].domain, kms_strerror(rc));
            changed |= rc == 1;
        } else if (j->op == PUB_UNPUBLISH) {
            changed |= kms_published_del(&p->pubd, r[i].domain, target, port) == 1;
        }
    }
    if (changed)
        dp_save_published(p);
    /* A reload changed the target or port while this publish ran: what it
     * added is already an older record. */
    if (changed && j->op == PUB_PUBLISH && !p->stopping &&
        (!p->target || !kms_dname_eq(target, p->target) || port != p->port))
        dp_queue_removals(p, 1);
}

/* ---- the published file, written off the loop ---------------------------- */

static void save_failed(kms_dnspub_t *p, int rc)
{
    kms_warn("dns: cannot save %s/%s: %s (older records may be left behind after a restart)",
             p->state_dir, KMS_STATE_PUBLISHED, kms_strerror(rc));
}

static void save_work_cb(uv_work_t *w)
{
    kms_dnspub_t *p = w->data;

    p->pubd_rc =
        kms_state_write(p->state_dir, KMS_STATE_PUBLISHED, p->pubd_buf.buf, p->pubd_buf.len, 1);
}

static void save_done_cb(uv_work_t *w, int status)
{
    kms_dnspub_t *p = w->data;

    if (status < 0)
        p->pubd_rc = kms_err_from_uv(status);
    if (p->pubd_rc < 0)
        save_failed(p, p->pubd_rc);
    kms_wr_free(&p->pubd_buf);
    p->pubd_writing = 0;
    if (p->pubd_again) {
        p->pubd_again = 0;
        dp_save_published(p); /* what changed meanwhile */
    }
    dp_maybe_stopped(p);
}

/*
 * Write the published file: formatted here, on the loop, from what is in
 * memory now; written (fsyncs included) in libuv's threadpool.  One write
 * at a time, in order: a change while one is under way is written after it.
 */
void dp_save_published(kms_dnspub_t *p)
{
    int rc;

    if (p->pubd_writing) {
        p->pubd_again = 1;
        return;
    }
    kms_wr_init(&p->pubd_buf);
    if ((rc = kms_state_format_published(&p->pubd, &p->pubd_buf)) == 0) {
        p->pubd_work.data = p;
        rc = kms_err_from_uv(uv_queue_work(p->loop, &p->pubd_work, save_work_cb, save_done_cb));
    }
    if (rc < 0) {
        kms_wr_free(&p->pubd_buf);
        save_failed(p, rc);
        return;
    }
    p->pubd_writing = 1;
}
