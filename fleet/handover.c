/* SPDX-License-Identifier: MIT */
/*
 * handover.c - `kmsctl handover` (see handover.h).
 *
 * One libuv loop of its own; each step starts its asynchronous work (a
 * discovery with probe, a publisher run, discoveries per domain) and runs
 * the loop until that work called back, so the steps read top to bottom.
 * What kmsd publishes (target, port, the server its updates go to, the
 * domains) comes from its `status --json`, never from a configuration file
 * that may differ from what it runs with.
 */
#include "fleet/handover.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/json.h"
#include "dns/name.h"
#include "dns/query.h"
#include "publisher/domains.h"
#include "publisher/publisher.h"
#include "resolver/client_id.h"
#include "resolver/locate.h"
#include "resolver/outcome.h"
#include "resolver/report.h"

#define STEPS 5

typedef struct {
    const fleet_handover_options_t *o;
    uv_loop_t loop;
    uint64_t t0;
    kms_json_t *doc, *steps; /* --json: the document, its "steps" */
    int changed;             /* step 3 has begun: the host is no longer as it was */
    /* from kmsd's status */
    char target[KMS_DNS_NAMELEN]; /* this host's record */
    uint16_t port;
    struct sockaddr_storage server; /* [dns] server; ss_family 0: the primary */
    pub_domain_list_t doms;
    int64_t activations_ok;
    /* the new host */
    char host[KMS_DNS_NAMELEN];       /* canonical, for comparisons */
    char shown[KMS_DNS_NAMELEN];      /* as written: "kms2.kms.test" */
    struct sockaddr_storage resolver; /* --resolver; ss_family 0: resolv.conf */
    int64_t withdrawn_ms;             /* step 3: from the start to "gone from every server" */
} ho_t;

void fleet_handover_options_init(fleet_handover_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->port = 1688;
    o->required = 25;
    o->wait_ms = 300000;
    o->drain_ms = 600000;
    o->probe_timeout_ms = 2000;
    o->ctl_timeout_s = 10;
}

static uint64_t elapsed_ms(ho_t *h)
{
    uv_update_time(&h->loop);
    return uv_now(&h->loop) - h->t0;
}

/* One line of step @p n (text), or one entry of "steps" (JSON). */
static void step_line(ho_t *h, int n, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void step_line(ho_t *h, int n, const char *name, int ok, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!h->o->json) {
        printf("step %d/%d %s %s: %s\n", n, STEPS, name, ok ? "ok" : "FAILED", msg);
        fflush(stdout);
        return;
    }
    kms_json_t *s = kms_json_object();
    if (!s || kms_json_set_int(s, "step", n) < 0 || kms_json_set_str(s, "name", name) < 0 ||
        kms_json_set_bool(s, "ok", ok) < 0 || kms_json_set_str(s, "message", msg) < 0 ||
        kms_json_set_int(s, "elapsed_ms", (int64_t)elapsed_ms(h)) < 0 ||
        kms_json_append(h->steps, s) < 0)
        kms_json_free(s);
}

/* ---- kmsd's status -------------------------------------------------------- */

