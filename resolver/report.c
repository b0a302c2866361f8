/* SPDX-License-Identifier: MIT */
/*
 * report.c - text and JSON views of a discovery (see report.h).
 */
#include "resolver/report.h"

#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/json.h"
#include "resolver/outcome.h"

char *loc_hr_format(uint32_t hr, char *buf)
{
    snprintf(buf, 11, "0x%08X", hr);
    return buf;
}

static const char *host_source(loc_host_source_t s)
{
    return s == LOC_HOST_MANUAL ? "manual" : s == LOC_HOST_CACHE ? "cache" : "srv";
}

static const char *addrs_from(loc_addrs_from_t a)
{
    switch (a) {
    case LOC_ADDRS_LITERAL:
        return "literal";
    case LOC_ADDRS_ADDITIONAL:
        return "additional";
    case LOC_ADDRS_RESOLVED:
        return "resolved";
    case LOC_ADDRS_CACHE:
        return "cache";
    default:
        return "none";
    }
}

static const char *cache_state(loc_cache_state_t c)
{
    static const char *names[] = {"off", "empty", "hit", "corrupt"};
    return names[c];
}

static const char *domain_result(const loc_domain_result_t *d)
{
    if (!d->queried)
        return "not queried";
    if (d->no_service)
        return "service not available (single SRV target \".\")";
    if (d->status == 0)
        return "records";
    return kms_strerror(d->status);
}

/* 1 when a host of the list came from DNS (an SRV record). */
static int listed_in_dns(const loc_result_t *r)
{
    for (size_t i = 0; i < r->n_hosts; i++)
        if (r->hosts[i].source == LOC_HOST_SRV || r->hosts[i].also_srv)
            return 1;
    return 0;
}

void loc_report_text(FILE *f, const loc_result_t *r, int explain)
{
    char hr[11], why[512], a[KMS_ADDRSTRLEN], g[KMS_GUID_STRLEN];

    if (r->n_domains > 0 || explain) {
        for (size_t i = 0; i < r->n_domains; i++) {
            const loc_domain_result_t *d = &r->domains[i];
            fprintf(f, "domain %s (%s): %s", d->dom.name, loc_dom_source_name(d->dom.source),
                    domain_result(d));
            if (d->queried && d->status == 0)
                fprintf(f, ", %zu SRV record%s at %s", d->n_records, d->n_records == 1 ? "" : "s",
                        loc_chain_last(&d->chain, d->dom.qname));
            else if (d->queried)
                fprintf(f, " [%s] at %s", loc_hr_format(d->hr, hr),
                        loc_chain_last(&d->chain, d->dom.qname));
            if (explain && d->chain.n) {
                fprintf(f, " (CNAME %s", d->dom.qname);
                for (size_t c = 0; c < d->chain.n; c++)
                    fprintf(f, " -> %s", d->chain.name[c]);
                fputc(')', f);
            }
            fputc('\n', f);
        }
    }
    if (explain && r->cache == LOC_CACHE_CORRUPT)
        fprintf(f, "host cache: unreadable, ignored\n");
    if (explain && r->dns_skipped)
        fprintf(f, "DNS not queried: the cached host answered (a client asks DNS only when "
                   "it fails; --all lists every host, --no-cache ignores the cache)\n");
    for (size_t i = 0; i < r->n_hosts; i++) {
        const loc_host_t *h = &r->hosts[i];
        fprintf(f, "%zu. %s:%u", i + 1, h->target, h->port);
        if (h->source == LOC_HOST_SRV || h->also_srv)
            fprintf(f, " priority %u weight %u", h->priority, h->weight);
        else
            fprintf(f, " (%s)", h->source == LOC_HOST_MANUAL ? "manual" : "cached");
        fputs(" addresses", f);
        if (h->n_addrs == 0)
            fprintf(f, " none (%s)",
                    h->resolve_status ? kms_strerror(h->resolve_status) : "not resolved");
        for (size_t k = 0; k < h->n_addrs; k++)
            fprintf(f, "%s%s", k ? "," : " ", kms_addr_format_ip(&h->addrs[k].sa, a));
        if (h->n_addrs && h->addrs_from == LOC_ADDRS_ADDITIONAL)
            fputs(h->glue_completed ? " (from the additional section, which lacked a family: "
                                      "looked up too)"
                                    : " (from the additional section)",
                  f);
        if (h->n_addrs && h->addrs_from == LOC_ADDRS_CACHE)
            fputs(" (remembered in the host cache)", f);
        if (h->probed)
            fprintf(f, " probe: %s [%s] %s%s", loc_probe_state_name(h->probe.state),
                    loc_hr_format(h->probe.hr, hr), h->probe.addr,
                    h->probe.again ? " (not probed again: it failed earlier in this run)" : "");
        if (h->probed && h->probe.activation)
            fprintf(f, " activation: status 0x%08X, count %u (client needs %u), client %s",
                    h->probe.act_status, h->probe.current_count, h->probe.required,
                    kms_guid_format(&h->probe.client_id, g));
        fputc('\n', f);
        if (explain)
            fprintf(f, "   why: %s\n", loc_host_explain(r, i, why, sizeof(why)));
    }
    fprintf(f, "outcome: %s %s\n", loc_hr_format(r->outcome, hr), loc_hr_text(r->outcome));
    if (explain && r->outcome == LOC_HR_NO_HOST && r->n_hosts > 0)
        fprintf(f, "   every listed host failed the probe (0x800706BA: RPC server unavailable%s)\n",
                listed_in_dns(r) ? " - a host listed in DNS that does not answer is often a "
                                   "stale record"
                                 : "");
    if (explain && r->outcome == LOC_HR_RPC_UNAVAIL && r->n_hosts > 0 &&
        r->hosts[0].source == LOC_HOST_MANUAL)
        fprintf(f, "   the manual KMS host did not answer the probe; with a manual host the "
                   "client does not look for another one in DNS\n");
    if (explain && r->outcome == LOC_HR_NO_HOST && r->n_hosts == 0 && r->n_domains == 0)
        fprintf(f, "   no DNS domain to search: no primary DNS suffix, no search list "
                   "(use --domain, --lookup-domain or --kms)\n");
}

