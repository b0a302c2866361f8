/* SPDX-License-Identifier: MIT */
/*
 * transport.c - one DNS exchange over UDP or TCP on libuv (see transport.h).
 */
#include "dns/transport.h"

#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/wire.h"
#include "dns/stream.h"

typedef struct udp_mux udp_mux_t;

struct kms_dns_send {
    uv_loop_t *loop;
    struct sockaddr_storage server;
    uint8_t *msg; /* owned: 2-byte TCP length prefix + message */
    size_t len;   /* message length (without the prefix) */
    uint16_t id;
    uint64_t timeout_ms;
    uint64_t start_ms;
    kms_dns_send_cb cb;
    void *ud;

    uv_timer_t timer;
    uv_udp_t udp; /* own socket: the message ID was already waiting on the shared one */
    uv_tcp_t tcp;
    uv_udp_send_t udp_req;
    uv_connect_t conn_req;
    uv_write_t write_req;
    int udp_open, tcp_open;
    int open_handles; /* handles not yet closed, plus a send pending on a shared socket */
    udp_mux_t *mux;   /* the shared socket this exchange waits on, or NULL */
    kms_dns_send_t *mux_next;

    uint8_t *in; /* TCP: received bytes (owned) */
    size_t in_len, in_cap;
    /* We send no EDNS OPT, so a UDP answer is at most 512 bytes (RFC 1035
     * 4.2.1); room for servers that send more.  A datagram that still does
     * not fit is treated like TC=1: the exchange goes over TCP. */
    uint8_t udp_buf[4096];

    int done;
    int status;
    uint8_t *reply; /* owned */
    size_t reply_len;
    kms_dns_send_info_t info;
};

/*
 * Shared UDP sockets: one per (loop, server) while exchanges wait on it, as
 * a stub resolver keeps one socket per server.  Answers are matched by
 * message ID; a message whose ID is already waiting goes out on its own
 * socket.  The socket is connected (only the server's datagrams arrive, and
 * an ICMP error reaches every exchange waiting on it) and closed when the
 * last exchange stops waiting.  A socket, an epoll registration and a bind
 * less per query: most of a query's cost besides the kernel's own.
 */
struct udp_mux {
    uv_udp_t udp; /* first: the callbacks cast back */
    uv_loop_t *loop;
    struct sockaddr_storage server;
    kms_dns_send_t *waiting; /* exchanges waiting for their answer here */
    udp_mux_t *next;
    uint8_t buf[4096]; /* as kms_dns_send.udp_buf */
};

static udp_mux_t *muxes; /* open shared sockets (the loops are single-threaded) */

static void finish(kms_dns_send_t *s, int status, const uint8_t *data, size_t len);

/* The last reference is gone: run the callback, free. */
static void release(kms_dns_send_t *s)
{
    if (--s->open_handles > 0)
        return;
    if (s->cb)
        s->cb(s->status, s->status == 0 ? s->reply : NULL, s->status == 0 ? s->reply_len : 0,
              &s->info, s->ud);
    if (s->msg) /* signed updates and TKEY queries: wiped, not just freed */
        explicit_bzero(s->msg, s->len + 2);
    free(s->msg);
    free(s->in);
    free(s->reply);
    free(s);
}

static void on_close(uv_handle_t *h)
{
    release(h->data);
}

static void mux_closed(uv_handle_t *h)
{
    free(h);
}

/* @p s stops waiting on its shared socket (answered, gone to TCP, failed). */
static void mux_leave(kms_dns_send_t *s)
{
    udp_mux_t *m = s->mux;
    kms_dns_send_t **pp;

    if (!m)
        return;
    for (pp = &m->waiting; *pp && *pp != s; pp = &(*pp)->mux_next)
        ;
    if (*pp)
        *pp = s->mux_next;
    s->mux = NULL;
    s->mux_next = NULL;
    if (m->waiting)
        return;
    /* idle: out of the registry now, closed (pending sends canceled) */
    udp_mux_t **mp;
    for (mp = &muxes; *mp && *mp != m; mp = &(*mp)->next)
        ;
    if (*mp)
        *mp = m->next;
    uv_udp_recv_stop(&m->udp);
    uv_close((uv_handle_t *)&m->udp, mux_closed);
}

static void close_udp(kms_dns_send_t *s)
{
    if (s->udp_open) {
        s->udp_open = 0;
        uv_udp_recv_stop(&s->udp);
        uv_close((uv_handle_t *)&s->udp, on_close);
    }
}

