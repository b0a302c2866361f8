/* SPDX-License-Identifier: MIT */
/*
 * test_cache.c - the KMS host cache: file format (store, load, corrupt
 * files) and its effect on a discovery: the cached host is tried first,
 * dropped when it fails, replaced by the host that answered, bypassed with
 * no cache (/ckhc).  A listener on 127.0.0.1 answers RPC binds with a
 * bind_ack, like a KMS host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/wire.h"
#include "dns/query.h"
#include "resolver/cache.h"
#include "resolver/locate.h"
#include "resolver/outcome.h"

static void free_stopped(kms_dnsq_t *q, void *ud)
{
    (void)ud;
    kms_dnsq_free(q);
}

static char dir[64];
static char path[128];

/* ---- file format -------------------------------------------------------- */

static void store_and_load(void **state)
{
    loc_cache_entry_t e;
    struct stat st;

    (void)state;
    assert_int_equal(loc_cache_load(path, &e), KMS_ENOENT);
    assert_int_equal(loc_cache_store(path, "kms1.kms.test", 1688, NULL, 1700000000), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(loc_cache_load(path, &e), 0);
    assert_string_equal(e.host, "kms1.kms.test");
    assert_int_equal(e.port, 1688);
    assert_int_equal(e.time, 1700000000);
    assert_int_equal(loc_cache_drop(path), 0);
    assert_int_equal(loc_cache_load(path, &e), KMS_ENOENT);
    assert_int_equal(loc_cache_drop(path), 0); /* dropping nothing is fine */
    assert_int_equal(loc_cache_store(path, "bad host", 1688, NULL, 1), KMS_EINVAL);
    /* the address that answered is kept beside the name */
    assert_int_equal(loc_cache_store(path, "kms1.kms.test", 1688, "::1", 5), 0);
    assert_int_equal(loc_cache_load(path, &e), 0);
    assert_string_equal(e.addr, "::1");
    assert_int_equal(loc_cache_store(path, "kms1.kms.test", 1688, "1.2.3.4:1688", 5), KMS_EINVAL);
    assert_int_equal(loc_cache_drop(path), 0);
}

static void corrupt_files(void **state)
{
    static const char *bad[] = {
        "",
        "{",
        "null",
        "[1,2]",
        "{\"version\":2,\"host\":\"a\",\"port\":1,\"time\":0}",
        "{\"version\":1,\"host\":\"a\",\"port\":0,\"time\":0}",
        "{\"version\":1,\"host\":\"a\",\"port\":65536,\"time\":0}",
        "{\"version\":1,\"host\":\"a b\",\"port\":1688,\"time\":0}",
        "{\"version\":1,\"host\":\"\",\"port\":1688,\"time\":0}",
        "{\"version\":1,\"host\":\".\",\"port\":1688,\"time\":0}",
        "{\"version\":1,\"host\":5,\"port\":1688,\"time\":0}",
        "{\"version\":1,\"host\":\"a\",\"port\":\"1688\",\"time\":0}",
        "{\"version\":1,\"host\":\"a\",\"port\":1688}",
        "{\"version\":1,\"host\":\"a\",\"port\":1688,\"time\":-5}",
        "{\"version\":1,\"host\":\"a\",\"port\":1688,\"time\":0} trailing",
        "{\"version\":1,\"host\":\"a\",\"host\":\"b\",\"port\":1688,\"time\":0}",
        "{\"version\":1,\"host\":\"a\",\"port\":1688,\"time\":0,\"address\":5}",
        "{\"version\":1,\"host\":\"a\",\"port\":1688,\"time\":0,\"address\":\"a.test\"}",
        "{\"version\":1,\"host\":\"a\",\"port\":1688,\"time\":0,\"address\":\"[::1]:1\"}",
    };
    loc_cache_entry_t e;
    const char nul[] = "{\"version\":1,\"host\":\"a\0b\",\"port\":1688,\"time\":0}";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(loc_cache_parse(bad[i], strlen(bad[i]), &e), KMS_ECORRUPT);
        assert_string_equal(e.host, "");
    }
    assert_int_equal(loc_cache_parse(nul, sizeof(nul) - 1, &e), KMS_ECORRUPT);
    /* a file that is too big is corrupt, not an I/O error */
    {
        char *big = malloc(10000);
        memset(big, ' ', 10000);
        assert_int_equal(kms_file_write_atomic(path, big, 10000, 0600), 0);
        free(big);
        assert_int_equal(loc_cache_load(path, &e), KMS_ECORRUPT);
        unlink(path);
    }
}

