/* SPDX-License-Identifier: MIT */
/*
 * rpc_test_server.c - a minimal KMS RPC server for client tests: rpc/conn
 * on a libuv TCP listener with a dummy activation handler (current count =
 * required_client_count + 1, intervals 120/10080, ePID "rpc-test-server";
 * messages in other encodings get HRESULT 0x8007000D).
 *
 * rpc_test_server PORT [SECONDS]  (PORT 0: pick one) - prints "port=N" once
 * listening on 127.0.0.1, exits after SECONDS (default 30) or on SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

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
    r.client_machine_id = q.client_machine_id;
    r.current_count = q.required_client_count + 1;
    r.activation_interval = 120;
    r.renewal_interval = 10080;
    r.response_time = q.request_time;
    strcpy(r.host_epid, "rpc-test-server");
    return kms_act_encode_response(&r, out);
}

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;

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

static void flush_out(uv_stream_t *s, kms_wr_t *out)
{
    uv_write_t *w;
    size_t len;
    uv_buf_t b;

    if (!out->len)
        return;
    w = malloc(sizeof *w);
    if (!w)
        return;
    w->data = kms_wr_steal(out, &len);
    b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(w, s, &b, 1, on_written) < 0) {
        free(w->data);
        free(w);
    }
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
    flush_out(s, &out); /* what was answered before an error still goes out */
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
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h != (uv_handle_t *)&listener ? on_closed : NULL);
}

static void stop(uv_loop_t *loop)
{
    uv_walk(loop, close_walk, NULL);
}

static void on_timer(uv_timer_t *t)
{
    stop(t->loop);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    stop(s->loop);
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_in sa;
    int len = sizeof sa;
    long port, secs = 30;

    if (argc < 2 || argc > 3)
        return fprintf(stderr, "usage: rpc_test_server PORT [SECONDS]\n"), 1;
    port = strtol(argv[1], NULL, 10);
    if (argc == 3)
        secs = strtol(argv[2], NULL, 10);
    if (port < 0 || port > 65535 || secs < 1 || secs > 3600)
        return 1;
    uv_ip4_addr("127.0.0.1", (int)port, &sa);
    uv_tcp_init(loop, &listener);
    if (uv_tcp_bind(&listener, (struct sockaddr *)&sa, 0) < 0 ||
        uv_listen((uv_stream_t *)&listener, 128, on_conn) < 0) {
        fprintf(stderr, "rpc_test_server: cannot listen on port %ld\n", port);
        return 2;
    }
    uv_tcp_getsockname(&listener, (struct sockaddr *)&sa, &len);
    printf("port=%u\n", ntohs(sa.sin_port));
    fflush(stdout);
    uv_timer_init(loop, &stop_timer);
    uv_timer_start(&stop_timer, on_timer, (uint64_t)secs * 1000, 0);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
