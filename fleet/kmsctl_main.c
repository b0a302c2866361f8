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
#include "fleet/handover.h"
#include "resolver/locate.h"

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
        ssize_t got = 0;

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

/*
 * One exchange with kmsd at @p sock: @p line (with its newline) out, the
 * whole reply in (*@p reply, malloc'd, NUL-terminated).  0, or 3 with the
 * reason in @p err (cannot connect, timeout, closed early, too large).
 */
static int ctl_exchange(const char *sock, const char *line, unsigned timeout_s, char **reply,
                        char *err, size_t errlen)
{
    struct sockaddr_un sun;
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    long long deadline;
    int fd = -1, rc = 3;

    *reply = NULL;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(sock) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", sock);
        return 3;
    }
    memcpy(sun.sun_path, sock, strlen(sock) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;

        /* "is kmsd running?" only where that is the question: not for a
         * socket it runs behind but this user may not use */
        snprintf(err, errlen, "cannot connect to %s: %s%s", sock, strerror(e),
                 e == ENOENT || e == ECONNREFUSED ? " (is kmsd running?)"
                 : e == EACCES || e == EPERM      ? " (run kmsctl as kmsd's user or root)"
                                                  : "");
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
                snprintf(err, errlen, "reply from %s too large", sock);
                goto out;
            }
            nb = realloc(buf, bcap ? bcap * 2 : 8192);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
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
            snprintf(err, errlen, "unexpected reply from %s", sock);
            goto out;
        }
        if (done)
            break;
    }
    *reply = buf;
    buf = NULL;
    rc = 0;
    goto out;
timeout:
    snprintf(err, errlen, "no answer from %s within %u s", sock, timeout_s);
    goto out;
closed:
    snprintf(err, errlen, "%s closed the connection before answering", sock);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* handover's line to kmsd (fleet_ctl_fn): the payload of an OK, the
 * message of an ERR (handover names the command). */
static int handover_ctl(void *ud, const char *line, unsigned timeout_s, char **payload, char *err,
                        size_t errlen)
{
    char *cmd, *reply = NULL, *nl;
    size_t len = strlen(line);
    int rc;

    *payload = NULL;
    if (!(cmd = malloc(len + 2))) {
        snprintf(err, errlen, "out of memory");
        return 3;
    }
    memcpy(cmd, line, len);
    memcpy(cmd + len, "\n", 2);
    rc = ctl_exchange(ud, cmd, timeout_s, &reply, err, errlen);
    free(cmd);
    if (rc != 0)
        return rc;
    nl = strchr(reply, '\n');
    *nl = '\0';
    if (strncmp(reply, "ERR ", 4) == 0) {
        const char *msg = strchr(reply + 4, ' ');
        snprintf(err, errlen, "%s", msg ? msg + 1 : reply + 4);
        free(reply);
        return 1;
    }
    memmove(reply, nl + 1, strlen(nl + 1) + 1); /* the lines after "OK <n>" */
    *payload = reply;
    return 0;
}

static void handover_usage(FILE *f)
{
    fprintf(f, "Usage: kmsctl [--socket PATH | --config FILE | --state-dir DIR] [--json]\n"
               "              handover [OPTIONS] HOST[:PORT]\n"
               "Hands this host's role to the KMS host HOST (its fully qualified DNS name, as\n"
               "its SRV target), checking each step: 1 HOST answers (bind, and its count in\n"
               "every pool this host's clients count in), 2 its record is served by every\n"
               "name server of each of this host's domains, 3 this host's record removed\n"
               "(cdns) and gone from every name server, 4 a client's discovery finds HOST\n"
               "first and not this host, 5 this host keeps answering for the drain, then is\n"
               "decommissioned.  Nothing changes when step 1 or 2 fails.\n"
               "\n"
               "Options:\n"
               "  --dry-run            print the plan, change nothing\n"
               "  --force              go on when a count of HOST is below its threshold\n"
               "  --required N         the threshold of every pool (default: what this host's\n"
               "                       clients asked for, 25 Windows clients, 5 servers and\n"
               "                       Office; 25 when it has counted none)\n"
               "  --wait DURATION      bound of each wait for the name servers and resolvers\n"
               "                       (default 5m; discovery also waits out the record's TTL)\n"
               "  --drain DURATION     keep answering this long before decommission (default\n"
               "                       10m); Ctrl-C ends it there, the host unpublished\n"
               "  --resolver IP[:PORT] the DNS server clients ask ([IPv6]:PORT with a port;\n"
               "                       default: the nameservers of /etc/resolv.conf)\n"
               "  --probe-timeout SEC  connect and bind timeout, each (default 2)\n"
               "\n"
               "Exit status: 0 handed over (or planned), 1 a step failed (its line says what\n"
               "to fix), 2 bad usage, 3 kmsd could not be reached.\n");
}

