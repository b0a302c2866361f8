/* SPDX-License-Identifier: MIT */
/* Unit tests for kms/core/ledger: 30-day window, renewal, capacity growth and clamp, eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/guid.h"
#include "kms/core/ledger.h"

#define T0  1700000000
#define DAY 86400

static kms_guid_t id(unsigned n)
{
    kms_guid_t g;

    memset(&g, 0, sizeof g);
    g.b[0] = (uint8_t)n;
    g.b[1] = (uint8_t)(n >> 8);
    g.b[2] = (uint8_t)(n >> 16);
    g.b[15] = 0x5a;
    return g;
}

static uint32_t rec(kms_ledger_t *l, unsigned counted, unsigned client, uint32_t req, int64_t t)
{
    kms_guid_t c = id(counted | 0x800000), m = id(client);
    uint32_t n = 12345;

    assert_int_equal(kms_ledger_record(l, &c, &m, req, t, &n), 0);
    return n;
}

static uint32_t cap_of(kms_ledger_t *l, unsigned counted)
{
    kms_guid_t want = id(counted | 0x800000), g;
    uint32_t cap, cnt;

    for (size_t i = 0; i < kms_ledger_npools(l); i++) {
        assert_int_equal(kms_ledger_pool(l, i, &g, &cap, &cnt, T0), 0);
        if (kms_guid_eq(&g, &want))
            return cap;
    }
    fail_msg("no pool");
    return 0;
}

static void distinct_clients_and_renewal(void **state)
{
    kms_ledger_t *l = kms_ledger_new();

    assert_int_equal(rec(l, 1, 1, 25, T0), 1);
    assert_int_equal(rec(l, 1, 2, 25, T0 + 1), 2);
    /* The same client again (renewal) is not counted twice. */
    assert_int_equal(rec(l, 1, 1, 25, T0 + 2), 2);
    /* Pools are per counted ID. */
    assert_int_equal(rec(l, 2, 1, 5, T0 + 3), 1);
    assert_int_equal(kms_ledger_npools(l), 2);
    kms_ledger_free(l);
    kms_ledger_free(NULL);
}

static void thirty_day_window(void **state)
{
    kms_ledger_t *l = kms_ledger_new();
    kms_guid_t c = id(1 | 0x800000);

    rec(l, 1, 1, 25, T0);
    rec(l, 1, 2, 25, T0 + 10 * DAY);
    assert_int_equal(kms_ledger_count(l, &c, T0 + 30 * DAY - 1), 2);
    /* Client 1 is 30 days old: expired. */
    assert_int_equal(kms_ledger_count(l, &c, T0 + 30 * DAY), 1);
    assert_int_equal(rec(l, 1, 3, 25, T0 + 30 * DAY), 2);
    /* Renewal keeps an entry alive: client 2 renews on day 35, still counted on day 60. */
    assert_int_equal(rec(l, 1, 2, 25, T0 + 35 * DAY), 2);
    assert_int_equal(kms_ledger_count(l, &c, T0 + 60 * DAY), 1);
    assert_int_equal(rec(l, 1, 4, 25, T0 + 64 * DAY + 1), 2); /* 2 and 4; 3 expired */
    assert_int_equal(rec(l, 1, 5, 25, T0 + 100 * DAY), 1);
    kms_ledger_free(l);
}

static void capacity_grows_never_shrinks(void **state)
{
    kms_ledger_t *l = kms_ledger_new();
    unsigned n = 0;

    /* Servers only (threshold 5): the pool holds 10. */
    for (unsigned i = 1; i <= 30; i++)
        n = rec(l, 1, i, 5, T0 + i);
    assert_int_equal(n, 10);
    assert_int_equal(cap_of(l, 1), 10);
    /* A Windows client asks with 25: capacity 50. */
    n = rec(l, 1, 100, 25, T0 + 100);
    assert_int_equal(n, 11);
    assert_int_equal(cap_of(l, 1), 50);
    for (unsigned i = 101; i < 200; i++)
        n = rec(l, 1, i, 5, T0 + i);
    /* Servers asking with 5 again do not shrink it. */
    assert_int_equal(n, 50);
    assert_int_equal(cap_of(l, 1), 50);
    kms_ledger_free(l);
}

