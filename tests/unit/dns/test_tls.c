/* SPDX-License-Identifier: MIT */
/*
 * test_tls.c - dns/tls.h against a scripted DNS-over-TLS responder on
 * 127.0.0.1 (a thread of this test, blocking OpenSSL on its socket; the
 * client side runs on the loop as the publisher runs it).  The CA and the
 * certificates are made here, for each run, with the OpenSSL API: a CA,
 * a server certificate for ns.kms.test and 127.0.0.1, the same expired, and
 * one from another CA.  Checked: an answer over TLS; the name checked
 * (a wrong name, an IP literal); an unknown CA; an expired certificate; a
 * server that speaks no TLS; a client certificate the server demands;
 * 50 pipelined exchanges on one connection and one handshake, answered in
 * reverse order, byte by byte in one TLS record each or several answers in
 * one record; a server that closes mid-run, with or without close_notify
 * (the waiting exchanges fail retriably, ours goes back, the next opens a
 * new session); a refused certificate whose alert reaches the server; a
 * server that asked for a client certificate, accepted us without and then
 * dropped the connection (retriable); a query written while the server
 * renegotiates; a close during the handshake (the exchanges' callbacks come
 * before the connection's); the idle close; an ID already waiting; cancel;
 * and a loop that closes cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/err.h"
#include "dns/tls.h"

/* ---- certificates ------------------------------------------------------- */

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
} ident_t;

