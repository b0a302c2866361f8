/* SPDX-License-Identifier: MIT */
/* Unit tests for kms/daemon/config: defaults, every key good and bad, error messages,
 * continuation lines, --set (the documentation of the keys: test_config_docs.c). */
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
#include "base/addr.h"
#include "dns/name.h"
#include "kms/daemon/config.h"
#include "kms/daemon/listen.h"
#include "rpc/conn.h"
#include "publisher/domains.h"

static char tmpdir[64];

/* Listen address @p i of @p cfg as the file would say it (one of 4 buffers). */
static const char *listen_at(const kms_config_t *cfg, size_t i)
{
    static char buf[4][KMS_ADDRSTRLEN];
    static unsigned k;

    assert_true(i < cfg->n_listen);
    return kms_listen_format(&cfg->listen[i], buf[k++ % 4]);
}

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/kms_cfg_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

/* Load @p text as file "kmsd.conf" over defaults; returns the load result. */
static int load_text(kms_config_t *cfg, const char *text, char *err)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof path, "%s/kmsd.conf", tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(kms_config_defaults(cfg), 0);
    err[0] = 0;
    int r = kms_config_load(cfg, path, err, KMS_CONFIG_ERRLEN);

    if (r == 0)
        assert_int_equal(kms_config_finish(cfg, err, KMS_CONFIG_ERRLEN), 0);
    return r;
}

static void defaults(void **state)
{
    kms_config_t cfg;

    kms_settings_t base;
    char err[KMS_CONFIG_ERRLEN];

    assert_int_equal(kms_config_defaults(&cfg), 0);
    /* derived keys are derived by finish, not by the defaults (no FQDN lookup) */
    assert_null(cfg.target);
    assert_int_equal(cfg.domains.n, 0);
    assert_int_equal(kms_config_finish(&cfg, err, sizeof err), 0);
    /* both families on the host's port (sprt, default 1688) */
    assert_int_equal(cfg.n_listen, 2);
    assert_string_equal(listen_at(&cfg, 0), "0.0.0.0");
    assert_string_equal(listen_at(&cfg, 1), "[::]");
    kms_config_host_settings(&cfg, &base);
    assert_int_equal(base.port, 1688);
    assert_string_equal(cfg.state_dir, "/var/lib/kmsd");
    assert_string_equal(cfg.control_socket, "/var/lib/kmsd/kmsd.sock");
    assert_int_equal(cfg.activation_interval, 120);
    assert_int_equal(cfg.renewal_interval, 10080);
    assert_int_equal(cfg.max_connections, 4096);
    assert_int_equal(cfg.idle_timeout, 30);
    assert_int_equal(cfg.max_pdu, KMS_RPC_MAX_PDU);
    assert_int_equal(cfg.ledger_flush, 5);
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.publish, 1);
    assert_int_equal(cfg.priority, 0);
    assert_int_equal(cfg.weight, 0);
    assert_int_equal(cfg.ttl, 3600);
    assert_int_equal(cfg.server.ss_family, 0); /* none: the SOA MNAME */
    assert_null(cfg.key_file);
    assert_int_equal(cfg.allow_unsigned, 0);
    assert_int_equal(cfg.refresh, 86400);
    assert_non_null(cfg.target);
    assert_int_equal(cfg.set, 0);
    for (int id = 0; id < KMS_CFG_NKEYS; id++)
        assert_null(kms_config_origin(&cfg, id));
    /* Default domains: the domain part of the target, if it has one. */
    if (strchr(cfg.target, '.')) {
        assert_int_equal(cfg.domains.n, 1);
        assert_string_equal(cfg.domains.v[0].name, strchr(cfg.target, '.') + 1);
    } else {
        assert_int_equal(cfg.domains.n, 0);
    }
    kms_config_free(&cfg);
    kms_config_free(NULL);
}

