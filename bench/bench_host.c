/* SPDX-License-Identifier: MIT */
/*
 * bench_host.c - load generator for a running kmsd (loopback only).
 *
 *   bench_host exchange --port P [--host 127.0.0.1] [--conns 64] [--seconds 10]
 *                       [--keepalive] [--requests-per-conn 100] [--sources N]
 *   bench_host idle --port P [--conns 10000] [--pid PID] [--hold 2]
 *
 * exchange: N concurrent clients, each repeating connect, bind, activation
 * request, close (or, with --keepalive, one bind then requests back to back)
 * for a bounded time; prints exchanges/s and p50/p99 latency (one exchange =
 * bind + request, or one request in keep-alive mode).  --sources N spreads the
 * clients over the source addresses 127.0.0.2 .. 127.0.0.(N+1), as clients of
 * N machines (IPv4 only; default 0: every client from the kernel's choice).
 * idle: opens N connections that send nothing, then reads VmRSS of --pid from
 * /proc (raising RLIMIT_NOFILE as far as the hard limit allows).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/guid.h"
#include "base/wire.h"
#include "rpc/activation.h"
#include "rpc/pdu.h"

#define MAX_LAT (4u << 20)
#define N_REQ   256

typedef struct client client_t;

typedef struct {
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    int keepalive;
    unsigned per_conn;
    uint64_t deadline_ms;
    uint64_t exchanges, failures, connects, not_ok;
    double *lat;
    size_t n_lat;
    uint8_t *bind;
    size_t bind_len;
    uint8_t *req[N_REQ]; /* requests with distinct client machine IDs */
    size_t req_len[N_REQ];
    unsigned next_req;
    unsigned sources; /* IPv4 client source addresses 127.0.0.2 .. (0 = let the kernel pick) */
    unsigned next_src;
    unsigned active;
    int stopping;
} bench_t;

struct client {
    uv_tcp_t tcp;
    uv_connect_t creq;
    bench_t *b;
    uint8_t buf[8192];
    size_t have;
    int stage; /* 0 bind sent, 1 request sent */
    unsigned done_on_conn;
    uint64_t t0;
    int closing;
};

static void start_client(client_t *c);

static void record(bench_t *b, uint64_t t0)
{
    if (b->n_lat < MAX_LAT)
        b->lat[b->n_lat++] = (double)(uv_hrtime() - t0) / 1e3; /* microseconds */
    b->exchanges++;
}

static void on_closed(uv_handle_t *h)
{
    client_t *c = h->data;
    bench_t *b = c->b;

    if (!b->stopping && uv_now(b->loop) < b->deadline_ms) {
        start_client(c);
        return;
    }
    b->active--;
    free(c);
}

static void client_close(client_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void fail(client_t *c)
{
    c->b->failures++;
    client_close(c);
}

static void on_write(uv_write_t *w, int status)
{
    free(w);
}

static int send_bytes(client_t *c, const uint8_t *p, size_t n)
{
    uv_buf_t bf = uv_buf_init((char *)p, (unsigned)n);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &bf, 1);
    uv_write_t *w;

    if (r == (int)n)
        return 0;
    if (r < 0 && r != UV_EAGAIN)
        return r;
    if (r < 0)
        r = 0;
    /* The PDUs are static for the whole run, so the buffer may be borrowed. */
    w = malloc(sizeof *w);
    if (!w)
        return UV_ENOMEM;
    bf = uv_buf_init((char *)p + r, (unsigned)(n - (size_t)r));
    return uv_write(w, (uv_stream_t *)&c->tcp, &bf, 1, on_write);
}

