/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dns/message and dns/rcode: UPDATE wire form (golden bytes
 * at a fixed ID and clock), RD cleared, class-NONE deletes, re-signing,
 * answer judgement (rcodes, TSIG errors, BADTIME skew, unsigned/forged
 * answers), one-line explanations, refusal of answers whose records ldns
 * would delimit differently from RDLENGTH.
 *
 * The clock is fixed by defining time() and gettimeofday() here: the DNS
 * library signs with time(), so the TSIG "time signed" and thus the MAC are reproducible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "base/err.h"
#include "base/wire.h"
#include "tests/unit/dns/wire_build.h"
#include "dns/message.h"
#include "dns/keyfile.h"
#include "dns/rcode.h"
#include "dns/srv.h" /* both answer parsers must refuse the same bytes */

#define NOW 1700000000

__attribute__((visibility("default"))) time_t time(time_t *t)
{
    if (t)
        *t = NOW;
    return NOW;
}

__attribute__((visibility("default"))) int gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    tv->tv_sec = NOW;
    tv->tv_usec = 0;
    return 0;
}

static kms_tsig_key_t test_key(void)
{
    const char *text = "key \"kms-publisher.\" { algorithm hmac-sha256; "
                       "secret \"ID/W3Kv64MGI8b53FZE2qadfvTbAyDPi9ciBpEn6uqg=\"; };";
    kms_tsig_key_t k;
    assert_int_equal(kms_keyfile_parse(text, strlen(text), NULL, &k, NULL, 0), 0);
    return k;
}

/* The signer of test_key() (a static copy of the key outlives it). */
static const kms_tsig_signer_t *test_signer(void)
{
    static kms_tsig_key_t k;
    static kms_tsig_signer_t s;
    k = test_key();
    assert_int_equal(kms_tsig_hmac_signer(&k, &s), 0);
    return &s;
}

static kms_dns_msg_t *test_update(void)
{
    kms_dns_msg_t *m = NULL;
    assert_int_equal(kms_dns_msg_update_new("KMS.test", &m), 0);
    assert_int_equal(kms_dns_msg_del_srv(m, "_vlmcs._tcp.kms.test", 0, 5, 1688, "kms1.kms.test"),
                     0);
    assert_int_equal(
        kms_dns_msg_add_srv(m, "_vlmcs._tcp.kms.test.", 3600, 10, 20, 1688, "kms1.kms.test."), 0);
    assert_int_equal(kms_dns_msg_update_count(m), 2);
    return m;
}

static void hexdump(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("0x%02x,%s", p[i], i % 12 == 11 ? "\n" : " ");
    printf("\n");
}

/* Golden bytes: an UPDATE of kms.test with a class-NONE delete and an add,
   ID 0x1234, TSIG hmac-sha256 at time 1700000000 with fudge 300.  named
   9.18 accepts this exact construction (integration tests). */
