/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - the host's counters in the Prometheus text exposition format
 * (see kms_host_metrics() in host.h; names follow Prometheus' conventions:
 * kmsd_ prefix, _total for counters, _seconds for times, labels for
 * results, reasons, counted IDs and domains).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/guid.h"
#include "kms/core/host_int.h"

/* A label value with \, " and newline escaped (the exposition format's rule). */
static const char *label(const char *v, char *buf, size_t len)
{
    size_t o = 0;
    for (; *v && o + 3 < len; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n') {
            buf[o++] = '\\';
            buf[o++] = *v == '\n' ? 'n' : *v;
        } else {
            buf[o++] = *v;
        }
    }
    buf[o] = '\0';
    return buf;
}

static void head(kms_wr_t *w, const char *name, const char *type, const char *help)
{
    kms_wr_printf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(kms_wr_t *w, const char *name, const char *type, const char *help, uint64_t v)
{
    head(w, name, type, help);
    kms_wr_printf(w, "%s %" PRIu64 "\n", name, v);
}

int kms_host_metrics(kms_host_t *h, int64_t now, kms_wr_t *w)
{
    const kms_host_stats_t *st = &h->stats;
    char lb[600];

    head(w, "kmsd_info", "gauge", "kmsd's version (the value is 1)");
    kms_wr_printf(w, "kmsd_info{version=\"%s\"} 1\n", KMSDNS_VERSION);
    one(w, "kmsd_start_time_seconds", "gauge", "Unix time kmsd started", (uint64_t)st->started);
    one(w, "kmsd_connections_total", "counter", "TCP connections accepted", st->connections_total);
    one(w, "kmsd_connections_open", "gauge", "TCP connections open now", st->connections_now);
    one(w, "kmsd_connections_rejected_total", "counter",
        "connections refused (max_connections, out of descriptors)", st->connections_rejected);
    head(w, "kmsd_connections_closed_total", "counter",
         "connections kmsd closed by its idle timeout: idle, or a request still incomplete");
    kms_wr_printf(w, "kmsd_connections_closed_total{reason=\"idle\"} %" PRIu64 "\n",
                  st->idle_closed -
                      (st->slow_closed < st->idle_closed ? st->slow_closed : st->idle_closed));
    kms_wr_printf(w, "kmsd_connections_closed_total{reason=\"slow\"} %" PRIu64 "\n",
                  st->slow_closed);
    head(w, "kmsd_activations_total", "counter", "activation requests answered, by result");
    kms_wr_printf(w, "kmsd_activations_total{result=\"ok\"} %" PRIu64 "\n", st->activations_ok);
    kms_wr_printf(w, "kmsd_activations_total{result=\"failed\"} %" PRIu64 "\n",
                  st->activations_failed);
    one(w, "kmsd_requests_malformed_total", "counter", "malformed RPC input or activation requests",
        st->malformed);
    one(w, "kmsd_requests_other_encoding_total", "counter",
        "requests in Microsoft's protected encodings (answered 0x8007000D)", st->other_encodings);

    size_t pools = kms_ledger_npools(h->ledger);
    if (pools) {
        /* two families over the same pools: the count, and the room for it */
        static const struct {
            const char *name, *help;
        } fam[2] = {
            {"kmsd_ledger_clients", "clients counted per KMS counted ID (the activation count)"},
            {"kmsd_ledger_capacity", "clients the ledger keeps per KMS counted ID"},
        };
        for (int f = 0; f < 2; f++) {
            head(w, fam[f].name, "gauge", fam[f].help);
            for (size_t i = 0; i < pools; i++) {
                kms_guid_t g;
                uint32_t cap, cnt;
                char gs[KMS_GUID_STRLEN];
                kms_ledger_pool(h->ledger, i, &g, &cap, &cnt, now);
                kms_wr_printf(w, "%s{kms_counted_id=\"%s\"} %u\n", fam[f].name,
                              kms_guid_format(&g, gs), f ? cap : cnt);
            }
        }
    }
    if (h->n_dns) {
        head(w, "kmsd_dns_published", "gauge",
             "1 when the domain's last DNS run published our record and succeeded (0: it "
             "failed, removed the record, or none ended yet)");
        for (size_t i = 0; i < h->n_dns; i++)
            kms_wr_printf(
                w, "kmsd_dns_published{domain=\"%s\"} %d\n", label(h->dns[i].domain, lb, sizeof lb),
                h->dns[i].time && h->dns[i].status == 0 && strcmp(h->dns[i].op, "publish") == 0);
        head(w, "kmsd_dns_last_success_timestamp_seconds", "gauge",
             "Unix time of the domain's last successful DNS run (0: none)");
        for (size_t i = 0; i < h->n_dns; i++)
            kms_wr_printf(w, "kmsd_dns_last_success_timestamp_seconds{domain=\"%s\"} %lld\n",
                          label(h->dns[i].domain, lb, sizeof lb), (long long)h->dns[i].last_ok);
        head(w, "kmsd_dns_last_failure_timestamp_seconds", "gauge",
             "Unix time of the domain's last failed DNS run (0: none)");
        for (size_t i = 0; i < h->n_dns; i++)
            kms_wr_printf(w, "kmsd_dns_last_failure_timestamp_seconds{domain=\"%s\"} %lld\n",
                          label(h->dns[i].domain, lb, sizeof lb), (long long)h->dns[i].last_error);
    }
    return w->err;
}
