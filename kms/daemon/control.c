/* SPDX-License-Identifier: MIT */
/*
 * control.c - the control socket transport (see control.h).
 */
#include "kms/daemon/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/wire.h"

#define CLIENT_LINE_START 4096                       /* a client's buffer at first */
#define CLIENT_LINE_MAX   (KMS_CONTROL_MAX_LINE + 2) /* the longest line with its "\r\n" */

typedef struct client client_t;

struct kms_control_req {
    client_t *cl; /* NULL once the client has gone */
    kms_cmd_result_t res;
};

struct client {
    uv_pipe_t pipe;
    kms_control_t *ctl;
    char *line; /* input not yet run; grows to the longest line with its "\r\n" */
    size_t len, cap;
    int closing;
    int discard;                 /* after an overlong line: drop input until the peer closes */
    int paused;                  /* reading stopped: too many replies unread by the client */
    kms_control_req_t *deferred; /* a reply the hook took over; reading waits for it */
    uv_shutdown_t shut;
    client_t *prev, *next;
};

struct kms_control {
    uv_loop_t *loop;
    kms_host_t *host;
    char *path;
    uv_pipe_t listener;
    int listening, stopping, bound;
    size_t open_handles;
    client_t *clients;
    kms_control_hook_fn hook;
    void *hook_ud;
    uv_timer_t tick; /* kms_control_stop(): calls back from the loop */
    kms_control_stopped_fn stop_cb;
    void *stop_ud;
};

typedef struct {
    uv_write_t req;
    client_t *cl;
    int close_after;
    uv_buf_t buf;
    uint8_t data[];
} cwreq_t;

static void maybe_stopped(kms_control_t *c)
{
    if (c->stopping && c->open_handles == 0 && c->stop_cb) {
        kms_control_stopped_fn cb = c->stop_cb;

        c->stop_cb = NULL;
        cb(c, c->stop_ud);
    }
}

static void client_closed(uv_handle_t *h)
{
    client_t *cl = h->data;
    kms_control_t *c = cl->ctl;

    if (cl->line) /* may hold part of a product key */
        explicit_bzero(cl->line, cl->cap);
    free(cl->line);
    free(cl);
    c->open_handles--;
    maybe_stopped(c);
}

static void client_close(client_t *cl)
{
    kms_control_t *c = cl->ctl;

    if (cl->closing)
        return;
    cl->closing = 1;
    if (cl->deferred) {
        cl->deferred->cl = NULL;
        cl->deferred = NULL;
    }
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        c->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    uv_close((uv_handle_t *)&cl->pipe, client_closed);
}

static void calloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void cread_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void cwrite_cb(uv_write_t *req, int status)
{
    cwreq_t *w = (cwreq_t *)req;
    client_t *cl = w->cl;
    int close_after = w->close_after;

    free(w);
    if (cl->closing)
        return;
    if (status < 0 || close_after) {
        client_close(cl);
        return;
    }
    if (cl->paused && !cl->deferred && cl->pipe.write_queue_size == 0) {
        cl->paused = 0;
        if (uv_read_start((uv_stream_t *)&cl->pipe, calloc_cb, cread_cb) < 0)
            client_close(cl);
    }
}

static int client_send(client_t *cl, const void *data, size_t len, int close_after)
{
    cwreq_t *w = malloc(sizeof *w + len);
    int rc;

    if (!w)
        return KMS_ENOMEM;
    memcpy(w->data, data, len);
    w->cl = cl;
    w->close_after = close_after;
    w->buf = uv_buf_init((char *)w->data, (unsigned)len);
    rc = uv_write(&w->req, (uv_stream_t *)&cl->pipe, &w->buf, 1, cwrite_cb);
    if (rc < 0) {
        free(w);
        return kms_err_from_uv(rc);
    }
    return 0;
}

