/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dns/name: the two forms (canonical with the final dot,
 * display without), the two syntaxes (host names we publish, any name an
 * answer carries), equality, and the limits of RFC 1035 2.3.4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "dns/name.h"

static void forms(void **state)
{
    char out[KMS_DNS_NAMELEN];

    (void)state;
    assert_int_equal(kms_dname_canon("Kms.Test", KMS_DNAME_ANY, out, sizeof out), 0);
    assert_string_equal(out, "kms.test.");
    assert_int_equal(kms_dname_canon("kms.test.", KMS_DNAME_HOST, out, sizeof out), 0);
    assert_string_equal(out, "kms.test.");
    assert_int_equal(kms_dname_display("Kms.Test.", KMS_DNAME_HOST, out, sizeof out), 0);
    assert_string_equal(out, "kms.test");
    assert_int_equal(
        kms_dname_display("Kms.Test.", KMS_DNAME_ANY | KMS_DNAME_KEEPCASE, out, sizeof out), 0);
    assert_string_equal(out, "Kms.Test");
    /* the canonical form is always lower case */
    assert_int_equal(kms_dname_canon("Kms.Test", KMS_DNAME_KEEPCASE, out, sizeof out), 0);
    assert_string_equal(out, "kms.test.");
    /* the root: any name may be it, a host name may not */
    assert_int_equal(kms_dname_canon(".", KMS_DNAME_ANY, out, sizeof out), 0);
    assert_string_equal(out, ".");
    assert_int_equal(kms_dname_display(".", KMS_DNAME_ANY, out, sizeof out), 0);
    assert_string_equal(out, ".");
    assert_int_equal(kms_dname_display(".", KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    assert_string_equal(out, "");
    assert_string_equal(kms_dname_shown("kms.test.", out, sizeof out), "kms.test");
    assert_string_equal(kms_dname_shown(".", out, sizeof out), ".");
}

static void syntax(void **state)
{
    static const char *const host_ok[] = {"kms.test", "_vlmcs._tcp.kms.test", "a-b.c_d.test",
                                          "1.2.3.4", "x"};
    static const char *const any_only[] = {"*.kms.test", "-a.test", "a-.test"};
    static const char *const bad[] = {"",         "..",         ".kms",           "a..b",
                                      "a b.test", "a\tb",       "k\xc3\xa9.test", "a\\.b.test",
                                      "a/b",      "kms.test..", "a+b.test"};
    char out[KMS_DNS_NAMELEN];

    (void)state;
    for (size_t i = 0; i < sizeof host_ok / sizeof host_ok[0]; i++) {
        assert_int_equal(kms_dname_canon(host_ok[i], KMS_DNAME_HOST, out, sizeof out), 0);
        assert_int_equal(kms_dname_canon(host_ok[i], KMS_DNAME_ANY, out, sizeof out), 0);
    }
    for (size_t i = 0; i < sizeof any_only / sizeof any_only[0]; i++) {
        assert_int_equal(kms_dname_canon(any_only[i], KMS_DNAME_ANY, out, sizeof out), 0);
        assert_int_equal(kms_dname_canon(any_only[i], KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kms_dname_canon(bad[i], KMS_DNAME_ANY, out, sizeof out), KMS_EINVAL);
        assert_int_equal(kms_dname_display(bad[i], KMS_DNAME_ANY, out, sizeof out), KMS_EINVAL);
        assert_non_null(kms_dname_why(bad[i], KMS_DNAME_ANY)); /* and says why */
    }
    for (size_t i = 0; i < sizeof host_ok / sizeof host_ok[0]; i++)
        assert_null(kms_dname_why(host_ok[i], KMS_DNAME_HOST));
    /* the reason names what is wrong */
    assert_string_equal(kms_dname_why("k\xc3\xa9.test", KMS_DNAME_ANY),
                        "non-ASCII character (write an internationalized name in its xn-- form)");
    assert_string_equal(kms_dname_why("a..b", KMS_DNAME_ANY),
                        "empty label (two dots in a row, or a leading dot)");
    assert_string_equal(kms_dname_why("a\tb", KMS_DNAME_ANY), "control character");
    assert_string_equal(kms_dname_why("a b", KMS_DNAME_ANY), "space in a name");
    assert_string_equal(kms_dname_why("-a.test", KMS_DNAME_HOST), "a label starts with '-'");
    assert_string_equal(kms_dname_why("a-.test", KMS_DNAME_HOST), "a label ends with '-'");
    assert_string_equal(kms_dname_why(".", KMS_DNAME_HOST), "the root is not a domain to use here");
    assert_null(kms_dname_why(".", KMS_DNAME_ANY));
    assert_int_equal(kms_dname_canon(NULL, KMS_DNAME_ANY, out, sizeof out), KMS_EINVAL);
    /* key names: any printable character, still no escape, no empty label */
    assert_int_equal(kms_dname_canon("Kms+Pub/1.", KMS_DNAME_TEXT, out, sizeof out), 0);
    assert_string_equal(out, "kms+pub/1.");
    assert_int_equal(kms_dname_canon("a\\.b", KMS_DNAME_TEXT, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_canon("a b", KMS_DNAME_TEXT, out, sizeof out), KMS_EINVAL);
    assert_int_equal(kms_dname_canon("a..b", KMS_DNAME_TEXT, out, sizeof out), KMS_EINVAL);
}

static void limits(void **state)
{
    char name[300], out[KMS_DNS_NAMELEN];

    (void)state;
    /* a label of 63 is fine, 64 is not */
    memset(name, 'a', 63);
    strcpy(name + 63, ".test");
    assert_int_equal(kms_dname_canon(name, KMS_DNAME_HOST, out, sizeof out), 0);
    memset(name, 'a', 64);
    strcpy(name + 64, ".test");
    assert_int_equal(kms_dname_canon(name, KMS_DNAME_HOST, out, sizeof out), KMS_EINVAL);
    /* 253 characters (255 octets on the wire) is the longest name */
    for (int i = 0; i < 253; i++)
        name[i] = i % 2 ? '.' : 'a';
    name[253] = '\0';
    assert_int_equal(kms_dname_canon(name, KMS_DNAME_ANY, out, sizeof out), 0);
    assert_int_equal(strlen(out), 254);
    name[253] = 'a';
    name[254] = '\0';
    assert_int_equal(kms_dname_canon(name, KMS_DNAME_ANY, out, sizeof out), KMS_EINVAL);
    /* a buffer too small is an error, never a truncated name */
    assert_int_equal(kms_dname_canon("kms.test", KMS_DNAME_ANY, out, 9), KMS_EINVAL);
    assert_int_equal(kms_dname_canon("kms.test", KMS_DNAME_ANY, out, 10), 0);
    assert_int_equal(kms_dname_display("kms.test", KMS_DNAME_ANY, out, 9), 0);
}

static void equality(void **state)
{
    (void)state;
    assert_true(kms_dname_eq("KMS.test.", "kms.TEST"));
    assert_true(kms_dname_eq(".", "."));
    assert_false(kms_dname_eq("kms.test", "kms.tes"));
    assert_false(kms_dname_eq("kms.test.", "kms.test.."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forms),
        cmocka_unit_test(syntax),
        cmocka_unit_test(limits),
        cmocka_unit_test(equality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
