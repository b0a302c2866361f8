/* SPDX-License-Identifier: MIT */
/*
 * test_order.c - RFC 2782 ordering: priorities, weighted first picks
 * (chi-square against the RFC's probabilities), weight 0, the "." target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "resolver/order.h"

static kms_srv_rec_t rr(uint16_t prio, uint16_t weight, const char *target)
{
    kms_srv_rec_t r;

    memset(&r, 0, sizeof(r));
    r.priority = prio;
    r.weight = weight;
    r.port = 1688;
    snprintf(r.target, sizeof(r.target), "%s", target);
    return r;
}

/* Chi-square of observed counts against expected probabilities. */
static double chi2(const unsigned *obs, const double *p, size_t k, unsigned n)
{
    double x = 0;

    for (size_t i = 0; i < k; i++) {
        double e = p[i] * n, d = obs[i] - e;
        x += d * d / e;
    }
    return x;
}

static void first_pick_frequencies(void **state)
{
    /* RFC 2782: running sums 0,10,40,100 with the weight-0 record first; a
     * draw in [0,100]: P = 1/101, 10/101, 30/101, 60/101. */
    kms_srv_rec_t s[4] = {rr(0, 60, "w60"), rr(0, 0, "w0"), rr(0, 30, "w30"), rr(0, 10, "w10")};
    const double p[4] = {60.0 / 101, 1.0 / 101, 30.0 / 101, 10.0 / 101};
    unsigned obs[4] = {0}, n = 100000;
    loc_pick_t picks[4];
    loc_rng_t rng;
    size_t m;
    double x;

    (void)state;
    loc_rng_seed(&rng, 12345);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(loc_order(s, 4, &rng, picks, &m), 0);
        assert_int_equal(m, 4);
        obs[picks[0].index]++;
    }
    x = chi2(obs, p, 4, n);
    /* 3 degrees of freedom: P(chi2 > 16.27) = 0.001 */
    assert_true(x < 16.27);
    /* Weight 0 is NOT always last (vlmcs' mistake): it comes first ~1% of the time. */
    assert_true(obs[1] > 700 && obs[1] < 1300);
}

static void second_pick_follows_remaining_weights(void **state)
{
    /* After w60 is taken first, the rest (0,10,30) draw in [0,40]. */
    kms_srv_rec_t s[4] = {rr(0, 60, "w60"), rr(0, 0, "w0"), rr(0, 30, "w30"), rr(0, 10, "w10")};
    const double p[3] = {1.0 / 41, 30.0 / 41, 10.0 / 41};
    unsigned obs[4] = {0}, n = 0, o3[3];
    loc_pick_t picks[4];
    loc_rng_t rng;
    size_t m;

    (void)state;
    loc_rng_seed(&rng, 777);
    for (unsigned i = 0; i < 100000; i++) {
        loc_order(s, 4, &rng, picks, &m);
        if (picks[0].index != 0)
            continue;
        obs[picks[1].index]++;
        n++;
        assert_int_equal(picks[1].total, 40);
        assert_int_equal(picks[1].candidates, 3);
    }
    o3[0] = obs[1];
    o3[1] = obs[2];
    o3[2] = obs[3];
    assert_true(n > 50000);
    assert_true(chi2(o3, p, 3, n) < 13.82); /* 2 dof, p = 0.001 */
}

static void priority_never_violated(void **state)
{
    kms_srv_rec_t s[12];
    loc_pick_t picks[12];
    loc_rng_t rng, g;
    size_t m;

    (void)state;
    loc_rng_seed(&rng, 99);
    loc_rng_seed(&g, 5);
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + loc_rng_upto(&g, 11);
        for (size_t i = 0; i < n; i++)
            s[i] = rr((uint16_t)loc_rng_upto(&g, 3), (uint16_t)loc_rng_upto(&g, 5) * 10, "h");
        assert_int_equal(loc_order(s, n, &rng, picks, &m), 0);
        assert_int_equal(m, n);
        for (size_t i = 1; i < m; i++)
            assert_true(s[picks[i - 1].index].priority <= s[picks[i].index].priority);
        /* a permutation: every record exactly once */
        for (size_t i = 0; i < n; i++) {
            int seen = 0;
            for (size_t k = 0; k < m; k++)
                seen += picks[k].index == i;
            assert_int_equal(seen, 1);
        }
    }
}

