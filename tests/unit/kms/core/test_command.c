/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for kms/core/command: the verb table (lookups, the usage
 * errors it writes, the DNS work it names), command results and their
 * rendering, which errors count as usage errors, a verb's state write
 * before its OK, and the documentation:
 * docs/control.md's verb table and kmsctl(1)'s VERBS section name exactly
 * the verbs of the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "kms/core/command.h"
#include "kms/core/host.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/kms_cmd_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static char *render(const kms_cmd_result_t *r)
{
    kms_wr_t w;
    size_t n;

    kms_wr_init(&w);
    assert_int_equal(kms_cmd_render(r, &w), 0);
    kms_wr_u8(&w, 0);
    return (char *)kms_wr_steal(&w, &n);
}

static void table(void **state)
{
    const kms_verb_t *v;
    size_t n;

    (void)state;
    v = kms_verbs(&n);
    assert_int_equal(n, 16);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(kms_verb_find(v[i].name), &v[i]);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(v[i].name, v[k].name);
        assert_non_null(v[i].run);
        assert_non_null(v[i].help);
        assert_non_null(v[i].usage);
    }
    assert_null(kms_verb_find("frobnicate"));
    assert_null(kms_verb_find(""));
    /* the DNS work kmsd does after each */
    assert_int_equal(kms_verb_find("sdns")->dns, KMS_VERB_DNS_PUBLISH);
    assert_int_equal(kms_verb_find("sdomains")->dns, KMS_VERB_DNS_PUBLISH);
    assert_int_equal(kms_verb_find("cdns")->dns, KMS_VERB_DNS_UNPUBLISH);
    assert_int_equal(kms_verb_find("decommission")->dns, KMS_VERB_DNS_UNPUBLISH);
    assert_int_equal(kms_verb_find("ipk")->dns, KMS_VERB_DNS_NONE);
    assert_true(kms_verb_find("status")->json && kms_verb_find("dli")->json);
    assert_false(kms_verb_find("sai")->json);
}

static void results_render_and_usage_errors(void **state)
{
    kms_settings_t base = {.port = 1688, .activation_interval = 120, .renewal_interval = 10080};
    pub_domain_list_t none = {0};
    kms_cmd_result_t r;
    kms_host_t *h;
    char err[256], *s;

    (void)state;
    kms_cmd_result_init(&r);
    kms_cmd_result_line(&r, "one %d", 1);
    kms_cmd_result_line(&r, "two");
    s = render(&r);
    assert_string_equal(s, "OK 2\none 1\ntwo\n");
    free(s);
    /* a failure drops the lines; lines after it are ignored */
    assert_int_equal(kms_cmd_result_fail(&r, KMS_EPUBLISH, "dns %s: %s", "kms.test", "no"),
                     KMS_EPUBLISH);
    kms_cmd_result_line(&r, "three");
    s = render(&r);
    assert_string_equal(s, "ERR KMS_EPUBLISH dns kms.test: no\n");
    free(s);
    kms_cmd_result_free(&r);

    /* every usage error is built from the table's usage */
    base.domains = &none;
    assert_int_equal(kms_host_open(dir, &base, &h, err, sizeof err), 0);
    kms_host_set_durable(h, 0);
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "sprt", &r), KMS_EINVAL);
    assert_string_equal(r.message, "usage: sprt PORT (1..65535)");
    assert_string_equal(r.verb->name, "sprt");
    kms_cmd_result_free(&r);
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "decommission now", &r), KMS_EINVAL);
    assert_string_equal(r.message, "usage: decommission");
    kms_cmd_result_free(&r);
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "frobnicate", &r), KMS_EINVAL);
    assert_null(r.verb);
    assert_non_null(strstr(r.message,
                           "(status, metrics, dli, ipk, upk, ato, sprt, sai, sri, sdns, "
                           "cdns, sprio, sweight, sdomains, decommission, recommission)"));
    kms_cmd_result_free(&r);
    kms_host_free(h);

    /* kmsctl's exit code classes */
    assert_true(kms_cmd_usage_error(KMS_EINVAL));
    assert_true(kms_cmd_usage_error(KMS_ERANGE));
    assert_true(kms_cmd_usage_error(KMS_EKEYFORMAT));
    assert_true(kms_cmd_usage_error(KMS_EMALFORMED));
    assert_false(kms_cmd_usage_error(KMS_ENOENT));
    assert_false(kms_cmd_usage_error(KMS_EPUBLISH));
    assert_int_equal(kms_err_from_name("KMS_EPUBLISH"), KMS_EPUBLISH);
    assert_int_equal(kms_err_from_name("KMS_NOPE"), 1);
}

