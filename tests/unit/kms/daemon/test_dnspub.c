/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for kms/daemon/dnspub: kmsd's DNS job queue, driven through
 * the injectable engine interface (kms_pub_ops_t) by a scripted stand-in
 * engine, on a real libuv loop and a real host core in a temporary state
 * directory.  No DNS server and no timing guesses: the test decides when
 * and how each run ends.
 *
 * Covered: start-up publish; a verb's run supersedes the daemon jobs
 * waiting and cancels a daemon run in flight; domains that failed for a
 * reason that may pass are retried in the background (and only those);
 * a reload during an outage drops the stale retry and publishes the new
 * settings, then removes the record of the old target; records of an
 * older target found in the published file are removed before the
 * publish; the verbs' results (dns lines, cdns failing as KMS_EPUBLISH);
 * a verb whose run cannot start is told so; stop answers waiting verbs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "dns/name.h"
#include "kms/core/host.h"
#include "kms/core/state.h"
#include "kms/daemon/config.h"
#include "kms/daemon/dnspub.h"

#define MAX_RUNS 32

/* ---- the stand-in engine ------------------------------------------------------ */

typedef struct fake fake_t;

/* One run the engine was asked for. */
typedef struct {
    pub_op_t op;
    unsigned attempts; /* the engine's: tells a daemon run (4) from a verb's (3) */
    char target[KMS_DNS_NAMELEN];
    uint16_t port;
    char domains[512]; /* "a.test b.test" */
    int canceled;
    int ended;
} run_t;

struct pub_engine {
    fake_t *f;
    pub_options_t opt;
    char target[KMS_DNS_NAMELEN];
    int run;      /* index into f->runs, -1: idle */
    int stopping; /* close once the run has called back */
    pub_stopped_cb stop_cb;
    void *stop_ud;
    pub_done_cb cb;
    void *ud;
    pub_domain_list_t doms;
    int *statuses; /* one per domain, set by finish() */
    uv_timer_t timer;
};

struct fake {
    uv_loop_t loop;
    run_t runs[MAX_RUNS];
    int nruns;
    pub_engine_t *running; /* the engine whose run is active */
    int engines;           /* alive */
    int fail_new;          /* engine_new fails with this */
};

static fake_t *the_fake;

static int fake_new(uv_loop_t *loop, const pub_options_t *opt, pub_engine_t **out)
{
    pub_engine_t *e;

    (void)loop;
    if (the_fake->fail_new)
        return the_fake->fail_new;
    e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->f = the_fake;
    e->opt = *opt;
    snprintf(e->target, sizeof e->target, "%s", opt->target ? opt->target : "");
    e->run = -1;
    uv_timer_init(&the_fake->loop, &e->timer);
    e->timer.data = e;
    the_fake->engines++;
    *out = e;
    return 0;
}

static void engine_closed(uv_handle_t *h)
{
    pub_engine_t *e = h->data;

    e->stop_cb(e, e->stop_ud); /* from the loop, as the real engine does */
}

/* Deliver the run's end from the loop, as the real engine does. */
static void deliver(uv_timer_t *t)
{
    pub_engine_t *e = t->data;
    run_t *r = &e->f->runs[e->run];
    pub_result_t *res = calloc(e->doms.n, sizeof *res);
    pub_stats_t st = {0};
    pub_done_cb cb = e->cb;

    assert_non_null(res);
    for (size_t i = 0; i < e->doms.n; i++) {
        int status = r->canceled ? KMS_ECANCELED : e->statuses[i];

        kms_dname_canon(e->doms.v[i].name, KMS_DNAME_ANY, res[i].domain, sizeof res[i].domain);
        res[i].status = status;
        res[i].time = (int64_t)time(NULL);
        snprintf(res[i].message, sizeof res[i].message, "%s",
                 status ? kms_strerror(status) : "done");
    }
    r->ended = 1;
    e->run = -1;
    e->cb = NULL;
    if (e->f->running == e)
        e->f->running = NULL;
    cb(res, e->doms.n, &st, e->ud);
    free(res);
    free(e->statuses);
    e->statuses = NULL;
    pub_domain_list_free(&e->doms);
    if (e->stopping)
        uv_close((uv_handle_t *)&e->timer, engine_closed);
}

