/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for publisher/publisher: option checks, and the
 * engine's lifecycle on a loop with no DNS server (127.0.0.1 port 9, which
 * refuses): unbounded retries (daemon mode) are canceled cleanly, bounded
 * retries end with a clear error, and every handle is closed
 * (uv_loop_close() == 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/addr.h"
#include "base/err.h"
#include "publisher/domains.h"
#include "publisher/publisher.h"

typedef struct {
    int calls;
    int status;
    char message[512];
    unsigned attempts;
} done_t;

static void on_done(const pub_result_t *res, size_t n, const pub_stats_t *st, void *ud)
{
    done_t *d = ud;
    assert_int_equal(n, 1);
    d->calls++;
    d->status = res[0].status;
    snprintf(d->message, sizeof d->message, "%s", res[0].message);
    d->attempts = st->attempts;
}

static void options_are_checked(void **state)
{
    uv_loop_t loop;
    pub_options_t o;
    pub_engine_t *e = NULL;
    struct sockaddr_storage srv;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(kms_addr_parse("127.0.0.1:9", 53, &srv), 0);
    pub_options_init(&o);
    o.server = (struct sockaddr *)&srv;
    o.target = "kms1.kms.test";
    /* no key and unsigned not allowed */
    assert_int_equal(pub_engine_new(&loop, &o, &e), KMS_EINVAL);
    assert_null(e);
    o.allow_unsigned = 1;
    o.target = "bad..target";
    assert_int_equal(pub_engine_new(&loop, &o, &e), KMS_EINVAL);
    o.target = "kms1.kms.test";
    assert_int_equal(pub_engine_new(&loop, &o, &e), 0);
    pub_domain_t bad = {"x..y", -1, -1};
    done_t d = {0};
    assert_int_equal(pub_run(e, PUB_PUBLISH, &bad, 1, on_done, &d), KMS_EINVAL);
    assert_int_equal(pub_run(e, PUB_PUBLISH, NULL, 0, on_done, &d), KMS_EINVAL);
    /* an engine that never ran may be freed without stopping */
    pub_engine_free(e);
    pub_engine_free(NULL);
    pub_engine_stop(NULL, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(d.calls, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void on_stopped(pub_engine_t *e, void *ud)
{
    (void)e;
    (*(int *)ud)++;
}

/* Stop @p e, run the loop until it calls back (once, never from inside the
 * stop call), free it. */
static void stop_and_free(uv_loop_t *loop, pub_engine_t *e)
{
    int stopped = 0;

    pub_engine_stop(e, on_stopped, &stopped);
    assert_int_equal(stopped, 0);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(stopped, 1);
    pub_engine_free(e);
}

static void on_cancel_timer(uv_timer_t *t)
{
    pub_cancel(t->data);
    uv_close((uv_handle_t *)t, NULL);
}

static void unbounded_retries_cancel_cleanly(void **state)
{
    uv_loop_t loop;
    uv_timer_t timer;
    pub_options_t o;
    pub_engine_t *e = NULL;
    struct sockaddr_storage srv;
    done_t d = {0};
    pub_domain_t dom = {"kms.test", 1, 2};

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(kms_addr_parse("127.0.0.1:9", 53, &srv), 0);
    pub_options_init(&o);
    o.server = (struct sockaddr *)&srv;
    o.target = "kms1.kms.test";
    o.allow_unsigned = 1;
    o.attempts = 0; /* daemon mode: retry until canceled */
    o.backoff_ms = 20;
    o.backoff_max_ms = 40;
    o.timeout_ms = 200;
    assert_int_equal(pub_engine_new(&loop, &o, &e), 0);
    assert_int_equal(pub_run(e, PUB_PUBLISH, &dom, 1, on_done, &d), 0);
    assert_int_equal(pub_run(e, PUB_PUBLISH, &dom, 1, on_done, &d), KMS_EBUSY);
    assert_int_equal(d.calls, 0); /* never from inside pub_run */
    uv_timer_init(&loop, &timer);
    timer.data = e;
    uv_timer_start(&timer, on_cancel_timer, 400, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, KMS_ECANCELED);
    assert_true(d.attempts >= 4); /* it kept trying with a 20..40 ms backoff */
    assert_true(d.attempts < 40); /* but with a backoff, not a storm */
    stop_and_free(&loop, e);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void bounded_retries_end_with_a_clear_error(void **state)
{
    uv_loop_t loop;
    pub_options_t o;
    pub_engine_t *e = NULL;
    struct sockaddr_storage srv;
    done_t d = {0};
    pub_domain_t dom = {"kms.test", -1, -1};

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(kms_addr_parse("127.0.0.1:9", 53, &srv), 0);
    pub_options_init(&o);
    o.server = (struct sockaddr *)&srv;
    o.target = "kms1.kms.test";
    o.allow_unsigned = 1;
    o.attempts = 3;
    o.backoff_ms = 10;
    assert_int_equal(pub_engine_new(&loop, &o, &e), 0);
    assert_int_equal(pub_run(e, PUB_PUBLISH, &dom, 1, on_done, &d), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, KMS_ECONNREFUSED);
    assert_int_equal(d.attempts, 3);
    assert_string_equal(d.message, "zone of _vlmcs._tcp.kms.test. not found: no answer from "
                                   "127.0.0.1#9 to the query: connection refused (is the server "
                                   "running?) (3 attempts)");
    /* stopping right after a run leaves nothing behind */
    stop_and_free(&loop, e);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void stop_during_a_run(void **state)
{
    uv_loop_t loop;
    pub_options_t o;
    pub_engine_t *e = NULL;
    struct sockaddr_storage srv;
    done_t d = {0};
    pub_domain_t dom = {"kms.test", -1, -1};
    int stopped = 0;

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(kms_addr_parse("127.0.0.1:9", 53, &srv), 0);
    pub_options_init(&o);
    o.server = (struct sockaddr *)&srv;
    o.target = "kms1.kms.test";
    o.allow_unsigned = 1;
    o.attempts = 0;
    assert_int_equal(pub_engine_new(&loop, &o, &e), 0);
    assert_int_equal(pub_run(e, PUB_UNPUBLISH, &dom, 1, on_done, &d), 0);
    pub_engine_stop(e, on_stopped, &stopped); /* cancels: the callback still runs, once */
    assert_int_equal(d.calls, 0);
    assert_int_equal(stopped, 0); /* never from inside pub_engine_stop() */
    assert_int_equal(pub_run(e, PUB_UNPUBLISH, &dom, 1, on_done, &d), KMS_EINVAL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.status, KMS_ECANCELED);
    assert_int_equal(stopped, 1); /* after the run's callback, once */
    pub_engine_free(e);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_are_checked),
        cmocka_unit_test(unbounded_retries_cancel_cleanly),
        cmocka_unit_test(bounded_retries_end_with_a_clear_error),
        cmocka_unit_test(stop_during_a_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
