/* SPDX-License-Identifier: MIT */
/* Unit tests for dns/keyfile: BIND key files, algorithm mapping, base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "dns/keyfile.h"

#define SECRET "ID/W3Kv64MGI8b53FZE2qadfvTbAyDPi9ciBpEn6uqg="

static int parse(const char *text, const char *want, kms_tsig_key_t *k, char *err)
{
    return kms_keyfile_parse(text, strlen(text), want, k, err, 200);
}

static void tsig_keygen_output_parses(void **state)
{
    const char *text =
        "key \"kms-publisher.\" {\n\talgorithm hmac-sha256;\n\tsecret \"" SECRET "\";\n};\n";
    kms_tsig_key_t k;
    char err[200];
    assert_int_equal(parse(text, NULL, &k, err), 0);
    assert_string_equal(k.name, "kms-publisher.");
    assert_string_equal(k.algorithm, "hmac-sha256");
    assert_string_equal(k.sign_algorithm, "hmac-sha256");
    assert_string_equal(k.secret, SECRET);
    assert_int_equal(k.secret_len, 32);
    char disp[64];
    assert_string_equal(kms_tsig_key_display(&k, disp, sizeof disp), "kms-publisher");
}

static void several_keys_pick_by_name_with_comments(void **state)
{
    const char *text = "# generated\n"
                       "// two keys\n"
                       "key other { algorithm hmac-sha512; secret \"AAAA\"; };\n"
                       "/* a block\n comment */ options { directory \"/x\"; };\n"
                       "key \"KMS-Publisher\" { secret \"" SECRET "\"; algorithm HMAC-MD5; };\n";
    kms_tsig_key_t k;
    char err[200];
    assert_int_equal(parse(text, "kms-publisher.", &k, err), 0);
    assert_string_equal(k.name, "kms-publisher.");
    assert_string_equal(k.algorithm, "hmac-md5");
    assert_string_equal(k.sign_algorithm, "hmac-md5.sig-alg.reg.int");
    assert_int_equal(parse(text, "other", &k, err), 0);
    assert_string_equal(k.sign_algorithm, "hmac-sha512");
    assert_int_equal(k.secret_len, 3);
    /* no name and two keys: the user must choose */
    assert_int_equal(parse(text, NULL, &k, err), KMS_EKEYFILE);
    assert_non_null(strstr(err, "2 keys"));
    assert_int_equal(parse(text, "missing", &k, err), KMS_EKEYFILE);
    assert_non_null(strstr(err, "no key named \"missing.\""));
    assert_string_equal(k.name, ""); /* zeroed on failure */
    /* named.conf takes any printable key name in quotes; so do we */
    assert_int_equal(parse("key \"Kms+Pub/1\" { secret \"" SECRET "\"; };", NULL, &k, err), 0);
    assert_string_equal(k.name, "kms+pub/1.");
}

static void default_algorithm_is_sha256(void **state)
{
    kms_tsig_key_t k;
    char err[200];
    assert_int_equal(parse("key k { secret \"" SECRET "\"; };", NULL, &k, err), 0);
    assert_string_equal(k.sign_algorithm, "hmac-sha256");
}

static void unsupported_algorithms_fail_at_load(void **state)
{
    kms_tsig_key_t k;
    char err[200];
    const char *algs[] = {"hmac-sha256x", "rsa", "hmac-sha3-256"};
    for (size_t i = 0; i < 3; i++) {
        char text[300];
        snprintf(text, sizeof text, "key k {\n algorithm %s;\n secret \"%s\"; };", algs[i], SECRET);
        assert_int_equal(parse(text, NULL, &k, err), KMS_EALGORITHM);
        assert_non_null(strstr(err, "line 2"));
        assert_non_null(strstr(err, "is not supported (use hmac-sha256"));
    }
    /* a gss-tsig key is negotiated: said so */
    assert_int_equal(
        parse("key k {\n algorithm gss-tsig;\n secret \"" SECRET "\"; };", NULL, &k, err),
        KMS_EALGORITHM);
    assert_non_null(strstr(err, "negotiated, not read from a file"));
    /* every algorithm tsig-keygen offers */
    const char *ok[] = {"hmac-md5",    "hmac-sha1",   "hmac-sha224",
                        "hmac-sha256", "hmac-sha384", "hmac-sha512"};
    for (size_t i = 0; i < 6; i++) {
        char text[300];
        snprintf(text, sizeof text, "key k { algorithm %s; secret \"%s\"; };", ok[i], SECRET);
        assert_int_equal(parse(text, NULL, &k, err), 0);
    }
    const char *sign = NULL;
    assert_int_equal(kms_tsig_algorithm_map("hmac-sha1", &sign), 0);
    assert_string_equal(sign, "hmac-sha1");
    assert_int_equal(kms_tsig_algorithm_map("hmac-md5.sig-alg.reg.int.", &sign), 0);
    assert_string_equal(sign, "hmac-md5.sig-alg.reg.int");
    assert_int_equal(kms_tsig_algorithm_map("", &sign), KMS_EALGORITHM);
}