/* ---- a KMS-like listener: answers any bytes with a bind_ack ------------- */

typedef struct {
    uv_tcp_t srv;
    int port;
    unsigned accepted;
} listener_t;

static uint8_t bind_ack[60];

static void make_bind_ack(void)
{
    kms_wr_t w;
    size_t len;
    uint8_t *b;
    static const uint8_t ndr[16] = {0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
                                    0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60};

    kms_wr_init(&w);
    kms_wr_u8(&w, 5);
    kms_wr_u8(&w, 0);
    kms_wr_u8(&w, 12); /* bind_ack */
    kms_wr_u8(&w, 3);
    kms_wr_u32le(&w, 0x10);
    kms_wr_u16le(&w, 60);
    kms_wr_u16le(&w, 0);
    kms_wr_u32le(&w, 1);
    kms_wr_u16le(&w, 5840);
    kms_wr_u16le(&w, 5840);
    kms_wr_u32le(&w, 0x1234);
    kms_wr_u16le(&w, 5);
    kms_wr_bytes(&w, "1688", 5);
    kms_wr_u8(&w, 0); /* align to 4 */
    kms_wr_u8(&w, 1); /* n_results */
    kms_wr_zeros(&w, 3);
    kms_wr_u16le(&w, 0); /* acceptance */
    kms_wr_u16le(&w, 0);
    kms_wr_bytes(&w, ndr, 16);
    kms_wr_u32le(&w, 2);
    b = kms_wr_steal(&w, &len);
    assert_non_null(b);
    assert_int_equal(len, 60);
    memcpy(bind_ack, b, 60);
    free(b);
}

static void conn_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    static char buf[512];
    (void)h;
    (void)s;
    *b = uv_buf_init(buf, sizeof(buf));
}

static void conn_free(uv_handle_t *h)
{
    free(h);
}

static void conn_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    if (n > 0) {
        uv_write_t *w = malloc(sizeof(*w));
        uv_buf_t out = uv_buf_init((char *)bind_ack, sizeof(bind_ack));
        uv_write(w, s, &out, 1, conn_written);
    } else if (n < 0) {
        uv_close((uv_handle_t *)s, conn_free);
    }
}

static void on_conn(uv_stream_t *srv, int status)
{
    listener_t *l = srv->data;
    uv_tcp_t *c = malloc(sizeof(*c));

    (void)status;
    uv_tcp_init(srv->loop, c);
    if (uv_accept(srv, (uv_stream_t *)c) == 0) {
        l->accepted++;
        uv_read_start((uv_stream_t *)c, conn_alloc, conn_read);
    } else {
        uv_close((uv_handle_t *)c, conn_free);
    }
}