static void lower_priority_number_first_even_with_low_weight(void **state)
{
    kms_srv_rec_t s[3] = {rr(10, 1000, "backup"), rr(0, 0, "primary"), rr(5, 1, "middle")};
    loc_pick_t picks[3];
    loc_rng_t rng;
    size_t m;

    (void)state;
    loc_rng_seed(&rng, 1);
    for (int i = 0; i < 100; i++) {
        loc_order(s, 3, &rng, picks, &m);
        assert_string_equal(s[picks[0].index].target, "primary");
        assert_string_equal(s[picks[1].index].target, "middle");
        assert_string_equal(s[picks[2].index].target, "backup");
    }
}

static void all_zero_weights_uniform(void **state)
{
    kms_srv_rec_t s[3] = {rr(0, 0, "a"), rr(0, 0, "b"), rr(0, 0, "c")};
    const double p[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    unsigned obs[3] = {0}, n = 30000;
    loc_pick_t picks[3];
    loc_rng_t rng;
    size_t m;

    (void)state;
    loc_rng_seed(&rng, 4242);
    for (unsigned i = 0; i < n; i++) {
        loc_order(s, 3, &rng, picks, &m);
        assert_int_equal(picks[0].total, 0);
        obs[picks[0].index]++;
    }
    assert_true(chi2(obs, p, 3, n) < 13.82);
}

static void zero_weight_beside_positive(void **state)
{
    /* One weight-0 and one weight-1 record: draw in [0,1]: each first half the time. */
    kms_srv_rec_t s[2] = {rr(0, 1, "one"), rr(0, 0, "zero")};
    unsigned zero_first = 0;
    loc_pick_t picks[2];
    loc_rng_t rng;
    size_t m;

    (void)state;
    loc_rng_seed(&rng, 8);
    for (int i = 0; i < 10000; i++) {
        loc_order(s, 2, &rng, picks, &m);
        zero_first += picks[0].index == 1;
    }
    assert_true(zero_first > 4700 && zero_first < 5300);
}

static void root_target(void **state)
{
    kms_srv_rec_t one[1] = {rr(0, 0, ".")};
    kms_srv_rec_t mixed[3] = {rr(0, 0, "."), rr(0, 5, "a"), rr(1, 0, "b")};
    loc_pick_t picks[3];
    loc_rng_t rng;
    size_t m = 99;

    (void)state;
    loc_rng_seed(&rng, 3);
    /* RFC 2782: a single "." target: the service is decidedly not available. */
    assert_int_equal(loc_order(one, 1, &rng, picks, &m), KMS_EDNS_NODATA);
    assert_int_equal(m, 0);
    assert_int_equal(loc_order(mixed, 3, &rng, picks, &m), 0);
    assert_int_equal(m, 2);
    assert_string_equal(mixed[picks[0].index].target, "a");
    assert_string_equal(mixed[picks[1].index].target, "b");
}

static void seeded_is_deterministic(void **state)
{
    kms_srv_rec_t s[5] = {rr(0, 10, "a"), rr(0, 20, "b"), rr(0, 30, "c"), rr(0, 0, "d"),
                          rr(0, 40, "e")};
    loc_pick_t p1[5], p2[5];
    loc_rng_t r1, r2;
    size_t m;
    int differs = 0;

    (void)state;
    loc_rng_seed(&r1, 2026);
    loc_rng_seed(&r2, 2026);
    loc_order(s, 5, &r1, p1, &m);
    loc_order(s, 5, &r2, p2, &m);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(p1[i].index, p2[i].index);
    /* a different seed gives some other order within a few tries */
    for (uint64_t seed = 1; seed < 20 && !differs; seed++) {
        loc_rng_seed(&r2, seed);
        loc_order(s, 5, &r2, p2, &m);
        for (size_t i = 0; i < 5; i++)
            differs |= p1[i].index != p2[i].index;
    }
    assert_true(differs);
}

static void rng_upto_bounds(void **state)
{
    loc_rng_t rng;
    unsigned hit[4] = {0};

    (void)state;
    loc_rng_seed(&rng, 1);
    for (int i = 0; i < 4000; i++) {
        uint32_t v = loc_rng_upto(&rng, 3);
        assert_true(v <= 3);
        hit[v]++;
    }
    for (int i = 0; i < 4; i++)
        assert_true(hit[i] > 800); /* inclusive upper bound is reachable */
    assert_int_equal(loc_rng_upto(&rng, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_pick_frequencies),
        cmocka_unit_test(second_pick_follows_remaining_weights),
        cmocka_unit_test(priority_never_violated),
        cmocka_unit_test(lower_priority_number_first_even_with_low_weight),
        cmocka_unit_test(all_zero_weights_uniform),
        cmocka_unit_test(zero_weight_beside_positive),
        cmocka_unit_test(root_target),
        cmocka_unit_test(seeded_is_deterministic),
        cmocka_unit_test(rng_upto_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
