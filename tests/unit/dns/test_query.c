/* SPDX-License-Identifier: MIT */
/*
 * test_query.c - the c-ares engine on libuv (dns/query.h) against a small
 * DNS responder on 127.0.0.1 run by the same loop: raw answers (with the
 * ADDITIONAL section intact), rcodes mapped to KMS_E*, absolute names,
 * timeouts, the query counter, cancellation on close, and a loop that
 * closes cleanly (uv_loop_close() == 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "base/err.h"
#include "base/wire.h"
#include "dns/srv.h"
#include "dns/query.h"

typedef struct {
    uv_udp_t udp;
    int port;
    unsigned queries;
    char last_qname[256];
    int silent;      /* never answers */
    int force_rcode; /* answers every query with this rcode (0: by name) */
} responder_t;

typedef struct {
    int status, calls;
    size_t len, nsrv, naddrs;
} got_t;

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req->data);
    free(req);
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    static char buf[2048];
    (void)h;
    (void)s;
    *b = uv_buf_init(buf, sizeof(buf));
}

/* Answer by the first label of the question name. */
static void on_query(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                     unsigned flags)
{
    responder_t *r = u->data;
    kms_rd_t rd;
    kms_wr_t w;
    uint16_t id, qflags, qd;
    size_t qend, off = 0;
    uint8_t l;
    int rcode = 0, answer = 0;
    char first[64] = "";

    (void)flags;
    if (n <= 12 || !from)
        return;
    r->queries++;
    kms_rd_init(&rd, buf->base, (size_t)n);
    kms_rd_u16be(&rd, &id);
    kms_rd_u16be(&rd, &qflags);
    kms_rd_u16be(&rd, &qd);
    kms_rd_skip(&rd, 6);
    r->last_qname[0] = '\0';
    while (kms_rd_u8(&rd, &l) == 0 && l) {
        const uint8_t *lab;
        if (kms_rd_view(&rd, &lab, l) != 0)
            return;
        if (!first[0] && l < sizeof(first))
            memcpy(first, lab, l), first[l] = '\0';
        if (off + l + 2 < sizeof(r->last_qname)) {
            memcpy(r->last_qname + off, lab, l);
            off += l;
            r->last_qname[off++] = '.';
            r->last_qname[off] = '\0';
        }
    }
    kms_rd_skip(&rd, 4);
    if (rd.err)
        return;
    qend = rd.pos;
    if (strcmp(first, "slow") == 0 || r->silent)
        return; /* never answers */
    if (r->force_rcode)
        rcode = r->force_rcode;
    else if (strcmp(first, "nx") == 0)
        rcode = 3;
    else if (strcmp(first, "sf") == 0)
        rcode = 2;
    else if (strcmp(first, "ref") == 0)
        rcode = 5;
    else if (strcmp(first, "_vlmcs") == 0)
        answer = 1;
    kms_wr_init(&w);
    kms_wr_u16be(&w, id);
    kms_wr_u16be(&w, (uint16_t)(0x8400 | (qflags & 0x0100) | rcode)); /* QR AA */
    kms_wr_u16be(&w, 1);
    kms_wr_u16be(&w, (uint16_t)answer);
    kms_wr_u16be(&w, 0);
    kms_wr_u16be(&w, (uint16_t)answer);
    kms_wr_bytes(&w, buf->base + 12, qend - 12);
    if (answer) {
        static const uint8_t target[] = {4, 'k', 'm', 's', '1', 0xc0, 0x18};
        /* SRV 0 10 1688 kms1.kms.test. (0xc018: "kms.test." inside the question) */
        kms_wr_u16be(&w, 0xc00c);
        kms_wr_u16be(&w, 33);
        kms_wr_u16be(&w, 1);
        kms_wr_u32be(&w, 60);
        kms_wr_u16be(&w, 6 + sizeof(target));
        kms_wr_u16be(&w, 0);
        kms_wr_u16be(&w, 10);
        kms_wr_u16be(&w, 1688);
        kms_wr_bytes(&w, target, sizeof(target));
        /* glue: A 127.0.0.11 owned by a pointer to the SRV target (after
         * the question, the RR header of 12 bytes and 6 bytes of SRV data) */
        kms_wr_u16be(&w, (uint16_t)(0xc000 | (qend + 12 + 6)));
        kms_wr_u16be(&w, 1);
        kms_wr_u16be(&w, 1);
        kms_wr_u32be(&w, 60);
        kms_wr_u16be(&w, 4);
        kms_wr_u32be(&w, 0x7f00000b);
    }
    {
        uv_udp_send_t *req = malloc(sizeof(*req));
        size_t len;
        uint8_t *out = kms_wr_steal(&w, &len);
        uv_buf_t b = uv_buf_init((char *)out, (unsigned)len);
        req->data = out;
        uv_udp_send(req, u, &b, 1, from, on_sent);
    }
}

