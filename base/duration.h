/* SPDX-License-Identifier: MIT */
/*
 * duration.h - "90", "30s", "15m", "24h", "7d".
 *
 * A bare number is in the caller's default unit: minutes for the slmgr
 * intervals (sai, sri), seconds everywhere else.  Values are returned in
 * seconds.
 */
#ifndef KMS_BASE_DURATION_H
#define KMS_BASE_DURATION_H

#include <stdint.h>

/** Parse a duration; @p bare_unit_s is the size of the unit for a bare number (1 or 60).
 *  0, KMS_EINVAL (syntax) or KMS_ERANGE (overflow). */
int kms_duration_parse(const char *s, uint64_t bare_unit_s, uint64_t *seconds);

/** Format seconds compactly ("24h", "90s", "1d2h") into @p buf of @p len bytes. */
char *kms_duration_format(uint64_t seconds, char *buf, unsigned len);

/** Parse a whole decimal number in [min, max]. 0, KMS_EINVAL or KMS_ERANGE. */
int kms_uint_parse(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/** Strip blanks (space, tab, CR, LF) from both ends of @p s, in place;
 *  returns the first kept character (a list entry as a user typed it). */
char *kms_trim(char *s);

#endif
