/* SPDX-License-Identifier: MIT */
/*
 * state.h - the host's files in state_dir: inventory, ledger, settings,
 * published.
 *
 * Each is its own text file, replaced atomically with
 * kms_file_write_atomic() (temp file, fsync, rename, fsync of the
 * directory), mode 0600 (the inventory holds whole product keys; the others
 * hold client machine IDs, the host's overrides and the records it
 * published).  Format, shared by all four (statefile.h; docs/configuration.md,
 * "State files"):
 *
 *     kmsdns-<kind> 1               header: kind and format version
 *     <record lines>                space-separated fields, one record a line
 *     end crc32=<8 hex digits>      CRC-32 (IEEE) of every byte before this line
 *
 * A missing file is empty state (first start).  A file whose header, a
 * record, the final line or the checksum is wrong is an error
 * "FILE:LINE: reason" (KMS_ECORRUPT): the host refuses to start rather than
 * silently reset counts or lose keys, and the file is left as it is.
 *
 *   inventory:  product <default|ACTID> <family> <enabled 0|1> <KEY> <installed unix time>
 *                       <KMSID,KMSID,...|->
 *   ledger:     pool <KMS counted ID> <capacity>
 *               client <client machine ID> <last seen unix time>   (of the pool above,
 *                                                                    least recent first)
 *   settings:   port N | activation_interval MIN | renewal_interval MIN | publish 0|1 |
 *               priority N | weight N | domains LIST | decommissioned 0|1
 *               (only the values set through a control verb)
 *   published:  record <domain.> <target.> <port>   (an SRV record this host published
 *               and has not removed: what a dropped domain or a changed target or port
 *               leaves behind, removed at the next publish, cdns or decommission)
 */
#ifndef KMS_CORE_STATE_H
#define KMS_CORE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/wire.h"
#include "publisher/domains.h"
#include "kms/core/inventory.h"
#include "kms/core/ledger.h"

#define KMS_STATE_INVENTORY "inventory"
#define KMS_STATE_LEDGER    "ledger"
#define KMS_STATE_SETTINGS  "settings"
#define KMS_STATE_PUBLISHED "published"
#define KMS_STATE_LOCK      "lock" /* held by the host that has the directory open */
#define KMS_PUBLISHED_MAX   4096   /* records in the published file */
#define KMS_STATE_MAX_FILE  (32u << 20)

/* Parse flags. */
#define KMS_STATE_NO_CRC 1u /* skip the checksum comparison (fuzzing the record parser) */

/* Bits of kms_overrides_t.set: settings changed through a control verb. */
enum {
    KMS_OVR_PORT = 1u << 0,
    KMS_OVR_ACT_INTERVAL = 1u << 1,
    KMS_OVR_REN_INTERVAL = 1u << 2,
    KMS_OVR_PUBLISH = 1u << 3,
    KMS_OVR_PRIORITY = 1u << 4,
    KMS_OVR_WEIGHT = 1u << 5,
    KMS_OVR_DOMAINS = 1u << 6,
};

/** Settings set through control verbs (persisted; they win over the config file). */
typedef struct {
    unsigned set; /* KMS_OVR_* */
    uint16_t port;
    uint32_t activation_interval, renewal_interval; /* minutes */
    int publish;
    uint16_t priority, weight;
    pub_domain_list_t domains;
    int decommissioned;
} kms_overrides_t;

/** One SRV record this host published: _vlmcs._tcp.<domain> SRV ... <port> <target>. */
typedef struct {
    char domain[256]; /* normalized: "kms.test." */
    char target[256]; /* normalized: "kms1.kms.test." */
    uint16_t port;
} kms_published_rec_t;

/** The records this host published and has not removed. */
typedef struct {
    kms_published_rec_t *recs; /* owned */
    size_t n;
} kms_published_t;

