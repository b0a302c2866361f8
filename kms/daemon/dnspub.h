/* SPDX-License-Identifier: MIT */
/*
 * dnspub.h - kmsd's use of the DNS publisher (publisher/publisher.h): the
 * host's `_vlmcs._tcp` SRV records over the daemon's life.
 *
 * - Start (kms_dnspub_start, listeners up): publish every domain of the
 *   effective settings when publishing is on and the host is not
 *   decommissioned; then re-publish every `[dns] refresh` seconds (a tick
 *   that finds a run active is skipped).
 * - Verbs (kms_dnspub_command, from the control socket's hook): the verb
 *   table says what each needs (kms_verb_t.dns): sdns, sprio, sweight and
 *   sdomains publish (while publishing is on; sdomains' dropped domains are
 *   removed first), cdns and decommission remove exactly our records.  The
 *   verb's reply waits for its DNS run: one "dns DOMAIN ok|error MESSAGE"
 *   line per domain is added to its result; for cdns and decommission a DNS
 *   failure fails the verb (KMS_EPUBLISH, "dns DOMAIN: MESSAGE").
 * - Stop (kms_dnspub_stop): cancels; never unpublishes.
 *
 * How (dnspub_int.h): one queue of jobs, one job running at a time; a job
 * is one engine run.  Every run is bounded (a few attempts per exchange),
 * so every domain's status is current even while one zone's server is
 * down; the domains that failed for a reason that may pass are retried as
 * a background job, with a backoff growing per step (one log line a step),
 * until they get through or a newer job supersedes them.  What this host
 * published is remembered in state_dir/published, so a record left behind
 * by a changed target, port or domain list is removed.  Every outcome is
 * written to the host's DNS status table (kms_host_set_dns) for `status`.
 * The port published is the one kmsd listens on.
 *
 * Lifecycle (base/loop.h): kms_dnspub_new() allocates and opens no handle;
 * kms_dnspub_start() starts; kms_dnspub_stop(cb) cancels and calls back
 * from the loop once every handle is closed and every run has ended;
 * kms_dnspub_free() then.
 */
#ifndef KMS_DAEMON_DNSPUB_H
#define KMS_DAEMON_DNSPUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "kms/core/command.h"
#include "kms/core/host.h"
#include "kms/daemon/config.h"
#include "publisher/publisher.h"

typedef struct kms_dnspub kms_dnspub_t;

/**
 * The publisher engine kmsd drives: publisher/publisher.h's
 * (kms_dnspub_engine), or a test's stand-in with the same contract
 * (callbacks from the loop, exactly once per run).
 */
typedef struct {
    int (*engine_new)(uv_loop_t *loop, const pub_options_t *opt, pub_engine_t **out);
    int (*run)(pub_engine_t *e, pub_op_t op, const pub_domain_t *domains, size_t n, pub_done_cb cb,
               void *ud);
    void (*cancel)(pub_engine_t *e);
    void (*engine_stop)(pub_engine_t *e, pub_stopped_cb cb, void *ud);
    void (*engine_free)(pub_engine_t *e);
} kms_pub_ops_t;

/** The real engine of publisher/publisher.h. */
extern const kms_pub_ops_t kms_dnspub_engine;

/**
 * Check the [dns] settings of @p cfg that can only fail at load time: the
 * TSIG key file (read and validated).  0, or KMS_ECONFIG/KMS_EKEYFILE/
 * KMS_EALGORITHM/KMS_ENOENT with one line naming the configuration line
 * and the key file in @p err.
 */
int kms_dnspub_check_config(const kms_config_t *cfg, char *err, size_t errlen);

/**
 * New publisher on @p loop for @p host (borrowed, must outlive it), from
 * @p cfg (what it needs is copied), publishing port @p port, driving
 * @p ops (NULL: kms_dnspub_engine).  Reads state_dir/published.  Nothing
 * is sent until kms_dnspub_start().  0, KMS_ENOMEM, KMS_ECORRUPT (the
 * published file), or a key error, with @p err.
 */
int kms_dnspub_new(uv_loop_t *loop, kms_host_t *host, const kms_config_t *cfg, uint16_t port,
                   const kms_pub_ops_t *ops, kms_dnspub_t **out, char *err, size_t errlen);

/** Publish now (if on) and start the refresh timer. */
void kms_dnspub_start(kms_dnspub_t *p);

/** A new configuration (SIGHUP): re-publish if what a publish covers
 *  changed.  0, or an error with @p err (the running settings stay). */
int kms_dnspub_reconfigure(kms_dnspub_t *p, const kms_config_t *cfg, char *err, size_t errlen);

/** A deferred verb's DNS work has ended: its result is final. */
typedef void (*kms_dnspub_done_fn)(void *ud);

/**
 * The DNS work of the command whose result is @p res (kms_host_command()
 * has run it).  Returns 1 when the verb has DNS work: lines (or a failure)
 * are added to @p res as the work ends, then @p fn(@p ud) is called once,
 * from the loop; @p res must stay valid until then.  Returns 0 when there
 * is nothing to wait for: the verb failed, has no DNS work, publishing is
 * off - or the work could not even be queued, which then is @p res's
 * error (out of memory), never a silent OK.
 */
int kms_dnspub_command(kms_dnspub_t *p, kms_cmd_result_t *res, kms_dnspub_done_fn fn, void *ud);

/** Stopped: every handle closed, every run ended. */
typedef void (*kms_dnspub_stopped_fn)(kms_dnspub_t *p, void *ud);

/** Cancel any run (verbs waiting get their result: "kmsd is stopping"),
 *  stop the timers; never unpublishes.  @p cb (may be NULL) runs from the
 *  loop once everything is closed.  NULL is a no-op. */
void kms_dnspub_stop(kms_dnspub_t *p, kms_dnspub_stopped_fn cb, void *ud);

/** Free a stopped (or never started) publisher; NULL is a no-op. */
void kms_dnspub_free(kms_dnspub_t *p);

#endif
