/* SPDX-License-Identifier: MIT */
/* Unit tests for rpc/client against an in-process libuv server that
 * runs rpc/conn with a dummy activation handler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rpc/client.h"
#include "rpc/conn.h"

typedef enum {
    SRV_NORMAL,
    SRV_SILENT,
    SRV_FAIL,
    SRV_DRIP,       /* replies go out DRIP_BYTES at a time, one write per millisecond */
    SRV_FRAGMENTED, /* the response split into RESP_FRAGS fragments, all in one write */
    SRV_EAGER,      /* bind_ack and the response in one write, before the request */
    SRV_CANNED,     /* answers the first read with srv_t.canned, then stays silent */
} srv_mode_t;

#define DRIP_BYTES 5
#define RESP_FRAGS 3

typedef struct {
    uv_tcp_t listener;
    struct sockaddr_in addr;
    srv_mode_t mode;
    int accepted;
    const uint8_t *canned; /* SRV_CANNED */
    size_t canned_len;
    int drip_writes; /* SRV_DRIP: writes made */
} srv_t;

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t drip_timer;
    int handles;
    srv_t *srv;
    kms_rpc_conn_t *rpc;
    kms_wr_t in;
    kms_wr_t drip; /* SRV_DRIP: bytes still to send from drip_off */
    size_t drip_off;
    int answered;
} sconn_t;

static int handler(void *ud, uint16_t opnum, const uint8_t *stub, size_t len, kms_wr_t *out)
{
    srv_t *s = ud;
    kms_act_request_t q;
    kms_act_response_t r;
    int e;

    if (s->mode == SRV_FAIL)
        return KMS_EMALFORMED;
    if ((e = kms_act_decode_request(stub, len, &q)) != 0)
        return e;
    memset(&r, 0, sizeof r);
    r.client_machine_id = q.client_machine_id;
    r.current_count = q.required_client_count + 1;
    r.activation_interval = 120;
    r.renewal_interval = 10080;
    strcpy(r.host_epid, "test-host");
    return kms_act_encode_response(&r, out);
}

static void sconn_closed(uv_handle_t *h)
{
    sconn_t *c = h->data;

    if (--c->handles > 0)
        return;
    kms_rpc_conn_free(c->rpc);
    kms_wr_free(&c->in);
    kms_wr_free(&c->drip);
    free(c);
}

static void sconn_close(sconn_t *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, sconn_closed);
    uv_close((uv_handle_t *)&c->drip_timer, sconn_closed);
}

static void s_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    sconn_t *c = h->data;

    (void)sz;
    kms_wr_reserve(&c->in, 4096);
    *b = uv_buf_init((char *)c->in.buf + c->in.len, 4096);
}

static void s_written(uv_write_t *w, int st)
{
    (void)st;
    free(w->data);
    free(w);
}

/* One uv_write of a copy of @p len bytes. */
static void s_send(sconn_t *c, const uint8_t *p, size_t len)
{
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t ob;

    assert_non_null(w);
    w->data = malloc(len);
    assert_non_null(w->data);
    memcpy(w->data, p, len);
    ob = uv_buf_init(w->data, (unsigned)len);
    assert_int_equal(uv_write(w, (uv_stream_t *)&c->tcp, &ob, 1, s_written), 0);
}

static void drip_tick(uv_timer_t *t)
{
    sconn_t *c = t->data;
    size_t n = c->drip.len - c->drip_off;

    if (n > DRIP_BYTES)
        n = DRIP_BYTES;
    s_send(c, c->drip.buf + c->drip_off, n);
    c->srv->drip_writes++;
    c->drip_off += n;
    if (c->drip_off == c->drip.len) {
        c->drip.len = c->drip_off = 0;
        uv_timer_stop(t);
    }
}

/* SRV_FRAGMENTED: re-send the one response PDU in @p out as RESP_FRAGS
 * fragments (stub pieces a multiple of 8 bytes but the last), one write. */
