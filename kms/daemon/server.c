/* SPDX-License-Identifier: MIT */
/*
 * server.c - TCP listeners and connections (see server.h).
 *
 * Connection lifecycle: accepted -> reading (idle timer armed) -> closing
 * (both the tcp handle and the timer are closed; the connection is freed when
 * the second close callback runs).  Pending uv_write requests are completed
 * with UV_ECANCELED by libuv before the close callbacks, so the connection is
 * still alive in every write callback.
 *
 * The one timer per connection carries two deadlines (docs/kmsd.1): with no
 * request in progress it is the idle deadline, restarted by every read;
 * once a request has begun (a partial PDU buffered, or a fragmented call
 * whose last fragment is still to come) it is that request's deadline,
 * idle_timeout after its first byte, and reads that do not complete it leave
 * it alone, so a client dribbling bytes or fragments cannot hold a slot.
 * When it fires with a request in progress the close is a "slow client",
 * otherwise an idle one.
 */
#include "kms/daemon/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/log.h"
#include "base/wire.h"
#include "rpc/framer.h"
#include "rpc/conn.h"

#define BACKLOG    1024
#define READ_SLACK 4096 /* read size beyond one PDU, so several small PDUs arrive at once */
#define LOG_MS     1000 /* each kind of connection close is logged at most once a second */

typedef struct conn conn_t;

typedef struct {
    uv_tcp_t tcp;
    kms_server_t *srv;
    struct sockaddr_storage addr;
    int open;
    int fd; /* >= 0: a listening socket handed over (socket activation) */
} listener_t;

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    kms_server_t *srv;
    kms_rpc_conn_t *rpc;
    kms_framer_t framer; /* bytes of an incomplete PDU */
    uint32_t pending;    /* bytes handed to uv_write and not yet completed */
    uint8_t closing, paused, close_after_write, handles;
    conn_t *prev, *next;
};

struct kms_server {
    uv_loop_t *loop;
    kms_host_t *host;
    kms_host_stats_t *stats;
    listener_t *ls;
    size_t n_ls;
    uint8_t *rbuf; /* the shared read buffer */
    size_t rbuf_len;
    int rbuf_busy;
    uint32_t max_conn, idle_ms, max_pdu;
    int adopted;                   /* the listeners came from systemd (kms_server_adopt) */
    uint32_t cfg_max_conn, fd_cap; /* max_conn = the lower of the two (fd_cap 0: none) */
    size_t n_conn;
    conn_t *conns;
    int stopping, started;
    size_t open_handles; /* listeners + connections not yet fully closed */
    uv_timer_t tick;     /* kms_server_stop(): calls back from the loop */
    kms_server_stopped_fn stop_cb;
    void *stop_ud;
    kms_ratelimit_t reject_log, bad_log, idle_log, slow_log, accept_log;
};

typedef struct {
    uv_write_t req;
    conn_t *c;
    uv_buf_t buf;
    uint8_t data[];
} wreq_t;

static void maybe_stopped(kms_server_t *s)
{
    if (s->stopping && s->open_handles == 0 && s->stop_cb) {
        kms_server_stopped_fn cb = s->stop_cb;

        s->stop_cb = NULL;
        cb(s, s->stop_ud);
    }
}

/* ---- addresses ---------------------------------------------------------- */

/* One listener per configured address; port 0 means "the host's port". */
static int add_listeners(kms_server_t *s, const kms_config_t *cfg)
{
    if (!(s->ls = calloc(cfg->n_listen ? cfg->n_listen : 1, sizeof *s->ls)))
        return KMS_ENOMEM;
    for (size_t i = 0; i < cfg->n_listen; i++) {
        s->ls[i].addr = cfg->listen[i];
        s->ls[i].srv = s;
        s->ls[i].fd = -1;
    }
    s->n_ls = cfg->n_listen;
    return 0;
}

