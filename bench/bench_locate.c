/* SPDX-License-Identifier: MIT */
/*
 * bench_locate.c - in-process KMS discoveries per second.
 *
 * bench_locate SERVER DOMAIN SECONDS CONCURRENCY
 *
 * One libuv loop, one DNS engine (dns/query.h), CONCURRENCY discoveries
 * (resolver/locate.h: SRV query for _vlmcs._tcp.DOMAIN., parse with glue,
 * RFC 2782 order; no cache, no probe) kept in flight for SECONDS; prints
 * "discoveries=N seconds=S per_second=R failures=F queries=Q".  Compare
 * with dnsperf's queries per second for the same SRV name on the same
 * server (bench/run-locate does both).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/err.h"
#include "dns/query.h"
#include "resolver/domains.h"
#include "resolver/locate.h"
#include "resolver/outcome.h"

typedef struct {
    uv_loop_t *loop;
    kms_dnsq_t *dns;
    loc_opts_t opts;
    uint64_t done, failures, queries, started_ns, deadline_ns;
    uint64_t done_in_window; /* completed before the deadline */
    unsigned inflight;
    int stopping;
} bench_t;

static void start_one(bench_t *b);

static void on_done(void *ud, int err, loc_result_t *r)
{
    bench_t *b = ud;

    b->inflight--;
    if (err || !r || r->outcome != LOC_HR_OK || r->n_hosts == 0)
        b->failures++;
    else {
        b->done++;
        if (uv_hrtime() <= b->deadline_ns)
            b->done_in_window++;
    }
    if (r)
        b->queries += r->queries;
    loc_result_free(r);
    if (uv_hrtime() < b->deadline_ns)
        start_one(b);
}

static void start_one(bench_t *b)
{
    if (loc_locate_start(b->loop, b->dns, &b->opts, on_done, b) == 0)
        b->inflight++;
    else
        b->failures++;
}

int main(int argc, char **argv)
{
    const char *servers[1];
    kms_dnsq_opts_t qo;
    loc_domain_t dom;
    bench_t b;
    uv_loop_t loop;
    char err[256];
    double secs;
    unsigned conc;
    uint64_t t1;

    if (argc != 5) {
        fprintf(stderr, "usage: bench_locate SERVER DOMAIN SECONDS CONCURRENCY\n");
        return 2;
    }
    /* Keep freed heap instead of returning it to the kernel after every
     * burst (glibc trims the top of the heap past 128 KiB by default, and
     * the brk/page-fault churn cost ~13% of the run): the usual setting of
     * a long-running server; printed so the figures say what was measured. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    fprintf(stderr, "bench_locate: malloc trim threshold 64 MiB, top pad 16 MiB\n");
    servers[0] = argv[1];
    secs = atof(argv[3]);
    conc = (unsigned)atoi(argv[4]);
    if (secs <= 0 || secs > 300 || conc == 0 || conc > 10000)
        return 2;
    memset(&dom, 0, sizeof(dom));
    snprintf(dom.name, sizeof(dom.name), "%s", argv[2]);
    snprintf(dom.qname, sizeof(dom.qname), "_vlmcs._tcp.%s.", argv[2]);
    dom.source = LOC_DOM_EXPLICIT;

    uv_loop_init(&loop);
    memset(&qo, 0, sizeof(qo));
    qo.servers = servers;
    qo.n_servers = 1;
    qo.timeout_ms = 2000;
    qo.tries = 2;
    memset(&b, 0, sizeof(b));
    b.loop = &loop;
    if (kms_dnsq_new(&loop, &qo, &b.dns, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_locate: %s\n", err);
        return 1;
    }
    b.opts.domains = &dom;
    b.opts.n_domains = 1;
    b.opts.seed = 1;
    b.started_ns = uv_hrtime();
    b.deadline_ns = b.started_ns + (uint64_t)(secs * 1e9);
    for (unsigned i = 0; i < conc; i++)
        start_one(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    t1 = uv_hrtime();
    kms_dnsq_stop(b.dns, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    kms_dnsq_free(b.dns);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "bench_locate: loop not closed cleanly\n");
    /* Rate over the measurement window (a straggler that needs a retry after
     * the window does not stretch it); the whole run's length is printed too. */
    printf("discoveries=%llu seconds=%.3f per_second=%.0f failures=%llu queries=%llu "
           "total_seconds=%.3f\n",
           (unsigned long long)b.done_in_window, secs, (double)b.done_in_window / secs,
           (unsigned long long)b.failures, (unsigned long long)b.queries,
           (double)(t1 - b.started_ns) / 1e9);
    return b.failures > b.done / 100 ? 1 : 0;
}
