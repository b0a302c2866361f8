/* SPDX-License-Identifier: MIT */
/*
 * ledger.h - the client count, kept as a Windows KMS host keeps it.
 *
 * One pool per KMS counted ID holds distinct client machine IDs with the
 * time each was last seen.  An entry expires 30 days after it was last seen;
 * a returning client (renewal) refreshes its entry.  A pool's capacity is
 * twice the highest required client count any request for that counted ID
 * carried (50 once a Windows client asked with 25, 10 while only servers or
 * Office asked with 5) and never shrinks; when the pool is full the least
 * recently seen entry is replaced.  The count a response carries is the
 * number of live entries after recording the requesting client; the client
 * compares it with its own threshold (below it, the client reports
 * 0xC004F038).
 *
 * Bounds: required counts above 50 are treated as 50 (no real client asks
 * for more; it bounds a pool at 100 entries whatever a request says), and a
 * ledger holds at most KMS_LEDGER_MAX_POOLS counted IDs; a new counted ID
 * beyond that replaces the pool with the oldest activity.
 *
 * Cost: pools are a sorted array searched by binary search; within a pool a
 * 256-slot open-addressing hash finds a client and a doubly linked list in
 * last-seen order gives the entry to evict or expire, so recording is O(log
 * pools) + O(1).  Entries are kept in touch order: expiry pops from the
 * least recent end (a clock stepping back only delays expiry).
 */
#ifndef KMS_CORE_LEDGER_H
#define KMS_CORE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"

#define KMS_LEDGER_WINDOW       (30 * 86400) /* seconds an entry lives */
#define KMS_LEDGER_MAX_REQUIRED 50           /* clamp on required_client_count */
#define KMS_LEDGER_MAX_CAP      (2 * KMS_LEDGER_MAX_REQUIRED)
#define KMS_LEDGER_MAX_POOLS    1024

typedef struct kms_ledger kms_ledger_t;

/** New empty ledger (free with kms_ledger_free()); NULL on ENOMEM. */
kms_ledger_t *kms_ledger_new(void);
/** NULL is a no-op. */
void kms_ledger_free(kms_ledger_t *l);

/**
 * Record that @p client asked for @p counted at @p now (Unix seconds) with
 * threshold @p required; @p count gets the live entries after recording.
 * 0 or KMS_ENOMEM.
 */
int kms_ledger_record(kms_ledger_t *l, const kms_guid_t *counted, const kms_guid_t *client,
                      uint32_t required, int64_t now, uint32_t *count);

/** Live entries (seen within the window before @p now) for @p counted; 0 if unknown. */
uint32_t kms_ledger_count(const kms_ledger_t *l, const kms_guid_t *counted, int64_t now);

/** Non-zero if a pool for @p counted exists. */
int kms_ledger_has_pool(const kms_ledger_t *l, const kms_guid_t *counted);

/** Number of pools (counted IDs). */
size_t kms_ledger_npools(const kms_ledger_t *l);

/** Pool @p i (0..npools-1, in counted-ID order): its counted ID, capacity and
 *  live count at @p now. 0 or KMS_ENOENT. */
int kms_ledger_pool(const kms_ledger_t *l, size_t i, kms_guid_t *counted, uint32_t *cap,
                    uint32_t *count, int64_t now);

typedef int (*kms_ledger_visit_fn)(void *ud, const kms_guid_t *client, int64_t last_seen);

/** Call @p fn for each entry of pool @p i, least recently seen first (expired
 *  entries included); stops at and returns the first non-zero return. */
int kms_ledger_visit(const kms_ledger_t *l, size_t i, kms_ledger_visit_fn fn, void *ud);

/** Loading saved state: make sure a pool for @p counted exists with at least
 *  capacity @p cap (2..KMS_LEDGER_MAX_CAP). 0, KMS_ERANGE or KMS_ENOMEM. */
int kms_ledger_restore_pool(kms_ledger_t *l, const kms_guid_t *counted, uint32_t cap);

/** Loading saved state: add @p client as the most recently seen entry of the
 *  pool of @p counted (which must exist). 0, KMS_ENOENT, KMS_EEXIST (duplicate)
 *  or KMS_ETOOBIG (more entries than the capacity). */
int kms_ledger_restore_client(kms_ledger_t *l, const kms_guid_t *counted, const kms_guid_t *client,
                              int64_t last_seen);

#endif
