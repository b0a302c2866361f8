/* SPDX-License-Identifier: MIT */
/*
 * sweep.h - withdraw the `_vlmcs._tcp` SRV records of KMS hosts that are
 * gone (`kms-publish sweep`).
 *
 * A sweep runs fully asynchronously on the caller's uv_loop_t:
 *
 *  1. read: the records of every domain's `_vlmcs._tcp` owner at the zone's
 *     primary, with a publisher engine's PUB_SHOW run (publisher.h; same
 *     server, resolver and signing options as publish);
 *  2. resolve: each record's target, A and AAAA, with dns/query.h at the
 *     resolver the publisher uses (resolver, else server, else
 *     /etc/resolv.conf);
 *  3. probe: every address at the record's port, as a client would (TCP
 *     connect + DCE/RPC bind, resolver/probe.h), at most max_probes at a
 *     time, timeout_ms per connect and per bind;
 *  4. verdict per record: ALIVE (an address accepted the bind), DEAD
 *     (addresses found, none accepted the bind; a bind_nak is not a KMS
 *     host), UNKNOWN (no address: the name does not resolve, DNS error);
 *  5. state (sweepstate.h): alive ends the record's streak (entry removed),
 *     dead adds a failure (first_dead kept from the streak's start),
 *     unknown changes nothing; entries of a swept owner whose record is
 *     gone are dropped;
 *  6. decision: a record is withdrawn only with `apply`, when dead in at
 *     least `failures` runs spread over at least `min_age_s`, and - unless
 *     `allow_empty` - when another record of the same owner is alive (when
 *     every host of a name looks dead, the sweeper's own network is the
 *     likelier culprit).  A withdrawal is a publisher PUB_UNPUBLISH run with
 *     that target and port on that one domain: a class-NONE delete of
 *     exactly that RR, never the RRset; withdrawals run one at a time.
 *
 * The caller saves the state afterwards (fleet_sweepstate_save()).
 *
 *     fleet_sweep_t *s;
 *     fleet_sweep_new(loop, &opts, &state, &s);   // state borrowed, updated
 *     fleet_sweep_start(s, domains, n, done_cb, ud);
 *     ... done_cb(s, results, ud) runs once, from the loop, when every
 *         record is decided and every engine and handle of the sweep is
 *         closed ...
 *     fleet_sweep_free(s);   // after done_cb (not from inside it)
 *
 * A sweep that never started may be freed at once.  There is no cancel:
 * every step is bounded by its timeouts and attempts.
 */
#ifndef KMS_FLEET_SWEEP_H
#define KMS_FLEET_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fleet/sweepstate.h"
#include "publisher/publisher.h"

typedef enum { FLEET_ALIVE = 0, FLEET_DEAD = 1, FLEET_UNKNOWN = 2 } fleet_verdict_t;

typedef struct {
    pub_options_t pub;   /**< server, resolver, key/gss, timeout, attempts (target unused) */
    unsigned timeout_ms; /**< per probe connect and per bind (default 2000) */
    unsigned max_probes; /**< probes in flight (default 64) */
    uint32_t failures;   /**< dead runs needed (default 3) */
    uint64_t min_age_s;  /**< first to last dead verdict at least (default 3600) */
    int apply;           /**< 0: dry run, nothing withdrawn */
    int allow_empty;     /**< withdraw even when no record of the owner is alive */
    int64_t now;         /**< the run's unix time (0: time(NULL) at start) */
} fleet_sweep_options_t;

/** Defaults above; pub as pub_options_init(). */
void fleet_sweep_options_init(fleet_sweep_options_t *o);

/** One record's outcome. */
typedef struct {
    char domain[KMS_DNS_NAMELEN]; /**< "kms.test." */
    char owner[KMS_DNS_NAMELEN];  /**< "_vlmcs._tcp.kms.test." */
    char target[KMS_DNS_NAMELEN]; /**< "kms3.kms.test." */
    uint16_t port;
    fleet_verdict_t verdict;
    int64_t since;     /**< first dead verdict of the streak, -1: none */
    uint32_t failures; /**< dead runs in the streak (this one included) */
    int withdrawn;     /**< 1: the RR was deleted */
    int status;        /**< 0, or the KMS_E* of a failed withdrawal */
    char why[512];     /**< why kept ("dry run: would be withdrawn", "1 of 3 failures", ...) */
    char detail[400];  /**< what the probes or DNS said ("127.0.0.13:1688 refused") */
} fleet_sweep_rec_t;

/** A domain whose records could not be read (nothing decided for it). */
typedef struct {
    char domain[KMS_DNS_NAMELEN];
    int status;
    char message[512];
} fleet_sweep_domerr_t;

typedef struct {
    fleet_sweep_rec_t *recs; /**< in domain order, then as the primary listed them */
    size_t nrecs;
    fleet_sweep_domerr_t *errs;
    size_t nerrs;
    unsigned probes;   /**< probes made */
    uint64_t probe_ms; /**< wall time from the first read to the last verdict */
    int ok;            /**< every domain read and no withdrawal failed */
} fleet_sweep_result_t;

typedef struct fleet_sweep fleet_sweep_t;

/** End of a sweep: @p r is valid during the call only. */
typedef void (*fleet_sweep_cb)(fleet_sweep_t *s, const fleet_sweep_result_t *r, void *ud);

/**
 * New sweep on @p loop; copies @p opt (and the key); @p state is borrowed
 * until done_cb and updated in place.
 * @return 0, KMS_EINVAL, KMS_EADDR (no resolver), KMS_ENOMEM
 */
int fleet_sweep_new(uv_loop_t *loop, const fleet_sweep_options_t *opt, fleet_sweepstate_t *state,
                    fleet_sweep_t **out);

/**
 * Start: @p domains (names only; priority and weight unused) are copied.
 * @p cb runs once, from the loop, never from inside this call.
 * @return 0, KMS_EBUSY (started before), KMS_EINVAL (no domain, bad name),
 *         KMS_ENOMEM
 */
int fleet_sweep_start(fleet_sweep_t *s, const pub_domain_t *domains, size_t n, fleet_sweep_cb cb,
                      void *ud);

/** Free a sweep whose callback has run, or that never started; NULL is a no-op. */
void fleet_sweep_free(fleet_sweep_t *s);

/** "alive", "dead", "unknown". */
const char *fleet_verdict_name(fleet_verdict_t v);

#endif
