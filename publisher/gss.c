/* SPDX-License-Identifier: MIT */
/*
 * gss.c - GSS-TSIG for the publisher (RFC 3645): a key negotiated with TKEY
 * per primary, shared by every signed exchange to it.
 *
 * The engine holds its Kerberos credentials and one session per primary
 * (address and server principal).  A signed exchange asks its session for
 * the key (pub__gss_key()): a valid one is handed out with a reference;
 * otherwise the exchange waits on the session, which negotiates:
 *
 *   1. on a libuv worker thread (GSS-API may talk to the KDC and block):
 *      credentials acquired or refreshed from the keytab, the first
 *      SPNEGO token made for the server principal (DNS/<primary's name>);
 *   2. on the loop: the TKEY query (key "<random>.sig-<primary>", mode 3)
 *      over TCP to the primary; the answer's token completes the context
 *      (a local computation), and the answer's TSIG, when there is one, is
 *      checked with the new context.  A FORMERR makes the "auto" algorithm
 *      try again as "gss.microsoft.com" (older Windows servers).
 *
 * The key is used until a minute before the earliest of its TKEY
 * expiration and the context's end (BIND gives an hour at most), then
 * negotiated again; an exchange answered BADKEY drops it and tries once
 * more with a new one.  One negotiation at a time per engine (the worker
 * touches the engine's credentials), and at most one per session.
 * Waiting exchanges get the outcome: a key, or the negotiation's error
 * (transport errors may be retried by the exchange, Kerberos and TKEY
 * errors are final).  The error's one line stays in e->auth_error for the
 * results.  Keys are referenced while an exchange uses them; a context and
 * the credentials are released (GSS-API wipes them) when the last
 * reference goes and when the engine is freed.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/random.h"
#include "dns/gss.h"
#include "dns/rcode.h"
#include "dns/tkey.h"
#include "dns/transport.h"
#include "publisher/pub_int.h"

#define KEY_MARGIN                                                                                 \
    60 /* seconds: renegotiate this long before the key ends (at most                              \
          a quarter of its life: short tickets give short keys) */

struct pub_gss_key {
    unsigned refs;
    kms_gss_ctx_t *ctx;
    kms_tsig_signer_t signer;
    int64_t born, expiry; /* unix time */
};

/* The key is near its end: time to negotiate the next one. */
static int key_ending(const pub_gss_key_t *k, int64_t now)
{
    int64_t margin = (k->expiry - k->born) / 4;
    if (margin > KEY_MARGIN)
        margin = KEY_MARGIN;
    return now >= k->expiry - margin;
}

typedef struct job job_t;
static void job_abandon(job_t *j);

typedef enum { SESS_IDLE, SESS_QUEUED, SESS_WORK, SESS_TKEY, SESS_READY } sess_state_t;

typedef struct sess {
    pub_engine_t *e;
    struct sess *next, *qnext;
    struct sockaddr_storage srv;
    char host[KMS_DNS_NAMELEN];     /* primary's name, canonical */
    char spn[KMS_DNS_NAMELEN];      /* as asked for: "DNS/ns1.kms.test" */
    int tls;                        /* the TKEY goes over DNS-over-TLS, checking tls_name */
    char tls_name[KMS_DNS_NAMELEN]; /* that of the exchange that asked for the negotiation */
    sess_state_t state;
    int ms;          /* gss.microsoft.com */
    int last_status; /* the last negotiation's outcome (0: none or success) */
    char last_error[512];
    pub_gss_key_t *key;
    xchg_t *waiters;
    /* a negotiation */
    struct job *job; /* step 1 under way on its thread */
    kms_gss_ctx_t *ctx;
    uint8_t *token;
    size_t toklen;
    char keyname[KMS_DNS_NAMELEN];
    uint16_t qid;
    pub_send_t send; /* the TKEY query (over DNS-over-TLS to a DoT primary) */
} sess_t;

struct pub_gss {
    kms_gss_creds_t *creds;
    sess_t *sessions;
    sess_t *qhead, *qtail; /* waiting to negotiate */
    int busy;              /* a negotiation holds the worker or the wire */
};

