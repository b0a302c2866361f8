/* SPDX-License-Identifier: MIT */
/*
 * verbs_product.c - the product verbs: dli, ipk, upk, ato (command_int.h).
 */
#include "kms/core/command_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/guid.h"

static int parse_slot(kms_cmd_t *c, const char *s, kms_guid_t *g, int *is_default)
{
    *is_default = strcmp(s, "default") == 0;
    if (*is_default)
        return 0;
    if (kms_guid_parse(s, g) < 0)
        return cmd_fail(c, KMS_EINVAL, "'%.64s' is not an activation ID (GUID) or 'default'", s);
    return 0;
}

/* A slot as dli shows it: "default" or the activation ID normalized (lower
 * case, no braces), whatever form a command gave. */
static const char *slot_label(int is_def, const kms_guid_t *act, char *buf)
{
    return is_def ? "default" : kms_guid_format(act, buf);
}

static const char *slot_name(const kms_product_t *p, char *buf)
{
    return slot_label(p->is_default, &p->act_id, buf);
}

kms_json_t *cmd_product_json(const kms_product_t *p)
{
    kms_json_t *o = kms_json_object(), *ids = kms_json_array();
    char g[KMS_GUID_STRLEN], part[KMS_PARTIAL_STRLEN];

    if (!o || !ids)
        goto fail;
    kms_key_partial(p->key, part);
    for (size_t k = 0; k < p->n_kms_ids; k++) {
        if (kms_json_append_str(ids, kms_guid_format(&p->kms_ids[k], g)) < 0)
            goto fail;
    }
    if (kms_json_set_str(o, "activation_id", slot_name(p, g)) < 0 ||
        kms_json_set_str(o, "family", kms_family_name(p->family)) < 0 ||
        kms_json_set_str(o, "application_id", kms_guid_format(kms_family_app_id(p->family), g)) <
            0 ||
        kms_json_set_str(o, "partial_key", part) < 0 ||
        kms_json_set_bool(o, "enabled", p->enabled) < 0 || kms_json_set(o, "kms_ids", ids) < 0)
        goto fail;
    ids = NULL;
    if (kms_json_set_int(o, "installed", p->installed) < 0)
        goto fail;
    return o;

fail:
    kms_json_free(ids);
    kms_json_free(o);
    return NULL;
}

void cmd_product_line(kms_cmd_t *c, const kms_product_t *p)
{
    char g[KMS_GUID_STRLEN], a[KMS_GUID_STRLEN], part[KMS_PARTIAL_STRLEN];
    char ids[KMS_INV_MAX_KMSIDS * KMS_GUID_STRLEN + 4] = "any";
    size_t off = 0;

    kms_key_partial(p->key, part);
    for (size_t k = 0; k < p->n_kms_ids; k++)
        off += (size_t)sprintf(ids + off, "%s%s", k ? "," : "", kms_guid_format(&p->kms_ids[k], g));
    cmd_line(c,
             "product %s family=%s application_id=%s partial_key=%s enabled=%s kms_ids=%s "
             "installed=%lld",
             slot_name(p, g), kms_family_name(p->family),
             kms_guid_format(kms_family_app_id(p->family), a), part, p->enabled ? "yes" : "no", ids,
             (long long)p->installed);
}