static int read_status(ho_t *h, int first)
{
    const fleet_handover_options_t *o = h->o;
    char err[512] = "", *payload = NULL;
    kms_json_t *st = NULL, *set, *rec, *doms, *stats;
    int rc;

    rc = o->ctl(o->ctl_ud, "status --json", o->ctl_timeout_s, &payload, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "kmsctl: handover: status: %s\n", err);
        return rc;
    }
    st = kms_json_parse(payload, err, sizeof err);
    free(payload);
    set = kms_json_get(st, "settings");
    rec = kms_json_get(kms_json_get(st, "dns"), "record");
    doms = kms_json_get(set, "domains");
    stats = kms_json_get(st, "stats");
    if (kms_json_int(kms_json_get(stats, "activations_ok"), &h->activations_ok) < 0)
        h->activations_ok = -1;
    if (!first) {
        kms_json_free(st);
        return 0;
    }
    if (!st || !set || !rec || !kms_json_str(kms_json_get(rec, "target"))) {
        fprintf(stderr,
                "kmsctl: handover: kmsd's status does not say what it publishes%s%s "
                "(a kmsd older than this kmsctl?)\n",
                err[0] ? ": " : "", err);
        kms_json_free(st);
        return 3;
    }
    if (kms_json_bool(kms_json_get(set, "decommissioned")) == 1) {
        fprintf(stderr, "kmsctl: handover: this host is decommissioned: nothing to hand over "
                        "(kmsctl recommission brings it back)\n");
        kms_json_free(st);
        return 1;
    }
    if (kms_json_bool(kms_json_get(set, "publish")) != 1 || kms_json_len(doms) == 0) {
        fprintf(stderr,
                "kmsctl: handover: this host publishes %s: nothing to hand over "
                "(kmsctl sdns, sdomains)\n",
                kms_json_len(doms) ? "nothing (cdns)" : "in no domain");
        kms_json_free(st);
        return 1;
    }
    int64_t port = 0;
    kms_json_int(kms_json_get(rec, "port"), &port);
    h->port = (uint16_t)port;
    snprintf(h->target, sizeof h->target, "%s", kms_json_str(kms_json_get(rec, "target")));
    const char *srv = kms_json_str(kms_json_get(rec, "server"));
    if (srv && kms_addr_parse(srv, 53, &h->server) < 0)
        memset(&h->server, 0, sizeof h->server);
    for (size_t i = 0; i < kms_json_len(doms); i++) {
        kms_json_t *d = kms_json_at(doms, i);
        int64_t pr = -1, w = -1;
        pub_domain_t pd;

        kms_json_int(kms_json_get(d, "priority"), &pr);
        kms_json_int(kms_json_get(d, "weight"), &w);
        pd.name = (char *)kms_json_str(kms_json_get(d, "name"));
        pd.priority = (int)pr;
        pd.weight = (int)w;
        if (pd.name && pub_domains_add(&h->doms, &pd) < 0) {
            kms_json_free(st);
            fprintf(stderr, "kmsctl: handover: out of memory\n");
            return 3;
        }
    }
    kms_json_free(st);
    return 0;
}

/* ---- step 1: the new host answers ------------------------------------------ */

typedef struct {
    int done, err;
    loc_result_t *res;
} loc_wait_t;

static void on_located(void *ud, int err, loc_result_t *res)
{
    loc_wait_t *w = ud;

    w->done = 1;
    w->err = err;
    w->res = res;
}

/* A DNS engine asking the resolver clients ask. */
static int dnsq_for_clients(ho_t *h, kms_dnsq_t **out)
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
    return rc;
}

