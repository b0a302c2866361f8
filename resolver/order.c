/* SPDX-License-Identifier: MIT */
/*
 * order.c - RFC 2782 ordering (see order.h).
 */
#include "resolver/order.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"

void loc_rng_seed(loc_rng_t *rng, uint64_t seed)
{
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
    }
    rng->state = seed;
}

uint64_t loc_rng_next(loc_rng_t *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t loc_rng_upto(loc_rng_t *rng, uint32_t n)
{
    uint64_t range = (uint64_t)n + 1, limit = UINT64_MAX - (UINT64_MAX % range), r;

    do
        r = loc_rng_next(rng);
    while (r >= limit);
    return (uint32_t)(r % range);
}

static int is_root(const char *t)
{
    return t[0] == '.' && t[1] == '\0';
}

static int by_priority(const void *a, const void *b, void *srv)
{
    const kms_srv_rec_t *s = srv;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;

    int c;

    if (s[ia].priority != s[ib].priority)
        return s[ia].priority < s[ib].priority ? -1 : 1;
    /* A canonical arrangement before the random one: servers rotate RRsets
     * (BIND's cyclic rrset-order), and a seeded order must not depend on it. */
    c = strcasecmp(s[ia].target, s[ib].target);
    if (c != 0)
        return c;
    if (s[ia].port != s[ib].port)
        return s[ia].port < s[ib].port ? -1 : 1;
    if (s[ia].weight != s[ib].weight)
        return s[ia].weight < s[ib].weight ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

static void shuffle(size_t *v, size_t n, loc_rng_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = loc_rng_upto(rng, (uint32_t)(i - 1));
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Order one priority group idx[0..n) (RFC 2782 section "Usage rules"). */
static void order_group(const kms_srv_rec_t *srv, size_t *idx, size_t n, loc_rng_t *rng,
                        loc_pick_t *out)
{
    size_t zeros = 0;

    /* All weight-0 records at the beginning, each part in random order. */
    for (size_t i = 0; i < n; i++)
        if (srv[idx[i]].weight == 0) {
            size_t t = idx[zeros];
            idx[zeros++] = idx[i];
            idx[i] = t;
        }
    shuffle(idx, zeros, rng);
    shuffle(idx + zeros, n - zeros, rng);

    for (size_t k = 0; k < n; k++) {
        size_t left = n - k, chosen = k;
        uint32_t total = 0, run = 0, draw;

        for (size_t i = k; i < n; i++)
            total += srv[idx[i]].weight; /* <= 256 * 65535: no overflow */
        draw = loc_rng_upto(rng, total);
        for (size_t i = k; i < n; i++) {
            run += srv[idx[i]].weight;
            if (run >= draw) {
                chosen = i;
                break;
            }
        }
        out[k].index = idx[chosen];
        out[k].priority = srv[idx[chosen]].priority;
        out[k].pick = k + 1;
        out[k].candidates = left;
        out[k].weight = srv[idx[chosen]].weight;
        out[k].total = total;
        out[k].draw = draw;
        /* Remove the chosen one, keeping the arrangement of the others. */
        memmove(idx + k + 1, idx + k, (chosen - k) * sizeof(*idx));
        idx[k] = out[k].index;
    }
}

int loc_order(const kms_srv_rec_t *srv, size_t n, loc_rng_t *rng, loc_pick_t *picks, size_t *n_out)
{
    size_t *idx, m = 0;

    *n_out = 0;
    if (n == 1 && is_root(srv[0].target))
        return KMS_EDNS_NODATA; /* RFC 2782: service decidedly not available */
    if (n == 0)
        return 0;
    idx = malloc(n * sizeof(*idx));
    if (!idx)
        return KMS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!is_root(srv[i].target))
            idx[m++] = i;
    qsort_r(idx, m, sizeof(*idx), by_priority, (void *)srv);
    for (size_t start = 0; start < m;) {
        size_t end = start;
        while (end < m && srv[idx[end]].priority == srv[idx[start]].priority)
            end++;
        order_group(srv, idx + start, end - start, rng, picks + start);
        start = end;
    }
    free(idx);
    *n_out = m;
    return 0;
}
