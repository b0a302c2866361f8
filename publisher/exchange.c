/* SPDX-License-Identifier: MIT */
/*
 * exchange.c - one DNS exchange of a run (xchg_t), with its retries.
 *
 * The message is rendered afresh for every attempt (a fresh ID and a fresh
 * TSIG signature) and sent through dns/transport.  A transient failure
 * (pub_status_retriable()) is retried after kms_backoff(), up to the
 * engine's `attempts` (0: unbounded) or the exchange's own bound, never
 * waiting past its deadline; a definitive answer ends it.  At most
 * max_inflight exchanges of an engine are on the wire; the others wait in
 * the engine's queue, in order.  The callback runs once, from the loop: a
 * message that cannot be built or sent is reported from the exchange's
 * timer, as if the attempt had failed on the wire.  A failed attempt is
 * logged (at most a line per 150 ms, with a count of the others): a warning
 * with log_retries, else at debug level.  The exchange's memory goes in its timer's close callback.
 *
 * DNS over TLS: with opt.tls.enabled every message to a primary (the
 * configured server, or a zone's SOA MNAME address) goes over the engine's
 * connection to that (address, name) - the name is the zone's
 * (pub__tls_name(): its MNAME unless --tls-name), so two zones whose MNAMEs
 * differ on one primary use two connections - one pub_dot_t each, kept in e->dots
 * for the engine's life (its session comes and goes, dns/tls.h), closed by
 * pub_engine_stop().  Messages to anyone else (the resolver, other name
 * servers) stay plain DNS.  A message whose ID already waits on the
 * connection is rendered again with another ID.
 *
 * Plain DNS is UDP first (TCP after a truncated answer, or when the
 * message does not fit); with opt.tcp (kms-publish --tcp) every message
 * goes over TCP, a connection each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/backoff.h"
#include "base/err.h"
#include "base/log.h"
#include "base/random.h"
#include "publisher/pub_int.h"

struct xchg {
    run_t *run;
    pub_engine_t *e;
    kms_dns_msg_t *msg; /* owned */
    const zone_t *zone; /* whose exchange (NULL: discovery); its name is checked over DoT */
    struct sockaddr_storage srv;
    int sign, is_update;
    char sign_for[KMS_DNS_NAMELEN]; /* the server's name (GSS-TSIG principal) */
    pub_gss_key_t *gkey;            /* GSS-TSIG: the key of the attempt on the wire */
    int rekey, rekeyed;             /* BADKEY: negotiate a new key, once */
    xchg_t **gss_list;              /* waiting for a key on this list */
    xchg_t *gnext, *gprev;
    unsigned attempt;
    uv_timer_t timer;
    pub_send_t send;
    int sending;           /* send holds the attempt on the wire */
    int start_err;         /* why the last attempt could not even be sent */
    int fatal;             /* start_err cannot change by retrying */
    int queued;            /* waiting for an inflight slot */
    int in_backoff;        /* timer armed for the next attempt */
    unsigned max_attempts; /* 0: the engine's attempts */
    uint64_t deadline;     /* loop time no attempt waits past (0: none) */
    xchg_cb cb;
    void *ud;
    xchg_t *next, *prev; /* run's live list */
    xchg_t *qnext;       /* engine's queue */
};

static void xchg_attempt(xchg_t *x);

static void on_xchg_closed(uv_handle_t *h)
{
    xchg_t *x = h->data;
    pub_engine_t *e = x->e;
    free(x);
    e->handles--;
    pub__engine_maybe_stopped(e);
}

int pub_status_retriable(int status)
{
    switch (status) {
    case KMS_ETIMEOUT:
    case KMS_ECONNREFUSED:
    case KMS_ECLOSED:
    case KMS_EIO:
    case KMS_ESYS:
    case KMS_EDNS_SERVFAIL:
    case KMS_EDNS_BADANSWER:
    case KMS_ENOMEM:
    case KMS_EKRB_KDC: /* the KDC may be back */
        return 1;
    default: /* KMS_ETLSVERIFY, KMS_ETLS among them: a certificate or a server
                that is not DNS-over-TLS stays so */
        return 0;
    }
}

static void xchg_unlink(xchg_t *x)
{
    run_t *r = x->run;
    if (x->prev)
        x->prev->next = x->next;
    else if (r->live == x)
        r->live = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
}