static ident_t ca, other_ca, good, expired, client;
static char dir[64], ca_pem[128], other_ca_pem[128], client_pem[128], client_key[128];

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v;
    X509_EXTENSION *e;

    X509V3_set_ctx_nodb(&v);
    X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    assert_non_null(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A certificate for @p cn (@p san: subjectAltName; NULL for a CA), valid
 * from @p from to @p to seconds from now, signed by @p by (NULL: itself). */
static ident_t make(const char *cn, const char *san, long from, long to, const ident_t *by)
{
    static long serial = 1;
    ident_t id = {EVP_EC_gen("P-256"), X509_new()};
    X509_NAME *n;

    assert_non_null(id.key);
    X509_set_version(id.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(id.cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(id.cert), from);
    X509_gmtime_adj(X509_getm_notAfter(id.cert), to);
    X509_set_pubkey(id.cert, id.key);
    n = X509_get_subject_name(id.cert);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(id.cert, by ? X509_get_subject_name(by->cert) : n);
    if (!san) {
        add_ext(id.cert, id.cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(id.cert, id.cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(id.cert, by->cert, NID_basic_constraints, "CA:FALSE");
        add_ext(id.cert, by->cert, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(id.cert, by ? by->key : id.key, EVP_sha256()) > 0);
    return id;
}

static void write_pem(const char *path, const ident_t *id, int with_key)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, id->cert);
    if (with_key)
        PEM_write_PrivateKey(f, id->key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static int setup_certs(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_tls.XXXXXX");
    assert_non_null(mkdtemp(dir));
    ca = make("kmsdns test CA", NULL, -3600, 86400, NULL);
    other_ca = make("another CA", NULL, -3600, 86400, NULL);
    good = make("ns.kms.test", "DNS:ns.kms.test,IP:127.0.0.1", -3600, 86400, &ca);
    expired = make("ns.kms.test", "DNS:ns.kms.test,IP:127.0.0.1", -10 * 86400, -86400, &ca);
    client = make("kms1.kms.test", "DNS:kms1.kms.test", -3600, 86400, &ca);
    snprintf(ca_pem, sizeof ca_pem, "%s/ca.pem", dir);
    snprintf(other_ca_pem, sizeof other_ca_pem, "%s/other-ca.pem", dir);
    snprintf(client_pem, sizeof client_pem, "%s/client.pem", dir);
    snprintf(client_key, sizeof client_key, "%s/client.key", dir);
    write_pem(ca_pem, &ca, 0);
    write_pem(other_ca_pem, &other_ca, 0);
    write_pem(client_pem, &client, 0);
    FILE *f = fopen(client_key, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, client.key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    return 0;
}

static int teardown_certs(void **state)
{
    ident_t *all[] = {&ca, &other_ca, &good, &expired, &client};
    (void)state;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        X509_free(all[i]->cert);
        EVP_PKEY_free(all[i]->key);
    }
    unlink(ca_pem);
    unlink(other_ca_pem);
    unlink(client_pem);
    unlink(client_key);
    rmdir(dir);
    return 0;
}

/* ---- the responder (a thread) --------------------------------------------- */

typedef enum {
    R_ECHO,       /* answer each query at once */
    R_REVERSE,    /* collect `batch` queries, answer in reverse, cut oddly */
    R_CLOSE,      /* answer `batch` queries, then close the connection */
    R_PLAIN,      /* no TLS: write bytes that are not a TLS record */
    R_CLIENTCERT, /* demand a client certificate */
    R_SILENT,     /* accept the TCP connection, never say a word */
    R_NOTIFY,     /* answer `batch` queries, then close_notify; later connections echo */
    R_DROP,       /* read a query, drop the connection unanswered; later ones echo */
    R_RENEG       /* TLS 1.2: with the first answer, a HelloRequest; then echo */
} mode_t_;

typedef struct {
    int lfd;
    struct sockaddr_in addr;
    pthread_t th;
    mode_t_ mode;
    const ident_t *id;
    int batch;
    int conns;         /* connections accepted (read after the join) */
    int answered;      /* queries answered */
    int accept_reason; /* OpenSSL's reason of the last SSL_accept() that failed */
    int got_notify;    /* our close_notify came back after the server's */
} responder_t;

static int read_full(SSL *ssl, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(ssl, p + got, (int)(n - got));
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* One query (with its prefix) into @p q; its length with the prefix, or -1. */
static int read_query(SSL *ssl, uint8_t *q, size_t cap)
{
    size_t len;
    if (read_full(ssl, q, 2) < 0)
        return -1;
    len = (size_t)q[0] << 8 | q[1];
    if (len + 2 > cap || read_full(ssl, q + 2, len) < 0)
        return -1;
    q[4] |= 0x80; /* the answer: the query with QR set */
    return (int)len + 2;
}

static void serve_conn(responder_t *r, int fd, SSL_CTX *sctx)
{
    static uint8_t q[64][600];
    int qlen[64];
    SSL *ssl;

    if (r->mode == R_PLAIN) {
        static const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
        uint8_t hello[512];
        if (recv(fd, hello, sizeof hello, 0) > 0) /* the ClientHello */
            (void)!write(fd, junk, sizeof junk - 1);
        return;
    }
    if (r->mode == R_SILENT) {
        uint8_t sink[4096];
        while (recv(fd, sink, sizeof sink, 0) > 0)
            ;
        return;
    }
    ssl = SSL_new(sctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
        __atomic_store_n(&r->accept_reason, ERR_GET_REASON(ERR_peek_last_error()),
                         __ATOMIC_SEQ_CST);
        ERR_clear_error();
        SSL_free(ssl);
        return;
    }
    if (r->mode == R_DROP && r->conns == 1) {
        /* accepted (its session tickets sent), then gone with a query unanswered */
        if (read_query(ssl, q[0], sizeof q[0]) > 0)
            shutdown(fd, SHUT_WR);
        while (SSL_read(ssl, q[0], sizeof q[0]) > 0)
            ;
        ERR_clear_error();
        SSL_free(ssl);
        return;
    }
    if (r->mode == R_RENEG && (qlen[0] = read_query(ssl, q[0], sizeof q[0])) > 0) {
        /* the answer and the HelloRequest in one segment: the client reads
         * both at once and is renegotiating when it writes its next query */
        int one = 1, zero = 0;
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one);
        SSL_write(ssl, q[0], qlen[0]);
        __atomic_add_fetch(&r->answered, 1, __ATOMIC_SEQ_CST);
        assert_int_equal(SSL_renegotiate(ssl), 1);
        SSL_do_handshake(ssl);
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
    }
    for (;;) {
        int n = 0;
        int want = r->mode == R_REVERSE ? r->batch : 1;
        while (n < want && (qlen[n] = read_query(ssl, q[n], sizeof q[n])) > 0)
            n++;
        if (n == 0)
            break;
        if (r->mode == R_REVERSE) {
            /* reverse order; even ones a byte per TLS record, odd ones two per record */
            for (int i = n - 1; i >= 0; i--) {
                if (i % 2 == 0) {
                    for (int b = 0; b < qlen[i]; b++)
                        SSL_write(ssl, q[i] + b, 1);
                } else if (i > 0) {
                    uint8_t two[1200];
                    memcpy(two, q[i], (size_t)qlen[i]);
                    memcpy(two + qlen[i], q[i - 1], (size_t)qlen[i - 1]);
                    SSL_write(ssl, two, qlen[i] + qlen[i - 1]);
                    i--;
                } else {
                    SSL_write(ssl, q[i], qlen[i]);
                }
            }
        } else {
            SSL_write(ssl, q[0], qlen[0]);
        }
        __atomic_add_fetch(&r->answered, n, __ATOMIC_SEQ_CST);
        if (r->mode == R_CLOSE && r->answered >= r->batch) {
            /* closed without close_notify, as when named restarts: a FIN
             * after the answers (then, with queries unread, a reset) */
            r->batch = 1 << 30; /* the next connection is served normally */
            shutdown(fd, SHUT_WR);
            usleep(200 * 1000);
            break;
        }
        if (r->mode == R_NOTIFY && r->conns == 1 && r->answered >= r->batch) {
            /* close_notify, then read on (queries sent meanwhile) until the client's */
            uint8_t sink[600];
            int got;
            SSL_shutdown(ssl);
            while ((got = SSL_read(ssl, sink, sizeof sink)) > 0)
                ;
            __atomic_store_n(&r->got_notify, SSL_get_error(ssl, got) == SSL_ERROR_ZERO_RETURN,
                             __ATOMIC_SEQ_CST);
            break;
        }
        if (n < want)
            break;
    }
    ERR_clear_error();
    SSL_free(ssl);
}

static void *responder_main(void *arg)
{
    responder_t *r = arg;
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());

    SSL_CTX_use_certificate(sctx, r->id->cert);
    SSL_CTX_use_PrivateKey(sctx, r->id->key);
    if (r->mode == R_CLIENTCERT) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), ca.cert);
        SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    } else if (r->mode == R_NOTIFY || r->mode == R_DROP) {
        /* asks for a client certificate, goes on without one */
        X509_STORE_add_cert(SSL_CTX_get_cert_store(sctx), ca.cert);
        SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER, NULL);
    } else if (r->mode == R_RENEG) {
        SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION); /* TLS 1.3 has no renegotiation */
    }
    for (;;) {
        int fd = accept(r->lfd, NULL, NULL);
        if (fd < 0)
            break; /* the test shut the listener down */
        __atomic_add_fetch(&r->conns, 1, __ATOMIC_SEQ_CST);
        serve_conn(r, fd, sctx);
        close(fd);
    }
    SSL_CTX_free(sctx);
    return NULL;
}

