/* SPDX-License-Identifier: MIT */
/*
 * sweepstate.h - what `kms-publish sweep` remembers between runs: for each
 * SRV record it saw dead, when the current streak of failures began, when it
 * was last probed and how many runs found it dead.
 *
 * A record found alive leaves the file (its streak is over); one found
 * unknown (its name did not resolve) is left as it was; one found dead gets
 * failures + 1, its first_dead kept from the streak's start.  A record is
 * identified by (owner, target, port), names canonical (lower case, final
 * dot).
 *
 * The file is text, checked strictly like kmsd's state files:
 *
 *     kmsdns-sweep 1
 *     record _vlmcs._tcp.kms.test. kms3.kms.test. 1688 1764950000 1764953600 2
 *     end 1
 *
 * a header with the format version, one `record OWNER TARGET PORT
 * FIRST_DEAD LAST_PROBE FAILURES` line per entry (unix seconds, single
 * spaces), and `end N` with the number of records; anything else - an
 * unknown line, a field out of range, a record twice, first_dead after
 * last_probe, text after `end` - is an error naming the line
 * ("FILE:3: record: bad port '0'").  Writes are atomic (temp file, fsync,
 * rename; base/fsutil.h).
 */
#ifndef KMS_FLEET_SWEEPSTATE_H
#define KMS_FLEET_SWEEPSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/name.h"

#define FLEET_SWEEPSTATE_MAX  10000      /* records in one file (each put looks for a twin) */
#define FLEET_SWEEPSTATE_SIZE (1u << 26) /* bytes read at most */

/** One record seen dead in its current streak. */
typedef struct {
    char owner[KMS_DNS_NAMELEN];  /**< "_vlmcs._tcp.kms.test." */
    char target[KMS_DNS_NAMELEN]; /**< "kms3.kms.test." */
    uint16_t port;
    int64_t first_dead; /**< unix time of the streak's first dead verdict */
    int64_t last_probe; /**< unix time of its last dead verdict */
    uint32_t failures;  /**< dead verdicts in the streak, >= 1 */
} fleet_sweep_entry_t;

/** The file's records (array owned by the struct).  Zero it to start. */
typedef struct {
    fleet_sweep_entry_t *v;
    size_t n;
} fleet_sweepstate_t;

/** Free the records; the state is left empty.  NULL is a no-op. */
void fleet_sweepstate_free(fleet_sweepstate_t *st);

/** The entry of (owner, target, port) (names compared as DNS names), or NULL.
 *  The pointer is valid until the state changes. */
fleet_sweep_entry_t *fleet_sweepstate_find(const fleet_sweepstate_t *st, const char *owner,
                                           const char *target, uint16_t port);

/**
 * Add or replace the entry of @p e's (owner, target, port); names are
 * canonicalized.
 * @return 0, KMS_EINVAL (bad name, port 0, failures 0, first_dead after
 *         last_probe), KMS_ERANGE (FLEET_SWEEPSTATE_MAX), KMS_ENOMEM
 */
int fleet_sweepstate_put(fleet_sweepstate_t *st, const fleet_sweep_entry_t *e);

/** Remove the entry of (owner, target, port): 1 removed, 0 there was none. */
int fleet_sweepstate_del(fleet_sweepstate_t *st, const char *owner, const char *target,
                         uint16_t port);

/**
 * Parse the text form (@p len bytes, need not be NUL-terminated).  On
 * success @p st (which must be a valid state) is replaced; on error it is
 * left unchanged and @p err gets one line "FNAME:LINE: why".
 * @return 0, KMS_ECORRUPT, KMS_ENOMEM
 */
int fleet_sweepstate_parse(const char *text, size_t len, const char *fname, fleet_sweepstate_t *st,
                           char *err, size_t errlen);

/**
 * The text form of @p st in a malloc'd NUL-terminated string the caller
 * frees (@p len: its length without the NUL).
 * @return 0, KMS_ENOMEM
 */
int fleet_sweepstate_format(const fleet_sweepstate_t *st, char **out, size_t *len);

/**
 * Load @p path into @p st.  A file that does not exist is an empty state.
 * @return 0, KMS_ECORRUPT (with @p err "PATH:LINE: why"), or the
 *         base/fsutil.h error of reading it (with @p err naming the path)
 */
int fleet_sweepstate_load(const char *path, fleet_sweepstate_t *st, char *err, size_t errlen);

/** Write @p st to @p path atomically (mode 0644).  0 or KMS_E*. */
int fleet_sweepstate_save(const char *path, const fleet_sweepstate_t *st);

#endif