static void start_responder(uv_loop_t *loop, responder_t *r)
{
    struct sockaddr_in sin;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    memset(r, 0, sizeof(*r));
    uv_udp_init(loop, &r->udp);
    r->udp.data = r;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    assert_int_equal(uv_udp_bind(&r->udp, (struct sockaddr *)&sin, 0), 0);
    uv_udp_getsockname(&r->udp, (struct sockaddr *)&ss, &len);
    r->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    assert_int_equal(uv_udp_recv_start(&r->udp, alloc_cb, on_query), 0);
}

static void on_answer(void *ud, int status, const uint8_t *msg, size_t len)
{
    got_t *g = ud;
    kms_srv_answer_t *a = NULL;

    g->calls++;
    g->status = status;
    g->len = len;
    if (msg && kms_srv_answer_parse(msg, len, &a) == 0) {
        g->nsrv = a->nsrv;
        g->naddrs = a->naddrs;
        kms_srv_answer_free(a);
    }
}

static kms_dnsq_t *engine(uv_loop_t *loop, responder_t *r, unsigned timeout_ms)
{
    char srv[64];
    const char *list[] = {srv};
    kms_dnsq_opts_t o = {.servers = list, .n_servers = 1, .timeout_ms = timeout_ms, .tries = 1};
    kms_dnsq_t *q = NULL;

    snprintf(srv, sizeof(srv), "127.0.0.1:%d", r->port);
    assert_int_equal(kms_dnsq_new(loop, &o, &q, NULL, 0), 0);
    return q;
}

/* Run until @p g got its callback (bounded: the engine's timeouts are short). */
static void wait_for(uv_loop_t *loop, got_t *g)
{
    for (int i = 0; i < 100000 && !g->calls; i++)
        uv_run(loop, UV_RUN_ONCE);
    assert_int_equal(g->calls, 1);
}

static void on_stopped(kms_dnsq_t *q, void *ud)
{
    (void)q;
    (*(int *)ud)++;
}

