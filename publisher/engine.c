/* SPDX-License-Identifier: MIT */
/*
 * engine.c - the publisher's API (publisher.h): options, the engine, a
 * run's start, cancel and end.
 *
 * pub_engine_new() copies the options (target, addresses, key, the
 * DNS-over-TLS name) into the engine and reads the DNS-over-TLS files into
 * its client configuration (dns/tls.h).  pub_run() checks the domains, copies them into a run (one
 * dom_t and one pub_result_t each) and starts every domain's discovery (discover.c); the zones go
 * on to update.c and verify.c, every DNS exchange through exchange.c.  pub_cancel() marks the run
 * canceled and cuts its exchanges and verification waits short; each still ends through its own
 * callback, from the loop.  pub__run_maybe_done() ends the run once discovery and every zone are
 * done: a domain without a result gets "canceled" or "not processed", the user callback runs, the
 * run is freed. pub_engine_stop() calls back once its run has ended and the loop has closed every
 * handle its runs opened (pub__engine_maybe_stopped(), called again from each close callback; the
 * DNS-over-TLS connections, kept for the engine's life, are closed then too); pub_engine_free()
 * then releases the memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "dns/resolvconf.h"
#include "publisher/pub_int.h"

const char *pub_op_name(pub_op_t op)
{
    switch (op) {
    case PUB_PUBLISH:
        return "publish";
    case PUB_UNPUBLISH:
        return "unpublish";
    case PUB_AWAIT_PUBLISHED:
        return "await-published";
    case PUB_AWAIT_WITHDRAWN:
        return "await-withdrawn";
    default:
        return "show";
    }
}

void pub_options_init(pub_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->port = 1688;
    o->ttl = 3600;
    o->attempts = 4;
    o->timeout_ms = 2000;
    o->backoff_ms = 250;
    o->backoff_max_ms = 30000;
    o->verify_timeout_ms = 30000;
    o->max_inflight = 64;
}

void pub__engine_maybe_stopped(pub_engine_t *e)
{
    pub_stopped_cb cb = e->stop_cb;

    if (!e->stopping || e->run || e->handles || !cb)
        return;
    e->stop_cb = NULL;
    cb(e, e->stop_ud);
}

/* ---- run end -------------------------------------------------------------- */

void pub__set_result(run_t *r, size_t i, int status, const char *fmt, ...)
{
    pub_result_t *res = &r->res[i];
    va_list ap;
    res->status = status;
    res->time = (int64_t)time(NULL);
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}

static void run_free(run_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->doms[i].cur);
        free(r->res[i].records);
    }
    for (size_t i = 0; i < r->nzones; i++) {
        free(r->zones[i].doms);
        free(r->zones[i].ns);
    }
    free(r->zones);
    free(r->doms);
    free(r->res);
    free(r);
}

void pub__run_maybe_done(run_t *r)
{
    if (r->disc_pending || !r->zones_started || r->zones_pending)
        return;
    pub_engine_t *e = r->e;
    for (size_t i = 0; i < r->n; i++) {
        if (r->res[i].time == 0)
            pub__set_result(r, i, r->canceled ? KMS_ECANCELED : KMS_EIO, "%s",
                            r->canceled ? "canceled" : "not processed");
    }
    r->stats.tls_handshakes = kms_tls_ctx_handshakes(e->tls) - r->tls_hs_at_start;
    r->cb(r->res, r->n, &r->stats, r->ud);
    e->run = NULL;
    run_free(r);
    pub__engine_maybe_stopped(e);
}

/* ---- API ------------------------------------------------------------------ */

/* The first nameserver of /etc/resolv.conf, or KMS_EADDR. */
static int resolv_conf_server(struct sockaddr_storage *out)
{
    kms_resolvconf_t rc;

    if (kms_resolvconf_load(NULL, &rc) < 0 || kms_resolvconf_servers(&rc, out, 1) == 0)
        return KMS_EADDR;
    return 0;
}

