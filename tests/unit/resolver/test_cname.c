/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for resolver/cname: following a CNAME chain through an
 * answer - in any order, across answers, bounded, and a loop refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "resolver/cname.h"

static kms_cname_rec_t recs[16];

/* An answer holding the CNAMEs "a>b" ... given as owner/target pairs. */
static kms_srv_answer_t answer(const char *const *pairs, size_t n)
{
    kms_srv_answer_t a;

    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < n; i++) {
        snprintf(recs[i].owner, sizeof recs[i].owner, "%s", pairs[2 * i]);
        snprintf(recs[i].target, sizeof recs[i].target, "%s", pairs[2 * i + 1]);
    }
    a.cnames = recs;
    a.ncnames = n;
    return a;
}

static void follows_in_any_order_and_across_answers(void **state)
{
    static const char *const first[] = {"x.test.", "y.test.", "q.test.", "x.test."};
    static const char *const second[] = {"Y.TEST.", "z.test."};
    loc_chain_t c = {0};
    kms_srv_answer_t a = answer(first, 2);
    size_t added;

    (void)state;
    /* q -> x -> y, the records listed in the other order */
    assert_int_equal(loc_chain_follow(&c, "q.test.", &a, &added), 0);
    assert_int_equal(added, 2);
    assert_string_equal(loc_chain_last(&c, "q.test."), "y.test.");
    /* the next answer (for y) goes on from there, names compared as DNS names */
    a = answer(second, 1);
    assert_int_equal(loc_chain_follow(&c, "q.test.", &a, &added), 0);
    assert_int_equal(added, 1);
    assert_int_equal(c.n, 3);
    assert_string_equal(loc_chain_last(&c, "q.test."), "z.test.");
    /* nothing for z: nothing added */
    assert_int_equal(loc_chain_follow(&c, "q.test.", &a, &added), 0);
    assert_int_equal(added, 0);
    /* no chain: the query name */
    memset(&c, 0, sizeof c);
    assert_string_equal(loc_chain_last(&c, "q.test."), "q.test.");
}

static void loops_and_long_chains_are_refused(void **state)
{
    static const char *const loop[] = {"a.", "b.", "b.", "c.", "c.", "A."};
    static const char *const self[] = {"a.", "a."};
    const char *chain[2 * (LOC_CNAME_MAX + 1)];
    char names[LOC_CNAME_MAX + 2][16];
    loc_chain_t c = {0};
    kms_srv_answer_t a = answer(loop, 3);
    size_t added;

    (void)state;
    assert_int_equal(loc_chain_follow(&c, "a.", &a, &added), KMS_EDNS_BADANSWER);
    assert_int_equal(c.n, 2); /* a -> b -> c, then c -> a is a loop */
    memset(&c, 0, sizeof c);
    a = answer(self, 1);
    assert_int_equal(loc_chain_follow(&c, "a.", &a, &added), KMS_EDNS_BADANSWER);
    /* LOC_CNAME_MAX links are a chain; one more is too long */
    for (int i = 0; i <= LOC_CNAME_MAX + 1; i++)
        snprintf(names[i], sizeof names[i], "n%d.", i);
    for (int i = 0; i <= LOC_CNAME_MAX; i++) {
        chain[2 * i] = names[i];
        chain[2 * i + 1] = names[i + 1];
    }
    memset(&c, 0, sizeof c);
    a = answer(chain, LOC_CNAME_MAX);
    assert_int_equal(loc_chain_follow(&c, "n0.", &a, &added), 0);
    assert_int_equal(c.n, LOC_CNAME_MAX);
    memset(&c, 0, sizeof c);
    a = answer(chain, LOC_CNAME_MAX + 1);
    assert_int_equal(loc_chain_follow(&c, "n0.", &a, &added), KMS_EDNS_BADANSWER);
    assert_int_equal(c.n, LOC_CNAME_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(follows_in_any_order_and_across_answers),
        cmocka_unit_test(loops_and_long_chains_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