static void dnsq_done(ho_t *h, kms_dnsq_t *q)
{
    kms_dnsq_stop(q, NULL, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    kms_dnsq_free(q);
}

static int step_new_host(ho_t *h)
{
    const fleet_handover_options_t *o = h->o;
    char hp[KMS_DNS_NAMELEN + 8], hr[32], a[KMS_ADDRSTRLEN];
    loc_wait_t w = {0};
    kms_guid_t cid;
    loc_cid_source_t src;
    kms_dnsq_t *q;
    loc_opts_t lo;
    int rc, ok = 0;

    if (dnsq_for_clients(h, &q) < 0)
        return 3;
    /* the activation check counts this machine once, as kms-locate's does */
    char *cid_path = loc_client_id_path(NULL);
    loc_client_id(NULL, cid_path, &cid, &src);
    free(cid_path);
    snprintf(hp, sizeof hp, "%s:%u", h->shown, o->port);
    memset(&lo, 0, sizeof lo);
    lo.manual_host = hp;
    lo.probe = 1;
    lo.probe_timeout_ms = o->probe_timeout_ms;
    lo.activation_required = o->required;
    lo.client_id = &cid;
    rc = loc_locate_start(&h->loop, q, &lo, on_located, &w);
    if (rc == 0)
        uv_run(&h->loop, UV_RUN_DEFAULT);
    dnsq_done(h, q);
    if (rc < 0 || w.err < 0 || !w.res) {
        step_line(h, 1, "new-host", 0, "%s: %s", hp, kms_strerror(rc < 0 ? rc : w.err));
        loc_result_free(w.res);
        return 1;
    }
    const loc_result_t *r = w.res;
    const loc_host_t *x = r->n_hosts ? &r->hosts[0] : NULL;
    const loc_probe_result_t *p = x ? &x->probe : NULL;
    if (!x || x->n_addrs == 0) {
        step_line(h, 1, "new-host", 0,
                  "%s: the name does not resolve at %s (%s): give the new host's DNS name "
                  "as clients resolve it",
                  hp, h->resolver.ss_family ? "the resolver" : "/etc/resolv.conf's resolver",
                  kms_strerror(x && x->resolve_status ? x->resolve_status : KMS_ENOENT));
    } else if (!x->probed || p->state != LOC_PROBE_OK) {
        step_line(h, 1, "new-host", 0, "%s: %s at %s (%s): %s", hp,
                  x->probed ? loc_probe_state_name(p->state) : "not probed",
                  x->probed ? p->addr : kms_addr_format(&x->addrs[0].sa, a),
                  loc_hr_format(x->probed ? p->hr : LOC_HR_RPC_UNAVAIL, hr),
                  x->probed && p->state == LOC_PROBE_REJECTED
                      ? "something listens there but refuses the KMS interface: not a KMS host"
                      : "start kmsd on the new host, or check its address, port and firewall");
    } else if (!p->activation) {
        step_line(h, 1, "new-host", 0,
                  "%s answered the RPC bind at %s, but not an activation request in kmsdns's "
                  "encoding (%s): a Windows KMS host or another implementation; hand over "
                  "by hand (README: Migration)",
                  hp, p->addr, loc_hr_format(p->hr, hr));
    } else if (p->act_status != 0) {
        step_line(h, 1, "new-host", 0,
                  "%s at %s refused the activation check with %s: install a product key "
                  "there (kmsctl ipk) and try again",
                  hp, p->addr, loc_hr_format(p->act_status, hr));
    } else if (p->current_count < o->required) {
        ok = o->force;
        step_line(h, 1, "new-host", ok,
                  "%s answered at %s; its count %" PRIu32 " is below %" PRIu32
                  " (0xC004F038: clients needing %" PRIu32 " are not activated yet)%s",
                  hp, p->addr, p->current_count, o->required, o->required,
                  o->force ? "; going on (--force): keep this host's drain long enough"
                           : "; this host must keep serving until the new one can: try again "
                             "later, or --force");
    } else {
        ok = 1;
        step_line(h, 1, "new-host", 1,
                  "%s answered at %s (TCP, RPC bind, activation check in %" PRIu64
                  " ms); its count %" PRIu32 " meets %" PRIu32,
                  hp, p->addr, p->ms, p->current_count, o->required);
    }
    loc_result_free(w.res);
    return ok ? 0 : 1;
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
        w->failed |= res[i].status != 0;
        step_line(w->h, w->n, w->name, res[i].status == 0, "%s: %s",
                  kms_dname_shown(res[i].domain, dn, sizeof dn), res[i].message);
    }
}

