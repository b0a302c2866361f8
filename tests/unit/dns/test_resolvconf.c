/* SPDX-License-Identifier: MIT */
/*
 * test_resolvconf.c - the resolv.conf reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "dns/resolvconf.h"

static void parse(const char *t, kms_resolvconf_t *rc)
{
    assert_int_equal(kms_resolvconf_parse(t, strlen(t), rc), 0);
}

static void typical(void **state)
{
    kms_resolvconf_t rc;

    (void)state;
    parse("# generated\n"
          "nameserver 127.0.0.53\n"
          "nameserver ::1\n"
          "options edns0 trust-ad ndots:2\n"
          "search corp.test. lab.corp.test\n",
          &rc);
    assert_int_equal(rc.n_ns, 2);
    assert_string_equal(rc.nameservers[0], "127.0.0.53");
    assert_string_equal(rc.nameservers[1], "::1");
    assert_int_equal(rc.n_search, 2);
    assert_string_equal(rc.search[0], "corp.test");
    assert_string_equal(rc.search[1], "lab.corp.test");
}

static void last_of_search_and_domain_wins(void **state)
{
    kms_resolvconf_t rc;

    (void)state;
    parse("search a.test b.test\ndomain c.test\n", &rc);
    assert_int_equal(rc.n_search, 1);
    assert_string_equal(rc.search[0], "c.test");
    parse("domain c.test\nsearch a.test b.test\n", &rc);
    assert_int_equal(rc.n_search, 2);
    assert_string_equal(rc.search[0], "a.test");
}

static void comments_whitespace_and_limits(void **state)
{
    kms_resolvconf_t rc;
    char big[301];

    (void)state;
    parse("; comment\n   # another\n\tsearch\tx.test   y.test\r\n"
          "nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\n"
          "searchx z.test\nnameserver\n",
          &rc);
    assert_int_equal(rc.n_ns, 3); /* MAXNS */
    assert_int_equal(rc.n_search, 2);
    assert_string_equal(rc.search[1], "y.test");
    /* an over-long name is dropped, the others kept */
    memset(big, 'a', 300);
    big[300] = '\0';
    {
        char text[400];
        snprintf(text, sizeof(text), "search ok.test %s . last.test", big);
        parse(text, &rc);
    }
    assert_int_equal(rc.n_search, 2);
    assert_string_equal(rc.search[1], "last.test");
}

static void no_newline_and_empty(void **state)
{
    kms_resolvconf_t rc;

    (void)state;
    parse("search end.test", &rc);
    assert_int_equal(rc.n_search, 1);
    parse("", &rc);
    assert_int_equal(rc.n_search, 0);
    assert_int_equal(rc.n_ns, 0);
}

static void load_file(void **state)
{
    char path[] = "/tmp/test_resolvconf.XXXXXX";
    int fd = mkstemp(path);
    kms_resolvconf_t rc;
    const char *t = "search f.test\n";

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t, strlen(t)), (int)strlen(t));
    close(fd);
    assert_int_equal(kms_resolvconf_load(path, &rc), 0);
    assert_int_equal(rc.n_search, 1);
    unlink(path);
    /* missing file: empty, like the C library */
    assert_int_equal(kms_resolvconf_load(path, &rc), 0);
    assert_int_equal(rc.n_search, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typical),
        cmocka_unit_test(last_of_search_and_domain_wins),
        cmocka_unit_test(comments_whitespace_and_limits),
        cmocka_unit_test(no_newline_and_empty),
        cmocka_unit_test(load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