static void responder_start(responder_t *r, mode_t_ mode, const ident_t *id, int batch)
{
    socklen_t sl = sizeof r->addr;

    memset(r, 0, sizeof *r);
    r->mode = mode;
    r->id = id;
    r->batch = batch;
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->lfd >= 0);
    r->addr.sin_family = AF_INET;
    r->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&r->addr, sizeof r->addr), 0);
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&r->addr, &sl), 0);
    assert_int_equal(listen(r->lfd, 8), 0);
    assert_int_equal(pthread_create(&r->th, NULL, responder_main, r), 0);
}

static void responder_stop(responder_t *r)
{
    shutdown(r->lfd, SHUT_RDWR); /* wakes accept() */
    pthread_join(r->th, NULL);
    close(r->lfd);
}

/* ---- the client side ------------------------------------------------------ */

static int closed_calls; /* connections closed (kms_tls_conn_close's callback) */

typedef struct {
    int calls, status, tls;
    int closed; /* closed_calls when the callback ran */
    uint16_t id;
    size_t len;
} got_t;

static void on_answer(int status, const uint8_t *reply, size_t len, const kms_dns_send_info_t *info,
                      void *ud)
{
    got_t *g = ud;
    g->calls++;
    g->closed = closed_calls;
    g->status = status;
    g->tls = info->tls;
    g->len = len;
    if (status == 0) {
        assert_true(len >= 12);
        assert_true(reply[2] & 0x80);
        g->id = (uint16_t)(reply[0] << 8 | reply[1]);
    }
}