static int send_req(client_t *c)
{
    bench_t *b = c->b;
    unsigned i = b->next_req++ % N_REQ;

    return send_bytes(c, b->req[i], b->req_len[i]);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
    client_t *c = h->data;

    buf->base = (char *)c->buf + c->have;
    buf->len = sizeof c->buf - c->have;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    client_t *c = s->data;
    bench_t *b = c->b;
    kms_rpc_hdr_t h;

    if (c->closing)
        return;
    if (nread < 0) {
        fail(c);
        return;
    }
    c->have += (size_t)nread;
    while (c->have >= 16) {
        size_t flen = (size_t)c->buf[8] | (size_t)c->buf[9] << 8;

        if (c->have < flen)
            return;
        if (kms_rpc_parse_hdr(c->buf, flen, &h) < 0) {
            fail(c);
            return;
        }
        if (c->stage == 0) {
            if (h.ptype != KMS_PTYPE_BIND_ACK) {
                fail(c);
                return;
            }
            c->stage = 1;
            if (send_req(c) < 0) {
                fail(c);
                return;
            }
        } else {
            kms_rpc_response_t r;
            kms_act_response_t ar;

            if (h.ptype != KMS_PTYPE_RESPONSE || kms_rpc_parse_response(c->buf, flen, &r) < 0 ||
                kms_act_decode_response(r.stub, r.stub_len, &ar) < 0) {
                fail(c);
                return;
            }
            if (ar.status != 0)
                b->not_ok++;
            record(b, c->t0);
            c->done_on_conn++;
            if (!b->keepalive || c->done_on_conn >= b->per_conn ||
                uv_now(b->loop) >= b->deadline_ms) {
                client_close(c);
                return;
            }
            c->t0 = uv_hrtime();
            if (send_req(c) < 0) {
                fail(c);
                return;
            }
        }
        memmove(c->buf, c->buf + flen, c->have - flen);
        c->have -= flen;
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    client_t *c = req->data;

    if (status < 0) {
        if (!c->closing)
            fail(c);
        return;
    }
    c->b->connects++;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0 ||
        send_bytes(c, c->b->bind, c->b->bind_len) < 0)
        fail(c);
}

static void start_client(client_t *c)
{
    bench_t *b = c->b;

    c->have = 0;
    c->stage = 0;
    c->done_on_conn = 0;
    c->closing = 0;
    c->t0 = uv_hrtime();
    uv_tcp_init_ex(b->loop, &c->tcp, b->addr.ss_family);
    c->tcp.data = c;
    c->creq.data = c;
    if (b->sources && b->addr.ss_family == AF_INET) {
        /* Clients from many machines: each source address has its own
         * ephemeral port space, so the kernel's port search does not wade
         * through the TIME_WAIT sockets of one address. */
        struct sockaddr_in src = {.sin_family = AF_INET};
        uv_os_fd_t fd;
        int one = 1;

        src.sin_addr.s_addr = htonl(0x7f000002u + b->next_src++ % b->sources);
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (uv_tcp_bind(&c->tcp, (struct sockaddr *)&src, 0) < 0) {
            fail(c);
            return;
        }
    }
    if (uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&b->addr, on_connect) < 0)
        fail(c);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int build_pdus(bench_t *b)
{
    kms_wr_t wr, stub;
    kms_rpc_ctx_elem_t ctx;
    kms_act_request_t rq;
    int rc;

    memset(&ctx, 0, sizeof ctx);
    ctx.cont_id = 0;
    ctx.n_tsyn = 1;
    ctx.abstract = kms_rpc_kms_iface;
    ctx.tsyn[0] = kms_rpc_ndr32;
    kms_wr_init(&wr);
    if ((rc = kms_rpc_build_bind(&wr, KMS_PTYPE_BIND, 1, 5840, 5840, 0, &ctx, 1)) < 0)
        return rc;
    b->bind = kms_wr_steal(&wr, &b->bind_len);

    memset(&rq, 0, sizeof rq);
    rq.version_major = KMS_ACT_PLAIN_MAJOR;
    rq.version_minor = KMS_ACT_PLAIN_MINOR;
    /* Windows 10/11 Enterprise-style IDs (any GUIDs do: the bench host serves
     * whatever benchmark product its inventory maps them to). */
    kms_guid_parse("55c92734-d682-4d71-983e-d6ec3f16059f", &rq.app_id);
    kms_guid_parse("73111121-5638-40f6-bc11-f1d7b0d64300", &rq.sku_id);
    kms_guid_parse("58e2134f-8e11-4d17-9cb2-91069c151148", &rq.kms_counted_id);
    kms_guid_parse("11111111-2222-3333-4444-555555555555", &rq.client_machine_id);
    rq.required_client_count = 25;
    rq.request_time = 133000000000000000ull;
    snprintf(rq.workstation, sizeof rq.workstation, "bench");
    for (unsigned i = 0; i < N_REQ; i++) {
        rq.client_machine_id.b[15] = (uint8_t)i; /* N_REQ distinct clients */
        kms_wr_init(&stub);
        if ((rc = kms_act_encode_request(&rq, &stub)) < 0)
            return rc;
        kms_wr_init(&wr);
        rc = kms_rpc_build_request(&wr, KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG, 2,
                                   (uint32_t)stub.len, 0, 0, NULL, stub.buf, stub.len);
        kms_wr_free(&stub);
        if (rc < 0)
            return rc;
        b->req[i] = kms_wr_steal(&wr, &b->req_len[i]);
    }
    return 0;
}