/* ---- algorithm names ------------------------------------------------------ */

int pub_gss_alg_parse(const char *name, pub_gss_alg_t *out)
{
    static const struct {
        const char *name;
        pub_gss_alg_t alg;
    } algs[] = {
        {"auto", PUB_GSS_AUTO}, {"gss-tsig", PUB_GSS_TSIG}, {"gss.microsoft.com", PUB_GSS_MS}};
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(name, algs[i].name) == 0) {
            *out = algs[i].alg;
            return 0;
        }
    return KMS_EINVAL;
}

const char *pub_gss_alg_name(int ms)
{
    return ms ? "gss.microsoft.com" : "gss-tsig";
}

/* ---- keys ----------------------------------------------------------------- */

static void key_unref(pub_gss_key_t *k)
{
    if (!k || --k->refs)
        return;
    kms_gss_ctx_free(k->ctx);
    explicit_bzero(k, sizeof *k);
    free(k);
}

void pub__gss_key_unref(pub_gss_key_t *k)
{
    key_unref(k);
}

const kms_tsig_signer_t *pub__gss_key_signer(const pub_gss_key_t *k)
{
    return &k->signer;
}

/* ---- engine --------------------------------------------------------------- */

int pub__gss_new(pub_engine_t *e)
{
    e->gss = calloc(1, sizeof *e->gss);
    return e->gss ? 0 : KMS_ENOMEM;
}

void pub__gss_free(pub_engine_t *e)
{
    pub_gss_t *g = e->gss;
    if (!g)
        return;
    for (sess_t *s = g->sessions, *n; s; s = n) {
        n = s->next;
        key_unref(s->key);
        if (s->job) /* not expected: the engine is stopped first */
            job_abandon(s->job);
        kms_gss_ctx_free(s->ctx);
        kms_gss_token_free(s->token, s->toklen);
        free(s);
    }
    kms_gss_creds_free(g->creds);
    free(g);
    e->gss = NULL;
}

static sess_t *session_of(pub_engine_t *e, const struct sockaddr *srv, const char *host)
{
    pub_gss_t *g = e->gss;
    char spn[KMS_DNS_NAMELEN], shown[KMS_DNS_NAMELEN];
    sess_t *s;

    if (e->opt.gss.server_principal)
        snprintf(spn, sizeof spn, "%s", e->opt.gss.server_principal);
    else
        snprintf(spn, sizeof spn, "DNS/%s", kms_dname_shown(host, shown, sizeof shown));
    for (s = g->sessions; s; s = s->next)
        if (kms_addr_len((const struct sockaddr *)&s->srv) == kms_addr_len(srv) &&
            memcmp(&s->srv, srv, kms_addr_len(srv)) == 0 && strcmp(s->spn, spn) == 0)
            return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->e = e;
    memcpy(&s->srv, srv, kms_addr_len(srv));
    snprintf(s->host, sizeof s->host, "%s", host);
    snprintf(s->spn, sizeof s->spn, "%s", spn);
    s->ms = e->opt.gss.algorithm == PUB_GSS_MS;
    s->next = g->sessions;
    g->sessions = s;
    return s;
}

/* ---- the outcome ---------------------------------------------------------- */

static void next_negotiation(pub_engine_t *e);

static void sess_done(sess_t *s, int rc)
{
    pub_engine_t *e = s->e;
    xchg_t *w = s->waiters;

    s->waiters = NULL;
    s->state = rc == 0 ? SESS_READY : SESS_IDLE;
    kms_gss_ctx_free(s->ctx);
    s->ctx = NULL;
    kms_gss_token_free(s->token, s->toklen);
    s->token = NULL;
    s->toklen = 0;
    e->gss->busy = 0;
    s->last_status = rc;
    snprintf(s->last_error, sizeof s->last_error, "%s", rc ? e->auth_error : "");
    if (rc == 0)
        e->auth_error[0] = '\0';
    if (rc < 0)
        kms_log(KMS_LOG_DEBUG, "GSS-TSIG with %s: %s", s->spn, e->auth_error);
    while (w) {
        xchg_t *n = pub__xchg_gss_next(w);
        pub__xchg_gss_ready(w, rc);
        w = n;
    }
    next_negotiation(e);
    e->handles--;
    pub__engine_maybe_stopped(e);
}