static void clamp_required(void **state)
{
    kms_ledger_t *l = kms_ledger_new();
    unsigned n = 0;

    for (unsigned i = 1; i <= 300; i++)
        n = rec(l, 1, i, 1000000, T0 + i);
    assert_int_equal(n, 100); /* treated as 50: capacity 100 */
    assert_int_equal(cap_of(l, 1), KMS_LEDGER_MAX_CAP);
    assert_int_equal(rec(l, 2, 1, 0, T0), 1);
    assert_int_equal(cap_of(l, 2), 2);
    kms_ledger_free(l);
}

static int collect(void *ud, const kms_guid_t *client, int64_t last_seen)
{
    unsigned *out = ud;

    out[out[0] + 1] = client->b[0] | (unsigned)client->b[1] << 8;
    out[0]++;
    return 0;
}

static void eviction_of_least_recent(void **state)
{
    kms_ledger_t *l = kms_ledger_new();
    unsigned seen[64];

    for (unsigned i = 1; i <= 10; i++)
        rec(l, 1, i, 5, T0 + i);
    /* Client 1 renews; now client 2 is the least recently seen. */
    rec(l, 1, 1, 5, T0 + 20);
    assert_int_equal(rec(l, 1, 11, 5, T0 + 21), 10);
    memset(seen, 0, sizeof seen);
    assert_int_equal(kms_ledger_visit(l, 0, collect, seen), 0);
    assert_int_equal(seen[0], 10);
    /* Least recent first: 3..10, 1, 11. */
    unsigned want[] = {3, 4, 5, 6, 7, 8, 9, 10, 1, 11};
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(seen[i + 1], want[i]);
    /* Client 2 comes back as a new entry, evicting 3. */
    assert_int_equal(rec(l, 1, 2, 5, T0 + 22), 10);
    memset(seen, 0, sizeof seen);
    kms_ledger_visit(l, 0, collect, seen);
    assert_int_equal(seen[1], 4);
    assert_int_equal(seen[10], 2);
    kms_ledger_free(l);
}

static void restore(void **state)
{
    kms_ledger_t *l = kms_ledger_new();
    kms_guid_t c = id(7), m = id(1);

    assert_int_equal(kms_ledger_restore_client(l, &c, &m, T0), KMS_ENOENT);
    assert_int_equal(kms_ledger_restore_pool(l, &c, 1), KMS_ERANGE);
    assert_int_equal(kms_ledger_restore_pool(l, &c, 2), 0);
    assert_int_equal(kms_ledger_restore_client(l, &c, &m, T0), 0);
    assert_int_equal(kms_ledger_restore_client(l, &c, &m, T0), KMS_EEXIST);
    m = id(2);
    assert_int_equal(kms_ledger_restore_client(l, &c, &m, T0), 0);
    m = id(3);
    assert_int_equal(kms_ledger_restore_client(l, &c, &m, T0), KMS_ETOOBIG);
    assert_int_equal(kms_ledger_count(l, &c, T0), 2);
    assert_true(kms_ledger_has_pool(l, &c));
    kms_ledger_free(l);
}

/* Many counted IDs: the pool bound holds. */
static void many_pools_bounded(void **state)
{
    kms_ledger_t *l = kms_ledger_new();
    uint32_t n;

    for (unsigned i = 0; i < 5000; i++) {
        kms_guid_t c = id(i % 2000 | 0x800000), m = id(i);

        assert_int_equal(kms_ledger_record(l, &c, &m, 25, T0 + i, &n), 0);
        assert_int_equal(n, 1);
    }
    assert_int_equal(kms_ledger_npools(l), KMS_LEDGER_MAX_POOLS);
    kms_ledger_free(l);
}

/* The realistic load: a few counted IDs, many distinct clients. Prints the rate. */
static void record_rate(void **state)
{
    kms_ledger_t *l = kms_ledger_new();
    struct timespec a, b;
    uint32_t n;
    double ms;

    clock_gettime(CLOCK_MONOTONIC, &a);
    for (unsigned i = 0; i < 200000; i++) {
        kms_guid_t c = id(i % 8 | 0x800000), m = id(i % 150000);

        assert_int_equal(kms_ledger_record(l, &c, &m, 25, T0 + i / 1000, &n), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    print_message("200000 records over 8 counted IDs: %.0f ms (%.0f records/s)\n", ms,
                  200000 / (ms / 1e3));
    kms_ledger_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distinct_clients_and_renewal), cmocka_unit_test(thirty_day_window),
        cmocka_unit_test(capacity_grows_never_shrinks), cmocka_unit_test(clamp_required),
        cmocka_unit_test(eviction_of_least_recent),     cmocka_unit_test(restore),
        cmocka_unit_test(many_pools_bounded),           cmocka_unit_test(record_rate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