static void bad_files_name_the_line(void **state)
{
    kms_tsig_key_t k;
    char err[200];
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"key k { secret \"not base64!\"; };", "line 1: secret is not valid base64"},
        {"key k { secret \"AAA\"; };", "not valid base64"},  /* length not 4n */
        {"key k { secret \"AB==\"; };", "not valid base64"}, /* non-zero pad bits */
        {"key k { secret \"A=AA\"; };", "not valid base64"}, /* '=' in the middle */
        {"key k {\n algorithm hmac-sha256;\n};", "has no secret"},
        {"key k { secret \"" SECRET "\" };", "expected ';' after secret"},
        {"key k { secret \"" SECRET "\"; }", "expected ';' after the key's '}'"},
        {"key k { color blue; };", "line 1: unknown key option (a key holds 'algorithm' and "
                                   "'secret')"},
        {"key { secret \"" SECRET "\"; };", "'key' needs a valid name"},
        {"key k { secret \"abc\n\"; };", "unterminated string"},
        {"/* never closed", "unterminated comment"},
        {"", "no key statement found"},
        {"options { x; ", "not terminated"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i].text, NULL, &k, err);
        if (rc != KMS_EKEYFILE || !strstr(err, bad[i].why))
            fail_msg("case %zu: rc %d err '%s', want '%s'", i, rc, err, bad[i].why);
    }
}

static void load_reads_a_file(void **state)
{
    char path[] = "/tmp/test_keyfile.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "key \"kms-publisher.\" { algorithm hmac-sha512; secret \"" SECRET "\"; };";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    kms_tsig_key_t k;
    char err[300];
    assert_int_equal(kms_keyfile_load(path, NULL, &k, err, sizeof err), 0);
    assert_string_equal(k.sign_algorithm, "hmac-sha512");
    unlink(path);
    assert_int_equal(kms_keyfile_load(path, NULL, &k, err, sizeof err), KMS_ENOENT);
    assert_non_null(strstr(err, path));
}

/* A secret in the wrong place is never echoed in the error (the error goes
 * to logs and terminals); the line number says where to look. */
static void errors_do_not_echo_the_file(void **state)
{
    static const char *const bad[] = {
        "key k { " SECRET "; };",                            /* secret as an option name */
        "key k { algorithm " SECRET "; secret \"AAAA\"; };", /* as the algorithm */
        "key k { algorithm \"" SECRET "\"; };",
        "\"" SECRET "\";",                           /* as a statement */
        "key k { secret \"" SECRET "\"; }; " SECRET, /* a stray word after */
        "key k { secret " SECRET " };",
    };
    kms_tsig_key_t k;
    char err[200];

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(parse(bad[i], NULL, &k, err) < 0);
        if (strstr(err, "ID/W3Kv") || strstr(err, "id/w3kv"))
            fail_msg("case %zu echoes the secret: %s", i, err);
        assert_non_null(strstr(err, "line 1"));
    }
    /* an algorithm name is a name, and said */
    assert_int_equal(
        parse("key k { algorithm hmac-sha999; secret \"" SECRET "\"; };", NULL, &k, err),
        KMS_EALGORITHM);
    assert_non_null(strstr(err, "'hmac-sha999'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tsig_keygen_output_parses),
        cmocka_unit_test(several_keys_pick_by_name_with_comments),
        cmocka_unit_test(default_algorithm_is_sha256),
        cmocka_unit_test(unsupported_algorithms_fail_at_load),
        cmocka_unit_test(bad_files_name_the_line),
        cmocka_unit_test(load_reads_a_file),
        cmocka_unit_test(errors_do_not_echo_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