static void sess_fail(sess_t *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sess_fail(sess_t *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->e->auth_error, sizeof s->e->auth_error, fmt, ap);
    va_end(ap);
    sess_done(s, rc);
}

/* ---- step 2: TKEY --------------------------------------------------------- */

static void start_work(sess_t *s);

static void on_tkey(int status, const uint8_t *wire, size_t len, const kms_dns_send_info_t *info,
                    void *ud)
{
    sess_t *s = ud;
    pub_engine_t *e = s->e;
    kms_tkey_answer_t a;
    char srv[KMS_ADDRSTRLEN], why[300];
    uint8_t *tok = NULL;
    size_t toklen = 0;
    int rc;

    (void)info;
    memset(&s->send, 0, sizeof s->send);
    kms_addr_format_dns((struct sockaddr *)&s->srv, srv);
    if (status < 0) {
        kms_dns_explain_ctx_t c = {"TKEY query", srv, NULL, NULL, 0};
        pub__explain_err(e, (struct sockaddr *)&s->srv, s->tls ? s->tls_name : NULL, status, &c,
                         why, sizeof why);
        sess_fail(s, status, "GSS-TSIG key negotiation: %s", why);
        return;
    }
    if (kms_tkey_answer_parse(wire, len, s->qid, s->keyname, &a) < 0) {
        sess_fail(s, KMS_EDNS_BADANSWER, "GSS-TSIG key negotiation: malformed TKEY answer from %s",
                  srv);
        return;
    }
    if (a.rcode == 1 && !s->ms && e->opt.gss.algorithm == PUB_GSS_AUTO) {
        /* older Windows servers know only their own algorithm name */
        kms_log(e->opt.log_retries ? KMS_LOG_WARN : KMS_LOG_INFO,
                "%s answered FORMERR to TKEY gss-tsig: trying gss.microsoft.com", srv);
        s->ms = 1;
        kms_gss_ctx_free(s->ctx);
        s->ctx = NULL;
        start_work(s);
        return;
    }
    if (a.rcode) {
        sess_fail(s, KMS_ETKEY, "TKEY negotiation refused by %s: %s%s", srv,
                  kms_dns_rcode_name(a.rcode),
                  a.rcode == 5 || a.rcode == 4
                      ? " (the server takes no GSS-TSIG: BIND needs tkey-gssapi-keytab)"
                      : "");
        return;
    }
    if (!a.found || a.mode != KMS_TKEY_MODE_GSSAPI) {
        sess_fail(s, KMS_ETKEY, "TKEY negotiation with %s: the answer holds no GSS-API TKEY record",
                  srv);
        return;
    }
    const char *alg = pub_gss_alg_name(s->ms);
    if (!kms_dname_eq(a.algorithm, alg)) {
        sess_fail(s, KMS_ETKEY, "TKEY negotiation with %s: the answer is for algorithm %s, not %s",
                  srv, a.algorithm, alg);
        return;
    }
    if (a.error) {
        const char *n = kms_tkey_error_name(a.error);
        sess_fail(s, KMS_ETKEY,
                  "TKEY negotiation refused by %s: %s%s: the server did not accept our ticket "
                  "for %s (does its keytab hold that principal, with the same key version?)",
                  srv, n ? "TKEY " : "TKEY error ", n ? n : "?", kms_gss_ctx_server(s->ctx));
        return;
    }
    rc = kms_gss_ctx_step(s->ctx, a.key, a.key_len, &tok, &toklen, e->auth_error,
                          sizeof e->auth_error);
    kms_gss_token_free(tok, toklen);
    if (rc == 0) {
        sess_fail(s, KMS_ETKEY,
                  "TKEY negotiation with %s: the server wants another round, which DNS servers "
                  "do not take",
                  srv);
        return;
    }
    if (rc < 0) {
        sess_done(s, rc);
        return;
    }
    pub_gss_key_t *k = calloc(1, sizeof *k);
    if (!k) {
        sess_fail(s, KMS_ENOMEM, "out of memory");
        return;
    }
    k->refs = 1;
    k->ctx = s->ctx;
    s->ctx = NULL;
    if (kms_gss_signer(k->ctx, s->keyname, pub_gss_alg_name(s->ms), &k->signer) < 0) {
        key_unref(k);
        sess_fail(s, KMS_EINVAL, "GSS-TSIG key name %s is not valid", s->keyname);
        return;
    }
    /* RFC 3645 2.2: the answer is signed with the new key (BIND signs it);
     * an unsigned one is taken, as the context's mutual authentication
     * already proved the server (Windows may not sign it) */
    kms_log(KMS_LOG_DEBUG, "TKEY answer from %s %s", srv,
            a.signed_ ? "signed: checking its TSIG" : "unsigned");
    int64_t now = (int64_t)time(NULL), end = kms_gss_ctx_expiry(k->ctx);
    if (a.signed_ && kms_tsig_check(&k->signer, wire, len, &a.tsig, NULL, 0) < 0) {
        key_unref(k);
        sess_fail(s, KMS_ETSIG_VERIFY,
                  "TKEY answer from %s fails TSIG verification with the negotiated key", srv);
        return;
    }
    if (a.signed_ && (a.tsig.time > now + a.tsig.fudge || a.tsig.time < now - a.tsig.fudge)) {
        key_unref(k);
        long long skew = (long long)(a.tsig.time - now);
        sess_fail(s, KMS_ETSIG_BADTIME,
                  "TKEY answer from %s: clocks differ by %lld s (server %s); fix the time on one "
                  "side",
                  srv, llabs(skew), skew >= 0 ? "ahead" : "behind");
        return;
    }
    if (a.expiration > (uint32_t)now && (!end || a.expiration < end))
        end = a.expiration;
    k->born = now;
    k->expiry = end > now ? end : now + 3600;
    key_unref(s->key);
    s->key = k;
    e->auth_key_expiry = k->expiry;
    snprintf(e->auth_algorithm, sizeof e->auth_algorithm, "%s", pub_gss_alg_name(s->ms));
    kms_log(KMS_LOG_DEBUG, "GSS-TSIG key %s with %s negotiated, valid until %lld", s->keyname,
            s->spn, (long long)k->expiry);
    sess_done(s, 0);
}