static const uint8_t golden[] = {
    0x12,
    0x34,
    0x28,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x02,
    0x00,
    0x01, /* header */
    /* zone: kms.test SOA IN */
    0x03,
    0x6b,
    0x6d,
    0x73,
    0x04,
    0x74,
    0x65,
    0x73,
    0x74,
    0x00,
    0x00,
    0x06,
    0x00,
    0x01,
    /* delete exactly: _vlmcs._tcp.kms.test NONE SRV ttl 0 (0 5 1688 kms1.kms.test,
       target uncompressed as RFC 2782 asks) */
    0x06,
    0x5f,
    0x76,
    0x6c,
    0x6d,
    0x63,
    0x73,
    0x04,
    0x5f,
    0x74,
    0x63,
    0x70,
    0xc0,
    0x0c,
    0x00,
    0x21,
    0x00,
    0xfe,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x15,
    0x00,
    0x00,
    0x00,
    0x05,
    0x06,
    0x98,
    0x04,
    0x6b,
    0x6d,
    0x73,
    0x31,
    0x03,
    0x6b,
    0x6d,
    0x73,
    0x04,
    0x74,
    0x65,
    0x73,
    0x74,
    0x00,
    /* add: IN SRV ttl 3600 10 20 1688 kms1.kms.test */
    0xc0,
    0x1a,
    0x00,
    0x21,
    0x00,
    0x01,
    0x00,
    0x00,
    0x0e,
    0x10,
    0x00,
    0x15,
    0x00,
    0x0a,
    0x00,
    0x14,
    0x06,
    0x98,
    0x04,
    0x6b,
    0x6d,
    0x73,
    0x31,
    0x03,
    0x6b,
    0x6d,
    0x73,
    0x04,
    0x74,
    0x65,
    0x73,
    0x74,
    0x00,
    /* TSIG: kms-publisher. ANY TSIG ttl 0, hmac-sha256., time 1700000000, fudge 300 */
    0x0d,
    0x6b,
    0x6d,
    0x73,
    0x2d,
    0x70,
    0x75,
    0x62,
    0x6c,
    0x69,
    0x73,
    0x68,
    0x65,
    0x72,
    0x00,
    0x00,
    0xfa,
    0x00,
    0xff,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x3d,
    0x0b,
    0x68,
    0x6d,
    0x61,
    0x63,
    0x2d,
    0x73,
    0x68,
    0x61,
    0x32,
    0x35,
    0x36,
    0x00,
    0x00,
    0x00,
    0x65,
    0x53,
    0xf1,
    0x00,
    0x01,
    0x2c,
    0x00,
    0x20,
    /* MAC */
    0x6f,
    0x15,
    0x89,
    0x75,
    0x43,
    0x56,
    0x7e,
    0xfd,
    0xbe,
    0x56,
    0x58,
    0xd3,
    0xd6,
    0x67,
    0x88,
    0x67,
    0xfd,
    0x50,
    0x6d,
    0x57,
    0x2a,
    0xc6,
    0x51,
    0xc5,
    0x34,
    0x88,
    0x84,
    0x40,
    0x91,
    0x3e,
    0xdc,
    0xd5,
    /* original ID, error, other length */
    0x12,
    0x34,
    0x00,
    0x00,
    0x00,
    0x00,
};

static void update_golden_bytes(void **state)
{
    const kms_tsig_signer_t *k = test_signer();
    kms_dns_msg_t *m = test_update();
    uint8_t *w = NULL;
    size_t n = 0;
    assert_int_equal(kms_dns_msg_render(m, 0x1234, k, &w, &n), 0);
    if (getenv("DUMP"))
        hexdump(w, n);
    int same = n == sizeof golden && memcmp(w, golden, n) == 0;
    free(w);
    kms_dns_msg_free(m);
    assert_true(same);
}

static void header_fields(const uint8_t *w, size_t n, uint16_t *id, uint8_t *f1, uint16_t *ar)
{
    kms_rd_t rd;
    uint16_t qd, an, ns;
    kms_rd_init(&rd, w, n);
    kms_rd_u16be(&rd, id);
    kms_rd_u8(&rd, f1);
    kms_rd_skip(&rd, 1);
    kms_rd_u16be(&rd, &qd);
    kms_rd_u16be(&rd, &an);
    kms_rd_u16be(&rd, &ns);
    kms_rd_u16be(&rd, ar);
    assert_int_equal(rd.err, 0);
}

