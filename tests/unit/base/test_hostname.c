/* SPDX-License-Identifier: MIT */
/*
 * test_hostname.c - this host's FQDN (base/hostname.h): a dotted host name
 * is the FQDN as is; a short one takes its canonical name when that has a
 * dot (Debian: "kms1" in /etc/hostname, the FQDN in /etc/hosts); anything
 * else leaves the short name.  The lookup is injected: no system state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/hostname.h"

static int calls;
static unsigned last_wait;

/* /etc/hosts of a Debian host: "127.0.1.1 kms1.corp.example kms1". */
static int canon_hosts(const char *host, unsigned wait_ms, char *out, size_t len)
{
    calls++;
    last_wait = wait_ms;
    if (strcmp(host, "kms1") == 0) {
        snprintf(out, len, "kms1.corp.example");
        return 0;
    }
    if (strcmp(host, "bare") == 0) {
        snprintf(out, len, "bare"); /* "127.0.1.1 bare": no domain anywhere */
        return 0;
    }
    return KMS_ENOENT;
}

static int canon_slow(const char *host, unsigned wait_ms, char *out, size_t len)
{
    (void)host;
    (void)wait_ms;
    (void)out;
    (void)len;
    calls++;
    return KMS_ETIMEOUT; /* DNS down and the name not in /etc/hosts */
}

static void short_name_takes_canonical_name(void **state)
{
    char out[256];

    (void)state;
    calls = 0;
    assert_string_equal(kms_fqdn_of("kms1", canon_hosts, 1500, out, sizeof out),
                        "kms1.corp.example");
    assert_int_equal(calls, 1);
    assert_int_equal(last_wait, 1500);
    /* 0: the default bound */
    kms_fqdn_of("kms1", canon_hosts, 0, out, sizeof out);
    assert_int_equal(last_wait, KMS_FQDN_WAIT_MS);
}

static void dotted_name_is_not_looked_up(void **state)
{
    char out[256];

    (void)state;
    calls = 0;
    assert_string_equal(kms_fqdn_of("pc.corp.test", canon_hosts, 0, out, sizeof out),
                        "pc.corp.test");
    assert_string_equal(kms_fqdn_of("pc.corp.test.", canon_hosts, 0, out, sizeof out),
                        "pc.corp.test");
    assert_int_equal(calls, 0);
}

static void no_fqdn_keeps_the_short_name(void **state)
{
    char out[256];

    (void)state;
    calls = 0;
    assert_string_equal(kms_fqdn_of("bare", canon_hosts, 0, out, sizeof out), "bare");
    assert_string_equal(kms_fqdn_of("unknown", canon_hosts, 0, out, sizeof out), "unknown");
    assert_string_equal(kms_fqdn_of("kms1", canon_slow, 0, out, sizeof out), "kms1");
    /* "kms1." is a short name with a final dot */
    assert_string_equal(kms_fqdn_of("kms1.", canon_hosts, 0, out, sizeof out), "kms1.corp.example");
    assert_int_equal(calls, 4);
    assert_string_equal(kms_fqdn_of("", canon_hosts, 0, out, sizeof out), "");
    assert_string_equal(kms_fqdn_of(NULL, canon_hosts, 0, out, sizeof out), "");
}

static void system_lookup_answers_localhost(void **state)
{
    char out[256];

    (void)state;
    /* localhost is in every /etc/hosts: files answer, no DNS, well in time */
    assert_int_equal(kms_canon_lookup("localhost", 2000, out, sizeof out), 0);
    assert_true(strlen(out) > 0);
    assert_int_equal(kms_canon_lookup("", 2000, out, sizeof out), KMS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_name_takes_canonical_name),
        cmocka_unit_test(dotted_name_is_not_looked_up),
        cmocka_unit_test(no_fqdn_keeps_the_short_name),
        cmocka_unit_test(system_lookup_answers_localhost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
