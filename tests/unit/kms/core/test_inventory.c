/* SPDX-License-Identifier: MIT */
/* Unit tests for kms/core/inventory: key format (N rule), partial key, ipk/upk/ato, serving rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "base/guid.h"
#include "kms/core/inventory.h"

/* Format-valid keys built for the tests (not real product keys). */
#define KEY_A "BCDFG-HJKMP-QRTVW-XY234-6789B"
#define KEY_N "BCDFG-HJKMP-QRTVW-XY234-6789N"
#define KEY_B "WXY23-46789-BCDFG-HJKMP-QRTVC"

static kms_guid_t guid(const char *s)
{
    kms_guid_t g;

    assert_int_equal(kms_guid_parse(s, &g), 0);
    return g;
}

static void key_format(void **state)
{
    char out[KMS_KEY_STRLEN], part[KMS_PARTIAL_STRLEN];

    assert_int_equal(kms_key_check(KEY_A, out), 0);
    assert_string_equal(out, KEY_A);
    assert_int_equal(kms_key_check("bcdfg-hjkmp-qrtvw-xy234-6789b", out), 0);
    assert_string_equal(out, KEY_A); /* stored upper-case */
    assert_int_equal(kms_key_check(KEY_N, out), 0);
    assert_int_equal(kms_key_check("NCDFG-HJKMP-QRTVW-XY234-6789B", out), 0);
    /* At most one N. */
    assert_int_equal(kms_key_check("NCDFG-HJKMP-QRTVW-XY234-6789N", out), KMS_EKEYFORMAT);
    assert_string_equal(out, "");
    /* Letters outside the alphabet: A E I L O S U Z 0 1 5. */
    const char *bad[] = {
        "ACDFG-HJKMP-QRTVW-XY234-6789B",
        "BCDFG-HJKMP-QRTVW-XY234-6789E",
        "BCDFG-HJKMP-QRTVW-XY234-6789I",
        "BCDFG-HJKMP-QRTVW-XY234-6789L",
        "BCDFG-HJKMP-QRTVW-XY234-6789O",
        "BCDFG-HJKMP-QRTVW-XY234-6789S",
        "BCDFG-HJKMP-QRTVW-XY234-6789U",
        "BCDFG-HJKMP-QRTVW-XY234-6789Z",
        "BCDFG-HJKMP-QRTVW-XY234-67890",
        "BCDFG-HJKMP-QRTVW-XY234-67891",
        "BCDFG-HJKMP-QRTVW-XY234-67895",
        "BCDFGHJKMPQRTVWXY2346789BCD",
        "BCDFG-HJKMP-QRTVW-XY234-6789",
        "BCDFG-HJKMP-QRTVW-XY234-6789BB",
        "BCDFG_HJKMP-QRTVW-XY234-6789B",
        "BCDFGH-JKMP-QRTVW-XY234-6789B",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (kms_key_check(bad[i], out) != KMS_EKEYFORMAT)
            fail_msg("accepted '%s'", bad[i]);
    }
    kms_key_partial(KEY_A, part);
    assert_string_equal(part, "6789B");
}

static void families(void **state)
{
    kms_family_t f;
    char g[KMS_GUID_STRLEN];

    assert_int_equal(kms_family_parse("office2010", &f), 0);
    assert_int_equal(f, KMS_FAMILY_OFFICE2010);
    assert_int_equal(kms_family_parse("word", &f), KMS_EINVAL);
    assert_string_equal(kms_guid_format(kms_family_app_id(KMS_FAMILY_WINDOWS), g),
                        "55c92734-d682-4d71-983e-d6ec3f16059f");
    assert_string_equal(kms_guid_format(kms_family_app_id(KMS_FAMILY_OFFICE2010), g),
                        "59a52881-a989-479d-af46-f275c6370663");
    assert_string_equal(kms_guid_format(kms_family_app_id(KMS_FAMILY_OFFICE), g),
                        "0ff1ce15-a989-479d-af46-f275c6370663");
    assert_string_equal(kms_family_name(KMS_FAMILY_OFFICE), "office");
}

