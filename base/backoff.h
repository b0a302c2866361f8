/* SPDX-License-Identifier: MIT */
/*
 * backoff.h - the one exponential backoff with jitter.
 *
 * Step 0 waits about @c first, each further step twice as long, up to
 * @c max; the wait actually returned is drawn from 75%..125% of that
 * (uniformly), so that many hosts retrying after one outage do not retry
 * in lockstep.  Used by the publisher between the attempts of an exchange
 * and between verification rounds, and by kmsd between the background
 * retries of a failed publish.
 */
#ifndef KMS_BASE_BACKOFF_H
#define KMS_BASE_BACKOFF_H

#include <stdint.h>

/**
 * The wait before retry step @p step (0: the first retry), in the unit of
 * @p first and @p max (milliseconds everywhere today).  @p first 0 counts
 * as 1.  Never more than max + max / 4.
 */
uint64_t kms_backoff(uint64_t first, uint64_t max, unsigned step);

#endif