/* ---- the documentation names the table's verbs ----------------------------------- */

static int docs_path(const char *name, char *out, size_t len)
{
    const char *src = getenv("KMSDNS_SRC");

    if (!src || !*src)
        return -1;
    snprintf(out, len, "%s/docs/%s", src, name);
    return 0;
}

/* Record @p word seen at @p where; complain about one the table lacks. */
static int seen_verb(const char *file, unsigned line, const char *word, int *seen)
{
    const kms_verb_t *v = kms_verb_find(word), *all;
    size_t n;

    all = kms_verbs(&n);
    if (!v) {
        print_error("%s:%u: '%s' is documented as a verb but is not in the table\n", file, line,
                    word);
        return 1;
    }
    seen[v - all]++;
    return 0;
}

static int missing_verbs(const char *file, const int *seen)
{
    const kms_verb_t *v;
    size_t n;
    int bad = 0;

    v = kms_verbs(&n);
    for (size_t i = 0; i < n; i++) {
        if (seen[i] != 1) {
            print_error("%s: verb '%s' documented %d times (once expected)\n", file, v[i].name,
                        seen[i]);
            bad++;
        }
    }
    return bad;
}

/* A state writer that keeps the last file of each kind, or fails. */
typedef struct {
    int fail; /* KMS_E* to return, 0: keep */
    char inventory[4096], settings[16384];
    int writes;
} store_t;

static int store_write(void *ud, const char *kind, const void *data, size_t len)
{
    store_t *st = ud;
    char *to = strcmp(kind, "inventory") == 0  ? st->inventory
               : strcmp(kind, "settings") == 0 ? st->settings
                                               : NULL;
    size_t cap = to == st->inventory ? sizeof st->inventory : sizeof st->settings;

    st->writes++;
    if (st->fail)
        return st->fail;
    assert_non_null(to);
    assert_true(len < cap);
    memcpy(to, data, len);
    to[len] = '\0';
    return 0;
}

/* A host on the test's empty directory whose state files go to @p st. */
static kms_host_t *memory_host(store_t *st)
{
    kms_settings_t base = {.port = 1688, .activation_interval = 120, .renewal_interval = 10080};
    pub_domain_list_t none = {0};
    kms_host_t *h;
    char err[256];

    base.domains = &none;
    assert_int_equal(kms_host_open(dir, &base, &h, err, sizeof err), 0);
    kms_host_set_state_writer(h, store_write, st);
    return h;
}

/* A verb answers OK only once its state file is written; when the write
 * fails it answers the error and nothing changes. */
static void verbs_write_state_before_ok(void **state)
{
    store_t st = {0};
    kms_cmd_result_t r;
    kms_host_t *h = memory_host(&st);
    char *s;

    (void)state;
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "ipk BCDFG-HJKMP-QRTVW-XY234-6789B", &r), 0);
    kms_cmd_result_free(&r);
    assert_int_equal(st.writes, 1);
    assert_non_null(
        strstr(st.inventory, "product default windows 0 BCDFG-HJKMP-QRTVW-XY234-6789B"));
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "sai 60", &r), 0);
    kms_cmd_result_free(&r);
    assert_non_null(strstr(st.settings, "activation_interval 60\n"));

    st.fail = KMS_EIO;
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "upk default", &r), KMS_EIO);
    s = render(&r);
    assert_non_null(strstr(s, "ERR KMS_EIO cannot write "));
    free(s);
    kms_cmd_result_free(&r);
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "sai 90", &r), KMS_EIO);
    kms_cmd_result_free(&r);
    /* neither took effect */
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "status", &r), 0);
    s = render(&r);
    assert_non_null(strstr(s, "partial_key=6789B"));
    assert_non_null(strstr(s, "activation_interval 60 "));
    free(s);
    kms_cmd_result_free(&r);
    assert_int_equal(st.writes, 4);
    kms_host_free(h);
}

