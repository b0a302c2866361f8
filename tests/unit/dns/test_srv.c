/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dns/srv: SRV answers with glue (compressed names, the
 * authority section ignored, every truncation refused), and RDATA bounds
 * (a target that runs past or stops short of RDLENGTH is a malformed
 * answer; "." is no service).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/err.h"
#include "base/wire.h"
#include "dns/srv.h"
#include "tests/unit/dns/wire_build.h"

static void srv_answer_with_glue(void **state)
{
    /* _vlmcs._tcp.kms.test SRV: two records, glue A + AAAA for kms1, an NS in
       authority (ignored), names compressed */
    kms_wr_t wr;
    kms_wr_init(&wr);
    const uint8_t hdr[] = {0xab, 0xcd, 0x84, 0x00, 0, 1, 0, 2, 0, 1, 0, 2};
    kms_wr_bytes(&wr, hdr, sizeof hdr);
    put_name(&wr, "_vlmcs._tcp.kms.test"); /* offset 12 */
    kms_wr_u16be(&wr, 33);
    kms_wr_u16be(&wr, 1);
    const struct {
        uint16_t prio, weight;
        const char *target;
    } srv[] = {{0, 10, "kms1"}, {5, 0, "kms2"}};
    for (int i = 0; i < 2; i++) {
        kms_wr_u16be(&wr, 0xc00c);
        kms_wr_u16be(&wr, 33);
        kms_wr_u16be(&wr, 1);
        kms_wr_u32be(&wr, 600);
        kms_wr_u16be(&wr, (uint16_t)(6 + 1 + 4 + 2));
        kms_wr_u16be(&wr, srv[i].prio);
        kms_wr_u16be(&wr, srv[i].weight);
        kms_wr_u16be(&wr, 1688);
        kms_wr_u8(&wr, 4);
        kms_wr_bytes(&wr, srv[i].target, 4);
        kms_wr_u16be(&wr, 0xc000 | 24); /* -> kms.test */
    }
    kms_wr_u16be(&wr, 0xc000 | 24); /* kms.test NS ns1.kms.test */
    kms_wr_u16be(&wr, 2);
    kms_wr_u16be(&wr, 1);
    kms_wr_u32be(&wr, 300);
    kms_wr_u16be(&wr, 6);
    kms_wr_u8(&wr, 3);
    kms_wr_bytes(&wr, "ns1", 3);
    kms_wr_u16be(&wr, 0xc000 | 24);
    /* kms1.kms.test A 127.0.0.11 — the first SRV target is at offset 12+22+4*2+2+4+2+6 */
    size_t kms1 = 12 + 22 + 4 + 12 + 6;
    kms_wr_u16be(&wr, (uint16_t)(0xc000 | kms1));
    kms_wr_u16be(&wr, 1);
    kms_wr_u16be(&wr, 1);
    kms_wr_u32be(&wr, 300);
    kms_wr_u16be(&wr, 4);
    const uint8_t a4[] = {127, 0, 0, 11};
    kms_wr_bytes(&wr, a4, 4);
    kms_wr_u16be(&wr, (uint16_t)(0xc000 | kms1));
    kms_wr_u16be(&wr, 28);
    kms_wr_u16be(&wr, 1);
    kms_wr_u32be(&wr, 300);
    kms_wr_u16be(&wr, 16);
    uint8_t a6[16] = {0};
    a6[15] = 1;
    kms_wr_bytes(&wr, a6, 16);
    assert_int_equal(wr.err, 0);

    kms_srv_answer_t *a = NULL;
    assert_int_equal(kms_srv_answer_parse(wr.buf, wr.len, &a), 0);
    assert_int_equal(a->rcode, 0);
    assert_true(a->aa);
    assert_int_equal(a->nsrv, 2);
    assert_string_equal(a->srv[0].owner, "_vlmcs._tcp.kms.test.");
    assert_string_equal(a->srv[0].target, "kms1.kms.test.");
    assert_int_equal(a->srv[0].weight, 10);
    assert_int_equal(a->srv[0].port, 1688);
    assert_int_equal(a->srv[0].ttl, 600);
    assert_string_equal(a->srv[1].target, "kms2.kms.test.");
    assert_int_equal(a->srv[1].priority, 5);
    assert_int_equal(a->naddrs, 2);
    assert_string_equal(a->addrs[0].name, "kms1.kms.test.");
    assert_int_equal(a->addrs[0].family, AF_INET);
    assert_memory_equal(a->addrs[0].addr, a4, 4);
    assert_int_equal(a->addrs[1].family, AF_INET6);
    assert_memory_equal(a->addrs[1].addr, a6, 16);
    kms_srv_answer_free(a);

    /* every truncation of it is an error, never a crash */
    for (size_t cut = 0; cut < wr.len; cut++) {
        a = NULL;
        int rc = kms_srv_answer_parse(wr.buf, cut, &a);
        assert_int_equal(rc, KMS_EDNS_BADANSWER);
        assert_null(a);
    }
    kms_wr_free(&wr);
}

