/* SPDX-License-Identifier: MIT */
/*
 * hostcheck.c - `kmsctl handover`'s knowledge of the two hosts (see
 * handover_int.h): the old one from kmsd's `status --json`, the new one
 * checked as a client would find it (step 1).
 */
#include "fleet/handover_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/err.h"
#include "resolver/client_id.h"
#include "resolver/outcome.h"
#include "resolver/report.h"
#include "rpc/activation.h"

/* ---- kmsd's status -------------------------------------------------------- */

/* The application ID of a product family as status names it. */
static int family_app(const char *family, kms_guid_t *out)
{
    const char *id = !family                             ? NULL
                     : strcmp(family, "windows") == 0    ? KMS_APP_WINDOWS
                     : strcmp(family, "office2010") == 0 ? KMS_APP_OFFICE2010
                     : strcmp(family, "office") == 0     ? KMS_APP_OFFICE
                                                         : NULL;
    return id ? kms_guid_parse(id, out) : KMS_EINVAL;
}

/* The enabled product that serves pool @p id: one that lists it, else one
   of any pool (the first); NULL if none. */
static const kms_json_t *product_for(const kms_json_t *prods, const char *id)
{
    const kms_json_t *any = NULL;

    for (size_t i = 0; i < kms_json_len(prods); i++) {
        const kms_json_t *p = kms_json_at(prods, i), *ids = kms_json_get(p, "kms_ids");

        if (kms_json_bool(kms_json_get(p, "enabled")) != 1)
            continue;
        if (kms_json_len(ids) == 0 && !any)
            any = p;
        for (size_t k = 0; k < kms_json_len(ids); k++) {
            const char *s = kms_json_str(kms_json_at(ids, k));
            if (s && strcasecmp(s, id) == 0)
                return p;
        }
    }
    return any;
}

/* Step 1's checks: every pool the old host counts, asked for with the
   application of the product that serves it, at the threshold its clients
   asked for (a pool's capacity is twice the highest one seen); with no
   pool yet, the Windows 10 client pool at 25. --required overrides. */
static void plan_checks(ho_t *h, const kms_json_t *prods, const kms_json_t *counts)
{
    const fleet_handover_options_t *o = h->o;

    for (size_t i = 0; i < kms_json_len(counts) && h->nchecks < MAX_CHECKS; i++) {
        const kms_json_t *c = kms_json_at(counts, i);
        const char *id = kms_json_str(kms_json_get(c, "kms_counted_id"));
        const kms_json_t *p = id ? product_for(prods, id) : NULL;
        const char *fam = p ? kms_json_str(kms_json_get(p, "family")) : NULL;
        check_t *k = &h->checks[h->nchecks];
        int64_t cap = 0;

        if (!p || family_app(fam, &k->app) < 0 || kms_guid_parse(id, &k->kms_id) < 0)
            continue; /* a pool no product serves any more */
        kms_json_int(kms_json_get(c, "capacity"), &cap);
        k->has_kms_id = 1;
        snprintf(k->family, sizeof k->family, "%s", fam);
        k->required = o->required ? o->required : cap >= 2 ? (uint32_t)(cap / 2) : 1;
        h->nchecks++;
    }
    if (h->nchecks == 0) {
        check_t *k = &h->checks[h->nchecks++];

        kms_guid_parse(KMS_APP_WINDOWS, &k->app);
        snprintf(k->family, sizeof k->family, "windows");
        k->required = o->required ? o->required : 25;
    }
}

/* Where this host listens ("127.0.0.11:1688 [::1]:1688"). */
static void parse_listen(ho_t *h, const char *text)
{
    char buf[1024], *save = NULL;

    snprintf(buf, sizeof buf, "%s", text ? text : "");
    for (char *t = strtok_r(buf, " ", &save); t && h->nlisten < MAX_LISTEN;
         t = strtok_r(NULL, " ", &save))
        if (kms_addr_parse(t, 1688, &h->listen[h->nlisten]) == 0)
            h->nlisten++;
}

/* kmsd's status.  @p first: everything; else only the activation counter.
   0, or the exit code after a message. */