static int run_exchange(bench_t *b, unsigned conns, unsigned seconds)
{
    uint64_t t0;
    double secs;

    b->lat = malloc(MAX_LAT * sizeof *b->lat);
    if (!b->lat || build_pdus(b) < 0) {
        fprintf(stderr, "bench_host: cannot build the PDUs\n");
        return 1;
    }
    b->deadline_ms = uv_now(b->loop) + (uint64_t)seconds * 1000;
    t0 = uv_hrtime();
    for (unsigned i = 0; i < conns; i++) {
        client_t *c = calloc(1, sizeof *c);

        if (!c)
            return 1;
        c->b = b;
        b->active++;
        start_client(c);
    }
    uv_run(b->loop, UV_RUN_DEFAULT);
    secs = (double)(uv_hrtime() - t0) / 1e9;
    qsort(b->lat, b->n_lat, sizeof *b->lat, cmp_d);
    printf(
        "mode=%s conns=%u sources=%u seconds=%.2f exchanges=%llu status_not_ok=%llu failures=%llu "
        "connects=%llu\n",
        b->keepalive ? "keepalive" : "connect-per-exchange", conns, b->sources, secs,
        (unsigned long long)b->exchanges, (unsigned long long)b->not_ok,
        (unsigned long long)b->failures, (unsigned long long)b->connects);
    printf("exchanges_per_s=%.0f p50_us=%.0f p99_us=%.0f\n", (double)b->exchanges / secs,
           b->n_lat ? b->lat[b->n_lat / 2] : 0.0,
           b->n_lat ? b->lat[(size_t)((double)b->n_lat * 0.99)] : 0.0);
    free(b->lat);
    free(b->bind);
    for (unsigned i = 0; i < N_REQ; i++)
        free(b->req[i]);
    return b->failures > b->exchanges / 100 ? 1 : 0;
}

/* ---- idle connections ---------------------------------------------------- */

typedef struct {
    uv_tcp_t tcp;
    uv_connect_t creq;
    int ok;
} idle_t;

static unsigned idle_ok, idle_fail, idle_pending;

static void idle_connected(uv_connect_t *req, int status)
{
    idle_t *c = req->data;

    idle_pending--;
    if (status == 0) {
        c->ok = 1;
        idle_ok++;
    } else {
        idle_fail++;
    }
}

static long vm_rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

static void idle_close_cb(uv_handle_t *h)
{
    (void)h;
}