static void listen_on(uv_loop_t *loop, listener_t *l)
{
    struct sockaddr_in sin;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    uv_tcp_init(loop, &l->srv);
    l->srv.data = l;
    uv_ip4_addr("127.0.0.1", 0, &sin);
    assert_int_equal(uv_tcp_bind(&l->srv, (struct sockaddr *)&sin, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&l->srv, 16, on_conn), 0);
    uv_tcp_getsockname(&l->srv, (struct sockaddr *)&ss, &len);
    l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A port with nothing listening (bound then closed). */
static int dead_port(uv_loop_t *loop)
{
    listener_t l;
    int p;

    listen_on(loop, &l);
    p = l.port;
    uv_close((uv_handle_t *)&l.srv, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return p;
}

/* ---- discoveries -------------------------------------------------------- */

typedef struct {
    loc_result_t *res;
    int err;
    uv_loop_t *loop;
} got_t;

static void on_done(void *ud, int err, loc_result_t *r)
{
    got_t *g = ud;
    g->err = err;
    g->res = r;
    uv_stop(g->loop); /* the listener keeps the loop alive */
}

/* Run one probing discovery of @p n_domains domains (0 or 1: kms.test) whose
 * DNS server is a closed port (a query fails at once, and is counted). */
static loc_result_t *discover_in(uv_loop_t *loop, const char *cache, size_t n_domains)
{
    const char *srv[] = {"127.0.0.1:9"};
    kms_dnsq_opts_t qo = {.servers = srv, .n_servers = 1, .timeout_ms = 2000};
    kms_dnsq_t *dns;
    loc_domain_t dom = {.name = "kms.test", .qname = "_vlmcs._tcp.kms.test."};
    loc_opts_t o = {.domains = &dom,
                    .n_domains = n_domains,
                    .probe = 1,
                    .probe_timeout_ms = 2000,
                    .cache_path = cache,
                    .seed = 1};
    got_t g = {.loop = loop};

    assert_int_equal(kms_dnsq_new(loop, &qo, &dns, NULL, 0), 0);
    assert_int_equal(loc_locate_start(loop, dns, &o, on_done, &g), 0);
    uv_run(loop, UV_RUN_DEFAULT); /* bounded: the probe and the query time out */
    kms_dnsq_stop(dns, free_stopped, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_int_equal(g.err, 0);
    assert_non_null(g.res);
    return g.res;
}

/* Run one discovery with no DNS domain: only the cache can supply a host. */
static loc_result_t *discover(uv_loop_t *loop, const char *cache)
{
    loc_result_t *r = discover_in(loop, cache, 0);

    assert_int_equal(r->queries, 0);
    return r;
}

static void stop(uv_loop_t *loop, listener_t *l)
{
    uv_close((uv_handle_t *)&l->srv, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void hit_is_tried_first_without_dns(void **state)
{
    uv_loop_t loop;
    listener_t l = {0};
    loc_result_t *r;
    loc_cache_entry_t e;

    (void)state;
    uv_loop_init(&loop);
    listen_on(&loop, &l);
    assert_int_equal(loc_cache_store(path, "127.0.0.1", (uint16_t)l.port, NULL, 1), 0);
    r = discover(&loop, path);
    assert_int_equal(r->cache, LOC_CACHE_HIT);
    assert_int_equal(r->n_hosts, 1);
    assert_int_equal(r->hosts[0].source, LOC_HOST_CACHE);
    assert_int_equal(r->hosts[0].probe.state, LOC_PROBE_OK);
    assert_int_equal(r->answered, 0);
    assert_int_equal(r->outcome, LOC_HR_OK);
    assert_int_equal(l.accepted, 1);
    loc_result_free(r);
    /* still cached, with a fresh time */
    assert_int_equal(loc_cache_load(path, &e), 0);
    assert_string_equal(e.host, "127.0.0.1");
    assert_true(e.time > 1);
    /* A named host, probed at the address remembered with it: it answers,
     * so discovery ends before any SRV query (here DNS would fail). */
    assert_int_equal(loc_cache_store(path, "kms3.kms.test", (uint16_t)l.port, "127.0.0.1", 1), 0);
    r = discover_in(&loop, path, 1);
    assert_int_equal(r->cache, LOC_CACHE_HIT);
    assert_int_equal(r->queries, 0);
    assert_int_equal(r->dns_skipped, 1);
    assert_int_equal(r->domains[0].queried, 0);
    assert_int_equal(r->n_hosts, 1);
    assert_int_equal(r->hosts[0].addrs_from, LOC_ADDRS_CACHE);
    assert_int_equal(r->hosts[0].probe.state, LOC_PROBE_OK);
    assert_int_equal(r->outcome, LOC_HR_OK);
    assert_int_equal(l.accepted, 2);
    loc_result_free(r);
    assert_int_equal(loc_cache_load(path, &e), 0);
    assert_string_equal(e.host, "kms3.kms.test");
    assert_string_equal(e.addr, "127.0.0.1");
    /* the cached host fails: dropped, and only then DNS is asked */
    assert_int_equal(
        loc_cache_store(path, "kms3.kms.test", (uint16_t)dead_port(&loop), "127.0.0.1", 1), 0);
    r = discover_in(&loop, path, 1);
    assert_int_equal(r->dns_skipped, 0);
    assert_int_equal(r->cache_first, 1);
    assert_int_equal(r->queries, 1);
    assert_int_equal(r->domains[0].queried, 1);
    assert_int_equal(r->hosts[0].probe.state, LOC_PROBE_REFUSED);
    assert_int_equal(r->outcome, LOC_HR_NO_HOST);
    assert_int_equal(r->cache_updated, -1);
    loc_result_free(r);
    assert_int_equal(loc_cache_load(path, &e), KMS_ENOENT);
    stop(&loop, &l);
    unlink(path);
}

static void failing_host_is_dropped(void **state)
{
    uv_loop_t loop;
    listener_t l = {0};
    loc_result_t *r;
    loc_cache_entry_t e;

    (void)state;
    uv_loop_init(&loop);
    listen_on(&loop, &l);
    assert_int_equal(loc_cache_store(path, "127.0.0.1", (uint16_t)dead_port(&loop), NULL, 1), 0);
    r = discover(&loop, path);
    assert_int_equal(r->cache, LOC_CACHE_HIT);
    assert_int_equal(r->hosts[0].probe.state, LOC_PROBE_REFUSED);
    assert_int_equal(r->hosts[0].probe.hr, LOC_HR_RPC_UNAVAIL);
    assert_int_equal(r->outcome, LOC_HR_NO_HOST);
    assert_int_equal(r->cache_updated, -1);
    loc_result_free(r);
    assert_int_equal(loc_cache_load(path, &e), KMS_ENOENT);
    stop(&loop, &l);
}

static void no_cache_bypasses(void **state)
{
    uv_loop_t loop;
    listener_t l = {0};
    loc_result_t *r;
    loc_cache_entry_t e;

    (void)state;
    uv_loop_init(&loop);
    listen_on(&loop, &l);
    assert_int_equal(loc_cache_store(path, "127.0.0.1", (uint16_t)l.port, NULL, 7), 0);
    r = discover(&loop, NULL); /* /ckhc */
    assert_int_equal(r->cache, LOC_CACHE_OFF);
    assert_int_equal(r->n_hosts, 0);
    assert_int_equal(l.accepted, 0);
    assert_int_equal(r->outcome, LOC_HR_NO_HOST);
    loc_result_free(r);
    /* the file is left alone */
    assert_int_equal(loc_cache_load(path, &e), 0);
    assert_int_equal(e.time, 7);
    stop(&loop, &l);
    unlink(path);
}

static void corrupt_cache_is_ignored(void **state)
{
    uv_loop_t loop;
    listener_t l = {0};
    loc_result_t *r;
    const char junk[] = "{\"version\":1,\"host\":";

    (void)state;
    uv_loop_init(&loop);
    listen_on(&loop, &l);
    assert_int_equal(kms_file_write_atomic(path, junk, sizeof(junk) - 1, 0600), 0);
    r = discover(&loop, path);
    assert_int_equal(r->cache, LOC_CACHE_CORRUPT);
    assert_int_equal(r->n_hosts, 0);
    loc_result_free(r);
    stop(&loop, &l);
    unlink(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_cache.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sub/host-cache", dir);
    make_bind_ack();
    return 0;
}

static int teardown(void **state)
{
    char sub[160];
    (void)state;
    unlink(path);
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    rmdir(sub);
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_and_load),
        cmocka_unit_test(corrupt_files),
        cmocka_unit_test(hit_is_tried_first_without_dns),
        cmocka_unit_test(failing_host_is_dropped),
        cmocka_unit_test(no_cache_bypasses),
        cmocka_unit_test(corrupt_cache_is_ignored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