int ho_read_status(ho_t *h, int first)
{
    const fleet_handover_options_t *o = h->o;
    char err[512] = "", *payload = NULL;
    kms_json_t *st = NULL, *set, *rec, *doms;
    int64_t port = 0, ttl = 0;
    const char *target, *srv;
    int rc;

    rc = o->ctl(o->ctl_ud, "status --json", o->ctl_timeout_s, &payload, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "kmsctl: handover: status: %s\n", err);
        goto out;
    }
    rc = 1;
    st = kms_json_parse(payload, err, sizeof err);
    if (kms_json_int(kms_json_get(kms_json_get(st, "stats"), "activations_ok"),
                     &h->activations_ok) < 0)
        h->activations_ok = -1;
    if (!first) {
        rc = h->activations_ok >= 0 ? 0 : 1;
        goto out;
    }
    set = kms_json_get(st, "settings");
    rec = kms_json_get(kms_json_get(st, "dns"), "record");
    doms = kms_json_get(set, "domains");
    target = kms_json_str(kms_json_get(rec, "target"));
    kms_json_int(kms_json_get(rec, "port"), &port);
    kms_json_int(kms_json_get(rec, "ttl"), &ttl);
    if (!st || !set || !rec) {
        fprintf(stderr,
                "kmsctl: handover: kmsd's status does not say what it publishes%s%s "
                "(a kmsd older than this kmsctl?)\n",
                err[0] ? ": " : "", err);
        goto out;
    }
    if (kms_json_bool(kms_json_get(set, "decommissioned")) == 1) {
        fprintf(stderr, "kmsctl: handover: this host is decommissioned: nothing to hand over "
                        "(kmsctl recommission brings it back)\n");
        goto out;
    }
    if (kms_json_bool(kms_json_get(set, "publish")) != 1 || kms_json_len(doms) == 0) {
        fprintf(stderr,
                "kmsctl: handover: this host publishes %s: nothing to hand over "
                "(kmsctl sdns, sdomains)\n",
                kms_json_len(doms) ? "nothing (cdns)" : "in no domain");
        goto out;
    }
    if (!target || !target[0] || port < 1 || port > 65535) {
        fprintf(stderr, "kmsctl: handover: kmsd has not said which record it publishes yet "
                        "(its DNS publishing has not started): try again in a moment\n");
        goto out;
    }
    snprintf(h->target, sizeof h->target, "%s", target);
    h->port = (uint16_t)port;
    h->ttl = ttl > 0 && ttl < 2147483647 ? (uint32_t)ttl : 0;
    srv = kms_json_str(kms_json_get(rec, "server"));
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
            fprintf(stderr, "kmsctl: handover: domain %s from kmsd's status: cannot use it\n",
                    pd.name);
            goto out;
        }
    }
    parse_listen(h, kms_json_str(kms_json_get(kms_json_get(st, "listen"), "addresses")));
    plan_checks(h, kms_json_get(st, "products"), kms_json_get(st, "counts"));
    rc = 0;
out:
    kms_json_free(st);
    free(payload);
    return rc;
}

