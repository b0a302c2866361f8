/* SPDX-License-Identifier: MIT */
/*
 * publisher.h - the RFC 2136 publisher of `_vlmcs._tcp` SRV records.
 *
 * For each publish domain D the host's record is
 *
 *     _vlmcs._tcp.D. TTL IN SRV priority weight port target.
 *
 * A run (pub_run) does, fully asynchronously on the caller's uv_loop_t:
 *
 *  1. Zone discovery, like nsupdate: an SOA query for _vlmcs._tcp.D sent to
 *     the resolver (or to the configured server); the zone is the owner of
 *     the SOA in the answer or authority section; without one, a label is
 *     stripped and the query repeated.  The primary is the SOA MNAME,
 *     resolved with A then AAAA queries to the same resolver, unless a
 *     server is configured (then every update goes there).
 *  2. Domains are grouped per zone; zones proceed concurrently.
 *  3. Per zone, the current SRV records of each owner are read from the
 *     primary, and ONE UPDATE carries, for every domain of the zone:
 *     publish   - a class-NONE delete of each of *our* RRs (our target) whose
 *                 priority/weight/port/TTL differ, then the add of our RR;
 *     unpublish - a class-NONE delete of exactly our RRs (our target and
 *                 port); other hosts' records at the name are never touched;
 *     show      - no update: the records found are the result.
 *  4. Every exchange is retried on timeout / refused connection / SERVFAIL /
 *     malformed answer with exponential backoff and jitter, a fresh ID and a
 *     fresh TSIG signature per attempt; `attempts` bounds it (0: unbounded,
 *     the daemon's mode).  A definitive answer (NOTAUTH, REFUSED, NOTZONE,
 *     FORMERR, TSIG BADSIG/BADKEY/BADTIME, bad answer signature) is never
 *     retried.
 *  5. Optional verification: the zone's NS set is read from the primary,
 *     each NS name resolved, and every NS is asked (with backoff, bounded by
 *     verify_timeout_ms) until it serves the new state.
 *
 * The result of a run is one pub_result_t per domain (same order as given):
 * status, one-line message, zone, server, time, attempts, and the records
 * (show).  No call blocks; no call prints, except a line per failed attempt
 * (at most one per 150 ms with a count of the others, via base/log.h): a
 * warning when `log_retries` is set (kms-publish --verbose), else at debug
 * level (kmsd, whose own line per background retry step is the warning).
 *
 * API for kmsd:
 *
 *     pub_engine_t *e;
 *     pub_engine_new(loop, &opts, &e);          // copies opts (and the key)
 *     pub_run(e, PUB_PUBLISH, domains, n, done_cb, ud);  // one run at a time
 *     ...  done_cb(results, n, stats, ud) runs on the loop, once ...
 *     pub_cancel(e);        // optional: a running run ends with KMS_ECANCELED
 *     pub_engine_stop(e, stopped_cb, ud);  // cancels; stopped_cb from the loop
 *                           // once the run has called back and every handle
 *                           // is closed (base/loop.h)
 *     pub_engine_free(e);   // then
 *
 * Implementation: engine.c (this API; a run's start, cancel and end),
 * discover.c (steps 1 and 2), update.c (3), exchange.c (every exchange and
 * its retries, 4), verify.c (5); their shared types in pub_int.h.
 */
#ifndef KMS_PUBLISHER_PUBLISHER_H
#define KMS_PUBLISHER_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/addr.h"
#include "dns/srv.h"
#include "dns/keyfile.h"
#include "publisher/domains.h"

/*
 * The await operations change nothing: they read the records at the primary
 * and then, as verification does (always on for them, bounded by
 * verify_timeout_ms), ask every name server of the zone until it serves a
 * record with the target and port of the options (any priority, weight and
 * TTL: AWAIT_PUBLISHED) or no longer serves one (AWAIT_WITHDRAWN).  A
 * domain whose primary does not hold that state fails at once (KMS_ENOENT,
 * KMS_EEXIST): nobody is going to change it while we wait.  For `kmsctl
 * handover`, which waits for another host's record to reach every server
 * and for ours to leave them.  No key is needed.
 */
typedef enum {
    PUB_PUBLISH = 0,
    PUB_UNPUBLISH = 1,
    PUB_SHOW = 2,
    PUB_AWAIT_PUBLISHED = 3,
    PUB_AWAIT_WITHDRAWN = 4,
} pub_op_t;

