/* SPDX-License-Identifier: MIT */
/*
 * dot.c - DNS over TLS through memory BIOs on libuv streams: the connection,
 * its sessions and pipelined exchanges (see tls.h; the configuration and the
 * certificate-failure lines are in tls.c).
 *
 * A connection (kms_tls_conn_t) lives as long as its owner wants; what
 * comes and goes is its session (one TCP connection and one SSL): opened by
 * the first exchange, dropped on failure, on the server's close or after
 * the idle time.  The exchanges waiting on the connection (conn->waiting,
 * in the order sent) all belong to its current session: a session that
 * fails ends every one of them.  pump() is the one place that drives
 * OpenSSL: the handshake, then every exchange not yet written goes into
 * SSL_write(), then whatever plaintext has arrived comes out of SSL_read()
 * into the framer, whose messages go to the exchange with their ID; last,
 * what TLS wants to send is flushed from the write BIO to uv_write().  It
 * runs after each connect, read and new exchange.  Nothing in it calls a
 * user back: an exchange's outcome is recorded and its timer closed, and
 * the callback runs from the close callback.
 */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/wire.h"
#include "dns/stream.h"
#include "dns/tls.h"
#include "dns/tls_int.h"

typedef struct session session_t;

struct kms_tls_conn {
    uv_loop_t *loop;
    kms_tls_ctx_t *ctx;
    struct sockaddr_storage server;
    char server_str[KMS_ADDRSTRLEN]; /* "127.0.0.1#853" */
    char name[KMS_TLS_NAMELEN];      /* checked in the certificate, no final dot */
    int name_is_ip;
    uint64_t idle_ms;
    uv_timer_t idle;
    session_t *s;            /* the current session, or NULL */
    kms_tls_send_t *waiting; /* exchanges of the current session, oldest first */
    kms_tls_send_t *waiting_tail;
    unsigned handshakes;
    unsigned open; /* the idle timer, every session not yet closed and every
                      exchange whose callback has not run: the last frees */
    int closing;
    kms_tls_closed_cb close_cb;
    void *close_ud;
    char error[KMS_TLS_ERRLEN];
    int error_status; /* what the session that wrote error[] failed with */
};

struct session {
    uv_tcp_t tcp; /* first: the callbacks cast back */
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    kms_tls_conn_t *conn; /* to count the session closed (valid until then) */
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl: what came from the server, what goes to it */
    int connected, hs_done, failed;
    int broken;     /* the stream takes no more writes (a reset, a failed write) */
    int cert_asked; /* the server asked for a client certificate we do not have
                       (the SSL's app data: tls.c sets it, tls_int.h) */
    uint64_t rx;    /* reads from the server so far */
    uint64_t rx_hs; /* rx when our side of the handshake was done */
    kms_dns_stream_t in;
    uint8_t netbuf[16 * 1024];
    uint8_t plain[16 * 1024]; /* one TLS record's plaintext at most */
};

struct kms_tls_send {
    kms_tls_conn_t *conn;  /* NULL once ended */
    kms_tls_conn_t *owner; /* counted in owner->open until the callback ran */
    uv_timer_t timer;
    uint8_t *msg; /* length prefix + message (owned) */
    size_t len;   /* with the prefix */
    uint16_t id;
    int written;    /* handed to the session's SSL_write() */
    uint64_t rx_at; /* session->rx when written */
    uint64_t start_ms;
    kms_dns_send_cb cb;
    void *ud;
    kms_tls_send_t *next, *prev;
    int done, status;
    uint8_t *reply;
    size_t reply_len;
    kms_dns_send_info_t info;
};

typedef struct {
    uv_write_t req;
    size_t len;
    uint8_t data[]; /* TLS records, sent as they are */
} wbuf_t;

static void session_fail(session_t *s, int status, const char *line);

/* ---- exchanges ----------------------------------------------------------- */

/* One of what c->open counts is over; once closing, the last one calls the
 * owner back and frees the connection. */
