/* SPDX-License-Identifier: MIT */
/*
 * locate_listener.c - a KMS RPC endpoint for the discovery tests: rpc/conn
 * on a libuv TCP listener bound to a given address (the SRV targets of the
 * test zone live on 127.0.0.11-13), answering activation requests with a
 * fixed current count.
 *
 * locate_listener ADDR PORT [SECONDS [COUNT]]  (PORT 0: pick one) - prints
 * "port=N" once listening, counts accepted connections, prints
 * "connections=N" and exits after SECONDS (default 30) or on SIGTERM.
 * COUNT (default 50) is the current count in every activation response.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/addr.h"
#include "base/err.h"
#include "rpc/activation.h"
#include "rpc/conn.h"

typedef struct {
    uv_tcp_t tcp;
    kms_rpc_conn_t *rpc;
    kms_wr_t in;
} conn_t;

static uv_tcp_t listener;
static uv_timer_t stop_timer;
static uv_signal_t sigterm;
static unsigned long connections;
static uint32_t count = 50;

static int handler(void *ud, uint16_t opnum, const uint8_t *stub, size_t len, kms_wr_t *out)
{
    kms_act_request_t q;
    kms_act_response_t r;
    int e = kms_act_decode_request(stub, len, &q);

    (void)ud;
    (void)opnum;
    if (e == KMS_EUNSUPPORTED || e == KMS_EMALFORMED)
        return kms_act_encode_failure(KMS_HR_INVALID_DATA, out);
    if (e)
        return e;
    memset(&r, 0, sizeof r);
    r.version_major = q.version_major;
    r.version_minor = q.version_minor;
    r.client_machine_id = q.client_machine_id;
    r.current_count = count;
    r.activation_interval = 120;
    r.renewal_interval = 10080;
    r.response_time = q.request_time;
    strcpy(r.host_epid, "locate-listener");
    return kms_act_encode_response(&r, out);
}

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;

    if (!c)
        return;
    kms_rpc_conn_free(c->rpc);
    kms_wr_free(&c->in);
    free(c);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    conn_t *c = h->data;

    (void)sz;
    if (kms_wr_reserve(&c->in, 4096))
        *b = uv_buf_init(NULL, 0);
    else
        *b = uv_buf_init((char *)c->in.buf + c->in.len, 4096);
}

static void on_written(uv_write_t *w, int st)
{
    (void)st;
    free(w->data);
    free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    kms_wr_t out;
    size_t off = 0;
    int fl = 0;

    (void)buf;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    c->in.len += (size_t)n;
    kms_wr_init(&out);
    while ((fl = kms_rpc_frame_len(c->in.buf + off, c->in.len - off, 0)) > 0 &&
           (size_t)fl <= c->in.len - off) {
        fl = kms_rpc_conn_pdu(c->rpc, c->in.buf + off, (size_t)fl, &out) < 0 ? -1 : fl;
        if (fl < 0)
            break;
        off += (size_t)fl;
    }
    if (out.len) {
        uv_write_t *w = malloc(sizeof *w);
        size_t len;
        uv_buf_t b;
        if (w) {
            w->data = kms_wr_steal(&out, &len);
            b = uv_buf_init(w->data, (unsigned)len);
            if (uv_write(w, s, &b, 1, on_written) < 0) {
                free(w->data);
                free(w);
            }
        }
    }
    kms_wr_free(&out);
    if (fl < 0) {
        uv_read_stop(s);
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    memmove(c->in.buf, c->in.buf + off, c->in.len - off);
    c->in.len -= off;
}

static void on_conn(uv_stream_t *l, int status)
{
    conn_t *c;

    if (status < 0 || !(c = calloc(1, sizeof *c)))
        return;
    c->rpc = kms_rpc_conn_new(0, handler, NULL);
    kms_wr_init(&c->in);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    if (!c->rpc || uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    connections++;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h != (uv_handle_t *)&listener ? on_closed : NULL);
}

static void on_timer(uv_timer_t *t)
{
    uv_walk(t->loop, close_walk, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    uv_walk(s->loop, close_walk, NULL);
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_storage ss;
    int len = sizeof ss;
    long port, secs = 30;
    char buf[KMS_ADDRSTRLEN];

    if (argc < 3 || argc > 5)
        return fprintf(stderr, "usage: locate_listener ADDR PORT [SECONDS [COUNT]]\n"), 1;
    port = strtol(argv[2], NULL, 10);
    if (argc >= 4)
        secs = strtol(argv[3], NULL, 10);
    if (argc == 5)
        count = (uint32_t)strtoul(argv[4], NULL, 10);
    if (port < 0 || port > 65535 || secs < 1 || secs > 3600)
        return 1;
    if (kms_addr_parse(argv[1], (uint16_t)port, &ss) != 0)
        return fprintf(stderr, "locate_listener: bad address %s\n", argv[1]), 1;
    if (port == 0)
        kms_addr_set_port((struct sockaddr *)&ss, 0);
    uv_tcp_init(loop, &listener);
    listener.data = NULL;
    if (uv_tcp_bind(&listener, (struct sockaddr *)&ss, 0) < 0 ||
        uv_listen((uv_stream_t *)&listener, 128, on_conn) < 0) {
        fprintf(stderr, "locate_listener: cannot listen on %s\n",
                kms_addr_format((struct sockaddr *)&ss, buf));
        return 2;
    }
    uv_tcp_getsockname(&listener, (struct sockaddr *)&ss, &len);
    printf("port=%u\n", kms_addr_port((struct sockaddr *)&ss));
    fflush(stdout);
    uv_timer_init(loop, &stop_timer);
    uv_timer_start(&stop_timer, on_timer, (uint64_t)secs * 1000, 0);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    printf("connections=%lu\n", connections);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