static void update_clears_rd_and_resigns_cleanly(void **state)
{
    const kms_tsig_signer_t *k = test_signer();
    kms_dns_msg_t *m = test_update();
    kms_dns_msg_t *fresh = test_update();
    uint8_t *w1 = NULL, *w2 = NULL, *w3 = NULL;
    size_t n1, n2, n3;
    uint16_t id, ar;
    uint8_t f1;

    assert_int_equal(kms_dns_msg_render(m, 0x1111, k, &w1, &n1), 0);
    header_fields(w1, n1, &id, &f1, &ar);
    assert_int_equal(id, 0x1111);
    assert_int_equal(f1, 0x28); /* QR=0, opcode UPDATE (5), RD=0 */
    assert_int_equal(ar, 1);    /* the TSIG only */

    /* a retry: new ID, fresh signature, still exactly one TSIG, and the same
       bytes as a message that was never signed before (nothing signed over
       the old TSIG) */
    assert_int_equal(kms_dns_msg_render(m, 0x2222, k, &w2, &n2), 0);
    assert_int_equal(kms_dns_msg_render(fresh, 0x2222, k, &w3, &n3), 0);
    header_fields(w2, n2, &id, &f1, &ar);
    assert_int_equal(id, 0x2222);
    assert_int_equal(ar, 1);
    assert_int_equal(n1, n2);
    assert_int_equal(n2, n3);
    assert_memory_equal(w2, w3, n2);
    assert_memory_not_equal(w1 + n1 - 38, w2 + n2 - 38, 32); /* MACs differ */

    /* unsigned render: no additional records at all */
    free(w3);
    assert_int_equal(kms_dns_msg_render(fresh, 0x3333, NULL, &w3, &n3), 0);
    header_fields(w3, n3, &id, &f1, &ar);
    assert_int_equal(ar, 0);
    assert_int_equal(n3, sizeof golden - 86); /* without the 86-byte TSIG RR */
    free(w1);
    free(w2);
    free(w3);
    kms_dns_msg_free(m);
    kms_dns_msg_free(fresh);
}

static void bad_names_are_rejected(void **state)
{
    kms_dns_msg_t *m = NULL;
    assert_int_equal(kms_dns_msg_update_new("bad..name", &m), KMS_EINVAL);
    assert_null(m);
    assert_int_equal(kms_dns_msg_update_new("", &m), KMS_EINVAL);
    assert_int_equal(kms_dns_msg_update_new("kms.test", &m), 0);
    assert_int_equal(kms_dns_msg_add_srv(m, "a b.kms.test", 1, 0, 0, 1, "x.kms.test"), KMS_EINVAL);
    char longlabel[80];
    memset(longlabel, 'a', 64);
    strcpy(longlabel + 64, ".test");
    assert_int_equal(kms_dns_msg_add_srv(m, longlabel, 1, 0, 0, 1, "x.kms.test"), KMS_EINVAL);
    assert_int_equal(kms_dns_msg_update_count(m), 0);
    kms_dns_msg_free(m);
    kms_dns_msg_free(NULL);
    kms_dns_reply_free(NULL);
}

/* ---- answers ------------------------------------------------------------- */

/* An answer to @p id: opcode, rcode, question, optional TSIG with @p tsig_err
   (MAC empty, as named sends for BADSIG/BADKEY) and @p other_time. */
static uint8_t *make_reply(uint16_t id, int opcode, int rcode, const char *qname, uint16_t qtype,
                           int tsig, uint16_t tsig_err, int64_t other_time, size_t *len)
{
    kms_wr_t wr;
    kms_wr_init(&wr);
    kms_wr_u16be(&wr, id);
    kms_wr_u8(&wr, (uint8_t)(0x80 | (opcode << 3)));
    kms_wr_u8(&wr, (uint8_t)rcode);
    kms_wr_u16be(&wr, qname ? 1 : 0);
    kms_wr_u16be(&wr, 0);
    kms_wr_u16be(&wr, 0);
    kms_wr_u16be(&wr, tsig ? 1 : 0);
    if (qname) {
        put_name(&wr, qname);
        kms_wr_u16be(&wr, qtype);
        kms_wr_u16be(&wr, 1);
    }
    if (tsig) {
        put_name(&wr, "kms-publisher");
        kms_wr_u16be(&wr, 250);
        kms_wr_u16be(&wr, 255);
        kms_wr_u32be(&wr, 0);
        kms_wr_t rd;
        kms_wr_init(&rd);
        put_name(&rd, "hmac-sha256");
        kms_wr_u16be(&rd, 0);
        kms_wr_u32be(&rd, NOW);
        kms_wr_u16be(&rd, 300);
        kms_wr_u16be(&rd, 0); /* MAC size */
        kms_wr_u16be(&rd, id);
        kms_wr_u16be(&rd, tsig_err);
        if (other_time) {
            kms_wr_u16be(&rd, 6);
            kms_wr_u16be(&rd, (uint16_t)(other_time >> 32));
            kms_wr_u32be(&rd, (uint32_t)other_time);
        } else {
            kms_wr_u16be(&rd, 0);
        }
        kms_wr_u16be(&wr, (uint16_t)rd.len);
        kms_wr_bytes(&wr, rd.buf, rd.len);
        kms_wr_free(&rd);
    }
    assert_int_equal(wr.err, 0);
    return kms_wr_steal(&wr, len);
}

