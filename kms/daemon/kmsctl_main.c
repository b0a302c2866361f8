/* SPDX-License-Identifier: MIT */
/*
 * kmsctl_main.c - slmgr-like client of kmsd's control socket.
 *
 * Sends one command line, reads the reply ("OK <n>" + n lines, or
 * "ERR <name> <message>") and prints it: the payload lines on stdout (or one
 * JSON object with --json), an error as "kmsctl: <message>" on stderr.
 *
 * Socket: --socket PATH, else the control_socket (or state_dir) of the
 * configuration file given with --config, else --state-dir DIR/kmsd.sock,
 * else /var/lib/kmsd/kmsd.sock.
 *
 * The verbs, their usage and which answer with JSON come from the host's
 * verb table (kms/core/command.h).  Exit codes: 0 OK; 1 the host refused
 * the command (an ERR for a state the command cannot apply to: no such
 * product, decommissioned, a write failed, the DNS work of cdns or
 * decommission failed); 2 bad usage: kmsctl's own options or configuration,
 * and the host's usage errors (kms_cmd_usage_error(): an unknown verb, bad
 * arguments); 3 no answer (cannot connect, timeout, connection closed
 * early).  The error is told by its KMS_E* name in the reply, never by the
 * text of its message.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/json.h"
#include "kms/daemon/config.h"
#include "kms/core/command.h"
#include "kms/daemon/control.h"

#ifndef KMSDNS_VERSION
#define KMSDNS_VERSION "unknown"
#endif

#define MAX_REPLY (4u << 20)

/* The exit code for an ERR reply naming @p err_name. */
static int exit_code_for(const char *err_name)
{
    int err = kms_err_from_name(err_name);

    return err < 0 && kms_cmd_usage_error(err) ? 2 : 1;
}

static void usage(FILE *f)
{
    const kms_verb_t *v;
    size_t n;

    fprintf(f,
            "Usage: kmsctl [--socket PATH | --config FILE | --state-dir DIR] [--json]\n"
            "              [--timeout SEC] VERB [ARGS...]\n"
            "Talks to a running kmsd over its control socket (verbs named after slmgr).\n"
            "\n"
            "Options:\n"
            "  -S, --socket PATH     control socket (default: from --config, else\n"
            "                        <state_dir>/kmsd.sock of the built-in state_dir)\n"
            "  -c, --config FILE     take control_socket / state_dir from kmsd's config file\n"
            "  -d, --state-dir DIR   use DIR/kmsd.sock\n"
            "  -j, --json            print the answer as JSON: status and dli as the host's own\n"
            "                        JSON document, other verbs as {\"ok\", \"verb\", \"lines\"}\n"
            "  -t, --timeout SEC     give up after SEC seconds (default 10)\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show the version and exit\n"
            "\n"
            "Verbs:\n");
    v = kms_verbs(&n);
    for (size_t i = 0; i < n; i++) {
        char head[64];
        const char *h = v[i].help;

        snprintf(head, sizeof head, "%s%s%s", v[i].name, v[i].args[0] ? " " : "", v[i].args);
        /* the help's own lines, the first beside the verb, the others under it */
        for (int first = 1; *h; first = 0) {
            size_t len = strcspn(h, "\n");

            fprintf(f, "  %-20s  %.*s\n", first ? head : "", (int)len, h);
            h += len + (h[len] == '\n');
        }
    }
    fprintf(f, "\n"
               "Exit status: 0 OK, 1 the host refused the command, 2 bad usage (also an\n"
               "unknown verb or a bad or out-of-range argument the host rejected),\n"
               "3 kmsd could not be reached.\n");
}

/* The control socket kmsd takes from the configuration file @p path, or
 * from the defaults when @p path is NULL; malloc'd (NULL on ENOMEM). */
static char *socket_from_config(const char *path)
{
    kms_config_t cfg;
    char err[KMS_CONFIG_ERRLEN] = "";
    char *out = NULL;
    int rc;

    if (kms_config_defaults(&cfg) < 0)
        return NULL;
    rc = path ? kms_config_load(&cfg, path, err, sizeof err) : 0;
    if (rc < 0) {
        fprintf(stderr, "kmsctl: %s\n", err[0] ? err : kms_strerror(rc));
        kms_config_free(&cfg);
        exit(2);
    }
    out = kms_config_control_socket(&cfg);
    kms_config_free(&cfg);
    return out;
}

/*
 * `kmsctl sdomains --file PATH` ("-": standard input): one list entry per
 * line ("kms.test" or "kms.test 10 50"; commas as on the command line work
 * too), '#' to the end of a line a comment, blank lines skipped; appended
 * to @p out joined with ", ".  0, or the exit code after a message.
 */