/* Write one reply (text of @p len bytes, newline added if missing). */
static void send_reply(client_t *cl, const char *text, size_t len)
{
    static const char oom[] = "ERR KMS_ENOMEM out of memory\n";
    int r;

    if (len == 0) {
        if (client_send(cl, oom, sizeof oom - 1, 1) < 0)
            client_close(cl);
        return;
    }
    r = client_send(cl, text, len, 0);
    if (r == 0 && text[len - 1] != '\n')
        r = client_send(cl, "\n", 1, 0);
    if (r < 0) {
        client_close(cl);
        return;
    }
    /* A client that sends commands without reading the answers: stop
     * reading until what it was sent has drained. */
    if (!cl->closing && !cl->paused && cl->pipe.write_queue_size > KMS_CONTROL_MAX_PENDING) {
        cl->paused = 1;
        uv_read_stop((uv_stream_t *)&cl->pipe);
    }
}

/* Render @p res and send it. */
static void send_result(client_t *cl, const kms_cmd_result_t *res)
{
    kms_wr_t w;

    kms_wr_init(&w);
    if (kms_cmd_render(res, &w) < 0)
        send_reply(cl, NULL, 0);
    else
        send_reply(cl, (const char *)w.buf, w.len);
    kms_wr_free(&w);
}

static void req_free(kms_control_req_t *req)
{
    kms_cmd_result_free(&req->res);
    free(req);
}

static void run_line(client_t *cl, char *line)
{
    kms_control_t *c = cl->ctl;
    kms_control_req_t *req;
    size_t n = strlen(line);

    if (n > 0 && line[n - 1] == '\r')
        line[--n] = '\0';
    if (!(req = calloc(1, sizeof *req))) {
        /* not run: the client is told so, never a silent OK */
        send_reply(cl, NULL, 0);
        return;
    }
    req->cl = cl;
    kms_cmd_result_init(&req->res);
    kms_host_command(c->host, line, &req->res);
    /* the verb only: a line may hold a whole product key (ipk) */
    kms_debug("control: %s -> %s", req->res.verb ? req->res.verb->name : "(no verb)",
              req->res.status == 0 ? "OK" : kms_err_name(req->res.status));
    if (c->hook) {
        cl->deferred = req;
        if (c->hook(c->hook_ud, req, &req->res) == 1) {
            /* Taken over: read nothing more until kms_control_reply(). */
            if (!cl->closing && !cl->paused) {
                cl->paused = 1;
                uv_read_stop((uv_stream_t *)&cl->pipe);
            }
            return;
        }
        cl->deferred = NULL;
    }
    send_result(cl, &req->res);
    req_free(req);
}

static void client_process(client_t *cl);

void kms_control_reply(kms_control_req_t *req)
{
    client_t *cl;

    if (!req)
        return;
    cl = req->cl;
    if (!cl || cl->closing) {
        req_free(req);
        return;
    }
    cl->deferred = NULL;
    send_result(cl, &req->res);
    req_free(req);
    if (cl->closing)
        return;
    /* Commands that arrived meanwhile, then reading again. */
    client_process(cl);
    if (!cl->closing && !cl->deferred && cl->paused &&
        cl->pipe.write_queue_size <= KMS_CONTROL_MAX_PENDING) {
        cl->paused = 0;
        if (uv_read_start((uv_stream_t *)&cl->pipe, calloc_cb, cread_cb) < 0)
            client_close(cl);
    }
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
}

static void calloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    client_t *cl = h->data;

    (void)suggested;
    if (cl->len == cl->cap && cl->cap < CLIENT_LINE_MAX) {
        /* A long line (an sdomains list): double the buffer.  Not realloc:
         * the old one is wiped before it goes. */
        size_t cap = cl->cap ? cl->cap * 2 : CLIENT_LINE_START;
        char *nl = malloc(cap < CLIENT_LINE_MAX ? cap : CLIENT_LINE_MAX);

        if (nl) {
            if (cl->line) {
                memcpy(nl, cl->line, cl->len);
                explicit_bzero(cl->line, cl->cap);
            }
            free(cl->line);
            cl->line = nl;
            cl->cap = cap < CLIENT_LINE_MAX ? cap : CLIENT_LINE_MAX;
        }
    }
    /* no room (out of memory): libuv reports UV_ENOBUFS, the client is closed */
    buf->base = cl->line ? cl->line + cl->len : NULL;
    buf->len = cl->cap - cl->len;
}

/* A line over KMS_CONTROL_MAX_LINE bytes: answer, send FIN, and drain until
 * the peer closes (closing with unread input would reset the connection and
 * lose the answer). */
