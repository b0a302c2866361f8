/* Fuzz target: control lines (kms_host_command) on a host whose state lives in a
 * temporary directory (tmpfs when available), with fsync off (kms_host_set_durable). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/wire.h"
#include "kms/core/host.h"

static kms_host_t *host;
static char dir[64];

static void cleanup(void)
{
    char cmd[128];

    kms_host_free(host);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_control: cannot remove %s\n", dir);
}

static kms_host_t *get_host(void)
{
    kms_settings_t base;
    pub_domain_list_t none = {0};
    char err[512];

    if (host)
        return host;
    kms_log_set_level(KMS_LOG_ERROR);
    snprintf(dir, sizeof dir, "%s/kms_fuzz_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    /* kmsd.conf's defaults, as the daemon would give them */
    memset(&base, 0, sizeof base);
    base.port = 1688;
    base.activation_interval = 120;
    base.renewal_interval = 10080;
    base.publish = 1;
    base.domains = &none;
    if (kms_host_open(dir, &base, &host, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_control: %s\n", err);
        abort();
    }
    kms_host_set_durable(host, 0);
    atexit(cleanup);
    return host;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_host_t *h = get_host();
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
            return 0;
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
    return 0;
}