/* Wait until every name server of every domain's zone serves (@p op
 * PUB_AWAIT_PUBLISHED) or no longer serves a record of @p target and
 * @p port.  0, 1 (a domain failed), 3 (could not start). */
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
    opt.attempts = 3;
    rc = pub_engine_new(&h->loop, &opt, &e);
    if (rc == 0)
        rc = pub_run(e, op, h->doms.v, h->doms.n, on_awaited, &w);
    if (rc == 0)
        uv_run(&h->loop, UV_RUN_DEFAULT);
    else
        step_line(h, step, name, 0, "%s",
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
    char err[512] = "", *payload = NULL;
    unsigned t = o->ctl_timeout_s > 120 ? o->ctl_timeout_s : 120;
    int rc;

    h->changed = 1;
    rc = o->ctl(o->ctl_ud, "cdns", t, &payload, err, sizeof err);
    free(payload);
    if (rc != 0) {
        step_line(h, 3, "withdraw", 0,
                  "cdns: %s: fix that and run kmsctl cdns, or kmsctl sdns to publish again", err);
        return rc;
    }
    rc = await_state(h, 3, "withdraw", PUB_AWAIT_WITHDRAWN, h->target, h->port);
    if (rc != 0) {
        step_line(h, 3, "withdraw", 0,
                  "this host no longer publishes (cdns), but a name server still gives its "
                  "record: see the lines above; kmsctl sdns undoes the cdns");
        return rc;
    }
    h->withdrawn_ms = (int64_t)elapsed_ms(h);
    step_line(h, 3, "withdraw", 1,
              "this host's record is gone from every name server, %.1f s "
              "after the start",
              (double)h->withdrawn_ms / 1000.0);
    return 0;
}

/* ---- step 4: discovery as a client ----------------------------------------- */

/* 0: the new host listed, this host not, the probe reached the new host;
 * else 1 and why in @p why. */
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
    if (old >= 0) {
        snprintf(why, len, "still lists this host (%s:%u) among %zu host%s: a resolver's cache?",
                 h->target, h->port, r->n_hosts, r->n_hosts == 1 ? "" : "s");
        return 1;
    }
    if (newest < 0) {
        snprintf(why, len, "does not list the new host (%zu host%s found)", r->n_hosts,
                 r->n_hosts == 1 ? "" : "s");
        return 1;
    }
    if (r->answered < 0) {
        snprintf(why, len, "lists the new host but no host answered the probe");
        return 1;
    }
    if (r->answered != newest)
        snprintf(why, len,
                 "finds %s:%u first (it answered the probe), the new host %s; "
                 "this host not at all",
                 r->hosts[r->answered].target, r->hosts[r->answered].port, "listed too");
    else
        snprintf(why, len, "finds the new host first (%zu host%s listed), this host not at all",
                 r->n_hosts, r->n_hosts == 1 ? "" : "s");
    return 0;
}

static int step_discovery(ho_t *h)
{
    uint64_t deadline = elapsed_ms(h) + h->o->wait_ms;
    kms_dnsq_t *q;
    int failed = 0;

    if (dnsq_for_clients(h, &q) < 0)
        return 3;
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
            int rc = loc_locate_start(&h->loop, q, &lo, on_located, &w);

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
            if (!bad || elapsed_ms(h) + 1000 > deadline)
                break;
            uv_sleep(1000); /* a cache to run out, a transfer to land */
        }
        failed |= bad;
        step_line(h, 4, "discovery", !bad, "%s: a client %s%s", h->doms.v[i].name, why,
                  bad ? "; this host no longer publishes (kmsctl sdns undoes it)" : "");
    }
    dnsq_done(h, q);
    return failed;
}

/* ---- step 5: drain, then decommission -------------------------------------- */