static void close_tcp(kms_dns_send_t *s)
{
    if (s->tcp_open) {
        s->tcp_open = 0;
        uv_close((uv_handle_t *)&s->tcp, on_close);
    }
}

/* Record the outcome once and close everything; the callback runs in on_close. */
static void finish(kms_dns_send_t *s, int status, const uint8_t *data, size_t len)
{
    if (s->done)
        return;
    s->done = 1;
    s->status = status;
    if (status == 0) {
        s->reply = malloc(len ? len : 1);
        if (!s->reply)
            s->status = KMS_ENOMEM;
        else {
            memcpy(s->reply, data, len);
            s->reply_len = len;
        }
        s->info.rtt_ms = uv_now(s->loop) - s->start_ms;
    }
    uv_timer_stop(&s->timer);
    mux_leave(s);
    close_udp(s);
    close_tcp(s);
    uv_close((uv_handle_t *)&s->timer, on_close);
}

static int is_truncated(const uint8_t *p, size_t len)
{
    kms_rd_t rd;
    uint8_t flags = 0;
    kms_rd_init(&rd, p, len);
    kms_rd_skip(&rd, 2);
    kms_rd_u8(&rd, &flags);
    return !rd.err && (flags & 0x02);
}

static void on_timeout(uv_timer_t *t)
{
    finish(t->data, KMS_ETIMEOUT, NULL, 0);
}

/* ---- TCP --------------------------------------------------------------- */

static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    kms_dns_send_t *s = h->data;
    (void)hint;
    if (s->in_cap - s->in_len < 4096) {
        size_t cap = s->in_cap ? s->in_cap * 2 : 8192;
        if (cap > 65536 + 2 + 4096)
            cap = 65536 + 2 + 4096;
        uint8_t *n = cap > s->in_cap ? realloc(s->in, cap) : NULL;
        if (n) {
            s->in = n;
            s->in_cap = cap;
        }
    }
    buf->base = (char *)(s->in ? s->in + s->in_len : NULL);
    buf->len = s->in ? s->in_cap - s->in_len : 0;
}

static void tcp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    kms_dns_send_t *s = st->data;
    (void)buf;
    if (nread < 0) {
        finish(s, nread == UV_EOF ? KMS_ECLOSED : kms_err_from_uv((int)nread), NULL, 0);
        return;
    }
    if (nread == 0 && s->in_len == s->in_cap) {
        finish(s, KMS_ENOMEM, NULL, 0);
        return;
    }
    s->in_len += (size_t)nread;
    kms_rd_t rd;
    uint16_t n = 0;
    const uint8_t *body = NULL;
    kms_rd_init(&rd, s->in, s->in_len);
    kms_rd_u16be(&rd, &n);
    if (rd.err || kms_rd_left(&rd) < n)
        return; /* need more */
    kms_rd_view(&rd, &body, n);
    if (n < 12 || kms_dns_u16_at(body, n) != s->id) {
        finish(s, KMS_EDNS_BADANSWER, NULL, 0);
        return;
    }
    s->info.tcp = 1;
    finish(s, 0, body, n);
}

static void tcp_written(uv_write_t *req, int status)
{
    kms_dns_send_t *s = req->data;
    if (status < 0 && status != UV_ECANCELED)
        finish(s, kms_err_from_uv(status), NULL, 0);
}

static void tcp_connected(uv_connect_t *req, int status)
{
    kms_dns_send_t *s = req->data;
    if (s->done)
        return;
    if (status < 0) {
        finish(s, kms_err_from_uv(status), NULL, 0);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)s->msg, (unsigned)(s->len + 2));
    s->write_req.data = s;
    int rc = uv_write(&s->write_req, (uv_stream_t *)&s->tcp, &b, 1, tcp_written);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&s->tcp, tcp_alloc, tcp_read);
    if (rc < 0)
        finish(s, kms_err_from_uv(rc), NULL, 0);
}

static int start_tcp(kms_dns_send_t *s)
{
    int rc = uv_tcp_init(s->loop, &s->tcp);
    if (rc < 0)
        return kms_err_from_uv(rc);
    s->tcp.data = s;
    s->tcp_open = 1;
    s->open_handles++;
    s->conn_req.data = s;
    rc = uv_tcp_connect(&s->conn_req, &s->tcp, (const struct sockaddr *)&s->server, tcp_connected);
    return rc < 0 ? kms_err_from_uv(rc) : 0;
}

