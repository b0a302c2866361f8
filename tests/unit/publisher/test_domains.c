/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for publisher/domains: the DnsDomainPublishList type and its
 * text form (one parser for kmsd.conf, the state file, sdomains and
 * --domain), copies, lookups, and the host-name rules its names follow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/name.h"
#include "publisher/domains.h"

static void parse_entries(void **state)
{
    pub_domain_list_t l = {0};
    char err[200];
    assert_int_equal(pub_domains_parse("kms.test, corp.test 10 50", &l, err, sizeof err), 0);
    assert_int_equal(pub_domains_parse(" other.test\t1 2 ", &l, err, sizeof err), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].name, "kms.test");
    assert_int_equal(l.v[0].priority, -1);
    assert_int_equal(l.v[0].weight, -1);
    assert_string_equal(l.v[1].name, "corp.test");
    assert_int_equal(l.v[1].priority, 10);
    assert_int_equal(l.v[1].weight, 50);
    assert_int_equal(l.v[2].weight, 2);
    assert_int_equal(pub_domains_parse("a.test 1", &l, err, sizeof err), KMS_EINVAL);
    assert_non_null(strstr(err, "entry 1"));
    assert_int_equal(pub_domains_parse("a.test, b.test 1 70000", &l, err, sizeof err), KMS_ERANGE);
    assert_non_null(strstr(err, "entry 2"));
    assert_int_equal(pub_domains_parse("a..test", &l, err, sizeof err), KMS_EINVAL);
    assert_int_equal(pub_domains_parse("a.test 1 2 3", &l, err, sizeof err), KMS_EINVAL);
    assert_int_equal(pub_domains_parse(" , ", &l, err, sizeof err), KMS_EINVAL);
    assert_int_equal(l.n, 3);
    /* one parser for kmsd.conf, the state file, sdomains and --domain: names
     * normalized, each domain once (also across calls), one trailing comma */
    assert_int_equal(pub_domains_parse("Corp.Test.", &l, err, sizeof err), KMS_EINVAL);
    assert_string_equal(err, "entry 1: domain 'corp.test' listed twice");
    assert_int_equal(pub_domains_parse("x.test, X.TEST", &l, err, sizeof err), KMS_EINVAL);
    assert_int_equal(pub_domains_parse("a.test,,b.test", &l, err, sizeof err), KMS_EINVAL);
    assert_string_equal(err, "entry 2: empty");
    assert_int_equal(l.n, 3);
    assert_int_equal(pub_domains_parse("New.Test. 1 2,", &l, err, sizeof err), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[3].name, "new.test");
    pub_domain_list_free(&l);
    assert_int_equal(l.n, 0);
    pub_domain_list_free(NULL);
}

static void text_round_trip_and_limits(void **state)
{
    pub_domain_list_t d = {0}, c = {0};
    char err[256], out[256];
    char *s;

    assert_int_equal(
        pub_domains_parse("kms.test, corp.test 10 50,A_b.Example.", &d, err, sizeof err), 0);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.v[2].name, "a_b.example");
    s = pub_domains_format(&d);
    assert_string_equal(s, "kms.test, corp.test 10 50, a_b.example");
    free(s);
    /* a copy is deep and equal, and finds names as DNS names */
    assert_int_equal(pub_domains_copy(&c, &d), 0);
    pub_domain_list_free(&d);
    assert_string_equal(c.v[1].name, "corp.test");
    assert_int_equal(pub_domains_find(&c, "CORP.test."), 1);
    assert_int_equal(pub_domains_find(&c, "other.test"), -1);
    assert_int_equal(
        pub_domains_parse("kms.test, corp.test 10 50, a_b.example", &d, err, sizeof err), 0);
    assert_true(pub_domains_equal(&c, &d));
    d.v[1].weight = 51;
    assert_false(pub_domains_equal(&c, &d));
    pub_domain_list_free(&c);
    pub_domain_list_free(&d);
    s = pub_domains_format(&d);
    assert_string_equal(s, "");
    free(s);

    assert_int_equal(pub_domains_parse("", &d, err, sizeof err), KMS_EINVAL);
    assert_int_equal(pub_domains_parse("a.test,,b.test", &d, err, sizeof err), KMS_EINVAL);
    assert_int_equal(pub_domains_parse("a.test 1 2 3", &d, err, sizeof err), KMS_EINVAL);
    assert_int_equal(d.n, 0);
    pub_domain_list_free(&d);

    /* Label and name length limits. */
    char name[300];

    memset(name, 'a', 63);
    strcpy(name + 63, ".test");
    assert_int_equal(kms_dname_display(name, KMS_DNAME_HOST, out, sizeof out), 0);
    memset(name, 'a', 64);
    strcpy(name + 64, ".test");
    assert_int_equal(kms_dname_display(name, KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    /* 253 characters total is the limit. */
    for (int i = 0; i < 4; i++) {
        memset(name + i * 64, 'b', 63);
        name[i * 64 + 63] = '.';
    }
    name[253] = 0; /* 4 x 64 - 3 */
    assert_int_equal(strlen(name), 253);
    assert_int_equal(kms_dname_display(name, KMS_DNAME_HOST, out, sizeof out), 0);
    strcpy(name + 253, "c");
    assert_int_equal(kms_dname_display(name, KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_display(".", KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_display("-a.test", KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_display("a-.test", KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_display("a.test-", KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_display("a-b.test", KMS_DNAME_HOST, out, sizeof out), 0);
    assert_int_equal(kms_dname_display("a b.test", KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_display("a.", KMS_DNAME_HOST, out, sizeof out), 0);
    assert_string_equal(out, "a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_entries),
        cmocka_unit_test(text_round_trip_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