/* ---- step 1: credentials and the first token (a thread of its own) ------- */

/*
 * The blocking part runs on a detached thread of its own, not in libuv's
 * pool: MIT Kerberos waits up to half a minute for a KDC that does not
 * answer, and kmsd must still stop at once.  The job owns what the thread
 * touches (the engine's credentials are lent to it); a session that goes
 * away (engine stopping) abandons the job, and the thread frees it all
 * when it returns.  The mutex orders the thread's wake-up against the
 * abandon, so no uv_async_send() follows the handle's close.
 */
struct job {
    pthread_mutex_t mu;
    int refs;          /* the thread's and the session's */
    int abandoned;     /* the session let go: no wake-up, the thread cleans up */
    uv_async_t *async; /* the session's wake-up, closed by the session side */
    kms_gss_creds_t *creds;
    char keytab[512], principal[256], spn[KMS_DNS_NAMELEN];
    int has_keytab;
    int rc;
    char err[400];
    kms_gss_ctx_t *ctx;
    uint8_t *token;
    size_t toklen;
};

static void job_release(job_t *j)
{
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left)
        return;
    kms_gss_ctx_free(j->ctx);
    kms_gss_token_free(j->token, j->toklen);
    kms_gss_creds_free(j->creds);
    pthread_mutex_destroy(&j->mu);
    explicit_bzero(j, sizeof *j);
    free(j);
}

/* Let go of @p j without closing its wake-up (the engine is being freed). */
static void job_abandon(job_t *j)
{
    pthread_mutex_lock(&j->mu);
    j->abandoned = 1;
    pthread_mutex_unlock(&j->mu);
    job_release(j);
}

