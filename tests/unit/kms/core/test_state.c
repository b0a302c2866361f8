/* SPDX-License-Identifier: MIT */
/* Unit tests for kms/core/state: round trips, atomic replace, corrupt files, mode 0600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "kms/core/state.h"

#define KEY_A "BCDFG-HJKMP-QRTVW-XY234-6789B"
#define KEY_B "WXY23-46789-BCDFG-HJKMP-QRTVN"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/kms_state_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static char *slurp(const char *name, size_t *len)
{
    char *path = kms_path_join(dir, name), *text = NULL;

    assert_int_equal(kms_file_read(path, 1 << 24, &text, len), 0);
    free(path);
    return text;
}

static void spit(const char *name, const char *text, size_t len)
{
    char *path = kms_path_join(dir, name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    free(path);
}

static void fill_inventory(kms_inv_t *inv)
{
    kms_guid_t act, ids[2];

    kms_inv_init(inv);
    kms_guid_parse("aaaaaaaa-1111-2222-3333-444444444444", &act);
    kms_guid_parse("cccccccc-0000-0000-0000-000000000001", &ids[0]);
    kms_guid_parse("cccccccc-0000-0000-0000-000000000002", &ids[1]);
    assert_int_equal(kms_inv_install(inv, KEY_A, NULL, KMS_FAMILY_WINDOWS, NULL, 0, 100), 0);
    assert_int_equal(kms_inv_enable(inv, NULL), 0);
    assert_int_equal(kms_inv_install(inv, KEY_B, &act, KMS_FAMILY_OFFICE, ids, 2, 200), 0);
}

static void inventory_round_trip_and_mode(void **state)
{
    kms_inv_t inv, back;
    char err[256];
    struct stat st;
    char *path = kms_path_join(dir, KMS_STATE_INVENTORY);

    fill_inventory(&inv);
    assert_int_equal(kms_state_save_inventory(dir, &inv, 1), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    kms_inv_init(&back);
    assert_int_equal(kms_state_load_inventory(dir, &back, err, sizeof err), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(memcmp(back.items, inv.items, 2 * sizeof *inv.items), 0);
    kms_inv_clear(&back);
    kms_inv_clear(&inv);
    free(path);
}

static void missing_files_are_empty_state(void **state)
{
    char empty[80], err[256];
    kms_inv_t inv;
    kms_ledger_t *l = kms_ledger_new();
    kms_overrides_t o;

    snprintf(empty, sizeof empty, "%s/none", dir);
    kms_inv_init(&inv);
    memset(&o, 0, sizeof o);
    assert_int_equal(kms_state_load_inventory(empty, &inv, err, sizeof err), 0);
    assert_int_equal(inv.n, 0);
    assert_int_equal(kms_state_load_ledger(empty, l, err, sizeof err), 0);
    assert_int_equal(kms_ledger_npools(l), 0);
    assert_int_equal(kms_state_load_settings(empty, &o, err, sizeof err), 0);
    assert_int_equal(o.set, 0);
    kms_ledger_free(l);
}

static void ledger_round_trip_keeps_order(void **state)
{
    kms_ledger_t *l = kms_ledger_new(), *back = kms_ledger_new();
    kms_wr_t a, b;
    char err[256];
    uint32_t n;

    for (unsigned i = 0; i < 60; i++) {
        kms_guid_t c, m;

        kms_guid_random(&c);
        c.b[0] = (uint8_t)(i % 3);
        memset(&c, (int)(i % 3), 16);
        kms_guid_random(&m);
        assert_int_equal(kms_ledger_record(l, &c, &m, i % 2 ? 25 : 5, 1000 + i, &n), 0);
    }
    assert_int_equal(kms_state_save_ledger(dir, l, 1), 0);
    assert_int_equal(kms_state_load_ledger(dir, back, err, sizeof err), 0);
    /* Saving what was loaded gives the same bytes: pools, capacities, entries, order. */
    kms_wr_init(&a);
    kms_wr_init(&b);
    assert_int_equal(kms_state_format_ledger(l, &a), 0);
    assert_int_equal(kms_state_format_ledger(back, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.buf, b.buf, a.len);
    assert_non_null(strstr((char *)a.buf, "pool 01010101-0101-0101-0101-010101010101 50\n"));
    kms_wr_free(&a);
    kms_wr_free(&b);
    kms_ledger_free(l);
    kms_ledger_free(back);
}

