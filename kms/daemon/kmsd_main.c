/* SPDX-License-Identifier: MIT */
/*
 * kmsd_main.c - the KMS host daemon.
 *
 * Start-up: configuration (file, then --set and the shortcut options in
 * command-line order), host state, TCP listeners, control socket, then
 * "ready" (and READY=1 to systemd when NOTIFY_SOCKET is set).  Runs in the
 * foreground, logs to stderr with timestamps.
 *
 * Signals: SIGTERM/SIGINT stop accepting, close connections, flush the
 * ledger and exit 0 (a stop never unpublishes DNS records: a restart must not
 * make clients fail).  SIGHUP re-reads the configuration file with the same
 * overrides; a file that does not load keeps the running configuration.
 * The keys the configuration table marks KMS_CFG_RESTART keep their
 * running values, with a warning (keep_start_keys()).  Every
 * ledger_flush seconds the client ledger is written in libuv's threadpool.
 *
 * Hook points: kmsd_app_on_ready(), kmsd_app_on_stop(), kmsd_app_on_reload()
 * and kmsd_app_on_command() are where the DNS publisher attaches (publish
 * when the listener is up, refresh, cdns/decommission).
 *
 * Exit codes: 0 clean stop, 2 configuration error or bad usage, 1 any other
 * start-up failure (one line on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#ifdef KMS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "kms/core/state.h"
#include "kms/daemon/config.h"
#include "kms/daemon/fdlimit.h"
#include "kms/daemon/control.h"
#include "kms/daemon/dnspub.h"
#include "kms/core/host.h"
#include "kms/daemon/server.h"

#ifndef KMSDNS_VERSION
#define KMSDNS_VERSION "unknown"
#endif

#define EXIT_CONFIG 2
#define EXIT_START  1

/* One command-line override, applied after the file with kms_config_set(). */
typedef struct {
    char *section, *key, *value;
    const char *origin;
} override_t;

typedef struct {
    uv_loop_t loop;
    const char *config_path;
    override_t *ov;
    size_t n_ov;
    kms_config_t cfg;
    kms_host_t *host;
    kms_server_t *server;
    kms_control_t *control;
    kms_dnspub_t *dns;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t flush_timer;
    uv_timer_t metrics_timer; /* [host] metrics_file */
    int metrics_failed;       /* the last write failed (said once) */
    uv_work_t flush_work;     /* a ledger write in libuv's threadpool */
    int flushing;             /* flush_work is under way */
    kms_wr_t flush_buf;       /* what it writes */
    int flush_rc;
    int stopping;
    int exit_code;
    unsigned long nofile; /* the open-file limit (kms_fd_prepare()) */
} kmsd_app;

/* ---- hook points for the DNS publisher ---------------------------------- */

/** The listeners and the control socket are up: publish (if on). */
static void kmsd_app_on_ready(kmsd_app *app)
{
    kms_dnspub_start(app->dns);
}

/** A stop was requested (SIGTERM/SIGINT).  Never unpublish here: only cancel. */
static void kmsd_app_on_stop(kmsd_app *app)
{
    kms_dnspub_stop(app->dns, NULL, NULL); /* freed after the loop has ended */
}

/** A new configuration was applied (SIGHUP): re-publish if [dns] changed. */
static void kmsd_app_on_reload(kmsd_app *app)
{
    char err[KMS_CONFIG_ERRLEN] = "";

    if (app->dns && kms_dnspub_reconfigure(app->dns, &app->cfg, err, sizeof err) < 0)
        kms_error("reload: DNS settings kept: %s", err);
}

static void command_done_cb(void *ud)
{
    kms_control_reply(ud);
}

/** A control command ran: the DNS work its verb needs (the verb table's
 *  kms_verb_t.dns) answers the client when it ends. */
static int kmsd_app_on_command(void *ud, kms_control_req_t *req, kms_cmd_result_t *res)
{
    kmsd_app *app = ud;

    if (app->stopping)
        return 0;
    return kms_dnspub_command(app->dns, res, command_done_cb, req);
}

