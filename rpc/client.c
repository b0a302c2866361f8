/* SPDX-License-Identifier: MIT */
/*
 * client.c - asynchronous KMS RPC client; see client.h.
 */
#include "rpc/client.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rpc/conn.h"
#include "rpc/framer.h"

#define DEFAULT_TIMEOUT_MS 5000
#define CLIENT_FRAG        KMS_RPC_MAX_FRAG
#define REQ_HDR_LEN        24
#define READ_LEN           4096

struct kms_rpcc {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    int handles; /* open handles; freed when it drops to 0 */
    int done;    /* the result is decided; the callback has run or is due */
    int raw_bad; /* raw mode: the reply holds a header no PDU can start with */
    kms_rpcc_opts_t opts;
    uint8_t *raw;
    kms_framer_t framer;  /* the reply stream cut into PDUs (rpc/framer.h) */
    kms_wr_t rx;          /* raw mode: every byte received */
    kms_wr_t stub;        /* response stub being reassembled */
    uint8_t in[READ_LEN]; /* read buffer: handed out by alloc_cb, consumed by on_read */
    uint32_t call_id;
    uint16_t cont_id, xmit_frag;
    uint64_t t0;
    kms_rpcc_cb cb;
    void *ud;
    kms_rpcc_result_t res;
};

typedef struct {
    uv_write_t req;
    uint8_t *buf;
    kms_rpcc_t *op;
} wreq_t;

const char *kms_rpcc_stage_name(kms_rpcc_stage_t s)
{
    switch (s) {
    case KMS_RPCC_STAGE_CONNECT:
        return "connect";
    case KMS_RPCC_STAGE_BIND:
        return "bind";
    case KMS_RPCC_STAGE_REQUEST:
        return "request";
    }
    return "?";
}

static void on_close(uv_handle_t *h)
{
    kms_rpcc_t *op = h->data;

    if (--op->handles > 0)
        return;
    kms_framer_reset(&op->framer);
    kms_wr_free(&op->rx);
    kms_wr_free(&op->stub);
    free(op->raw);
    free(op);
}

/* Decide the result: nothing else completes @p op after this. */
static void settle(kms_rpcc_t *op, int err)
{
    op->done = 1;
    op->res.err = err;
    op->res.elapsed_us = (uv_hrtime() - op->t0) / 1000;
    uv_read_stop((uv_stream_t *)&op->tcp);
    uv_timer_stop(&op->timer);
}

/* Run the callback, then close the handles (memory goes in on_close). */
static void deliver(kms_rpcc_t *op)
{
    if (op->raw) {
        op->res.raw_reply = op->rx.buf;
        op->res.raw_reply_len = op->rx.len;
    }
    op->cb(op, &op->res, op->ud);
    op->res.raw_reply = NULL;
    uv_close((uv_handle_t *)&op->tcp, on_close);
    uv_close((uv_handle_t *)&op->timer, on_close);
}

/* Complete @p op with @p err; only from a loop callback of this operation. */
static void finish(kms_rpcc_t *op, int err)
{
    if (op->done)
        return;
    settle(op, err);
    deliver(op);
}

static void on_cancel(uv_timer_t *t)
{
    deliver(t->data);
}

void kms_rpcc_cancel(kms_rpcc_t *op)
{
    if (!op || op->done)
        return;
    settle(op, KMS_ECANCELED);
    /* No callback from inside the call that cancelled (STYLE.md 13): the
     * operation's own timer, now free, delivers on the next loop turn. */
    uv_timer_start(&op->timer, on_cancel, 0, 0);
}

static void on_timeout(uv_timer_t *t)
{
    finish(t->data, KMS_ETIMEOUT);
}

static void arm(kms_rpcc_t *op, unsigned ms)
{
    uv_timer_start(&op->timer, on_timeout, ms ? ms : DEFAULT_TIMEOUT_MS, 0);
}

static void on_write(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;

    if (status < 0 && !w->op->done)
        finish(w->op, status == UV_ECANCELED ? KMS_ECANCELED : kms_err_from_uv(status));
    free(w->buf);
    free(w);
}

/* Send the bytes of @p wr (taken over). */
static int send_wr(kms_rpcc_t *op, kms_wr_t *wr)
{
    wreq_t *w;
    uv_buf_t b;
    size_t len;
    int r;

    if (wr->err) {
        r = wr->err;
        kms_wr_free(wr);
        return r;
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        kms_wr_free(wr);
        return KMS_ENOMEM;
    }
    w->op = op;
    w->buf = kms_wr_steal(wr, &len);
    b = uv_buf_init((char *)w->buf, (unsigned)len);
    r = uv_write(&w->req, (uv_stream_t *)&op->tcp, &b, 1, on_write);
    if (r < 0) {
        free(w->buf);
        free(w);
        return kms_err_from_uv(r);
    }
    return 0;
}

