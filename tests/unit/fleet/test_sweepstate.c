/* SPDX-License-Identifier: MIT */
/*
 * test_sweepstate.c - the sweep's state file: entries (put, find, del),
 * the text form (round trip, canonical names), strict parsing with errors
 * naming the line, a missing file as an empty state, atomic save and load.
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
#include "fleet/sweepstate.h"

static fleet_sweep_entry_t entry(const char *owner, const char *target, uint16_t port,
                                 int64_t first, int64_t last, uint32_t failures)
{
    fleet_sweep_entry_t e;

    memset(&e, 0, sizeof e);
    snprintf(e.owner, sizeof e.owner, "%s", owner);
    snprintf(e.target, sizeof e.target, "%s", target);
    e.port = port;
    e.first_dead = first;
    e.last_probe = last;
    e.failures = failures;
    return e;
}

static void entries(void **unused)
{
    fleet_sweepstate_t st = {NULL, 0};
    fleet_sweep_entry_t e = entry("_vlmcs._tcp.KMS.test", "Kms3.kms.test", 1688, 10, 20, 2);

    (void)unused;
    assert_int_equal(fleet_sweepstate_put(&st, &e), 0);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.v[0].owner, "_vlmcs._tcp.kms.test.");
    assert_string_equal(st.v[0].target, "kms3.kms.test.");
    assert_non_null(fleet_sweepstate_find(&st, "_vlmcs._tcp.kms.test", "KMS3.kms.test.", 1688));
    assert_null(fleet_sweepstate_find(&st, "_vlmcs._tcp.kms.test", "kms3.kms.test", 1689));
    e.failures = 3; /* replaces */
    assert_int_equal(fleet_sweepstate_put(&st, &e), 0);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.v[0].failures, 3);
    e = entry("_vlmcs._tcp.kms.test", "kms3.kms.test", 0, 1, 2, 1);
    assert_int_equal(fleet_sweepstate_put(&st, &e), KMS_EINVAL); /* port 0 */
    e = entry("_vlmcs._tcp.kms.test", "kms3.kms.test", 1, 3, 2, 1);
    assert_int_equal(fleet_sweepstate_put(&st, &e), KMS_EINVAL); /* first after last */
    e = entry("_vlmcs._tcp.kms.test", "kms3.kms.test", 1, 1, 2, 0);
    assert_int_equal(fleet_sweepstate_put(&st, &e), KMS_EINVAL); /* no failure */
    assert_int_equal(fleet_sweepstate_del(&st, "_vlmcs._tcp.kms.test.", "kms3.kms.test", 1688), 1);
    assert_int_equal(fleet_sweepstate_del(&st, "_vlmcs._tcp.kms.test.", "kms3.kms.test", 1688), 0);
    assert_int_equal(st.n, 0);
    fleet_sweepstate_free(&st);
    fleet_sweepstate_free(NULL);
}

static void round_trip(void **unused)
{
    fleet_sweepstate_t st = {NULL, 0}, back = {NULL, 0};
    fleet_sweep_entry_t a =
        entry("_vlmcs._tcp.kms.test", "kms3.kms.test", 1688, 1764950000, 1764953600, 2);
    fleet_sweep_entry_t b = entry("_vlmcs._tcp.corp.test", "old.corp.test", 1700, 5, 5, 1);
    char *text = NULL, err[200];
    size_t len;

    (void)unused;
    assert_int_equal(fleet_sweepstate_put(&st, &a), 0);
    assert_int_equal(fleet_sweepstate_put(&st, &b), 0);
    assert_int_equal(fleet_sweepstate_format(&st, &text, &len), 0);
    assert_string_equal(text, "kmsdns-sweep 1\n"
                              "record _vlmcs._tcp.kms.test. kms3.kms.test. 1688 1764950000 "
                              "1764953600 2\n"
                              "record _vlmcs._tcp.corp.test. old.corp.test. 1700 5 5 1\n"
                              "end 2\n");
    assert_int_equal(len, strlen(text));
    assert_int_equal(fleet_sweepstate_parse(text, len, "f", &back, err, sizeof err), 0);
    assert_int_equal(back.n, 2);
    assert_memory_equal(back.v, st.v, 2 * sizeof *st.v);
    free(text);
    fleet_sweepstate_free(&st);
    fleet_sweepstate_free(&back);
}