static void client_refuse_long_line(client_t *cl)
{
    kms_cmd_result_t res;
    kms_wr_t w;
    int r;

    kms_warn("control: closing a client that sent a line longer than %d bytes",
             KMS_CONTROL_MAX_LINE);
    cl->discard = 1;
    cl->len = 0;
    kms_cmd_result_init(&res);
    kms_cmd_result_fail(&res, KMS_ETOOBIG, "line longer than %d bytes", KMS_CONTROL_MAX_LINE);
    kms_wr_init(&w);
    r = kms_cmd_render(&res, &w);
    if (r == 0)
        r = client_send(cl, w.buf, w.len, 0);
    kms_wr_free(&w);
    kms_cmd_result_free(&res);
    if (r < 0 || uv_shutdown(&cl->shut, (uv_stream_t *)&cl->pipe, shutdown_cb) < 0)
        client_close(cl);
}

/* Run the complete lines buffered in cl->line[0..len), stopping at a
 * deferred reply. */
static void client_process(client_t *cl)
{
    size_t start = 0, end = cl->len;

    for (size_t i = 0; i < end && !cl->deferred; i++) {
        size_t n = i - start; /* the line without its newline (and "\r") */

        if (cl->line[i] != '\n')
            continue;
        if (n > 0 && cl->line[i - 1] == '\r')
            n--;
        if (n > KMS_CONTROL_MAX_LINE) {
            client_refuse_long_line(cl);
            return;
        }
        cl->line[i] = '\0';
        run_line(cl, cl->line + start);
        if (cl->closing)
            return;
        explicit_bzero(cl->line + start, i + 1 - start); /* may hold a product key */
        start = i + 1;
    }
    if (start > 0)
        memmove(cl->line, cl->line + start, end - start);
    cl->len = end - start;
    /* Full without a newline: longer than any line we take. */
    if (cl->len == CLIENT_LINE_MAX && !cl->deferred)
        client_refuse_long_line(cl);
}

static void cread_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    client_t *cl = st->data;

    (void)buf;
    if (cl->closing || nread == 0)
        return;
    if (nread < 0) {
        client_close(cl);
        return;
    }
    if (cl->discard) {
        cl->len = 0;
        return;
    }
    cl->len += (size_t)nread;
    client_process(cl);
}

static void control_connection_cb(uv_stream_t *ls, int status)
{
    kms_control_t *c = ls->data;
    client_t *cl;

    if (status < 0) {
        kms_warn("control: accept: %s", uv_strerror(status));
        return;
    }
    cl = calloc(1, sizeof *cl);
    if (!cl) {
        kms_error("control: out of memory");
        return;
    }
    cl->ctl = c;
    uv_pipe_init(c->loop, &cl->pipe, 0);
    cl->pipe.data = cl;
    c->open_handles++;
    cl->next = c->clients;
    if (c->clients)
        c->clients->prev = cl;
    c->clients = cl;
    if (uv_accept(ls, (uv_stream_t *)&cl->pipe) < 0 ||
        uv_read_start((uv_stream_t *)&cl->pipe, calloc_cb, cread_cb) < 0)
        client_close(cl);
}

int kms_control_new(uv_loop_t *loop, const char *path, kms_host_t *host, kms_control_t **out)
{
    kms_control_t *c = calloc(1, sizeof *c);

    *out = NULL;
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return KMS_ENOMEM;
    }
    c->loop = loop;
    c->host = host;
    *out = c;
    return 0;
}

void kms_control_set_hook(kms_control_t *c, kms_control_hook_fn fn, void *ud)
{
    c->hook = fn;
    c->hook_ud = ud;
}

/* Is someone accepting on @p path?  1 yes, 0 no (stale or absent), <0 error. */
static int socket_alive(const char *path)
{
    struct sockaddr_un sun;
    int fd, r, e;

    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
    e = errno;
    close(fd);
    if (r == 0)
        return 1;
    if (e == ECONNREFUSED || e == ENOENT)
        return 0;
    return -e;
}

static void listener_closed(uv_handle_t *h)
{
    kms_control_t *c = h->data;

    c->open_handles--;
    maybe_stopped(c);
}