static int fake_run(pub_engine_t *e, pub_op_t op, const pub_domain_t *d, size_t n, pub_done_cb cb,
                    void *ud)
{
    fake_t *f = e->f;
    run_t *r;

    assert_int_equal(e->run, -1);
    assert_true(f->nruns < MAX_RUNS);
    r = &f->runs[f->nruns];
    memset(r, 0, sizeof *r);
    r->op = op;
    r->attempts = e->opt.attempts;
    snprintf(r->target, sizeof r->target, "%s", e->target);
    r->port = e->opt.port;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(r->domains);

        snprintf(r->domains + l, sizeof r->domains - l, "%s%s", i ? " " : "", d[i].name);
        assert_int_equal(pub_domains_add(&e->doms, &d[i]), 0);
    }
    e->run = f->nruns++;
    e->cb = cb;
    e->ud = ud;
    f->running = e;
    return 0;
}

static void fake_cancel(pub_engine_t *e)
{
    if (!e || e->run < 0 || e->f->runs[e->run].canceled)
        return;
    e->f->runs[e->run].canceled = 1;
    uv_timer_start(&e->timer, deliver, 0, 0);
}

static void fake_stop(pub_engine_t *e, pub_stopped_cb cb, void *ud)
{
    assert_non_null(cb);
    assert_false(e->stopping);
    e->stopping = 1;
    e->stop_cb = cb;
    e->stop_ud = ud;
    if (e->run >= 0) {
        fake_cancel(e); /* its callback still runs, then it stops */
        return;
    }
    uv_close((uv_handle_t *)&e->timer, engine_closed);
}

static void fake_free(pub_engine_t *e)
{
    if (!e)
        return;
    assert_true(e->stopping); /* dnspub frees only stopped engines */
    e->f->engines--;
    free(e);
}

static const kms_pub_ops_t fake_ops = {fake_new, fake_run, fake_cancel, fake_stop, fake_free};

/* ---- the world ----------------------------------------------------------------- */

typedef struct {
    fake_t f;
    char dir[64];
    kms_config_t cfg;
    kms_host_t *host;
    kms_dnspub_t *dp;
    int verb_done;
    int stopped;
} world_t;

static world_t *W;

