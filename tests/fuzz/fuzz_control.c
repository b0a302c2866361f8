/* SPDX-License-Identifier: MIT */
/* Fuzz target: control lines (kms_host_command) on a host whose state files
 * stay in memory (kms_host_set_state_writer): each file a verb writes must
 * parse back, as the next start of kmsd would read it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/wire.h"
#include "kms/core/host.h"
#include "kms/core/inventory.h"
#include "kms/core/state.h"

static char dir[64]; /* holds the host's lock file only: the state stays in memory */

static void cleanup(void)
{
    char lock[96];

    snprintf(lock, sizeof lock, "%s/%s", dir, KMS_STATE_LOCK);
    unlink(lock);
    if (rmdir(dir) < 0)
        fprintf(stderr, "fuzz_control: cannot remove %s\n", dir);
}

/* The files the verbs write, parsed back at once (never written to disk). */
static int parse_back(void *ud, const char *kind, const void *data, size_t len)
{
    char err[512];
    int r = 0;

    (void)ud;
    if (strcmp(kind, KMS_STATE_INVENTORY) == 0) {
        kms_inv_t inv;

        kms_inv_init(&inv);
        r = kms_state_parse_inventory(data, len, kind, 0, &inv, err, sizeof err);
        kms_inv_clear(&inv);
    } else if (strcmp(kind, KMS_STATE_SETTINGS) == 0) {
        kms_overrides_t o = {0};

        r = kms_state_parse_settings(data, len, kind, 0, &o, err, sizeof err);
        kms_overrides_free(&o);
    }
    if (r == KMS_ECORRUPT) {
        fprintf(stderr, "fuzz_control: a verb wrote a %s file that does not parse back: %s\n", kind,
                err);
        abort();
    }
    return r;
}

/* A new host for each input, as kmsd would start on an empty state_dir:
 * an input's outcome does not depend on the inputs before it. */
static kms_host_t *new_host(void)
{
    kms_settings_t base;
    pub_domain_list_t none = {0};
    kms_host_t *h;
    char err[512];

    if (!dir[0]) {
        kms_log_set_level(KMS_LOG_ERROR);
        snprintf(dir, sizeof dir, "%s/kms_fuzz_XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
    }
    /* kmsd.conf's defaults, as the daemon would give them */
    memset(&base, 0, sizeof base);
    base.port = 1688;
    base.activation_interval = 120;
    base.renewal_interval = 10080;
    base.publish = 1;
    base.domains = &none;
    if (kms_host_open(dir, &base, &h, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_control: %s\n", err);
        abort();
    }
    kms_host_set_state_writer(h, parse_back, NULL);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_host_t *h = new_host();
    size_t pos = 0;

    /* One command per input line, as the control socket delivers them. */
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
        char *line = malloc(n + 1);
        kms_cmd_result_t res;
        kms_wr_t reply;
        int r;

        if (!line)
            break;
        memcpy(line, data + pos, n);
        line[n] = 0;
        kms_cmd_result_init(&res);
        r = kms_host_command(h, line, &res);
        /* a success always names its verb; the result renders */
        if (r != res.status || (r == 0 && !res.verb))
            abort();
        kms_wr_init(&reply);
        kms_cmd_render(&res, &reply);
        kms_cmd_result_free(&res);
        /* Every reply is one "OK n" block or one ERR line, ending in a newline. */
        if (reply.err || reply.len < 4 || reply.buf[reply.len - 1] != '\n' ||
            (r == 0) != (memcmp(reply.buf, "OK ", 3) == 0))
            abort();
        kms_wr_free(&reply);
        free(line);
        pos += n + 1;
    }
    kms_host_free(h);
    return 0;
}