/* One-answer SRV message: target @p target (wire form, @p tlen bytes) in an
 * RDATA that claims @p rdlen bytes. */
static void one_srv(kms_wr_t *wr, uint16_t flags, const uint8_t *target, size_t tlen,
                    uint16_t rdlen)
{
    static const uint8_t q[] = "\x06_vlmcs\x04_tcp\x03kms\x04test";

    kms_wr_init(wr);
    kms_wr_u16be(wr, 0x1234);
    kms_wr_u16be(wr, flags);
    kms_wr_u16be(wr, 1);
    kms_wr_u16be(wr, 1);
    kms_wr_u16be(wr, 0);
    kms_wr_u16be(wr, 0);
    kms_wr_bytes(wr, q, sizeof q); /* with the root label */
    kms_wr_u16be(wr, 33);
    kms_wr_u16be(wr, 1);
    kms_wr_u16be(wr, 0xc00c);
    kms_wr_u16be(wr, 33);
    kms_wr_u16be(wr, 1);
    kms_wr_u32be(wr, 60);
    kms_wr_u16be(wr, rdlen);
    kms_wr_u16be(wr, 0);
    kms_wr_u16be(wr, 0);
    kms_wr_u16be(wr, 1688);
    kms_wr_bytes(wr, target, tlen);
}

static void srv_answer_rdata_bounds(void **state)
{
    static const uint8_t kms1[] = "\x04kms1\xc0\x18"; /* kms1 + -> kms.test */
    static const uint8_t root[] = {0};
    kms_srv_answer_t *a = NULL;
    kms_wr_t wr;

    (void)state;
    /* well formed: the compressed target ends exactly at the end of RDATA */
    one_srv(&wr, 0x8400, kms1, 7, 6 + 7);
    assert_int_equal(kms_srv_answer_parse(wr.buf, wr.len, &a), 0);
    assert_int_equal(a->nsrv, 1);
    assert_string_equal(a->srv[0].target, "kms1.kms.test.");
    kms_srv_answer_free(a);
    kms_wr_free(&wr);

    /* "." target: no service, reported as such to the resolver */
    one_srv(&wr, 0x8400, root, 1, 6 + 1);
    assert_int_equal(kms_srv_answer_parse(wr.buf, wr.len, &a), 0);
    assert_string_equal(a->srv[0].target, ".");
    kms_srv_answer_free(a);
    kms_wr_free(&wr);

    /* the target runs past RDLENGTH (into what would be the next record) */
    one_srv(&wr, 0x8400, kms1, 7, 6 + 5);
    kms_wr_u16be(&wr, 0); /* keeps the record walk inside the message */
    a = NULL;
    assert_int_equal(kms_srv_answer_parse(wr.buf, wr.len, &a), KMS_EDNS_BADANSWER);
    assert_null(a);
    kms_wr_free(&wr);

    /* RDATA longer than the SRV it holds */
    one_srv(&wr, 0x8400, kms1, 7, 6 + 8);
    kms_wr_u8(&wr, 0);
    assert_int_equal(kms_srv_answer_parse(wr.buf, wr.len, &a), KMS_EDNS_BADANSWER);
    kms_wr_free(&wr);

    /* a query (QR clear) is not an answer */
    one_srv(&wr, 0x0400, kms1, 7, 6 + 7);
    assert_int_equal(kms_srv_answer_parse(wr.buf, wr.len, &a), KMS_EDNS_BADANSWER);
    kms_wr_free(&wr);
}

static void free_null(void **state)
{
    (void)state;
    kms_srv_answer_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(srv_answer_with_glue),
        cmocka_unit_test(srv_answer_rdata_bounds),
        cmocka_unit_test(free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