static void query(uint8_t *q, size_t *len, uint16_t id)
{
    static const uint8_t tmpl[] = {0,   0,   1,   0, 0,   1,   0,   0,   0, 0, 0, 0, 3,
                                   'k', 'm', 's', 4, 't', 'e', 's', 't', 0, 0, 6, 0, 1};
    memcpy(q, tmpl, sizeof tmpl);
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
    *len = sizeof tmpl;
}

static kms_tls_ctx_t *ctx_with(const char *ca_file, const char *cert, const char *key)
{
    kms_tls_config_t cfg = {ca_file, cert, key, "give --tls-ca"};
    kms_tls_ctx_t *c = NULL;
    char err[256];
    assert_int_equal(kms_tls_ctx_new(&cfg, &c, err, sizeof err), 0);
    return c;
}

static void on_conn_closed(kms_tls_conn_t *c, void *ud)
{
    (void)c;
    (void)ud;
    closed_calls++;
}

/* Close @p c, run the loop dry, close it: nothing may be left open. */
static void finish_loop(uv_loop_t *loop, kms_tls_conn_t *c)
{
    int before = closed_calls;
    kms_tls_conn_close(c, on_conn_closed, NULL);
    assert_int_equal(closed_calls, before); /* never from inside close */
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(closed_calls, before + 1);
    assert_int_equal(uv_loop_close(loop), 0);
}

static int last_accept_reason; /* the responder's, in one_exchange() */

/* One exchange with a responder in @p mode holding @p id, name @p name. */
static int one_exchange(const ident_t *id, mode_t_ mode, const char *ca_file, const char *name,
                        const char *cert, char *line, size_t linelen)
{
    uv_loop_t loop;
    responder_t r;
    kms_tls_ctx_t *ctx = ctx_with(ca_file, cert, cert ? client_key : NULL);
    kms_tls_conn_t *c = NULL;
    got_t g = {0};
    uint8_t q[64];
    size_t qlen;

    responder_start(&r, mode, id, 1);
    uv_loop_init(&loop);
    assert_int_equal(kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r.addr, name, 0, &c), 0);
    query(q, &qlen, 0x1234);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g, NULL), 0);
    assert_int_equal(g.calls, 0);
    while (g.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.tls, 1);
    if (g.status == 0)
        assert_int_equal(g.id, 0x1234);
    snprintf(line, linelen, "%s", kms_tls_conn_error(c, NULL));
    finish_loop(&loop, c);
    responder_stop(&r);
    last_accept_reason = r.accept_reason;
    kms_tls_ctx_free(ctx);
    return g.status;
}

static void test_answer_over_tls(void **state)
{
    char line[KMS_TLS_ERRLEN];
    (void)state;
    assert_int_equal(one_exchange(&good, R_ECHO, ca_pem, "ns.kms.test.", NULL, line, sizeof line),
                     0);
    assert_string_equal(line, "");
    /* no name: the server's address, matched against the IP SAN */
    assert_int_equal(one_exchange(&good, R_ECHO, ca_pem, NULL, NULL, line, sizeof line), 0);
}

