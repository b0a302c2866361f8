/* SPDX-License-Identifier: MIT */
/*
 * query.c - c-ares on a libuv loop (see query.h for the design).
 */
#include "dns/query.h"

#include <ares.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/err.h"
#include "dns/resolvconf.h"

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_TRIES      2
#define EDNS_PAYLOAD       1232 /* glue for many SRV records fits without TC */

typedef struct chan chan_t;

typedef struct sockwatch {
    uv_poll_t poll; /* first: the close callback casts back */
    kms_dnsq_t *q;
    chan_t *ch;
    ares_socket_t fd;
    struct sockwatch *next;
} sockwatch_t;

/* One c-ares channel per server: c-ares 1.18 cannot send a query to a chosen
 * server, and with NOCHECKRESP it does not move on after a SERVFAIL. */
struct chan {
    kms_dnsq_t *q;
    ares_channel channel;
};

typedef struct request {
    kms_dnsq_t *q;
    kms_dnsq_cb cb;
    void *ud;
    char name[258]; /* absolute */
    uint16_t qtype;
    unsigned next;   /* next attempt: server next % n_ch, round next / n_ch */
    unsigned done;   /* servers that answered with an rcode: not asked again */
    int best_status; /* what to report when no server gives a final answer */
    uint8_t *best;   /* its message, when it came with one (owned) */
    size_t best_len;
    int in_send; /* c-ares answered synchronously from inside ares_query() */
    int sync_status;
    int sync_done;
    int final_status;          /* stopping: what the callback will be told */
    struct request *told_next; /* stopping: in the engine's list of callbacks to make */
} request_t;

struct kms_dnsq {
    uv_loop_t *loop;
    chan_t ch[KMS_DNSQ_MAX_SERVERS];
    size_t n_ch; /* channels created */
    unsigned rounds;
    uv_timer_t timer;
    sockwatch_t *socks;
    unsigned open_handles; /* timer + polls not yet through their close callback */
    unsigned depth;        /* nesting of ares_process_fd()/ares_query() calls */
    int closing;
    int destroyed;
    kms_dnsq_stopped_fn stop_cb; /* kms_dnsq_stop(): called once everything is closed */
    void *stop_ud;
    request_t *told; /* stopping: canceled requests, told from the timer's close callback */
    uint64_t sent;
    size_t pending;
};

static int lib_refs;

static int from_ares(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENODATA:
        return KMS_EDNS_NODATA;
    case ARES_EFORMERR:
        return KMS_EDNS_FORMERR;
    case ARES_ESERVFAIL:
        return KMS_EDNS_SERVFAIL;
    case ARES_ENOTFOUND:
        return KMS_EDNS_NXDOMAIN;
    case ARES_ENOTIMP:
        return KMS_EDNS_NOTIMP;
    case ARES_EREFUSED:
        return KMS_EDNS_REFUSED;
    case ARES_EBADQUERY:
    case ARES_EBADNAME:
    case ARES_EBADFAMILY:
    case ARES_EBADFLAGS:
        return KMS_EINVAL;
    case ARES_EBADRESP:
        return KMS_EDNS_BADANSWER;
    case ARES_ECONNREFUSED:
        return KMS_ECONNREFUSED;
    case ARES_ETIMEOUT:
        return KMS_ETIMEOUT;
    case ARES_EOF:
        return KMS_ECLOSED;
    case ARES_ENOMEM:
        return KMS_ENOMEM;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return KMS_ECANCELED;
    default:
        return KMS_ESYS;
    }
}

static void on_handle_closed(uv_handle_t *h);

