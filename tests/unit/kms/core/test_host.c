/* SPDX-License-Identifier: MIT */
/* Unit tests for kms/core/host: control verbs, --json, persistence, precedence, decommission,
 * and activation through kms_host_rpc_handler with stubs from kms_act_encode_request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/json.h"
#include "base/log.h"
#include "rpc/activation.h"
#include "kms/core/command.h"
#include "kms/core/host.h"
#include "kms/core/inventory.h"

#define KEY_A     "BCDFG-HJKMP-QRTVW-XY234-6789B"
#define KEY_B     "WXY23-46789-BCDFG-HJKMP-QRTVN"
#define OFFICE_ID "aaaaaaaa-1111-2222-3333-444444444444"
#define COUNTED_W "cccccccc-0000-0000-0000-000000000001"
#define COUNTED_O "cccccccc-0000-0000-0000-000000000002"

static char dir[64];

static int setup(void **state)
{
    strcpy(dir, "/tmp/kms_host_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

/* The base settings a daemon would give (kms/core/host.h), the defaults of
 * kmsd.conf with listen = 127.0.0.1:11688, changed by @p extra: "act=60
 * ren=1000 prio=3 domains=a.test" (any of them, space separated; the
 * domain list last).  @p d holds the domain list (free it after). */
static void make_base(kms_settings_t *b, pub_domain_list_t *d, const char *extra)
{
    const char *p;

    memset(b, 0, sizeof *b);
    memset(d, 0, sizeof *d);
    b->port = 11688;
    b->activation_interval = 120;
    b->renewal_interval = 10080;
    b->publish = 1;
    if (extra && (p = strstr(extra, "act=")))
        b->activation_interval = (uint32_t)atoi(p + 4);
    if (extra && (p = strstr(extra, "ren=")))
        b->renewal_interval = (uint32_t)atoi(p + 4);
    if (extra && (p = strstr(extra, "prio=")))
        b->priority = (uint16_t)atoi(p + 5);
    if (extra && (p = strstr(extra, "domains=")))
        assert_int_equal(pub_domains_parse(p + 8, d, NULL, 0), 0);
    b->domains = d;
}