static void conn_release(kms_tls_conn_t *c)
{
    if (--c->open == 0 && c->closing) {
        if (c->close_cb)
            c->close_cb(c, c->close_ud);
        free(c);
    }
}

static void send_closed(uv_handle_t *h)
{
    kms_tls_send_t *x = h->data;
    kms_tls_conn_t *owner = x->owner;

    if (x->cb)
        x->cb(x->status, x->status == 0 ? x->reply : NULL, x->status == 0 ? x->reply_len : 0,
              &x->info, x->ud);
    explicit_bzero(x->msg, x->len); /* signed updates, TKEY queries: wiped */
    free(x->msg);
    free(x->reply);
    free(x);
    if (owner)
        conn_release(owner); /* kms_tls_conn_close()'s callback comes after this one */
}

static void on_idle(uv_timer_t *t);

/* Record @p x's outcome once, take it off its connection, close its timer
 * (the callback runs from there). */
static void send_end(kms_tls_send_t *x, int status, const uint8_t *data, size_t len)
{
    kms_tls_conn_t *c = x->conn;

    if (x->done)
        return;
    x->done = 1;
    x->status = status;
    if (status == 0) {
        if (!(x->reply = malloc(len ? len : 1)))
            x->status = KMS_ENOMEM;
        else {
            memcpy(x->reply, data, len);
            x->reply_len = len;
        }
    }
    if (c) {
        x->info.rtt_ms = uv_now(c->loop) - x->start_ms;
        if (x->prev)
            x->prev->next = x->next;
        else
            c->waiting = x->next;
        if (x->next)
            x->next->prev = x->prev;
        else
            c->waiting_tail = x->prev;
        x->next = x->prev = NULL;
        x->conn = NULL;
        if (!c->waiting && c->s && !c->closing) {
            uv_timer_start(&c->idle, on_idle, c->idle_ms, 0);
            uv_unref((uv_handle_t *)&c->s->tcp); /* an idle session keeps no loop running */
        }
    }
    uv_timer_stop(&x->timer);
    uv_close((uv_handle_t *)&x->timer, send_closed);
}

static void on_send_timeout(uv_timer_t *t)
{
    kms_tls_send_t *x = t->data;
    kms_tls_conn_t *c = x->conn;
    session_t *s = c ? c->s : NULL;

    send_end(x, KMS_ETIMEOUT, NULL, 0);
    /* A session that has not finished its handshake, or has said nothing
     * since this message went out, is likely dead (a server gone without a
     * FIN): the next attempt gets a new one. */
    if (s && !s->hs_done) {
        char line[KMS_TLS_ERRLEN];
        snprintf(line, sizeof line,
                 "TLS: no handshake with %s in time (%s; is it a DNS-over-TLS port?)",
                 c->server_str, s->rx ? "it answered, but not in TLS" : "no answer at all");
        session_fail(s, KMS_ETIMEOUT, line);
    } else if (s && x->written && s->rx == x->rx_at) {
        session_fail(s, KMS_ETIMEOUT, NULL);
    }
}

/* ---- session ------------------------------------------------------------- */

static void session_closed(uv_handle_t *h)
{
    session_t *s = (session_t *)h;
    kms_tls_conn_t *c = s->conn;

    SSL_free(s->ssl); /* and both BIOs */
    kms_dns_stream_reset(&s->in);
    free(s);
    conn_release(c);
}

static void session_detach(session_t *s)
{
    if (s->conn->s == s)
        s->conn->s = NULL;
    uv_timer_stop(&s->conn->idle);
}

static void session_close(session_t *s)
{
    session_detach(s);
    if (!uv_is_closing((uv_handle_t *)&s->tcp))
        uv_close((uv_handle_t *)&s->tcp, session_closed);
}

static int flush(session_t *s);

static void on_shutdown(uv_shutdown_t *req, int status)
{
    session_t *s = req->data;
    (void)status;
    if (!uv_is_closing((uv_handle_t *)&s->tcp))
        uv_close((uv_handle_t *)&s->tcp, session_closed);
}