char *loc_report_json(const loc_result_t *r, int explain)
{
    kms_json_t *o = kms_json_object(), *doms = kms_json_array(), *hosts = kms_json_array();
    char hr[11], why[512], a[KMS_ADDRSTRLEN], *text = NULL, *line = NULL;

    if (!o || !doms || !hosts)
        goto done;
    kms_json_set_str(o, "outcome", loc_hr_format(r->outcome, hr));
    kms_json_set_str(o, "outcome_text", loc_hr_text(r->outcome));
    kms_json_set_int(o, "exit", loc_hr_exit(r->outcome));
    kms_json_set_int(o, "queries", (int64_t)r->queries);
    kms_json_set_int(o, "seed", (int64_t)(r->seed & 0x7fffffffffffffffull));
    kms_json_set_str(o, "cache", cache_state(r->cache));
    kms_json_set_bool(o, "dns_skipped", r->dns_skipped);
    for (size_t i = 0; i < r->n_domains; i++) {
        const loc_domain_result_t *d = &r->domains[i];
        kms_json_t *x = kms_json_object();
        if (!x)
            goto done;
        kms_json_set_str(x, "name", d->dom.name);
        kms_json_set_str(x, "query", d->dom.qname);
        kms_json_set_str(x, "source", loc_dom_source_name(d->dom.source));
        kms_json_set_str(x, "result", domain_result(d));
        kms_json_set_str(x, "outcome", d->queried ? loc_hr_format(d->hr, hr) : NULL);
        kms_json_set_int(x, "records", (int64_t)d->n_records);
        if (d->chain.n) {
            kms_json_t *ch = kms_json_array();

            for (size_t c = 0; ch && c < d->chain.n; c++)
                kms_json_append_str(ch, d->chain.name[c]);
            kms_json_set(x, "cname_chain", ch);
        }
        kms_json_append(doms, x);
    }
    for (size_t i = 0; i < r->n_hosts; i++) {
        const loc_host_t *h = &r->hosts[i];
        kms_json_t *x = kms_json_object(), *al = kms_json_array();
        if (!x || !al) {
            kms_json_free(x);
            kms_json_free(al);
            goto done;
        }
        kms_json_set_str(x, "target", h->target);
        kms_json_set_int(x, "port", h->port);
        kms_json_set_int(x, "priority", h->priority);
        kms_json_set_int(x, "weight", h->weight);
        kms_json_set_str(x, "source", host_source(h->source));
        for (size_t k = 0; k < h->n_addrs; k++)
            kms_json_append_str(al, kms_addr_format_ip(&h->addrs[k].sa, a));
        kms_json_set(x, "addresses", al);
        kms_json_set_str(x, "addresses_from", addrs_from(h->addrs_from));
        if (h->glue_completed)
            kms_json_set_bool(x, "glue_completed", 1);
        if (h->source == LOC_HOST_SRV) {
            kms_json_set_int(x, "pick", (int64_t)h->pick.pick);
            kms_json_set_int(x, "candidates", (int64_t)h->pick.candidates);
            kms_json_set_int(x, "weight_total", h->pick.total);
        }
        if (explain)
            kms_json_set_str(x, "why", loc_host_explain(r, i, why, sizeof(why)));
        if (h->probed) {
            kms_json_t *p = kms_json_object();
            if (!p) {
                kms_json_free(x);
                goto done;
            }
            kms_json_set_str(p, "result", loc_probe_state_name(h->probe.state));
            kms_json_set_bool(p, "answered", h->probe.state == LOC_PROBE_OK);
            kms_json_set_str(p, "outcome", loc_hr_format(h->probe.hr, hr));
            kms_json_set_str(p, "address", h->probe.addr[0] ? h->probe.addr : NULL);
            kms_json_set_int(p, "ms", (int64_t)h->probe.ms);
            if (h->probe.again)
                kms_json_set_bool(p, "again", 1); /* not probed: failed earlier in this run */
            if (h->probe.activation) {
                kms_json_set_str(p, "activation_status", loc_hr_format(h->probe.act_status, hr));
                kms_json_set_int(p, "current_count", h->probe.current_count);
                kms_json_set_int(p, "required_count", h->probe.required);
                kms_json_set_str(p, "client_machine_id", kms_guid_format(&h->probe.client_id, a));
            }
            kms_json_set(x, "probe", p);
        }
        kms_json_append(hosts, x);
    }
    kms_json_set(o, "domains", doms);
    kms_json_set(o, "hosts", hosts);
    doms = hosts = NULL;
    if (r->answered >= 0) {
        char hp[KMS_DNS_NAMELEN + 8];
        snprintf(hp, sizeof(hp), "%s:%u", r->hosts[r->answered].target, r->hosts[r->answered].port);
        kms_json_set_str(o, "answered", hp);
    } else {
        kms_json_set_str(o, "answered", NULL);
    }
    text = kms_json_dump(o, 0);
    if (text) {
        size_t n = strlen(text);
        line = malloc(n + 2);
        if (line) {
            memcpy(line, text, n);
            line[n] = '\n';
            line[n + 1] = '\0';
        }
    }
done:
    kms_json_free(doms);
    kms_json_free(hosts);
    kms_json_free(o);
    free(text);
    return line;
}