static void full_file(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN];
    const char *text = "; comment\n"
                       "[host]\n"
                       "listen = 127.0.0.1:11688, [::1]:11688  ; inline comment\n"
                       "state_dir = /tmp/kmsd-state\n"
                       "activation_interval = 2h\n"
                       "renewal_interval = 7d\n"
                       "max_connections = 10\n"
                       "idle_timeout = 2m\n"
                       "max_pdu = 8192\n"
                       "ledger_flush = 1\n"
                       "log_level = debug\n"
                       "\n"
                       "[dns]\n"
                       "publish = off\n"
                       "domains = Kms.Test., corp.test 10 50\n"
                       "target = KMS1.kms.test.\n"
                       "priority = 5\n"
                       "weight = 7\n"
                       "ttl = 1h\n"
                       "server = 127.0.0.1:5300\n"
                       "key_file = /etc/kmsd/k.key\n"
                       "allow_unsigned = TRUE\n"
                       "refresh = 1\n";

    assert_int_equal(load_text(&cfg, text, err), 0);
    assert_int_equal(cfg.n_listen, 2);
    assert_string_equal(listen_at(&cfg, 0), "127.0.0.1:11688");
    assert_string_equal(listen_at(&cfg, 1), "[::1]:11688");
    assert_string_equal(cfg.state_dir, "/tmp/kmsd-state");
    /* control_socket follows state_dir unless given. */
    assert_string_equal(cfg.control_socket, "/tmp/kmsd-state/kmsd.sock");
    assert_int_equal(cfg.activation_interval, 120);
    assert_int_equal(cfg.renewal_interval, 10080);
    assert_int_equal(cfg.max_connections, 10);
    assert_int_equal(cfg.idle_timeout, 120);
    assert_int_equal(cfg.max_pdu, 8192);
    assert_int_equal(cfg.ledger_flush, 1);
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.publish, 0);
    assert_int_equal(cfg.domains.n, 2);
    assert_string_equal(cfg.domains.v[0].name, "kms.test");
    assert_int_equal(cfg.domains.v[0].priority, -1);
    assert_string_equal(cfg.domains.v[1].name, "corp.test");
    assert_true(cfg.domains.v[1].priority >= 0);
    assert_int_equal(cfg.domains.v[1].priority, 10);
    assert_int_equal(cfg.domains.v[1].weight, 50);
    assert_string_equal(cfg.target, "kms1.kms.test");
    assert_int_equal(cfg.priority, 5);
    assert_int_equal(cfg.weight, 7);
    assert_int_equal(cfg.ttl, 3600);
    {
        char a[KMS_ADDRSTRLEN];

        assert_string_equal(kms_addr_format((struct sockaddr *)&cfg.server, a), "127.0.0.1:5300");
    }
    assert_string_equal(cfg.key_file, "/etc/kmsd/k.key");
    assert_int_equal(cfg.allow_unsigned, 1);
    assert_int_equal(cfg.refresh, 1);
    assert_true(kms_config_given(&cfg, KMS_CFG_ACTIVATION_INTERVAL));
    assert_true(kms_config_given(&cfg, KMS_CFG_DOMAINS));
    assert_true(kms_config_given(&cfg, KMS_CFG_PUBLISH));

    /* A copy is deep and equal. */
    kms_config_t cp;

    assert_int_equal(kms_config_copy(&cp, &cfg), 0);
    kms_config_free(&cfg);
    assert_string_equal(cp.domains.v[1].name, "corp.test");
    assert_string_equal(listen_at(&cp, 1), "[::1]:11688");
    {
        char a[KMS_ADDRSTRLEN];

        assert_string_equal(kms_addr_format((struct sockaddr *)&cp.server, a), "127.0.0.1:5300");
    }
    kms_config_free(&cp);
}

static void listen_port_alone_and_target_domains(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN];

    assert_int_equal(load_text(&cfg,
                               "[host]\nlisten = 1700\ncontrol_socket = /run/k.sock\n"
                               "state_dir = /srv/k\n[dns]\ntarget = kms2.corp.example\n",
                               err),
                     0);
    assert_int_equal(cfg.n_listen, 2);
    assert_string_equal(listen_at(&cfg, 0), "0.0.0.0:1700");
    assert_string_equal(listen_at(&cfg, 1), "[::]:1700");
    assert_string_equal(cfg.control_socket, "/run/k.sock"); /* not moved by state_dir */
    /* Domains default to the target's domain when not given. */
    assert_int_equal(cfg.domains.n, 1);
    assert_string_equal(cfg.domains.v[0].name, "corp.example");
    kms_config_free(&cfg);

    /* An address without a port keeps none: kmsd uses the host's port
     * (sprt, default 1688) there at start. */
    assert_int_equal(load_text(&cfg, "[host]\nlisten = 127.0.0.2, [::1]\n", err), 0);
    assert_int_equal(cfg.n_listen, 2);
    assert_string_equal(listen_at(&cfg, 0), "127.0.0.2");
    assert_string_equal(listen_at(&cfg, 1), "[::1]");
    kms_config_free(&cfg);
}