typedef struct {
    int rcode;
    int tsig;
    uint16_t tsig_err;
    int64_t other;
    int status;
    const char *line;
} reply_case_t;

static void update_answers_are_explained(void **state)
{
    const kms_tsig_signer_t *k = test_signer();
    kms_dns_msg_t *m = test_update();
    uint8_t *w = NULL;
    size_t n;
    assert_int_equal(kms_dns_msg_render(m, 0x4242, k, &w, &n), 0);
    free(w);
    static const reply_case_t cases[] = {
        {9, 1, 16, 0, KMS_ETSIG_BADSIG,
         "update refused by 127.0.0.1#5300: NOTAUTH (TSIG BADSIG): key \"kms-publisher\" does not "
         "match the server's"},
        {9, 1, 17, 0, KMS_ETSIG_BADKEY,
         "update refused by 127.0.0.1#5300: NOTAUTH (TSIG BADKEY): the server does not know key "
         "\"kms-publisher\", or (Knot) its ACL does not let that key make this change"},
        {9, 1, 18, NOW + 400, KMS_ETSIG_BADTIME,
         "update refused by 127.0.0.1#5300: NOTAUTH (TSIG BADTIME): clocks differ by 400 s "
         "(server ahead); fix the time on one side"},
        {9, 1, 18, NOW - 7200, KMS_ETSIG_BADTIME,
         "update refused by 127.0.0.1#5300: NOTAUTH (TSIG BADTIME): clocks differ by 7200 s "
         "(server behind); fix the time on one side"},
        /* an unsigned refusal of a signed update: no TSIG error to go by, so
         * the likely causes (PowerDNS answers every TSIG failure so) */
        {9, 0, 0, 0, KMS_EDNS_NOTAUTH,
         "update refused by 127.0.0.1#5300: NOTAUTH, answer unsigned and no TSIG error given: the "
         "server is not the primary for kms.test., or did not take key \"kms-publisher\" "
         "(unknown, another secret, or clocks more than 5 minutes apart)"},
        {5, 0, 0, 0, KMS_EDNS_REFUSED,
         "update refused by 127.0.0.1#5300: REFUSED, answer unsigned and no TSIG error given: "
         "the server did not take key \"kms-publisher\" (unknown to it, another secret, or "
         "clocks more than 5 minutes apart), or its policy refuses this change"},
        {10, 0, 0, 0, KMS_EDNS_NOTZONE,
         "update refused by 127.0.0.1#5300: NOTZONE: a record lies outside kms.test."},
        {2, 0, 0, 0, KMS_EDNS_SERVFAIL,
         "update failed at 127.0.0.1#5300: SERVFAIL (server failure; BIND also answers so when "
         "an RRset would exceed max-records-per-type)"},
        {4, 0, 0, 0, KMS_EDNS_NOTIMP,
         "update rejected by 127.0.0.1#5300: NOTIMP: the server does not implement it"},
        /* a NOERROR that is not signed although we signed: never trusted */
        {0, 0, 0, 0, KMS_ETSIG_UNSIGNED,
         "answer from 127.0.0.1#5300 to the update is not signed although the request was"},
        /* signed, no TSIG error, but the MAC is not the key's */
        {0, 1, 0, 0, KMS_ETSIG_VERIFY,
         "answer from 127.0.0.1#5300 fails TSIG verification with key \"kms-publisher\""},
    };
    kms_dns_explain_ctx_t ctx = {"update", "127.0.0.1#5300", "kms-publisher", "kms.test.", 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const reply_case_t *c = &cases[i];
        uint8_t *a =
            make_reply(0x4242, 5, c->rcode, "kms.test.", 6, c->tsig, c->tsig_err, c->other, &n);
        kms_dns_reply_t *r = NULL;
        assert_int_equal(kms_dns_reply_parse(m, k, a, n, &r), 0);
        char line[400];
        kms_dns_explain(r, &ctx, line, sizeof line);
        if (r->status != c->status || strcmp(line, c->line) != 0)
            fail_msg("case %zu: status %s, line '%s'", i, kms_err_name(r->status), line);
        if (c->tsig_err == 18)
            assert_int_equal(r->server_time - r->local_time, c->other - NOW);
        kms_dns_reply_free(r);
        free(a);
    }
    /* unsigned updates: BIND refuses them with REFUSED, Knot with NOTAUTH */
    {
        kms_dns_explain_ctx_t unsig = {"update", "127.0.0.1#5300", NULL, "kms.test.", 0};
        static const struct {
            int rcode;
            const char *line;
        } u[] = {
            {5, "update refused by 127.0.0.1#5300: REFUSED: the server does not allow this update "
                "without a TSIG key"},
            {9, "update refused by 127.0.0.1#5300: NOTAUTH: the server takes no unsigned update "
                "for kms.test. (give a TSIG key), or is not its primary"},
        };
        for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
            uint8_t *a = make_reply(0x4242, 5, u[i].rcode, "kms.test.", 6, 0, 0, 0, &n);
            kms_dns_reply_t *r = NULL;
            char line[400];

            assert_int_equal(kms_dns_reply_parse(m, NULL, a, n, &r), 0);
            assert_string_equal(kms_dns_explain(r, &unsig, line, sizeof line), u[i].line);
            kms_dns_reply_free(r);
            free(a);
        }
    }
    /* FORMERR answers may lack the question */
    uint8_t *a = make_reply(0x4242, 5, 1, NULL, 0, 0, 0, 0, &n);
    kms_dns_reply_t *r = NULL;
    assert_int_equal(kms_dns_reply_parse(m, k, a, n, &r), 0);
    assert_int_equal(r->status, KMS_EDNS_FORMERR);
    kms_dns_reply_free(r);
    free(a);
    kms_dns_msg_free(m);
}

