/* SPDX-License-Identifier: MIT */
/*
 * test_client_id.c - the activation check's client machine ID: derived from
 * the machine ID as systemd derives an app-specific ID (the expected value
 * is `systemd-id128 machine-id --app-specific=LOC_CLIENT_APP_ID` for that
 * machine ID, also computed with Python's hmac), else kept in a state file,
 * the same on every run.
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

#include "base/fsutil.h"
#include "base/guid.h"
#include "resolver/client_id.h"

static char dir[64], mid[128], state[128];

static void write_text(const char *path, const char *text)
{
    assert_int_equal(kms_file_write_atomic(path, text, strlen(text), 0644), 0);
}

static void derived_from_machine_id(void **state_)
{
    kms_guid_t a, b;
    loc_cid_source_t src;
    char text[KMS_GUID_STRLEN];

    (void)state_;
    write_text(mid, "0123456789abcdef0123456789abcdef\n");
    loc_client_id(mid, state, &a, &src);
    assert_int_equal(src, LOC_CID_MACHINE);
    assert_string_equal(kms_guid_format(&a, text), "b888d52a-6600-4dae-a341-a138c65ae4fa");
    loc_client_id(mid, state, &b, &src);
    assert_true(kms_guid_eq(&a, &b));
    assert_int_equal(access(state, F_OK), -1); /* no file needed */
}

static void state_file_when_no_machine_id(void **state_)
{
    kms_guid_t a, b;
    loc_cid_source_t src;
    struct stat st;
    static const char *bad[] = {"", "0123", "0123456789abcdef0123456789abcdeg\n",
                                "0123456789abcdef0123456789abcdef0\n"};

    (void)state_;
    unlink(mid);
    loc_client_id(mid, state, &a, &src);
    assert_int_equal(src, LOC_CID_FILE);
    assert_int_equal(stat(state, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    loc_client_id(mid, state, &b, &src);
    assert_int_equal(src, LOC_CID_FILE);
    assert_true(kms_guid_eq(&a, &b));
    /* a malformed machine ID is no machine ID */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(mid, bad[i]);
        loc_client_id(mid, state, &b, &src);
        assert_int_equal(src, LOC_CID_FILE);
        assert_true(kms_guid_eq(&a, &b));
    }
    /* nowhere to keep it: random, for this run only */
    loc_client_id(mid, "/proc/no/such/dir/client-id", &b, &src);
    assert_int_equal(src, LOC_CID_RANDOM);
    assert_false(kms_guid_is_nil(&b));
    unlink(mid);
    /* a corrupt file is replaced by a new ID, kept from then on */
    write_text(state, "not an id\n");
    loc_client_id(mid, state, &b, &src);
    assert_int_equal(src, LOC_CID_FILE);
    assert_false(kms_guid_eq(&a, &b));
    loc_client_id(mid, state, &a, &src);
    assert_true(kms_guid_eq(&a, &b));
    unlink(state);
    /* one that cannot be read now (here: a directory) is left alone: this
     * run gets a random ID */
    assert_int_equal(mkdir(state, 0700), 0);
    loc_client_id(mid, state, &b, &src);
    assert_int_equal(src, LOC_CID_RANDOM);
    assert_int_equal(rmdir(state), 0); /* still the directory: not replaced */
}

static void path_beside_the_cache(void **state_)
{
    char *p;

    (void)state_;
    p = loc_client_id_path("/var/tmp/x/host-cache");
    assert_string_equal(p, "/var/tmp/x/client-id");
    free(p);
    p = loc_client_id_path("host-cache");
    assert_string_equal(p, "client-id");
    free(p);
}

static int setup(void **state_)
{
    (void)state_;
    snprintf(dir, sizeof dir, "/tmp/test_client_id.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(mid, sizeof mid, "%s/machine-id", dir);
    snprintf(state, sizeof state, "%s/sub/client-id", dir);
    return 0;
}

static int teardown(void **state_)
{
    char sub[160];

    (void)state_;
    unlink(mid);
    unlink(state);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    rmdir(sub);
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(derived_from_machine_id),
        cmocka_unit_test(state_file_when_no_machine_id),
        cmocka_unit_test(path_beside_the_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
