/* SPDX-License-Identifier: MIT */
/*
 * host.h - the KMS host's state and behaviour behind one object: product
 * inventory (ipk/upk/dli/ato), client ledger, slmgr settings, their
 * persistence in state_dir, the activation handler for RPC opnum 0, and the
 * control verbs.  Transport-free: kms/daemon/server.c feeds it RPC requests, the
 * control socket feeds it command lines.
 *
 * Persistence: inventory and settings are written atomically (temp, fsync,
 * rename, fsync dir; inventory mode 0600 as it holds keys) before a command
 * that changes them answers OK.  The ledger changes on every activation and
 * is written every ledger_flush seconds (kmsd takes a snapshot on the loop
 * and writes it, fsyncs included, in libuv's threadpool) and at shutdown
 * (kms_host_flush()), so a crash loses at most that window of counts,
 * never the file.  A state file that does not parse is an error naming the
 * file; it is never silently reset.
 *
 * Settings precedence: a value set through a control verb (sai, sri, sprt,
 * sdns/cdns, ...) is persisted and wins over the config file; a setting never
 * changed through a verb follows the config file.
 */
#ifndef KMS_CORE_HOST_H
#define KMS_CORE_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/wire.h"
#include "kms/core/command.h"
#include "publisher/domains.h"

typedef struct kms_host kms_host_t;

/** Counters the transport increments directly; shown by `status`. */
typedef struct {
    uint64_t connections_total, connections_now, connections_rejected;
    uint64_t activations_ok, activations_failed;
    uint64_t other_encodings; /* requests in Microsoft's protected encodings */
    uint64_t malformed;       /* connections closed for malformed input, and bad plain
                                 activation messages (answered 0x8007000D) */
    uint64_t idle_closed;
    uint64_t slow_closed; /* of idle_closed: a request still incomplete (slow client) */
    time_t started;
} kms_host_stats_t;

/**
 * The host's slmgr settings.  As the daemon gives them (the base: what its
 * configuration says; `decommissioned` is not part of it), and as they are
 * in effect (kms_host_settings(): the base under the values set through
 * verbs and persisted).
 */
typedef struct {
    uint16_t port;
    uint32_t activation_interval, renewal_interval; /* minutes */
    int publish;
    uint16_t priority, weight;        /* for domains that give none */
    const pub_domain_list_t *domains; /* borrowed; valid until the next change */
    int decommissioned;
} kms_settings_t;

/** Open (creating if needed) the state in @p state_dir (copied; the host's
 *  for its whole life) with the base settings @p base (copied).  On error
 *  @p err gets one line naming the file at fault.  The caller frees the
 *  host with kms_host_free(). */
int kms_host_open(const char *state_dir, const kms_settings_t *base, kms_host_t **out, char *err,
                  size_t errlen);

/** Flush the ledger and free; NULL is a no-op. */
void kms_host_free(kms_host_t *h);

/** New base settings (a reloaded configuration, on SIGHUP); @p base is
 *  copied.  0 or KMS_ENOMEM (then the old base stays). */
int kms_host_reconfigure(kms_host_t *h, const kms_settings_t *base);

/** RPC handler for the KMS interface (a kms_rpc_handler_fn; @p ud is the host). */
int kms_host_rpc_handler(void *ud, uint16_t opnum, const uint8_t *stub, size_t len,
                         kms_wr_t *out_stub);

/**
 * Run one control line (docs/control.md; verbs in kms/core/command.h)
 * into @p res (initialised by the caller, kms_cmd_result_init()): the verb,
 * its status, and the payload lines or the error message.  Returns
 * res->status (0 or a KMS_E*).
 */
int kms_host_command(kms_host_t *h, const char *line, kms_cmd_result_t *res);

/** Write the ledger if it changed since the last flush (on this thread:
 *  at shutdown, in tests). */
int kms_host_flush(kms_host_t *h);

/**
 * The ledger to write, for a flush off the loop thread (base/loop.h, 4):
 * when it changed since the last snapshot, its file content is appended to
 * @p out and 1 is returned (the host counts it as written from now on);
 * 0 when nothing changed; KMS_ENOMEM.  Write it with kms_state_write(),
 * then report with kms_host_ledger_written().
 */
int kms_host_ledger_snapshot(kms_host_t *h, kms_wr_t *out);

/** The snapshot's write ended with @p rc: on an error the ledger counts as
 *  changed again, so the next flush retries. */
void kms_host_ledger_written(kms_host_t *h, int rc);

/** The state directory (as given to kms_host_open()). */
const char *kms_host_state_dir(const kms_host_t *h);