/* ---- connections --------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    kms_server_t *s = c->srv;

    if (--c->handles > 0)
        return;
    kms_rpc_conn_free(c->rpc);
    kms_framer_reset(&c->framer);
    free(c);
    s->open_handles--;
    maybe_stopped(s);
}

static void conn_close(conn_t *c)
{
    kms_server_t *s = c->srv;

    if (c->closing)
        return;
    c->closing = 1;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conn--;
    s->stats->connections_now = s->n_conn;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void peer_name(conn_t *c, char *buf)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        kms_addr_format((struct sockaddr *)&ss, buf);
    else
        snprintf(buf, KMS_ADDRSTRLEN, "(unknown peer)");
}

/* Close @p c, logging "closing connection from PEER: WHAT" at @p level at
 * most once a second per kind (@p rl); the lines held back are counted and
 * reported in the next one. */
static void conn_close_logged(conn_t *c, kms_ratelimit_t *rl, kms_log_level_t level,
                              const char *what)
{
    uint64_t quiet;

    if (kms_ratelimit(rl, uv_now(c->srv->loop), LOG_MS, &quiet)) {
        char peer[KMS_ADDRSTRLEN];

        peer_name(c, peer);
        if (quiet)
            kms_log(level, "closing connection from %s: %s; %llu more since the previous line",
                    peer, what, (unsigned long long)quiet);
        else
            kms_log(level, "closing connection from %s: %s", peer, what);
    }
    conn_close(c);
}

/* Close for malformed input: counted, logged at most once a second. */
static void conn_bad(conn_t *c, int rc, const char *what)
{
    char why[128];

    c->srv->stats->malformed++;
    snprintf(why, sizeof why, "%s (%s)", what, kms_strerror(rc));
    conn_close_logged(c, &c->srv->bad_log, KMS_LOG_WARN, why);
}

/* The connection's deadline passed: idle, or a PDU begun idle_timeout ago
 * is still incomplete (slow client).  Both count as idle_closed. */
static int in_request(const conn_t *c)
{
    return kms_framer_pending(&c->framer) > 0 || kms_rpc_conn_in_call(c->rpc);
}

static void idle_cb(uv_timer_t *t)
{
    conn_t *c = t->data;
    kms_server_t *s = c->srv;
    char why[96];
    int slow = in_request(c);

    s->stats->idle_closed++;
    s->stats->slow_closed += slow ? 1 : 0;
    if (slow)
        snprintf(why, sizeof why,
                 "slow client (a request still incomplete %u s after its first byte)",
                 s->idle_ms / 1000);
    else
        snprintf(why, sizeof why, "idle for %u s", s->idle_ms / 1000);
    conn_close_logged(c, slow ? &s->slow_log : &s->idle_log, KMS_LOG_INFO, why);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn_t *c = h->data;
    kms_server_t *s = c->srv;

    (void)suggested;
    /* Reads are handled to completion inside read_cb, so one buffer serves
     * every connection; the flag guards against a nested allocation. */
    if (s->rbuf_busy) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    s->rbuf_busy = 1;
    buf->base = (char *)s->rbuf;
    buf->len = s->rbuf_len;
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void write_cb(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    conn_t *c = w->c;

    c->pending -= (uint32_t)w->buf.len;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->close_after_write && c->pending == 0) {
        conn_close(c);
        return;
    }
    if (c->paused && c->pending <= KMS_SERVER_MAX_PENDING / 2) {
        c->paused = 0;
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    }
}

/* Send @p len bytes: try a direct write first; queue what is left. */
static int conn_send(conn_t *c, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = 0;
    wreq_t *w;
    int rc;

    if (c->pending == 0) {
        n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n == (int)len)
            return 0;
        if (n < 0 && n != UV_EAGAIN)
            return kms_err_from_uv(n);
        if (n < 0)
            n = 0;
    }
    w = malloc(sizeof *w + (len - (size_t)n));
    if (!w)
        return KMS_ENOMEM;
    memcpy(w->data, data + n, len - (size_t)n);
    w->c = c;
    w->buf = uv_buf_init((char *)w->data, (unsigned)(len - (size_t)n));
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, write_cb);
    if (rc < 0) {
        free(w);
        return kms_err_from_uv(rc);
    }
    c->pending += (uint32_t)w->buf.len;
    if (c->pending > KMS_SERVER_MAX_PENDING && !c->paused) {
        c->paused = 1;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    return 0;
}

