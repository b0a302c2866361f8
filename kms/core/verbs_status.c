/* SPDX-License-Identifier: MIT */
/*
 * verbs_status.c - status, as text lines or one JSON document (command_int.h).
 */
#include "kms/core/command_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

static const char *src(const kms_host_t *h, unsigned bit)
{
    return (h->ovr.set & bit) ? "control" : "config";
}

/* "dns": {"publish": b, "running": b, "domains": [{domain, op, ok, time, message, error}]} */
static int dns_json(const kms_host_t *h, kms_json_t *o)
{
    kms_settings_t s;
    kms_json_t *dns = kms_json_object(), *arr = kms_json_array();
    int e = 0;

    kms_host_settings(h, &s);
    if (!dns || !arr)
        goto fail;
    for (size_t i = 0; i < h->n_dns; i++) {
        const kms_dns_state_t *d = &h->dns[i];
        kms_json_t *j = kms_json_object();

        e |= !j || kms_json_set_str(j, "domain", d->domain) < 0;
        e |= !j || kms_json_set_str(j, "op", d->op[0] ? d->op : NULL) < 0;
        e |= !j || kms_json_set_str(j, "result",
                                    d->time == 0     ? "pending"
                                    : d->status == 0 ? "ok"
                                                     : "error") < 0;
        e |= !j || kms_json_set_bool(j, "ok", d->time != 0 && d->status == 0) < 0;
        e |= !j || kms_json_set_int(j, "time", d->time) < 0;
        e |= !j || kms_json_set_str(j, "message", d->message) < 0;
        e |= !j || kms_json_set_str(j, "error",
                                    d->time && d->status ? kms_err_name(d->status) : NULL) < 0;
        if (e || kms_json_append(arr, j) < 0) {
            kms_json_free(j);
            goto fail;
        }
    }
    const kms_dns_auth_t *a = &h->dns_auth;
    kms_json_t *auth = kms_json_object();
    int gss = strcmp(a->method, "gss-tsig") == 0;
    e |= !auth || kms_json_set_str(auth, "method", a->method[0] ? a->method : "none") < 0;
    e |=
        !auth || kms_json_set_str(auth, gss ? "principal" : "key", a->name[0] ? a->name : NULL) < 0;
    e |= !auth || kms_json_set_str(auth, "algorithm", a->algorithm[0] ? a->algorithm : NULL) < 0;
    if (gss) {
        e |= !auth || kms_json_set_int(auth, "credentials_expire", a->creds_expiry) < 0;
        e |= !auth || kms_json_set_int(auth, "key_expire", a->key_expiry) < 0;
    }
    if (e || kms_json_set(dns, "auth", auth) < 0) {
        kms_json_free(auth);
        goto fail;
    }
    const kms_dns_record_t *rec = &h->dns_record;
    kms_json_t *rj = kms_json_object();
    e |= !rj || kms_json_set_str(rj, "target", rec->target[0] ? rec->target : NULL) < 0;
    e |= !rj || kms_json_set_int(rj, "port", rec->port) < 0;
    e |= !rj || kms_json_set_int(rj, "ttl", rec->ttl) < 0;
    e |= !rj || kms_json_set_str(rj, "server", rec->server[0] ? rec->server : NULL) < 0;
    if (e || kms_json_set(dns, "record", rj) < 0) {
        kms_json_free(rj);
        goto fail;
    }
    const kms_dns_transport_t *tr = &h->dns_transport;
    kms_json_t *tj = kms_json_object();
    e |= !tj || kms_json_set_bool(tj, "tls", tr->tls) < 0;
    e |= !tj || kms_json_set_str(tj, "name", tr->tls && tr->name[0] ? tr->name : NULL) < 0;
    e |= !tj || kms_json_set_str(tj, "ca_file", tr->tls && tr->ca_file[0] ? tr->ca_file : NULL) < 0;
    e |= !tj ||
         kms_json_set_str(tj, "cert_file", tr->tls && tr->cert_file[0] ? tr->cert_file : NULL) < 0;
    if (e || kms_json_set(dns, "transport", tj) < 0) {
        kms_json_free(tj);
        goto fail;
    }
    e |= kms_json_set_bool(dns, "publish", s.publish && !s.decommissioned) < 0;
    e |= kms_json_set_bool(dns, "running", h->dns_running) < 0;
    if (e || kms_json_set(dns, "domains", arr) < 0)
        goto fail;
    arr = NULL;
    if (kms_json_set(o, "dns", dns) < 0)
        goto fail;
    return 0;
fail:
    kms_json_free(arr);
    kms_json_free(dns);
    return KMS_ENOMEM;
}