static void answers_not_for_us_are_rejected(void **state)
{
    kms_dns_msg_t *m = test_update();
    uint8_t *w = NULL, *a;
    size_t n;
    kms_dns_reply_t *r = (kms_dns_reply_t *)1;
    assert_int_equal(kms_dns_msg_render(m, 0x4242, NULL, &w, &n), 0);
    /* the request itself (QR=0) */
    assert_int_equal(kms_dns_reply_parse(m, NULL, w, n, &r), KMS_EDNS_BADANSWER);
    assert_null(r);
    free(w);
    a = make_reply(0x4243, 5, 0, "kms.test.", 6, 0, 0, 0, &n); /* wrong ID */
    assert_int_equal(kms_dns_reply_parse(m, NULL, a, n, &r), KMS_EDNS_BADANSWER);
    free(a);
    a = make_reply(0x4242, 5, 0, "corp.test.", 6, 0, 0, 0, &n); /* other zone */
    assert_int_equal(kms_dns_reply_parse(m, NULL, a, n, &r), KMS_EDNS_BADANSWER);
    free(a);
    a = make_reply(0x4242, 0, 0, "kms.test.", 6, 0, 0, 0, &n); /* opcode QUERY */
    assert_int_equal(kms_dns_reply_parse(m, NULL, a, n, &r), KMS_EDNS_BADANSWER);
    /* truncated in the middle of the question */
    assert_int_equal(kms_dns_reply_parse(NULL, NULL, a, n - 3, &r), KMS_EDNS_BADANSWER);
    assert_int_equal(kms_dns_reply_parse(NULL, NULL, a, 5, &r), KMS_EDNS_BADANSWER);
    free(a);
    /* unsigned request, unsigned NOERROR answer: fine */
    a = make_reply(0x4242, 5, 0, "KMS.TEST.", 6, 0, 0, 0, &n);
    assert_int_equal(kms_dns_reply_parse(m, NULL, a, n, &r), 0);
    assert_int_equal(r->status, 0);
    char line[200];
    kms_dns_explain_ctx_t ctx = {"update", "[::1]#53", NULL, NULL, 0};
    assert_string_equal(kms_dns_explain(r, &ctx, line, sizeof line), "update accepted by [::1]#53");
    kms_dns_reply_free(r);
    free(a);
    assert_string_equal(kms_dns_explain_err(KMS_ETIMEOUT, &ctx, line, sizeof line),
                        "no answer from [::1]#53 to the update: timed out");
    assert_string_equal(kms_dns_rcode_name(3), "NXDOMAIN");
    assert_string_equal(kms_dns_rcode_name(99), "RCODE?");
    assert_string_equal(kms_tsig_error_name(18), "BADTIME");
    kms_dns_msg_free(m);
}

