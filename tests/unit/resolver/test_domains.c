/* SPDX-License-Identifier: MIT */
/*
 * test_domains.c - the domain list: /skms > /skms-domain > primary DNS
 * suffix + search list; duplicates removed; explicit --domain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hostname.h"
#include "resolver/domains.h"

static kms_resolvconf_t rc_with(const char *text)
{
    kms_resolvconf_t rc;

    kms_resolvconf_parse(text, strlen(text), &rc);
    return rc;
}

static void manual_host_wins(void **state)
{
    kms_resolvconf_t rc = rc_with("search a.test b.test\n");
    const char *ex[] = {"x.test"};
    loc_domain_opts_t o = {.manual_host = "kms9.test:1700",
                           .lookup_domain = "look.test",
                           .explicit_domains = ex,
                           .n_explicit = 1,
                           .fqdn = "pc.corp.test",
                           .rc = &rc};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n = 99;

    (void)state;
    assert_int_equal(loc_domains_build(&o, d, &n), 0);
    assert_int_equal(n, 0);
}

static void lookup_domain_is_the_only_one(void **state)
{
    kms_resolvconf_t rc = rc_with("search a.test b.test\n");
    loc_domain_opts_t o = {.lookup_domain = "Look.Test.", .fqdn = "pc.corp.test", .rc = &rc};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n;

    (void)state;
    assert_int_equal(loc_domains_build(&o, d, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].name, "Look.Test");
    assert_string_equal(d[0].qname, "_vlmcs._tcp.Look.Test.");
    assert_int_equal(d[0].source, LOC_DOM_LOOKUP);
}

static void suffix_then_search_without_duplicates(void **state)
{
    kms_resolvconf_t rc = rc_with("domain old.test\n"
                                  "search b.test CORP.test. a.test b.test\n");
    loc_domain_opts_t o = {.fqdn = "pc.corp.test", .rc = &rc};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n;

    (void)state;
    assert_int_equal(loc_domains_build(&o, d, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(d[0].name, "corp.test");
    assert_int_equal(d[0].source, LOC_DOM_SUFFIX);
    assert_string_equal(d[1].name, "b.test");
    assert_int_equal(d[1].source, LOC_DOM_SEARCH);
    assert_string_equal(d[2].name, "a.test");
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(d[i].qname);
        assert_true(strncmp(d[i].qname, "_vlmcs._tcp.", 12) == 0);
        assert_int_equal(d[i].qname[l - 1], '.'); /* absolute */
        assert_true(d[i].qname[l - 2] != '.');
    }
}

static void no_suffix_when_hostname_has_no_domain(void **state)
{
    kms_resolvconf_t rc = rc_with("search s.test\n");
    loc_domain_opts_t o = {.fqdn = "standalone", .rc = &rc};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n;

    (void)state;
    assert_int_equal(loc_domains_build(&o, d, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].name, "s.test");
}

static void hostname_from_environment(void **state)
{
    loc_domain_opts_t o = {0};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n;

    (void)state;
    setenv("KMSDNS_HOSTNAME", "ws1.env.test", 1);
    assert_int_equal(loc_domains_build(&o, d, &n), 0);
    unsetenv("KMSDNS_HOSTNAME");
    assert_int_equal(n, 1);
    assert_string_equal(d[0].name, "env.test");
    assert_int_equal(d[0].source, LOC_DOM_SUFFIX);
}

/* /etc/hosts of a Debian host: "127.0.1.1 kms1.corp.example kms1". */
static int canon_debian(const char *host, unsigned wait_ms, char *out, size_t len)
{
    (void)wait_ms;
    if (strcmp(host, "kms1") != 0)
        return KMS_ENOENT;
    snprintf(out, len, "kms1.corp.example");
    return 0;
}

static void short_hostname_takes_suffix_of_canonical_name(void **state)
{
    kms_resolvconf_t rc = rc_with("search s.test\n");
    char fqdn[256];
    loc_domain_opts_t o = {.rc = &rc};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n;

    (void)state;
    /* the same function gives kmsd its FQDN and kms-locate its suffix */
    o.fqdn = kms_fqdn_of("kms1", canon_debian, 0, fqdn, sizeof fqdn);
    assert_int_equal(loc_domains_build(&o, d, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(d[0].name, "corp.example");
    assert_int_equal(d[0].source, LOC_DOM_SUFFIX);
    assert_string_equal(d[1].name, "s.test");
}

static void explicit_domains_replace_automatic(void **state)
{
    kms_resolvconf_t rc = rc_with("search a.test\n");
    const char *ex[] = {"one.test", "two.test.", "ONE.test"};
    loc_domain_opts_t o = {
        .explicit_domains = ex, .n_explicit = 3, .fqdn = "pc.corp.test", .rc = &rc};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n;

    (void)state;
    assert_int_equal(loc_domains_build(&o, d, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(d[0].name, "one.test");
    assert_string_equal(d[1].name, "two.test");
    assert_int_equal(d[1].source, LOC_DOM_EXPLICIT);
}

static void bad_names_rejected(void **state)
{
    const char *bad[] = {"a..b", "", ".", "has space.test", ".lead.test"};
    loc_domain_t d[LOC_MAX_DOMAINS];
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *ex[] = {bad[i]};
        loc_domain_opts_t o = {.explicit_domains = ex, .n_explicit = 1};
        assert_int_equal(loc_domains_build(&o, d, &n), KMS_EINVAL);
        loc_domain_opts_t l = {.lookup_domain = bad[i]};
        assert_int_equal(loc_domains_build(&l, d, &n), KMS_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manual_host_wins),
        cmocka_unit_test(lookup_domain_is_the_only_one),
        cmocka_unit_test(suffix_then_search_without_duplicates),
        cmocka_unit_test(no_suffix_when_hostname_has_no_domain),
        cmocka_unit_test(hostname_from_environment),
        cmocka_unit_test(short_hostname_takes_suffix_of_canonical_name),
        cmocka_unit_test(explicit_domains_replace_automatic),
        cmocka_unit_test(bad_names_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