/* Refused, never answered: each case's status and the words of its line. */
static void test_refusals(void **state)
{
    const struct {
        const ident_t *id;
        mode_t_ mode;
        const char *ca, *name;
        int status;
        const char *words;
    } cases[] = {
        {&good, R_ECHO, ca_pem, "evil.kms.test", KMS_ETLSVERIFY,
         " does not match the name evil.kms.test (hostname mismatch)"},
        {&good, R_ECHO, ca_pem, "127.0.0.2", KMS_ETLSVERIFY,
         " does not match the address 127.0.0.2 (IP address mismatch)"},
        {&good, R_ECHO, other_ca_pem, "ns.kms.test", KMS_ETLSVERIFY,
         " for ns.kms.test: unable to get local issuer certificate (unknown CA; give --tls-ca)"},
        {&expired, R_ECHO, ca_pem, "ns.kms.test", KMS_ETLSVERIFY,
         " for ns.kms.test: certificate has expired"},
        {&good, R_PLAIN, ca_pem, "ns.kms.test", KMS_ETLS, " failed: "}, /* speaks no TLS */
    };
    char line[KMS_TLS_ERRLEN];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = one_exchange(cases[i].id, cases[i].mode, cases[i].ca, cases[i].name, NULL, line,
                              sizeof line);
        if (st != cases[i].status || !strstr(line, cases[i].words) ||
            strncmp(line, "TLS: ", 5) != 0 || !strstr(line, " 127.0.0.1#"))
            fail_msg("case %zu: %s: %s", i, kms_err_name(st), line);
    }
}

static void test_client_certificate(void **state)
{
    char line[KMS_TLS_ERRLEN];
    (void)state;
    assert_int_equal(
        one_exchange(&good, R_CLIENTCERT, ca_pem, "ns.kms.test", client_pem, line, sizeof line), 0);
    /* without one, the server's alert (TLS 1.3: after our Finished) ends the exchange */
    int st = one_exchange(&good, R_CLIENTCERT, ca_pem, "ns.kms.test", NULL, line, sizeof line);
    assert_int_equal(st, KMS_ETLS);
    assert_non_null(strstr(line, "certificate required") ? line
                                                         : strstr(line, "client certificate"));
}

/* A certificate we refuse: the server hears why (our alert reaches it
 * before the connection closes), not an unexpected EOF. */
static void test_alert_on_refused_certificate(void **state)
{
    char line[KMS_TLS_ERRLEN];
    (void)state;
    assert_int_equal(
        one_exchange(&good, R_ECHO, other_ca_pem, "ns.kms.test", NULL, line, sizeof line),
        KMS_ETLSVERIFY);
    assert_int_equal(last_accept_reason, SSL_R_TLSV1_ALERT_UNKNOWN_CA);
    assert_int_equal(one_exchange(&expired, R_ECHO, ca_pem, "ns.kms.test", NULL, line, sizeof line),
                     KMS_ETLSVERIFY);
    assert_int_equal(last_accept_reason, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED);
}

static void test_bad_files(void **state)
{
    kms_tls_config_t cfg = {"/nonexistent/ca.pem", NULL, NULL, NULL};
    kms_tls_ctx_t *c = (kms_tls_ctx_t *)1;
    char err[256];
    (void)state;
    assert_int_equal(kms_tls_ctx_new(&cfg, &c, err, sizeof err), KMS_ECONFIG);
    assert_null(c);
    assert_non_null(strstr(err, "cannot load the CA file /nonexistent/ca.pem"));
    cfg.ca_file = ca_pem;
    cfg.cert_file = client_pem;
    cfg.key_file = ca_pem; /* no key in it */
    assert_int_equal(kms_tls_ctx_new(&cfg, &c, err, sizeof err), KMS_ECONFIG);
    assert_non_null(strstr(err, "client key"));
}

#define NPIPE 50