static void intervals_units_and_range(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN];
    struct {
        const char *v;
        int ok;
        uint32_t minutes;
    } cases[] = {
        {"15", 1, 15}, {"43200", 1, 43200}, {"30d", 1, 43200}, {"900s", 1, 15},
        {"14", 0, 0},  {"43201", 0, 0},     {"31d", 0, 0},     {"901s", 0, 0},
        {"abc", 0, 0}, {"-5", 0, 0},        {"10x", 0, 0},     {"99999999999999999999", 0, 0},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];

        snprintf(text, sizeof text, "[host]\nrenewal_interval = %s\n", cases[i].v);
        int r = load_text(&cfg, text, err);

        if (cases[i].ok) {
            assert_int_equal(r, 0);
            assert_int_equal(cfg.renewal_interval, cases[i].minutes);
        } else {
            assert_int_equal(r, KMS_ECONFIG);
            assert_non_null(strstr(err, "kmsd.conf:2: [host] renewal_interval: "));
        }
        kms_config_free(&cfg);
    }
}

/* Each bad value: the error names file, line, section and key. */
static void bad_values(void **state)
{
    static const struct {
        const char *section, *key, *value;
    } bad[] = {
        {"host", "listen", "localhost:1688"},
        {"host", "listen", "1.2.3.4:0"},
        {"host", "listen", "99999"},
        {"host", "listen", "1688, 1688"},
        {"host", "listen", ","},
        {"host", "state_dir", "relative/dir"},
        {"host", "control_socket", "sock"},
        {"host", "activation_interval", "1"},
        {"host", "max_connections", "0"},
        {"host", "max_connections", "many"},
        {"host", "idle_timeout", "0"},
        {"host", "idle_timeout", "2w"},
        {"host", "max_pdu", "10"},
        {"host", "max_pdu", "65536"}, /* frag_length is 16 bits: a PDU is at most 65535 */
        {"host", "max_pdu", "262144"},
        {"host", "ledger_flush", "0"},
        {"host", "log_level", "loud"},
        {"dns", "publish", "maybe"},
        {"dns", "allow_unsigned", "2"},
        {"dns", "domains", "bad domain!"},
        {"dns", "domains", "a..b"},
        {"dns", "domains", "kms.test 10"},
        {"dns", "domains", "kms.test 10 70000"},
        {"dns", "domains", "kms.test, kms.test"},
        {"dns", "target", "-"},
        {"dns", "target", "host name"},
        {"dns", "priority", "65536"},
        {"dns", "weight", "-1"},
        {"dns", "ttl", "soon"},
        {"dns", "server", "ns1.example"},
        {"dns", "server", "127.0.0.1:70000"},
        {"dns", "refresh", "0"},
        {"dns", "refresh", "0s"},
        {"dns", "priority", ""},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kms_config_t cfg;
        char err[KMS_CONFIG_ERRLEN], text[256], want[128];

        snprintf(text, sizeof text, "; line 1\n[%s]\n%s = %s\n", bad[i].section, bad[i].key,
                 bad[i].value);
        if (load_text(&cfg, text, err) != KMS_ECONFIG)
            fail_msg("case %zu (%s = %s) accepted", i, bad[i].key, bad[i].value);
        snprintf(want, sizeof want, "kmsd.conf:3: [%s] %s: ", bad[i].section, bad[i].key);
        if (!strstr(err, want))
            fail_msg("case %zu (%s = %s): message '%s' lacks '%s'", i, bad[i].key, bad[i].value,
                     err, want);
        kms_config_free(&cfg);
    }
}