static int run_idle(bench_t *b, unsigned conns, int pid, unsigned hold)
{
    struct rlimit rl;
    idle_t *cs = calloc(conns, sizeof *cs);
    long before = pid > 0 ? vm_rss_kib(pid) : -1, after;
    unsigned started = 0;

    if (!cs)
        return 1;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < conns + 64) {
        rl.rlim_cur = rl.rlim_max < conns + 64 ? rl.rlim_max : conns + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Connect in batches of 256 so the listen backlog never overflows. */
    while (started < conns) {
        for (unsigned k = 0; k < 256 && started < conns; k++, started++) {
            idle_t *c = &cs[started];

            uv_tcp_init(b->loop, &c->tcp);
            c->creq.data = c;
            idle_pending++;
            if (uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&b->addr, idle_connected) <
                0) {
                idle_pending--;
                idle_fail++;
            }
        }
        while (idle_pending > 0)
            uv_run(b->loop, UV_RUN_ONCE);
    }
    /* Let the server accept everything, then measure. */
    {
        uint64_t until = uv_now(b->loop) + (uint64_t)hold * 1000;
        uv_timer_t t;

        uv_timer_init(b->loop, &t);
        while (uv_now(b->loop) < until) {
            uv_timer_start(&t, tick, 100, 0);
            uv_run(b->loop, UV_RUN_ONCE);
        }
        uv_close((uv_handle_t *)&t, NULL);
    }
    after = pid > 0 ? vm_rss_kib(pid) : -1;
    printf("idle_connections=%u failed=%u\n", idle_ok, idle_fail);
    if (pid > 0)
        printf("kmsd_vmrss_before_mib=%.1f kmsd_vmrss_with_idle_mib=%.1f per_conn_bytes=%.0f\n",
               before / 1024.0, after / 1024.0,
               idle_ok ? (double)(after - before) * 1024.0 / idle_ok : 0.0);
    for (unsigned i = 0; i < conns; i++)
        if (!uv_is_closing((uv_handle_t *)&cs[i].tcp))
            uv_close((uv_handle_t *)&cs[i].tcp, idle_close_cb);
    uv_run(b->loop, UV_RUN_DEFAULT);
    free(cs);
    return idle_fail ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bench_host exchange --port P [--host ADDR] [--conns N] [--seconds S]\n"
            "                           [--keepalive] [--requests-per-conn N] [--sources N]\n"
            "       bench_host idle --port P [--host ADDR] [--conns N] [--pid PID] [--hold S]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"conns", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"keepalive", no_argument, NULL, 'k'},
        {"requests-per-conn", required_argument, NULL, 'r'},
        {"pid", required_argument, NULL, 'P'},
        {"hold", required_argument, NULL, 'o'},
        {"sources", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1", *mode;
    unsigned port = 0, conns = 0, seconds = 10, hold = 2;
    int pid = 0, opt, rc;
    uv_loop_t loop;
    bench_t b;

    memset(&b, 0, sizeof b);
    b.per_conn = 1000000;
    while ((opt = getopt_long(argc, argv, "H:p:n:s:kr:P:o:S:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = (unsigned)atoi(optarg);
            break;
        case 'n':
            conns = (unsigned)atoi(optarg);
            break;
        case 's':
            seconds = (unsigned)atoi(optarg);
            break;
        case 'k':
            b.keepalive = 1;
            break;
        case 'r':
            b.per_conn = (unsigned)atoi(optarg);
            break;
        case 'P':
            pid = atoi(optarg);
            break;
        case 'o':
            hold = (unsigned)atoi(optarg);
            break;
        case 'S':
            b.sources = (unsigned)atoi(optarg);
            if (b.sources > 250) {
                usage(stderr);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc || port == 0 || port > 65535 || seconds == 0 || seconds > 600) {
        usage(stderr);
        return 2;
    }
    mode = argv[optind];
    if (kms_addr_parse(host, (uint16_t)port, &b.addr) < 0) {
        fprintf(stderr, "bench_host: bad address %s\n", host);
        return 2;
    }
    /* Loopback only. */
    if (strncmp(host, "127.", 4) != 0 && strcmp(host, "::1") != 0 && strcmp(host, "[::1]") != 0) {
        fprintf(stderr, "bench_host: loopback addresses only\n");
        return 2;
    }
    uv_loop_init(&loop);
    b.loop = &loop;
    if (strcmp(mode, "exchange") == 0)
        rc = run_exchange(&b, conns ? conns : 64, seconds);
    else if (strcmp(mode, "idle") == 0)
        rc = run_idle(&b, conns ? conns : 10000, pid, hold);
    else {
        usage(stderr);
        rc = 2;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return rc;
}
