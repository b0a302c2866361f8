/* SPDX-License-Identifier: MIT */
/*
 * test_transport.c - dns/transport.h against a small UDP+TCP responder on
 * 127.0.0.1 run by the same loop: exchanges to one server share one UDP
 * socket and get their own answers whatever the order; a message whose ID
 * is already waiting goes out on a socket of its own; an ICMP error ends
 * every waiting exchange; a datagram too large for the receive buffer
 * sends the exchange to TCP; the loop closes cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/err.h"
#include "dns/transport.h"

#define MAXQ 8

typedef struct {
    uv_udp_t udp;
    uv_tcp_t tcp; /* listener on the same port */
    struct sockaddr_in addr;
    int hold;    /* answer only once this many queries are in, last first */
    int big;     /* answer with a 5000-byte datagram (no TC) */
    unsigned nq; /* queries seen over UDP */
    uint16_t src_port[MAXQ];
    uint8_t q[MAXQ][64];
    size_t qlen[MAXQ];
    struct sockaddr_storage from[MAXQ];
    unsigned tcp_queries;
} responder_t;

typedef struct {
    int calls, status;
    uint8_t id[2];
    size_t len;
    int tcp;
} got_t;

static uint8_t rbuf[65536];

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req->data);
    free(req);
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h;
    (void)s;
    *b = uv_buf_init((char *)rbuf, sizeof rbuf);
}

/* The answer to a query: the query itself with QR set, @p pad zero bytes more. */
static void answer(responder_t *r, unsigned i, size_t pad)
{
    uv_udp_send_t *req = malloc(sizeof *req);
    uint8_t *out = calloc(1, r->qlen[i] + pad);

    memcpy(out, r->q[i], r->qlen[i]);
    out[2] |= 0x80;
    req->data = out;
    uv_buf_t b = uv_buf_init((char *)out, (unsigned)(r->qlen[i] + pad));
    uv_udp_send(req, &r->udp, &b, 1, (struct sockaddr *)&r->from[i], on_sent);
}

static void on_query(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                     unsigned flags)
{
    responder_t *r = u->data;
    unsigned i = r->nq;

    (void)flags;
    if (n < 12 || !from || i >= MAXQ || (size_t)n > sizeof r->q[0])
        return;
    r->nq++;
    memcpy(r->q[i], buf->base, (size_t)n);
    r->qlen[i] = (size_t)n;
    memcpy(&r->from[i], from, sizeof(struct sockaddr_in));
    r->src_port[i] = ntohs(((const struct sockaddr_in *)from)->sin_port);
    if (r->hold) {
        if ((int)r->nq == r->hold)
            for (unsigned k = r->nq; k-- > 0;)
                answer(r, k, 0);
        return;
    }
    answer(r, i, r->big ? 5000 : 0);
}

typedef struct {
    uv_tcp_t c;
    responder_t *r;
    uint8_t in[256];
    size_t have;
    uv_write_t w;
    uint8_t out[256];
} tconn_t;

static void tconn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void tconn_written(uv_write_t *w, int status)
{
    (void)w;
    (void)status;
}

static void tconn_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    tconn_t *t = h->data;
    (void)s;
    *b = uv_buf_init((char *)t->in + t->have, (unsigned)(sizeof t->in - t->have));
}

static void tconn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    tconn_t *t = st->data;
    size_t len;

    (void)b;
    if (n < 0) {
        uv_close((uv_handle_t *)&t->c, tconn_closed);
        return;
    }
    t->have += (size_t)n;
    if (t->have < 2)
        return;
    len = (size_t)t->in[0] << 8 | t->in[1];
    if (t->have < 2 + len || len + 2 > sizeof t->out)
        return;
    t->r->tcp_queries++;
    memcpy(t->out, t->in, 2 + len);
    t->out[4] |= 0x80; /* QR */
    uv_buf_t ob = uv_buf_init((char *)t->out, (unsigned)(2 + len));
    uv_write(&t->w, st, &ob, 1, tconn_written);
}

static void on_tcp_conn(uv_stream_t *srv, int status)
{
    responder_t *r = srv->data;
    tconn_t *t = calloc(1, sizeof *t);

    assert_int_equal(status, 0);
    t->r = r;
    uv_tcp_init(srv->loop, &t->c);
    t->c.data = t;
    assert_int_equal(uv_accept(srv, (uv_stream_t *)&t->c), 0);
    uv_read_start((uv_stream_t *)&t->c, tconn_alloc, tconn_read);
}

/* A UDP and a TCP socket bound to one free port of 127.0.0.1 (another
 * port when the TCP one is taken), handed to the loop. */
static void start_responder(uv_loop_t *loop, responder_t *r)
{
    socklen_t len = sizeof r->addr;
    int u = -1, t = -1;

    memset(r, 0, sizeof *r);
    for (int tries = 0; tries < 50 && t < 0; tries++) {
        uv_ip4_addr("127.0.0.1", 0, &r->addr);
        u = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(u >= 0);
        assert_int_equal(bind(u, (struct sockaddr *)&r->addr, sizeof r->addr), 0);
        assert_int_equal(getsockname(u, (struct sockaddr *)&r->addr, &len), 0);
        t = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(t >= 0);
        if (bind(t, (struct sockaddr *)&r->addr, sizeof r->addr) == 0)
            break;
        close(t);
        close(u);
        t = -1;
    }
    assert_true(t >= 0);
    uv_udp_init(loop, &r->udp);
    r->udp.data = r;
    assert_int_equal(uv_udp_open(&r->udp, u), 0);
    assert_int_equal(uv_udp_recv_start(&r->udp, alloc_cb, on_query), 0);
    uv_tcp_init(loop, &r->tcp);
    r->tcp.data = r;
    assert_int_equal(uv_tcp_open(&r->tcp, t), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&r->tcp, 8, on_tcp_conn), 0);
}

