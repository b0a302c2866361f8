/* SPDX-License-Identifier: MIT */
/*
 * pub_int.h - the publisher's internals: the types of a run and the calls
 * the files of publisher/ make into each other (prefix pub__).  Internal to
 * publisher/: nothing outside this folder includes it.
 *
 *   engine.c    the API of publisher.h: options, engine, a run's start,
 *               cancel and end
 *   exchange.c  xchg_t: one DNS exchange, its retries; the in-flight queue
 *   discover.c  phase 1 (the SOA walk) and 2 (zones, their primary)
 *   update.c    phase 3: current records, one UPDATE per zone, results;
 *               a zone's end
 *   verify.c    verification: every name server serves the new state
 *   gss.c       GSS-TSIG: Kerberos credentials, TKEY negotiation, keys
 *
 * A run owns one dom_t per input domain and one zone_t per zone found.
 * Results flow back only through exchange callbacks: pub__xchg_start()
 * calls its callback exactly once, with the reply or a transport error;
 * the callback writes results (pub__set_result()) and moves its phase on.
 * Counters tell when a phase is over: run->disc_pending (domains still
 * walking) ends phase 1 and starts phase 2; zone->pending counts a zone's
 * open queries of one step (current records, NS addresses, a verification
 * round), and is held one higher while a loop is still sending them, so
 * that the step cannot end under the loop's feet; pub__zone_finish(), a
 * zone's one end, counts run->zones_pending down; the run ends
 * (pub__run_maybe_done(): user callback, then free) when discovery and
 * every zone are done.
 *
 * Ownership: the engine owns its run (e->run); the run owns doms, res and
 * zones; a zone its doms (indexes) and ns; a dom its cur, which moves to
 * res->records for show; run_free() (engine.c) frees all of them.  An
 * exchange owns its message and frees it as it ends; the per-query ud of
 * update.c and verify.c (dq_t, vq_t) is freed by its callback.  Handles (an
 * exchange's timer, a verifying zone's vtimer) are counted in e->handles
 * and their memory goes in their close callback; the engine's goes
 * (pub__engine_maybe_stopped()) once it is stopping, has no run and no
 * handle open.
 */
#ifndef KMS_PUBLISHER_PUB_INT_H
#define KMS_PUBLISHER_PUB_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/addr.h"
#include "base/log.h"
#include "dns/message.h"
#include "dns/rcode.h"
#include "dns/tls.h"
#include "dns/transport.h"
#include "publisher/publisher.h"

typedef struct run run_t;
typedef struct xchg xchg_t;               /* defined in exchange.c */
typedef struct ns ns_t;                   /* a zone's name server, defined in verify.c */
typedef struct pub_gss pub_gss_t;         /* GSS-TSIG credentials and sessions, gss.c */
typedef struct pub_gss_key pub_gss_key_t; /* a negotiated key, gss.c */
typedef struct pub_dot pub_dot_t;         /* a DNS-over-TLS connection of the engine, exchange.c */

/* A message on the wire, over UDP/TCP or DNS-over-TLS (pub__send()). */
typedef struct {
    kms_dns_send_t *dns;
    kms_tls_send_t *tls;
} pub_send_t;

/** Exchange outcome: status 0 with a reply (whose own status may be an error), or a
 *  transport-level KMS_E* with reply NULL. */
typedef void (*xchg_cb)(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts);

/* One input domain of a run (its result is run->res[idx]). */
typedef struct {
    run_t *run;
    size_t idx;
    char walk[KMS_DNS_NAMELEN]; /* current discovery query name */
    uint16_t qtype;             /* its type: SRV first (on_soa, discover.c), then SOA */
    int zone;                   /* index into run->zones, -1 until found */
    char zone_name[KMS_DNS_NAMELEN];
    char mname[KMS_DNS_NAMELEN];
    kms_srv_rec_t *cur; /* records found at the owner before the update */
    size_t ncur;
    int cur_ok;
    int bad_ns; /* verify: NS not serving the state in the last round */
    char bad_ns_name[KMS_DNS_NAMELEN];
} dom_t;