/* Hand what TLS still has to say (an alert, a close_notify) to the socket,
 * best effort, then FIN and close; straight to the close if the stream
 * takes no more writes or the kernel did not take it all at once (a server
 * that reads nothing must not hold the loop with a shutdown that waits). */
static void session_wind_down(session_t *s)
{
    session_detach(s);
    if (s->connected && !s->broken && !uv_is_closing((uv_handle_t *)&s->tcp) && flush(s) == 0 &&
        uv_stream_get_write_queue_size((uv_stream_t *)&s->tcp) == 0) {
        s->shutdown_req.data = s;
        if (uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->tcp, on_shutdown) == 0)
            return;
    }
    session_close(s);
}

/* The session fails: every exchange waiting ends with @p status; @p line
 * (NULL: none) becomes the connection's error. */
static void session_fail(session_t *s, int status, const char *line)
{
    kms_tls_conn_t *c = s->conn;
    int current = c->s == s; /* else a session already left behind */

    if (s->failed)
        return;
    s->failed = 1;
    if (line) {
        snprintf(c->error, sizeof c->error, "%s", line);
        c->error_status = status;
    }
    session_detach(s); /* no idle timer from the ends below */
    while (current && c->waiting)
        send_end(c->waiting, status, NULL, 0);
    session_wind_down(s);
}

static void on_written(uv_write_t *req, int status)
{
    wbuf_t *w = (wbuf_t *)req;
    session_t *s = req->data;

    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        s->broken = 1;
        session_fail(s, kms_err_from_uv(status), NULL);
    }
}

/* What TLS wants to send, from the write BIO to the socket. */
static int flush(session_t *s)
{
    size_t n;

    while ((n = BIO_ctrl_pending(s->wbio)) > 0) {
        wbuf_t *w = malloc(sizeof *w + n);
        int got, rc;

        if (!w)
            return KMS_ENOMEM;
        got = BIO_read(s->wbio, w->data, (int)n);
        if (got <= 0) {
            free(w);
            return KMS_ETLS;
        }
        w->len = (size_t)got;
        w->req.data = s;
        uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
        if ((rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_written)) < 0) {
            free(w);
            return kms_err_from_uv(rc);
        }
    }
    return 0;
}
/* The handshake failed: which way, in one line. */
static void handshake_failed(session_t *s)
{
    kms_tls_conn_t *c = s->conn;
    char line[KMS_TLS_ERRLEN];
    int status = kms_tls__handshake_line(c->ctx, s->ssl, c->server_str, c->name, c->name_is_ip,
                                         line, sizeof line);

    session_fail(s, status, line);
}

/* A whole message from the server: the answer of the exchange with its ID
 * (none: a late answer to one that timed out or was canceled). */
static int on_message(void *ud, const uint8_t *msg, size_t len)
{
    session_t *s = ud;
    kms_tls_send_t *x;
    uint16_t id;

    if (len < 12)
        return KMS_EDNS_BADANSWER;
    id = kms_dns_u16_at(msg, len);
    for (x = s->conn->waiting; x && !(x->written && x->id == id); x = x->next)
        ;
    if (x)
        send_end(x, 0, msg, len);
    return 0;
}