static int send_bind(kms_rpcc_t *op)
{
    kms_rpc_ctx_elem_t ctx[3];
    size_t n = 1;
    kms_wr_t wr;

    memset(ctx, 0, sizeof ctx);
    ctx[0].cont_id = 0;
    ctx[0].n_tsyn = 1;
    ctx[0].abstract = kms_rpc_kms_iface;
    ctx[0].tsyn[0] = kms_rpc_ndr32;
    if (op->opts.bind_style == KMS_RPCC_BIND_WINDOWS) {
        ctx[1] = ctx[0];
        ctx[1].cont_id = 1;
        ctx[1].tsyn[0] = kms_rpc_ndr64;
        ctx[2] = ctx[0];
        ctx[2].cont_id = 2;
        /* Windows proposes both feature bits (MS-RPCE 2.2.2.14). */
        kms_rpc_btfn_syntax(0x03, &ctx[2].tsyn[0]);
        n = 3;
    }
    kms_wr_init(&wr);
    op->call_id = 1;
    kms_rpc_build_bind(&wr, KMS_PTYPE_BIND, op->call_id, CLIENT_FRAG, CLIENT_FRAG, 0, ctx, n);
    return send_wr(op, &wr);
}

static int send_request(kms_rpcc_t *op)
{
    kms_wr_t stub, wr;
    size_t chunk, off = 0;
    int r;

    kms_wr_init(&stub);
    if ((r = kms_act_encode_request(&op->opts.request, &stub)) != 0) {
        kms_wr_free(&stub);
        return r;
    }
    kms_wr_init(&wr);
    op->call_id++;
    chunk = ((size_t)op->xmit_frag - REQ_HDR_LEN) & ~(size_t)7;
    do {
        size_t n = stub.len - off > chunk ? chunk : stub.len - off;
        uint8_t flags =
            (off == 0 ? KMS_PFC_FIRST_FRAG : 0) | (off + n == stub.len ? KMS_PFC_LAST_FRAG : 0);

        kms_rpc_build_request(&wr, flags, op->call_id, (uint32_t)(stub.len - off), op->cont_id, 0,
                              NULL, stub.buf + off, n);
        off += n;
    } while (off < stub.len);
    kms_wr_free(&stub);
    return send_wr(op, &wr);
}

static void on_bind_reply(kms_rpcc_t *op, const uint8_t *pdu, size_t len, uint8_t ptype)
{
    kms_rpc_bind_ack_t *a;
    int r;

    if (ptype == KMS_PTYPE_BIND_NAK) {
        kms_rpc_bind_nak_t nk;

        if ((r = kms_rpc_parse_bind_nak(pdu, len, &nk)) != 0) {
            finish(op, r);
            return;
        }
        op->res.bind_nak = 1;
        op->res.nak_reason = nk.reason;
        finish(op, KMS_EPROTO);
        return;
    }
    if (ptype == KMS_PTYPE_FAULT) {
        kms_rpc_fault_t f;

        if ((r = kms_rpc_parse_fault(pdu, len, &f)) != 0) {
            finish(op, r);
            return;
        }
        op->res.fault_status = f.status;
        finish(op, KMS_EPROTO);
        return;
    }
    if (ptype != KMS_PTYPE_BIND_ACK) {
        finish(op, KMS_EPROTO);
        return;
    }
    a = malloc(sizeof *a);
    if (!a) {
        finish(op, KMS_ENOMEM);
        return;
    }
    if ((r = kms_rpc_parse_bind_ack(pdu, len, a)) != 0) {
        free(a);
        finish(op, r);
        return;
    }
    op->res.n_results = a->n_results;
    for (unsigned i = 0; i < a->n_results && i < 3; i++)
        op->res.results[i] = a->results[i];
    if (a->n_results > 0) {
        op->res.bind_result = a->results[0].result;
        op->res.bind_reason = a->results[0].reason;
        op->res.bind_accepted = a->results[0].result == KMS_RPC_ACCEPTANCE &&
                                kms_guid_eq(&a->results[0].tsyn.uuid, &kms_rpc_ndr32.uuid);
    }
    op->xmit_frag = a->max_recv_frag < 1432 ? 1432 : a->max_recv_frag;
    if (op->xmit_frag > CLIENT_FRAG)
        op->xmit_frag = CLIENT_FRAG;
    free(a);
    op->cont_id = 0;
    if (!op->res.bind_accepted) {
        finish(op, KMS_EPROTO);
        return;
    }
    if (!op->opts.send_request) {
        finish(op, 0);
        return;
    }
    op->res.stage = KMS_RPCC_STAGE_REQUEST;
    if ((r = send_request(op)) != 0) {
        finish(op, r);
        return;
    }
    arm(op, op->opts.exchange_timeout_ms);
}