static void send_fragmented(sconn_t *c, const kms_wr_t *out)
{
    kms_rpc_response_t p;
    kms_wr_t w;
    size_t piece, off = 0;

    assert_int_equal(kms_rpc_parse_response(out->buf, out->len, &p), 0);
    piece = (p.stub_len / RESP_FRAGS + 7) & ~(size_t)7;
    assert_true(piece > 0 && piece * (RESP_FRAGS - 1) < p.stub_len);
    kms_wr_init(&w);
    for (int i = 0; i < RESP_FRAGS; i++) {
        size_t n = i == RESP_FRAGS - 1 ? p.stub_len - off : piece;
        uint8_t flags =
            (i == 0 ? KMS_PFC_FIRST_FRAG : 0) | (i == RESP_FRAGS - 1 ? KMS_PFC_LAST_FRAG : 0);

        kms_rpc_build_response(&w, flags, p.hdr.call_id, (uint32_t)(p.stub_len - off), p.cont_id,
                               p.stub + off, n);
        off += n;
    }
    assert_int_equal(w.err, 0);
    s_send(c, w.buf, w.len);
    kms_wr_free(&w);
}

/* SRV_EAGER: append to @p out (the bind_ack) the response the client's
 * request (call_id 2, after the bind's 1) will get. */
static void append_eager_response(kms_wr_t *out)
{
    kms_act_response_t r;
    kms_wr_t stub;

    memset(&r, 0, sizeof r);
    kms_guid_parse("6ff1c5c4-3a2e-4d8b-9c1a-0b1e2f3a4b5c", &r.client_machine_id);
    r.current_count = 26;
    r.activation_interval = 120;
    r.renewal_interval = 10080;
    strcpy(r.host_epid, "eager-host");
    kms_wr_init(&stub);
    assert_int_equal(kms_act_encode_response(&r, &stub), 0);
    kms_rpc_build_response(out, KMS_PFC_FIRST_FRAG | KMS_PFC_LAST_FRAG, 2, (uint32_t)stub.len, 0,
                           stub.buf, stub.len);
    kms_wr_free(&stub);
}

static void s_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    sconn_t *c = st->data;
    kms_wr_t out;
    size_t off = 0;

    (void)b;
    if (n < 0) {
        sconn_close(c);
        return;
    }
    c->in.len += (size_t)n;
    if (c->srv->mode == SRV_SILENT || (c->answered && c->srv->mode == SRV_EAGER)) {
        c->in.len = 0;
        return;
    }
    if (c->srv->mode == SRV_CANNED) {
        if (!c->answered && n > 0)
            s_send(c, c->srv->canned, c->srv->canned_len);
        c->answered |= n > 0;
        c->in.len = 0;
        return;
    }
    kms_wr_init(&out);
    for (;;) {
        int fl = kms_rpc_frame_len(c->in.buf + off, c->in.len - off, 0);

        if (fl < 0 || (fl > 0 && kms_rpc_conn_pdu(c->rpc, c->in.buf + off, (size_t)fl, &out) < 0)) {
            kms_wr_free(&out);
            sconn_close(c);
            return;
        }
        if (fl == 0 || (size_t)fl > c->in.len - off)
            break;
        off += (size_t)fl;
    }
    memmove(c->in.buf, c->in.buf + off, c->in.len - off);
    c->in.len -= off;
    if (out.len && c->srv->mode == SRV_EAGER) {
        append_eager_response(&out);
        c->answered = 1;
    }
    if (out.len && c->srv->mode == SRV_DRIP) {
        kms_wr_bytes(&c->drip, out.buf, out.len);
        if (!uv_is_active((uv_handle_t *)&c->drip_timer))
            uv_timer_start(&c->drip_timer, drip_tick, 1, 1);
    } else if (out.len && c->srv->mode == SRV_FRAGMENTED && out.buf[2] == KMS_PTYPE_RESPONSE) {
        send_fragmented(c, &out);
    } else if (out.len) {
        s_send(c, out.buf, out.len);
    }
    kms_wr_free(&out);
}

static void s_conn(uv_stream_t *l, int status)
{
    srv_t *s = l->data;
    sconn_t *c = calloc(1, sizeof *c);

    assert_int_equal(status, 0);
    c->srv = s;
    c->rpc = kms_rpc_conn_new(0, handler, s);
    kms_wr_init(&c->in);
    kms_wr_init(&c->drip);
    uv_tcp_init(l->loop, &c->tcp);
    uv_timer_init(l->loop, &c->drip_timer);
    c->tcp.data = c->drip_timer.data = c;
    c->handles = 2;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    /* Without Nagle each drip write is its own segment, not held back for an ACK. */
    uv_tcp_nodelay(&c->tcp, s->mode == SRV_DRIP);
    s->accepted++;
    uv_read_start((uv_stream_t *)&c->tcp, s_alloc, s_read);
}