/** GSS-TSIG key algorithm name: "gss-tsig", with "gss.microsoft.com" after a FORMERR (auto). */
typedef enum { PUB_GSS_AUTO = 0, PUB_GSS_TSIG = 1, PUB_GSS_MS = 2 } pub_gss_alg_t;

/** "auto", "gss-tsig", "gss.microsoft.com" (the names kms-publish
 *  --gss-algorithm and kmsd's gss_algorithm take) to @p out.
 *  0, or KMS_EINVAL for another name. */
int pub_gss_alg_parse(const char *name, pub_gss_alg_t *out);

/** The TSIG/TKEY algorithm name of a key negotiated as @p ms (1:
 *  "gss.microsoft.com", 0: "gss-tsig"), without the final dot. */
const char *pub_gss_alg_name(int ms);

/** Kerberos-signed updates (GSS-TSIG, RFC 3645); see publisher/gss.c. */
typedef struct {
    int enabled;
    const char *keytab;           /**< NULL: the ticket cache (KRB5CCNAME); "": default keytab */
    const char *principal;        /**< ours; NULL: the cache's (needed with a keytab) */
    const char *server_principal; /**< NULL: DNS/<the primary's name (SOA MNAME)> */
    pub_gss_alg_t algorithm;
} pub_gss_options_t;

/** DNS-over-TLS (RFC 7858) to the primary: every UPDATE and every query
 *  to the primary (reads, TKEY, --verify's question to it) goes over one
 *  reused, certificate-checked TLS connection per primary; see dns/tls.h. */
typedef struct {
    int enabled;
    const char *ca_file;   /**< certificates to trust (PEM); NULL: the system store */
    const char *name;      /**< name (or IP) the server's certificate must match; NULL: the
                                primary's name (SOA MNAME), or the host given as the server */
    const char *cert_file; /**< client certificate (PEM); NULL: none */
    const char *key_file;  /**< its private key; NULL: in cert_file */
    const char *ca_hint;   /**< appended to an unknown-CA failure, in the caller's words
                                ("give --tls-ca", "set [dns] tls_ca_file"); NULL: none */
    uint16_t port;         /**< DoT port of a discovered primary (0: 853); a given
                                server is asked at its own port */
} pub_tls_options_t;

typedef struct {
    const char *target;              /**< SRV target FQDN (publish/unpublish) */
    uint16_t port;                   /**< default 1688 */
    uint16_t priority, weight;       /**< defaults for domains that give none */
    uint32_t ttl;                    /**< default 3600 */
    const struct sockaddr *server;   /**< send updates (and queries) here; NULL: SOA MNAME */
    const struct sockaddr *resolver; /**< discovery queries; NULL: server, else the first
                                          nameserver of /etc/resolv.conf.  Its port is also
                                          the discovered primary's port (like nsupdate -p). */
    const kms_tsig_key_t *key;       /**< NULL: unsigned, only with allow_unsigned */
    pub_gss_options_t gss;           /**< enabled: sign with Kerberos instead of a key */
    pub_tls_options_t tls;           /**< enabled: to the primary over DNS-over-TLS */
    int tcp; /**< every message over TCP, a connection each (KMS_DNS_SEND_TCP), not UDP
                  first; messages in DNS-over-TLS aside */
    int allow_unsigned;
    unsigned attempts;          /**< per exchange; 0 = unbounded (daemon) */
    uint64_t timeout_ms;        /**< per attempt (default 2000) */
    uint64_t backoff_ms;        /**< first retry delay (default 250), doubles */
    uint64_t backoff_max_ms;    /**< cap (default 30000) */
    int verify;                 /**< check every NS serves the result */
    uint64_t verify_timeout_ms; /**< default 30000 */
    unsigned max_inflight;      /**< concurrent exchanges (default 64) */
    int log_retries; /**< warn per failed attempt (else debug), at most one line per 150 ms */
} pub_options_t;

/** Fill @p o with the defaults above (target NULL, no server, no key). */
void pub_options_init(pub_options_t *o);

/** 1 when an exchange that ended with @p status may succeed if tried again
 *  (timeouts, refused connections, SERVFAIL, garbage, out of memory), 0 for
 *  definitive answers (REFUSED, NOTAUTH, TSIG errors, ...). */
int pub_status_retriable(int status);

