/* SPDX-License-Identifier: MIT */
/*
 * inventory.c - product key slots (see inventory.h for the rules).
 */
#include "kms/core/inventory.h"

#include "base/err.h"
#include "rpc/activation.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char key_alphabet[] = "BCDFGHJKMPQRTVWXY2346789";

int kms_key_check(const char *in, char out[KMS_KEY_STRLEN])
{
    int n_count = 0;

    memset(out, 0, KMS_KEY_STRLEN);
    if (strlen(in) != KMS_KEY_STRLEN - 1)
        goto bad;
    for (size_t i = 0; i < KMS_KEY_STRLEN - 1; i++) {
        int c = toupper((unsigned char)in[i]);

        if (i % 6 == 5) {
            if (c != '-')
                goto bad;
        } else if (c == 'N') {
            if (++n_count > 1)
                goto bad;
        } else if (!c || !strchr(key_alphabet, c)) {
            goto bad;
        }
        out[i] = (char)c;
    }
    return 0;

bad:
    memset(out, 0, KMS_KEY_STRLEN);
    return KMS_EKEYFORMAT;
}

void kms_key_partial(const char *key, char out[KMS_PARTIAL_STRLEN])
{
    size_t n = strlen(key);

    memset(out, 0, KMS_PARTIAL_STRLEN);
    if (n >= 5)
        memcpy(out, key + n - 5, 5);
}

static const char *family_names[] = {"windows", "office2010", "office"};
static const char *family_apps[] = {KMS_APP_WINDOWS, KMS_APP_OFFICE2010, KMS_APP_OFFICE};

const char *kms_family_name(kms_family_t f)
{
    return (unsigned)f < 3 ? family_names[f] : NULL;
}

int kms_family_parse(const char *s, kms_family_t *out)
{
    for (unsigned i = 0; i < 3; i++) {
        if (strcmp(s, family_names[i]) == 0) {
            *out = (kms_family_t)i;
            return 0;
        }
    }
    return KMS_EINVAL;
}

const kms_guid_t *kms_family_app_id(kms_family_t f)
{
    static kms_guid_t apps[3];
    static int done;

    if (!done) {
        for (unsigned i = 0; i < 3; i++)
            kms_guid_parse(family_apps[i], &apps[i]);
        done = 1;
    }
    return &apps[(unsigned)f < 3 ? f : 0];
}

void kms_inv_init(kms_inv_t *inv)
{
    inv->items = NULL;
    inv->n = 0;
}

void kms_inv_clear(kms_inv_t *inv)
{
    if (!inv)
        return;
    if (inv->items) /* whole product keys */
        explicit_bzero(inv->items, inv->n * sizeof *inv->items);
    free(inv->items);
    kms_inv_init(inv);
}

int kms_inv_copy(kms_inv_t *dst, const kms_inv_t *src)
{
    kms_inv_init(dst);
    if (!src->n)
        return 0;
    dst->items = malloc(src->n * sizeof *dst->items);
    if (!dst->items)
        return KMS_ENOMEM;
    memcpy(dst->items, src->items, src->n * sizeof *dst->items);
    dst->n = src->n;
    return 0;
}

kms_product_t *kms_inv_find(kms_inv_t *inv, const kms_guid_t *act_id)
{
    for (size_t i = 0; i < inv->n; i++) {
        kms_product_t *p = &inv->items[i];

        if (act_id ? (!p->is_default && kms_guid_eq(&p->act_id, act_id)) : p->is_default)
            return p;
    }
    return NULL;
}

int kms_inv_install(kms_inv_t *inv, const char *key, const kms_guid_t *act_id, kms_family_t family,
                    const kms_guid_t *kms_ids, size_t n_kms_ids, int64_t now)
{
    char norm[KMS_KEY_STRLEN];
    kms_product_t *p;

    if (kms_key_check(key, norm) < 0)
        return KMS_EKEYFORMAT;
    if (n_kms_ids > KMS_INV_MAX_KMSIDS || !kms_family_name(family))
        return KMS_EINVAL;
    p = kms_inv_find(inv, act_id);
    if (!p) {
        kms_product_t *ni;

        if (inv->n >= KMS_INV_MAX)
            return KMS_ETOOBIG;
        /* not realloc: the old array, keys and all, is wiped before it goes */
        ni = malloc((inv->n + 1) * sizeof *ni);
        if (!ni)
            return KMS_ENOMEM;
        if (inv->n) {
            memcpy(ni, inv->items, inv->n * sizeof *ni);
            explicit_bzero(inv->items, inv->n * sizeof *ni);
        }
        free(inv->items);
        inv->items = ni;
        if (!act_id && inv->n) {
            /* The default slot goes first. */
            memmove(&inv->items[1], &inv->items[0], inv->n * sizeof *ni);
            p = &inv->items[0];
        } else {
            p = &inv->items[inv->n];
        }
        inv->n++;
    }
    memset(p, 0, sizeof *p);
    p->is_default = act_id == NULL;
    if (act_id)
        p->act_id = *act_id;
    memcpy(p->key, norm, sizeof norm);
    p->family = family;
    for (size_t i = 0; i < n_kms_ids; i++)
        p->kms_ids[i] = kms_ids[i];
    p->n_kms_ids = n_kms_ids;
    p->enabled = 0;
    p->installed = now;
    return 0;
}

int kms_inv_uninstall(kms_inv_t *inv, const kms_guid_t *act_id)
{
    kms_product_t *p = kms_inv_find(inv, act_id);
    size_t i;

    if (!p)
        return KMS_ENOENT;
    i = (size_t)(p - inv->items);
    memmove(&inv->items[i], &inv->items[i + 1], (inv->n - i - 1) * sizeof *p);
    explicit_bzero(&inv->items[inv->n - 1], sizeof *p); /* the key that moved out */
    if (--inv->n == 0)
        kms_inv_clear(inv);
    return 0;
}

int kms_inv_enable(kms_inv_t *inv, const kms_guid_t *act_id)
{
    kms_product_t *p = kms_inv_find(inv, act_id);

    if (!p)
        return KMS_ENOENT;
    p->enabled = 1;
    return 0;
}

const kms_product_t *kms_inv_serving(const kms_inv_t *inv, const kms_guid_t *app_id,
                                     const kms_guid_t *kms_counted_id)
{
    for (size_t i = 0; i < inv->n; i++) {
        const kms_product_t *p = &inv->items[i];

        if (!p->enabled || !kms_guid_eq(app_id, kms_family_app_id(p->family)))
            continue;
        if (p->n_kms_ids == 0)
            return p;
        for (size_t k = 0; k < p->n_kms_ids; k++) {
            if (kms_guid_eq(&p->kms_ids[k], kms_counted_id))
                return p;
        }
    }
    return NULL;
}
