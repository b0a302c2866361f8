/* SPDX-License-Identifier: MIT */
/*
 * order.h - the order in which a client tries SRV targets (RFC 2782).
 *
 * Lowest priority first.  Within one priority, RFC 2782's weighted random
 * selection, followed to the letter: arrange the records not yet ordered
 * with every weight-0 record at the beginning (the rest in any order; we
 * shuffle both parts, so equal records are treated fairly), compute the
 * running sums of the weights, draw a uniform random number in [0, sum]
 * (inclusive) and take the first record whose running sum is >= it.  A
 * weight-0 record thus has a small chance (1 in sum+1) of being first;
 * vlmcs' "weight 0 always last" is not what the RFC says.  When every weight
 * is 0 the order is uniformly random.
 *
 * A single record whose target is "." means the service is decidedly not
 * available in this domain (RFC 2782): loc_order() reports it as
 * KMS_EDNS_NODATA and orders nothing.  A "." among other records is dropped.
 *
 * The random generator is injectable and seedable so that tests and
 * `kms-locate --seed N` are deterministic.
 */
#ifndef KMS_RESOLVER_ORDER_H
#define KMS_RESOLVER_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "dns/srv.h"

/** A small deterministic generator (splitmix64). */
typedef struct {
    uint64_t state;
} loc_rng_t;

/** Seed @p rng; seed 0 draws one from the clock and the pid. */
void loc_rng_seed(loc_rng_t *rng, uint64_t seed);
uint64_t loc_rng_next(loc_rng_t *rng);
/** Uniform in [0, n] inclusive, without modulo bias. */
uint32_t loc_rng_upto(loc_rng_t *rng, uint32_t n);

/** Why a record has its place. */
typedef struct {
    size_t index; /* index into the input array */
    uint16_t priority;
    size_t pick;       /* 1-based pick number within its priority */
    size_t candidates; /* records left in the priority at this pick */
    uint32_t weight;
    uint32_t total; /* sum of weights of the candidates */
    uint32_t draw;  /* the random number in [0, total] */
} loc_pick_t;

/**
 * Order the @p n records of @p srv into @p picks (room for @p n);
 * *@p n_out gets the number ordered ("." targets dropped).
 * @return 0; KMS_EDNS_NODATA for a single "." target (service not available);
 *         KMS_ENOMEM.
 */
int loc_order(const kms_srv_rec_t *srv, size_t n, loc_rng_t *rng, loc_pick_t *picks, size_t *n_out);

#endif