static void gss_unwait(xchg_t *x)
{
    if (!x->gss_list)
        return;
    if (x->gprev)
        x->gprev->gnext = x->gnext;
    else
        *x->gss_list = x->gnext;
    if (x->gnext)
        x->gnext->gprev = x->gprev;
    x->gnext = x->gprev = NULL;
    x->gss_list = NULL;
}

void pub__xchg_gss_wait(xchg_t *x, xchg_t **list)
{
    x->gss_list = list;
    x->gprev = NULL;
    x->gnext = *list;
    if (*list)
        (*list)->gprev = x;
    *list = x;
}

xchg_t *pub__xchg_gss_next(xchg_t *x)
{
    return x->gnext;
}

static void on_start_failed(uv_timer_t *t);

void pub__xchg_gss_ready(xchg_t *x, int status)
{
    gss_unwait(x);
    if (status == 0) {
        xchg_attempt(x);
        return;
    }
    /* the negotiation failed: as a failed attempt of this exchange */
    x->attempt++;
    x->start_err = status;
    x->fatal = !pub_status_retriable(status);
    x->in_backoff = 1;
    uv_timer_start(&x->timer, on_start_failed, 0, 0);
}

/* Deliver the outcome and retire the exchange (its memory goes with the timer). */
static void xchg_end(xchg_t *x, int status, const kms_dns_reply_t *reply)
{
    xchg_unlink(x);
    gss_unwait(x);
    pub__gss_key_unref(x->gkey);
    x->gkey = NULL;
    uv_timer_stop(&x->timer);
    kms_dns_msg_free(x->msg);
    x->msg = NULL;
    x->cb(x->ud, status, reply, x->attempt);
    uv_close((uv_handle_t *)&x->timer, on_xchg_closed);
}

static void engine_dequeue(pub_engine_t *e)
{
    while (e->qhead && e->inflight < e->opt.max_inflight) {
        xchg_t *x = e->qhead;
        e->qhead = x->qnext;
        if (!e->qhead)
            e->qtail = NULL;
        x->qnext = NULL;
        x->queued = 0;
        xchg_attempt(x);
    }
}

uint64_t pub__backoff_delay(const pub_options_t *o, unsigned attempt)
{
    return kms_backoff(o->backoff_ms, o->backoff_max_ms, attempt ? attempt - 1 : 0);
}

static void on_backoff(uv_timer_t *t)
{
    xchg_t *x = t->data;
    x->in_backoff = 0;
    if (x->run->canceled) {
        xchg_end(x, KMS_ECANCELED, NULL);
        return;
    }
    xchg_attempt(x);
}

static void xchg_fail_attempt(xchg_t *x, int status, const kms_dns_reply_t *reply)
{
    pub_engine_t *e = x->e;
    unsigned max = x->max_attempts ? x->max_attempts : e->opt.attempts;
    if (!x->run->canceled && pub_status_retriable(status) && (max == 0 || x->attempt < max)) {
        uint64_t d = pub__backoff_delay(&e->opt, x->attempt);
        uint64_t quiet = 0;
        kms_log_level_t level = e->opt.log_retries ? KMS_LOG_WARN : KMS_LOG_DEBUG;

        if (kms_log_get_level() >= level &&
            kms_ratelimit(&e->retry_log, uv_now(e->loop), 150, &quiet)) {
            char srv[KMS_ADDRSTRLEN], why[300], more[96] = "";
            kms_dns_explain_ctx_t c = {x->is_update ? "update" : "query",
                                       kms_addr_format_dns((struct sockaddr *)&x->srv, srv),
                                       e->has_key ? e->key_display : NULL, NULL, 0};
            if (reply)
                kms_dns_explain(reply, &c, why, sizeof why);
            else
                kms_dns_explain_err(status, &c, why, sizeof why);
            if (quiet)
                snprintf(more, sizeof more, " (%llu more failed attempts since the previous line)",
                         (unsigned long long)quiet);
            kms_log(level, "%s (attempt %u); retrying in %.1f s%s", why, x->attempt,
                    (double)d / 1000.0, more);
        }
        x->in_backoff = 1;
        uv_timer_start(&x->timer, on_backoff, d, 0);
        return;
    }
    xchg_end(x, reply ? 0 : status, reply);
}