static void srv_start(uv_loop_t *loop, srv_t *s, srv_mode_t mode)
{
    int len = sizeof s->addr;

    memset(s, 0, sizeof *s);
    s->mode = mode;
    uv_ip4_addr("127.0.0.1", 0, &s->addr);
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    assert_int_equal(uv_tcp_bind(&s->listener, (struct sockaddr *)&s->addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 512, s_conn), 0);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&s->addr, &len);
}

static void srv_stop(srv_t *s)
{
    if (!uv_is_closing((uv_handle_t *)&s->listener))
        uv_close((uv_handle_t *)&s->listener, NULL);
}

typedef struct {
    srv_t *srv;
    int pending, done;
    kms_rpcc_result_t last;
    int ok;
    int raw_frame_len; /* raw mode: kms_rpc_frame_len() of the reply's start */
    int cancel_in_cb;  /* call kms_rpcc_cancel() on the operation inside its callback */
} run_t;

static void done_cb(kms_rpcc_t *op, const kms_rpcc_result_t *res, void *ud)
{
    run_t *r = ud;

    if (r->cancel_in_cb)
        kms_rpcc_cancel(op); /* already complete: a no-op */
    r->last = *res;
    if (res->raw_reply)
        r->raw_frame_len = kms_rpc_frame_len(res->raw_reply, res->raw_reply_len, 0);
    r->last.raw_reply = NULL;
    r->done++;
    if (res->err == 0 && res->have_response && res->response.current_count == 26)
        r->ok++;
    if (--r->pending == 0 && r->srv)
        srv_stop(r->srv);
}

static void default_opts(kms_rpcc_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->send_request = 1;
    o->connect_timeout_ms = 2000;
    o->exchange_timeout_ms = 2000;
    o->request.required_client_count = 25;
    strcpy(o->request.workstation, "ws1");
    kms_guid_parse("6ff1c5c4-3a2e-4d8b-9c1a-0b1e2f3a4b5c", &o->request.client_machine_id);
}

/* One operation against a fresh server; @p canned for SRV_CANNED, and
 * @p srv_out (may be NULL) gets the server's counters. */
static void run_srv(srv_mode_t mode, const uint8_t *canned, size_t canned_len,
                    const kms_rpcc_opts_t *o, run_t *r, srv_t *srv_out)
{
    uv_loop_t loop;
    srv_t s;
    int cancel_in_cb = r->cancel_in_cb;

    memset(r, 0, sizeof *r);
    r->cancel_in_cb = cancel_in_cb;
    uv_loop_init(&loop);
    srv_start(&loop, &s, mode);
    s.canned = canned;
    s.canned_len = canned_len;
    r->srv = &s;
    r->pending = 1;
    assert_int_equal(kms_rpcc_start(&loop, (struct sockaddr *)&s.addr, o, done_cb, r, NULL), 0);
    assert_int_equal(r->done, 0); /* never called back from inside start */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r->done, 1);
    if (srv_out)
        *srv_out = s;
}

static void run_one(srv_mode_t mode, const kms_rpcc_opts_t *o, run_t *r)
{
    memset(r, 0, sizeof *r);
    run_srv(mode, NULL, 0, o, r, NULL);
}

static void full_exchange_ndr32(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;
    char g[KMS_GUID_STRLEN];

    default_opts(&o);
    run_one(SRV_NORMAL, &o, &r);
    assert_int_equal(r.last.err, 0);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_REQUEST);
    assert_true(r.last.bind_accepted);
    assert_int_equal(r.last.n_results, 1);
    assert_true(r.last.have_response);
    assert_int_equal(r.last.response.status, 0);
    assert_int_equal(r.last.response.current_count, 26);
    assert_int_equal(r.last.response.activation_interval, 120);
    assert_string_equal(r.last.response.host_epid, "test-host");
    assert_string_equal(kms_guid_format(&r.last.response.client_machine_id, g),
                        "6ff1c5c4-3a2e-4d8b-9c1a-0b1e2f3a4b5c");
}

static void windows_bind_exchange(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    o.bind_style = KMS_RPCC_BIND_WINDOWS;
    run_one(SRV_NORMAL, &o, &r);
    assert_int_equal(r.last.err, 0);
    assert_int_equal(r.last.n_results, 3);
    assert_int_equal(r.last.results[0].result, KMS_RPC_ACCEPTANCE);
    assert_int_equal(r.last.results[1].result, KMS_RPC_PROVIDER_REJECTION);
    assert_int_equal(r.last.results[1].reason, KMS_RPC_REASON_TRANSFER_SYNTAXES);
    assert_int_equal(r.last.results[2].result, KMS_RPC_NEGOTIATE_ACK);
    assert_int_equal(r.last.response.current_count, 26);
}