/* A TSIG RR for the root with empty RDATA (11 bytes), which ldns reads as the
   packet's TSIG. */
static void put_empty_tsig(kms_wr_t *wr)
{
    kms_wr_u8(wr, 0);
    kms_wr_u16be(wr, 250);
    kms_wr_u16be(wr, 255);
    kms_wr_u32be(wr, 0);
    kms_wr_u16be(wr, 0);
}

static void put_rr_head(kms_wr_t *wr, uint16_t owner_ptr, uint16_t type, uint16_t rdlen)
{
    kms_wr_u16be(wr, (uint16_t)(0xc000 | owner_ptr));
    kms_wr_u16be(wr, type);
    kms_wr_u16be(wr, 1);
    kms_wr_u32be(wr, 300);
    kms_wr_u16be(wr, rdlen);
}

enum { GLUE_PLAIN, GLUE_A_WITH_TAIL, GLUE_SRV_NAME_PAST_RDLENGTH };

/* The answer to _vlmcs._tcp.kms.test SRV: SRV 0 10 1688 kms1.kms.test (the
   target "kms1" + a pointer to kms.test in the question) and an A glue record.
   The malformed variants hide a TSIG RR inside a record's RDATA where ldns
   (which does not bound RDATA by RDLENGTH) finds it as a record of its own,
   followed by a real TSIG: a walk by RDLENGTH sees one TSIG, ldns two. */