typedef struct {
    char domain[KMS_DNS_NAMELEN]; /**< normalized: "kms.test." */
    char owner[KMS_DNS_NAMELEN];  /**< "_vlmcs._tcp.kms.test." */
    char zone[KMS_DNS_NAMELEN];   /**< zone found; "" if discovery failed */
    char server[KMS_ADDRSTRLEN];  /**< "127.0.0.1#5300": where the update/query went */
    int status;                   /**< 0 or KMS_E* */
    char message[512];            /**< one line, no newline */
    int64_t time;                 /**< unix time of the outcome */
    unsigned attempts;            /**< attempts of the zone's UPDATE (0: none sent) */
    uint16_t priority, weight;    /**< values used for this domain */
    int replaced;                 /**< publish: an older RR of ours was deleted */
    int unchanged;                /**< publish: our RR was there as wanted, no UPDATE for it */
    int removed;                  /**< unpublish: RRs of ours deleted */
    int verified;                 /**< 1: every NS serves the new state */
    kms_srv_rec_t *records;       /**< show: records at the owner (owned by the run) */
    size_t nrecords;
} pub_result_t;

typedef struct {
    unsigned queries;        /**< query exchanges completed */
    unsigned updates;        /**< UPDATE messages answered */
    unsigned attempts;       /**< every send, retries included */
    unsigned udp, tcp;       /**< answers per transport */
    unsigned tc_fallbacks;   /**< truncated UDP answers retried over TCP */
    unsigned tls;            /**< answers over DNS-over-TLS (not counted in tcp) */
    unsigned tls_handshakes; /**< TLS handshakes of the run: 1 per primary when its
                                  connection is reused throughout */
} pub_stats_t;

/** End of a run: @p results (n, in input order) are valid during the call only. */
typedef void (*pub_done_cb)(const pub_result_t *results, size_t n, const pub_stats_t *stats,
                            void *ud);

typedef struct pub_engine pub_engine_t; /* opaque */

/**
 * New engine on @p loop; copies @p opt (strings, addresses, key).
 * @return 0, KMS_EINVAL (no target, key missing without allow_unsigned,
 *         port 0), KMS_EADDR (no resolver: none given and none in
 *         /etc/resolv.conf), KMS_ECONFIG (a DNS-over-TLS file cannot be
 *         loaded: logged as an error; pub_tls_check() says it beforehand), KMS_ENOMEM
 */
int pub_engine_new(uv_loop_t *loop, const pub_options_t *opt, pub_engine_t **out);

/**
 * Start a run.  @p domains is copied.  @p cb runs once, on the loop, never
 * from inside pub_run().
 * @return 0, KMS_EBUSY (a run is active), KMS_EINVAL (no domains, bad
 *         name, priority/weight out of range), KMS_ENOMEM
 */
int pub_run(pub_engine_t *e, pub_op_t op, const pub_domain_t *domains, size_t n, pub_done_cb cb,
            void *ud);

/** Cancel the active run, if any: its callback reports KMS_ECANCELED for unfinished domains. */
void pub_cancel(pub_engine_t *e);

/** The engine is stopped: its run (if any) has called back, every handle is closed. */
typedef void (*pub_stopped_cb)(pub_engine_t *e, void *ud);

/** Cancel the run (its callback still runs) and take no new one; @p cb (may
 *  be NULL) runs from the loop once the engine holds nothing open.  NULL is
 *  a no-op. */
void pub_engine_stop(pub_engine_t *e, pub_stopped_cb cb, void *ud);

/** Free a stopped engine (or one that never ran); NULL is a no-op. */
void pub_engine_free(pub_engine_t *e);

/** How the engine signs, for status output (no secret in it). */
typedef struct {
    const char *method;     /**< "tsig", "gss-tsig" or "none" */
    const char *key_name;   /**< tsig: key name; gss-tsig: our principal once known */
    const char *algorithm;  /**< tsig: "hmac-sha256"; gss-tsig: "gss-tsig" */
    int64_t creds_expiry;   /**< gss-tsig: unix time our Kerberos credentials end (0: not yet) */
    int64_t key_expiry;     /**< gss-tsig: unix time the negotiated key ends (0: none) */
    const char *last_error; /**< gss-tsig: the last negotiation failure, "" if none */
} pub_auth_info_t;

/** Fill @p out (strings valid until the engine's next run step or free). */
void pub_auth_info(const pub_engine_t *e, pub_auth_info_t *out);

/** "publish", "unpublish", "show", "await-published", "await-withdrawn". */
const char *pub_op_name(pub_op_t op);

#endif
