/*
 * probe.c - TCP connect + RPC bind to the KMS interface (see probe.h).
 */
#include "resolver/probe.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/guid.h"

#define PTYPE_BIND     11
#define PTYPE_BIND_ACK 12
#define PTYPE_BIND_NAK 13
#define MAX_ANSWER     4096

static const char KMS_IFACE[] = "51c82175-844e-4750-b0d8-ec255555bc06";
static const char NDR32[] = "8a885d04-1ceb-11c9-9fe8-08002b104860";

typedef struct {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t conn;
    uv_write_t wreq;
    int closing, open;
    loc_probe_cb cb;
    void *ud;
    loc_probe_result_t res;
    uint64_t started;
    uint8_t *out;
    uint8_t in[MAX_ANSWER];
    size_t in_len;
} probe_t;

const char *loc_probe_state_name(loc_probe_state_t s)
{
    switch (s) {
    case LOC_PROBE_OK:
        return "answered (RPC bind accepted)";
    case LOC_PROBE_REFUSED:
        return "connection refused";
    case LOC_PROBE_TIMEOUT:
        return "no answer (timeout)";
    case LOC_PROBE_UNREACHABLE:
        return "unreachable";
    case LOC_PROBE_CLOSED:
        return "connection closed before the RPC bind answer";
    case LOC_PROBE_REJECTED:
        return "RPC bind rejected (not a KMS host)";
    case LOC_PROBE_BADREPLY:
        return "not an RPC bind answer";
    }
    return "?";
}

int loc_probe_bind_pdu(kms_wr_t *wr, uint32_t call_id)
{
    kms_guid_t iface, ndr;

    kms_guid_parse(KMS_IFACE, &iface);
    kms_guid_parse(NDR32, &ndr);
    /* C706 12.6.3.1 common header */
    kms_wr_u8(wr, 5);
    kms_wr_u8(wr, 0);
    kms_wr_u8(wr, PTYPE_BIND);
    kms_wr_u8(wr, 0x03);          /* PFC_FIRST_FRAG | PFC_LAST_FRAG */
    kms_wr_u32le(wr, 0x00000010); /* drep: little-endian, ASCII, IEEE */
    kms_wr_u16le(wr, 72);         /* frag_length */
    kms_wr_u16le(wr, 0);          /* auth_length */
    kms_wr_u32le(wr, call_id);
    /* 12.6.4.3 bind */
    kms_wr_u16le(wr, 5840); /* max_xmit_frag */
    kms_wr_u16le(wr, 5840); /* max_recv_frag */
    kms_wr_u32le(wr, 0);    /* assoc_group_id */
    kms_wr_u8(wr, 1);       /* n_context_elem */
    kms_wr_zeros(wr, 3);
    kms_wr_u16le(wr, 0); /* p_cont_id */
    kms_wr_u8(wr, 1);    /* n_transfer_syn */
    kms_wr_u8(wr, 0);
    kms_wr_guid(wr, &iface);
    kms_wr_u16le(wr, 1); /* version 1.0 */
    kms_wr_u16le(wr, 0);
    kms_wr_guid(wr, &ndr);
    kms_wr_u32le(wr, 2);
    return wr->err;
}

loc_probe_state_t loc_probe_parse_answer(const uint8_t *pdu, size_t len)
{
    kms_rd_t rd;
    uint8_t vers, minor, ptype, flags, drep0, n_results;
    uint16_t frag_len, auth_len, sec_len, result;
    uint32_t drep, call_id, assoc;
    uint16_t xmit, recv;
    int le;

    kms_rd_init(&rd, pdu, len);
    kms_rd_u8(&rd, &vers);
    kms_rd_u8(&rd, &minor);
    kms_rd_u8(&rd, &ptype);
    kms_rd_u8(&rd, &flags);
    kms_rd_u32le(&rd, &drep);
    drep0 = (uint8_t)(drep & 0xff);
    le = (drep0 & 0xf0) == 0x10;
    kms_rd_u16(&rd, le, &frag_len);
    kms_rd_u16(&rd, le, &auth_len);
    kms_rd_u32(&rd, le, &call_id);
    if (rd.err || vers != 5 || frag_len > len || frag_len < 16)
        return LOC_PROBE_BADREPLY;
    if (ptype == PTYPE_BIND_NAK)
        return LOC_PROBE_REJECTED;
    if (ptype != PTYPE_BIND_ACK)
        return LOC_PROBE_BADREPLY;
    kms_rd_init(&rd, pdu, frag_len);
    kms_rd_skip(&rd, 16);
    kms_rd_u16(&rd, le, &xmit);
    kms_rd_u16(&rd, le, &recv);
    kms_rd_u32(&rd, le, &assoc);
    kms_rd_u16(&rd, le, &sec_len); /* port_any_t: length incl. NUL, then the bytes */
    kms_rd_skip(&rd, sec_len);
    kms_rd_align(&rd, 4);
    kms_rd_u8(&rd, &n_results);
    kms_rd_skip(&rd, 3);
    kms_rd_u16(&rd, le, &result);
    if (rd.err || n_results < 1)
        return LOC_PROBE_BADREPLY;
    return result == 0 ? LOC_PROBE_OK : LOC_PROBE_REJECTED; /* 0: acceptance */
}