static void on_done(int status, const uint8_t *reply, size_t len, const kms_dns_send_info_t *info,
                    void *ud)
{
    got_t *g = ud;

    g->calls++;
    g->status = status;
    g->len = len;
    g->tcp = info ? info->tcp : 0;
    if (reply && len >= 2)
        memcpy(g->id, reply, 2);
}

/* A 12-byte header-only query with ID @p id. */
static void query(uint8_t q[12], uint16_t id)
{
    memset(q, 0, 12);
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
}

static void run_until(uv_loop_t *loop, got_t *g, int n)
{
    for (int i = 0; i < 100000; i++) {
        int done = 1;
        for (int k = 0; k < n; k++)
            done &= g[k].calls == 1;
        if (done)
            return;
        uv_run(loop, UV_RUN_ONCE);
    }
    fail_msg("exchanges did not complete");
}

static void finish(uv_loop_t *loop, responder_t *r)
{
    uv_close((uv_handle_t *)&r->udp, NULL);
    uv_close((uv_handle_t *)&r->tcp, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void shared_socket_answers_by_id(void **state)
{
    uv_loop_t loop;
    responder_t r;
    got_t g[3] = {{0}};
    uint8_t q[3][12];
    const uint16_t ids[3] = {0x1111, 0x2222, 0x1111}; /* the third repeats the first */

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    r.hold = 3; /* all three in before any answer; answered last first */
    for (int i = 0; i < 3; i++) {
        query(q[i], ids[i]);
        assert_int_equal(kms_dns_send(&loop, (struct sockaddr *)&r.addr, q[i], 12, 2000, 0, on_done,
                                      &g[i], NULL),
                         0);
    }
    run_until(&loop, g, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].status, 0);
        assert_int_equal(g[i].len, 12);
        assert_int_equal(g[i].id[0] << 8 | g[i].id[1], ids[i]);
    }
    assert_int_equal(r.nq, 3);
    /* 0x2222 shared a socket with one 0x1111; the repeated ID had its own */
    {
        uint16_t p2222 = 0, p1111[2];
        int n1111 = 0;

        for (unsigned i = 0; i < r.nq; i++) {
            uint16_t id = (uint16_t)(r.q[i][0] << 8 | r.q[i][1]);
            if (id == 0x2222)
                p2222 = r.src_port[i];
            else
                p1111[n1111++] = r.src_port[i];
        }
        assert_int_equal(n1111, 2);
        assert_int_not_equal(p1111[0], p1111[1]);
        assert_true(p2222 == p1111[0] || p2222 == p1111[1]);
    }
    finish(&loop, &r);
}

static void icmp_error_ends_every_waiting_exchange(void **state)
{
    uv_loop_t loop;
    responder_t r;
    got_t g[2] = {{0}};
    uint8_t q[2][12];

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    /* nothing listens on the port any more: ICMP port unreachable */
    uv_close((uv_handle_t *)&r.udp, NULL);
    uv_close((uv_handle_t *)&r.tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 2; i++) {
        query(q[i], (uint16_t)(0x100 + i));
        assert_int_equal(kms_dns_send(&loop, (struct sockaddr *)&r.addr, q[i], 12, 3000, 0, on_done,
                                      &g[i], NULL),
                         0);
    }
    run_until(&loop, g, 2);
    assert_int_equal(g[0].status, KMS_ECONNREFUSED);
    assert_int_equal(g[1].status, KMS_ECONNREFUSED);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void oversized_datagram_goes_to_tcp(void **state)
{
    uv_loop_t loop;
    responder_t r;
    got_t g = {0};
    uint8_t q[12];

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    r.big = 1;
    query(q, 0x4242);
    assert_int_equal(
        kms_dns_send(&loop, (struct sockaddr *)&r.addr, q, 12, 2000, 0, on_done, &g, NULL), 0);
    run_until(&loop, &g, 1);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.tcp, 1);
    assert_int_equal(g.len, 12);
    assert_int_equal(r.nq, 1);
    assert_int_equal(r.tcp_queries, 1);
    finish(&loop, &r);
}

static void cancel_while_others_wait(void **state)
{
    uv_loop_t loop;
    responder_t r;
    got_t g[2] = {{0}};
    uint8_t q[2][12];
    kms_dns_send_t *h0 = NULL;

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    r.hold = 2;
    query(q[0], 7);
    query(q[1], 8);
    assert_int_equal(
        kms_dns_send(&loop, (struct sockaddr *)&r.addr, q[0], 12, 2000, 0, on_done, &g[0], &h0), 0);
    assert_int_equal(
        kms_dns_send(&loop, (struct sockaddr *)&r.addr, q[1], 12, 2000, 0, on_done, &g[1], NULL),
        0);
    kms_dns_send_cancel(h0);
    run_until(&loop, g, 2);
    assert_int_equal(g[0].status, KMS_ECANCELED);
    assert_int_equal(g[1].status, 0);
    finish(&loop, &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_socket_answers_by_id),
        cmocka_unit_test(icmp_error_ends_every_waiting_exchange),
        cmocka_unit_test(oversized_datagram_goes_to_tcp),
        cmocka_unit_test(cancel_while_others_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