/* `kmsctl handover ...`: @p argv from the verb on (argv[0] "handover"). */
static int handover_main(int argc, char **argv, const char *sock, int json, unsigned timeout_s)
{
    static const struct option opts[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'f'},
        {"required", required_argument, NULL, 'r'},
        {"wait", required_argument, NULL, 'w'},
        {"drain", required_argument, NULL, 'D'},
        {"resolver", required_argument, NULL, 'R'},
        {"probe-timeout", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fleet_handover_options_t o;
    char host[KMS_DNS_NAMELEN];
    uint64_t v;
    int opt;

    fleet_handover_options_init(&o);
    o.json = json;
    o.ctl = handover_ctl;
    o.ctl_ud = (void *)sock;
    o.ctl_timeout_s = timeout_s;
    optind = 0; /* a fresh scan, options after HOST too (main's was "+": verb first) */
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            o.dry_run = 1;
            break;
        case 'f':
            o.force = 1;
            break;
        case 'r':
            if (kms_uint_parse(optarg, 1, 1000, &v) < 0) {
                fprintf(stderr, "kmsctl: handover --required %s: expected 1..1000\n", optarg);
                return 2;
            }
            o.required = (uint32_t)v;
            break;
        case 'w':
        case 'D':
            if (kms_duration_parse(optarg, 1, &v) < 0 || v > 7 * 86400 || (opt == 'w' && !v)) {
                fprintf(stderr, "kmsctl: handover --%s %s: expected a duration (30s, 5m, 1h)%s\n",
                        opt == 'w' ? "wait" : "drain", optarg, opt == 'w' ? " above 0" : "");
                return 2;
            }
            *(opt == 'w' ? &o.wait_ms : &o.drain_ms) = v * 1000;
            break;
        case 'R':
            o.resolver = optarg;
            break;
        case 'p':
            if (kms_uint_parse(optarg, 1, 60, &v) < 0) {
                fprintf(stderr, "kmsctl: handover --probe-timeout %s: expected 1..60 s\n", optarg);
                return 2;
            }
            o.probe_timeout_ms = (unsigned)v * 1000;
            break;
        case 'h':
            handover_usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "kmsctl: handover: option %s needs an argument\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "kmsctl: handover: unknown option %s (see kmsctl handover --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "kmsctl: handover takes one HOST[:PORT] (see kmsctl handover --help)\n");
        return 2;
    }
    if (loc_parse_hostport(argv[optind], host, sizeof host, &o.port) < 0) {
        fprintf(stderr, "kmsctl: handover: %s: expected HOST[:PORT]\n", argv[optind]);
        return 2;
    }
    o.host = host;
    return fleet_handover(&o);
}

/* Verbs kmsctl carries out itself (talking to kmsd and others), beside
 * kmsd's own verb table (kms/core/command.h). */
typedef struct {
    const char *name, *args, *help;
    int (*run)(int argc, char **argv, const char *sock, int json, unsigned timeout_s);
} own_verb_t;

static const own_verb_t own_verbs[] = {
    {"handover", "HOST[:PORT]",
     "hand this host's role to HOST, each step checked, then\ndecommission (kmsctl handover "
     "--help)",
     handover_main},
};

static const own_verb_t *own_verb_find(const char *name)
{
    for (size_t i = 0; i < sizeof own_verbs / sizeof own_verbs[0]; i++)
        if (strcmp(own_verbs[i].name, name) == 0)
            return &own_verbs[i];
    return NULL;
}

/* A verb's lines of --help: the first beside the verb, the others under it. */
static void verb_help(FILE *f, const char *name, const char *args, const char *h)
{
    char head[64];

    snprintf(head, sizeof head, "%s%s%s", name, args[0] ? " " : "", args);
    for (int first = 1; *h; first = 0) {
        size_t len = strcspn(h, "\n");

        fprintf(f, "  %-20s  %.*s\n", first ? head : "", (int)len, h);
        h += len + (h[len] == '\n');
    }
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
    for (size_t i = 0; i < n; i++)
        verb_help(f, v[i].name, v[i].args, v[i].help);
    for (size_t i = 0; i < sizeof own_verbs / sizeof own_verbs[0]; i++)
        verb_help(f, own_verbs[i].name, own_verbs[i].args, own_verbs[i].help);
    fprintf(f, "\n"
               "Exit status: 0 OK, 1 the host refused the command, 2 bad usage (also an\n"
               "unknown verb or a bad or out-of-range argument the host rejected),\n"
               "3 kmsd could not be reached.\n");
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

            kms_json_set_bool(o, "ok", 0);
            kms_json_set_str(o, "verb", verb);
            kms_json_set_str(o, "error", namebuf);
            kms_json_set_str(o, "message", msg);
            kms_json_print(stdout, o, 1);
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
            kms_json_set(o, "lines", lines);
            kms_json_print(stdout, o, 1);
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
    size_t line_len = 0;
    kms_wr_t cmd = {0};
    uint64_t timeout_s = 10;
    char err[512];
    int opt, json = 0, rc = 0;

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

    if (own_verb_find(argv[optind])) {
        rc = own_verb_find(argv[optind])
                 ->run(argc - optind, argv + optind, sock, json, (unsigned)timeout_s);
        goto out;
    }

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

    rc = ctl_exchange(sock, line, (unsigned)timeout_s, &buf, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "kmsctl: %s\n", err);
        goto out;
    }
    rc = print_reply(buf, json, argv[optind]);
    goto out;

nomem:
    fprintf(stderr, "kmsctl: out of memory\n");
    rc = 3;
out:
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