/* Drive OpenSSL as far as it goes (see the top of the file). */
static void pump(session_t *s)
{
    kms_tls_conn_t *c = s->conn;
    int n, rc;

    if (s->failed || !s->connected)
        return;
    ERR_clear_error();
    if (!s->hs_done) {
        n = SSL_do_handshake(s->ssl);
        if (n != 1) {
            int e = SSL_get_error(s->ssl, n);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                handshake_failed(s);
                return;
            }
        } else {
            s->hs_done = 1;
            s->rx_hs = s->rx;
            c->error[0] = '\0'; /* an earlier failure is over */
            c->error_status = 0;
            c->handshakes++;
            c->ctx->handshakes++;
        }
    }
    for (kms_tls_send_t *x = c->waiting; s->hs_done && x; x = x->next) {
        if (x->written)
            continue;
        n = SSL_write(s->ssl, x->msg, (int)x->len);
        if (n <= 0) {
            int e = SSL_get_error(s->ssl, n);
            char line[KMS_TLS_ERRLEN], why[200];
            /* a renegotiation under way (SSL_write() takes nothing of the
             * message before it is done): this one and the later ones wait */
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            snprintf(line, sizeof line, "TLS: cannot write to %s: %s", c->server_str,
                     kms_tls__ssl_reason(why, sizeof why));
            session_fail(s, KMS_ETLS, line);
            return;
        }
        x->written = 1;
        x->rx_at = s->rx;
    }
    while (s->hs_done) {
        n = SSL_read(s->ssl, s->plain, (int)sizeof s->plain);
        if (n <= 0) {
            int e = SSL_get_error(s->ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                break;
            if (e == SSL_ERROR_ZERO_RETURN) {
                /* close_notify: the server is done; ours in return (RFC 8446
                 * section 6.1), sent by session_fail() before the FIN */
                ERR_clear_error();
                SSL_shutdown(s->ssl);
                ERR_clear_error();
                session_fail(s, KMS_ECLOSED, NULL);
            } else {
                char line[KMS_TLS_ERRLEN], why[200];
                snprintf(line, sizeof line, "TLS: session with %s failed: %s", c->server_str,
                         kms_tls__ssl_reason(why, sizeof why));
                session_fail(s, KMS_ETLS, line);
            }
            return;
        }
        if ((rc = kms_dns_stream_feed(&s->in, s->plain, (size_t)n, on_message, s)) < 0) {
            session_fail(s, rc, NULL);
            return;
        }
    }
    if ((rc = flush(s)) < 0)
        session_fail(s, rc, NULL);
}

static void net_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    session_t *s = (session_t *)h;
    (void)hint;
    *buf = uv_buf_init((char *)s->netbuf, sizeof s->netbuf);
}

/* The server drops the connection: is it refusing us for want of a client
 * certificate?  Only if it asked for one (none is configured, or it would
 * not be asked here) and the drop comes during the handshake, or, in TLS
 * 1.3, where the server checks the certificate after our side of the
 * handshake is done and may close without an alert, before it has sent
 * anything since (a server that accepted us sends its session tickets, its
 * answers).  Otherwise it is a lost connection, retried. */
static int cert_refused(const session_t *s)
{
    if (!s->cert_asked)
        return 0;
    return !s->hs_done || (SSL_version(s->ssl) == TLS1_3_VERSION && s->rx == s->rx_hs);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    session_t *s = (session_t *)st;
    char line[KMS_TLS_ERRLEN];

    if (s->failed)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            s->broken = 1; /* a reset: nothing more to write */
        if (cert_refused(s)) {
            snprintf(line, sizeof line,
                     "TLS: %s asked for a client certificate and closed the connection; none is "
                     "configured",
                     s->conn->server_str);
            session_fail(s, KMS_ETLS, line);
        } else if (!s->hs_done) {
            snprintf(line, sizeof line, "TLS: %s closed the connection during the handshake (%s)",
                     s->conn->server_str, kms_strerror(kms_err_from_uv((int)nread)));
            session_fail(s, KMS_ECLOSED, line);
        } else {
            session_fail(s, kms_err_from_uv((int)nread), NULL);
        }
        return;
    }
    if (nread == 0)
        return;
    s->rx++;
    if (BIO_write(s->rbio, buf->base, (int)nread) != (int)nread) {
        session_fail(s, KMS_ENOMEM, NULL);
        return;
    }
    pump(s);
}

static void on_connect(uv_connect_t *req, int status)
{
    session_t *s = req->data;
    int rc;

    if (s->failed)
        return;
    if (status < 0) {
        session_fail(s, kms_err_from_uv(status), NULL);
        return;
    }
    s->connected = 1;
    if ((rc = uv_read_start((uv_stream_t *)&s->tcp, net_alloc, on_read)) < 0) {
        session_fail(s, kms_err_from_uv(rc), NULL);
        return;
    }
    pump(s); /* the ClientHello */
}