int kms_control_start(kms_control_t *c, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;
    mode_t old;
    int r;

    if (strlen(c->path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "control socket path too long (max %zu bytes): %s",
                 sizeof sun.sun_path - 1, c->path);
        return KMS_EINVAL;
    }
    r = socket_alive(c->path);
    if (r == 1) {
        snprintf(err, errlen, "another kmsd is already using %s", c->path);
        return KMS_EBUSY;
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot check control socket %s: %s", c->path, strerror(-r));
        return kms_err_from_errno(-r);
    }
    if (lstat(c->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", c->path);
            return KMS_EEXIST;
        }
        if (unlink(c->path) < 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove stale control socket %s: %s", c->path,
                     strerror(errno));
            return kms_err_from_errno(errno);
        }
        kms_info("replaced stale control socket %s", c->path);
    }
    uv_pipe_init(c->loop, &c->listener, 0);
    c->listener.data = c;
    c->listening = 1;
    c->open_handles++;
    old = umask(0177);
    r = uv_pipe_bind(&c->listener, c->path);
    umask(old);
    if (r == 0) {
        c->bound = 1;
        r = uv_listen((uv_stream_t *)&c->listener, 64, control_connection_cb);
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot listen on control socket %s: %s", c->path, uv_strerror(r));
        goto fail;
    }
    /* Belt and braces: the mode must be 0600 whatever the umask did. */
    if (chmod(c->path, 0600) < 0 || stat(c->path, &st) < 0 || (st.st_mode & 0777) != 0600) {
        snprintf(err, errlen, "cannot make control socket %s mode 0600", c->path);
        r = UV_EPERM;
        goto fail;
    }
    return 0;
fail:
    if (c->bound) {
        unlink(c->path);
        c->bound = 0;
    }
    c->listening = 0;
    uv_close((uv_handle_t *)&c->listener, listener_closed);
    return r == UV_EPERM ? KMS_EPERM : kms_err_from_uv(r);
}

static void tick_closed(uv_handle_t *h)
{
    kms_control_t *c = h->data;

    c->open_handles--;
    maybe_stopped(c);
}

void kms_control_stop(kms_control_t *c, kms_control_stopped_fn cb, void *ud)
{
    if (!c)
        return;
    if (!c->stopping) {
        c->stopping = 1;
        c->stop_cb = cb;
        c->stop_ud = ud;
        /* The callback comes from a close callback at the earliest, never
         * from in here, even with nothing else open (base/loop.h). */
        uv_timer_init(c->loop, &c->tick);
        c->tick.data = c;
        c->open_handles++;
        uv_close((uv_handle_t *)&c->tick, tick_closed);
    }
    if (c->listening) {
        c->listening = 0;
        uv_close((uv_handle_t *)&c->listener, listener_closed);
    }
    if (c->bound) {
        unlink(c->path);
        c->bound = 0;
    }
    while (c->clients)
        client_close(c->clients);
}

void kms_control_free(kms_control_t *c)
{
    if (!c)
        return;
    free(c->path);
    free(c);
}

int kms_control_reply_complete(const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len), *p, *end = buf + len;
    unsigned long n = 0, seen = 0;
    size_t i;

    if (!nl)
        return len > KMS_CONTROL_MAX_LINE ? KMS_EMALFORMED : 0;
    if (nl - buf > KMS_CONTROL_MAX_LINE)
        return KMS_EMALFORMED;
    if (len >= 4 && memcmp(buf, "ERR ", 4) == 0)
        return 1;
    if (len < 4 || memcmp(buf, "OK ", 3) != 0)
        return KMS_EMALFORMED;
    /* "OK <n>": digits only, at most 9 of them. */
    for (i = 3; buf + i < nl; i++) {
        if (buf[i] < '0' || buf[i] > '9' || i >= 12)
            return KMS_EMALFORMED;
        n = n * 10 + (unsigned long)(buf[i] - '0');
    }
    if (i == 3)
        return KMS_EMALFORMED;
    for (p = nl + 1; p < end && seen < n; seen++) {
        const char *q = memchr(p, '\n', (size_t)(end - p));

        if (!q)
            return 0;
        p = q + 1;
    }
    return seen >= n ? 1 : 0;
}