static int status_json(kms_cmd_t *c, const kms_settings_t *s, int64_t now)
{
    kms_host_t *h = c->h;
    const kms_host_stats_t *st = &h->stats;
    kms_json_t *o = kms_json_object(), *set = kms_json_object(), *doms = kms_json_array();
    kms_json_t *prods = kms_json_array(), *counts = kms_json_array(), *stats = kms_json_object();
    kms_json_t *ctl = kms_json_array();
    static const struct {
        const char *name;
        unsigned bit;
    } ovr_names[] = {{"port", KMS_OVR_PORT},
                     {"activation_interval", KMS_OVR_ACT_INTERVAL},
                     {"renewal_interval", KMS_OVR_REN_INTERVAL},
                     {"publish", KMS_OVR_PUBLISH},
                     {"priority", KMS_OVR_PRIORITY},
                     {"weight", KMS_OVR_WEIGHT},
                     {"domains", KMS_OVR_DOMAINS}};
    int e = 0;

    if (!o || !set || !doms || !prods || !counts || !stats || !ctl)
        goto fail;
    for (size_t i = 0; i < s->domains->n; i++) {
        const pub_domain_t *pd = &s->domains->v[i];
        kms_json_t *d = kms_json_object();

        e |= !d || kms_json_set_str(d, "name", pd->name) < 0;
        e |= !d ||
             kms_json_set_int(d, "priority", pd->priority >= 0 ? pd->priority : s->priority) < 0;
        e |= !d || kms_json_set_int(d, "weight", pd->weight >= 0 ? pd->weight : s->weight) < 0;
        if (e || kms_json_append(doms, d) < 0) {
            kms_json_free(d);
            goto fail;
        }
    }
    for (size_t i = 0; i < sizeof ovr_names / sizeof ovr_names[0]; i++) {
        if ((h->ovr.set & ovr_names[i].bit) && kms_json_append_str(ctl, ovr_names[i].name) < 0)
            goto fail;
    }
    e |= kms_json_set_int(set, "port", s->port) < 0;
    if (h->listen_source[0]) {
        kms_json_t *l = kms_json_object();
        e |= !l || kms_json_set_str(l, "addresses", h->listen_addrs) < 0;
        e |= !l || kms_json_set_str(l, "source", h->listen_source) < 0;
        if (e || kms_json_set(o, "listen", l) < 0) {
            kms_json_free(l);
            goto fail;
        }
    }
    e |= kms_json_set_int(set, "activation_interval", s->activation_interval) < 0;
    e |= kms_json_set_int(set, "renewal_interval", s->renewal_interval) < 0;
    e |= kms_json_set_bool(set, "publish", s->publish) < 0;
    e |= kms_json_set_int(set, "priority", s->priority) < 0;
    e |= kms_json_set_int(set, "weight", s->weight) < 0;
    e |= kms_json_set_bool(set, "decommissioned", s->decommissioned) < 0;
    if (e || kms_json_set(set, "domains", doms) < 0)
        goto fail;
    doms = NULL;
    if (kms_json_set(set, "set_by_control", ctl) < 0)
        goto fail;
    ctl = NULL;
    for (size_t i = 0; i < h->inv.n; i++) {
        kms_json_t *p = cmd_product_json(&h->inv.items[i]);

        if (!p || kms_json_append(prods, p) < 0) {
            kms_json_free(p);
            goto fail;
        }
    }
    for (size_t i = 0; i < kms_ledger_npools(h->ledger); i++) {
        kms_guid_t g;
        uint32_t cap, cnt;
        char gs[KMS_GUID_STRLEN];
        kms_json_t *p = kms_json_object();

        kms_ledger_pool(h->ledger, i, &g, &cap, &cnt, now);
        if (!p || kms_json_set_str(p, "kms_counted_id", kms_guid_format(&g, gs)) < 0 ||
            kms_json_set_int(p, "count", cnt) < 0 || kms_json_set_int(p, "capacity", cap) < 0 ||
            kms_json_append(counts, p) < 0) {
            kms_json_free(p);
            goto fail;
        }
    }
    if (dns_json(h, o) < 0)
        goto fail;
    e |= kms_json_set_int(stats, "connections_total", (int64_t)st->connections_total) < 0;
    e |= kms_json_set_int(stats, "connections_now", (int64_t)st->connections_now) < 0;
    e |= kms_json_set_int(stats, "connections_rejected", (int64_t)st->connections_rejected) < 0;
    e |= kms_json_set_int(stats, "activations_ok", (int64_t)st->activations_ok) < 0;
    e |= kms_json_set_int(stats, "activations_failed", (int64_t)st->activations_failed) < 0;
    e |= kms_json_set_int(stats, "other_encodings", (int64_t)st->other_encodings) < 0;
    e |= kms_json_set_int(stats, "malformed", (int64_t)st->malformed) < 0;
    e |= kms_json_set_int(stats, "idle_closed", (int64_t)st->idle_closed) < 0;
    e |= kms_json_set_str(o, "version", KMSDNS_VERSION) < 0;
    e |= kms_json_set_int(o, "uptime", now - (int64_t)st->started) < 0;
    if (e || kms_json_set(o, "settings", set) < 0)
        goto fail;
    set = NULL;
    if (kms_json_set(o, "products", prods) < 0)
        goto fail;
    prods = NULL;
    if (kms_json_set(o, "counts", counts) < 0)
        goto fail;
    counts = NULL;
    if (kms_json_set(o, "stats", stats) < 0)
        goto fail;
    return cmd_json(c, o);

fail:
    kms_json_free(ctl);
    kms_json_free(doms);
    kms_json_free(set);
    kms_json_free(prods);
    kms_json_free(counts);
    kms_json_free(stats);
    kms_json_free(o);
    return cmd_fail(c, KMS_ENOMEM, "out of memory");
}