static void on_response(kms_rpcc_t *op, const uint8_t *pdu, size_t len, uint8_t ptype)
{
    kms_rpc_response_t p;
    int r;

    if (ptype == KMS_PTYPE_FAULT) {
        kms_rpc_fault_t f;

        if ((r = kms_rpc_parse_fault(pdu, len, &f)) != 0) {
            finish(op, r);
            return;
        }
        op->res.fault_status = f.status;
        finish(op, KMS_EPROTO);
        return;
    }
    if (ptype != KMS_PTYPE_RESPONSE) {
        finish(op, KMS_EPROTO);
        return;
    }
    if ((r = kms_rpc_parse_response(pdu, len, &p)) != 0) {
        finish(op, r);
        return;
    }
    if (p.hdr.call_id != op->call_id) {
        finish(op, KMS_EPROTO);
        return;
    }
    if (p.hdr.pfc_flags & KMS_PFC_FIRST_FRAG)
        op->stub.len = 0;
    if (p.stub_len > KMS_RPC_MAX_STUB - op->stub.len) {
        finish(op, KMS_ETOOBIG);
        return;
    }
    if (kms_wr_bytes(&op->stub, p.stub, p.stub_len)) {
        finish(op, op->stub.err);
        return;
    }
    if (!(p.hdr.pfc_flags & KMS_PFC_LAST_FRAG))
        return;
    r = kms_act_decode_response(op->stub.buf, op->stub.len, &op->res.response);
    op->res.have_response = r == 0;
    finish(op, r);
}

/* Framer callback: one whole PDU of the reply, to the stage's handler. */
static int on_pdu(void *ud, const uint8_t *pdu, size_t len)
{
    kms_rpcc_t *op = ud;
    uint8_t ptype;
    kms_rd_t rd;

    kms_rd_init(&rd, pdu, len);
    kms_rd_skip(&rd, 2);
    kms_rd_u8(&rd, &ptype);
    if (op->res.stage == KMS_RPCC_STAGE_BIND)
        on_bind_reply(op, pdu, len, ptype);
    else
        on_response(op, pdu, len, ptype);
    /* Once completed, stop framing; the code is only a stop signal, on_read
     * looks at op->done. */
    return op->done ? KMS_ECANCELED : 0;
}

/* Raw mode frames only to tell whether the reply ends on a PDU boundary. */
static int count_pdu(void *ud, const uint8_t *pdu, size_t len)
{
    (void)ud;
    (void)pdu;
    (void)len;
    return 0;
}

/* Raw mode: keep every byte; done once they form only whole PDUs. */
static void raw_input(kms_rpcc_t *op, const uint8_t *data, size_t n)
{
    int r;

    if (kms_wr_bytes(&op->rx, data, n)) {
        finish(op, op->rx.err);
        return;
    }
    if (op->raw_bad)
        return; /* never whole again: wait for the close or the timeout */
    r = kms_framer_feed(&op->framer, data, n, KMS_RPC_MAX_PDU, count_pdu, NULL);
    if (r == KMS_ENOMEM) {
        finish(op, r);
        return;
    }
    if (r < 0) {
        op->raw_bad = 1;
        kms_framer_reset(&op->framer);
        return;
    }
    if (kms_framer_pending(&op->framer) == 0)
        finish(op, 0);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    kms_rpcc_t *op = h->data;

    (void)suggested;
    *buf = uv_buf_init((char *)op->in, sizeof op->in);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    kms_rpcc_t *op = s->data;
    int r;

    if (op->done)
        return;
    if (nread < 0) {
        if (op->raw) {
            op->res.raw_closed = 1;
            finish(op, 0);
            return;
        }
        finish(op, nread == UV_EOF ? KMS_ECLOSED : kms_err_from_uv((int)nread));
        return;
    }
    if (nread == 0)
        return;
    if (op->raw) {
        raw_input(op, (const uint8_t *)buf->base, (size_t)nread);
        return;
    }
    r = kms_framer_feed(&op->framer, (const uint8_t *)buf->base, (size_t)nread, KMS_RPC_MAX_PDU,
                        on_pdu, op);
    if (op->done)
        return;
    /* A header that cannot start a PDU (kms_rpc_frame_len()) is the peer's fault. */
    if (r < 0)
        finish(op, r == KMS_ENOMEM ? r : KMS_EPROTO);
}