static void bind_only_and_handler_fault(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    o.send_request = 0;
    run_one(SRV_NORMAL, &o, &r);
    assert_int_equal(r.last.err, 0);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_BIND);
    assert_true(r.last.bind_accepted);
    assert_false(r.last.have_response);

    default_opts(&o);
    run_one(SRV_FAIL, &o, &r);
    assert_int_equal(r.last.err, KMS_EPROTO);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_REQUEST);
    assert_int_equal(r.last.fault_status, KMS_NCA_S_FAULT_NDR);
}

static void connection_refused(void **state)
{
    uv_loop_t loop;
    srv_t s;
    kms_rpcc_opts_t o;
    run_t r;

    uv_loop_init(&loop);
    srv_start(&loop, &s, SRV_NORMAL);
    srv_stop(&s); /* the port is now closed */
    uv_run(&loop, UV_RUN_DEFAULT);
    default_opts(&o);
    memset(&r, 0, sizeof r);
    r.pending = 1;
    assert_int_equal(kms_rpcc_start(&loop, (struct sockaddr *)&s.addr, &o, done_cb, &r, NULL), 0);
    assert_int_equal(r.done, 0); /* refused at once, but reported from the loop */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.last.err, KMS_ECONNREFUSED);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_CONNECT);
}

static void bind_timeout(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    o.exchange_timeout_ms = 150;
    run_one(SRV_SILENT, &o, &r);
    assert_int_equal(r.last.err, KMS_ETIMEOUT);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_BIND);
    assert_true(r.last.elapsed_us >= 140000);
    assert_true(r.last.elapsed_us < 2000000);
}

typedef struct {
    kms_rpcc_t *op;
    run_t *r;
    int done_on_return; /* r->done right after kms_rpcc_cancel() returned */
} cancel_ctx_t;

static void cancel_timer_cb(uv_timer_t *t)
{
    cancel_ctx_t *c = t->data;

    kms_rpcc_cancel(c->op);
    c->done_on_return = c->r->done;
    kms_rpcc_cancel(c->op); /* still valid, and harmless */
    assert_int_equal(c->r->done, 0);
    uv_close((uv_handle_t *)t, NULL);
}

static void cancel_pending(void **state)
{
    uv_loop_t loop;
    uv_timer_t t;
    srv_t s;
    kms_rpcc_opts_t o;
    kms_rpcc_t *op;
    run_t r;
    cancel_ctx_t c;

    uv_loop_init(&loop);
    srv_start(&loop, &s, SRV_SILENT);
    default_opts(&o);
    memset(&r, 0, sizeof r);
    r.srv = &s;
    r.pending = 1;
    assert_int_equal(kms_rpcc_start(&loop, (struct sockaddr *)&s.addr, &o, done_cb, &r, &op), 0);
    uv_timer_init(&loop, &t);
    c.op = op;
    c.r = &r;
    c.done_on_return = -1;
    t.data = &c;
    uv_timer_start(&t, cancel_timer_cb, 50, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(c.done_on_return, 0); /* no callback from inside cancel */
    assert_int_equal(r.done, 1);           /* exactly once, from the loop */
    assert_int_equal(r.last.err, KMS_ECANCELED);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_BIND);
}

/* Cancelled before the loop ever ran: the connect is still in flight. */
static void cancel_right_after_start(void **state)
{
    uv_loop_t loop;
    srv_t s;
    kms_rpcc_opts_t o;
    kms_rpcc_t *op;
    run_t r;

    uv_loop_init(&loop);
    srv_start(&loop, &s, SRV_NORMAL);
    default_opts(&o);
    memset(&r, 0, sizeof r);
    r.srv = &s;
    r.pending = 1;
    assert_int_equal(kms_rpcc_start(&loop, (struct sockaddr *)&s.addr, &o, done_cb, &r, &op), 0);
    kms_rpcc_cancel(op);
    assert_int_equal(r.done, 0);
    kms_rpcc_cancel(op);
    kms_rpcc_cancel(NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.last.err, KMS_ECANCELED);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_CONNECT);
    assert_false(r.last.bind_accepted);
}

/* kms_rpcc_cancel() from inside the operation's own callback does nothing. */
static void cancel_inside_callback_is_a_no_op(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    memset(&r, 0, sizeof r);
    r.cancel_in_cb = 1;
    run_srv(SRV_NORMAL, NULL, 0, &o, &r, NULL);
    assert_int_equal(r.last.err, 0);
    assert_int_equal(r.ok, 1);
}