int cmd_verb_dli(kms_cmd_t *c)
{
    kms_host_t *h = c->h;
    kms_guid_t g;
    int all = 0, is_def = 1, r;
    size_t from = 0, to = 0;

    if (c->ntok > 1)
        return cmd_usage(c);
    if (c->ntok == 1) {
        all = strcmp(c->tok[0], "all") == 0;
        if (!all && (r = parse_slot(c, c->tok[0], &g, &is_def)) < 0)
            return r;
    }
    if (all) {
        to = h->inv.n;
    } else {
        kms_product_t *p = kms_inv_find(&h->inv, is_def ? NULL : &g);

        if (!p)
            return cmd_fail(c, KMS_ENOENT, "no product key installed for %s",
                            c->ntok ? c->tok[0] : "default");
        from = (size_t)(p - h->inv.items);
        to = from + 1;
    }
    if (c->json) {
        kms_json_t *o = kms_json_object(), *arr = kms_json_array();

        if (!o || !arr || kms_json_set(o, "products", arr) < 0) {
            kms_json_free(arr);
            kms_json_free(o);
            return cmd_fail(c, KMS_ENOMEM, "out of memory");
        }
        for (size_t i = from; i < to; i++) {
            kms_json_t *p = cmd_product_json(&h->inv.items[i]);

            if (!p || kms_json_append(arr, p) < 0) {
                kms_json_free(p);
                kms_json_free(o);
                return cmd_fail(c, KMS_ENOMEM, "out of memory");
            }
        }
        return cmd_json(c, o);
    }
    for (size_t i = from; i < to; i++)
        cmd_product_line(c, &h->inv.items[i]);
    return 0;
}

static int save_inventory(kms_cmd_t *c, kms_inv_t *next)
{
    kms_wr_t w;
    int r;

    kms_wr_init(&w);
    r = host_save(c->h, KMS_STATE_INVENTORY, &w, kms_state_format_inventory(next, &w));
    if (r < 0) {
        kms_inv_clear(next);
        return cmd_fail(c, r, "cannot write %s/%s: %s", c->h->state_dir, KMS_STATE_INVENTORY,
                        kms_strerror(r));
    }
    kms_inv_clear(&c->h->inv);
    c->h->inv = *next;
    return 0;
}

static int install_key(kms_cmd_t *c, char norm[KMS_KEY_STRLEN])
{
    kms_guid_t act, ids[KMS_INV_MAX_KMSIDS];
    size_t nids = 0;
    const char *key = NULL, *slot = NULL;
    kms_family_t fam = KMS_FAMILY_WINDOWS;
    int have_fam = 0, is_def = 1, r;
    char part[KMS_PARTIAL_STRLEN], g[KMS_GUID_STRLEN];
    kms_inv_t next;

    for (int i = 0; i < c->ntok; i++) {
        const char *t = c->tok[i];

        if (strcmp(t, "--family") == 0 || strcmp(t, "--kms-id") == 0) {
            if (i + 1 == c->ntok)
                return cmd_fail(c, KMS_EINVAL, "%s needs a value; usage: ipk %s", t,
                                c->res->verb->usage);
            if (t[2] == 'f') {
                if (have_fam || kms_family_parse(c->tok[i + 1], &fam) < 0)
                    return cmd_fail(c, KMS_EINVAL,
                                    "bad --family '%.32s' (windows, office2010, "
                                    "office)",
                                    c->tok[i + 1]);
                have_fam = 1;
            } else {
                if (nids == KMS_INV_MAX_KMSIDS)
                    return cmd_fail(c, KMS_EINVAL, "at most %d --kms-id", KMS_INV_MAX_KMSIDS);
                if (kms_guid_parse(c->tok[i + 1], &ids[nids]) < 0)
                    return cmd_fail(c, KMS_EINVAL, "--kms-id '%.64s' is not a GUID", c->tok[i + 1]);
                nids++;
            }
            i++;
        } else if (t[0] == '-' && t[1] == '-') {
            return cmd_fail(c, KMS_EINVAL, "unknown option '%.32s'; usage: ipk %s", t,
                            c->res->verb->usage);
        } else if (!key) {
            key = t;
        } else if (!slot) {
            slot = t;
        } else {
            return cmd_usage(c);
        }
    }
    if (!key)
        return cmd_usage(c);
    if (kms_key_check(key, norm) < 0)
        return cmd_fail(c, KMS_EKEYFORMAT,
                        "not a product key: expected 5 groups of 5 characters from "
                        "BCDFGHJKMPQRTVWXY2346789 (at most one N) separated by '-'");
    if (slot && (r = parse_slot(c, slot, &act, &is_def)) < 0)
        return r;
    if (!have_fam)
        fam = is_def ? KMS_FAMILY_WINDOWS : KMS_FAMILY_OFFICE;
    if ((r = kms_inv_copy(&next, &c->h->inv)) < 0)
        return cmd_fail(c, r, "out of memory");
    r = kms_inv_install(&next, norm, is_def ? NULL : &act, fam, ids, nids, (int64_t)time(NULL));
    if (r < 0) {
        kms_inv_clear(&next);
        return cmd_fail(c, r, "cannot install the key: %s", kms_strerror(r));
    }
    if ((r = save_inventory(c, &next)) < 0)
        return r;
    kms_key_partial(norm, part);
    cmd_line(c, "installed %s family=%s partial_key=%s enabled=no (run ato to serve it)",
             slot_label(is_def, &act, g), kms_family_name(fam), part);
    return 0;
}