static void settings_round_trip(void **state)
{
    kms_overrides_t o, back;
    char err[256];

    memset(&o, 0, sizeof o);
    memset(&back, 0, sizeof back);
    o.set =
        KMS_OVR_PORT | KMS_OVR_ACT_INTERVAL | KMS_OVR_PUBLISH | KMS_OVR_DOMAINS | KMS_OVR_WEIGHT;
    o.port = 11688;
    o.activation_interval = 60;
    o.publish = 0;
    o.weight = 9;
    o.decommissioned = 1;
    assert_int_equal(pub_domains_parse("kms.test, corp.test 10 50", &o.domains, err, sizeof err),
                     0);
    assert_int_equal(kms_state_save_settings(dir, &o, 0), 0);
    assert_int_equal(kms_state_load_settings(dir, &back, err, sizeof err), 0);
    assert_int_equal(back.set, o.set);
    assert_int_equal(back.port, 11688);
    assert_int_equal(back.activation_interval, 60);
    assert_int_equal(back.publish, 0);
    assert_int_equal(back.weight, 9);
    assert_int_equal(back.decommissioned, 1);
    assert_int_equal(back.domains.n, 2);
    assert_string_equal(back.domains.v[1].name, "corp.test");
    assert_int_equal(back.domains.v[1].priority, 10);
    kms_overrides_free(&o);
    kms_overrides_free(&back);
}

/* A bad file: error names the file and line; the file is left untouched; a
 * save afterwards replaces it atomically (no temp left behind). */
static void expect_corrupt(const char *text, size_t len, const char *want_line,
                           const char *want_reason)
{
    kms_inv_t inv;
    char err[512], want[256], *after;
    size_t alen;

    spit(KMS_STATE_INVENTORY, text, len);
    kms_inv_init(&inv);
    assert_int_equal(kms_state_load_inventory(dir, &inv, err, sizeof err), KMS_ECORRUPT);
    snprintf(want, sizeof want, "%s/%s:%s: ", dir, KMS_STATE_INVENTORY, want_line);
    if (!strstr(err, want) || !strstr(err, want_reason))
        fail_msg("message '%s' lacks '%s' or '%s'", err, want, want_reason);
    assert_int_equal(inv.n, 0);
    after = slurp(KMS_STATE_INVENTORY, &alen);
    assert_int_equal(alen, len);
    assert_memory_equal(after, text, len);
    free(after);
}