/* ---- configuration ------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "Usage: kmsd [OPTIONS]\n"
               "The kmsdns KMS host daemon (runs in the foreground, logs to stderr).\n"
               "\n"
               "  -c, --config FILE        read the configuration file FILE (INI)\n"
               "  -s, --set SECTION.KEY=VALUE\n"
               "                           override one configuration key (repeatable),\n"
               "                           e.g. --set host.idle_timeout=10\n"
               "  -l, --listen ADDR        listen address (repeatable; replaces [host] listen),\n"
               "                           e.g. 127.0.0.1:1688, [::1]:1688, 1688\n"
               "  -d, --state-dir DIR      state directory ([host] state_dir)\n"
               "  -L, --log-level LEVEL    error, warning, info or debug ([host] log_level)\n"
               "  -h, --help               show this help and exit\n"
               "  -V, --version            show the version and exit\n"
               "\n"
               "Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the configuration.\n"
               "Exit status: 0 clean stop, 1 start-up failure, 2 configuration error or bad "
               "usage.\n");
}

static int add_override(kmsd_app *app, const char *section, const char *key, const char *value,
                        const char *origin)
{
    override_t *n = realloc(app->ov, (app->n_ov + 1) * sizeof *n);

    if (!n)
        return KMS_ENOMEM;
    app->ov = n;
    n = &app->ov[app->n_ov];
    n->section = strdup(section);
    n->key = strdup(key);
    n->value = strdup(value);
    n->origin = origin;
    app->n_ov++;
    if (!n->section || !n->key || !n->value)
        return KMS_ENOMEM;
    return 0;
}

static void free_overrides(kmsd_app *app)
{
    for (size_t i = 0; i < app->n_ov; i++) {
        free(app->ov[i].section);
        free(app->ov[i].key);
        free(app->ov[i].value);
    }
    free(app->ov);
    app->ov = NULL;
    app->n_ov = 0;
}

/* "section.key=value" -> override; returns 0 or KMS_EINVAL. */
static int parse_set(kmsd_app *app, const char *arg)
{
    const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
    char section[64], key[64];

    if (!dot || !eq || dot > eq || dot == arg || eq == dot + 1 || (size_t)(dot - arg) >= 64 ||
        (size_t)(eq - dot - 1) >= 64)
        return KMS_EINVAL;
    memcpy(section, arg, (size_t)(dot - arg));
    section[dot - arg] = '\0';
    memcpy(key, dot + 1, (size_t)(eq - dot - 1));
    key[eq - dot - 1] = '\0';
    return add_override(app, section, key, eq + 1, "--set");
}

/* Build a configuration from the file and the overrides.  0, or the
 * KMS_E* with @p err holding one line. */
static int build_config(kmsd_app *app, kms_config_t *cfg, char *err, size_t errlen)
{
    int rc;

    memset(cfg, 0, sizeof *cfg);
    if ((rc = kms_config_defaults(cfg)) < 0) {
        snprintf(err, errlen, "%s", kms_strerror(rc));
        return rc;
    }
    if (app->config_path) {
        rc = kms_config_load(cfg, app->config_path, err, errlen);
        if (rc == KMS_ENOENT && !err[0])
            snprintf(err, errlen, "%s: cannot read the configuration file", app->config_path);
        if (rc < 0)
            goto fail;
    }
    for (size_t i = 0; i < app->n_ov; i++) {
        override_t *o = &app->ov[i];

        rc = kms_config_set(cfg, o->section, o->key, o->value, o->origin, err, errlen);
        if (rc < 0)
            goto fail;
    }
    if ((rc = kms_config_finish(cfg, err, errlen)) < 0 ||
        (rc = kms_dnspub_check_config(cfg, err, errlen)) < 0)
        goto fail;
    return 0;
fail:
    if (!err[0])
        snprintf(err, errlen, "%s", kms_strerror(rc));
    kms_config_free(cfg);
    return rc;
}

static void apply_log_level(const kms_config_t *cfg)
{
    kms_log_set_level((kms_log_level_t)kms_log_level_parse(cfg->log_level));
}