int cmd_verb_ipk(kms_cmd_t *c)
{
    char norm[KMS_KEY_STRLEN];
    int r = install_key(c, norm);

    explicit_bzero(norm, sizeof norm); /* the whole key */
    return r;
}

int cmd_verb_upk(kms_cmd_t *c)
{
    kms_guid_t act;
    int is_def, r;
    kms_inv_t next;
    char g[KMS_GUID_STRLEN];

    if (c->ntok != 1)
        return cmd_usage(c);
    if ((r = parse_slot(c, c->tok[0], &act, &is_def)) < 0)
        return r;
    if (!kms_inv_find(&c->h->inv, is_def ? NULL : &act))
        return cmd_fail(c, KMS_ENOENT, "no product key installed for %s", c->tok[0]);
    if ((r = kms_inv_copy(&next, &c->h->inv)) < 0)
        return cmd_fail(c, r, "out of memory");
    kms_inv_uninstall(&next, is_def ? NULL : &act);
    if ((r = save_inventory(c, &next)) < 0)
        return r;
    cmd_line(c, "uninstalled %s", slot_label(is_def, &act, g));
    return 0;
}

int cmd_verb_ato(kms_cmd_t *c)
{
    kms_host_t *h = c->h;
    kms_guid_t act;
    int is_def = 1, all = 0, r;
    kms_inv_t next;

    if (c->ntok > 1)
        return cmd_usage(c);
    if (c->ntok == 1) {
        all = strcmp(c->tok[0], "all") == 0;
        if (!all && (r = parse_slot(c, c->tok[0], &act, &is_def)) < 0)
            return r;
    }
    if (all ? h->inv.n == 0 : !kms_inv_find(&h->inv, is_def ? NULL : &act))
        return cmd_fail(c, KMS_ENOENT, "no product key installed for %s (run ipk first)",
                        all       ? "any product"
                        : c->ntok ? c->tok[0]
                                  : "default");
    if ((r = kms_inv_copy(&next, &h->inv)) < 0)
        return cmd_fail(c, r, "out of memory");
    for (size_t i = 0; i < next.n; i++) {
        if (all || &h->inv.items[i] == kms_inv_find(&h->inv, is_def ? NULL : &act))
            next.items[i].enabled = 1;
    }
    if ((r = save_inventory(c, &next)) < 0)
        return r;
    if (h->ovr.decommissioned) {
        kms_overrides_t o;

        if ((r = kms_overrides_copy(&o, &h->ovr)) < 0)
            return cmd_fail(c, r, "out of memory");
        o.decommissioned = 0;
        if ((r = cmd_save_overrides(c, &o)) < 0)
            return r;
        cmd_line(c, "decommissioned no");
    }
    for (size_t i = 0; i < h->inv.n; i++) {
        if (all || &h->inv.items[i] == kms_inv_find(&h->inv, is_def ? NULL : &act))
            cmd_product_line(c, &h->inv.items[i]);
    }
    return 0;
}