/* One zone found, with the domains in it (indexes into run->doms). */
typedef struct {
    run_t *run;
    size_t idx;
    char name[KMS_DNS_NAMELEN];
    char mname[KMS_DNS_NAMELEN];
    struct sockaddr_storage primary;
    char primary_str[KMS_ADDRSTRLEN];
    size_t *doms;
    size_t ndoms;
    size_t pending;
    int mname_try; /* 0: A, 1: AAAA */
    /* verify */
    ns_t *ns;
    size_t nns;
    uv_timer_t *vtimer;
    uint64_t vdeadline;
    unsigned vround;
    int done;
} zone_t;

/* One pub_run(): engine->run while active. */
struct run {
    pub_engine_t *e;
    pub_op_t op;
    dom_t *doms;
    pub_result_t *res;
    size_t n;
    zone_t *zones;
    size_t nzones;
    size_t disc_pending, zones_pending;
    int zones_started;
    pub_done_cb cb;
    void *ud;
    pub_stats_t stats;
    int canceled;
    xchg_t *live;
    uv_timer_t *start;        /* the run begins from the loop, never inside pub_run() */
    unsigned tls_hs_at_start; /* the engine's TLS handshakes when the run began */
};

/* The engine: its options (copied), the active run, the in-flight queue. */
struct pub_engine {
    uv_loop_t *loop;
    pub_options_t opt;
    char target[KMS_DNS_NAMELEN];
    struct sockaddr_storage server, resolver;
    int has_server;
    kms_tsig_key_t key;
    int has_key;
    kms_tsig_signer_t signer;      /* key's HMAC (has_key) */
    pub_gss_t *gss;                /* GSS-TSIG instead of a key (opt.gss.enabled) */
    char gss_principal[256];       /* copy of opt.gss.principal */
    char gss_keytab[512];          /* copy of opt.gss.keytab */
    char gss_spn[KMS_DNS_NAMELEN]; /* copy of opt.gss.server_principal */
    char auth_principal[256];      /* our principal, once credentials are read */
    int64_t auth_creds_expiry, auth_key_expiry;
    char auth_algorithm[32]; /* of the last key negotiated */
    char auth_error[512];    /* the last negotiation failure (any primary) */
    char key_display[KMS_TSIG_NAMELEN];
    run_t *run;
    unsigned inflight;
    xchg_t *qhead, *qtail;
    unsigned handles;       /* open uv handles owned by the engine's runs */
    int stopping;           /* pub_engine_stop() was called */
    uv_timer_t tick;        /* stopping while idle: calls back from the loop */
    pub_stopped_cb stop_cb; /* ... and has not called back yet */
    void *stop_ud;
    kms_ratelimit_t retry_log;      /* log_retries: a line per 150 ms at most (an exchange retries
                                       after >= 187 ms, so its own lines all show) */
    kms_tls_ctx_t *tls;             /* opt.tls.enabled: the client configuration */
    char tls_name[KMS_DNS_NAMELEN]; /* copy of opt.tls.name */
    pub_dot_t *dots;                /* one DNS-over-TLS connection per (primary, name) */
};

/* ---- engine.c ------------------------------------------------------------- */

/** Call the stop callback if @p e is stopping, has no run and no open handle. */
void pub__engine_maybe_stopped(pub_engine_t *e);

/** @p op changes nothing and waits for a state (PUB_AWAIT_*). */
static inline int pub__op_awaits(pub_op_t op)
{
    return op == PUB_AWAIT_PUBLISHED || op == PUB_AWAIT_WITHDRAWN;
}