/* A new session for @p c: TCP connect under way, TLS set up to check c->name. */
static int session_open(kms_tls_conn_t *c)
{
    session_t *s = calloc(1, sizeof *s);
    int rc;

    if (!s)
        return KMS_ENOMEM;
    s->conn = c;
    ERR_clear_error();
    s->ssl = SSL_new(c->ctx->ssl);
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    if (!s->ssl || !s->rbio || !s->wbio) {
        rc = KMS_ENOMEM;
        goto fail;
    }
    BIO_set_mem_eof_return(s->rbio, -1); /* empty: "want more", not EOF */
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    SSL_set_connect_state(s->ssl);
    SSL_set_app_data(s->ssl, &s->cert_asked); /* tls.c: the server asked */
    X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (c->name_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->name) != 1
                      : X509_VERIFY_PARAM_set1_host(vp, c->name, 0) != 1 ||
                            SSL_set_tlsext_host_name(s->ssl, c->name) != 1) {
        ERR_clear_error();
        rc = KMS_EINVAL;
        goto fail_ssl;
    }
    if ((rc = uv_tcp_init(c->loop, &s->tcp)) < 0) {
        rc = kms_err_from_uv(rc);
        goto fail_ssl;
    }
    uv_tcp_nodelay(&s->tcp, 1);
    c->open++;
    c->s = s;
    s->connect_req.data = s;
    if ((rc = uv_tcp_connect(&s->connect_req, &s->tcp, (const struct sockaddr *)&c->server,
                             on_connect)) < 0) {
        s->failed = 1;
        session_close(s);
        return kms_err_from_uv(rc);
    }
    return 0;
fail:
    BIO_free(s->rbio);
    BIO_free(s->wbio);
    s->rbio = s->wbio = NULL;
fail_ssl:
    SSL_free(s->ssl); /* with the BIOs once set */
    free(s);
    return rc;
}

/* End an idle session politely: close_notify, FIN, close. */
static void session_end(session_t *s)
{
    s->failed = 1; /* takes no more exchanges, reports nothing */
    if (s->connected && s->hs_done) {
        ERR_clear_error();
        SSL_shutdown(s->ssl);
        ERR_clear_error();
    }
    session_wind_down(s);
}

static void on_idle(uv_timer_t *t)
{
    kms_tls_conn_t *c = t->data;

    if (c->s && !c->waiting)
        session_end(c->s);
}

/* ---- connection ---------------------------------------------------------- */

int kms_tls_conn_new(uv_loop_t *loop, kms_tls_ctx_t *ctx, const struct sockaddr *server,
                     const char *name, uint64_t idle_ms, kms_tls_conn_t **out)
{
    kms_tls_conn_t *c;
    struct in6_addr a6;
    size_t n;
    int rc;

    *out = NULL;
    if (!loop || !ctx || !server || (server->sa_family != AF_INET && server->sa_family != AF_INET6))
        return KMS_EINVAL;
    if (!(c = calloc(1, sizeof *c)))
        return KMS_ENOMEM;
    c->loop = loop;
    c->ctx = ctx;
    memcpy(&c->server, server, kms_addr_len(server));
    kms_addr_format_dns(server, c->server_str);
    if (name && name[0])
        snprintf(c->name, sizeof c->name, "%s", name);
    else
        kms_addr_format_ip(server, c->name);
    n = strlen(c->name);
    if (n > 1 && c->name[n - 1] == '.')
        c->name[n - 1] = '\0'; /* certificates name hosts without the root's dot */
    c->name_is_ip = inet_pton(AF_INET, c->name, &a6) == 1 || inet_pton(AF_INET6, c->name, &a6) == 1;
    c->idle_ms = idle_ms ? idle_ms : KMS_TLS_IDLE_MS;
    if ((rc = uv_timer_init(loop, &c->idle)) < 0) {
        free(c);
        return kms_err_from_uv(rc);
    }
    c->idle.data = c;
    uv_unref((uv_handle_t *)&c->idle); /* the loop may end while it waits: the owner closes */
    c->open = 1;
    *out = c;
    return 0;
}