static int list_from_file(const char *path, kms_wr_t *out)
{
    char *text = NULL, *save = NULL;
    size_t len = 0, n = 0;
    int r;

    if (strcmp(path, "-") == 0) {
        kms_wr_t in;
        ssize_t got;

        kms_wr_init(&in);
        do {
            if (kms_wr_reserve(&in, 65536) < 0)
                break;
            got = read(STDIN_FILENO, in.buf + in.len, 65536);
            if (got > 0)
                in.len += (size_t)got;
        } while ((got > 0 || (got < 0 && errno == EINTR)) && in.len <= 2 * KMS_CONTROL_MAX_LINE);
        kms_wr_u8(&in, 0);
        r = in.err    ? in.err
            : got < 0 ? kms_err_from_errno(errno)
            : in.len > 2 * KMS_CONTROL_MAX_LINE + 1
                ? KMS_ETOOBIG /* not all read: never a cut list */
                : 0;
        text = r == 0 ? (char *)kms_wr_steal(&in, &len) : NULL;
        kms_wr_free(&in);
    } else {
        r = kms_file_read(path, 2 * (size_t)KMS_CONTROL_MAX_LINE, &text, &len);
    }
    if (r < 0) {
        fprintf(stderr, "kmsctl: %s: %s\n", path, kms_strerror(r));
        free(text);
        return r == KMS_ENOMEM ? 3 : 2;
    }
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t e;

        l[strcspn(l, "#\r")] = '\0';
        for (char *t = strchr(l, '\t'); t; t = strchr(t, '\t'))
            *t = ' '; /* a TAB is a control character on the socket */
        l += strspn(l, " ");
        for (e = strlen(l); e && strchr(" ,", l[e - 1]); e--)
            ;
        if (e)
            kms_wr_printf(out, "%s%.*s", n++ ? ", " : "", (int)e, l);
    }
    free(text);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @p fd is ready for @p events or the deadline passes. 0, or -1 on timeout. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        long long left = deadline - now_ms();
        int r;

        if (left <= 0)
            return -1;
        r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int print_reply(char *buf, int json, const char *verb)
{
    char *line = buf, *nl;

    nl = strchr(line, '\n');
    *nl = '\0';
    if (strncmp(line, "ERR ", 4) == 0) {
        const char *name = line + 4, *msg = strchr(name, ' ');
        char namebuf[64];
        size_t nlen = msg ? (size_t)(msg - name) : strlen(name);

        msg = msg ? msg + 1 : "error";
        if (nlen >= sizeof namebuf)
            nlen = sizeof namebuf - 1;
        memcpy(namebuf, name, nlen);
        namebuf[nlen] = '\0';
        if (json) {
            kms_json_t *o = kms_json_object();
            char *s;

            kms_json_set_bool(o, "ok", 0);
            kms_json_set_str(o, "verb", verb);
            kms_json_set_str(o, "error", namebuf);
            kms_json_set_str(o, "message", msg);
            s = kms_json_dump(o, 1);
            if (s)
                printf("%s\n", s);
            free(s);
            kms_json_free(o);
        }
        fprintf(stderr, "kmsctl: %s\n", msg);
        return exit_code_for(namebuf);
    }
    {
        unsigned long n = strtoul(line + 2, NULL, 10);
        kms_json_t *o = NULL, *lines = NULL;

        if (json == 1) {
            o = kms_json_object();
            lines = kms_json_array();
            kms_json_set_bool(o, "ok", 1);
            kms_json_set_str(o, "verb", verb);
        }
        line = nl + 1;
        for (unsigned long i = 0; i < n; i++) {
            nl = strchr(line, '\n');
            if (!nl)
                break;
            *nl = '\0';
            if (json == 1) {
                kms_json_append_str(lines, line);
            } else {
                printf("%s\n", line);
            }
            line = nl + 1;
        }
        if (json == 1) {
            char *s;

            kms_json_set(o, "lines", lines);
            s = kms_json_dump(o, 1);
            if (s)
                printf("%s\n", s);
            free(s);
            kms_json_free(o);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 'S'},    {"config", required_argument, NULL, 'c'},
        {"state-dir", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},   {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
    };
    const char *sock_opt = NULL, *config = NULL, *state_dir = NULL;
    char *sock = NULL, *line = NULL, *buf = NULL;
    size_t line_len = 0, blen = 0, bcap = 0;
    kms_wr_t cmd = {0};
    uint64_t timeout_s = 10;
    struct sockaddr_un sun;
    long long deadline;
    int opt, json = 0, fd = -1, rc = 0;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:S:c:d:jt:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'S':
            sock_opt = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'd':
            state_dir = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 't':
            if (kms_duration_parse(optarg, 1, &timeout_s) < 0 || timeout_s == 0 ||
                timeout_s > 3600) {
                fprintf(stderr, "kmsctl: --timeout %s: expected seconds (1..3600)\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("kmsctl (kmsdns) %s\n", KMSDNS_VERSION);
            return 0;
        case ':':
            fprintf(stderr, "kmsctl: option %s needs an argument (see kmsctl --help)\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "kmsctl: unknown option %s (see kmsctl --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "kmsctl: no verb given (see kmsctl --help)\n");
        return 2;
    }
    if ((sock_opt != NULL) + (config != NULL) + (state_dir != NULL) > 1) {
        fprintf(stderr, "kmsctl: give only one of --socket, --config, --state-dir\n");
        return 2;
    }
    if (sock_opt)
        sock = strdup(sock_opt);
    else if (config)
        sock = socket_from_config(config);
    else if (state_dir)
        sock = kms_path_join(state_dir, "kmsd.sock");
    else
        sock = socket_from_config(NULL);
    if (!sock)
        goto nomem;

    /* The command line: the verb and its arguments, separated by spaces. */
    kms_wr_init(&cmd);
    if (argc - optind == 3 && strcmp(argv[optind], "sdomains") == 0 &&
        strcmp(argv[optind + 1], "--file") == 0) {
        kms_wr_printf(&cmd, "sdomains ");
        if ((rc = list_from_file(argv[optind + 2], &cmd)) != 0)
            goto out;
    } else {
        size_t total = 16; /* " --json", "\n", NUL */

        /* room for it all at once: a buffer grown by realloc would leave
         * copies of the arguments (a whole product key) in freed memory */
        for (int i = optind; i < argc; i++)
            total += strlen(argv[i]) + 1;
        kms_wr_reserve(&cmd, total);
        for (int i = optind; i < argc; i++) {
            if (strpbrk(argv[i], "\r\n")) {
                fprintf(stderr, "kmsctl: arguments must not contain line breaks\n");
                rc = 2;
                goto out;
            }
            kms_wr_printf(&cmd, "%s%s", i > optind ? " " : "", argv[i]);
        }
    }
    if (json && kms_verb_find(argv[optind]) && kms_verb_find(argv[optind])->json) {
        kms_wr_printf(&cmd, " --json"); /* the host answers with one JSON document */
        json = 2;
    }
    if (cmd.err)
        goto nomem;
    if (cmd.len > KMS_CONTROL_MAX_LINE) { /* kmsd's own limit, the same number */
        fprintf(stderr, "kmsctl: command longer than %d bytes\n", KMS_CONTROL_MAX_LINE);
        rc = 2;
        goto out;
    }
    kms_wr_printf(&cmd, "\n");
    kms_wr_u8(&cmd, 0);
    if (cmd.err || !(line = (char *)kms_wr_steal(&cmd, &line_len)))
        goto nomem;

    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(sock) >= sizeof sun.sun_path) {
        fprintf(stderr, "kmsctl: socket path too long: %s\n", sock);
        rc = 2;
        goto out;
    }
    memcpy(sun.sun_path, sock, strlen(sock) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;

        /* "is kmsd running?" only where that is the question: not for a
         * socket it runs behind but this user may not use */
        fprintf(stderr, "kmsctl: cannot connect to %s: %s%s\n", sock, strerror(e),
                e == ENOENT || e == ECONNREFUSED ? " (is kmsd running?)"
                : e == EACCES || e == EPERM      ? " (run kmsctl as kmsd's user or root)"
                                                 : "");
        rc = 3;
        goto out;
    }
    deadline = now_ms() + (long long)timeout_s * 1000;
    for (size_t off = 0, len = strlen(line); off < len;) {
        ssize_t w;

        if (wait_fd(fd, POLLOUT, deadline) < 0)
            goto timeout;
        w = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto closed;
        off += (size_t)w;
    }
    for (;;) {
        ssize_t r;
        int done;

        if (bcap - blen < 4096) {
            char *nb;

            if (bcap >= MAX_REPLY) {
                fprintf(stderr, "kmsctl: reply from %s too large\n", sock);
                rc = 3;
                goto out;
            }
            nb = realloc(buf, bcap ? bcap * 2 : 8192);
            if (!nb)
                goto nomem;
            buf = nb;
            bcap = bcap ? bcap * 2 : 8192;
        }
        if (wait_fd(fd, POLLIN, deadline) < 0)
            goto timeout;
        r = recv(fd, buf + blen, bcap - blen - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto closed;
        blen += (size_t)r;
        buf[blen] = '\0';
        done = kms_control_reply_complete(buf, blen);
        if (done < 0) {
            fprintf(stderr, "kmsctl: unexpected reply from %s\n", sock);
            rc = 3;
            goto out;
        }
        if (done)
            break;
    }
    rc = print_reply(buf, json, argv[optind]);
    goto out;

timeout:
    fprintf(stderr, "kmsctl: no answer from %s within %llu s\n", sock,
            (unsigned long long)timeout_s);
    rc = 3;
    goto out;
closed:
    fprintf(stderr, "kmsctl: %s closed the connection before answering\n", sock);
    rc = 3;
    goto out;
nomem:
    fprintf(stderr, "kmsctl: out of memory\n");
    rc = 3;
out:
    if (fd >= 0)
        close(fd);
    free(sock);
    if (cmd.buf) /* the arguments may hold a whole product key (ipk) */
        explicit_bzero(cmd.buf, cmd.len);
    kms_wr_free(&cmd);
    if (line)
        explicit_bzero(line, strlen(line));
    free(line);
    free(buf);
    return rc;
}