int cmd_verb_status(kms_cmd_t *c)
{
    kms_host_t *h = c->h;
    const kms_host_stats_t *st = &h->stats;
    kms_settings_t s;
    int64_t now = (int64_t)time(NULL);
    char *doms;

    if (c->ntok != 0)
        return cmd_usage(c);
    kms_host_settings(h, &s);
    if (c->json)
        return status_json(c, &s, now);
    doms = pub_domains_format(s.domains);
    if (!doms)
        return cmd_fail(c, KMS_ENOMEM, "out of memory");
    cmd_line(c, "version %s", KMSDNS_VERSION);
    cmd_line(c, "uptime %lld", (long long)(now - (int64_t)st->started));
    cmd_line(c, "port %u source=%s", s.port, src(h, KMS_OVR_PORT));
    if (h->listen_source[0])
        cmd_line(c, "listen %s source=%s", h->listen_addrs, h->listen_source);
    cmd_line(c, "activation_interval %u source=%s", s.activation_interval,
             src(h, KMS_OVR_ACT_INTERVAL));
    cmd_line(c, "renewal_interval %u source=%s", s.renewal_interval, src(h, KMS_OVR_REN_INTERVAL));
    cmd_line(c, "publish %s source=%s", s.publish ? "yes" : "no",
             s.decommissioned ? "decommissioned" : src(h, KMS_OVR_PUBLISH));
    cmd_line(c, "priority %u source=%s", s.priority, src(h, KMS_OVR_PRIORITY));
    cmd_line(c, "weight %u source=%s", s.weight, src(h, KMS_OVR_WEIGHT));
    cmd_line(c, "domains %s source=%s", s.domains->n ? doms : "-", src(h, KMS_OVR_DOMAINS));
    free(doms);
    cmd_line(c, "decommissioned %s", s.decommissioned ? "yes" : "no");
    cmd_line(c, "dns publishing=%s running=%s", s.publish && !s.decommissioned ? "yes" : "no",
             h->dns_running ? "yes" : "no");
    {
        const kms_dns_auth_t *a = &h->dns_auth;
        if (strcmp(a->method, "gss-tsig") == 0)
            cmd_line(c, "dns_auth gss-tsig principal=%s credentials_expire=%lld key_expire=%lld",
                     a->name[0] ? a->name : "-", (long long)a->creds_expiry,
                     (long long)a->key_expiry);
        else if (strcmp(a->method, "tsig") == 0)
            cmd_line(c, "dns_auth tsig key=%s algorithm=%s", a->name, a->algorithm);
        else
            cmd_line(c, "dns_auth none");
    }
    if (h->dns_transport.tls)
        cmd_line(c, "dns_transport tls name=%s ca=%s cert=%s",
                 h->dns_transport.name[0] ? h->dns_transport.name : "primary",
                 h->dns_transport.ca_file[0] ? h->dns_transport.ca_file : "system",
                 h->dns_transport.cert_file[0] ? h->dns_transport.cert_file : "-");
    else
        cmd_line(c, "dns_transport dns");
    if (h->dns_record.target[0])
        cmd_line(c, "dns_record target=%s port=%u ttl=%lu server=%s", h->dns_record.target,
                 h->dns_record.port, (unsigned long)h->dns_record.ttl,
                 h->dns_record.server[0] ? h->dns_record.server : "primary");
    for (size_t i = 0; i < h->n_dns; i++) {
        const kms_dns_state_t *d = &h->dns[i];

        if (d->time == 0)
            cmd_line(c, "dns_domain %s pending", d->domain);
        else
            cmd_line(c, "dns_domain %s %s %s time=%lld %s", d->domain, d->op,
                     d->status == 0 ? "ok" : "error", (long long)d->time, d->message);
    }
    for (size_t i = 0; i < h->inv.n; i++)
        cmd_product_line(c, &h->inv.items[i]);
    for (size_t i = 0; i < kms_ledger_npools(h->ledger); i++) {
        kms_guid_t g;
        uint32_t cap, cnt;
        char gs[KMS_GUID_STRLEN];

        kms_ledger_pool(h->ledger, i, &g, &cap, &cnt, now);
        cmd_line(c, "count %s current=%u capacity=%u", kms_guid_format(&g, gs), cnt, cap);
    }
    cmd_line(c,
             "stats connections_total=%llu connections_now=%llu connections_rejected=%llu "
             "activations_ok=%llu activations_failed=%llu other_encodings=%llu malformed=%llu "
             "idle_closed=%llu",
             (unsigned long long)st->connections_total, (unsigned long long)st->connections_now,
             (unsigned long long)st->connections_rejected, (unsigned long long)st->activations_ok,
             (unsigned long long)st->activations_failed, (unsigned long long)st->other_encodings,
             (unsigned long long)st->malformed, (unsigned long long)st->idle_closed);
    return 0;
}

int cmd_verb_metrics(kms_cmd_t *c)
{
    kms_wr_t w;
    int rc;

    if (c->ntok != 0)
        return cmd_usage(c);
    kms_wr_init(&w);
    rc = kms_host_metrics(c->h, (int64_t)time(NULL), &w);
    if (rc < 0) {
        kms_wr_free(&w);
        return cmd_fail(c, rc, "out of memory");
    }
    /* one reply line per exposition line */
    for (size_t i = 0, start = 0; i < w.len; i++) {
        if (w.buf[i] != '\n')
            continue;
        cmd_line(c, "%.*s", (int)(i - start), (const char *)w.buf + start);
        start = i + 1;
    }
    kms_wr_free(&w);
    return 0;
}