/* ---- lifecycle ---------------------------------------------------------- */

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* In the threadpool: write the snapshot, fsyncs and all (base/loop.h, 4). */
static void flush_work_cb(uv_work_t *w)
{
    kmsd_app *app = w->data;

    app->flush_rc = kms_state_write(kms_host_state_dir(app->host), KMS_STATE_LEDGER,
                                    app->flush_buf.buf, app->flush_buf.len, 1);
}

static void flush_done_cb(uv_work_t *w, int status)
{
    kmsd_app *app = w->data;

    if (status < 0) /* canceled before it ran */
        app->flush_rc = kms_err_from_uv(status);
    kms_host_ledger_written(app->host, app->flush_rc);
    if (app->flush_rc < 0)
        kms_error("cannot write the client ledger: %s", kms_strerror(app->flush_rc));
    kms_wr_free(&app->flush_buf);
    app->flushing = 0;
}

/* Every ledger_flush seconds: a snapshot on the loop, the write elsewhere. */
static void flush_cb(uv_timer_t *t)
{
    kmsd_app *app = t->data;
    int r;

    if (app->flushing)
        return; /* the previous write is still going: the next tick takes the changes */
    kms_wr_init(&app->flush_buf);
    r = kms_host_ledger_snapshot(app->host, &app->flush_buf);
    if (r == 1) {
        app->flush_work.data = app;
        r = uv_queue_work(&app->loop, &app->flush_work, flush_work_cb, flush_done_cb);
        if (r == 0) {
            app->flushing = 1;
            return;
        }
        r = kms_err_from_uv(r);
        kms_host_ledger_written(app->host, r);
    }
    if (r < 0)
        kms_error("cannot write the client ledger: %s", kms_strerror(r));
    kms_wr_free(&app->flush_buf);
}

/* [host] metrics_file: `kmsctl metrics`, replaced atomically (no fsync:
 * a power loss loses counters a restart resets anyway). */
static void metrics_cb(uv_timer_t *t)
{
    kmsd_app *app = t->data;
    kms_wr_t w;
    int rc;

    if (!app->cfg.metrics_file)
        return;
    kms_wr_init(&w);
    rc = kms_host_metrics(app->host, (int64_t)time(NULL), &w);
    if (rc == 0)
        rc = kms_file_write_atomic_ex(app->cfg.metrics_file, w.buf ? w.buf : (uint8_t *)"", w.len,
                                      0644, 0);
    kms_wr_free(&w);
    if (rc < 0 && !app->metrics_failed)
        kms_warn("cannot write metrics_file %s: %s (retrying every %u s)", app->cfg.metrics_file,
                 kms_strerror(rc), app->cfg.metrics_interval);
    else if (rc == 0 && app->metrics_failed)
        kms_info("metrics_file %s written again", app->cfg.metrics_file);
    app->metrics_failed = rc < 0;
}

static void start_metrics_timer(kmsd_app *app)
{
    uint64_t ms = (uint64_t)app->cfg.metrics_interval * 1000u;

    uv_timer_stop(&app->metrics_timer);
    if (app->cfg.metrics_file)
        uv_timer_start(&app->metrics_timer, metrics_cb, 0, ms);
}

static void start_flush_timer(kmsd_app *app)
{
    uint64_t ms = (uint64_t)app->cfg.ledger_flush * 1000u;

    uv_timer_start(&app->flush_timer, flush_cb, ms, ms);
}

static void app_stop(kmsd_app *app)
{
    if (app->stopping)
        return;
    app->stopping = 1;
    kmsd_app_on_stop(app);
    kms_server_stop(app->server, NULL, NULL);
    kms_control_stop(app->control, NULL, NULL);
    uv_timer_stop(&app->flush_timer);
    uv_close((uv_handle_t *)&app->flush_timer, NULL);
    uv_timer_stop(&app->metrics_timer);
    if (app->cfg.metrics_file)
        metrics_cb(&app->metrics_timer); /* the last counters */
    uv_close((uv_handle_t *)&app->metrics_timer, NULL);
    uv_close((uv_handle_t *)&app->sig_term, NULL);
    uv_close((uv_handle_t *)&app->sig_int, NULL);
    uv_close((uv_handle_t *)&app->sig_hup, NULL);
}

/* Serve only the connections that fit the open-file limit beside kmsd's own
 * descriptors; say so when @p cfg's max_connections does not fit. */