static void on_closed(uv_handle_t *h)
{
    probe_t *p = h->data;

    if (--p->open > 0)
        return;
    p->cb(p->ud, &p->res);
    free(p->out);
    free(p);
}

static void finish(probe_t *p, loc_probe_state_t st, int err)
{
    if (p->closing)
        return;
    p->closing = 1;
    p->res.state = st;
    p->res.err = err;
    p->res.hr = st == LOC_PROBE_OK ? 0 : 0x800706BAu;
    p->res.ms = uv_now(p->timer.loop) - p->started;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_closed);
    uv_close((uv_handle_t *)&p->tcp, on_closed);
}

static void on_timeout(uv_timer_t *t)
{
    finish(t->data, LOC_PROBE_TIMEOUT, KMS_ETIMEOUT);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    probe_t *p = h->data;

    (void)suggested;
    buf->base = (char *)p->in + p->in_len;
    buf->len = sizeof(p->in) - p->in_len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    probe_t *p = s->data;
    kms_rd_t rd;
    uint16_t frag_len = 0;

    (void)buf;
    if (nread < 0) {
        finish(p, LOC_PROBE_CLOSED, nread == UV_EOF ? KMS_ECLOSED : kms_err_from_uv((int)nread));
        return;
    }
    p->in_len += (size_t)nread;
    if (p->in_len < 16)
        return;
    kms_rd_init(&rd, p->in, p->in_len);
    kms_rd_skip(&rd, 8);
    kms_rd_u16(&rd, (p->in[4] & 0xf0) == 0x10, &frag_len);
    if (frag_len < 16 || frag_len > sizeof(p->in)) {
        finish(p, LOC_PROBE_BADREPLY, KMS_EPROTO);
        return;
    }
    if (p->in_len < frag_len)
        return;
    {
        loc_probe_state_t st = loc_probe_parse_answer(p->in, frag_len);
        finish(p, st, st == LOC_PROBE_OK ? 0 : KMS_EPROTO);
    }
}

static void on_written(uv_write_t *w, int status)
{
    probe_t *p = w->data;

    if (status < 0 && status != UV_ECANCELED)
        finish(p, LOC_PROBE_CLOSED, kms_err_from_uv(status));
}

static void on_connect(uv_connect_t *c, int status)
{
    probe_t *p = c->data;
    kms_wr_t wr;
    size_t len;
    uv_buf_t b;

    if (status == UV_ECANCELED || p->closing)
        return;
    if (status < 0) {
        finish(p,
               status == UV_ECONNREFUSED ? LOC_PROBE_REFUSED
               : status == UV_ETIMEDOUT  ? LOC_PROBE_TIMEOUT
                                         : LOC_PROBE_UNREACHABLE,
               kms_err_from_uv(status));
        return;
    }
    kms_wr_init(&wr);
    loc_probe_bind_pdu(&wr, 1);
    p->out = kms_wr_steal(&wr, &len);
    if (!p->out) {
        finish(p, LOC_PROBE_UNREACHABLE, KMS_ENOMEM);
        return;
    }
    b = uv_buf_init((char *)p->out, (unsigned)len);
    p->wreq.data = p;
    if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) != 0 ||
        uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, on_written) != 0)
        finish(p, LOC_PROBE_CLOSED, KMS_EIO);
}

int loc_probe_start(uv_loop_t *loop, const struct sockaddr *sa, unsigned timeout_ms,
                    loc_probe_cb cb, void *ud)
{
    probe_t *p = calloc(1, sizeof(*p));
    int rc;

    if (!p)
        return KMS_ENOMEM;
    p->cb = cb;
    p->ud = ud;
    kms_addr_format(sa, p->res.addr);
    uv_update_time(loop);
    p->started = uv_now(loop);
    uv_tcp_init(loop, &p->tcp);
    uv_timer_init(loop, &p->timer);
    p->tcp.data = p->timer.data = p->conn.data = p;
    p->open = 2;
    uv_timer_start(&p->timer, on_timeout, timeout_ms ? timeout_ms : 1, 0);
    rc = uv_tcp_connect(&p->conn, &p->tcp, sa, on_connect);
    if (rc != 0) {
        /* Report from the loop like every other failure. */
        finish(p, rc == UV_ECONNREFUSED ? LOC_PROBE_REFUSED : LOC_PROBE_UNREACHABLE,
               kms_err_from_uv(rc));
    }
    return 0;
}