static void on_connect(uv_connect_t *req, int status)
{
    kms_rpcc_t *op = req->data;
    int r;

    if (op->done)
        return;
    if (status < 0) {
        finish(op, status == UV_ECONNREFUSED ? KMS_ECONNREFUSED : kms_err_from_uv(status));
        return;
    }
    op->res.stage = KMS_RPCC_STAGE_BIND;
    if ((r = uv_read_start((uv_stream_t *)&op->tcp, alloc_cb, on_read)) < 0) {
        finish(op, kms_err_from_uv(r));
        return;
    }
    if (op->raw) {
        kms_wr_t wr;

        kms_wr_init(&wr);
        kms_wr_bytes(&wr, op->raw, op->opts.raw_len);
        r = op->opts.raw_len ? send_wr(op, &wr) : 0;
    } else {
        r = send_bind(op);
    }
    if (r) {
        finish(op, r);
        return;
    }
    arm(op, op->opts.exchange_timeout_ms);
}

int kms_rpcc_start(uv_loop_t *loop, const struct sockaddr *sa, const kms_rpcc_opts_t *opts,
                   kms_rpcc_cb cb, void *ud, kms_rpcc_t **out)
{
    kms_rpcc_t *op;
    int r;

    if (out)
        *out = NULL;
    if (!loop || !sa || !opts || !cb || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
        return KMS_EINVAL;
    op = calloc(1, sizeof *op);
    if (!op)
        return KMS_ENOMEM;
    op->opts = *opts;
    if (opts->raw) {
        op->raw = malloc(opts->raw_len ? opts->raw_len : 1);
        if (!op->raw) {
            free(op);
            return KMS_ENOMEM;
        }
        memcpy(op->raw, opts->raw, opts->raw_len);
    }
    op->opts.raw = NULL;
    op->cb = cb;
    op->ud = ud;
    op->t0 = uv_hrtime();
    op->xmit_frag = CLIENT_FRAG;
    kms_wr_init(&op->rx);
    kms_wr_init(&op->stub);
    if ((r = uv_tcp_init(loop, &op->tcp)) < 0) {
        free(op->raw);
        free(op);
        return kms_err_from_uv(r);
    }
    uv_timer_init(loop, &op->timer);
    op->tcp.data = op->timer.data = op->creq.data = op;
    op->handles = 2;
    /* libuv reports every connect outcome from the loop (an immediate
     * ECONNREFUSED too), so nothing below calls back from inside start. */
    r = uv_tcp_connect(&op->creq, &op->tcp, sa, on_connect);
    if (r < 0) {
        /* No callback for a failed start: close quietly. */
        op->done = 1;
        uv_close((uv_handle_t *)&op->tcp, on_close);
        uv_close((uv_handle_t *)&op->timer, on_close);
        return kms_err_from_uv(r);
    }
    arm(op, opts->connect_timeout_ms);
    if (out)
        *out = op;
    return 0;
}

typedef struct {
    kms_rpcc_result_t *res;
    kms_wr_t *raw;
} sync_ctx_t;

static void sync_cb(kms_rpcc_t *op, const kms_rpcc_result_t *res, void *ud)
{
    sync_ctx_t *s = ud;

    (void)op;
    *s->res = *res;
    if (s->raw && res->raw_reply_len)
        kms_wr_bytes(s->raw, res->raw_reply, res->raw_reply_len);
    s->res->raw_reply = NULL;
}

int kms_rpcc_run(const struct sockaddr *sa, const kms_rpcc_opts_t *opts, kms_rpcc_result_t *res,
                 kms_wr_t *raw_reply)
{
    uv_loop_t loop;
    sync_ctx_t s = {res, raw_reply};
    int r;

    memset(res, 0, sizeof *res);
    if ((r = uv_loop_init(&loop)) < 0)
        return kms_err_from_uv(r);
    r = kms_rpcc_start(&loop, sa, opts, sync_cb, &s, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (r)
        res->err = r;
    return res->err;
}