static void install_enable_uninstall(void **state)
{
    kms_inv_t inv, cp;
    kms_guid_t act = guid("aaaaaaaa-1111-2222-3333-444444444444");
    kms_product_t *p;

    kms_inv_init(&inv);
    assert_int_equal(kms_inv_enable(&inv, NULL), KMS_ENOENT); /* ato without a key */
    assert_int_equal(kms_inv_install(&inv, "not-a-key", NULL, KMS_FAMILY_WINDOWS, NULL, 0, 1),
                     KMS_EKEYFORMAT);
    assert_int_equal(kms_inv_install(&inv, KEY_B, &act, KMS_FAMILY_OFFICE, NULL, 0, 5), 0);
    assert_int_equal(kms_inv_install(&inv, "bcdfg-hjkmp-qrtvw-xy234-6789b", NULL,
                                     KMS_FAMILY_WINDOWS, NULL, 0, 6),
                     0);
    assert_int_equal(inv.n, 2);
    assert_true(inv.items[0].is_default); /* the default slot first */
    p = kms_inv_find(&inv, NULL);
    assert_non_null(p);
    assert_string_equal(p->key, KEY_A);
    assert_int_equal(p->enabled, 0);
    assert_int_equal(p->installed, 6);
    assert_int_equal(kms_inv_enable(&inv, NULL), 0);
    assert_int_equal(kms_inv_find(&inv, NULL)->enabled, 1);
    /* ipk over an enabled slot replaces the key and disables it until ato. */
    assert_int_equal(kms_inv_install(&inv, KEY_N, NULL, KMS_FAMILY_WINDOWS, NULL, 0, 7), 0);
    assert_int_equal(inv.n, 2);
    p = kms_inv_find(&inv, NULL);
    assert_string_equal(p->key, KEY_N);
    assert_int_equal(p->enabled, 0);

    assert_int_equal(kms_inv_copy(&cp, &inv), 0);
    assert_int_equal(kms_inv_uninstall(&inv, &act), 0);
    assert_int_equal(kms_inv_uninstall(&inv, &act), KMS_ENOENT);
    assert_null(kms_inv_find(&inv, &act));
    assert_non_null(kms_inv_find(&cp, &act)); /* the copy is independent */
    assert_int_equal(kms_inv_uninstall(&inv, NULL), 0);
    assert_int_equal(inv.n, 0);
    kms_inv_clear(&inv);
    kms_inv_clear(&cp);
    kms_inv_clear(NULL);
}

static void serving_rule(void **state)
{
    kms_inv_t inv;
    kms_guid_t office_act = guid("bbbbbbbb-1111-2222-3333-444444444444");
    kms_guid_t counted_a = guid("cccccccc-0000-0000-0000-000000000001");
    kms_guid_t counted_b = guid("cccccccc-0000-0000-0000-000000000002");
    const kms_guid_t *win = kms_family_app_id(KMS_FAMILY_WINDOWS);
    const kms_guid_t *off = kms_family_app_id(KMS_FAMILY_OFFICE);
    const kms_guid_t *off10 = kms_family_app_id(KMS_FAMILY_OFFICE2010);

    kms_inv_init(&inv);
    assert_null(kms_inv_serving(&inv, win, &counted_a));
    assert_int_equal(kms_inv_install(&inv, KEY_A, NULL, KMS_FAMILY_WINDOWS, NULL, 0, 1), 0);
    /* Installed but not enabled: not served. */
    assert_null(kms_inv_serving(&inv, win, &counted_a));
    kms_inv_enable(&inv, NULL);
    /* Empty KMS ID list: any counted ID of the family. */
    assert_non_null(kms_inv_serving(&inv, win, &counted_a));
    assert_non_null(kms_inv_serving(&inv, win, &counted_b));
    assert_null(kms_inv_serving(&inv, off, &counted_a));

    /* An Office slot limited to one counted ID. */
    assert_int_equal(kms_inv_install(&inv, KEY_B, &office_act, KMS_FAMILY_OFFICE, &counted_a, 1, 1),
                     0);
    kms_inv_enable(&inv, &office_act);
    const kms_product_t *p = kms_inv_serving(&inv, off, &counted_a);

    assert_non_null(p);
    assert_true(kms_guid_eq(&p->act_id, &office_act));
    assert_null(kms_inv_serving(&inv, off, &counted_b));
    assert_null(kms_inv_serving(&inv, off10, &counted_a)); /* another application */
    kms_inv_clear(&inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_format),
        cmocka_unit_test(families),
        cmocka_unit_test(install_enable_uninstall),
        cmocka_unit_test(serving_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