/* sdomains takes the rest of the line as its one argument: more entries
 * than a line has tokens for other verbs (64), spaces kept as they are. */
static void sdomains_takes_the_rest_of_the_line(void **state)
{
    store_t st = {0};
    kms_cmd_result_t r;
    kms_wr_t line;
    kms_host_t *h = memory_host(&st);
    char *s;

    (void)state;
    kms_wr_init(&line);
    kms_wr_printf(&line, "sdomains   ");
    for (int i = 0; i < 200; i++)
        kms_wr_printf(&line, "%sd%d.test 1  2", i ? " ,  " : "", i);
    kms_wr_printf(&line, "   ");
    kms_wr_u8(&line, 0);
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, (char *)line.buf, &r), 0);
    s = render(&r);
    assert_non_null(strstr(s, "OK 1\ndomains d0.test 1 2, d1.test 1 2, "));
    assert_non_null(strstr(s, ", d199.test 1 2\n"));
    free(s);
    kms_cmd_result_free(&r);
    kms_wr_free(&line);
    /* no argument at all, or only spaces: the usage */
    kms_cmd_result_init(&r);
    assert_int_equal(kms_host_command(h, "sdomains    ", &r), KMS_EINVAL);
    assert_string_equal(r.message, "usage: sdomains DOMAIN [PRIORITY WEIGHT][, DOMAIN ...]");
    kms_cmd_result_free(&r);
    kms_host_free(h);
}

static void control_md_documents_every_verb(void **state)
{
    char path[512], line[4096], word[64];
    int seen[32] = {0}, in_table = 0, bad = 0;
    unsigned n = 0;
    FILE *f;

    (void)state;
    if (docs_path("control.md", path, sizeof path) < 0)
        skip();
    assert_non_null(f = fopen(path, "r"));
    while (fgets(line, sizeof line, f)) {
        n++;
        if (strncmp(line, "| verb |", 8) == 0) {
            in_table = 1;
            continue;
        }
        if (in_table && line[0] != '|')
            break; /* the end of the verb table */
        if (in_table && sscanf(line, "| `%63[a-z]` |", word) == 1)
            bad += seen_verb("docs/control.md", n, word, seen);
    }
    fclose(f);
    bad += missing_verbs("docs/control.md", seen);
    assert_int_equal(bad, 0);
}

static void kmsctl_1_documents_every_verb(void **state)
{
    char path[512], line[4096], word[64], prev[16] = "";
    int seen[32] = {0}, in_section = 0, bad = 0;
    unsigned n = 0;
    FILE *f;

    (void)state;
    if (docs_path("kmsctl.1", path, sizeof path) < 0)
        skip();
    assert_non_null(f = fopen(path, "r"));
    while (fgets(line, sizeof line, f)) {
        n++;
        if (strncmp(line, ".SH", 3) == 0) {
            in_section = strncmp(line, ".SH VERBS", 9) == 0;
            continue;
        }
        /* ".TP" then ".B verb", ".BR verb ...", ".BI verb ..." */
        if (in_section && strcmp(prev, ".TP") == 0 && sscanf(line, ".%*[BIR] %63[a-z]", word) == 1)
            bad += seen_verb("docs/kmsctl.1", n, word, seen);
        snprintf(prev, sizeof prev, "%.*s", (int)strcspn(line, "\n"), line);
    }
    fclose(f);
    bad += missing_verbs("docs/kmsctl.1", seen);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(results_render_and_usage_errors),
        cmocka_unit_test(verbs_write_state_before_ok),
        cmocka_unit_test(sdomains_takes_the_rest_of_the_line),
        cmocka_unit_test(control_md_documents_every_verb),
        cmocka_unit_test(kmsctl_1_documents_every_verb),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