static void corrupt_files(void **state)
{
    kms_inv_t inv;
    kms_wr_t w;
    char *good, *bad;
    size_t len;

    fill_inventory(&inv);
    kms_wr_init(&w);
    assert_int_equal(kms_state_format_inventory(&inv, &w), 0);
    kms_inv_clear(&inv);
    good = (char *)w.buf;
    len = w.len;
    bad = malloc(len + 64);

    /* Truncated: the end line is missing (cut after line 3). */
    char *third = strchr(strchr(strchr(good, '\n') + 1, '\n') + 1, '\n') + 1;
    expect_corrupt(good, (size_t)(third - good), "3", "truncated");
    /* Truncated in the middle of a line. */
    expect_corrupt(good, len - 5, "4", "truncated");
    /* One character edited: checksum mismatch, reported on the end line. */
    memcpy(bad, good, len);
    bad[strstr(good, "windows 1") - good + 8] = '0';
    expect_corrupt(bad, len, "4", "checksum mismatch");
    /* Wrong header / version. */
    expect_corrupt("kmsdns-ledger 1\nend crc32=00000000\n", 35, "1", "not a kmsdns inventory");
    expect_corrupt("kmsdns-inventory 7\nend crc32=00000000\n", 38, "1", "unsupported format");
    expect_corrupt("", 0, "1", "empty file");
    /* A bad record with a correct checksum: the record's line is named. */
    {
        const char *body = "kmsdns-inventory 1\n"
                           "product default windows 1 BCDFG-HJKMP-QRTVW-XY234-6789B 5 -\n"
                           "product default windows 2 BCDFG-HJKMP-QRTVW-XY234-6789B 5 -\n";
        char text[512];
        int n = snprintf(text, sizeof text, "%send crc32=%08x\n", body,
                         kms_crc32(0, body, strlen(body)));

        expect_corrupt(text, (size_t)n, "3", "product default listed twice");
        body = "kmsdns-inventory 1\n"
               "product default windows 1 BCDFG-HJKMP-QRTVW-XY234-6789E 5 -\n";
        n = snprintf(text, sizeof text, "%send crc32=%08x\n", body,
                     kms_crc32(0, body, strlen(body)));
        expect_corrupt(text, (size_t)n, "2", "malformed product key");
        body = "kmsdns-inventory 1\nwidget 1\n";
        n = snprintf(text, sizeof text, "%send crc32=%08x\n", body,
                     kms_crc32(0, body, strlen(body)));
        expect_corrupt(text, (size_t)n, "2", "unknown record");
    }
    /* After all that, a save replaces the bad file, leaving no temporary file behind. */
    fill_inventory(&inv);
    assert_int_equal(kms_state_save_inventory(dir, &inv, 1), 0);
    assert_int_equal(kms_state_save_inventory(dir, &inv, 0), 0);
    kms_inv_clear(&inv);
    {
        DIR *d = opendir(dir);
        struct dirent *e;

        assert_non_null(d);
        while ((e = readdir(d)) != NULL)
            assert_null(strstr(e->d_name, ".tmp"));
        closedir(d);
    }
    {
        char err[256];

        kms_inv_init(&inv);
        assert_int_equal(kms_state_load_inventory(dir, &inv, err, sizeof err), 0);
        assert_int_equal(inv.n, 2);
        kms_inv_clear(&inv);
    }
    free(bad);
    kms_wr_free(&w);
}

static void corrupt_ledger_and_settings(void **state)
{
    char err[512], text[512];
    kms_ledger_t *l = kms_ledger_new();
    kms_overrides_t o;
    const char *body;
    int n;

    memset(&o, 0, sizeof o);
    body = "kmsdns-ledger 1\n"
           "client 01010101-0101-0101-0101-010101010101 5\n";
    n = snprintf(text, sizeof text, "%send crc32=%08x\n", body, kms_crc32(0, body, strlen(body)));
    assert_int_equal(kms_state_parse_ledger(text, (size_t)n, "L", 0, l, err, sizeof err),
                     KMS_ECORRUPT);
    assert_string_equal(err, "L:2: client before any pool");
    body = "kmsdns-ledger 1\npool 01010101-0101-0101-0101-010101010101 101\n";
    n = snprintf(text, sizeof text, "%send crc32=%08x\n", body, kms_crc32(0, body, strlen(body)));
    assert_int_equal(kms_state_parse_ledger(text, (size_t)n, "L", 0, l, err, sizeof err),
                     KMS_ECORRUPT);
    assert_non_null(strstr(err, "L:2: bad capacity"));
    body = "kmsdns-settings 1\nport 0\n";
    n = snprintf(text, sizeof text, "%send crc32=%08x\n", body, kms_crc32(0, body, strlen(body)));
    assert_int_equal(kms_state_parse_settings(text, (size_t)n, "S", 0, &o, err, sizeof err),
                     KMS_ECORRUPT);
    assert_non_null(strstr(err, "S:2: bad port"));
    body = "kmsdns-settings 1\nport 1\nport 2\n";
    n = snprintf(text, sizeof text, "%send crc32=%08x\n", body, kms_crc32(0, body, strlen(body)));
    assert_int_equal(kms_state_parse_settings(text, (size_t)n, "S", 0, &o, err, sizeof err),
                     KMS_ECORRUPT);
    assert_string_equal(err, "S:3: port listed twice");
    /* KMS_STATE_NO_CRC skips only the checksum comparison. */
    n = snprintf(text, sizeof text, "kmsdns-settings 1\nsai 1\nend crc32=00000000\n");
    assert_int_equal(
        kms_state_parse_settings(text, (size_t)n, "S", KMS_STATE_NO_CRC, &o, err, sizeof err),
        KMS_ECORRUPT);
    assert_string_equal(err, "S:2: unknown setting 'sai'");
    kms_ledger_free(l);
}

