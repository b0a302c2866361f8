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

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_TRIES      2
#define EDNS_PAYLOAD       1232 /* glue for many SRV records fits without TC */

typedef struct sockwatch {
    uv_poll_t poll; /* first: the close callback casts back */
    kms_dnsq_t *q;
    ares_socket_t fd;
    struct sockwatch *next;
} sockwatch_t;

typedef struct request {
    kms_dnsq_t *q;
    kms_dnsq_cb cb;
    void *ud;
    int in_send; /* c-ares answered synchronously from inside ares_query() */
    int sync_status;
    int sync_done;
} request_t;

struct kms_dnsq {
    uv_loop_t *loop;
    ares_channel channel;
    int channel_ok;
    uv_timer_t timer;
    sockwatch_t *socks;
    unsigned open_handles; /* timer + polls not yet through their close callback */
    unsigned depth;        /* nesting of ares_process_fd()/ares_query() calls */
    int closing;
    int destroyed;
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

static void maybe_free(kms_dnsq_t *q)
{
    if (q->destroyed && q->open_handles == 0)
        free(q);
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
    }
    q->open_handles--;
    maybe_free(q);
}

static void destroy(kms_dnsq_t *q);
static void on_timer(uv_timer_t *t);

static void rearm_timer(kms_dnsq_t *q)
{
    struct timeval tv, *tvp;
    uint64_t ms;

    if (q->destroyed || !q->channel_ok)
        return;
    tvp = ares_timeout(q->channel, NULL, &tv);
    if (!tvp) {
        uv_timer_stop(&q->timer);
        return;
    }
    ms = (uint64_t)tvp->tv_sec * 1000u + ((uint64_t)tvp->tv_usec + 999u) / 1000u;
    uv_timer_start(&q->timer, on_timer, ms, 0);
}

static void process(kms_dnsq_t *q, ares_socket_t rfd, ares_socket_t wfd, int from_timer)
{
    q->depth++;
    ares_process_fd(q->channel, rfd, wfd);
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
    process(t->data, ARES_SOCKET_BAD, ARES_SOCKET_BAD, 1);
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
    process(w->q, rfd, wfd, 0);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    kms_dnsq_t *q = data;
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

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    request_t *r = arg;
    kms_dnsq_t *q = r->q;
    int st = from_ares(status);

    (void)timeouts;
    if (r->in_send) {
        r->sync_done = 1;
        r->sync_status = st ? st : KMS_EIO;
        return; /* kms_dnsq_send() reports it and frees r */
    }
    q->pending--;
    if (q->pending == 0 && !q->destroyed)
        uv_timer_stop(&q->timer); /* nothing left to time out: let the loop end */
    if (abuf && alen > 0)
        r->cb(r->ud, st, abuf, (size_t)alen);
    else
        r->cb(r->ud, st, NULL, 0);
    free(r);
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
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        node->family = AF_INET;
        memcpy(&node->addr.addr4, &sin->sin_addr, sizeof(sin->sin_addr));
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        node->family = AF_INET6;
        memcpy(&node->addr.addr6, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
    }
    node->udp_port = node->tcp_port = kms_addr_port((const struct sockaddr *)&ss);
    return 0;
}

int kms_dnsq_new(uv_loop_t *loop, const kms_dnsq_opts_t *opts, kms_dnsq_t **out, char *err,
                 size_t errlen)
{
    kms_dnsq_opts_t none = {0};
    struct ares_options ao;
    struct ares_addr_port_node nodes[KMS_DNSQ_MAX_SERVERS];
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
        nodes[i].next = i + 1 < opts->n_servers ? &nodes[i + 1] : NULL;
    }

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
     * the real rcode (ares_query maps it to ESERVFAIL/EREFUSED). */
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS | ARES_FLAG_NOCHECKRESP;
    ao.timeout = opts->timeout_ms ? (int)opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    ao.tries = opts->tries ? (int)opts->tries : DEFAULT_TRIES;
    ao.sock_state_cb = on_sock_state;
    ao.sock_state_cb_data = q;
    ao.ednspsz = EDNS_PAYLOAD;
    if (opts->n_servers == 0 && opts->resolv_conf) {
        mask |= ARES_OPT_RESOLVCONF;
        ao.resolvconf_path = (char *)opts->resolv_conf;
    }
    rc = ares_init_options(&q->channel, &ao, mask);
    if (rc != ARES_SUCCESS) {
        if (err)
            snprintf(err, errlen, "DNS engine: %s", ares_strerror(rc));
        rc = rc == ARES_ENOMEM ? KMS_ENOMEM : KMS_ECONFIG;
        goto fail;
    }
    q->channel_ok = 1;
    /* Before any query: ares_set_servers_ports() fails while queries pend. */
    if (opts->n_servers > 0 && ares_set_servers_ports(q->channel, nodes) != ARES_SUCCESS) {
        if (err)
            snprintf(err, errlen, "DNS engine: cannot set servers");
        rc = KMS_ECONFIG;
        goto fail;
    }
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    q->open_handles = 1;
    *out = q;
    return 0;

fail:
    if (q->channel_ok)
        ares_destroy(q->channel);
    if (--lib_refs == 0)
        ares_library_cleanup();
    free(q);
    return rc;
}

int kms_dnsq_send(kms_dnsq_t *q, const char *name, uint16_t qtype, kms_dnsq_cb cb, void *ud)
{
    request_t *r;
    char *abs;
    size_t n;
    int rc;

    if (!q || q->closing)
        return KMS_ECLOSED;
    if (!name || !cb)
        return KMS_EINVAL;
    n = strlen(name);
    if (n == 0 || n > 254)
        return KMS_EINVAL;
    abs = malloc(n + 2);
    r = calloc(1, sizeof(*r));
    if (!abs || !r) {
        free(abs);
        free(r);
        return KMS_ENOMEM;
    }
    memcpy(abs, name, n + 1);
    if (abs[n - 1] != '.') { /* absolute: never let a search rule apply */
        abs[n] = '.';
        abs[n + 1] = '\0';
    }
    r->q = q;
    r->cb = cb;
    r->ud = ud;
    r->in_send = 1;
    q->depth++;
    ares_query(q->channel, abs, 1 /* C_IN */, qtype, on_answer, r);
    q->depth--;
    free(abs);
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
    struct ares_addr_port_node *list = NULL, *n;
    size_t used = 0;

    if (len)
        buf[0] = '\0';
    if (!q || !q->channel_ok || ares_get_servers_ports(q->channel, &list) != ARES_SUCCESS)
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
    return buf;
}

static void destroy(kms_dnsq_t *q)
{
    if (q->destroyed)
        return;
    q->destroyed = 1;
    /* Callbacks run with ARES_ECANCELLED/EDESTRUCTION; sends are refused. */
    ares_cancel(q->channel);
    ares_destroy(q->channel); /* closes sockets: (0,0) state calls close polls */
    q->channel_ok = 0;
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

void kms_dnsq_close(kms_dnsq_t *q)
{
    if (!q || q->closing)
        return;
    q->closing = 1;
    if (q->depth == 0)
        destroy(q);
    /* else: process() destroys once c-ares has returned */
}