/* A failed start returns the error and never calls back. */
static void failed_start_never_calls_back(void **state)
{
    uv_loop_t loop;
    struct sockaddr sa;
    kms_rpcc_opts_t o;
    kms_rpcc_t *op = (kms_rpcc_t *)&o;
    run_t r;

    uv_loop_init(&loop);
    default_opts(&o);
    memset(&r, 0, sizeof r);
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNIX;
    assert_int_equal(kms_rpcc_start(&loop, &sa, &o, done_cb, &r, &op), KMS_EINVAL);
    assert_null(op);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.done, 0);
}

static void many_concurrent(void **state)
{
    uv_loop_t loop;
    srv_t s;
    kms_rpcc_opts_t o;
    run_t r;
    enum { N = 200 };

    uv_loop_init(&loop);
    srv_start(&loop, &s, SRV_NORMAL);
    default_opts(&o);
    o.connect_timeout_ms = o.exchange_timeout_ms = 10000;
    memset(&r, 0, sizeof r);
    r.srv = &s;
    r.pending = N;
    for (int i = 0; i < N; i++) {
        o.bind_style = i % 2 ? KMS_RPCC_BIND_WINDOWS : KMS_RPCC_BIND_NDR32;
        assert_int_equal(kms_rpcc_start(&loop, (struct sockaddr *)&s.addr, &o, done_cb, &r, NULL),
                         0);
    }
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.done, N);
    assert_int_equal(r.ok, N);
    assert_int_equal(s.accepted, N);
}

static void raw_garbage_gets_closed(void **state)
{
    static const uint8_t junk[16] = {0xff, 0xff, 0xff, 0xff};
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    o.raw = junk;
    o.raw_len = sizeof junk;
    run_one(SRV_NORMAL, &o, &r);
    assert_int_equal(r.last.err, 0);
    assert_true(r.last.raw_closed);
}

/* The server sends every reply DRIP_BYTES at a time, so the client reads
 * PDUs (headers included) in many pieces. */
static void reply_in_many_small_writes(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;
    srv_t s;

    default_opts(&o);
    o.bind_style = KMS_RPCC_BIND_WINDOWS;
    memset(&r, 0, sizeof r);
    run_srv(SRV_DRIP, NULL, 0, &o, &r, &s);
    assert_int_equal(r.last.err, 0);
    assert_int_equal(r.last.n_results, 3);
    assert_true(r.last.have_response);
    assert_int_equal(r.last.response.current_count, 26);
    assert_string_equal(r.last.response.host_epid, "test-host");
    assert_true(s.drip_writes > 2 * KMS_RPC_HEADER_LEN / DRIP_BYTES);
}

/* Several response fragments in one write are reassembled. */
static void fragments_in_one_write(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    run_one(SRV_FRAGMENTED, &o, &r);
    assert_int_equal(r.last.err, 0);
    assert_true(r.last.have_response);
    assert_int_equal(r.last.response.current_count, 26);
    assert_string_equal(r.last.response.host_epid, "test-host");
}

/* bind_ack and the response in one write: the second PDU, framed from the
 * same read, is handled as the response once the bind_ack is. */
static void bind_ack_and_response_in_one_write(void **state)
{
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    run_one(SRV_EAGER, &o, &r);
    assert_int_equal(r.last.err, 0);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_REQUEST);
    assert_true(r.last.have_response);
    assert_string_equal(r.last.response.host_epid, "eager-host");
}

/* A header no PDU can start with: KMS_EPROTO, as before the framer. */
static void invalid_reply_header_is_eproto(void **state)
{
    uint8_t bad[KMS_RPC_HEADER_LEN] = {5, 0, KMS_PTYPE_BIND_ACK, 3, 0x10};
    kms_rpcc_opts_t o;
    run_t r;

    default_opts(&o);
    bad[0] = 4; /* rpc_vers */
    bad[8] = KMS_RPC_HEADER_LEN;
    run_srv(SRV_CANNED, bad, sizeof bad, &o, &r, NULL);
    assert_int_equal(r.last.err, KMS_EPROTO);
    assert_int_equal(r.last.stage, KMS_RPCC_STAGE_BIND);

    bad[0] = 5;
    bad[8] = 8; /* frag_length below the header */
    memset(&r, 0, sizeof r);
    run_srv(SRV_CANNED, bad, sizeof bad, &o, &r, NULL);
    assert_int_equal(r.last.err, KMS_EPROTO);
}