static int step_drain(ho_t *h)
{
    const fleet_handover_options_t *o = h->o;
    char err[512] = "", *payload = NULL, d[32];
    int64_t before = h->activations_ok;
    unsigned t = o->ctl_timeout_s > 120 ? o->ctl_timeout_s : 120;
    int rc;

    if (!o->json) {
        printf("step 5/%d drain: answering clients that cached this host for %s, then "
               "decommission\n",
               STEPS, kms_duration_format(o->drain_ms / 1000, d, sizeof d));
        fflush(stdout);
    }
    for (uint64_t left = o->drain_ms; left > 0;) {
        uint64_t s = left > 1000 ? 1000 : left;
        uv_sleep((unsigned)s);
        left -= s;
    }
    read_status(h, 0);
    rc = o->ctl(o->ctl_ud, "decommission", t, &payload, err, sizeof err);
    free(payload);
    if (rc != 0) {
        step_line(h, 5, "drain", 0,
                  "decommission: %s: this host is unpublished and still serving; run kmsctl "
                  "decommission when that is fixed",
                  err);
        return rc;
    }
    if (before >= 0 && h->activations_ok >= before)
        step_line(h, 5, "drain", 1,
                  "kept answering for %s (%" PRId64 " activations served meanwhile), then "
                  "decommissioned",
                  kms_duration_format(o->drain_ms / 1000, d, sizeof d), h->activations_ok - before);
    else
        step_line(h, 5, "drain", 1, "kept answering for %s, then decommissioned",
                  kms_duration_format(o->drain_ms / 1000, d, sizeof d));
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
    char d[32], w[32], a[KMS_ADDRSTRLEN], *list = domain_names(h);
    const char *res = h->resolver.ss_family
                          ? kms_addr_format((const struct sockaddr *)&h->resolver, a)
                          : "/etc/resolv.conf's resolver";

    kms_duration_format(o->wait_ms / 1000, w, sizeof w);
    kms_duration_format(o->drain_ms / 1000, d, sizeof d);
    step_line(h, 1, "new-host", 1,
              "would resolve %s at %s, connect to port %u, bind the KMS interface and send "
              "one activation request: count at least %" PRIu32 "%s",
              h->shown, res, o->port, o->required, o->force ? " (or --force)" : "");
    step_line(h, 2, "new-record", 1,
              "would wait up to %s until every name server of the zones of %s serves "
              "_vlmcs._tcp SRV * * %u %s",
              w, list ? list : "?", o->port, h->shown);
    step_line(h, 3, "withdraw", 1,
              "would send cdns, then wait up to %s until no name server serves "
              "_vlmcs._tcp SRV * * %u %s",
              w, h->port, h->target);
    step_line(h, 4, "discovery", 1,
              "would discover as a client in each domain at %s (up to %s): %s listed and "
              "reached, %s not listed",
              res, w, h->shown, h->target);
    step_line(h, 5, "drain", 1, "would keep answering for %s, then send decommission", d);
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
        kms_dname_canon(o->host, KMS_DNAME_ANY, h.host, sizeof h.host) < 0) {
        fprintf(stderr,
                "kmsctl: handover: %s: give the new host's DNS name (its SRV target), not an "
                "address\n",
                o->host ? o->host : "(none)");
        return 2;
    }
    kms_dname_shown(h.host, h.shown, sizeof h.shown);
    if (o->resolver && kms_addr_parse(o->resolver, 53, &h.resolver) < 0) {
        fprintf(stderr, "kmsctl: handover: --resolver %s: expected IP[:PORT]\n", o->resolver);
        return 2;
    }
    if (uv_loop_init(&h.loop) < 0) {
        fprintf(stderr, "kmsctl: handover: cannot create the event loop\n");
        return 3;
    }
    h.t0 = uv_now(&h.loop);
    if (o->json) {
        h.doc = kms_json_object();
        h.steps = kms_json_array();
    }
    rc = read_status(&h, 1);
    if (rc != 0)
        goto out;
    if (kms_dname_eq(h.host, h.target) && o->port == h.port) {
        fprintf(stderr, "kmsctl: handover: %s:%u is this host\n", o->host, o->port);
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
    if ((rc = step_new_host(&h)) != 0)
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
               (double)elapsed_ms(&h) / 1000.0,
               h.changed ? "this host no longer publishes; see the line above"
                         : "nothing was changed, this host is as it was");
    else if (!o->json)
        printf("handover to %s:%u done in %.1f s\n", h.shown, o->port,
               (double)elapsed_ms(&h) / 1000.0);
out:
    if (o->json && h.doc) {
        char *text;
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
        kms_json_set_int(h.doc, "elapsed_ms", (int64_t)elapsed_ms(&h));
        if ((text = kms_json_dump(h.doc, 1)))
            printf("%s\n", text);
        free(text);
    }
    kms_json_free(h.steps);
    kms_json_free(h.doc);
    pub_domain_list_free(&h.doms);
    uv_run(&h.loop, UV_RUN_DEFAULT);
    uv_loop_close(&h.loop);
    return rc;
}
