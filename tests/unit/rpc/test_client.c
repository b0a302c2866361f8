/* Unit tests for kms/rpc_client against an in-process libuv server that
 * runs kms/rpc_conn with a dummy activation handler. */
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

typedef enum { SRV_NORMAL, SRV_SILENT, SRV_FAIL } srv_mode_t;

typedef struct {
    uv_tcp_t listener;
    struct sockaddr_in addr;
    srv_mode_t mode;
    int accepted;
} srv_t;

typedef struct {
    uv_tcp_t tcp;
    srv_t *srv;
    kms_rpc_conn_t *rpc;
    kms_wr_t in;
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

    kms_rpc_conn_free(c->rpc);
    kms_wr_free(&c->in);
    free(c);
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

static void s_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    sconn_t *c = st->data;
    kms_wr_t out;
    size_t off = 0;

    (void)b;
    if (n < 0) {
        uv_close((uv_handle_t *)st, sconn_closed);
        return;
    }
    c->in.len += (size_t)n;
    if (c->srv->mode == SRV_SILENT) {
        c->in.len = 0;
        return;
    }
    kms_wr_init(&out);
    for (;;) {
        int fl = kms_rpc_frame_len(c->in.buf + off, c->in.len - off, 0);

        if (fl < 0 || (fl > 0 && kms_rpc_conn_pdu(c->rpc, c->in.buf + off, (size_t)fl, &out) < 0)) {
            kms_wr_free(&out);
            uv_read_stop(st);
            uv_close((uv_handle_t *)st, sconn_closed);
            return;
        }
        if (fl == 0 || (size_t)fl > c->in.len - off)
            break;
        off += (size_t)fl;
    }
    memmove(c->in.buf, c->in.buf + off, c->in.len - off);
    c->in.len -= off;
    if (out.len) {
        uv_write_t *w = malloc(sizeof *w);
        size_t len;
        uv_buf_t ob;

        w->data = kms_wr_steal(&out, &len);
        ob = uv_buf_init(w->data, (unsigned)len);
        uv_write(w, st, &ob, 1, s_written);
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
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
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
} run_t;

static void done_cb(kms_rpcc_t *op, const kms_rpcc_result_t *res, void *ud)
{
    run_t *r = ud;

    (void)op;
    r->last = *res;
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

static void run_one(srv_mode_t mode, const kms_rpcc_opts_t *o, run_t *r)
{
    uv_loop_t loop;
    srv_t s;

    memset(r, 0, sizeof *r);
    uv_loop_init(&loop);
    srv_start(&loop, &s, mode);
    r->srv = &s;
    r->pending = 1;
    assert_int_equal(kms_rpcc_start(&loop, (struct sockaddr *)&s.addr, o, done_cb, r, NULL), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r->done, 1);
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

static void cancel_timer_cb(uv_timer_t *t)
{
    kms_rpcc_cancel(t->data);
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

    uv_loop_init(&loop);
    srv_start(&loop, &s, SRV_SILENT);
    default_opts(&o);
    memset(&r, 0, sizeof r);
    r.srv = &s;
    r.pending = 1;
    assert_int_equal(kms_rpcc_start(&loop, (struct sockaddr *)&s.addr, &o, done_cb, &r, &op), 0);
    uv_timer_init(&loop, &t);
    t.data = op;
    uv_timer_start(&t, cancel_timer_cb, 50, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.last.err, KMS_ECANCELED);
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
        cmocka_unit_test(many_concurrent),
        cmocka_unit_test(raw_garbage_gets_closed),
        cmocka_unit_test(sync_wrapper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
