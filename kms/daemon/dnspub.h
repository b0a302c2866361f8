/*
 * dnspub.h - kmsd's use of the DNS publisher (publisher/publisher.h): the
 * host's `_vlmcs._tcp` SRV records over the daemon's life.
 *
 * - Start (kms_dnspub_start, listeners up): publish every domain of the
 *   effective settings when publishing is on and the host is not
 *   decommissioned; then re-publish every `[dns] refresh` seconds (a tick
 *   that finds a run active is skipped).  These runs use the daemon mode of
 *   the engine: unbounded retries with capped backoff, one warning per failed
 *   attempt; a definitive refusal (NOTAUTH, REFUSED, BADSIG, ...) is one error
 *   line and waits for the next refresh.
 * - Control verbs (kms_dnspub_command, from the control hook): sdns
 *   publishes, cdns and decommission unpublish exactly our records, sprio,
 *   sweight and sdomains re-publish (sdomains first unpublishes the domains
 *   it dropped).  These runs have bounded retries; their reply is produced
 *   when the DNS work ends.  A verb's run cancels a daemon run in flight.
 * - Stop (kms_dnspub_stop): cancels; never unpublishes.
 *
 * The port published is the one kmsd listens on.  Every outcome is written
 * to the host's DNS status table (kms_host_set_dns) for `status`.
 */
#ifndef KMS_DNSPUB_H
#define KMS_DNSPUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "kms/daemon/config.h"
#include "kms/core/host.h"

typedef struct kms_dnspub kms_dnspub_t;

/**
 * Check the [dns] settings of @p cfg that can only fail at load time: the
 * TSIG key file (read and validated).  0, or KMS_ECONFIG/KMS_EKEYFILE/
 * KMS_EALGORITHM/KMS_ENOENT with one line naming the file in @p err.
 */
int kms_dnspub_check_config(const kms_config_t *cfg, char *err, size_t errlen);

/**
 * New publisher on @p loop for @p host (borrowed, must outlive it), from
 * @p cfg (copied), publishing port @p port.  Nothing is sent until
 * kms_dnspub_start().  0, KMS_ENOMEM, or a key error with @p err.
 */
int kms_dnspub_new(uv_loop_t *loop, kms_host_t *host, const kms_config_t *cfg, uint16_t port,
                   kms_dnspub_t **out, char *err, size_t errlen);

/** Publish now (if on) and start the refresh timer. */
void kms_dnspub_start(kms_dnspub_t *p);

/** A new configuration (SIGHUP): re-publish if the DNS settings changed.
 *  0, or an error with @p err (the running settings stay). */
int kms_dnspub_reconfigure(kms_dnspub_t *p, const kms_config_t *cfg, char *err, size_t errlen);

/** Called with the final reply text of a deferred verb. */
typedef void (*kms_dnspub_reply_fn)(void *ud, const char *text);

/**
 * React to control command @p line that succeeded with @p reply (the host's
 * reply text).  Returns 1 when the command needs DNS work: @p fn(@p ud, text)
 * is then called once, from the loop, with the final reply (the host's lines
 * followed by one "dns DOMAIN ok|error MESSAGE" line per domain; for cdns and
 * decommission a DNS failure makes it "ERR <code> dns DOMAIN: MESSAGE").
 * Returns 0 when the verb needs nothing (@p fn is not called).
 */
int kms_dnspub_command(kms_dnspub_t *p, const char *line, const char *reply, kms_dnspub_reply_fn fn,
                       void *ud);

/** Cancel any run (pending replies get their text), stop the timer; never
 *  unpublishes.  The object is freed once its handles are closed (keep the
 *  loop running).  NULL is a no-op. */
void kms_dnspub_stop(kms_dnspub_t *p);

#endif