/** Release what @p o owns and zero it; NULL is a no-op. */
void kms_overrides_free(kms_overrides_t *o);
/** Release what @p p owns and zero it; NULL is a no-op. */
void kms_published_free(kms_published_t *p);
/** Index of the record (@p domain, @p target, @p port) in @p p (names
 *  compared as DNS names), or -1. */
long kms_published_find(const kms_published_t *p, const char *domain, const char *target,
                        uint16_t port);
/** Add the record unless present (names normalized).  1 added, 0 present,
 *  KMS_EINVAL (bad name), KMS_ERANGE (full), KMS_ENOMEM. */
int kms_published_add(kms_published_t *p, const char *domain, const char *target, uint16_t port);
/** Remove the record if present: 1 removed, 0 absent. */
int kms_published_del(kms_published_t *p, const char *domain, const char *target, uint16_t port);
/** Deep copy (dst overwritten). 0 or KMS_ENOMEM. */
int kms_overrides_copy(kms_overrides_t *dst, const kms_overrides_t *src);

/** CRC-32 (IEEE 802.3, as zlib's crc32()) of @p len bytes, continuing @p crc (start with 0). */
uint32_t kms_crc32(uint32_t crc, const void *data, size_t len);

/** Serialize into @p out (appended, with header and checksum line). 0 or KMS_ENOMEM. */
int kms_state_format_inventory(const kms_inv_t *inv, kms_wr_t *out);
int kms_state_format_ledger(const kms_ledger_t *l, kms_wr_t *out);
int kms_state_format_settings(const kms_overrides_t *o, kms_wr_t *out);
int kms_state_format_published(const kms_published_t *p, kms_wr_t *out);

/**
 * Parse file content (@p len bytes; need not be NUL-terminated).  @p fname
 * names the file in @p err ("FILE:LINE: reason").  On success the result
 * replaces what @p inv / @p l / @p o held before (@p l must be a new, empty
 * ledger).  0, KMS_ECORRUPT or KMS_ENOMEM.
 */
int kms_state_parse_inventory(const char *text, size_t len, const char *fname, unsigned flags,
                              kms_inv_t *inv, char *err, size_t errlen);
int kms_state_parse_ledger(const char *text, size_t len, const char *fname, unsigned flags,
                           kms_ledger_t *l, char *err, size_t errlen);
int kms_state_parse_settings(const char *text, size_t len, const char *fname, unsigned flags,
                             kms_overrides_t *o, char *err, size_t errlen);
int kms_state_parse_published(const char *text, size_t len, const char *fname, unsigned flags,
                              kms_published_t *p, char *err, size_t errlen);

/** Load state_dir/<kind>; a missing file leaves the object empty and returns 0.
 *  Other errors: KMS_ECORRUPT (with "FILE:LINE: reason"), KMS_EIO, KMS_EPERM... */
int kms_state_load_inventory(const char *dir, kms_inv_t *inv, char *err, size_t errlen);
int kms_state_load_ledger(const char *dir, kms_ledger_t *l, char *err, size_t errlen);
int kms_state_load_settings(const char *dir, kms_overrides_t *o, char *err, size_t errlen);
int kms_state_load_published(const char *dir, kms_published_t *p, char *err, size_t errlen);

/** Atomically replace state_dir/@p kind with @p len bytes already formatted
 *  (mode 0600); safe to call from any thread.  0 or KMS_E*. */
int kms_state_write(const char *dir, const char *kind, const void *data, size_t len, int durable);

/** Atomically replace state_dir/<kind> (mode 0600).  @p durable = 0 skips the
 *  fsyncs (tests and fuzzing only: the rename is still atomic, not durable). */
int kms_state_save_inventory(const char *dir, const kms_inv_t *inv, int durable);
int kms_state_save_ledger(const char *dir, const kms_ledger_t *l, int durable);
int kms_state_save_settings(const char *dir, const kms_overrides_t *o, int durable);
int kms_state_save_published(const char *dir, const kms_published_t *p, int durable);

#endif