static void structural_errors(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN], text[512];

    assert_int_equal(load_text(&cfg, "[host]\nlisten = 1688\nfoo = 1\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:3: [host] foo: unknown key"));
    kms_config_free(&cfg);

    assert_int_equal(load_text(&cfg, "[host]\n\n[tls]\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:3: [tls]: unknown section"));
    kms_config_free(&cfg);

    assert_int_equal(load_text(&cfg, "[dns]\nttl = 10\nttl = 20\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:3: [dns] ttl: duplicate key"));
    kms_config_free(&cfg);

    assert_int_equal(load_text(&cfg, "ttl = 10\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:1: ttl: key outside a section"));
    kms_config_free(&cfg);

    assert_int_equal(load_text(&cfg, "[host]\nthis is not ini\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:2: syntax error"));
    kms_config_free(&cfg);

    /* A line that would not fit libinih's 200-byte buffer is an error, not split. */
    snprintf(text, sizeof text, "[dns]\n\ndomains = %0190d.test\n", 0);
    assert_int_equal(load_text(&cfg, text, err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:3: line longer than"));
    kms_config_free(&cfg);
    /* One just under the limit (198 characters and the newline) is fine. */
    snprintf(text, sizeof text, "[dns]\ndomains = %0*d.t\n", 198 - 10 - 2, 0);
    assert_int_equal(strlen(strchr(text, '\n') + 1), 199);
    int r = load_text(&cfg, text, err);
    /* 186 zeros is not a valid label (> 63): the error is about the key, not the line length. */
    assert_int_equal(r, KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:2: [dns] domains:"));
    kms_config_free(&cfg);

    /* Missing file. */
    assert_int_equal(kms_config_defaults(&cfg), 0);
    assert_int_equal(kms_config_load(&cfg, "/nonexistent/kmsd.conf", err, sizeof err), KMS_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/kmsd.conf"));
    kms_config_free(&cfg);
}

/* Long lists continue on indented lines (libinih lines hold 198 characters). */
static void continuation_lines(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN];

    assert_int_equal(load_text(&cfg,
                               "[dns]\ndomains = a.test, b.test 1 2,\n"
                               "    c.test ; comment\n"
                               "\td.test 3 4\n"
                               "ttl = 5\n"
                               "[host]\nlisten = 127.0.0.1:1\n  [::1]:2\n",
                               err),
                     0);
    assert_int_equal(cfg.domains.n, 4);
    assert_string_equal(cfg.domains.v[2].name, "c.test");
    assert_string_equal(cfg.domains.v[3].name, "d.test");
    assert_int_equal(cfg.domains.v[3].weight, 4);
    assert_int_equal(cfg.ttl, 5);
    assert_int_equal(cfg.n_listen, 2);
    assert_string_equal(listen_at(&cfg, 1), "[::1]:2");
    kms_config_free(&cfg);

    assert_int_equal(load_text(&cfg, "[dns]\nttl = 5\n  6\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:3: [dns] ttl: indented continuation line"));
    kms_config_free(&cfg);
    assert_int_equal(load_text(&cfg, "[dns]\ndomains = a.test\n  b..test\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:3: [dns] domains: "));
    kms_config_free(&cfg);
}

static void set_from_command_line(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN];

    assert_int_equal(kms_config_defaults(&cfg), 0);
    assert_int_equal(
        kms_config_set(&cfg, "host", "idle_timeout", "45", "--idle-timeout", err, sizeof err), 0);
    assert_int_equal(cfg.idle_timeout, 45);
    assert_true(kms_config_given(&cfg, KMS_CFG_IDLE_TIMEOUT));
    assert_string_equal(kms_config_origin(&cfg, KMS_CFG_IDLE_TIMEOUT), "--idle-timeout");
    assert_int_equal(
        kms_config_set(&cfg, "host", "idle_timeout", "x", "--idle-timeout", err, sizeof err),
        KMS_ECONFIG);
    assert_non_null(strstr(err, "--idle-timeout: [host] idle_timeout: 'x' is not a duration"));
    assert_int_equal(kms_config_set(&cfg, "nope", "k", "v", "--set", err, sizeof err), KMS_ECONFIG);
    assert_non_null(strstr(err, "unknown section"));
    kms_config_free(&cfg);
}

static void load_string(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN];
    const char text[] = "[dns]\nttl = 60\n[host]\nlisten = 1";

    assert_int_equal(kms_config_defaults(&cfg), 0);
    /* Not NUL-terminated, no final newline. */
    assert_int_equal(kms_config_load_string(&cfg, text, sizeof text - 1, "mem", err, sizeof err),
                     0);
    assert_int_equal(cfg.ttl, 60);
    assert_string_equal(listen_at(&cfg, 0), "0.0.0.0:1");
    assert_int_equal(kms_config_load_string(&cfg, "[dns]\nttl=\0x", 9, "mem", err, sizeof err),
                     KMS_ECONFIG);
    kms_config_free(&cfg);
}

