/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for kms/daemon/fdlimit: the connections that fit an open-file
 * limit, and raising the soft limit to the hard one at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <sys/resource.h>

#include "kms/daemon/fdlimit.h"

static void cap_leaves_kmsd_its_own(void **state)
{
    (void)state;
    /* ulimit -n 64, two listeners: 64 - 32 - 2 */
    assert_int_equal(kms_fd_connection_cap(64, 2), 64 - KMS_FD_OWN - 2);
    assert_int_equal(kms_fd_connection_cap(1024, 1), 1024 - KMS_FD_OWN - 1);
    /* too low for anything: one connection still, never 0 (0 is "no cap") */
    assert_int_equal(kms_fd_connection_cap(KMS_FD_OWN + 2, 2), 1);
    assert_int_equal(kms_fd_connection_cap(10, 2), 1);
    assert_int_equal(kms_fd_connection_cap(ULONG_MAX, 2), UINT_MAX);
}

/* The soft limit goes up to the hard one; what it returns is in effect. */
static void prepare_raises_the_soft_limit(void **state)
{
    struct rlimit rl, now;
    unsigned long got;

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max < 64)
        skip();
    now = rl;
    now.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &now), 0);
    got = kms_fd_prepare();
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
    assert_int_equal(now.rlim_cur, rl.rlim_max);
    assert_int_equal(got, (unsigned long)rl.rlim_max);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cap_leaves_kmsd_its_own),
        cmocka_unit_test(prepare_raises_the_soft_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