/** The settings in effect: the base under the values set through verbs
 *  (@p out->domains is borrowed, valid until the next change). */
void kms_host_settings(const kms_host_t *h, kms_settings_t *out);

/** DNS publishing outcome of one domain, shown by `status` (kmsd's publisher
 *  sets the table through kms_host_set_dns()). */
typedef struct {
    char domain[256];   /**< "kms.test" */
    char op[12];        /**< "publish" or "unpublish"; "" while pending */
    int status;         /**< 0 or KMS_E* of the last outcome */
    int64_t time;       /**< unix time of the outcome; 0: none yet (pending) */
    char message[512];  /**< one line */
    int64_t last_ok;    /**< unix time of the last success (0: none) */
    int64_t last_error; /**< unix time of the last failure (0: none) */
} kms_dns_state_t;

/**
 * The host's counters in the Prometheus text exposition format (version
 * 0.0.4: "# HELP", "# TYPE", kmsd_* names, labels) appended to @p out:
 * connections, activations by result, malformed and other-encoding
 * requests, idle and slow closes, the ledger's client counts per KMS
 * counted ID, the DNS publish state per domain with the times of the last
 * success and failure.  What `kmsctl metrics` prints and [host]
 * metrics_file holds.  0 or the writer's error.
 */
int kms_host_metrics(kms_host_t *h, int64_t now, kms_wr_t *out);

/** Where kmsd listens, for `status`: @p addrs ("127.0.0.1:1688 [::]:1688")
 *  and @p source ("config" or "socket-activation"); copied. */
void kms_host_set_listen(kms_host_t *h, const char *addrs, const char *source);

/** How kmsd signs its updates, shown by `status` (no secret in it). */
typedef struct {
    char method[16];      /**< "tsig", "gss-tsig", "none" */
    char name[256];       /**< tsig: the key's name; gss-tsig: our principal */
    char algorithm[32];   /**< "hmac-sha256", "gss-tsig", ... */
    int64_t creds_expiry; /**< gss-tsig: our Kerberos credentials end (0: not read yet) */
    int64_t key_expiry;   /**< gss-tsig: the negotiated key ends (0: none yet) */
} kms_dns_auth_t;

/** Set what `status` shows of the DNS authentication (@p a copied). */
void kms_host_set_dns_auth(kms_host_t *h, const kms_dns_auth_t *a);

/** The record kmsd publishes, shown by `status` (what `kmsctl handover`
 *  waits for to leave every name server). */
typedef struct {
    char target[256]; /**< "kms1.kms.test." ("" before kmsd set it) */
    uint16_t port;
    uint32_t ttl;
    char server[64]; /**< [dns] server as "127.0.0.1:53"; "": the zone's primary (SOA MNAME) */
} kms_dns_record_t;

/** Set what `status` shows of the published record (@p r copied). */
void kms_host_set_dns_record(kms_host_t *h, const kms_dns_record_t *r);

/** How kmsd reaches the primary, shown by `status` ([dns] tls ...). */
typedef struct {
    int tls;             /**< DNS-over-TLS; 0: plain DNS (UDP, TCP) */
    char name[256];      /**< the name its certificate must match; "": the primary's (SOA MNAME) */
    char ca_file[512];   /**< CA certificates trusted; "": the system store */
    char cert_file[512]; /**< our client certificate; "": none */
} kms_dns_transport_t;

/** Set what `status` shows of the transport to the primary (@p t copied). */
void kms_host_set_dns_transport(kms_host_t *h, const kms_dns_transport_t *t);

/** Replace the DNS status table (@p d, @p n copied); @p running: a DNS run is
 *  under way.  0 or KMS_ENOMEM (then the old table stays). */
int kms_host_set_dns(kms_host_t *h, const kms_dns_state_t *d, size_t n, int running);

/** Tests and fuzzing only: @p durable = 0 makes state writes skip fsync (the
 *  rename stays atomic, but a power loss may lose the last writes). */
void kms_host_set_durable(kms_host_t *h, int durable);

/** Receives one formatted state file (@p kind: KMS_STATE_*); 0 or the
 *  KMS_E* the verb reports. */
typedef int (*kms_state_writer_fn)(void *ud, const char *kind, const void *data, size_t len);

/** Tests and fuzzing only: state files the host writes (verbs, the ledger
 *  flush) go to @p fn instead of state_dir; NULL restores the files. */
void kms_host_set_state_writer(kms_host_t *h, kms_state_writer_fn fn, void *ud);

/** The counters, which the daemon's server increments directly (borrowed:
 *  valid as long as the host). */
kms_host_stats_t *kms_host_stats(kms_host_t *h);

#endif