/* [dns] tls and its keys; the server's port: 53, 853 with tls, unless given. */
static void tls_keys_and_the_servers_port(void **state)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN], a[KMS_ADDRSTRLEN];

    assert_int_equal(kms_config_defaults(&cfg), 0);
    assert_int_equal(cfg.tls, 0);
    assert_null(cfg.tls_ca_file);
    assert_null(cfg.tls_name);
    assert_null(cfg.tls_cert_file);
    assert_null(cfg.tls_key_file);
    kms_config_free(&cfg);

    assert_int_equal(load_text(&cfg,
                               "[dns]\nserver = 127.0.0.1\ntls = yes\n"
                               "tls_ca_file = /etc/kmsd/ca.pem\ntls_name = ns1.kms.test\n"
                               "tls_cert_file = /etc/kmsd/c.pem\ntls_key_file = /etc/kmsd/c.key\n",
                               err),
                     0);
    assert_int_equal(cfg.tls, 1);
    assert_string_equal(cfg.tls_ca_file, "/etc/kmsd/ca.pem");
    assert_string_equal(cfg.tls_name, "ns1.kms.test");
    assert_string_equal(cfg.tls_cert_file, "/etc/kmsd/c.pem");
    assert_string_equal(cfg.tls_key_file, "/etc/kmsd/c.key");
    /* given before tls = yes, and without a port: 853 (RFC 7858) */
    assert_string_equal(kms_addr_format((struct sockaddr *)&cfg.server, a), "127.0.0.1:853");
    assert_true(kms_config_given(&cfg, KMS_CFG_TLS_KEY_FILE)); /* id above 31 */
    kms_config_t cp;
    assert_int_equal(kms_config_copy(&cp, &cfg), 0);
    kms_config_free(&cfg);
    assert_string_equal(cp.tls_key_file, "/etc/kmsd/c.key");
    assert_true(kms_config_given(&cp, KMS_CFG_TLS_KEY_FILE));
    kms_config_free(&cp);

    assert_int_equal(load_text(&cfg, "[dns]\nserver = [::1]\n", err), 0);
    assert_string_equal(kms_addr_format((struct sockaddr *)&cfg.server, a), "[::1]:53");
    kms_config_free(&cfg);
    assert_int_equal(load_text(&cfg, "[dns]\ntls = yes\nserver = 127.0.0.1:8853\n", err), 0);
    assert_string_equal(kms_addr_format((struct sockaddr *)&cfg.server, a), "127.0.0.1:8853");
    kms_config_free(&cfg);

    /* a key given twice is still an error past the 32nd key */
    assert_int_equal(load_text(&cfg, "[dns]\ntls_name = a.test\ntls_name = b.test\n", err),
                     KMS_ECONFIG);
    assert_non_null(strstr(err, "tls_name"));
    kms_config_free(&cfg);
    assert_int_equal(load_text(&cfg, "[dns]\ntls = maybe\n", err), KMS_ECONFIG);
    assert_non_null(strstr(err, "kmsd.conf:2: [dns] tls:"));
    kms_config_free(&cfg);
    assert_int_equal(load_text(&cfg, "[dns]\ntls_name = two words\n", err), KMS_ECONFIG);
    kms_config_free(&cfg);
}

/* The shipped example must load as it is. */
static void example_file_loads(void **state)
{
    const char *src = getenv("KMSDNS_SRC");
    char path[512], err[KMS_CONFIG_ERRLEN];
    kms_config_t cfg;

    if (!src)
        skip();
    snprintf(path, sizeof path, "%s/docs/kmsd.conf.example", src);
    assert_int_equal(kms_config_defaults(&cfg), 0);
    if (kms_config_load(&cfg, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg.activation_interval, 120);
    assert_int_equal(cfg.refresh, 86400);
    kms_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(full_file),
        cmocka_unit_test(listen_port_alone_and_target_domains),
        cmocka_unit_test(intervals_units_and_range),
        cmocka_unit_test(bad_values),
        cmocka_unit_test(structural_errors),
        cmocka_unit_test(continuation_lines),
        cmocka_unit_test(set_from_command_line),
        cmocka_unit_test(load_string),
        cmocka_unit_test(tls_keys_and_the_servers_port),
        cmocka_unit_test(example_file_loads),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