typedef struct {
    conn_t *c;
    kms_wr_t *out;
    size_t pdus; /* whole PDUs handed on in this read */
} pdu_ctx_t;

static int on_pdu(void *ud, const uint8_t *pdu, size_t len)
{
    pdu_ctx_t *x = ud;

    x->pdus++;
    /* KMS_ENOMEM is ours; any other refusal of the association is bad input. */
    return kms_rpc_conn_pdu(x->c->rpc, pdu, len, x->out);
}

/* Process the bytes of one read; on error the connection is closed. */
static void conn_input(conn_t *c, const uint8_t *data, size_t n)
{
    kms_server_t *s = c->srv;
    kms_wr_t out;
    pdu_ctx_t x = {c, &out, 0};
    int rc, was_busy = in_request(c);

    kms_wr_init(&out);
    rc = kms_framer_feed(&c->framer, data, n, s->max_pdu, on_pdu, &x);
    if (rc < 0 && rc != KMS_ENOMEM) {
        kms_wr_free(&out);
        conn_bad(c, rc, "malformed RPC input");
        return;
    }
    /* Restarted when a request completed (a whole PDU outside an open
     * fragmented call) or none was in progress before this read (one that
     * began here gets its own deadline); a request still incomplete from
     * before keeps its deadline. */
    if (s->idle_ms &&
        (!was_busy || !in_request(c) || (x.pdus > 0 && !kms_rpc_conn_in_call(c->rpc))))
        uv_timer_start(&c->timer, idle_cb, s->idle_ms, 0);
    if (rc == 0 && out.err)
        rc = out.err;
    /* Out of memory or a failed send: close without blaming the peer. */
    if (rc < 0 || (out.len > 0 && conn_send(c, out.buf, out.len) < 0))
        conn_close(c);
    kms_wr_free(&out);
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = st->data;
    kms_server_t *s = c->srv;

    if (buf->base == (char *)s->rbuf)
        s->rbuf_busy = 0;
    if (c->closing)
        return;
    if (nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF) {
            conn_close(c);
            return;
        }
        /* Peer finished sending: deliver what is queued, then close. */
        uv_read_stop(st);
        if (c->pending == 0)
            conn_close(c);
        else
            c->close_after_write = 1;
        return;
    }
    conn_input(c, (const uint8_t *)buf->base, (size_t)nread);
}

static void reject_closed(uv_handle_t *h)
{
    free(h);
}

static void reject(kms_server_t *s, uv_stream_t *ls)
{
    uv_tcp_t *t = malloc(sizeof *t);
    uint64_t quiet;

    s->stats->connections_rejected++;
    if (kms_ratelimit(&s->reject_log, uv_now(s->loop), LOG_MS, &quiet))
        kms_warn("%s (%u) reached: refusing connections (%llu refused since the previous line)",
                 s->max_conn < s->cfg_max_conn ? "the connections the open-file limit allows"
                                               : "max_connections",
                 s->max_conn, (unsigned long long)quiet + 1);
    if (!t || uv_tcp_init(s->loop, t) < 0) {
        free(t);
        return;
    }
    if (uv_accept(ls, (uv_stream_t *)t) == 0) {
        /* RST rather than FIN: the peer learns at once, we keep no TIME_WAIT. */
        uv_tcp_close_reset(t, reject_closed);
        return;
    }
    uv_close((uv_handle_t *)t, reject_closed);
}

