/* SPDX-License-Identifier: MIT */
/*
 * inventory.h - the host's product keys, one slot per activation ID.
 *
 * A slot is either the default slot (no activation ID: the host OS product,
 * as `slmgr /ipk KEY` without an ID) or a product named by its activation ID
 * (Office keys are installed this way).  Each slot records the product
 * family, whose application ID a request must carry, and an optional list of
 * KMS counted IDs the product covers (empty: any counted ID of the family).
 *
 * Keys are format-checked only: five groups of five characters from
 * BCDFGHJKMPQRTVWXY2346789, separated by '-', with at most one 'N' (Windows 8
 * and later keys).  No cryptographic validation happens here or anywhere in
 * kmsdns.  Keys are stored upper-case; only the partial key (last five
 * characters) is ever shown.
 *
 * Serving rule: a request is served iff some slot is installed and enabled
 * (`ato`), request.app_id is the application ID of the slot's family, and
 * the slot's KMS ID list is empty or contains request.kms_counted_id.
 * Installing a key over an existing slot replaces the key and disables the
 * slot until the next `ato` (slmgr wants /ato again after /ipk).
 */
#ifndef KMS_CORE_INVENTORY_H
#define KMS_CORE_INVENTORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/guid.h"

#define KMS_KEY_STRLEN     30 /* 29 characters and the NUL */
#define KMS_PARTIAL_STRLEN 6
#define KMS_INV_MAX        256 /* slots */
#define KMS_INV_MAX_KMSIDS 32  /* KMS counted IDs per slot */

typedef enum {
    KMS_FAMILY_WINDOWS = 0,    /* 55c92734-d682-4d71-983e-d6ec3f16059f */
    KMS_FAMILY_OFFICE2010 = 1, /* 59a52881-a989-479d-af46-f275c6370663 */
    KMS_FAMILY_OFFICE = 2,     /* 0ff1ce15-a989-479d-af46-f275c6370663 (2013 and later) */
} kms_family_t;

typedef struct {
    int is_default; /* the default slot; act_id is then nil */
    kms_guid_t act_id;
    char key[KMS_KEY_STRLEN];
    kms_family_t family;
    kms_guid_t kms_ids[KMS_INV_MAX_KMSIDS];
    size_t n_kms_ids; /* 0: any counted ID of the family */
    int enabled;
    int64_t installed; /* Unix time of the ipk */
} kms_product_t;

typedef struct {
    kms_product_t *items; /* owned; the default slot, if any, first */
    size_t n;
} kms_inv_t;

/** Check and normalize a product key into @p out (upper-case). 0 or KMS_EKEYFORMAT. */
int kms_key_check(const char *in, char out[KMS_KEY_STRLEN]);
/** The partial key (last five characters) of a normalized key. */
void kms_key_partial(const char *key, char out[KMS_PARTIAL_STRLEN]);

/** "windows", "office2010", "office"; NULL for a bad value. */
const char *kms_family_name(kms_family_t f);
/** Parse a family name. 0 or KMS_EINVAL. */
int kms_family_parse(const char *s, kms_family_t *out);
/** Application ID of a family. */
const kms_guid_t *kms_family_app_id(kms_family_t f);

/** Initialize an empty inventory (no allocation). */
void kms_inv_init(kms_inv_t *inv);
/** Free the slots; leaves @p inv empty. NULL is a no-op. */
void kms_inv_clear(kms_inv_t *inv);
/** Deep copy (dst is overwritten). 0 or KMS_ENOMEM. */
int kms_inv_copy(kms_inv_t *dst, const kms_inv_t *src);

/** The slot for @p act_id (NULL: the default slot), or NULL. Borrowed. */
kms_product_t *kms_inv_find(kms_inv_t *inv, const kms_guid_t *act_id);

/**
 * Install @p key (checked with kms_key_check()) in the slot of @p act_id
 * (NULL: the default slot), replacing any key there and leaving the slot
 * disabled.  0, KMS_EKEYFORMAT, KMS_EINVAL (too many KMS IDs), KMS_ETOOBIG
 * (KMS_INV_MAX slots) or KMS_ENOMEM.
 */
int kms_inv_install(kms_inv_t *inv, const char *key, const kms_guid_t *act_id, kms_family_t family,
                    const kms_guid_t *kms_ids, size_t n_kms_ids, int64_t now);

/** Remove the slot of @p act_id (NULL: default). 0 or KMS_ENOENT. */
int kms_inv_uninstall(kms_inv_t *inv, const kms_guid_t *act_id);

/** Enable the slot of @p act_id (NULL: default). 0 or KMS_ENOENT (no key there). */
int kms_inv_enable(kms_inv_t *inv, const kms_guid_t *act_id);

/** The slot serving a request for @p app_id / @p kms_counted_id, or NULL. Borrowed. */
const kms_product_t *kms_inv_serving(const kms_inv_t *inv, const kms_guid_t *app_id,
                                     const kms_guid_t *kms_counted_id);

#endif