static void wake(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Run the loop for @p ms of loop time. */
static void spin_for(world_t *w, uint64_t ms)
{
    uv_timer_t t;
    int done = 0;

    uv_timer_init(&w->f.loop, &t);
    t.data = &done;
    uv_timer_start(&t, wake, ms, 0);
    while (!done)
        uv_run(&w->f.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
}

/* Run the loop until @p cond(w) holds, at most @p ms of loop time (a
 * guard timer: the loop never blocks past it). */
static int spin_until(world_t *w, int (*cond)(world_t *), uint64_t ms)
{
    uv_timer_t t;
    int expired = 0;

    uv_timer_init(&w->f.loop, &t);
    t.data = &expired;
    uv_timer_start(&t, wake, ms, 0);
    while (!cond(w) && !expired)
        uv_run(&w->f.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
    return cond(w);
}

/* The published file as it is on disk now (written in the threadpool). */
static kms_published_t pubd_now;

static int published_file_has_two(world_t *w)
{
    char err[256];

    kms_published_free(&pubd_now);
    return kms_state_load_published(w->dir, &pubd_now, err, sizeof err) == 0 && pubd_now.n == 2;
}

static int published_file_is_kms2s(world_t *w)
{
    if (!published_file_has_two(w))
        return 0;
    for (size_t i = 0; i < pubd_now.n; i++)
        if (strcmp(pubd_now.recs[i].target, "kms2.kms.test.") != 0)
            return 0;
    return 1;
}

static int published_file_is_1688s(world_t *w)
{
    if (!published_file_has_two(w))
        return 0;
    for (size_t i = 0; i < pubd_now.n; i++)
        if (pubd_now.recs[i].port != 1688)
            return 0;
    return 1;
}

static int has_running(world_t *w)
{
    return w->f.running != NULL;
}

static int verb_answered(world_t *w)
{
    return w->verb_done;
}

/* A new world whose state directory is @p dir (NULL: a new one). */
static void world_prepare(world_t *w, const char *dir)
{
    memset(w, 0, sizeof *w);
    if (dir) {
        snprintf(w->dir, sizeof w->dir, "%s", dir);
    } else {
        strcpy(w->dir, "/tmp/kms_dnspub_XXXXXX");
        assert_non_null(mkdtemp(w->dir));
    }
}

/* kmsd.conf text over the defaults, then the host and the publisher (in a
 * world prepared already, or a new one). */
static void world_open(world_t *w, const char *conf)
{
    char err[KMS_CONFIG_ERRLEN], text[1024];
    kms_settings_t base;

    if (!w->dir[0])
        world_prepare(w, NULL);
    the_fake = &w->f;
    assert_int_equal(uv_loop_init(&w->f.loop), 0);
    snprintf(text, sizeof text,
             "[host]\nstate_dir = %s\nlisten = 127.0.0.1:1688\n[dns]\nallow_unsigned = yes\n%s",
             w->dir, conf ? conf : "target = kms1.kms.test\ndomains = kms.test, corp.test\n");
    assert_int_equal(kms_config_defaults(&w->cfg), 0);
    if (kms_config_load_string(&w->cfg, text, strlen(text), "t.conf", err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(kms_config_finish(&w->cfg, err, sizeof err), 0);
    kms_config_host_settings(&w->cfg, &base);
    if (kms_host_open(w->dir, &base, &w->host, err, sizeof err) != 0)
        fail_msg("%s", err);
    kms_host_set_durable(w->host, 0);
    if (kms_dnspub_new(&w->f.loop, w->host, &w->cfg, 1688, &fake_ops, &w->dp, err, sizeof err))
        fail_msg("%s", err);
}

static void on_stopped(kms_dnspub_t *p, void *ud)
{
    (void)p;
    ((world_t *)ud)->stopped = 1;
}

static int stopped(world_t *w)
{
    return w->stopped && w->f.engines == 0;
}

static void world_close(world_t *w)
{
    char cmd[128];

    kms_dnspub_stop(w->dp, on_stopped, w);
    assert_true(spin_until(w, stopped, 5000));
    kms_dnspub_free(w->dp);
    uv_run(&w->f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&w->f.loop), 0);
    kms_host_free(w->host);
    kms_config_free(&w->cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", w->dir);
    assert_int_equal(system(cmd), 0);
    w->dir[0] = '\0';
}

/* End the active run: domain i gets statuses[i] (0 for each when NULL). */
static void finish(world_t *w, const int *statuses)
{
    pub_engine_t *e = w->f.running;

    assert_non_null(e);
    e->statuses = calloc(e->doms.n, sizeof *e->statuses);
    assert_non_null(e->statuses);
    for (size_t i = 0; statuses && i < e->doms.n; i++)
        e->statuses[i] = statuses[i];
    uv_timer_start(&e->timer, deliver, 0, 0);
    w->f.running = NULL;
}

static const run_t *last_run(world_t *w)
{
    assert_true(w->f.nruns > 0);
    return &w->f.runs[w->f.nruns - 1];
}

/* ---- verbs --------------------------------------------------------------------- */

static void verb_done(void *ud)
{
    ((world_t *)ud)->verb_done = 1;
}

/* Run @p line on the host and hand it to the publisher, as kmsd's control
 * hook does.  Returns what kms_dnspub_command() returned. */
static int verb(world_t *w, kms_cmd_result_t *res, const char *line)
{
    kms_cmd_result_init(res);
    w->verb_done = 0;
    if (kms_host_command(w->host, line, res) != 0)
        fail_msg("%s: %s", line, res->message);
    return kms_dnspub_command(w->dp, res, verb_done, w);
}

/* The rendered result. */
static char *rendered(const kms_cmd_result_t *res)
{
    kms_wr_t out;
    size_t n;

    kms_wr_init(&out);
    assert_int_equal(kms_cmd_render(res, &out), 0);
    kms_wr_u8(&out, 0);
    return (char *)kms_wr_steal(&out, &n);
}

/* ---- tests ----------------------------------------------------------------------- */

static void start_publishes_every_domain(void **state)
{
    world_t *w = W;

    (void)state;
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    assert_int_equal(last_run(w)->op, PUB_PUBLISH);
    assert_int_equal(last_run(w)->attempts, 4); /* a daemon run */
    assert_string_equal(last_run(w)->target, "kms1.kms.test");
    assert_int_equal(last_run(w)->port, 1688);
    assert_string_equal(last_run(w)->domains, "kms.test corp.test");
    finish(w, NULL);
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
    {
        kms_cmd_result_t res;
        char *s;

        kms_cmd_result_init(&res);
        assert_int_equal(kms_host_command(w->host, "status", &res), 0);
        s = rendered(&res);
        assert_non_null(strstr(s, "dns_domain kms.test publish ok"));
        assert_non_null(strstr(s, "dns_domain corp.test publish ok"));
        free(s);
        kms_cmd_result_free(&res);
    }
    assert_int_equal(w->f.nruns, 1); /* nothing else to do */
    world_close(w);
}

static void verb_supersedes_daemon_run(void **state)
{
    world_t *w = W;
    kms_cmd_result_t res;
    char *s;

    (void)state;
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    /* the start-up run is in flight; sprio's publish cancels it */
    assert_int_equal(verb(w, &res, "sprio 5"), 1);
    assert_true(w->f.runs[0].canceled);
    assert_true(spin_until(w, has_running, 1000));
    assert_int_equal(w->f.nruns, 2);
    assert_int_equal(last_run(w)->attempts, 3); /* the verb's own run */
    finish(w, NULL);
    assert_true(spin_until(w, verb_answered, 1000));
    s = rendered(&res);
    assert_non_null(strstr(s, "OK 3\npriority 5\ndns kms.test ok done\ndns corp.test ok done\n"));
    free(s);
    kms_cmd_result_free(&res);
    /* the canceled start-up run is not retried: the verb's run covered it */
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
    assert_int_equal(w->f.nruns, 2);
    world_close(w);
}

static int has_two_runs(world_t *w)
{
    return w->f.nruns >= 2 && w->f.running;
}

static void only_failed_domains_are_retried(void **state)
{
    world_t *w = W;
    const int st[2] = {KMS_ETIMEOUT, 0}; /* kms.test: no answer; corp.test: published */
    const int refused[1] = {KMS_EDNS_REFUSED};

    (void)state;
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    finish(w, st);
    /* the retry comes by itself after the first backoff step (1 s +- 25%) */
    assert_true(spin_until(w, has_two_runs, 3000));
    assert_int_equal(last_run(w)->op, PUB_PUBLISH);
    assert_int_equal(last_run(w)->attempts, 4);
    assert_string_equal(last_run(w)->domains, "kms.test");
    /* a definitive answer is not retried: past the largest next backoff
     * (2 s + 25%) there is no third run */
    finish(w, refused);
    spin_for(w, 2600);
    assert_int_equal(w->f.nruns, 2);
    world_close(w);
}

static void reload_during_outage_drops_the_stale_retry(void **state)
{
    world_t *w = W;
    const int down[2] = {KMS_ETIMEOUT, KMS_ETIMEOUT};
    kms_config_t ncfg;
    char err[KMS_CONFIG_ERRLEN];

    (void)state;
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    finish(w, down); /* both domains wait for a background retry of kms1 */
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
    assert_int_equal(w->f.nruns, 1);
    /* SIGHUP: another target.  The full publish supersedes the retry. */
    assert_int_equal(kms_config_copy(&ncfg, &w->cfg), 0);
    assert_int_equal(kms_config_set(&ncfg, "dns", "target", "kms2.kms.test", NULL, err, sizeof err),
                     0);
    assert_int_equal(kms_dnspub_reconfigure(w->dp, &ncfg, err, sizeof err), 0);
    kms_config_free(&ncfg);
    assert_true(spin_until(w, has_running, 1000));
    assert_int_equal(w->f.nruns, 2);
    assert_string_equal(last_run(w)->target, "kms2.kms.test");
    assert_string_equal(last_run(w)->domains, "kms.test corp.test");
    finish(w, NULL);
    /* past the retry's step (1 s + 25%): the stale kms1 retry never runs */
    spin_for(w, 1400);
    assert_int_equal(w->f.nruns, 2);
    world_close(w);
}

static int has_three_runs(world_t *w)
{
    return w->f.nruns >= 3 && w->f.running;
}

static void changed_target_removes_the_older_record(void **state)
{
    world_t *w = W;
    kms_config_t ncfg;
    char err[KMS_CONFIG_ERRLEN];

    (void)state;
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    finish(w, NULL); /* kms1 published in both domains, and remembered */
    assert_true(spin_until(w, published_file_has_two, 2000));
    assert_int_equal(kms_config_copy(&ncfg, &w->cfg), 0);
    assert_int_equal(kms_config_set(&ncfg, "dns", "target", "kms2.kms.test", NULL, err, sizeof err),
                     0);
    assert_int_equal(kms_dnspub_reconfigure(w->dp, &ncfg, err, sizeof err), 0);
    kms_config_free(&ncfg);
    /* first the removal of kms1's records, on an engine with kms1's target */
    assert_true(spin_until(w, has_running, 1000));
    assert_int_equal(last_run(w)->op, PUB_UNPUBLISH);
    assert_true(kms_dname_eq(last_run(w)->target, "kms1.kms.test"));
    assert_string_equal(last_run(w)->domains, "kms.test. corp.test.");
    finish(w, NULL);
    /* then kms2's publish */
    assert_true(spin_until(w, has_three_runs, 1000));
    assert_int_equal(last_run(w)->op, PUB_PUBLISH);
    assert_string_equal(last_run(w)->target, "kms2.kms.test");
    finish(w, NULL);
    /* the published file now holds kms2's records only */
    assert_true(spin_until(w, published_file_is_kms2s, 2000));
    kms_published_free(&pubd_now);
    world_close(w);
}

/*
 * Start kmsd's publisher over a published file holding kms1's records under
 * ports 1700.. (n of them), as a restart after a port change finds them;
 * returns once the first removal (port 1700) runs.
 */
static void world_with_older_records(world_t *w, int n)
{
    kms_published_t pubd = {0};
    char dir[64];

    strcpy(dir, "/tmp/kms_dnspub_old_XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (int i = 0; i < n; i++)
        assert_int_equal(kms_published_add(&pubd, "kms.test", "kms1.kms.test", 1700 + i), 1);
    world_prepare(w, dir);
    assert_int_equal(kms_state_save_published(w->dir, &pubd, 0), 0);
    kms_published_free(&pubd);
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    assert_int_equal(last_run(w)->op, PUB_UNPUBLISH);
    assert_int_equal(last_run(w)->port, 1700);
}

static void older_records_found_at_start_go_first(void **state)
{
    world_t *w = W;

    (void)state;
    /* a record this host published under another port before a restart */
    world_with_older_records(w, 1);
    assert_string_equal(last_run(w)->domains, "kms.test.");
    finish(w, NULL);
    assert_true(spin_until(w, has_two_runs, 1000));
    assert_int_equal(last_run(w)->op, PUB_PUBLISH);
    assert_int_equal(last_run(w)->port, 1688);
    finish(w, NULL);
    world_close(w);
}

static int has_runs(world_t *w, int n)
{
    return w->f.nruns >= n && w->f.running;
}

static int has_three_running(world_t *w)
{
    return has_runs(w, 3);
}

static void a_verb_lets_a_removal_finish(void **state)
{
    world_t *w = W;
    kms_cmd_result_t res;

    (void)state;
    /* older records of two other ports: their removals go first, one job each */
    world_with_older_records(w, 2);
    /* the verb's publish does not cancel the removal in flight */
    assert_int_equal(verb(w, &res, "sprio 5"), 1);
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
    assert_false(w->f.runs[0].canceled);
    finish(w, NULL);
    /* the other removal (queued again for the verb), then the verb's publish */
    assert_true(spin_until(w, has_two_runs, 1000));
    assert_int_equal(last_run(w)->op, PUB_UNPUBLISH);
    assert_int_equal(last_run(w)->port, 1701);
    finish(w, NULL);
    assert_true(spin_until(w, has_three_running, 1000));
    assert_int_equal(last_run(w)->op, PUB_PUBLISH);
    assert_int_equal(last_run(w)->attempts, 3);
    finish(w, NULL);
    assert_true(spin_until(w, verb_answered, 1000));
    kms_cmd_result_free(&res);
    /* both older records are gone from the published file: only the two new ones */
    assert_true(spin_until(w, published_file_is_1688s, 2000));
    kms_published_free(&pubd_now);
    world_close(w);
}

static void cdns_keeps_the_removals_waiting(void **state)
{
    world_t *w = W;
    kms_cmd_result_t res;
    int seen1701 = 0;

    (void)state;
    /* older records of two other ports: their removals go first, one job each */
    world_with_older_records(w, 2);
    /* the removal of 1701 waits its turn (a daemon job); cdns must not drop it */
    assert_int_equal(verb(w, &res, "cdns"), 1);
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
    finish(w, NULL); /* 1700 */
    for (int k = 2; k <= 3; k++) {
        assert_true(spin_until(w, k == 2 ? has_two_runs : has_three_running, 1000));
        assert_int_equal(last_run(w)->op, PUB_UNPUBLISH);
        seen1701 |= last_run(w)->port == 1701;
        finish(w, NULL);
    }
    assert_true(seen1701);
    assert_true(spin_until(w, verb_answered, 1000));
    assert_int_equal(res.status, 0);
    kms_cmd_result_free(&res);
    world_close(w);
}

static void cdns_failure_fails_the_verb(void **state)
{
    world_t *w = W;
    const int refused[2] = {KMS_EDNS_REFUSED, 0};
    kms_cmd_result_t res;
    char *s;

    (void)state;
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    finish(w, NULL);
    uv_run(&w->f.loop, UV_RUN_NOWAIT);
    /* the verb is answered from the loop, never from inside the call */
    assert_int_equal(verb(w, &res, "cdns"), 1);
    assert_false(w->verb_done);
    assert_true(spin_until(w, has_running, 1000));
    assert_int_equal(last_run(w)->op, PUB_UNPUBLISH);
    assert_int_equal(last_run(w)->attempts, 3);
    finish(w, refused);
    assert_true(spin_until(w, verb_answered, 1000));
    assert_int_equal(res.status, KMS_EPUBLISH);
    assert_true(kms_cmd_usage_error(res.status) == 0); /* kmsctl: refused (1), not usage (2) */
    s = rendered(&res);
    assert_string_equal(s, "ERR KMS_EPUBLISH dns kms.test: DNS REFUSED\n");
    free(s);
    kms_cmd_result_free(&res);
    world_close(w);
}

static void verb_told_when_its_run_cannot_start(void **state)
{
    world_t *w = W;
    kms_cmd_result_t res;
    char *s;

    (void)state;
    world_open(w, NULL);
    w->f.fail_new = KMS_ENOMEM;
    kms_dnspub_start(w->dp);
    assert_int_equal(verb(w, &res, "sweight 7"), 1);
    assert_true(spin_until(w, verb_answered, 1000));
    assert_int_equal(w->f.nruns, 0);
    s = rendered(&res);
    assert_string_equal(s, "OK 2\nweight 7\ndns - error out of memory\n");
    free(s);
    kms_cmd_result_free(&res);
    w->f.fail_new = 0;
    world_close(w);
}

static void stop_answers_the_verbs_waiting(void **state)
{
    world_t *w = W;
    kms_cmd_result_t res;
    char *s;

    (void)state;
    world_open(w, NULL);
    kms_dnspub_start(w->dp);
    assert_true(spin_until(w, has_running, 1000));
    assert_int_equal(verb(w, &res, "decommission"), 1);
    /* stop before the verb's run starts: it is answered, from the loop */
    kms_dnspub_stop(w->dp, on_stopped, w);
    assert_false(w->verb_done);
    assert_true(spin_until(w, stopped, 5000));
    assert_true(w->verb_done);
    s = rendered(&res);
    assert_string_equal(s, "ERR KMS_ECANCELED dns: kmsd is stopping\n");
    free(s);
    kms_cmd_result_free(&res);
    world_close(w);
}

int main(void)
{
    world_t w;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_publishes_every_domain),
        cmocka_unit_test(verb_supersedes_daemon_run),
        cmocka_unit_test(only_failed_domains_are_retried),
        cmocka_unit_test(reload_during_outage_drops_the_stale_retry),
        cmocka_unit_test(changed_target_removes_the_older_record),
        cmocka_unit_test(older_records_found_at_start_go_first),
        cmocka_unit_test(a_verb_lets_a_removal_finish),
        cmocka_unit_test(cdns_keeps_the_removals_waiting),
        cmocka_unit_test(cdns_failure_fails_the_verb),
        cmocka_unit_test(verb_told_when_its_run_cannot_start),
        cmocka_unit_test(stop_answers_the_verbs_waiting),
    };

    memset(&w, 0, sizeof w);
    W = &w;
    kms_log_set_level(getenv("KMS_TEST_DEBUG") ? KMS_LOG_DEBUG : KMS_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