static void connection_cb(uv_stream_t *ls, int status)
{
    listener_t *l = ls->data;
    kms_server_t *s = l->srv;
    conn_t *c;

    if (status < 0) {
        /* Not a connection lost unseen: counted, said at most once a
         * second, and the listener goes on (libuv's reserve descriptor
         * keeps it from spinning on EMFILE). */
        uint64_t quiet;

        s->stats->connections_rejected++;
        if (kms_ratelimit(&s->accept_log, uv_now(s->loop), LOG_MS, &quiet))
            kms_warn("accept: %s%s (%llu since the previous line)", uv_strerror(status),
                     status == UV_EMFILE || status == UV_ENFILE
                         ? ": out of file descriptors, connection refused; raise the open-file "
                           "limit (LimitNOFILE=, ulimit -n) or lower max_connections"
                         : "",
                     (unsigned long long)quiet + 1);
        return;
    }
    if (s->stopping)
        return;
    if (s->n_conn >= s->max_conn) {
        reject(s, ls);
        return;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->srv = s;
    c->rpc = kms_rpc_conn_new(s->max_pdu, kms_host_rpc_handler, s->host);
    if (!c->rpc) {
        free(c);
        goto nomem;
    }
    /* bind_ack's sec_addr names the port this connection came in on. */
    kms_rpc_conn_set_port(c->rpc, kms_addr_port((const struct sockaddr *)&l->addr));
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    s->open_handles++;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conn++;
    s->stats->connections_now = s->n_conn;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    s->stats->connections_total++;
    uv_tcp_nodelay(&c->tcp, 1);
    if (s->idle_ms)
        uv_timer_start(&c->timer, idle_cb, s->idle_ms, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) < 0)
        conn_close(c);
    return;
nomem:
    kms_error("accept: out of memory");
    reject(s, ls);
}

/* ---- server ------------------------------------------------------------- */

static void apply_limits(kms_server_t *s, const kms_config_t *cfg)
{
    s->cfg_max_conn = cfg->max_connections;
    s->max_conn = s->fd_cap && s->fd_cap < s->cfg_max_conn ? s->fd_cap : s->cfg_max_conn;
    s->idle_ms = cfg->idle_timeout * 1000u;
    s->max_pdu = cfg->max_pdu;
}