static void idle_closed(uv_handle_t *h)
{
    conn_release(h->data);
}

void kms_tls_conn_close(kms_tls_conn_t *c, kms_tls_closed_cb cb, void *ud)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    c->close_cb = cb;
    c->close_ud = ud;
    while (c->waiting)
        send_end(c->waiting, KMS_ECANCELED, NULL, 0);
    if (c->s)
        session_end(c->s);
    uv_timer_stop(&c->idle);
    uv_close((uv_handle_t *)&c->idle, idle_closed);
}

const char *kms_tls_conn_error(const kms_tls_conn_t *c, int *status)
{
    if (status)
        *status = c ? c->error_status : 0;
    return c ? c->error : "";
}

unsigned kms_tls_conn_handshakes(const kms_tls_conn_t *c)
{
    return c ? c->handshakes : 0;
}

const char *kms_tls_conn_name(const kms_tls_conn_t *c)
{
    return c ? c->name : "";
}

int kms_tls_send(kms_tls_conn_t *c, const uint8_t *msg, size_t len, uint64_t timeout_ms,
                 kms_dns_send_cb cb, void *ud, kms_tls_send_t **out)
{
    kms_tls_send_t *x, *w;
    kms_wr_t wr;
    uint16_t id;
    int rc;

    if (out)
        *out = NULL;
    if (!c || c->closing || !msg || len < 12 || len > 65535 || !cb)
        return KMS_EINVAL;
    id = kms_dns_u16_at(msg, len);
    for (w = c->waiting; w && w->id != id; w = w->next)
        ;
    if (w)
        return KMS_EEXIST;
    if (!(x = calloc(1, sizeof *x)))
        return KMS_ENOMEM;
    kms_wr_init(&wr);
    kms_wr_reserve(&wr, len + 2);     /* one buffer: no copy left behind by a realloc */
    kms_wr_u16be(&wr, (uint16_t)len); /* RFC 7858 section 3.3: TCP's 2-byte length */
    kms_wr_bytes(&wr, msg, len);
    if (!(x->msg = kms_wr_steal(&wr, &x->len))) {
        free(x);
        return KMS_ENOMEM;
    }
    x->id = id;
    x->cb = cb;
    x->ud = ud;
    x->info.tls = 1;
    x->start_ms = uv_now(c->loop);
    if ((rc = uv_timer_init(c->loop, &x->timer)) < 0) {
        free(x->msg);
        free(x);
        return kms_err_from_uv(rc);
    }
    x->timer.data = x;
    if (!c->s && (rc = session_open(c)) < 0) {
        x->done = 1; /* the callback must not run: close quietly */
        x->cb = NULL;
        uv_close((uv_handle_t *)&x->timer, send_closed);
        return rc;
    }
    uv_timer_stop(&c->idle);
    uv_ref((uv_handle_t *)&c->s->tcp); /* busy again: the loop runs until the answer */
    x->conn = c;
    x->owner = c;
    c->open++; /* the connection outlives this exchange's callback */
    x->prev = c->waiting_tail;
    if (c->waiting_tail)
        c->waiting_tail->next = x;
    else
        c->waiting = x;
    c->waiting_tail = x;
    uv_timer_start(&x->timer, on_send_timeout, timeout_ms ? timeout_ms : 1, 0);
    if (c->s->hs_done)
        pump(c->s); /* may end x (a broken session): its callback still comes from the loop */
    if (out)
        *out = x;
    return 0;
}

void kms_tls_send_cancel(kms_tls_send_t *x)
{
    if (x)
        send_end(x, KMS_ECANCELED, NULL, 0);
}