static void on_sent(int status, const uint8_t *wire, size_t len, const kms_dns_send_info_t *info,
                    void *ud)
{
    xchg_t *x = ud;
    pub_engine_t *e = x->e;
    run_t *r = x->run;
    kms_dns_reply_t *reply = NULL;

    memset(&x->send, 0, sizeof x->send);
    x->sending = 0;
    e->inflight--;
    engine_dequeue(e);
    if (status == 0) {
        const kms_tsig_signer_t *signer = x->gkey   ? pub__gss_key_signer(x->gkey)
                                          : x->sign ? &e->signer
                                                    : NULL;
        status = kms_dns_reply_parse(x->msg, signer, wire, len, &reply);
        if (status == 0) {
            if (info->tls)
                r->stats.tls++;
            else if (info->tcp)
                r->stats.tcp++;
            else
                r->stats.udp++;
            r->stats.tc_fallbacks += info->tc_fallback ? 1 : 0;
            if (x->is_update)
                r->stats.updates++;
            else
                r->stats.queries++;
        }
    }
    if (status == 0 && reply->status == KMS_ETSIG_BADKEY && x->gkey && !x->rekeyed &&
        !r->canceled) {
        /* the server no longer knows our GSS-TSIG key (restarted, expired): a new one, once */
        x->rekeyed = x->rekey = 1;
        kms_dns_reply_free(reply);
        xchg_attempt(x);
        return;
    }
    if (status == 0 && !pub_status_retriable(reply->status)) {
        xchg_end(x, 0, reply);
    } else {
        xchg_fail_attempt(x, status ? status : reply->status, reply);
    }
    kms_dns_reply_free(reply);
}

static void on_start_failed(uv_timer_t *t)
{
    xchg_t *x = t->data;
    x->in_backoff = 0;
    if (x->fatal)
        xchg_end(x, x->start_err, NULL);
    else
        xchg_fail_attempt(x, x->start_err, NULL);
}

/* An attempt waits the engine's timeout, less when a deadline is closer
 * (never under 100 ms, so a nearby server still gets to answer). */
static unsigned xchg_timeout(const xchg_t *x)
{
    uint64_t t = x->e->opt.timeout_ms, now = uv_now(x->e->loop);

    if (x->deadline) {
        uint64_t left = x->deadline > now ? x->deadline - now : 0;
        if (left < t)
            t = left < 100 ? 100 : left;
    }
    return (unsigned)t;
}

static void xchg_attempt(xchg_t *x)
{
    pub_engine_t *e = x->e;
    uint8_t *wire = NULL;
    size_t len = 0;
    int rc;

    if (x->run->canceled) {
        x->in_backoff = 1; /* end from a timer, never re-entrantly */
        uv_timer_start(&x->timer, on_backoff, 0, 0);
        return;
    }
    const char *tls_name = pub__tls_name(e, (struct sockaddr *)&x->srv, x->zone);
    if (x->sign && e->gss) {
        pub_gss_key_t *old = x->gkey;
        x->gkey = NULL;
        rc = pub__gss_key(e, x, (struct sockaddr *)&x->srv, x->sign_for, tls_name,
                          x->rekey ? old : NULL, &x->gkey);
        pub__gss_key_unref(old);
        x->rekey = 0;
        if (rc == 1)
            return; /* waits for the negotiation: pub__xchg_gss_ready() */
        if (rc < 0) {
            x->start_err = rc;
            x->fatal = 0;
            x->in_backoff = 1;
            uv_timer_start(&x->timer, on_start_failed, 0, 0);
            return;
        }
    }
    if (e->inflight >= e->opt.max_inflight) {
        x->queued = 1;
        if (e->qtail)
            e->qtail->qnext = x;
        else
            e->qhead = x;
        e->qtail = x;
        return;
    }
    x->attempt++;
    x->run->stats.attempts++;
    /* fresh ID and fresh signature for every attempt (and another ID while
       the one drawn waits on the same DNS-over-TLS connection) */
    const kms_tsig_signer_t *signer = x->gkey   ? pub__gss_key_signer(x->gkey)
                                      : x->sign ? &e->signer
                                                : NULL;
    rc = KMS_EEXIST;
    for (int draw = 0; rc == KMS_EEXIST && draw < 8; draw++) {
        free(wire);
        wire = NULL;
        rc = kms_dns_msg_render(x->msg, (uint16_t)kms_random_uniform(65536), signer, &wire, &len);
        if (rc == 0)
            rc = pub__send(e, (struct sockaddr *)&x->srv, tls_name, wire, len, xchg_timeout(x), 0,
                           on_sent, x, &x->send);
    }
    free(wire);
    if (rc < 0) {
        /* report asynchronously, as if the attempt had failed on the wire;
           a message that cannot be built never will be */
        x->start_err = rc == KMS_EALGORITHM || rc == KMS_EINVAL || rc == KMS_ETOOBIG ||
                               rc == KMS_ENOMEM || rc == KMS_EKRB || rc == KMS_EKRB_EXPIRED
                           ? rc
                           : KMS_EIO;
        x->fatal = x->start_err != KMS_EIO;
        x->in_backoff = 1;
        uv_timer_start(&x->timer, on_start_failed, 0, 0);
        return;
    }
    x->sending = 1;
    e->inflight++;
}

