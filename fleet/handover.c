/* SPDX-License-Identifier: MIT */
/*
 * handover.c - `kmsctl handover` (see handover.h): the run, steps 2 to 5.
 *
 * One libuv loop of its own; each step starts its asynchronous work (a
 * discovery with probe, activation checks, a publisher run, discoveries
 * per domain) and runs the loop until that work called back, so the steps
 * read top to bottom.  What kmsd publishes (target, port, TTL, the server
 * its updates go to, the domains), what it serves (products, the pools it
 * counts) and where it listens come from its `status --json`
 * (hostcheck.c), never from a configuration file that may differ from
 * what it runs with.
 */
#include "fleet/handover_int.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"
#include "publisher/publisher.h"
#include "resolver/outcome.h"

void fleet_handover_options_init(fleet_handover_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->port = 1688;
    o->wait_ms = 300000;
    o->drain_ms = 600000;
    o->probe_timeout_ms = 2000;
    o->ctl_timeout_s = 10;
}

uint64_t ho_elapsed_ms(ho_t *h)
{
    uv_update_time(&h->loop);
    return uv_now(&h->loop) - h->t0;
}

void ho_step_line(ho_t *h, int n, const char *name, const char *state, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!h->o->json) {
        printf("step %d/%d %s %s: %s\n", n, STEPS, name, state, msg);
        fflush(stdout);
        return;
    }
    kms_json_t *s = kms_json_object();
    if (!s || kms_json_set_int(s, "step", n) < 0 || kms_json_set_str(s, "name", name) < 0 ||
        kms_json_set_str(s, "result", strcmp(state, "FAILED") == 0 ? "failed" : state) < 0 ||
        kms_json_set_bool(s, "ok", strcmp(state, "ok") == 0) < 0 ||
        kms_json_set_str(s, "message", msg) < 0 ||
        kms_json_set_int(s, "elapsed_ms", (int64_t)ho_elapsed_ms(h)) < 0 ||
        kms_json_append(h->steps, s) < 0)
        kms_json_free(s);
}

/* ---- the DNS engine clients would use ------------------------------------ */

void ho_on_located(void *ud, int err, loc_result_t *res)
{
    loc_wait_t *w = ud;

    w->done = 1;
    w->err = err;
    w->res = res;
}

/* A DNS engine asking the resolver clients ask.  0, or 1 after a message. */
int ho_dnsq_for_clients(ho_t *h, kms_dnsq_t **out)
{
    char err[256] = "", a[KMS_ADDRSTRLEN];
    const char *servers[1];
    kms_dnsq_opts_t qo;
    int rc;

    memset(&qo, 0, sizeof qo);
    if (h->resolver.ss_family) {
        servers[0] = kms_addr_format((const struct sockaddr *)&h->resolver, a);
        qo.servers = servers;
        qo.n_servers = 1;
    }
    qo.timeout_ms = h->o->probe_timeout_ms;
    rc = kms_dnsq_new(&h->loop, &qo, out, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "kmsctl: handover: %s\n", err[0] ? err : kms_strerror(rc));
    return rc < 0 ? 1 : 0;
}

