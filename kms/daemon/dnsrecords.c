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
    char *done = p->pubd.n ? calloc(p->pubd.n, 1) : NULL;

    if (!done)
        return;
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

        if (done[i] || !(j = dp_job_new(PUB_UNPUBLISH, daemon)))
            continue;
        if (!(j->target = strdup(a->target))) {
            dp_job_free(j);
            continue;
        }
        j->port = a->port;
        for (size_t m = i; m < p->pubd.n; m++) {
            const kms_published_rec_t *b = &p->pubd.recs[m];

            if (done[m] || b->port != a->port || !kms_dname_eq(b->target, a->target))
                continue;
            done[m] = 1;
            pub_domains_add(&j->doms, &(pub_domain_t){(char *)b->domain, -1, -1});
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
    if (changed && (rc = kms_state_save_published(p->state_dir, &p->pubd, 1)) < 0)
        kms_warn("dns: cannot save %s/%s: %s (older records may be left behind after a "
                 "restart)",
                 p->state_dir, KMS_STATE_PUBLISHED, kms_strerror(rc));
    /* A reload changed the target or port while this publish ran: what it
     * added is already an older record. */
    if (changed && j->op == PUB_PUBLISH && !p->stopping &&
        (!p->target || !kms_dname_eq(target, p->target) || port != p->port))
        dp_queue_removals(p, 1);
}
