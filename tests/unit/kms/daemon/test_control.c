/* SPDX-License-Identifier: MIT */
/*
 * test_control.c - the control socket's deferred replies: a hook that takes
 * a command's reply over answers later; commands pipelined behind it wait
 * and keep their order; a client gone before the answer costs nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/err.h"
#include "kms/daemon/config.h"
#include "kms/daemon/control.h"
#include "kms/core/host.h"

static char dir[64];

typedef struct {
    uv_loop_t loop;
    kms_host_t *host;
    kms_control_t *ctl;
    uv_pipe_t client;
    uv_connect_t conn;
    uv_write_t wr;
    uv_timer_t later;
    kms_control_req_t *pending;
    kms_cmd_result_t *pending_res;
    int hook_calls;
    char host_reply[64];
    char got[8192];
    size_t got_len;
    int close_client_first; /* client goes away before the deferred answer */
    int done;
} fx_t;

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/kms_ctl_XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void answer_cb(uv_timer_t *t)
{
    fx_t *f = t->data;

    /* what kmsd's DNS glue does: the result changes, then it is answered */
    kms_cmd_result_free(f->pending_res);
    kms_cmd_result_line(f->pending_res, "deferred answer");
    kms_control_reply(f->pending);
    f->pending = NULL;
    if (f->close_client_first) {
        kms_control_stop(f->ctl, NULL, NULL);
        f->done = 1;
    }
}

/* Defer the first command only. */
static int hook(void *ud, kms_control_req_t *req, kms_cmd_result_t *res)
{
    fx_t *f = ud;
    kms_wr_t w;

    if (f->hook_calls++ > 0)
        return 0;
    assert_non_null(res->verb);
    assert_string_equal(res->verb->name, "status");
    assert_int_equal(res->status, 0);
    kms_wr_init(&w);
    assert_int_equal(kms_cmd_render(res, &w), 0);
    snprintf(f->host_reply, sizeof f->host_reply, "%.*s", (int)(w.len < 60 ? w.len : 60),
             (const char *)w.buf);
    kms_wr_free(&w);
    f->pending = req;
    f->pending_res = res;
    uv_timer_start(&f->later, answer_cb, 50, 0);
    return 1;
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    fx_t *f = h->data;

    (void)sz;
    b->base = f->got + f->got_len;
    b->len = sizeof f->got - 1 - f->got_len;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    fx_t *f = s->data;
    const char *second;

    (void)b;
    if (n < 0) {
        uv_close((uv_handle_t *)s, NULL);
        return;
    }
    f->got_len += (size_t)n;
    f->got[f->got_len] = '\0';
    /* Both replies in: the deferred one, then the plain status reply. */
    second = strstr(f->got, "deferred answer\n");
    if (second && kms_control_reply_complete(second + 16, strlen(second + 16)) == 1) {
        f->done = 1;
        uv_close((uv_handle_t *)s, NULL);
        kms_control_stop(f->ctl, NULL, NULL);
    }
}

static void write_cb(uv_write_t *w, int status)
{
    fx_t *f = w->data;

    assert_int_equal(status, 0);
    if (f->close_client_first)
        uv_close((uv_handle_t *)&f->client, NULL);
}

static void connect_cb(uv_connect_t *c, int status)
{
    fx_t *f = c->data;
    static char cmds[] = "status\nstatus\n";
    uv_buf_t b = uv_buf_init(cmds, sizeof cmds - 1);

    assert_int_equal(status, 0);
    f->wr.data = f;
    assert_int_equal(uv_write(&f->wr, (uv_stream_t *)&f->client, &b, 1, write_cb), 0);
    if (!f->close_client_first)
        uv_read_start((uv_stream_t *)&f->client, alloc_cb, read_cb);
}

static void run_fixture(fx_t *f)
{
    kms_config_t cfg;
    kms_settings_t base;
    char err[512], text[256], sock[128];

    assert_int_equal(kms_config_defaults(&cfg), 0);
    snprintf(text, sizeof text, "[host]\nstate_dir = %s/state\nlisten = 127.0.0.1:11688\n", dir);
    assert_int_equal(kms_config_load_string(&cfg, text, strlen(text), "t.conf", err, sizeof err),
                     0);
    kms_config_host_settings(&cfg, &base);
    assert_int_equal(kms_host_open(cfg.state_dir, &base, &f->host, err, sizeof err), 0);
    kms_config_free(&cfg);
    kms_host_set_durable(f->host, 0);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    snprintf(sock, sizeof sock, "%s/ctl.sock", dir);
    assert_int_equal(kms_control_new(&f->loop, sock, f->host, &f->ctl), 0);
    kms_control_set_hook(f->ctl, hook, f);
    assert_int_equal(kms_control_start(f->ctl, err, sizeof err), 0);
    uv_timer_init(&f->loop, &f->later);
    f->later.data = f;
    uv_pipe_init(&f->loop, &f->client, 0);
    f->client.data = f;
    f->conn.data = f;
    uv_pipe_connect(&f->conn, &f->client, sock, connect_cb);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&f->later, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    kms_control_free(f->ctl);
    kms_host_free(f->host);
}

static void deferred_reply_keeps_order(void **state)
{
    fx_t *f = calloc(1, sizeof *f);

    (void)state;
    assert_non_null(f);
    run_fixture(f);
    assert_true(f->done);
    assert_int_equal(f->hook_calls, 2);
    /* the hook saw the host's own reply */
    assert_memory_equal(f->host_reply, "OK ", 3);
    /* first the deferred text (newline added), then the second command's reply */
    assert_memory_equal(f->got, "OK 1\ndeferred answer\nOK ", 24);
    assert_non_null(strstr(f->got + 22, "\nversion "));
    free(f);
}

static void client_gone_before_answer(void **state)
{
    fx_t *f = calloc(1, sizeof *f);

    (void)state;
    assert_non_null(f);
    f->close_client_first = 1;
    run_fixture(f);
    /* the answer went nowhere, the socket stopped cleanly (loop closed) */
    assert_true(f->done);
    assert_null(f->pending);
    free(f);
}

static void reply_complete(void **st)
{
    (void)st;
    assert_int_equal(kms_control_reply_complete("", 0), 0);
    assert_int_equal(kms_control_reply_complete("OK", 2), 0);
    assert_int_equal(kms_control_reply_complete("OK 0\n", 5), 1);
    assert_int_equal(kms_control_reply_complete("OK 2\na\n", 7), 0);
    assert_int_equal(kms_control_reply_complete("OK 2\na\nb\n", 9), 1);
    assert_int_equal(kms_control_reply_complete("ERR KMS_EINVAL no\n", 18), 1);
    assert_int_equal(kms_control_reply_complete("HELLO\n", 6), KMS_EMALFORMED);
    assert_int_equal(kms_control_reply_complete("OK x\n", 5), KMS_EMALFORMED);
    assert_int_equal(kms_control_reply_complete("OK \n", 4), KMS_EMALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(deferred_reply_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(client_gone_before_answer, setup, teardown),
        cmocka_unit_test(reply_complete),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