static void fit_open_files(kmsd_app *app, const kms_config_t *cfg)
{
    unsigned cap = kms_fd_connection_cap(app->nofile, kms_server_listeners(app->server));

    kms_server_set_fd_cap(app->server, cap);
    if (cfg->max_connections > cap)
        kms_warn("max_connections %u does not fit the open-file limit of %lu (ulimit -n, "
                 "LimitNOFILE=): at most %u connections at once; raise the limit or lower "
                 "max_connections",
                 cfg->max_connections, app->nofile, cap);
}

/* The keys kmsd takes at start only (the table's KMS_CFG_RESTART): if the
 * reloaded configuration @p ncfg changes one, warn and keep the running
 * value in it, so the rest of the reload still applies.  0 or KMS_ENOMEM. */
static int keep_start_keys(const kms_config_t *running, kms_config_t *ncfg)
{
    const kms_config_key_t *keys;
    size_t n;

    keys = kms_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char shown[1024];

        if (!(keys[i].flags & KMS_CFG_RESTART) || !kms_config_differs(running, ncfg, keys[i].id))
            continue;
        if (kms_config_take(ncfg, running, keys[i].id) < 0)
            return KMS_ENOMEM;
        kms_warn("reload: %s changes only on restart; still using %s", keys[i].name,
                 kms_config_format(running, keys[i].id, shown, sizeof shown));
    }
    return 0;
}