/* ---- UDP --------------------------------------------------------------- */

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    kms_dns_send_t *s = h->data;
    (void)hint;
    buf->base = (char *)s->udp_buf;
    buf->len = sizeof s->udp_buf;
}

/* The UDP answer for @p s: done, or (TC=1, or too large) the same bytes
 * again over TCP. */
static void udp_answer(kms_dns_send_t *s, const uint8_t *p, size_t n, unsigned flags)
{
    if (is_truncated(p, n) || (flags & UV_UDP_PARTIAL)) {
        mux_leave(s);
        close_udp(s);
        s->info.tc_fallback = 1;
        uv_timer_start(&s->timer, on_timeout, s->timeout_ms, 0);
        int rc = start_tcp(s);
        if (rc < 0)
            finish(s, rc, NULL, 0);
        return;
    }
    finish(s, 0, p, n);
}

static void udp_read(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags)
{
    kms_dns_send_t *s = u->data;
    (void)addr;
    if (s->done || !s->udp_open)
        return;
    if (nread < 0) {
        finish(s, kms_err_from_uv((int)nread), NULL, 0);
        return;
    }
    if (nread < 12)
        return; /* not a DNS answer: keep waiting */
    const uint8_t *p = (const uint8_t *)buf->base;
    if (kms_dns_u16_at(p, (size_t)nread) != s->id)
        return; /* a stray or late datagram */
    udp_answer(s, p, (size_t)nread, flags);
}

static void mux_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    udp_mux_t *m = (udp_mux_t *)h;
    (void)hint;
    buf->base = (char *)m->buf;
    buf->len = sizeof m->buf;
}

/* A socket error (an ICMP port unreachable, reported to whichever read or
 * send comes next): the server is not there for anyone waiting on @p m. */
static void mux_fail(udp_mux_t *m, int err)
{
    while (m->waiting)
        finish(m->waiting, err, NULL, 0); /* each leaves; the last closes m */
}

static void mux_read(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags)
{
    udp_mux_t *m = (udp_mux_t *)u;
    kms_dns_send_t *s;
    uint16_t id;
    (void)addr;
    if (nread < 0) {
        mux_fail(m, kms_err_from_uv((int)nread));
        return;
    }
    if (nread < 12)
        return; /* not a DNS answer */
    const uint8_t *p = (const uint8_t *)buf->base;
    id = kms_dns_u16_at(p, (size_t)nread);
    for (s = m->waiting; s && s->id != id; s = s->mux_next)
        ;
    if (s)
        udp_answer(s, p, (size_t)nread, flags);
    /* else a stray or late datagram */
}

static void mux_sent(uv_udp_send_t *req, int status)
{
    kms_dns_send_t *s = req->data;
    if (status < 0 && status != UV_ECANCELED) {
        if (s->mux)
            mux_fail(s->mux, kms_err_from_uv(status));
        else
            finish(s, kms_err_from_uv(status), NULL, 0);
    }
    release(s); /* the pending send held a reference */
}

/* The shared socket for (loop, server), opened if needed; NULL on error. */
static udp_mux_t *mux_get(uv_loop_t *loop, const struct sockaddr_storage *server, int *err)
{
    socklen_t sl = kms_addr_len((const struct sockaddr *)server);
    udp_mux_t *m;
    int rc;

    for (m = muxes; m; m = m->next)
        if (m->loop == loop && memcmp(&m->server, server, sl) == 0)
            return m;
    if (!(m = calloc(1, sizeof *m))) {
        *err = KMS_ENOMEM;
        return NULL;
    }
    if ((rc = uv_udp_init(loop, &m->udp)) < 0) {
        free(m);
        *err = kms_err_from_uv(rc);
        return NULL;
    }
    m->loop = loop;
    memcpy(&m->server, server, sl);
    rc = uv_udp_connect(&m->udp, (const struct sockaddr *)server);
    if (rc == 0)
        rc = uv_udp_recv_start(&m->udp, mux_alloc, mux_read);
    if (rc < 0) {
        uv_close((uv_handle_t *)&m->udp, mux_closed);
        *err = kms_err_from_uv(rc);
        return NULL;
    }
    m->next = muxes;
    muxes = m;
    return m;
}