static kms_host_t *open_host(const char *extra)
{
    kms_settings_t base;
    pub_domain_list_t doms;
    kms_host_t *h;
    char err[512], sd[128];

    snprintf(sd, sizeof sd, "%s/state", dir);
    make_base(&base, &doms, extra);
    if (kms_host_open(sd, &base, &h, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    pub_domain_list_free(&doms);
    kms_host_set_durable(h, 0);
    return h;
}

/* Run one line; returns the reply (malloc'd, NUL-terminated), *rc the result. */
static char *run(kms_host_t *h, const char *line, int *rc)
{
    kms_cmd_result_t res;
    kms_wr_t w;
    size_t len;
    char *s;
    int r;

    kms_cmd_result_init(&res);
    r = kms_host_command(h, line, &res);
    assert_int_equal(r, res.status);
    if (r == 0)
        assert_non_null(res.verb);
    kms_wr_init(&w);
    assert_int_equal(kms_cmd_render(&res, &w), 0);
    kms_cmd_result_free(&res);
    kms_wr_u8(&w, 0);
    s = (char *)kms_wr_steal(&w, &len);
    assert_non_null(s);
    if (rc)
        *rc = r;
    return s;
}

static void expect_ok(kms_host_t *h, const char *line, const char *want)
{
    int rc;
    char *s = run(h, line, &rc);

    if (rc != 0 || strncmp(s, "OK ", 3) != 0 || (want && !strstr(s, want)))
        fail_msg("'%s' -> '%s' (wanted OK with '%s')", line, s, want ? want : "");
    free(s);
}

static void expect_err(kms_host_t *h, const char *line, const char *name)
{
    int rc;
    char *s = run(h, line, &rc);
    char want[64];

    snprintf(want, sizeof want, "ERR %s ", name);
    if (rc >= 0 || strncmp(s, want, strlen(want)) != 0 || !strchr(s, '\n') ||
        strchr(s, '\n')[1] != 0)
        fail_msg("'%s' -> '%s' (wanted '%s...')", line, s, want);
    free(s);
}

static void reply_framing_and_line_errors(void **state)
{
    kms_host_t *h = open_host(NULL);
    char *s, *big;
    unsigned n;
    int rc;

    s = run(h, "status\n", &rc);
    assert_int_equal(rc, 0);
    /* "OK n" then exactly n lines. */
    assert_int_equal(sscanf(s, "OK %u\n", &n), 1);
    unsigned lines = 0;
    for (char *p = s; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, n + 1);
    assert_non_null(strstr(s, "\nport 11688 source=config\n"));
    assert_non_null(strstr(s, "\nactivation_interval 120 source=config\n"));
    free(s);

    expect_err(h, "", "KMS_EINVAL");
    expect_err(h, "frobnicate", "KMS_EINVAL");
    expect_err(h, "status\tnow", "KMS_EMALFORMED");
    expect_err(h, "status\x7f", "KMS_EMALFORMED");
    big = malloc(KMS_CMD_MAX_LINE + 2);
    assert_non_null(big);
    memset(big, 'a', KMS_CMD_MAX_LINE + 1);
    big[KMS_CMD_MAX_LINE + 1] = 0;
    expect_err(h, big, "KMS_ETOOBIG");
    memcpy(big, "status", 6);
    memset(big + 6, ' ', KMS_CMD_MAX_LINE - 6);
    big[KMS_CMD_MAX_LINE] = 0; /* exactly KMS_CMD_MAX_LINE bytes: accepted */
    expect_ok(h, big, "version ");
    free(big);
    expect_err(h, "sprt 1688 --json", "KMS_EINVAL");
    expect_err(h, "status extra", "KMS_EINVAL");
    kms_host_free(h);
}

static void inventory_verbs(void **state)
{
    kms_host_t *h = open_host(NULL);
    char *s;
    int rc;

    expect_err(h, "dli", "KMS_ENOENT");
    expect_err(h, "ato", "KMS_ENOENT");
    expect_err(h, "ipk", "KMS_EINVAL");
    expect_err(h, "ipk BCDFG-HJKMP-QRTVW-XY234-6789A", "KMS_EKEYFORMAT");
    expect_err(h, "ipk " KEY_A " not-a-guid", "KMS_EINVAL");
    expect_err(h, "ipk " KEY_A " --family word", "KMS_EINVAL");
    expect_err(h, "ipk " KEY_A " --kms-id", "KMS_EINVAL");
    expect_err(h, "ipk " KEY_A " --colour blue", "KMS_EINVAL");
    expect_ok(h, "ipk bcdfg-hjkmp-qrtvw-xy234-6789b",
              "installed default family=windows "
              "partial_key=6789B enabled=no");
    /* The slot is echoed normalized, as dli shows it: no braces, lower case. */
    expect_ok(h, "ipk " KEY_B " {AAAAAAAA-1111-2222-3333-444444444444} --kms-id " COUNTED_O,
              "installed " OFFICE_ID " family=office partial_key=QRTVN");
    s = run(h, "dli all", &rc);
    assert_int_equal(rc, 0);
    assert_true(strncmp(s, "OK 2\n", 5) == 0);
    assert_non_null(strstr(s, "product default family=windows "
                              "application_id=55c92734-d682-4d71-983e-d6ec3f16059f "
                              "partial_key=6789B enabled=no kms_ids=any"));
    assert_non_null(strstr(s, "product " OFFICE_ID " family=office"));
    assert_non_null(strstr(s, "kms_ids=" COUNTED_O));
    /* Never the whole key. */
    assert_null(strstr(s, "HJKMP"));
    assert_null(strstr(s, "BCDFG"));
    free(s);

    /* dli --json: one line, parseable. */
    s = run(h, "dli " OFFICE_ID " --json", &rc);
    assert_int_equal(rc, 0);
    assert_true(strncmp(s, "OK 1\n", 5) == 0);
    {
        char jerr[128];
        kms_json_t *j = kms_json_parse(s + 5, jerr, sizeof jerr);
        kms_json_t *p;
        int64_t v;

        assert_non_null(j);
        assert_int_equal(kms_json_len(kms_json_get(j, "products")), 1);
        p = kms_json_at(kms_json_get(j, "products"), 0);
        assert_string_equal(kms_json_str(kms_json_get(p, "activation_id")), OFFICE_ID);
        assert_string_equal(kms_json_str(kms_json_get(p, "partial_key")), "QRTVN");
        assert_string_equal(kms_json_str(kms_json_get(p, "application_id")),
                            "0ff1ce15-a989-479d-af46-f275c6370663");
        assert_int_equal(kms_json_len(kms_json_get(p, "kms_ids")), 1);
        assert_int_equal(kms_json_int(kms_json_get(p, "installed"), &v), 0);
        assert_true(v > 0);
        kms_json_free(j);
    }
    free(s);

    expect_ok(h, "ato", "product default family=windows");
    expect_ok(h, "dli", "enabled=yes");
    expect_ok(h, "ato " OFFICE_ID, "enabled=yes");
    /* ipk over an enabled slot disables it again. */
    expect_ok(h, "ipk " KEY_A " " OFFICE_ID " --family office2010", "enabled=no");
    expect_ok(h, "dli " OFFICE_ID, "family=office2010");
    expect_ok(h, "dli " OFFICE_ID, "enabled=no");
    expect_ok(h, "ato all", NULL);
    expect_ok(h, "dli " OFFICE_ID, "enabled=yes");
    expect_err(h, "upk", "KMS_EINVAL");
    expect_err(h, "upk bbbbbbbb-1111-2222-3333-444444444444", "KMS_ENOENT");
    expect_ok(h, "upk {" OFFICE_ID "}", "uninstalled " OFFICE_ID);
    expect_err(h, "dli " OFFICE_ID, "KMS_ENOENT");
    expect_ok(h, "upk default", NULL);
    expect_err(h, "dli", "KMS_ENOENT");
    s = run(h, "dli all", &rc);
    assert_string_equal(s, "OK 0\n");
    free(s);
    kms_host_free(h);
}

static void setting_verbs(void **state)
{
    kms_host_t *h = open_host(NULL);
    kms_settings_t st;

    expect_err(h, "sprt", "KMS_EINVAL");
    expect_err(h, "sprt 0", "KMS_ERANGE");
    expect_err(h, "sprt 65536", "KMS_ERANGE");
    expect_ok(h, "sprt 65535", "port 65535");
    expect_err(h, "sai 14", "KMS_ERANGE");
    expect_err(h, "sai 43201", "KMS_ERANGE");
    expect_err(h, "sai 90s", "KMS_ERANGE");
    expect_err(h, "sai soon", "KMS_EINVAL");
    expect_ok(h, "sai 15", "activation_interval 15");
    expect_ok(h, "sai 2h", "activation_interval 120");
    expect_ok(h, "sri 43200", "renewal_interval 43200");
    expect_ok(h, "sri 1d", "renewal_interval 1440");
    expect_err(h, "sprio -1", "KMS_ERANGE");
    expect_err(h, "sprio 65536", "KMS_ERANGE");
    expect_ok(h, "sprio 10", "priority 10");
    expect_ok(h, "sweight 65535", "weight 65535");
    expect_err(h, "sdomains", "KMS_EINVAL");
    expect_err(h, "sdomains bad..name", "KMS_EINVAL");
    expect_ok(h, "sdomains Kms.Test., corp.test 10 50", "domains kms.test, corp.test 10 50");
    expect_ok(h, "cdns", "publish no");
    kms_host_settings(h, &st);
    assert_int_equal(st.publish, 0);
    expect_ok(h, "sdns", "publish yes");
    expect_err(h, "sdns now", "KMS_EINVAL");
    kms_host_settings(h, &st);
    assert_int_equal(st.port, 65535);
    assert_int_equal(st.activation_interval, 120);
    assert_int_equal(st.renewal_interval, 1440);
    assert_int_equal(st.priority, 10);
    assert_int_equal(st.weight, 65535);
    assert_int_equal(st.publish, 1);
    assert_int_equal(st.domains->n, 2);
    assert_string_equal(st.domains->v[1].name, "corp.test");
    expect_ok(h, "status", "\nport 65535 source=control\n");

    /* Many domains (a status line longer than any fixed buffer). */
    char line[4096] = "sdomains ";

    for (int i = 0; i < 300; i++)
        sprintf(line + strlen(line), "%sd%03d.test", i ? "," : "", i);
    assert_true(strlen(line) < 4096);
    expect_ok(h, line, "d299.test\n");
    expect_ok(h, "status", "d000.test, d001.test");
    expect_ok(h, "status", ", d299.test source=control\n");
    kms_host_settings(h, &st);
    assert_int_equal(st.domains->n, 300);
    kms_host_free(h);
}

static void persistence_and_precedence(void **state)
{
    kms_host_t *h = open_host("act=60 ren=1000 prio=3 domains=a.test");
    kms_settings_t st;
    struct stat sb;
    char path[128];

    kms_host_settings(h, &st);
    assert_int_equal(st.activation_interval, 60); /* from the config file */
    assert_int_equal(st.port, 11688);             /* from listen */
    expect_ok(h, "sai 30", NULL);
    expect_ok(h, "ipk " KEY_A, NULL);
    expect_ok(h, "ato", NULL);
    expect_ok(h, "sdomains b.test", NULL);
    kms_host_free(h);

    snprintf(path, sizeof path, "%s/state", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    snprintf(path, sizeof path, "%s/state/inventory", dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* Reopen with a changed config: verb-set values win, the others follow the file. */
    h = open_host("act=90 ren=2000 prio=4 domains=c.test");
    kms_host_settings(h, &st);
    assert_int_equal(st.activation_interval, 30);
    assert_int_equal(st.renewal_interval, 2000);
    assert_int_equal(st.priority, 4);
    assert_string_equal(st.domains->v[0].name, "b.test");
    expect_ok(h, "dli", "partial_key=6789B enabled=yes");
    expect_ok(h, "status", "activation_interval 30 source=control");
    expect_ok(h, "status", "renewal_interval 2000 source=config");

    /* Reconfigure (SIGHUP) keeps the overrides too. */
    kms_settings_t base;
    pub_domain_list_t doms;

    make_base(&base, &doms, "ren=3000");
    assert_int_equal(kms_host_reconfigure(h, &base), 0);
    pub_domain_list_free(&doms);
    kms_host_settings(h, &st);
    assert_int_equal(st.renewal_interval, 3000);
    assert_int_equal(st.activation_interval, 30);
    kms_host_free(h);
}

static void corrupt_state_refuses_open(void **state)
{
    kms_settings_t base;
    pub_domain_list_t doms;
    kms_host_t *h;
    char err[512], path[128], sd[128];
    FILE *f;

    h = open_host(NULL);
    expect_ok(h, "sprt 2000", NULL);
    kms_host_free(h);
    snprintf(path, sizeof path, "%s/state/settings", dir);
    f = fopen(path, "a");
    fputs("port 3000\n", f); /* after the end line */
    fclose(f);
    make_base(&base, &doms, NULL);
    snprintf(sd, sizeof sd, "%s/state", dir);
    assert_int_equal(kms_host_open(sd, &base, &h, err, sizeof err), KMS_ECORRUPT);
    assert_null(h);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, ":4: "));
}

/* ---- activation -------------------------------------------------------------------------- */

static void make_request(kms_act_request_t *rq, const char *app, const char *counted,
                         unsigned client, uint32_t required)
{
    memset(rq, 0, sizeof *rq);
    rq->version_major = KMS_ACT_PLAIN_MAJOR;
    rq->version_minor = KMS_ACT_PLAIN_MINOR;
    assert_int_equal(kms_guid_parse(app, &rq->app_id), 0);
    assert_int_equal(kms_guid_parse(counted, &rq->kms_counted_id), 0);
    rq->client_machine_id.b[0] = (uint8_t)client;
    rq->client_machine_id.b[15] = 0x77;
    rq->required_client_count = required;
    rq->request_time = kms_filetime_from_unix(time(NULL));
    strcpy(rq->workstation, "ws1.kms.test");
}

static int activate(kms_host_t *h, const kms_act_request_t *rq, kms_act_response_t *rs)
{
    kms_wr_t in, out;
    int r;

    kms_wr_init(&in);
    kms_wr_init(&out);
    assert_int_equal(kms_act_encode_request(rq, &in), 0);
    r = kms_host_rpc_handler(h, 0, in.buf, in.len, &out);
    if (r == 0)
        assert_int_equal(kms_act_decode_response(out.buf, out.len, rs), 0);
    kms_wr_free(&in);
    kms_wr_free(&out);
    return r;
}

#define WINDOWS_APP "55c92734-d682-4d71-983e-d6ec3f16059f"
#define OFFICE_APP  "0ff1ce15-a989-479d-af46-f275c6370663"

static void activation(void **state)
{
    kms_host_t *h = open_host("act=60");
    kms_act_request_t rq;
    kms_act_response_t rs;
    kms_wr_t out;
    char *s;
    int rc;

    /* Nothing installed: 0xC004F042. */
    make_request(&rq, WINDOWS_APP, COUNTED_W, 1, 25);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_NOT_SERVED);
    /* Installed but not enabled: still not served. */
    expect_ok(h, "ipk " KEY_A, NULL);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_NOT_SERVED);
    expect_ok(h, "ato", NULL);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_OK);
    assert_int_equal(rs.current_count, 1);
    assert_int_equal(rs.activation_interval, 60);
    assert_int_equal(rs.renewal_interval, 10080);
    assert_true(kms_guid_eq(&rs.client_machine_id, &rq.client_machine_id));
    assert_true(strncmp(rs.host_epid, "KMSDNS-55c92734-", 16) == 0);
    assert_true(rs.response_time >= rq.request_time - 10000000ull * 5);
    /* A second client counts; the first renewing does not. */
    make_request(&rq, WINDOWS_APP, COUNTED_W, 2, 25);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.current_count, 2);
    make_request(&rq, WINDOWS_APP, COUNTED_W, 1, 25);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.current_count, 2);
    /* Office not installed: not served; then installed for one counted ID. */
    make_request(&rq, OFFICE_APP, COUNTED_O, 9, 5);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_NOT_SERVED);
    expect_ok(h, "ipk " KEY_B " " OFFICE_ID " --kms-id " COUNTED_O, NULL);
    expect_ok(h, "ato " OFFICE_ID, NULL);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_OK);
    assert_int_equal(rs.current_count, 1);
    assert_true(strncmp(rs.host_epid, "KMSDNS-aaaaaaaa-", 16) == 0);
    make_request(&rq, OFFICE_APP, COUNTED_W, 9, 5);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_NOT_SERVED);

    /* Faults: another opnum, malformed stub. */
    kms_wr_init(&out);
    assert_true(kms_host_rpc_handler(h, 1, (const uint8_t *)"", 0, &out) < 0);
    assert_true(kms_host_rpc_handler(h, 0, (const uint8_t *)"\1\2\3", 3, &out) < 0);
    /* A protected (v6) message: a well-formed failure answer, counted. */
    const uint8_t v6[] = {8, 0, 0, 0, 8, 0, 0, 0, 0, 0, 6, 0, 1, 2, 3, 4};

    assert_int_equal(kms_host_rpc_handler(h, 0, v6, sizeof v6, &out), 0);
    assert_int_equal(kms_act_decode_response(out.buf, out.len, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_INVALID_DATA);
    assert_int_equal(kms_host_rpc_handler(h, 0, v6, sizeof v6, &out), 0);
    kms_wr_free(&out);
    assert_int_equal(kms_host_stats(h)->other_encodings, 2);
    assert_int_equal(kms_host_stats(h)->activations_ok, 4);
    {
        /* Well-formed NDR around a bad message (plain major with minor 0, an
         * unknown major, a truncated plain message): 0x8007000D, not a fault. */
        const uint8_t minor0[] = {4, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x50, 0x4b};
        const uint8_t major9[] = {4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 9, 0};
        const uint8_t short1[] = {8, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0x50, 0x4b, 0, 0, 0, 0};
        const struct {
            const uint8_t *p;
            size_t n;
        } bad[] = {{minor0, sizeof minor0}, {major9, sizeof major9}, {short1, sizeof short1}};
        uint64_t failed = kms_host_stats(h)->activations_failed;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            kms_wr_init(&out);
            assert_int_equal(kms_host_rpc_handler(h, 0, bad[i].p, bad[i].n, &out), 0);
            assert_int_equal(kms_act_decode_response(out.buf, out.len, &rs), 0);
            assert_int_equal(rs.status, KMS_HR_INVALID_DATA);
            kms_wr_free(&out);
        }
        assert_int_equal(kms_host_stats(h)->malformed, 3);
        assert_int_equal(kms_host_stats(h)->activations_failed, failed + 3);
        assert_int_equal(kms_host_stats(h)->other_encodings, 2);
    }

    s = run(h, "status --json", &rc);
    assert_int_equal(rc, 0);
    {
        kms_json_t *j = kms_json_parse(s + 5, NULL, 0), *counts, *stats;
        int64_t v;

        assert_non_null(j);
        assert_string_equal(kms_json_str(kms_json_get(j, "version")), KMSDNS_VERSION);
        counts = kms_json_get(j, "counts");
        assert_int_equal(kms_json_len(counts), 2);
        assert_string_equal(kms_json_str(kms_json_get(kms_json_at(counts, 0), "kms_counted_id")),
                            COUNTED_W);
        assert_int_equal(kms_json_int(kms_json_get(kms_json_at(counts, 0), "count"), &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(kms_json_int(kms_json_get(kms_json_at(counts, 0), "capacity"), &v), 0);
        assert_int_equal(v, 50);
        stats = kms_json_get(j, "stats");
        assert_int_equal(kms_json_int(kms_json_get(stats, "other_encodings"), &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(kms_json_len(kms_json_get(j, "products")), 2);
        assert_non_null(kms_json_get(kms_json_get(j, "settings"), "set_by_control"));
        kms_json_free(j);
    }
    free(s);

    /* The ledger survives a restart (written by flush / free). */
    assert_int_equal(kms_host_flush(h), 0);
    kms_host_free(h);
    h = open_host(NULL);
    expect_ok(h, "status", "count " COUNTED_W " current=2 capacity=50");
    make_request(&rq, WINDOWS_APP, COUNTED_W, 3, 25);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.current_count, 3);
    kms_host_free(h);
}

static void decommission(void **state)
{
    kms_host_t *h = open_host(NULL);
    kms_act_request_t rq;
    kms_act_response_t rs;
    kms_settings_t st;

    expect_ok(h, "ipk " KEY_A, NULL);
    expect_ok(h, "ato", NULL);
    expect_err(h, "decommission now", "KMS_EINVAL");
    expect_ok(h, "decommission", "decommissioned yes");
    kms_host_settings(h, &st);
    assert_int_equal(st.decommissioned, 1);
    assert_int_equal(st.publish, 0);
    make_request(&rq, WINDOWS_APP, COUNTED_W, 1, 25);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_NOT_SERVED);
    expect_err(h, "sdns", "KMS_EPERM");
    kms_host_free(h);

    /* Persisted. */
    h = open_host(NULL);
    kms_host_settings(h, &st);
    assert_int_equal(st.decommissioned, 1);
    expect_ok(h, "status", "decommissioned yes");
    /* ato clears it; publishing stays off until sdns. */
    expect_ok(h, "ato", "decommissioned no");
    kms_host_settings(h, &st);
    assert_int_equal(st.decommissioned, 0);
    assert_int_equal(st.publish, 0);
    assert_int_equal(activate(h, &rq, &rs), 0);
    assert_int_equal(rs.status, KMS_HR_OK);
    expect_ok(h, "sdns", "publish yes");
    kms_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reply_framing_and_line_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(inventory_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(setting_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(persistence_and_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_state_refuses_open, setup, teardown),
        cmocka_unit_test_setup_teardown(activation, setup, teardown),
        cmocka_unit_test_setup_teardown(decommission, setup, teardown),
    };

    kms_log_init("test_host", 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