static void strict_parsing(void **unused)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"", "f:1: empty file"},
        {"kmsdns-sweep 1\n", "f:2: no 'end' line (file cut short?)"},
        {"kmsdns-sweep 2\nend 0\n", "f:1: format version '2' not supported"},
        {"kmsdns-state 1\nend 0\n", "f:1: not a sweep state file"},
        {"kmsdns-sweep 1\nend 0", "f:2: last line has no newline"},
        {"kmsdns-sweep 1\nend 1\n", "f:2: end: 1 records announced, 0 found"},
        {"kmsdns-sweep 1\nend 0\nend 0\n", "f:3: text after 'end'"},
        {"kmsdns-sweep 1\nrecord a. b. 0 1 2 1\nend 1\n", "f:2: record: bad port '0'"},
        {"kmsdns-sweep 1\nrecord a. b. 1 +1 2 1\nend 1\n", "f:2: record: bad first_dead '+1'"},
        {"kmsdns-sweep 1\nrecord a. b. 1 3 2 1\nend 1\n", "f:2: record: first_dead 3 after"},
        {"kmsdns-sweep 1\nrecord a. b. 1 1 2 0\nend 1\n", "f:2: record: bad failures '0'"},
        {"kmsdns-sweep 1\nrecord a. b. 1 1 2\nend 1\n", "f:2: record: expected 6 fields"},
        {"kmsdns-sweep 1\nrecord a.  b. 1 1 2 1\nend 1\n", "f:2: empty field"},
        {"kmsdns-sweep 1\nrecord a..b b. 1 1 2 1\nend 1\n", "f:2: record: owner 'a..b'"},
        {"kmsdns-sweep 1\nrecord a. B. 1 1 2 1\nrecord a. b 1 1 2 1\nend 2\n",
         "f:3: record listed twice"},
        {"kmsdns-sweep 1\nhello\nend 0\n", "f:2: unknown line 'hello'"},
    };
    fleet_sweepstate_t st = {NULL, 0};
    fleet_sweep_entry_t keep = entry("_vlmcs._tcp.kms.test", "kms9.kms.test", 1688, 1, 1, 1);
    char err[200];

    (void)unused;
    assert_int_equal(fleet_sweepstate_put(&st, &keep), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(
            fleet_sweepstate_parse(bad[i].text, strlen(bad[i].text), "f", &st, err, sizeof err),
            KMS_ECORRUPT);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("case %zu: got '%s', expected '%s...'", i, err, bad[i].err);
        assert_int_equal(st.n, 1); /* left alone */
    }
    fleet_sweepstate_free(&st);
}

static void save_and_load(void **unused)
{
    char dir[] = "/tmp/test_sweepstate.XXXXXX", path[64], err[200];
    fleet_sweepstate_t st = {NULL, 0}, back = {NULL, 0};
    fleet_sweep_entry_t a = entry("_vlmcs._tcp.kms.test", "kms3.kms.test", 1688, 1, 2, 2);
    FILE *f;

    (void)unused;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state", dir);
    assert_int_equal(fleet_sweepstate_put(&back, &a), 0);
    assert_int_equal(fleet_sweepstate_load(path, &back, err, sizeof err), 0); /* missing: empty */
    assert_int_equal(back.n, 0);
    assert_int_equal(fleet_sweepstate_put(&st, &a), 0);
    assert_int_equal(fleet_sweepstate_save(path, &st), 0);
    assert_int_equal(fleet_sweepstate_load(path, &back, err, sizeof err), 0);
    assert_int_equal(back.n, 1);
    assert_int_equal(back.v[0].failures, 2);
    assert_non_null(f = fopen(path, "w"));
    fputs("kmsdns-sweep 1\nrecord x\nend 0\n", f);
    fclose(f);
    assert_int_equal(fleet_sweepstate_load(path, &back, err, sizeof err), KMS_ECORRUPT);
    assert_true(strncmp(err, path, strlen(path)) == 0 && strstr(err, ":2: record:"));
    assert_int_equal(back.n, 1);
    unlink(path);
    rmdir(dir);
    fleet_sweepstate_free(&st);
    fleet_sweepstate_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries),
        cmocka_unit_test(round_trip),
        cmocka_unit_test(strict_parsing),
        cmocka_unit_test(save_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