/* Raw mode stops when the reply is whole PDUs, even when it arrives in
 * pieces; a reply with an invalid header is never whole. */
static void raw_reply_ends_on_whole_pdus(void **state)
{
    kms_rpc_ctx_elem_t ctx;
    kms_wr_t bind;
    uint8_t hdr_only[KMS_RPC_HEADER_LEN] = {5, 0, KMS_PTYPE_BIND_ACK, 3, 0x10};
    kms_rpcc_opts_t o;
    run_t r;

    memset(&ctx, 0, sizeof ctx);
    ctx.n_tsyn = 1;
    ctx.abstract = kms_rpc_kms_iface;
    ctx.tsyn[0] = kms_rpc_ndr32;
    kms_wr_init(&bind);
    kms_rpc_build_bind(&bind, KMS_PTYPE_BIND, 1, 5840, 5840, 0, &ctx, 1);
    assert_int_equal(bind.err, 0);
    default_opts(&o);
    o.raw = bind.buf;
    o.raw_len = bind.len;
    memset(&r, 0, sizeof r);
    run_srv(SRV_DRIP, NULL, 0, &o, &r, NULL);
    assert_int_equal(r.last.err, 0);
    assert_false(r.last.raw_closed);
    assert_true(r.last.raw_reply_len > DRIP_BYTES);
    assert_int_equal(r.raw_frame_len, (int)r.last.raw_reply_len); /* exactly the bind_ack */
    kms_wr_free(&bind);

    /* A header-only PDU is whole at once. */
    hdr_only[8] = KMS_RPC_HEADER_LEN;
    o.raw = hdr_only;
    o.raw_len = sizeof hdr_only;
    memset(&r, 0, sizeof r);
    run_srv(SRV_CANNED, hdr_only, sizeof hdr_only, &o, &r, NULL);
    assert_int_equal(r.last.err, 0);
    assert_false(r.last.raw_closed);
    assert_int_equal(r.last.raw_reply_len, KMS_RPC_HEADER_LEN);

    /* rpc_vers 4: collected until the exchange timeout. */
    hdr_only[0] = 4;
    o.exchange_timeout_ms = 150;
    memset(&r, 0, sizeof r);
    run_srv(SRV_CANNED, hdr_only, sizeof hdr_only, &o, &r, NULL);
    assert_int_equal(r.last.err, KMS_ETIMEOUT);
    assert_false(r.last.raw_closed);
    assert_int_equal(r.last.raw_reply_len, KMS_RPC_HEADER_LEN);
}

static void *server_thread(void *arg)
{
    uv_run(arg, UV_RUN_DEFAULT);
    return NULL;
}

static void stop_async_cb(uv_async_t *a)
{
    srv_stop(a->data);
    uv_close((uv_handle_t *)a, NULL);
}

static void sync_wrapper(void **state)
{
    uv_loop_t loop;
    uv_async_t stop;
    srv_t s;
    pthread_t th;
    kms_rpcc_opts_t o;
    kms_rpcc_result_t res;

    uv_loop_init(&loop);
    srv_start(&loop, &s, SRV_NORMAL);
    uv_async_init(&loop, &stop, stop_async_cb);
    stop.data = &s;
    assert_int_equal(pthread_create(&th, NULL, server_thread, &loop), 0);
    default_opts(&o);
    assert_int_equal(kms_rpcc_run((struct sockaddr *)&s.addr, &o, &res, NULL), 0);
    assert_int_equal(res.response.current_count, 26);
    uv_async_send(&stop);
    pthread_join(th, NULL);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_exchange_ndr32),
        cmocka_unit_test(windows_bind_exchange),
        cmocka_unit_test(bind_only_and_handler_fault),
        cmocka_unit_test(connection_refused),
        cmocka_unit_test(bind_timeout),
        cmocka_unit_test(cancel_pending),
        cmocka_unit_test(cancel_right_after_start),
        cmocka_unit_test(cancel_inside_callback_is_a_no_op),
        cmocka_unit_test(failed_start_never_calls_back),
        cmocka_unit_test(many_concurrent),
        cmocka_unit_test(raw_garbage_gets_closed),
        cmocka_unit_test(reply_in_many_small_writes),
        cmocka_unit_test(fragments_in_one_write),
        cmocka_unit_test(bind_ack_and_response_in_one_write),
        cmocka_unit_test(invalid_reply_header_is_eproto),
        cmocka_unit_test(raw_reply_ends_on_whole_pdus),
        cmocka_unit_test(sync_wrapper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