static void *job_thread(void *arg)
{
    job_t *j = arg;

    if (!j->creds) {
        kms_gss_cred_opts_t co = {j->has_keytab ? j->keytab : NULL,
                                  j->principal[0] ? j->principal : NULL};
        j->rc = kms_gss_creds_acquire(&co, &j->creds, j->err, sizeof j->err);
    } else {
        j->rc = kms_gss_creds_refresh(j->creds, 300, j->err, sizeof j->err);
    }
    if (j->rc == 0)
        j->rc = kms_gss_ctx_start(j->creds, j->spn, &j->ctx, &j->token, &j->toklen, j->err,
                                  sizeof j->err);
    pthread_mutex_lock(&j->mu);
    if (!j->abandoned)
        uv_async_send(j->async);
    pthread_mutex_unlock(&j->mu);
    job_release(j);
    return NULL;
}

static void on_async_closed(uv_handle_t *h)
{
    pub_engine_t *e = h->data;
    free(h);
    e->handles--;
    pub__engine_maybe_stopped(e);
}

/* The session lets go of its job (done with it, or abandoning it). */
static void job_drop(sess_t *s)
{
    job_t *j = s->job;
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->abandoned = 1;
    pthread_mutex_unlock(&j->mu);
    j->async->data = s->e;
    uv_close((uv_handle_t *)j->async, on_async_closed);
    s->job = NULL;
    job_release(j);
}

static void after_work(sess_t *s, int rc, const char *err)
{
    pub_engine_t *e = s->e;
    uint8_t *wire = NULL;
    size_t len = 0;
    char shown[KMS_DNS_NAMELEN];

    if (e->gss->creds) {
        snprintf(e->auth_principal, sizeof e->auth_principal, "%s",
                 kms_gss_creds_principal(e->gss->creds));
        e->auth_creds_expiry = kms_gss_creds_expiry(e->gss->creds);
    }
    if (rc < 0) {
        if (e->gss->creds && !kms_gss_creds_keytab(e->gss->creds) && rc == KMS_EKRB_EXPIRED) {
            kms_gss_creds_free(e->gss->creds); /* a new kinit may come: read the cache again */
            e->gss->creds = NULL;
        }
        sess_fail(s, rc, "%s", err);
        return;
    }
    if (e->stopping || !s->waiters) { /* the run that wanted it was canceled */
        sess_fail(s, KMS_ECANCELED, "canceled");
        return;
    }
    s->qid = (uint16_t)kms_random_uniform(65536);
    snprintf(s->keyname, sizeof s->keyname, "%u.sig-%s", (unsigned)kms_random_uniform(0x7fffffff),
             kms_dname_shown(s->host, shown, sizeof shown));
    rc = kms_tkey_query(s->qid, s->keyname, pub_gss_alg_name(s->ms), s->ms, (uint32_t)time(NULL),
                        s->token, s->toklen, &wire, &len);
    kms_gss_token_free(s->token, s->toklen);
    s->token = NULL;
    s->toklen = 0;
    if (rc == 0)
        rc = pub__send(e, (struct sockaddr *)&s->srv, s->tls ? s->tls_name : NULL, wire, len,
                       e->opt.timeout_ms, KMS_DNS_SEND_TCP, on_tkey, s, &s->send);
    kms_gss_token_free(wire, len); /* it carries our Kerberos request: wiped */
    if (rc == KMS_EEXIST)
        rc = KMS_EIO; /* its ID waits on the DoT connection: a later attempt draws another */
    if (rc < 0) {
        sess_fail(s, rc, "GSS-TSIG key negotiation: cannot send the TKEY query: %s",
                  kms_strerror(rc));
        return;
    }
    s->state = SESS_TKEY;
}

static void on_job_done(uv_async_t *a)
{
    sess_t *s = a->data;
    job_t *j = s->job;
    char err[sizeof j->err];
    int rc = j->rc;

    /* take the results back from the job */
    s->e->gss->creds = j->creds;
    j->creds = NULL;
    s->ctx = j->ctx;
    j->ctx = NULL;
    s->token = j->token;
    s->toklen = j->toklen;
    j->token = NULL;
    snprintf(err, sizeof err, "%s", j->err);
    job_drop(s);
    after_work(s, rc, err);
}