void pub__xchg_start_bounded(run_t *r, const zone_t *z, kms_dns_msg_t *msg,
                             const struct sockaddr *srv, const char *sign_for,
                             unsigned max_attempts, uint64_t deadline, xchg_cb cb, void *ud)
{
    pub_engine_t *e = r->e;
    xchg_t *x = calloc(1, sizeof *x);
    if (!x || uv_timer_init(e->loop, &x->timer) < 0) {
        /* cannot even arm a timer: fail synchronously (only under OOM) */
        free(x);
        kms_dns_msg_free(msg);
        cb(ud, KMS_ENOMEM, NULL, 0);
        return;
    }
    e->handles++;
    x->timer.data = x;
    x->run = r;
    x->e = e;
    x->msg = msg;
    x->zone = z;
    memcpy(&x->srv, srv, kms_addr_len(srv));
    x->sign = sign_for != NULL;
    if (sign_for)
        snprintf(x->sign_for, sizeof x->sign_for, "%s", sign_for);
    x->is_update = kms_dns_msg_update_count(msg) > 0;
    x->max_attempts = max_attempts;
    x->deadline = deadline;
    x->cb = cb;
    x->ud = ud;
    x->next = r->live;
    if (r->live)
        r->live->prev = x;
    r->live = x;
    if (!msg) {
        x->in_backoff = 1;
        x->start_err = KMS_EINVAL; /* the message could not be built */
        x->fatal = 1;
        uv_timer_start(&x->timer, on_start_failed, 0, 0);
        return;
    }
    xchg_attempt(x);
}

void pub__xchg_start(run_t *r, const zone_t *z, kms_dns_msg_t *msg, const struct sockaddr *srv,
                     const char *sign_for, xchg_cb cb, void *ud)
{
    pub__xchg_start_bounded(r, z, msg, srv, sign_for, 0, 0, cb, ud);
}

kms_dns_msg_t *pub__query(const char *name, uint16_t type, int rd)
{
    kms_dns_msg_t *m = NULL;
    if (kms_dns_msg_query_new(name, type, rd, &m) < 0)
        return NULL;
    return m;
}

void pub__xchg_cancel(run_t *r)
{
    pub_engine_t *e = r->e;
    for (xchg_t *x = r->live; x; x = x->next) {
        if (x->gss_list) {
            gss_unwait(x); /* waiting for a key: end from its timer */
            x->in_backoff = 1;
            uv_timer_start(&x->timer, on_backoff, 0, 0);
        } else if (x->sending)
            pub__send_cancel(&x->send);
        else if (x->queued || x->in_backoff) {
            if (x->queued) {
                /* take it out of the queue; end it from its timer */
                xchg_t **pp = &e->qhead;
                xchg_t *prev = NULL;
                while (*pp && *pp != x) {
                    prev = *pp;
                    pp = &(*pp)->qnext;
                }
                if (*pp) {
                    *pp = x->qnext;
                    if (e->qtail == x)
                        e->qtail = prev;
                }
                x->qnext = NULL;
                x->queued = 0;
            }
            x->in_backoff = 1;
            uv_timer_start(&x->timer, on_backoff, 0, 0);
        }
    }
}