/* An address of this machine (one it can bind). */
static int is_local(const struct sockaddr *sa)
{
    struct sockaddr_storage ss;
    int fd, ok;

    memcpy(&ss, sa, kms_addr_len(sa));
    kms_addr_set_port((struct sockaddr *)&ss, 0);
    fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, kms_addr_len(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* @p sa is where this host's kmsd listens: a listen address, or a local
   address with the port of a wildcard listener. */
static int is_this_host(const ho_t *h, const struct sockaddr *sa)
{
    char a[KMS_ADDRSTRLEN], b[KMS_ADDRSTRLEN];

    for (size_t i = 0; i < h->nlisten; i++) {
        const struct sockaddr *l = (const struct sockaddr *)&h->listen[i];
        int wild;

        if (l->sa_family != sa->sa_family || kms_addr_port(l) != kms_addr_port(sa))
            continue;
        kms_addr_format_ip(l, a);
        wild = strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0;
        if (wild ? is_local(sa) : strcmp(a, kms_addr_format_ip(sa, b)) == 0)
            return 1;
    }
    return 0;
}

typedef struct {
    int done;
    loc_probe_result_t r;
} probe_wait_t;

static void on_probed(void *ud, const loc_probe_result_t *r)
{
    probe_wait_t *w = ud;

    w->done = 1;
    w->r = *r;
}

/* One activation check at the address that answered: 0 ok (or below the
   threshold with --force), 1 failed. */
static int check_one(ho_t *h, const char *hp, const check_t *k, const kms_guid_t *cid)
{
    const fleet_handover_options_t *o = h->o;
    char hr[32], g[KMS_GUID_STRLEN], pool[64];
    loc_act_check_t c = {k->required, cid, &k->app, k->has_kms_id ? &k->kms_id : NULL};
    probe_wait_t w = {0};
    const loc_probe_result_t *p = &w.r;
    int rc;

    snprintf(pool, sizeof pool, "%s pool %s", k->family,
             k->has_kms_id ? kms_guid_format(&k->kms_id, g) : "(Windows 10 client)");
    rc = loc_probe_start_check(&h->loop, (struct sockaddr *)&h->answered, o->probe_timeout_ms, &c,
                               on_probed, &w);
    if (rc == 0)
        uv_run(&h->loop, UV_RUN_DEFAULT);
    if (rc < 0 || !w.done) {
        FAILED(h, 1, "new-host", "%s: activation check (%s): %s", hp, pool, kms_strerror(rc));
        return 1;
    }
    if (p->state != LOC_PROBE_OK) {
        FAILED(h, 1, "new-host", "%s: %s at %s during the activation check (%s)", hp,
               loc_probe_state_name(p->state), p->addr, pool);
        return 1;
    }
    if (!p->activation) {
        FAILED(h, 1, "new-host",
               "%s answered the RPC bind at %s, but not an activation request in kmsdns's "
               "encoding (%s): a Windows KMS host or another implementation; hand over by "
               "hand (README: Migration)",
               hp, p->addr, loc_hr_format(p->hr, hr));
        return 1;
    }
    if (p->act_status != 0) {
        FAILED(h, 1, "new-host",
               "%s at %s refused the activation check for the %s with %s: install and enable "
               "that product there (kmsctl ipk, ato) and try again",
               hp, p->addr, pool, loc_hr_format(p->act_status, hr));
        return 1;
    }
    if (p->current_count < k->required) {
        ho_step_line(h, 1, "new-host", o->force ? "ok" : "FAILED",
                     "%s at %s: its count in the %s is %" PRIu32 ", below %" PRIu32
                     " (0xC004F038: those clients are not activated there yet)%s",
                     hp, p->addr, pool, p->current_count, k->required,
                     o->force ? "; going on (--force): keep this host's drain long enough"
                              : "; this host must keep serving until the new one can: try again "
                                "later, or --force");
        return o->force ? 0 : 1;
    }
    OK(h, 1, "new-host",
       "%s answered at %s (TCP, RPC bind, activation check in %" PRIu64
       " ms); its count in the %s is %" PRIu32 ", meets %" PRIu32,
       hp, p->addr, p->ms, pool, p->current_count, k->required);
    return 0;
}

int ho_step_new_host(ho_t *h)
{
    const fleet_handover_options_t *o = h->o;
    char hp[KMS_DNS_NAMELEN + 8], hr[32], a[KMS_ADDRSTRLEN];
    loc_wait_t w = {0};
    kms_guid_t cid;
    loc_cid_source_t src;
    kms_dnsq_t *q;
    loc_opts_t lo;
    int rc, failed = 1;

    if (ho_dnsq_for_clients(h, &q) != 0)
        return 1;
    snprintf(hp, sizeof hp, "%s:%u", h->shown, o->port);
    memset(&lo, 0, sizeof lo);
    lo.manual_host = hp;
    lo.probe = 1; /* resolved as a client resolves it, bound as a client binds */
    lo.probe_timeout_ms = o->probe_timeout_ms;
    rc = loc_locate_start(&h->loop, q, &lo, ho_on_located, &w);
    if (rc == 0)
        uv_run(&h->loop, UV_RUN_DEFAULT);
    ho_dnsq_done(h, q);
    const loc_result_t *r = w.res;
    const loc_host_t *x = r && r->n_hosts ? &r->hosts[0] : NULL;
    const loc_probe_result_t *p = x ? &x->probe : NULL;
    if (rc < 0 || w.err < 0 || !r) {
        FAILED(h, 1, "new-host", "%s: %s", hp, kms_strerror(rc < 0 ? rc : w.err));
    } else if (!x || x->n_addrs == 0) {
        FAILED(h, 1, "new-host",
               "%s: the name does not resolve at %s (%s): give the new host's DNS name as "
               "clients resolve it",
               hp, h->resolver.ss_family ? "the resolver" : "/etc/resolv.conf's resolvers",
               kms_strerror(x && x->resolve_status ? x->resolve_status : KMS_ENOENT));
    } else if (!x->probed || p->state != LOC_PROBE_OK) {
        FAILED(h, 1, "new-host", "%s: %s at %s (%s): %s", hp,
               x->probed ? loc_probe_state_name(p->state) : "not probed",
               x->probed ? p->addr : kms_addr_format(&x->addrs[0].sa, a),
               loc_hr_format(x->probed ? p->hr : LOC_HR_RPC_UNAVAIL, hr),
               x->probed && p->state == LOC_PROBE_REJECTED
                   ? "something listens there but refuses the KMS interface: not a KMS host"
                   : "start kmsd on the new host, or check its address, port and firewall");
    } else if (is_this_host(h, &x->addrs[x->answered_addr].sa)) {
        FAILED(h, 1, "new-host",
               "%s answered at %s, where this host's kmsd listens: name the new host", hp, p->addr);
    } else {
        memcpy(&h->answered, &x->addrs[x->answered_addr],
               kms_addr_len(&x->addrs[x->answered_addr].sa));
        failed = 0;
    }
    loc_result_free(w.res);
    if (failed)
        return 1;
    /* the checks count this machine once per pool, as kms-locate's does */
    char *cid_path = loc_client_id_path(NULL);
    loc_client_id(NULL, cid_path, &cid, &src);
    free(cid_path);
    for (size_t i = 0; i < h->nchecks; i++)
        failed |= check_one(h, hp, &h->checks[i], &cid);
    return failed;
}