static void test_pipelined_on_one_connection(void **state)
{
    uv_loop_t loop;
    responder_t r;
    kms_tls_ctx_t *ctx = ctx_with(ca_pem, NULL, NULL);
    kms_tls_conn_t *c = NULL;
    got_t g[NPIPE + 1] = {{0}};
    uint8_t q[64];
    size_t qlen;
    (void)state;

    responder_start(&r, R_REVERSE, &good, 10);
    uv_loop_init(&loop);
    assert_int_equal(kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r.addr, "ns.kms.test", 0, &c),
                     0);
    for (int i = 0; i < NPIPE; i++) {
        query(q, &qlen, (uint16_t)(0x100 + i));
        assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[i], NULL), 0);
    }
    /* an ID already waiting is refused: the caller renders another */
    query(q, &qlen, 0x100);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[NPIPE], NULL), KMS_EEXIST);
    for (int done = 0; done < NPIPE;) {
        uv_run(&loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < NPIPE; i++)
            done += g[i].calls;
    }
    for (int i = 0; i < NPIPE; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].status, 0);
        assert_int_equal(g[i].id, 0x100 + i);
    }
    assert_int_equal(g[NPIPE].calls, 0);
    /* idle, the connection keeps no loop running (the idle timer is 5 s) */
    uint64_t t0 = uv_now(&loop);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(uv_now(&loop) - t0 < 1000);
    /* a second round on the same session: still one handshake */
    memset(g, 0, sizeof g);
    for (int i = 0; i < 10; i++) {
        query(q, &qlen, (uint16_t)(0x200 + i));
        assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[i], NULL), 0);
    }
    for (int done = 0; done < 10;) {
        uv_run(&loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < 10; i++)
            done += g[i].calls;
    }
    for (int i = 0; i < 10; i++)
        assert_int_equal(g[i].status, 0);
    assert_int_equal(kms_tls_conn_handshakes(c), 1);
    assert_int_equal(kms_tls_ctx_handshakes(ctx), 1);
    finish_loop(&loop, c);
    responder_stop(&r);
    assert_int_equal(r.conns, 1);
    assert_int_equal(r.answered, NPIPE + 10);
    kms_tls_ctx_free(ctx);
}

/* A server in @p mode answers 2 of 4 exchanges, then ends the session: the
 * two others fail retriably, as over TCP; the next exchange opens a new
 * session.  The responder, stopped, is left in @p r. */
static void server_ends_mid_run(mode_t_ mode, responder_t *r)
{
    uv_loop_t loop;
    kms_tls_ctx_t *ctx = ctx_with(ca_pem, NULL, NULL);
    kms_tls_conn_t *c = NULL;
    got_t g[4] = {{0}};
    uint8_t q[64];
    size_t qlen;

    responder_start(r, mode, &good, 2);
    uv_loop_init(&loop);
    assert_int_equal(
        kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r->addr, "ns.kms.test", 0, &c), 0);
    for (int i = 0; i < 4; i++) {
        query(q, &qlen, (uint16_t)(0x300 + i));
        assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[i], NULL), 0);
    }
    while (g[0].calls + g[1].calls + g[2].calls + g[3].calls < 4)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g[0].status, 0);
    assert_int_equal(g[1].status, 0);
    assert_int_equal(g[2].status, KMS_ECLOSED);
    assert_int_equal(g[3].status, KMS_ECLOSED);
    memset(g, 0, sizeof g);
    query(q, &qlen, 0x302);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[0], NULL), 0);
    while (!g[0].calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g[0].status, 0);
    assert_int_equal(kms_tls_conn_handshakes(c), 2);
    finish_loop(&loop, c);
    responder_stop(r);
    assert_int_equal(r->conns, 2);
    kms_tls_ctx_free(ctx);
}

/* Dropped without close_notify, as when named restarts. */
static void test_server_closes_mid_run(void **state)
{
    responder_t r;
    (void)state;
    server_ends_mid_run(R_CLOSE, &r);
}

/* Ended with close_notify (by a server that asked for a client certificate
 * and went on without): ours goes back before the FIN. */
static void test_close_notify_mid_run(void **state)
{
    responder_t r;
    (void)state;
    server_ends_mid_run(R_NOTIFY, &r);
    assert_int_equal(r.got_notify, 1);
}

/* A server that asked for a client certificate, accepted us without one
 * (its session tickets came) and then dropped the connection unanswered:
 * a lost connection (KMS_ECLOSED, retried), not a refused certificate. */