/** Result of domain @p i: @p status (0 or KMS_E*), the message, the time now. */
void pub__set_result(run_t *r, size_t i, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** End @p r if discovery and every zone are done: results not set yet say
 *  canceled or "not processed", the user callback runs, then the run is
 *  freed (and the engine, if it is being freed). */
void pub__run_maybe_done(run_t *r);

/* ---- discover.c ----------------------------------------------------------- */

/** Phase 1 for domain @p d: ask for its zone (the next name of its walk).
 *  The last domain's end starts phase 2 (zones, their primary). */
void pub__discover(dom_t *d);
/** One domain's discovery has ended (a result set, or the zone found). */
void pub__disc_done(run_t *r);

/* ---- exchange.c ----------------------------------------------------------- */

/**
 * Start an exchange of @p msg with @p srv for zone @p z (NULL: discovery),
 * signed when @p sign_for is not
 * NULL (the server's name: a GSS-TSIG key is negotiated with
 * DNS/<sign_for>), with the engine's key or Kerberos; takes @p msg (NULL: the message could not be
 * built, reported as KMS_EINVAL).  With DNS-over-TLS, the name checked at
 * @p srv is pub__tls_name(e, srv, z).  At most @p max_attempts attempts (0: the engine's), none
 * waiting past loop time @p deadline (0: no deadline).  @p cb runs once, from the loop, also when
 * the message cannot be built or sent; only when not even the exchange's timer can be made (out of
 * memory) does it run from inside this call.
 */
void pub__xchg_start_bounded(run_t *r, const zone_t *z, kms_dns_msg_t *msg,
                             const struct sockaddr *srv, const char *sign_for,
                             unsigned max_attempts, uint64_t deadline, xchg_cb cb, void *ud);

/** Exchanges waiting for a GSS-TSIG key (gss.c keeps a list per session):
 *  put @p x on @p list; the next on the list; the outcome for @p x (0: a
 *  key is there, try; else the negotiation's error). */
void pub__xchg_gss_wait(xchg_t *x, xchg_t **list);
xchg_t *pub__xchg_gss_next(xchg_t *x);
void pub__xchg_gss_ready(xchg_t *x, int status);

/** pub__xchg_start_bounded() with the engine's attempts and no deadline. */
void pub__xchg_start(run_t *r, const zone_t *z, kms_dns_msg_t *msg, const struct sockaddr *srv,
                     const char *sign_for, xchg_cb cb, void *ud);

/** A query for @p name / @p type, recursion desired if @p rd; NULL if it cannot be built.
 *  The caller owns it (pub__xchg_start() takes it). */
kms_dns_msg_t *pub__query(const char *name, uint16_t type, int rd);

/** The wait before the retry that follows attempt (or verification round)
 *  @p attempt, counted from 1. */
uint64_t pub__backoff_delay(const pub_options_t *o, unsigned attempt);

/** Cancel every live exchange of @p r (r->canceled is set): those on the
 *  wire are canceled, the queued and waiting ones end from their timer. */
void pub__xchg_cancel(run_t *r);

/** The name to check in @p srv's certificate when @p srv is reached over
 *  DNS-over-TLS for zone @p z, NULL when it is asked over plain DNS.  The
 *  configured server: --tls-name ("" without it: the server's address).
 *  Else the name belongs to the zone: at z's primary, --tls-name or z's
 *  SOA MNAME - two zones on one primary with two MNAMEs check two names
 *  (two connections).  Any other primary of the run (@p z NULL, as in
 *  discovery, or a name server of z that is another zone's primary): the
 *  name of the first zone with that primary. */
const char *pub__tls_name(pub_engine_t *e, const struct sockaddr *srv, const zone_t *z);

/** Send @p wire to @p srv: over the engine's DNS-over-TLS connection to
 *  (@p srv, @p tls_name) when @p tls_name is not NULL, else kms_dns_send()
 *  with @p flags (and KMS_DNS_SEND_TCP with opt.tcp).  0 (@p cb will
 *  run, @p out holds the handle), KMS_EEXIST (a message with this ID waits
 *  on that connection: render another), KMS_ECANCELED (the engine is
 *  stopping), other KMS_E* (no callback). */
int pub__send(pub_engine_t *e, const struct sockaddr *srv, const char *tls_name,
              const uint8_t *wire, size_t len, uint64_t timeout_ms, unsigned flags,
              kms_dns_send_cb cb, void *ud, pub_send_t *out);

/** Cancel the message of @p s, if any (its callback runs with KMS_ECANCELED). */
void pub__send_cancel(pub_send_t *s);

/** One line for an exchange with @p srv (over DNS-over-TLS checking
 *  @p tls_name, when not NULL) that ended with @p status and no answer: the
 *  DNS-over-TLS failure's own line (server, name, reason) when it was one,
 *  else kms_dns_explain_err(). */
char *pub__explain_err(pub_engine_t *e, const struct sockaddr *srv, const char *tls_name,
                       int status, const kms_dns_explain_ctx_t *c, char *buf, size_t len);

/** Close every DNS-over-TLS connection (the engine stops); each counts in
 *  e->handles until closed. */
void pub__dots_close(pub_engine_t *e);

/* ---- gss.c ---------------------------------------------------------------- */

int pub__gss_new(pub_engine_t *e);
void pub__gss_free(pub_engine_t *e);
/** The GSS-TSIG key for @p srv / @p host: 0 (*out referenced), 1 (@p x waits
 *  on the negotiation: pub__xchg_gss_ready() follows), KMS_ENOMEM.  A
 *  negotiation @p x starts sends its TKEY over DNS-over-TLS checking
 *  @p tls_name (copied) when it is not NULL, like @p x.
 *  @p refused: a key the server answered BADKEY (NULL: none); when it is
 *  still the current one, a new one is negotiated. */
int pub__gss_key(pub_engine_t *e, xchg_t *x, const struct sockaddr *srv, const char *host,
                 const char *tls_name, const pub_gss_key_t *refused, pub_gss_key_t **out);
/** The line of the last failed negotiation with @p srv / @p host, when it
 *  ended with @p status (the exchange's failure came from it), else NULL. */
const char *pub__gss_error(pub_engine_t *e, const struct sockaddr *srv, const char *host,
                           int status);
const kms_tsig_signer_t *pub__gss_key_signer(const pub_gss_key_t *k);
void pub__gss_key_unref(pub_gss_key_t *k);
/** Cut a TKEY exchange on the wire short (the engine is stopping). */
void pub__gss_cancel(pub_engine_t *e);

/* ---- update.c ------------------------------------------------------------- */

/** Keep the SRV records at @p owner found in @p reply (NULL: none) as @p d's
 *  current state (d->cur, owned by d; d->cur_ok 0 when they could not be kept). */
void pub__take_current(dom_t *d, const char *owner, const kms_dns_reply_t *reply);

/** Phase 3 for zone @p z, whose primary is known: read the current records,
 *  send the UPDATE, set the results.  May end the zone, and the run. */
void pub__zone_work(zone_t *z);

/** End zone @p z with @p status and message @p msg for each of its domains. */
void pub__zone_fail(zone_t *z, int status, const char *msg);

/** The one end of zone @p z (a second call is a no-op): closes its
 *  verification timer; the last zone's end may end the run (and free it). */
void pub__zone_finish(zone_t *z);

/* ---- verify.c ------------------------------------------------------------- */

/** Verify zone @p z, whose UPDATE succeeded (or whose primary holds the
 *  state a PUB_AWAIT_* waits for); ends with pub__zone_finish(). */
void pub__verify_start(zone_t *z);

/** Close @p z's verification timer, if any (its memory goes in the close callback). */
void pub__verify_stop(zone_t *z);

/** The run is canceled: a zone waiting for its next verification round ends
 *  now, from its timer (KMS_ECANCELED); one with queries out ends as they
 *  come back canceled. */
void pub__verify_cancel(zone_t *z);

#endif