/* What this host published and has not removed: kept across restarts so a
 * dropped domain or a changed target or port can be removed later. */
static void published_round_trip_and_rules(void **state)
{
    kms_published_t p = {NULL, 0}, back = {NULL, 0};
    char err[512], text[512];
    const char *body;
    int n;

    assert_int_equal(kms_published_add(&p, "KMS.test", "kms1.kms.test", 1688), 1);
    assert_int_equal(kms_published_add(&p, "kms.test.", "KMS1.kms.test.", 1688), 0); /* same */
    assert_int_equal(kms_published_add(&p, "kms.test", "kms1.kms.test", 17688), 1);
    assert_int_equal(kms_published_add(&p, "corp.test", "old.corp.test", 1688), 1);
    assert_int_equal(kms_published_add(&p, "a..b", "x.test", 1688), KMS_EINVAL);
    assert_int_equal(kms_published_add(&p, "a.test", "x.test", 0), KMS_EINVAL);
    assert_int_equal(kms_state_save_published(dir, &p, 0), 0);
    assert_int_equal(kms_state_load_published(dir, &back, err, sizeof err), 0);
    assert_int_equal(back.n, 3);
    assert_string_equal(back.recs[0].domain, "kms.test.");
    assert_string_equal(back.recs[0].target, "kms1.kms.test.");
    assert_int_equal(back.recs[1].port, 17688);
    assert_true(kms_published_find(&back, "corp.test", "OLD.corp.test.", 1688) == 2);
    assert_true(kms_published_find(&back, "corp.test", "old.corp.test", 1689) == -1);
    assert_int_equal(kms_published_del(&back, "kms.test", "kms1.kms.test", 1688), 1);
    assert_int_equal(kms_published_del(&back, "kms.test", "kms1.kms.test", 1688), 0);
    assert_int_equal(back.n, 2);
    assert_string_equal(back.recs[0].target, "kms1.kms.test.");
    assert_int_equal(back.recs[0].port, 17688);
    kms_published_free(&p);
    kms_published_free(&back);

    body =
        "kmsdns-published 1\nrecord kms.test. a.kms.test. 1688\nrecord kms.test a.kms.test 1688\n";
    n = snprintf(text, sizeof text, "%send crc32=%08x\n", body, kms_crc32(0, body, strlen(body)));
    assert_int_equal(kms_state_parse_published(text, (size_t)n, "P", 0, &p, err, sizeof err),
                     KMS_ECORRUPT);
    assert_string_equal(err, "P:3: record listed twice");
    body = "kmsdns-published 1\nrecord kms.test. a.kms.test.\n";
    n = snprintf(text, sizeof text, "%send crc32=%08x\n", body, kms_crc32(0, body, strlen(body)));
    assert_int_equal(kms_state_parse_published(text, (size_t)n, "P", 0, &p, err, sizeof err),
                     KMS_ECORRUPT);
    assert_string_equal(err, "P:2: record: expected 3 fields, found 2");
    assert_int_equal(p.n, 0);
}

static void crc32_reference(void **state)
{
    /* The standard check value of CRC-32/IEEE. */
    assert_int_equal(kms_crc32(0, "123456789", 9), 0xCBF43926u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32_reference),
        cmocka_unit_test(inventory_round_trip_and_mode),
        cmocka_unit_test(missing_files_are_empty_state),
        cmocka_unit_test(ledger_round_trip_keeps_order),
        cmocka_unit_test(settings_round_trip),
        cmocka_unit_test(corrupt_files),
        cmocka_unit_test(corrupt_ledger_and_settings),
        cmocka_unit_test(published_round_trip_and_rules),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