static void test_drop_after_optional_certificate_request(void **state)
{
    uv_loop_t loop;
    responder_t r;
    kms_tls_ctx_t *ctx = ctx_with(ca_pem, NULL, NULL);
    kms_tls_conn_t *c = NULL;
    got_t g[2] = {{0}};
    uint8_t q[64];
    size_t qlen;
    int st = -1;
    (void)state;

    responder_start(&r, R_DROP, &good, 1);
    uv_loop_init(&loop);
    assert_int_equal(kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r.addr, "ns.kms.test", 0, &c),
                     0);
    for (int i = 0; i < 2; i++) {
        query(q, &qlen, (uint16_t)(0x800 + i));
        assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[i], NULL), 0);
    }
    while (g[0].calls + g[1].calls < 2)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g[0].status, KMS_ECLOSED);
    assert_int_equal(g[1].status, KMS_ECLOSED);
    assert_string_equal(kms_tls_conn_error(c, &st), "");
    assert_int_equal(st, 0);
    memset(g, 0, sizeof g);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[0], NULL), 0);
    while (!g[0].calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g[0].status, 0);
    assert_int_equal(kms_tls_conn_handshakes(c), 2);
    finish_loop(&loop, c);
    responder_stop(&r);
    assert_int_equal(r.conns, 2);
    kms_tls_ctx_free(ctx);
}

typedef struct {
    kms_tls_conn_t *c;
    got_t first, second;
} chain_t;

/* The first answer's callback sends the next query at once. */
static void on_answer_then_send(int status, const uint8_t *reply, size_t len,
                                const kms_dns_send_info_t *info, void *ud)
{
    chain_t *ch = ud;
    uint8_t q[64];
    size_t qlen;

    on_answer(status, reply, len, info, &ch->first);
    query(q, &qlen, 0x701);
    assert_int_equal(kms_tls_send(ch->c, q, qlen, 5000, on_answer, &ch->second, NULL), 0);
}

/* A query written while the server renegotiates (TLS 1.2): SSL_write()
 * wants to read first, and the query waits for the new handshake instead
 * of failing the session. */
static void test_write_during_renegotiation(void **state)
{
    uv_loop_t loop;
    responder_t r;
    kms_tls_ctx_t *ctx = ctx_with(ca_pem, NULL, NULL);
    chain_t ch = {0};
    uint8_t q[64];
    size_t qlen;
    (void)state;

    responder_start(&r, R_RENEG, &good, 1);
    uv_loop_init(&loop);
    assert_int_equal(
        kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r.addr, "ns.kms.test", 0, &ch.c), 0);
    query(q, &qlen, 0x700);
    assert_int_equal(kms_tls_send(ch.c, q, qlen, 5000, on_answer_then_send, &ch, NULL), 0);
    while (!ch.second.calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(ch.first.status, 0);
    if (ch.second.status != 0)
        fail_msg("%s: %s", kms_err_name(ch.second.status), kms_tls_conn_error(ch.c, NULL));
    assert_int_equal(ch.second.id, 0x701);
    assert_int_equal(kms_tls_conn_handshakes(ch.c), 1);
    finish_loop(&loop, ch.c);
    responder_stop(&r);
    assert_int_equal(r.answered, 2);
    kms_tls_ctx_free(ctx);
}

/* Closed while the handshake is under way (@p wait_accept: the server has
 * the connection; else the TCP connect is still pending): each exchange's
 * callback (KMS_ECANCELED) comes before the connection's. */