int pub_engine_new(uv_loop_t *loop, const pub_options_t *opt, pub_engine_t **out)
{
    pub_engine_t *e = NULL;
    int rc = KMS_EINVAL;

    *out = NULL;
    if (!loop || !opt || opt->port == 0)
        return KMS_EINVAL;
    if (!opt->key && !opt->gss.enabled && !opt->allow_unsigned)
        return KMS_EINVAL;
    if (opt->key && opt->gss.enabled)
        return KMS_EINVAL;
    e = calloc(1, sizeof *e);
    if (!e)
        return KMS_ENOMEM;
    e->loop = loop;
    e->opt = *opt;
    if (opt->target && kms_dname_canon(opt->target, KMS_DNAME_ANY, e->target, sizeof e->target) < 0)
        goto fail;
    e->opt.target = opt->target ? e->target : NULL;
    if (opt->server) {
        memcpy(&e->server, opt->server, kms_addr_len(opt->server));
        e->has_server = 1;
    }
    if (opt->resolver)
        memcpy(&e->resolver, opt->resolver, kms_addr_len(opt->resolver));
    else if (opt->server)
        memcpy(&e->resolver, opt->server, kms_addr_len(opt->server));
    else if ((rc = resolv_conf_server(&e->resolver)) < 0)
        goto fail;
    e->opt.server = NULL;
    e->opt.resolver = NULL;
    if (opt->key) {
        e->key = *opt->key;
        e->has_key = 1;
        kms_tsig_key_display(&e->key, e->key_display, sizeof e->key_display);
        if ((rc = kms_tsig_hmac_signer(&e->key, &e->signer)) < 0)
            goto fail;
    }
    e->opt.key = NULL;
    if (opt->gss.enabled) {
        const pub_gss_options_t *g = &opt->gss;
        char shown[KMS_DNS_NAMELEN];
        if ((rc = pub__gss_new(e)) < 0)
            goto fail;
        if (g->principal)
            snprintf(e->gss_principal, sizeof e->gss_principal, "%s", g->principal);
        else if (g->keytab && e->target[0]) /* a keytab's default: host/<target> */
            snprintf(e->gss_principal, sizeof e->gss_principal, "host/%s",
                     kms_dname_shown(e->target, shown, sizeof shown));
        if (g->keytab)
            snprintf(e->gss_keytab, sizeof e->gss_keytab, "%s", g->keytab);
        if (g->server_principal)
            snprintf(e->gss_spn, sizeof e->gss_spn, "%s", g->server_principal);
        e->opt.gss.principal = e->gss_principal[0] ? e->gss_principal : NULL;
        e->opt.gss.keytab = g->keytab ? e->gss_keytab : NULL;
        e->opt.gss.server_principal = g->server_principal ? e->gss_spn : NULL;
        snprintf(e->auth_principal, sizeof e->auth_principal, "%s", e->gss_principal);
    } else {
        memset(&e->opt.gss, 0, sizeof e->opt.gss);
    }
    if (opt->tls.enabled) {
        const pub_tls_options_t *t = &opt->tls;
        kms_tls_config_t cfg = {t->ca_file, t->cert_file, t->key_file, t->ca_hint};
        char why[KMS_TLS_ERRLEN];
        if ((rc = kms_tls_ctx_new(&cfg, &e->tls, why, sizeof why)) < 0) {
            /* pub_tls_check() said it at configuration time; a file changed since */
            kms_error("%s", why);
            goto fail;
        }
        snprintf(e->tls_name, sizeof e->tls_name, "%s", t->name ? t->name : "");
    }
    /* strings read (the files) or copied (the name) */
    e->opt.tls.ca_file = e->opt.tls.cert_file = e->opt.tls.key_file = e->opt.tls.ca_hint = NULL;
    e->opt.tls.name = e->tls_name[0] ? e->tls_name : NULL;
    if (!e->opt.timeout_ms)
        e->opt.timeout_ms = 2000;
    if (!e->opt.backoff_max_ms)
        e->opt.backoff_max_ms = 30000;
    if (!e->opt.max_inflight)
        e->opt.max_inflight = 64;
    if (!e->opt.verify_timeout_ms)
        e->opt.verify_timeout_ms = 30000;
    *out = e;
    return 0;
fail:
    explicit_bzero(&e->key, sizeof e->key);
    pub__gss_free(e);
    kms_tls_ctx_free(e->tls);
    free(e);
    return rc;
}

/* The start timer is closed: the engine's last handle may be gone. */
static void start_closed(uv_handle_t *h)
{
    pub_engine_t *e = h->data;

    free(h);
    e->handles--;
    pub__engine_maybe_stopped(e);
}

static void run_start(uv_timer_t *t)
{
    run_t *r = t->data;
    pub_engine_t *e = r->e;
    size_t n = r->n; /* the last domain's discovery may end the run */

    r->start = NULL;
    t->data = e;
    uv_close((uv_handle_t *)t, start_closed);
    if (r->canceled) {
        /* canceled before it began: every domain says so, the run ends */
        for (size_t i = 0; i < n; i++)
            pub__set_result(r, i, KMS_ECANCELED, "canceled");
        r->disc_pending = 1;
        pub__disc_done(r);
        return;
    }
    for (size_t i = 0; i < n; i++)
        pub__discover(&r->doms[i]);
}