static uint8_t *make_srv_glue(int variant, size_t *len)
{
    const uint8_t a4[] = {127, 0, 0, 11};
    kms_wr_t wr;
    kms_wr_init(&wr);
    kms_wr_u16be(&wr, 0x1234);
    kms_wr_u16be(&wr, 0x8400);
    kms_wr_u16be(&wr, 1);
    kms_wr_u16be(&wr, 1);
    kms_wr_u16be(&wr, 0);
    kms_wr_u16be(&wr, variant == GLUE_PLAIN ? 1 : 4);
    put_name(&wr, "_vlmcs._tcp.kms.test"); /* offset 12, kms.test at 24 */
    kms_wr_u16be(&wr, 33);
    kms_wr_u16be(&wr, 1);
    put_rr_head(&wr, 12, 33, 6 + 5 + 2);
    kms_wr_u16be(&wr, 0);
    kms_wr_u16be(&wr, 10);
    kms_wr_u16be(&wr, 1688);
    const uint16_t kms1 = (uint16_t)wr.len; /* 56 */
    kms_wr_u8(&wr, 4);
    kms_wr_bytes(&wr, "kms1", 4);
    kms_wr_u16be(&wr, 0xc000 | 24);
    switch (variant) {
    case GLUE_PLAIN:
        put_rr_head(&wr, kms1, 1, 4);
        kms_wr_bytes(&wr, a4, 4);
        break;
    case GLUE_A_WITH_TAIL:
        /* ldns reads the 4 address bytes and takes the rest for the next
           record; by RDLENGTH it is part of the A record */
        put_rr_head(&wr, kms1, 1, 4 + 11);
        kms_wr_bytes(&wr, a4, 4);
        put_empty_tsig(&wr);
        put_empty_tsig(&wr);
        put_rr_head(&wr, kms1, 1, 4);
        kms_wr_bytes(&wr, a4, 4);
        put_rr_head(&wr, kms1, 1, 4);
        kms_wr_bytes(&wr, a4, 4);
        break;
    default: {
        /* an SRV whose RDLENGTH ends after the first byte of its target: by
           RDLENGTH the next record starts inside the name (an A record for
           the root whose RDATA spans the rest of the name and a TSIG); ldns
           reads the whole name and then that TSIG as a record */
        const uint8_t inner[11] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1 + 11};
        put_rr_head(&wr, 12, 33, 6 + 1);
        kms_wr_u16be(&wr, 0);
        kms_wr_u16be(&wr, 0);
        kms_wr_u16be(&wr, 1688);
        kms_wr_u8(&wr, sizeof inner);
        kms_wr_bytes(&wr, inner, sizeof inner);
        kms_wr_u8(&wr, 0);
        put_empty_tsig(&wr);
        put_empty_tsig(&wr);
        put_rr_head(&wr, kms1, 1, 4);
        kms_wr_bytes(&wr, a4, 4);
        break;
    }
    }
    assert_int_equal(wr.err, 0);
    return kms_wr_steal(&wr, len);
}

static void rdata_read_past_rdlength_is_refused(void **state)
{
    const uint8_t a4[] = {127, 0, 0, 11};
    kms_srv_answer_t *a = NULL;
    kms_dns_reply_t *r = NULL;
    size_t n;
    uint8_t *w = make_srv_glue(GLUE_PLAIN, &n);

    assert_int_equal(kms_srv_answer_parse(w, n, &a), 0);
    assert_int_equal(a->nsrv, 1);
    assert_string_equal(a->srv[0].target, "kms1.kms.test.");
    assert_int_equal(a->srv[0].weight, 10);
    assert_int_equal(a->srv[0].port, 1688);
    assert_int_equal(a->naddrs, 1);
    assert_string_equal(a->addrs[0].name, "kms1.kms.test.");
    assert_memory_equal(a->addrs[0].addr, a4, 4);
    kms_srv_answer_free(a);
    free(w);

    const int bad[] = {GLUE_A_WITH_TAIL, GLUE_SRV_NAME_PAST_RDLENGTH};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w = make_srv_glue(bad[i], &n);
        a = (kms_srv_answer_t *)1;
        assert_int_equal(kms_srv_answer_parse(w, n, &a), KMS_EDNS_BADANSWER);
        assert_null(a);
        r = (kms_dns_reply_t *)1;
        assert_int_equal(kms_dns_reply_parse(NULL, NULL, w, n, &r), KMS_EDNS_BADANSWER);
        assert_null(r);
        free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(update_golden_bytes),
        cmocka_unit_test(update_clears_rd_and_resigns_cleanly),
        cmocka_unit_test(bad_names_are_rejected),
        cmocka_unit_test(update_answers_are_explained),
        cmocka_unit_test(answers_not_for_us_are_rejected),
        cmocka_unit_test(rdata_read_past_rdlength_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