/* ---- DNS over TLS ---------------------------------------------------------- */

/* The engine's connection to one primary (address and name checked). */
struct pub_dot {
    pub_dot_t *next;
    pub_engine_t *e;
    struct sockaddr_storage srv;
    char name[KMS_DNS_NAMELEN];
    kms_tls_conn_t *conn;
};

static int same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family || kms_addr_port(a) != kms_addr_port(b))
        return 0;
    if (a->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0;
    return a->sa_family == AF_INET6 &&
           memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

const char *pub__tls_name(pub_engine_t *e, const struct sockaddr *srv, const zone_t *z)
{
    run_t *r = e->run;

    if (!e->tls)
        return NULL;
    if (e->has_server) /* the host given as the server: its address unless a name is given */
        return same_addr(srv, (struct sockaddr *)&e->server) ? e->tls_name : NULL;
    if (z && same_addr(srv, (struct sockaddr *)&z->primary)) /* the zone's own name */
        return e->tls_name[0] ? e->tls_name : z->mname;
    for (size_t k = 0; r && k < r->nzones; k++)
        if (same_addr(srv, (struct sockaddr *)&r->zones[k].primary))
            return e->tls_name[0] ? e->tls_name : r->zones[k].mname;
    return NULL;
}

static pub_dot_t *dot_find(pub_engine_t *e, const struct sockaddr *srv, const char *name)
{
    for (pub_dot_t *d = e->dots; d; d = d->next)
        if (same_addr(srv, (struct sockaddr *)&d->srv) && strcasecmp(d->name, name) == 0)
            return d;
    return NULL;
}

int pub__send(pub_engine_t *e, const struct sockaddr *srv, const char *tls_name,
              const uint8_t *wire, size_t len, uint64_t timeout_ms, unsigned flags,
              kms_dns_send_cb cb, void *ud, pub_send_t *out)
{
    pub_dot_t *d;
    int rc;

    memset(out, 0, sizeof *out);
    if (!tls_name)
        return kms_dns_send(e->loop, srv, wire, len, timeout_ms,
                            flags | (e->opt.tcp ? KMS_DNS_SEND_TCP : 0u), cb, ud, &out->dns);
    if (e->stopping)
        return KMS_ECANCELED;
    if (!(d = dot_find(e, srv, tls_name))) {
        if (!(d = calloc(1, sizeof *d)))
            return KMS_ENOMEM;
        if ((rc = kms_tls_conn_new(e->loop, e->tls, srv, tls_name, 0, &d->conn)) < 0) {
            free(d);
            return rc;
        }
        d->e = e;
        memcpy(&d->srv, srv, kms_addr_len(srv));
        snprintf(d->name, sizeof d->name, "%s", tls_name);
        d->next = e->dots;
        e->dots = d;
        e->handles++; /* until pub__dots_close() has closed it */
    }
    return kms_tls_send(d->conn, wire, len, timeout_ms, cb, ud, &out->tls);
}

void pub__send_cancel(pub_send_t *s)
{
    if (s->dns)
        kms_dns_send_cancel(s->dns);
    if (s->tls)
        kms_tls_send_cancel(s->tls);
}

char *pub__explain_err(pub_engine_t *e, const struct sockaddr *srv, const char *tls_name,
                       int status, const kms_dns_explain_ctx_t *c, char *buf, size_t len)
{
    pub_dot_t *d = tls_name ? dot_find(e, srv, tls_name) : NULL;
    int st = 0;
    const char *line = d ? kms_tls_conn_error(d->conn, &st) : "";

    if (line[0] && st == status) {
        snprintf(buf, len, "%s", line);
        return buf;
    }
    return kms_dns_explain_err(status, c, buf, len);
}

static void dot_closed(kms_tls_conn_t *c, void *ud)
{
    pub_dot_t *d = ud;
    pub_engine_t *e = d->e;
    (void)c;
    free(d);
    e->handles--;
    pub__engine_maybe_stopped(e);
}

void pub__dots_close(pub_engine_t *e)
{
    pub_dot_t *d = e->dots;

    e->dots = NULL;
    while (d) {
        pub_dot_t *next = d->next;
        kms_tls_conn_close(d->conn, dot_closed, d);
        d = next;
    }
}