int pub_run(pub_engine_t *e, pub_op_t op, const pub_domain_t *domains, size_t n, pub_done_cb cb,
            void *ud)
{
    run_t *r = NULL;
    int rc = KMS_EINVAL;

    if (!e || e->stopping || !cb)
        return KMS_EINVAL;
    if (e->run)
        return KMS_EBUSY;
    if (!domains || n == 0 || n > 100000 || op > PUB_AWAIT_WITHDRAWN ||
        (op != PUB_SHOW && !e->target[0]))
        return KMS_EINVAL;
    r = calloc(1, sizeof *r);
    if (!r)
        return KMS_ENOMEM;
    r->doms = calloc(n, sizeof *r->doms);
    r->res = calloc(n, sizeof *r->res);
    if (!r->doms || !r->res) {
        rc = KMS_ENOMEM;
        goto fail;
    }
    r->e = e;
    r->op = op;
    r->n = n;
    r->cb = cb;
    r->ud = ud;
    for (size_t i = 0; i < n; i++) {
        pub_result_t *res = &r->res[i];
        dom_t *d = &r->doms[i];
        if (domains[i].priority > 65535 || domains[i].weight > 65535 ||
            kms_dname_canon(domains[i].name, KMS_DNAME_ANY, res->domain, sizeof res->domain) < 0 ||
            strlen(res->domain) + 12 >= sizeof res->owner)
            goto fail;
        snprintf(res->owner, sizeof res->owner, "_vlmcs._tcp.%.240s",
                 strcmp(res->domain, ".") == 0 ? "" : res->domain);
        res->priority = domains[i].priority >= 0 ? (uint16_t)domains[i].priority : e->opt.priority;
        res->weight = domains[i].weight >= 0 ? (uint16_t)domains[i].weight : e->opt.weight;
        d->run = r;
        d->idx = i;
        d->zone = -1;
        snprintf(d->walk, sizeof d->walk, "%s", res->owner);
        d->qtype = e->has_server ? KMS_DNS_T_SRV : KMS_DNS_T_SOA;
    }
    /* Discovery starts from the loop: nothing of the run - not even a
     * failure to allocate an exchange - may call back from inside pub_run(). */
    if (!(r->start = malloc(sizeof *r->start)) || uv_timer_init(e->loop, r->start) < 0) {
        free(r->start);
        r->start = NULL;
        rc = KMS_ENOMEM;
        goto fail;
    }
    e->handles++;
    r->start->data = r;
    uv_timer_start(r->start, run_start, 0, 0);
    e->run = r;
    r->disc_pending = n;
    r->tls_hs_at_start = kms_tls_ctx_handshakes(e->tls);
    return 0;
fail:
    run_free(r);
    return rc;
}

void pub_cancel(pub_engine_t *e)
{
    if (!e || !e->run)
        return;
    run_t *r = e->run;
    r->canceled = 1;
    pub__xchg_cancel(r);
    pub__gss_cancel(e);
    for (size_t z = 0; z < r->nzones; z++)
        pub__verify_cancel(&r->zones[z]);
}

static void stopped_nop(pub_engine_t *e, void *ud)
{
    (void)e;
    (void)ud;
}

/* The close callback of the timer opened only to call back from the loop. */
static void tick_closed(uv_handle_t *h)
{
    pub_engine_t *e = h->data;

    e->handles--;
    pub__engine_maybe_stopped(e);
}

void pub_engine_stop(pub_engine_t *e, pub_stopped_cb cb, void *ud)
{
    if (!e || e->stopping)
        return;
    e->stopping = 1;
    e->stop_cb = cb ? cb : stopped_nop;
    e->stop_ud = ud;
    pub_cancel(e);
    pub__gss_cancel(e); /* also a negotiation that outlived its run */
    pub__dots_close(e); /* DNS-over-TLS connections: their close callbacks count down */
    if (e->run || e->handles)
        return; /* the last callback or close callback calls back */
    /* Idle: still call back from the loop, never from in here (the engine's
     * own timer: nothing to allocate, nothing that can fail). */
    uv_timer_init(e->loop, &e->tick);
    e->tick.data = e;
    e->handles++;
    uv_close((uv_handle_t *)&e->tick, tick_closed);
}

void pub_engine_free(pub_engine_t *e)
{
    if (!e)
        return;
    explicit_bzero(&e->key, sizeof e->key);
    pub__gss_free(e);
    kms_tls_ctx_free(e->tls);
    free(e);
}

void pub_auth_info(const pub_engine_t *e, pub_auth_info_t *out)
{
    memset(out, 0, sizeof *out);
    out->last_error = "";
    if (e->gss) {
        out->method = "gss-tsig";
        out->key_name = e->auth_principal;
        out->algorithm = e->auth_algorithm[0]
                             ? e->auth_algorithm
                             : pub_gss_alg_name(e->opt.gss.algorithm == PUB_GSS_MS);
        out->creds_expiry = e->auth_creds_expiry;
        out->key_expiry = e->auth_key_expiry;
        out->last_error = e->auth_error;
    } else if (e->has_key) {
        out->method = "tsig";
        out->key_name = e->key_display;
        out->algorithm = e->key.algorithm;
    } else {
        out->method = "none";
    }
}