static void udp_sent(uv_udp_send_t *req, int status)
{
    kms_dns_send_t *s = req->data;
    if (status < 0 && status != UV_ECANCELED)
        finish(s, kms_err_from_uv(status), NULL, 0);
}

static int start_udp_own(kms_dns_send_t *s)
{
    int rc = uv_udp_init(s->loop, &s->udp);
    if (rc < 0)
        return kms_err_from_uv(rc);
    s->udp.data = s;
    s->udp_open = 1;
    s->open_handles++;
    rc = uv_udp_connect(&s->udp, (const struct sockaddr *)&s->server);
    if (rc == 0)
        rc = uv_udp_recv_start(&s->udp, udp_alloc, udp_read);
    if (rc == 0) {
        uv_buf_t b = uv_buf_init((char *)s->msg + 2, (unsigned)s->len);
        s->udp_req.data = s;
        rc = uv_udp_send(&s->udp_req, &s->udp, &b, 1, NULL, udp_sent);
    }
    return rc < 0 ? kms_err_from_uv(rc) : 0;
}

static int start_udp(kms_dns_send_t *s)
{
    int rc = 0;
    udp_mux_t *m = mux_get(s->loop, &s->server, &rc);
    kms_dns_send_t *w;

    if (!m)
        return rc;
    for (w = m->waiting; w && w->id != s->id; w = w->mux_next)
        ;
    if (w)
        return start_udp_own(s); /* this ID is already waiting on the shared socket */
    s->mux = m;
    s->mux_next = m->waiting;
    m->waiting = s;
    uv_buf_t b = uv_buf_init((char *)s->msg + 2, (unsigned)s->len);
    s->udp_req.data = s;
    s->open_handles++; /* released by mux_sent */
    rc = uv_udp_send(&s->udp_req, &m->udp, &b, 1, NULL, mux_sent);
    if (rc < 0) {
        s->open_handles--;
        mux_leave(s);
        return kms_err_from_uv(rc);
    }
    return 0;
}

int kms_dns_send(uv_loop_t *loop, const struct sockaddr *server, const uint8_t *msg, size_t len,
                 uint64_t timeout_ms, unsigned flags, kms_dns_send_cb cb, void *ud,
                 kms_dns_send_t **out)
{
    kms_dns_send_t *s = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!loop || !server || !msg || len < 12 || len > 65535 || !cb ||
        (server->sa_family != AF_INET && server->sa_family != AF_INET6))
        return KMS_EINVAL;
    s = calloc(1, sizeof *s);
    if (!s)
        return KMS_ENOMEM;
    s->msg = malloc(len + 2);
    if (!s->msg) {
        free(s);
        return KMS_ENOMEM;
    }
    kms_wr_t wr; /* only used to lay out the length prefix portably */
    kms_wr_init(&wr);
    kms_wr_u16be(&wr, (uint16_t)len);
    if (wr.err || wr.len != 2) {
        kms_wr_free(&wr);
        free(s->msg);
        free(s);
        return KMS_ENOMEM;
    }
    memcpy(s->msg, wr.buf, 2);
    kms_wr_free(&wr);
    memcpy(s->msg + 2, msg, len);
    s->len = len;
    s->id = kms_dns_u16_at(msg, len);
    s->loop = loop;
    memcpy(&s->server, server, kms_addr_len(server));
    s->timeout_ms = timeout_ms ? timeout_ms : 1;
    s->cb = cb;
    s->ud = ud;
    s->start_ms = uv_now(loop);

    rc = uv_timer_init(loop, &s->timer);
    if (rc < 0) {
        free(s->msg);
        free(s);
        return kms_err_from_uv(rc);
    }
    s->timer.data = s;
    s->open_handles = 1;
    uv_timer_start(&s->timer, on_timeout, s->timeout_ms, 0);

    if ((flags & KMS_DNS_SEND_TCP) || len > KMS_DNS_UDP_MAX)
        rc = start_tcp(s);
    else
        rc = start_udp(s);
    if (rc < 0) {
        /* the callback must not run: close quietly, then free */
        s->done = 1;
        s->cb = NULL;
        uv_timer_stop(&s->timer);
        mux_leave(s);
        close_udp(s);
        close_tcp(s);
        uv_close((uv_handle_t *)&s->timer, on_close);
        return rc;
    }
    if (out)
        *out = s;
    return 0;
}

void kms_dns_send_cancel(kms_dns_send_t *s)
{
    if (s)
        finish(s, KMS_ECANCELED, NULL, 0);
}