static void maybe_stopped(kms_dnsq_t *q)
{
    kms_dnsq_stopped_fn cb = q->stop_cb;

    if (q->destroyed && q->open_handles == 0 && cb) {
        q->stop_cb = NULL;
        cb(q, q->stop_ud);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    kms_dnsq_t *q;

    if (h->type == UV_POLL) {
        sockwatch_t *w = (sockwatch_t *)h;
        q = w->q;
        free(w);
    } else {
        q = h->data;
        /* the timer is closed by kms_dnsq_stop(): the queries it canceled
         * are told now, from the loop */
        while (q->told) {
            request_t *r = q->told;

            q->told = r->told_next;
            r->cb(r->ud, r->final_status, NULL, 0);
            free(r->best);
            free(r);
        }
    }
    q->open_handles--;
    maybe_stopped(q);
}

static void destroy(kms_dnsq_t *q);
static void on_timer(uv_timer_t *t);

static void rearm_timer(kms_dnsq_t *q)
{
    struct timeval tv, *tvp, best, *min = NULL;
    uint64_t ms;

    if (q->destroyed || q->n_ch == 0)
        return;
    for (size_t i = 0; i < q->n_ch; i++) {
        tvp = ares_timeout(q->ch[i].channel, min, &tv);
        if (tvp) {
            best = *tvp;
            min = &best;
        }
    }
    if (!min) {
        uv_timer_stop(&q->timer);
        return;
    }
    ms = (uint64_t)min->tv_sec * 1000u + ((uint64_t)min->tv_usec + 999u) / 1000u;
    uv_timer_start(&q->timer, on_timer, ms, 0);
}

/* Let c-ares work: on @p ch's sockets, or (NULL, from the timer) on every
 * channel's timeouts. */
static void process(kms_dnsq_t *q, chan_t *ch, ares_socket_t rfd, ares_socket_t wfd, int from_timer)
{
    q->depth++;
    if (ch)
        ares_process_fd(ch->channel, rfd, wfd);
    else
        for (size_t i = 0; i < q->n_ch && !q->destroyed; i++)
            ares_process_fd(q->ch[i].channel, rfd, wfd);
    q->depth--;
    if (q->closing && q->depth == 0)
        destroy(q);
    else if (from_timer || !uv_is_active((uv_handle_t *)&q->timer))
        rearm_timer(q);
    /* else: the armed deadline is at or before every pending query's (each
     * new query's deadline is later than the ones before it); if it fires
     * early, on_timer() just re-reads ares_timeout().  This keeps the O(n)
     * ares_timeout() walk off the path of every answer. */
}

static void on_timer(uv_timer_t *t)
{
    process(t->data, NULL, ARES_SOCKET_BAD, ARES_SOCKET_BAD, 1);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sockwatch_t *w = (sockwatch_t *)p;
    ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

    /* On a poll error let c-ares read/write the socket and see the error. */
    if (status < 0 || (events & UV_READABLE))
        rfd = w->fd;
    if (status < 0 || (events & UV_WRITABLE))
        wfd = w->fd;
    process(w->q, w->ch, rfd, wfd, 0);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    chan_t *ch = data;
    kms_dnsq_t *q = ch->q;
    sockwatch_t **pp, *w;
    int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

    for (pp = &q->socks; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
        ;
    w = *pp;
    if (!events) {
        /* c-ares is about to close fd: stop watching it now, before the
         * number can be reused by another socket. */
        if (w) {
            *pp = w->next;
            uv_poll_stop(&w->poll);
            uv_close((uv_handle_t *)&w->poll, on_handle_closed);
        }
        return;
    }
    if (!w) {
        w = calloc(1, sizeof(*w));
        if (!w)
            return; /* the query will time out */
        w->q = q;
        w->ch = ch;
        w->fd = fd;
        if (uv_poll_init_socket(q->loop, &w->poll, fd) != 0) {
            free(w);
            return;
        }
        q->open_handles++;
        w->next = q->socks;
        q->socks = w;
    }
    uv_poll_start(&w->poll, events, on_poll);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

/* Answers worth asking the next server about, as a stub resolver does: the
 * server failed, refused, did not answer, or sent something unusable. */
static int try_next(int st)
{
    return st == KMS_EDNS_SERVFAIL || st == KMS_EDNS_REFUSED || st == KMS_EDNS_NOTIMP ||
           st == KMS_EDNS_FORMERR || st == KMS_EDNS_BADANSWER || st == KMS_ETIMEOUT ||
           st == KMS_ECONNREFUSED || st == KMS_ECLOSED;
}

static void finish_request(request_t *r, int st, const uint8_t *msg, size_t len)
{
    kms_dnsq_t *q = r->q;

    q->pending--;
    if (q->pending == 0 && !q->destroyed)
        uv_timer_stop(&q->timer); /* nothing left to time out: let the loop end */
    if (q->closing) {
        /* canceled by kms_dnsq_stop(): never call back from inside it */
        r->final_status = KMS_ECANCELED;
        r->told_next = q->told;
        q->told = r;
        return;
    }
    r->cb(r->ud, st, len ? msg : NULL, msg ? len : 0);
    free(r->best);
    free(r);
}

/* Send @p r to the next server it is not finished with: 0 when handed to
 * c-ares, KMS_ENOENT when every server and round is used up. */
static int send_next(request_t *r)
{
    kms_dnsq_t *q = r->q;
    unsigned n = (unsigned)q->n_ch, total = q->rounds * n;

    while (r->next < total && ((r->done >> (r->next % n)) & 1u))
        r->next++;
    if (r->next >= total)
        return KMS_ENOENT;
    q->depth++;
    ares_query(q->ch[r->next++ % n].channel, r->name, 1 /* C_IN */, r->qtype, on_answer, r);
    q->depth--;
    return 0;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    request_t *r = arg;
    kms_dnsq_t *q = r->q;
    int st = from_ares(status);
    size_t len = abuf && alen > 0 ? (size_t)alen : 0;

    (void)timeouts;
    if (r->in_send) {
        r->sync_done = 1;
        r->sync_status = st ? st : KMS_EIO;
        return; /* kms_dnsq_send() reports it and frees r */
    }
    if (!q->destroyed && !q->closing && try_next(st)) {
        /* Report, if no server does better, the most telling failure: the
         * first answer that carried an rcode, else the first silence. */
        if (len) {
            r->done |= 1u << ((r->next - 1) % (unsigned)q->n_ch);
            if (!r->best && (r->best = malloc(len)) != NULL) {
                memcpy(r->best, abuf, len);
                r->best_len = len;
                r->best_status = st;
            }
        } else if (!r->best_status) {
            r->best_status = st;
        }
        if (send_next(r) == 0)
            return; /* the next attempt owns r (its callback may have run already) */
        if (r->best)
            finish_request(r, r->best_status, r->best, r->best_len);
        else
            finish_request(r, r->best_status ? r->best_status : st, NULL, 0);
        return;
    }
    finish_request(r, st, len ? abuf : NULL, len);
}

static void node_of(struct ares_addr_port_node *node, const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        node->family = AF_INET;
        memcpy(&node->addr.addr4, &sin->sin_addr, sizeof(sin->sin_addr));
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        node->family = AF_INET6;
        memcpy(&node->addr.addr6, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
    }
    node->udp_port = node->tcp_port = kms_addr_port((const struct sockaddr *)ss);
}

static int add_server(struct ares_addr_port_node *node, const char *s, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int rc = kms_addr_parse(s, 53, &ss);

    if (rc != 0) {
        if (err)
            snprintf(err, errlen, "DNS server \"%s\": %s (expected IP[:port])", s,
                     kms_strerror(rc));
        return rc;
    }
    node_of(node, &ss);
    return 0;
}

/* The nameservers of resolv.conf (@p path, NULL: /etc/resolv.conf), read by
 * dns/resolvconf.c; 127.0.0.1 when it names none, as c-ares and the C
 * library assume.  Returns how many. */
static size_t resolv_conf_nodes(const char *path, struct ares_addr_port_node *nodes)
{
    kms_resolvconf_t rc;
    struct sockaddr_storage ss[KMS_RC_MAX_NS];
    size_t n = 0;

    if (kms_resolvconf_load(path, &rc) == 0)
        n = kms_resolvconf_servers(&rc, ss, KMS_RC_MAX_NS);
    if (n == 0 && kms_addr_parse("127.0.0.1", 53, &ss[0]) == 0)
        n = 1;
    for (size_t i = 0; i < n; i++)
        node_of(&nodes[i], &ss[i]);
    return n;
}

int kms_dnsq_new(uv_loop_t *loop, const kms_dnsq_opts_t *opts, kms_dnsq_t **out, char *err,
                 size_t errlen)
{
    kms_dnsq_opts_t none = {0};
    struct ares_options ao;
    struct ares_addr_port_node nodes[KMS_DNSQ_MAX_SERVERS];
    size_t nodes_n;
    int mask, rc;
    kms_dnsq_t *q = NULL;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!opts)
        opts = &none;
    if (opts->n_servers > KMS_DNSQ_MAX_SERVERS) {
        if (err)
            snprintf(err, errlen, "too many DNS servers (at most %d)", KMS_DNSQ_MAX_SERVERS);
        return KMS_ERANGE;
    }
    memset(nodes, 0, sizeof(nodes));
    for (size_t i = 0; i < opts->n_servers; i++) {
        rc = add_server(&nodes[i], opts->servers[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    nodes_n = opts->n_servers;

    q = calloc(1, sizeof(*q));
    if (!q)
        return KMS_ENOMEM;
    q->loop = loop;
    if (lib_refs++ == 0 && ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
        lib_refs--;
        free(q);
        return KMS_ENOMEM;
    }

    memset(&ao, 0, sizeof(ao));
    mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
           ARES_OPT_EDNSPSZ;
    /* NOCHECKRESP: c-ares 1.18.1 would turn SERVFAIL and REFUSED answers into
     * ECONNREFUSED after skipping the server; deliver them so the user sees
     * the real rcode (ares_query maps it to ESERVFAIL/EREFUSED).  Moving on
     * to the next server is ours (on_answer): one channel per server, one
     * try per channel, opts->tries rounds over the servers. */
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS | ARES_FLAG_NOCHECKRESP;
    ao.timeout = opts->timeout_ms ? (int)opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    ao.tries = 1;
    ao.sock_state_cb = on_sock_state;
    ao.ednspsz = EDNS_PAYLOAD;
    q->rounds = opts->tries ? opts->tries : DEFAULT_TRIES;
    if (opts->n_servers == 0)
        nodes_n = resolv_conf_nodes(opts->resolv_conf, nodes);
    for (size_t i = 0; i < nodes_n; i++) {
        /* Before any query: ares_set_servers_ports() fails while queries pend. */
        ao.sock_state_cb_data = &q->ch[i];
        rc = ares_init_options(&q->ch[i].channel, &ao, mask);
        if (rc != ARES_SUCCESS)
            goto ares_fail;
        q->ch[i].q = q;
        q->n_ch = i + 1;
        nodes[i].next = NULL;
        if (ares_set_servers_ports(q->ch[i].channel, &nodes[i]) != ARES_SUCCESS) {
            if (err)
                snprintf(err, errlen, "DNS engine: cannot set servers");
            rc = KMS_ECONFIG;
            goto fail;
        }
    }
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    q->open_handles = 1;
    *out = q;
    return 0;

ares_fail:
    if (err)
        snprintf(err, errlen, "DNS engine: %s", ares_strerror(rc));
    rc = rc == ARES_ENOMEM ? KMS_ENOMEM : KMS_ECONFIG;
fail:
    for (size_t i = 0; i < q->n_ch; i++)
        ares_destroy(q->ch[i].channel);
    if (--lib_refs == 0)
        ares_library_cleanup();
    free(q);
    return rc;
}

int kms_dnsq_send(kms_dnsq_t *q, const char *name, uint16_t qtype, kms_dnsq_cb cb, void *ud)
{
    request_t *r;
    size_t n;
    int rc;

    if (!q || q->closing)
        return KMS_ECLOSED;
    if (!name || !cb)
        return KMS_EINVAL;
    n = strlen(name);
    if (n == 0 || n > 254)
        return KMS_EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return KMS_ENOMEM;
    r->q = q;
    r->cb = cb;
    r->ud = ud;
    r->qtype = qtype;
    memcpy(r->name, name, n + 1);
    if (r->name[n - 1] != '.') { /* absolute: never let a search rule apply */
        r->name[n] = '.';
        r->name[n + 1] = '\0';
    }
    r->in_send = 1;
    send_next(r);
    if (r->sync_done) {
        rc = r->sync_status;
        free(r);
        return rc;
    }
    r->in_send = 0;
    q->sent++;
    q->pending++;
    if (!uv_is_active((uv_handle_t *)&q->timer))
        rearm_timer(q); /* an armed timer is due no later than this query */
    return 0;
}

uint64_t kms_dnsq_count(const kms_dnsq_t *q)
{
    return q ? q->sent : 0;
}

size_t kms_dnsq_pending(const kms_dnsq_t *q)
{
    return q ? q->pending : 0;
}

char *kms_dnsq_servers(const kms_dnsq_t *q, char *buf, size_t len)
{
    size_t used = 0;

    if (len)
        buf[0] = '\0';
    for (size_t i = 0; q && !q->destroyed && i < q->n_ch; i++) {
        struct ares_addr_port_node *list = NULL, *n;

        if (ares_get_servers_ports(q->ch[i].channel, &list) != ARES_SUCCESS)
            return buf;
        for (n = list; n; n = n->next) {
            char ip[INET6_ADDRSTRLEN];
            int w;

            inet_ntop(n->family, &n->addr, ip, sizeof(ip));
            w = snprintf(buf + used, len - used, n->family == AF_INET6 ? "%s[%s]:%d" : "%s%s:%d",
                         used ? "," : "", ip, n->udp_port ? n->udp_port : 53);
            if (w < 0 || (size_t)w >= len - used)
                break;
            used += (size_t)w;
        }
        ares_free_data(list);
    }
    return buf;
}

static void destroy(kms_dnsq_t *q)
{
    if (q->destroyed)
        return;
    q->destroyed = 1;
    /* Callbacks run with ARES_ECANCELLED/EDESTRUCTION; sends are refused. */
    for (size_t i = 0; i < q->n_ch; i++)
        ares_cancel(q->ch[i].channel);
    for (size_t i = 0; i < q->n_ch; i++)
        ares_destroy(q->ch[i].channel); /* closes sockets: (0,0) state calls close polls */
    q->n_ch = 0;
    while (q->socks) {
        sockwatch_t *w = q->socks;
        q->socks = w->next;
        uv_poll_stop(&w->poll);
        uv_close((uv_handle_t *)&w->poll, on_handle_closed);
    }
    uv_close((uv_handle_t *)&q->timer, on_handle_closed);
    if (--lib_refs == 0)
        ares_library_cleanup();
}

static void stopped_nop(kms_dnsq_t *q, void *ud)
{
    (void)q;
    (void)ud;
}

void kms_dnsq_stop(kms_dnsq_t *q, kms_dnsq_stopped_fn cb, void *ud)
{
    if (!q || q->closing)
        return;
    q->closing = 1;
    q->stop_cb = cb ? cb : stopped_nop;
    q->stop_ud = ud;
    if (q->depth == 0)
        destroy(q);
    /* else: process() destroys once c-ares has returned */
}

void kms_dnsq_free(kms_dnsq_t *q)
{
    free(q);
}