static void close_during_handshake(int wait_accept)
{
    uv_loop_t loop;
    responder_t r;
    kms_tls_ctx_t *ctx = ctx_with(ca_pem, NULL, NULL);
    kms_tls_conn_t *c = NULL;
    got_t g[2] = {{0}};
    uint8_t q[64];
    size_t qlen;
    int before = closed_calls;

    responder_start(&r, R_SILENT, &good, 1);
    uv_loop_init(&loop);
    assert_int_equal(kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r.addr, "ns.kms.test", 0, &c),
                     0);
    for (int i = 0; i < 2; i++) {
        query(q, &qlen, (uint16_t)(0x900 + i));
        assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g[i], NULL), 0);
    }
    while (wait_accept && !__atomic_load_n(&r.conns, __ATOMIC_SEQ_CST)) {
        uv_run(&loop, UV_RUN_NOWAIT); /* connected, the ClientHello out */
        usleep(1000);
    }
    finish_loop(&loop, c);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].status, KMS_ECANCELED);
        assert_int_equal(g[i].closed, before); /* the connection's callback had not run */
    }
    responder_stop(&r);
    kms_tls_ctx_free(ctx);
}

static void test_close_during_handshake(void **state)
{
    (void)state;
    close_during_handshake(1);
    close_during_handshake(0);
}

static void on_tick(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

static void test_idle_close_and_cancel(void **state)
{
    uv_loop_t loop;
    uv_timer_t wait;
    int waited = 0;
    responder_t r;
    kms_tls_ctx_t *ctx = ctx_with(ca_pem, NULL, NULL);
    kms_tls_conn_t *c = NULL;
    kms_tls_send_t *h = NULL;
    got_t g = {0}, g2 = {0};
    uint8_t q[64];
    size_t qlen;
    (void)state;

    responder_start(&r, R_ECHO, &good, 1);
    uv_loop_init(&loop);
    assert_int_equal(
        kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r.addr, "ns.kms.test", 100, &c), 0);
    query(q, &qlen, 0x400);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g, NULL), 0);
    while (!g.calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g.status, 0);
    /* idle for longer than 100 ms: the session ends; the next exchange opens another */
    uv_timer_init(&loop, &wait);
    wait.data = &waited;
    uv_timer_start(&wait, on_tick, 400, 0);
    while (!waited)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&wait, NULL);
    memset(&g, 0, sizeof g);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g, NULL), 0);
    /* and one canceled: its callback comes from the loop, not from the cancel */
    query(q, &qlen, 0x401);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g2, &h), 0);
    kms_tls_send_cancel(h);
    assert_int_equal(g2.calls, 0);
    while (!g.calls || !g2.calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g.status, 0);
    assert_int_equal(g2.status, KMS_ECANCELED);
    assert_int_equal(kms_tls_conn_handshakes(c), 2);
    /* closing with an exchange still waiting cancels it */
    memset(&g, 0, sizeof g);
    query(q, &qlen, 0x402);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g, NULL), 0);
    finish_loop(&loop, c);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.status, KMS_ECANCELED);
    responder_stop(&r);
    kms_tls_ctx_free(ctx);
}

static void test_refused(void **state)
{
    uv_loop_t loop;
    responder_t r;
    kms_tls_ctx_t *ctx = ctx_with(ca_pem, NULL, NULL);
    kms_tls_conn_t *c = NULL;
    got_t g = {0};
    uint8_t q[64];
    size_t qlen;
    (void)state;

    responder_start(&r, R_ECHO, &good, 1);
    responder_stop(&r); /* nobody listens there any more */
    uv_loop_init(&loop);
    assert_int_equal(kms_tls_conn_new(&loop, ctx, (struct sockaddr *)&r.addr, NULL, 0, &c), 0);
    query(q, &qlen, 0x500);
    assert_int_equal(kms_tls_send(c, q, qlen, 5000, on_answer, &g, NULL), 0);
    while (!g.calls)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g.status, KMS_ECONNREFUSED);
    assert_string_equal(kms_tls_conn_error(c, NULL), "");
    finish_loop(&loop, c);
    kms_tls_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_over_tls),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_pipelined_on_one_connection),
        cmocka_unit_test(test_server_closes_mid_run),
        cmocka_unit_test(test_idle_close_and_cancel),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_alert_on_refused_certificate),
        cmocka_unit_test(test_close_notify_mid_run),
        cmocka_unit_test(test_drop_after_optional_certificate_request),
        cmocka_unit_test(test_write_during_renegotiation),
        cmocka_unit_test(test_close_during_handshake),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