static void reload(kmsd_app *app)
{
    kms_config_t ncfg;
    kms_settings_t base;
    char err[KMS_CONFIG_ERRLEN] = "";
    int rc;

    if (!app->config_path)
        kms_info("SIGHUP: no configuration file; re-applying the command line");
    rc = build_config(app, &ncfg, err, sizeof err);
    if (rc < 0) {
        kms_error("reload failed, keeping the running configuration: %s", err);
        return;
    }
    if (keep_start_keys(&app->cfg, &ncfg) < 0) {
        kms_error("reload failed, keeping the running configuration: out of memory");
        kms_config_free(&ncfg);
        return;
    }
    kms_config_host_settings(&ncfg, &base);
    if (kms_host_reconfigure(app->host, &base) < 0) {
        kms_error("reload failed, keeping the running configuration: out of memory");
        kms_config_free(&ncfg);
        return;
    }
    kms_server_set_limits(app->server, &ncfg);
    if (ncfg.max_connections != app->cfg.max_connections)
        fit_open_files(app, &ncfg);
    apply_log_level(&ncfg);
    kms_config_free(&app->cfg);
    app->cfg = ncfg;
    start_flush_timer(app);
    start_metrics_timer(app);
    kmsd_app_on_reload(app);
    kms_info("configuration reloaded (log_level %s, idle_timeout %us, max_connections %u)",
             app->cfg.log_level ? app->cfg.log_level : "info", app->cfg.idle_timeout,
             app->cfg.max_connections);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    kmsd_app *app = h->data;

    if (signum == SIGHUP) {
        reload(app);
        return;
    }
    kms_info("%s received: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    app_stop(app);
}

/*
 * Socket activation: listening sockets systemd handed over (kmsd.socket)
 * replace [host] listen.  0 when there are none or they were taken.
 */
static int take_systemd_sockets(kmsd_app *app, char *err, size_t errlen)
{
#ifdef KMS_HAVE_SYSTEMD
    int n = sd_listen_fds(1), fds[64];

    if (n < 0) {
        kms_warn("sd_listen_fds: %s: using [host] listen", strerror(-n));
        return 0;
    }
    if (n == 0)
        return 0;
    if ((size_t)n > sizeof fds / sizeof fds[0]) {
        snprintf(err, errlen, "systemd handed over %d sockets, at most %zu are taken", n,
                 sizeof fds / sizeof fds[0]);
        return KMS_EINVAL;
    }
    for (int i = 0; i < n; i++)
        fds[i] = SD_LISTEN_FDS_START + i;
    int rc = kms_server_adopt(app->server, fds, (size_t)n, err, errlen);
    if (rc == 0)
        kms_info("socket activation: %d listening socket%s from systemd; [host] listen is not "
                 "used",
                 n, n == 1 ? "" : "s");
    return rc;
#else
    (void)app;
    (void)err;
    (void)errlen;
    return 0;
#endif
}

static void notify_ready(void)
{
#ifdef KMS_HAVE_SYSTEMD
    if (getenv("NOTIFY_SOCKET")) {
        int r = sd_notify(0, "READY=1");

        if (r < 0)
            kms_warn("sd_notify: %s", strerror(-r));
    }
#endif
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},    {"set", required_argument, NULL, 's'},
        {"listen", required_argument, NULL, 'l'},    {"state-dir", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
    };
    kmsd_app app;
    kms_settings_t base;
    char err[KMS_CONFIG_ERRLEN] = "";
    char *listen = NULL;
    size_t listen_len = 0;
    int opt, rc, loop_ok = 0, listen_pos = -1;

    memset(&app, 0, sizeof app);
    app.exit_code = 0;
    kms_log_init("kmsd", 1);
    app.nofile = kms_fd_prepare(); /* before any thread (fdlimit.h) */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:s:l:d:L:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            app.config_path = optarg;
            break;
        case 's':
            if (parse_set(&app, optarg) < 0) {
                fprintf(stderr, "kmsd: --set %s: expected SECTION.KEY=VALUE\n", optarg);
                app.exit_code = EXIT_CONFIG;
                goto out;
            }
            break;
        case 'l': {
            size_t n = strlen(optarg);
            char *nl = realloc(listen, listen_len + n + 3);

            if (!nl)
                goto nomem;
            listen = nl;
            if (listen_len)
                memcpy(listen + listen_len, ", ", 2), listen_len += 2;
            memcpy(listen + listen_len, optarg, n + 1);
            listen_len += n;
            if (listen_pos < 0) {
                /* Keep the position among the overrides; the value is filled in later. */
                listen_pos = (int)app.n_ov;
                if (add_override(&app, "host", "listen", "", "--listen") < 0)
                    goto nomem;
            }
            break;
        }
        case 'd':
            if (add_override(&app, "host", "state_dir", optarg, "--state-dir") < 0)
                goto nomem;
            break;
        case 'L':
            if (add_override(&app, "host", "log_level", optarg, "--log-level") < 0)
                goto nomem;
            break;
        case 'h':
            usage(stdout);
            goto out;
        case 'V':
            printf("kmsd (kmsdns) %s\n", KMSDNS_VERSION);
            goto out;
        case ':':
            fprintf(stderr, "kmsd: option %s needs an argument (see kmsd --help)\n",
                    argv[optind - 1]);
            app.exit_code = EXIT_CONFIG;
            goto out;
        default:
            fprintf(stderr, "kmsd: unknown option %s (see kmsd --help)\n", argv[optind - 1]);
            app.exit_code = EXIT_CONFIG;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kmsd: unexpected argument '%s' (see kmsd --help)\n", argv[optind]);
        app.exit_code = EXIT_CONFIG;
        goto out;
    }
    if (listen_pos >= 0) {
        free(app.ov[listen_pos].value);
        app.ov[listen_pos].value = listen;
        listen = NULL;
    }

    /* 1. configuration */
    if (build_config(&app, &app.cfg, err, sizeof err) < 0) {
        fprintf(stderr, "kmsd: %s\n", err);
        app.exit_code = EXIT_CONFIG;
        goto out;
    }
    apply_log_level(&app.cfg);
    signal(SIGPIPE, SIG_IGN);

    /* 2. host state */
    err[0] = '\0';
    if ((rc = kms_mkdir_p(app.cfg.state_dir, 0700)) < 0) {
        fprintf(stderr, "kmsd: cannot create state directory %s: %s\n", app.cfg.state_dir,
                kms_strerror(rc));
        app.exit_code = EXIT_START;
        goto out;
    }
    kms_config_host_settings(&app.cfg, &base);
    if ((rc = kms_host_open(app.cfg.state_dir, &base, &app.host, err, sizeof err)) < 0) {
        fprintf(stderr, "kmsd: %s\n", err[0] ? err : kms_strerror(rc));
        app.exit_code = EXIT_START;
        goto out;
    }

    if (uv_loop_init(&app.loop) < 0) {
        fprintf(stderr, "kmsd: cannot create the event loop\n");
        app.exit_code = EXIT_START;
        goto out;
    }
    loop_ok = 1;

    /* 3. listeners */
    if ((rc = kms_server_new(&app.loop, &app.cfg, app.host, &app.server)) < 0)
        goto nomem;
    if ((rc = take_systemd_sockets(&app, err, sizeof err)) < 0) {
        fprintf(stderr, "kmsd: %s\n", err);
        app.exit_code = EXIT_START;
        goto out;
    }
    fit_open_files(&app, &app.cfg);
    err[0] = '\0';
    if ((rc = kms_server_start(app.server, err, sizeof err)) < 0) {
        fprintf(stderr, "kmsd: %s\n", err);
        app.exit_code = EXIT_START;
        goto out;
    }

    /* 4. DNS publisher (sends nothing before "ready") */
    if ((rc = kms_dnspub_new(&app.loop, app.host, &app.cfg, kms_server_port(app.server), NULL,
                             &app.dns, err, sizeof err)) < 0) {
        fprintf(stderr, "kmsd: %s\n", err);
        app.exit_code = rc == KMS_ENOMEM ? EXIT_START : EXIT_CONFIG;
        goto out;
    }

    /* 5. control socket */
    if ((rc = kms_control_new(&app.loop, app.cfg.control_socket, app.host, &app.control)) < 0)
        goto nomem;
    kms_control_set_hook(app.control, kmsd_app_on_command, &app);
    err[0] = '\0';
    if ((rc = kms_control_start(app.control, err, sizeof err)) < 0) {
        fprintf(stderr, "kmsd: %s\n", err);
        app.exit_code = EXIT_START;
        goto out;
    }

    /* 6. signals, flush timer, ready */
    uv_signal_init(&app.loop, &app.sig_term);
    uv_signal_init(&app.loop, &app.sig_int);
    uv_signal_init(&app.loop, &app.sig_hup);
    app.sig_term.data = app.sig_int.data = app.sig_hup.data = &app;
    uv_signal_start(&app.sig_term, signal_cb, SIGTERM);
    uv_signal_start(&app.sig_int, signal_cb, SIGINT);
    uv_signal_start(&app.sig_hup, signal_cb, SIGHUP);
    uv_timer_init(&app.loop, &app.flush_timer);
    app.flush_timer.data = &app;
    start_flush_timer(&app);
    uv_timer_init(&app.loop, &app.metrics_timer);
    app.metrics_timer.data = &app;
    {
        char addrs[1024];

        kms_server_describe(app.server, addrs, sizeof addrs);
        kms_host_set_listen(app.host, addrs,
                            kms_server_adopted(app.server) ? "socket-activation" : "config");
        kms_info("ready: listening on %s; control socket %s; state in %s", addrs,
                 app.cfg.control_socket, app.cfg.state_dir);
    }
    notify_ready();
    kmsd_app_on_ready(&app);
    start_metrics_timer(&app);

    uv_run(&app.loop, UV_RUN_DEFAULT);
    if ((rc = kms_host_flush(app.host)) < 0)
        kms_error("cannot write the client ledger: %s", kms_strerror(rc));
    kms_info("stopped");
    goto out;

nomem:
    fprintf(stderr, "kmsd: out of memory\n");
    app.exit_code = EXIT_START;
out:
    if (loop_ok) {
        /* Close whatever a failed start-up left open, then drain the loop. */
        if (!app.stopping) {
            kms_dnspub_stop(app.dns, NULL, NULL);
            kms_server_stop(app.server, NULL, NULL);
            kms_control_stop(app.control, NULL, NULL);
        }
        uv_walk(&app.loop, close_walk_cb, NULL);
        uv_run(&app.loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&app.loop) != 0)
            kms_warn("event loop closed with handles still open");
    }
    kms_dnspub_free(app.dns);
    kms_server_free(app.server);
    kms_control_free(app.control);
    kms_host_free(app.host);
    kms_config_free(&app.cfg);
    free_overrides(&app);
    free(listen);
    return app.exit_code;
}