static void start_work(sess_t *s)
{
    pub_engine_t *e = s->e;
    const pub_gss_options_t *o = &e->opt.gss;
    job_t *j = calloc(1, sizeof *j);
    uv_async_t *a = malloc(sizeof *a);
    pthread_attr_t attr;
    pthread_t t;

    s->state = SESS_WORK;
    if (!j || !a || uv_async_init(e->loop, a, on_job_done) < 0) {
        free(j);
        free(a);
        after_work(s, KMS_ENOMEM, "out of memory");
        return;
    }
    e->handles++;
    a->data = s;
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 2;
    j->async = a;
    j->creds = e->gss->creds; /* lent to the job while it runs */
    e->gss->creds = NULL;
    j->has_keytab = o->keytab != NULL;
    snprintf(j->keytab, sizeof j->keytab, "%s", o->keytab ? o->keytab : "");
    snprintf(j->principal, sizeof j->principal, "%s", o->principal ? o->principal : "");
    snprintf(j->spn, sizeof j->spn, "%s", s->spn);
    s->job = j;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, job_thread, j) != 0) {
        j->refs = 1; /* no thread */
        e->gss->creds = j->creds;
        j->creds = NULL;
        job_drop(s);
        pthread_attr_destroy(&attr);
        after_work(s, KMS_ESYS, "cannot start a thread for Kerberos");
        return;
    }
    pthread_attr_destroy(&attr);
}

static void next_negotiation(pub_engine_t *e)
{
    pub_gss_t *g = e->gss;
    sess_t *s;
    if (g->busy)
        return;
    for (;;) {
        if (!(s = g->qhead))
            return;
        g->qhead = s->qnext;
        if (!g->qhead)
            g->qtail = NULL;
        s->qnext = NULL;
        if (s->waiters)
            break;
        s->state = SESS_IDLE; /* nobody waits any more (canceled) */
    }
    g->busy = 1;
    e->handles++; /* the engine is not stopped while a negotiation runs */
    start_work(s);
}

/* ---- API for exchange.c --------------------------------------------------- */

int pub__gss_key(pub_engine_t *e, xchg_t *x, const struct sockaddr *srv, const char *host,
                 const char *tls_name, const pub_gss_key_t *refused, pub_gss_key_t **out)
{
    sess_t *s = session_of(e, srv, host);

    *out = NULL;
    if (!s)
        return KMS_ENOMEM;
    if (s->state == SESS_READY &&
        ((refused && s->key == refused) || key_ending(s->key, (int64_t)time(NULL)))) {
        key_unref(s->key);
        s->key = NULL;
        s->state = SESS_IDLE;
    }
    if (s->state == SESS_READY) {
        s->key->refs++;
        *out = s->key;
        return 0;
    }
    pub__xchg_gss_wait(x, &s->waiters);
    if (s->state == SESS_IDLE) {
        pub_gss_t *g = e->gss;
        s->tls = tls_name != NULL;
        snprintf(s->tls_name, sizeof s->tls_name, "%s", tls_name ? tls_name : "");
        s->state = SESS_QUEUED;
        if (g->qtail)
            g->qtail->qnext = s;
        else
            g->qhead = s;
        g->qtail = s;
        next_negotiation(e);
    }
    return 1;
}

const char *pub__gss_error(pub_engine_t *e, const struct sockaddr *srv, const char *host,
                           int status)
{
    sess_t *s = e->gss ? session_of(e, srv, host) : NULL;
    return s && s->last_status && s->last_status == status && s->last_error[0] ? s->last_error
                                                                               : NULL;
}

void pub__gss_cancel(pub_engine_t *e)
{
    if (!e->gss)
        return;
    for (sess_t *s = e->gss->sessions; s; s = s->next) {
        pub__send_cancel(&s->send);
        if (s->job && e->stopping) {
            /* a KDC that does not answer may hold the thread for half a
             * minute: let it go, it frees its job itself */
            job_drop(s);
            sess_fail(s, KMS_ECANCELED, "GSS-TSIG negotiation canceled: kmsd is stopping");
        }
    }
}