/* Stop @p q (called back once, from the loop), free it, close the loop. */
static void finish(uv_loop_t *loop, responder_t *r, kms_dnsq_t *q)
{
    int stopped = 0;

    kms_dnsq_stop(q, on_stopped, &stopped);
    assert_int_equal(stopped, 0);
    if (r)
        uv_close((uv_handle_t *)&r->udp, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(stopped, 1);
    kms_dnsq_free(q);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void raw_answer_with_additional(void **state)
{
    uv_loop_t loop;
    responder_t r;
    kms_dnsq_t *q;
    got_t g = {0};
    char buf[128];

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    q = engine(&loop, &r, 1000);
    assert_string_equal(kms_dnsq_servers(q, buf, sizeof(buf)), buf);
    assert_non_null(strstr(buf, "127.0.0.1:"));
    assert_int_equal(kms_dnsq_send(q, "_vlmcs._tcp.kms.test", KMS_DNS_TYPE_SRV, on_answer, &g), 0);
    assert_int_equal(g.calls, 0); /* never from inside send */
    assert_int_equal(kms_dnsq_pending(q), 1);
    wait_for(&loop, &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.nsrv, 1);
    assert_int_equal(g.naddrs, 1); /* the ADDITIONAL glue reached the caller */
    assert_string_equal(r.last_qname, "_vlmcs._tcp.kms.test."); /* absolute, as given */
    assert_int_equal(kms_dnsq_count(q), 1);
    assert_int_equal(kms_dnsq_pending(q), 0);
    finish(&loop, &r, q);
}

static void rcodes(void **state)
{
    static const struct {
        const char *name;
        uint16_t type;
        int want;
        int raw;
    } cases[] = {
        {"nx.kms.test.", KMS_DNS_TYPE_SRV, KMS_EDNS_NXDOMAIN, 1},
        {"nodata.kms.test", KMS_DNS_TYPE_SRV, KMS_EDNS_NODATA, 1},
        {"sf.kms.test", KMS_DNS_TYPE_SRV, KMS_EDNS_SERVFAIL, 1},
        {"ref.kms.test", KMS_DNS_TYPE_A, KMS_EDNS_REFUSED, 1},
    };
    uv_loop_t loop;
    responder_t r;
    kms_dnsq_t *q;

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    q = engine(&loop, &r, 1000);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got_t g = {0};
        assert_int_equal(kms_dnsq_send(q, cases[i].name, cases[i].type, on_answer, &g), 0);
        wait_for(&loop, &g);
        assert_int_equal(g.status, cases[i].want);
        assert_true(cases[i].raw ? g.len > 12 : 1);
    }
    assert_int_equal(kms_dnsq_count(q), 4);
    assert_int_equal(r.queries, 4); /* SERVFAIL/REFUSED are not retried elsewhere */
    finish(&loop, &r, q);
}

static void timeout_and_refused(void **state)
{
    uv_loop_t loop;
    responder_t r;
    kms_dnsq_t *q;
    got_t g = {0};
    uint64_t t0;

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    q = engine(&loop, &r, 300);
    t0 = uv_hrtime();
    assert_int_equal(kms_dnsq_send(q, "slow.kms.test", KMS_DNS_TYPE_SRV, on_answer, &g), 0);
    wait_for(&loop, &g);
    assert_int_equal(g.status, KMS_ETIMEOUT);
    assert_int_equal(g.len, 0);
    assert_true(uv_hrtime() - t0 >= 250u * 1000000u);
    assert_true(uv_hrtime() - t0 < 3000u * 1000000u);
    finish(&loop, &r, q);

    /* a closed port: ICMP port unreachable on loopback */
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    uv_udp_recv_stop(&r.udp);
    uv_close((uv_handle_t *)&r.udp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    {
        responder_t dead = r;
        got_t g2 = {0};
        memset(&dead.udp, 0, sizeof(dead.udp));
        uv_udp_init(&loop, &dead.udp); /* only for finish() to close */
        q = engine(&loop, &dead, 300);
        assert_int_equal(kms_dnsq_send(q, "any.kms.test", KMS_DNS_TYPE_SRV, on_answer, &g2), 0);
        wait_for(&loop, &g2);
        assert_true(g2.status == KMS_ECONNREFUSED || g2.status == KMS_ETIMEOUT);
        finish(&loop, &dead, q);
    }
}

/* Engine on two responders, @p tries rounds over them. */
static kms_dnsq_t *engine2(uv_loop_t *loop, responder_t *a, responder_t *b, unsigned timeout_ms,
                           unsigned tries)
{
    char sa[64], sb[64];
    const char *list[] = {sa, sb};
    kms_dnsq_opts_t o = {.servers = list, .n_servers = 2, .timeout_ms = timeout_ms, .tries = tries};
    kms_dnsq_t *q = NULL;

    snprintf(sa, sizeof(sa), "127.0.0.1:%d", a->port);
    snprintf(sb, sizeof(sb), "127.0.0.1:%d", b->port);
    assert_int_equal(kms_dnsq_new(loop, &o, &q, NULL, 0), 0);
    return q;
}

/* Like a stub resolver: a server that fails, refuses or stays silent is
 * passed over for the next; a final answer (NXDOMAIN too) is taken as is. */
static void next_server(void **state)
{
    static const struct {
        int a_rcode, a_silent, b_silent;
        unsigned tries;
        const char *name;
        int want, want_raw;
        unsigned a_queries, b_queries;
    } cases[] = {
        {2, 0, 0, 1, "_vlmcs._tcp.kms.test", 0, 1, 1, 1},        /* SERVFAIL, then the answer */
        {5, 0, 0, 1, "_vlmcs._tcp.kms.test", 0, 1, 1, 1},        /* REFUSED, then the answer */
        {0, 1, 0, 1, "_vlmcs._tcp.kms.test", 0, 1, 1, 1},        /* silence, then the answer */
        {0, 0, 0, 2, "nx.kms.test", KMS_EDNS_NXDOMAIN, 1, 1, 0}, /* final: B never asked */
        /* SERVFAIL, then silence twice: the SERVFAIL is reported, with its
         * message; A is not asked again in the second round */
        {2, 0, 1, 2, "_vlmcs._tcp.kms.test", KMS_EDNS_SERVFAIL, 1, 1, 2},
        {0, 1, 1, 2, "_vlmcs._tcp.kms.test", KMS_ETIMEOUT, 0, 2, 2}, /* all silent */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uv_loop_t loop;
        responder_t a, b;
        kms_dnsq_t *q;
        got_t g = {0};

        uv_loop_init(&loop);
        start_responder(&loop, &a);
        start_responder(&loop, &b);
        a.force_rcode = cases[i].a_rcode;
        a.silent = cases[i].a_silent;
        b.silent = cases[i].b_silent;
        q = engine2(&loop, &a, &b, 200, cases[i].tries);
        assert_int_equal(kms_dnsq_send(q, cases[i].name, KMS_DNS_TYPE_SRV, on_answer, &g), 0);
        wait_for(&loop, &g);
        assert_int_equal(g.status, cases[i].want);
        if (cases[i].want_raw)
            assert_true(g.len > 12);
        else
            assert_int_equal(g.len, 0);
        if (cases[i].want == 0)
            assert_int_equal(g.nsrv, 1);
        assert_int_equal(a.queries, cases[i].a_queries);
        assert_int_equal(b.queries, cases[i].b_queries);
        assert_int_equal(kms_dnsq_count(q), 1);
        uv_close((uv_handle_t *)&b.udp, NULL);
        finish(&loop, &a, q);
    }
}

static void close_cancels_pending(void **state)
{
    uv_loop_t loop;
    responder_t r;
    kms_dnsq_t *q;
    got_t g[3] = {{0}};

    (void)state;
    uv_loop_init(&loop);
    start_responder(&loop, &r);
    q = engine(&loop, &r, 5000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kms_dnsq_send(q, "slow.kms.test", KMS_DNS_TYPE_SRV, on_answer, &g[i]), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    kms_dnsq_stop(q, NULL, NULL);
    /* canceled, but told from the loop, never from inside the stop */
    for (int i = 0; i < 3; i++)
        assert_int_equal(g[i].calls, 0);
    uv_close((uv_handle_t *)&r.udp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].status, KMS_ECANCELED);
    }
    kms_dnsq_free(q);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void bad_servers_and_names(void **state)
{
    uv_loop_t loop;
    kms_dnsq_t *q = NULL;
    char err[256];
    const char *bad[] = {"dns.example.com"};
    const char *v6[] = {"[::1]:5353", "127.0.0.1"};
    kms_dnsq_opts_t o = {.servers = bad, .n_servers = 1};
    got_t g = {0};

    (void)state;
    uv_loop_init(&loop);
    assert_int_equal(kms_dnsq_new(&loop, &o, &q, err, sizeof(err)), KMS_EADDR);
    assert_null(q);
    assert_non_null(strstr(err, "dns.example.com"));
    o.servers = v6;
    o.n_servers = 2;
    assert_int_equal(kms_dnsq_new(&loop, &o, &q, err, sizeof(err)), 0);
    kms_dnsq_servers(q, err, sizeof(err));
    assert_string_equal(err, "[::1]:5353,127.0.0.1:53");
    assert_int_equal(kms_dnsq_send(q, "", KMS_DNS_TYPE_SRV, on_answer, &g), KMS_EINVAL);
    assert_int_equal(kms_dnsq_count(q), 0);
    kms_dnsq_stop(NULL, NULL, NULL);
    kms_dnsq_free(NULL);
    finish(&loop, NULL, q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_answer_with_additional), cmocka_unit_test(rcodes),
        cmocka_unit_test(timeout_and_refused),        cmocka_unit_test(close_cancels_pending),
        cmocka_unit_test(bad_servers_and_names),      cmocka_unit_test(next_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