int kms_server_new(uv_loop_t *loop, const kms_config_t *cfg, kms_host_t *host, kms_server_t **out)
{
    kms_server_t *s = calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (!s)
        return KMS_ENOMEM;
    s->loop = loop;
    s->host = host;
    s->stats = kms_host_stats(host);
    apply_limits(s, cfg);
    if ((rc = add_listeners(s, cfg)) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    kms_server_free(s);
    return rc;
}

static void listener_closed(uv_handle_t *h)
{
    listener_t *l = h->data;

    l->srv->open_handles--;
    maybe_stopped(l->srv);
}

static int ensure_rbuf(kms_server_t *s)
{
    size_t want = (size_t)s->max_pdu + READ_SLACK;
    uint8_t *b;

    if (s->rbuf_len >= want)
        return 0;
    if (s->rbuf_busy)
        return 0; /* never move the buffer under a read; grows on the next start */
    b = realloc(s->rbuf, want);
    if (!b)
        return KMS_ENOMEM;
    s->rbuf = b;
    s->rbuf_len = want;
    return 0;
}

int kms_server_adopt(kms_server_t *s, const int *fds, size_t n, char *err, size_t errlen)
{
    listener_t *ls;

    if (s->started || n == 0) {
        snprintf(err, errlen, "no socket to take over");
        return KMS_EINVAL;
    }
    if (!(ls = calloc(n, sizeof *ls)))
        return KMS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        socklen_t len = sizeof ls[i].addr;
        int type = 0, listening = 0;
        socklen_t tl = sizeof type, ll = sizeof listening;

        if (getsockname(fds[i], (struct sockaddr *)&ls[i].addr, &len) < 0 ||
            getsockopt(fds[i], SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
            getsockopt(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0 ||
            type != SOCK_STREAM || !listening ||
            (ls[i].addr.ss_family != AF_INET && ls[i].addr.ss_family != AF_INET6)) {
            snprintf(err, errlen,
                     "socket %d handed over is not a listening TCP socket (ListenStream= in "
                     "the .socket unit)",
                     fds[i]);
            free(ls);
            return KMS_EINVAL;
        }
        ls[i].srv = s;
        ls[i].fd = fds[i];
    }
    free(s->ls);
    s->ls = ls;
    s->n_ls = n;
    s->adopted = 1;
    return 0;
}

int kms_server_adopted(const kms_server_t *s)
{
    return s->adopted;
}

int kms_server_start(kms_server_t *s, char *err, size_t errlen)
{
    kms_settings_t st;
    int rc = 0;

    if (s->started) {
        snprintf(err, errlen, "server already started");
        return KMS_EINVAL;
    }
    if ((rc = ensure_rbuf(s)) < 0) {
        snprintf(err, errlen, "%s", kms_strerror(rc));
        return rc;
    }
    s->started = 1;
    kms_host_settings(s->host, &st);
    for (size_t i = 0; i < s->n_ls; i++) {
        listener_t *l = &s->ls[i];
        struct sockaddr *sa = (struct sockaddr *)&l->addr;
        char name[KMS_ADDRSTRLEN];
        int uvrc;

        if (kms_addr_port(sa) == 0)
            kms_addr_set_port(sa, st.port ? st.port : 1688);
        uv_tcp_init(s->loop, &l->tcp);
        l->tcp.data = l;
        l->open = 1;
        s->open_handles++;
        if (l->fd >= 0) /* bound and listening already: systemd's */
            uvrc = uv_tcp_open(&l->tcp, l->fd);
        else
            uvrc = uv_tcp_bind(&l->tcp, sa, sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
        if (uvrc == 0)
            uvrc = uv_listen((uv_stream_t *)&l->tcp, BACKLOG, connection_cb);
        if (uvrc < 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", kms_addr_format(sa, name),
                     uv_strerror(uvrc));
            rc = kms_err_from_uv(uvrc);
            for (size_t j = 0; j <= i; j++) {
                if (s->ls[j].open) {
                    s->ls[j].open = 0;
                    uv_close((uv_handle_t *)&s->ls[j].tcp, listener_closed);
                }
            }
            return rc;
        }
    }
    return 0;
}

static void tick_closed(uv_handle_t *h)
{
    kms_server_t *s = h->data;

    s->open_handles--;
    maybe_stopped(s);
}

void kms_server_stop(kms_server_t *s, kms_server_stopped_fn cb, void *ud)
{
    if (!s)
        return;
    if (!s->stopping) {
        s->stopping = 1;
        s->stop_cb = cb;
        s->stop_ud = ud;
        /* The callback comes from a close callback at the earliest, never
         * from in here, even with nothing else open (base/loop.h). */
        uv_timer_init(s->loop, &s->tick);
        s->tick.data = s;
        s->open_handles++;
        uv_close((uv_handle_t *)&s->tick, tick_closed);
    }
    for (size_t i = 0; i < s->n_ls; i++) {
        if (s->ls[i].open) {
            s->ls[i].open = 0;
            uv_close((uv_handle_t *)&s->ls[i].tcp, listener_closed);
        }
    }
    while (s->conns)
        conn_close(s->conns);
}

void kms_server_set_fd_cap(kms_server_t *s, unsigned cap)
{
    s->fd_cap = cap;
    s->max_conn = cap && cap < s->cfg_max_conn ? cap : s->cfg_max_conn;
}

size_t kms_server_listeners(const kms_server_t *s)
{
    return s->n_ls;
}

void kms_server_set_limits(kms_server_t *s, const kms_config_t *cfg)
{
    apply_limits(s, cfg);
    if (ensure_rbuf(s) < 0)
        kms_warn("cannot grow the read buffer; PDUs over the old cap are refused");
    if (s->rbuf_len && s->max_pdu + (size_t)READ_SLACK > s->rbuf_len)
        s->max_pdu = (uint32_t)(s->rbuf_len - READ_SLACK);
}

void kms_server_describe(const kms_server_t *s, char *buf, size_t len)
{
    size_t n = 0;

    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < s->n_ls && n < len; i++) {
        char name[KMS_ADDRSTRLEN];
        int r = snprintf(buf + n, len - n, "%s%s", i ? " " : "",
                         kms_addr_format((const struct sockaddr *)&s->ls[i].addr, name));

        if (r < 0)
            break;
        n += (size_t)r;
    }
}

uint16_t kms_server_port(const kms_server_t *s)
{
    if (!s->n_ls)
        return 0;
    return kms_addr_port((const struct sockaddr *)&s->ls[0].addr);
}

size_t kms_server_connections(const kms_server_t *s)
{
    return s->n_conn;
}

void kms_server_free(kms_server_t *s)
{
    if (!s)
        return;
    free(s->ls);
    free(s->rbuf);
    free(s);
}