void ho_dnsq_done(ho_t *h, kms_dnsq_t *q)
{
    kms_dnsq_stop(q, NULL, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    kms_dnsq_free(q);
}

/* ---- steps 2 and 3: what every name server serves -------------------------- */

typedef struct {
    ho_t *h;
    int n;
    const char *name;
    int failed;
} await_t;

static void on_awaited(const pub_result_t *res, size_t n, const pub_stats_t *stats, void *ud)
{
    await_t *w = ud;
    char dn[KMS_DNS_NAMELEN];

    (void)stats;
    for (size_t i = 0; i < n; i++) {
        /* every name server asked, or it is no answer */
        int ok = res[i].status == 0 && res[i].verified;

        w->failed |= !ok;
        ho_step_line(w->h, w->n, w->name, ok ? "ok" : "FAILED", "%s: %s%s",
                     kms_dname_shown(res[i].domain, dn, sizeof dn), res[i].message,
                     res[i].status == 0 && !ok ? " (the name servers could not be asked)" : "");
    }
}

/* Wait until every name server of every domain's zone serves (@p op
 * PUB_AWAIT_PUBLISHED) or no longer serves a record of @p target and
 * @p port.  0, or 1 (a domain failed, or the wait could not start). */
static int await_state(ho_t *h, int step, const char *name, pub_op_t op, const char *target,
                       uint16_t port)
{
    pub_options_t opt;
    pub_engine_t *e = NULL;
    await_t w = {h, step, name, 0};
    int rc;

    pub_options_init(&opt);
    opt.target = target;
    opt.port = port;
    opt.allow_unsigned = 1; /* nothing is changed */
    opt.server = h->server.ss_family ? (const struct sockaddr *)&h->server : NULL;
    opt.resolver = h->resolver.ss_family ? (const struct sockaddr *)&h->resolver : NULL;
    opt.verify = 1;
    opt.verify_timeout_ms = h->o->wait_ms;
    opt.backoff_max_ms = 1000; /* a server that caught up is seen within a second */
    opt.attempts = 3;
    rc = pub_engine_new(&h->loop, &opt, &e);
    if (rc == 0)
        rc = pub_run(e, op, h->doms.v, h->doms.n, on_awaited, &w);
    if (rc == 0)
        uv_run(&h->loop, UV_RUN_DEFAULT);
    else
        FAILED(h, step, name, "%s",
               rc == KMS_EADDR ? "no DNS server to ask: give --resolver (none in "
                                 "/etc/resolv.conf)"
                               : kms_strerror(rc));
    pub_engine_stop(e, NULL, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    pub_engine_free(e);
    return rc < 0 ? 1 : w.failed;
}

static int step_withdraw(ho_t *h)
{
    const fleet_handover_options_t *o = h->o;
    char err[512] = "", *payload = NULL, *st = NULL;
    uint64_t t = o->wait_ms / 1000 + 60; /* kmsd's own verification may wait too */
    int rc, rs;
    kms_json_t *doc;

    if (t < o->ctl_timeout_s)
        t = o->ctl_timeout_s;
    rc = o->ctl(o->ctl_ud, "cdns", (unsigned)(t < 3600 ? t : 3600), &payload, err, sizeof err);
    free(payload);
    /* Whatever cdns answered, kmsd's status says whether it stopped
       publishing; the name servers say whether the record is gone (kmsd's
       own verification may give up before --wait does). */
    rs = o->ctl(o->ctl_ud, "status --json", o->ctl_timeout_s, &st, NULL, 0);
    doc = rs == 0 ? kms_json_parse(st, NULL, 0) : NULL;
    rs = kms_json_bool(kms_json_get(kms_json_get(doc, "settings"), "publish"));
    kms_json_free(doc);
    free(st);
    if (rs < 0) {
        h->changed = 1; /* perhaps: say so */
        FAILED(h, 3, "withdraw",
               "cdns: %s; kmsd's status cannot be read to tell whether it stopped publishing: "
               "check with kmsctl status (kmsctl sdns publishes again)",
               rc ? err : "OK");
        return 3;
    }
    h->changed = rs == 0;
    if (!h->changed) {
        FAILED(h, 3, "withdraw", "cdns: %s: this host still publishes; fix that and try again",
               rc ? err : "kmsd answered OK but still publishes");
        return rc == 3 ? 3 : 1;
    }
    if (rc != 0)
        OK(h, 3, "withdraw",
           "cdns: publishing off; kmsd's own check says: %s (the name servers "
           "are asked next)",
           err);
    if (await_state(h, 3, "withdraw", PUB_AWAIT_WITHDRAWN, h->target, h->port) != 0) {
        FAILED(h, 3, "withdraw",
               "this host no longer publishes (cdns), but its record is not gone from every "
               "name server: see the lines above; kmsctl sdns publishes it again");
        return 1;
    }
    h->withdrawn_ms = (int64_t)ho_elapsed_ms(h);
    OK(h, 3, "withdraw",
       "this host's record is gone from every name server, %.1f s after the "
       "start",
       (double)h->withdrawn_ms / 1000.0);
    return 0;
}

/* ---- step 4: discovery as a client ----------------------------------------- */

/* 0: the new host listed and reached first, this host not listed; else 1
 * and why in @p why. */
static int discovered(ho_t *h, const loc_result_t *r, char *why, size_t len)
{
    long newest = -1, old = -1;

    for (size_t i = 0; i < r->n_hosts; i++) {
        const loc_host_t *x = &r->hosts[i];
        if (newest < 0 && x->port == h->o->port && kms_dname_eq(x->target, h->host))
            newest = (long)i;
        if (old < 0 && x->port == h->port && kms_dname_eq(x->target, h->target))
            old = (long)i;
    }
    if (old >= 0)
        snprintf(why, len, "still finds this host (%s:%u) among %zu host%s: a resolver's cache?",
                 h->target, h->port, r->n_hosts, r->n_hosts == 1 ? "" : "s");
    else if (newest < 0)
        snprintf(why, len, "does not find the new host (%zu host%s listed)", r->n_hosts,
                 r->n_hosts == 1 ? "" : "s");
    else if (r->answered < 0)
        snprintf(why, len, "lists the new host, but no host answered its probe");
    else if (r->answered != newest)
        snprintf(why, len,
                 "reaches %s:%u first, not the new host (priority, weight, or the new host "
                 "did not answer its probe)",
                 r->hosts[r->answered].target, r->hosts[r->answered].port);
    else {
        snprintf(why, len, "finds the new host first (%zu host%s listed), this host not at all",
                 r->n_hosts, r->n_hosts == 1 ? "" : "s");
        return 0;
    }
    return 1;
}

/* Step 4's bound: --wait, or the record's TTL and a little more when that
   is longer (a resolver may give the old answer until it runs out). */
static uint64_t discovery_bound_ms(const ho_t *h)
{
    uint64_t ttl_ms = (uint64_t)h->ttl * 1000 + 10000;

    return h->ttl && ttl_ms > h->o->wait_ms ? ttl_ms : h->o->wait_ms;
}

static int step_discovery(ho_t *h)
{
    uint64_t deadline = ho_elapsed_ms(h) + discovery_bound_ms(h);
    kms_dnsq_t *q;
    int failed = 0;

    if (ho_dnsq_for_clients(h, &q) != 0)
        return 1;
    for (size_t i = 0; i < h->doms.n; i++) {
        char why[600] = "";
        loc_domain_t d;
        loc_opts_t lo;
        int bad;

        memset(&d, 0, sizeof d);
        snprintf(d.name, sizeof d.name, "%s", h->doms.v[i].name);
        snprintf(d.qname, sizeof d.qname, "_vlmcs._tcp.%s.", h->doms.v[i].name);
        d.source = LOC_DOM_EXPLICIT;
        memset(&lo, 0, sizeof lo);
        lo.domains = &d;
        lo.n_domains = 1;
        lo.probe = 1;
        lo.probe_timeout_ms = h->o->probe_timeout_ms;
        for (;;) {
            loc_wait_t w = {0};
            int rc = loc_locate_start(&h->loop, q, &lo, ho_on_located, &w);

            if (rc == 0)
                uv_run(&h->loop, UV_RUN_DEFAULT);
            if (rc < 0 || w.err < 0 || !w.res) {
                snprintf(why, sizeof why, "discovery failed: %s",
                         kms_strerror(rc < 0 ? rc : w.err));
                bad = 1;
            } else {
                bad = discovered(h, w.res, why, sizeof why);
            }
            loc_result_free(w.res);
            if (!bad || ho_elapsed_ms(h) + 1000 > deadline)
                break;
            uv_sleep(1000); /* a cache to run out, a transfer to land */
        }
        failed |= bad;
        ho_step_line(h, 4, "discovery", bad ? "FAILED" : "ok", "%s: a client %s%s",
                     h->doms.v[i].name, why,
                     bad ? "; this host no longer publishes (kmsctl sdns publishes it again)" : "");
    }
    ho_dnsq_done(h, q);
    return failed;
}

/* ---- step 5: drain, then decommission -------------------------------------- */

static void on_drained(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void on_drain_signal(uv_signal_t *s, int signum)
{
    ho_t *h = s->data;

    (void)signum;
    h->interrupted = 1;
    uv_stop(s->loop);
}

static void on_closed(uv_handle_t *hd)
{
    (void)hd;
}

/* Keep answering for the drain; 0, or 1 when a signal cut it short. */
static int drain(ho_t *h)
{
    uv_timer_t timer;
    uv_signal_t sig[2];
    static const int signums[2] = {SIGINT, SIGTERM};

    uv_timer_init(&h->loop, &timer);
    uv_timer_start(&timer, on_drained, h->o->drain_ms, 0);
    for (int i = 0; i < 2; i++) {
        uv_signal_init(&h->loop, &sig[i]);
        sig[i].data = h;
        uv_signal_start(&sig[i], on_drain_signal, signums[i]);
    }
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&timer, on_closed);
    for (int i = 0; i < 2; i++)
        uv_close((uv_handle_t *)&sig[i], on_closed);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    return h->interrupted;
}

static int step_drain(ho_t *h)
{
    const fleet_handover_options_t *o = h->o;
    char err[512] = "", *payload = NULL, d[32], served[64] = "";
    unsigned t = o->ctl_timeout_s > 120 ? o->ctl_timeout_s : 120;
    int64_t before;
    int rc;

    kms_duration_format(o->drain_ms / 1000, d, sizeof d);
    if (!o->json) {
        printf("step 5/%d drain: answering clients that cached this host for %s, then "
               "decommission (Ctrl-C stops here, the host unpublished and serving)\n",
               STEPS, d);
        fflush(stdout);
    }
    before = ho_read_status(h, 0) == 0 ? h->activations_ok : -1;
    if (drain(h)) {
        FAILED(h, 5, "drain",
               "interrupted after %.1f s of the drain: this host no longer publishes and still "
               "serves; kmsctl decommission when its clients have moved",
               (double)ho_elapsed_ms(h) / 1000.0);
        return 1;
    }
    if (before >= 0 && ho_read_status(h, 0) == 0 && h->activations_ok >= before)
        snprintf(served, sizeof served, " (%" PRId64 " activation%s served meanwhile)",
                 h->activations_ok - before, h->activations_ok - before == 1 ? "" : "s");
    rc = o->ctl(o->ctl_ud, "decommission", t, &payload, err, sizeof err);
    free(payload);
    if (rc != 0) {
        FAILED(h, 5, "drain",
               "decommission: %s: this host no longer publishes and still serves; run kmsctl "
               "decommission when that is fixed",
               err);
        return rc;
    }
    OK(h, 5, "drain", "kept answering for %s%s, then decommissioned", d, served);
    return 0;
}

/* ---- the plan and the run --------------------------------------------------- */

/* "kms.test, corp.test" (malloc'd; NULL on ENOMEM). */
static char *domain_names(const ho_t *h)
{
    size_t len = 1;
    char *out;

    for (size_t i = 0; i < h->doms.n; i++)
        len += strlen(h->doms.v[i].name) + 2;
    if (!(out = malloc(len)))
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < h->doms.n; i++) {
        if (i)
            strcat(out, ", ");
        strcat(out, h->doms.v[i].name);
    }
    return out;
}

static void plan(ho_t *h)
{
    const fleet_handover_options_t *o = h->o;
    char d[32], w[32], w4[32], a[KMS_ADDRSTRLEN], g[KMS_GUID_STRLEN], checks[1024] = "";
    char *list = domain_names(h);
    const char *res = h->resolver.ss_family
                          ? kms_addr_format((const struct sockaddr *)&h->resolver, a)
                          : "/etc/resolv.conf's resolvers";
    size_t off = 0;

    for (size_t i = 0; i < h->nchecks && off < sizeof checks; i++) {
        const check_t *k = &h->checks[i];
        off += (size_t)snprintf(
            checks + off, sizeof checks - off, "%s%s pool %s >= %" PRIu32, i ? ", " : "", k->family,
            k->has_kms_id ? kms_guid_format(&k->kms_id, g) : "(Windows 10 client)", k->required);
    }
    kms_duration_format(o->wait_ms / 1000, w, sizeof w);
    kms_duration_format(discovery_bound_ms(h) / 1000, w4, sizeof w4);
    kms_duration_format(o->drain_ms / 1000, d, sizeof d);
    ho_step_line(h, 1, "new-host", "plan",
                 "would resolve %s at %s, connect to port %u, bind the KMS interface and check "
                 "its count: %s%s",
                 h->shown, res, o->port, checks, o->force ? " (or --force)" : "");
    ho_step_line(h, 2, "new-record", "plan",
                 "would wait up to %s until every name server of the zones of %s serves "
                 "_vlmcs._tcp SRV * * %u %s",
                 w, list ? list : "?", o->port, h->shown);
    ho_step_line(h, 3, "withdraw", "plan",
                 "would send cdns, then wait up to %s until no name server serves "
                 "_vlmcs._tcp SRV * * %u %s",
                 w, h->port, h->target);
    ho_step_line(h, 4, "discovery", "plan",
                 "would discover as a client in each domain at %s (up to %s: the record's TTL "
                 "is %" PRIu32 " s): %s listed and reached first, %s not listed",
                 res, w4, h->ttl, h->shown, h->target);
    ho_step_line(h, 5, "drain", "plan", "would keep answering for %s, then send decommission", d);
    free(list);
}

int fleet_handover(const fleet_handover_options_t *o)
{
    struct sockaddr_storage literal;
    ho_t h;
    int rc, stopped = 0;

    memset(&h, 0, sizeof h);
    h.o = o;
    if (!o->host || kms_addr_parse(o->host, 1, &literal) == 0 ||
        kms_dname_canon(o->host, KMS_DNAME_ANY, h.host, sizeof h.host) < 0 ||
        !strchr(h.host, '.') || strchr(h.host, '.') == h.host + strlen(h.host) - 1) {
        fprintf(stderr,
                "kmsctl: handover: %s: give the new host's fully qualified DNS name (its SRV "
                "target, e.g. kms2.corp.example), not an address\n",
                o->host ? o->host : "(none)");
        return 2;
    }
    kms_dname_shown(h.host, h.shown, sizeof h.shown);
    if (o->resolver && kms_addr_parse(o->resolver, 53, &h.resolver) < 0) {
        fprintf(stderr,
                "kmsctl: handover: --resolver %s: expected IP[:PORT] ([IPv6]:PORT with a port)\n",
                o->resolver);
        return 2;
    }
    if (uv_loop_init(&h.loop) < 0) {
        fprintf(stderr, "kmsctl: handover: cannot create the event loop\n");
        return 1;
    }
    h.t0 = uv_now(&h.loop);
    if (o->json) {
        h.doc = kms_json_object();
        h.steps = kms_json_array();
    }
    rc = ho_read_status(&h, 1);
    if (rc != 0)
        goto out;
    if (kms_dname_eq(h.host, h.target) && o->port == h.port) {
        fprintf(stderr, "kmsctl: handover: %s:%u is this host\n", h.shown, o->port);
        rc = 2;
        goto out;
    }
    if (!o->json) {
        char *list = domain_names(&h);
        printf("handover %s:%u -> %s:%u in %s%s\n", h.target, h.port, h.shown, o->port,
               list ? list : "?", o->dry_run ? " (dry run: nothing is changed)" : "");
        fflush(stdout);
        free(list);
    }
    if (o->dry_run) {
        plan(&h);
        goto out;
    }
    if ((rc = ho_step_new_host(&h)) != 0)
        stopped = 1;
    else if ((rc = await_state(&h, 2, "new-record", PUB_AWAIT_PUBLISHED, h.host, o->port)) != 0)
        stopped = 2;
    else if ((rc = step_withdraw(&h)) != 0)
        stopped = 3;
    else if ((rc = step_discovery(&h)) != 0)
        stopped = 4;
    else if ((rc = step_drain(&h)) != 0)
        stopped = 5;
    if (!o->json && stopped)
        printf("handover stopped at step %d after %.1f s: %s\n", stopped,
               (double)ho_elapsed_ms(&h) / 1000.0,
               h.changed ? "this host no longer publishes (kmsctl sdns publishes it again)"
                         : "nothing was changed, this host is as it was");
    else if (!o->json)
        printf("handover to %s:%u done in %.1f s\n", h.shown, o->port,
               (double)ho_elapsed_ms(&h) / 1000.0);
out:
    if (o->json && h.doc) {
        kms_json_t *from = kms_json_object(), *to = kms_json_object();

        kms_json_set_str(from, "target", h.target[0] ? h.target : NULL);
        kms_json_set_int(from, "port", h.port);
        kms_json_set_str(to, "target", h.shown);
        kms_json_set_int(to, "port", o->port);
        kms_json_set_bool(h.doc, "ok", rc == 0);
        kms_json_set_bool(h.doc, "dry_run", o->dry_run);
        kms_json_set(h.doc, "from", from);
        kms_json_set(h.doc, "to", to);
        kms_json_set(h.doc, "steps", h.steps);
        h.steps = NULL;
        if (stopped)
            kms_json_set_int(h.doc, "stopped_at", stopped);
        else
            kms_json_set_str(h.doc, "stopped_at", NULL);
        kms_json_set_bool(h.doc, "changed", h.changed);
        if (h.withdrawn_ms)
            kms_json_set_int(h.doc, "withdrawn_ms", h.withdrawn_ms);
        kms_json_set_int(h.doc, "elapsed_ms", (int64_t)ho_elapsed_ms(&h));
        kms_json_print(stdout, h.doc, 1);
    }
    kms_json_free(h.steps);
    kms_json_free(h.doc);
    pub_domain_list_free(&h.doms);
    uv_run(&h.loop, UV_RUN_DEFAULT);
    uv_loop_close(&h.loop);
    return rc;
}
