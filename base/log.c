/* SPDX-License-Identifier: MIT */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *progname = "kmsdns";
static int with_time;
static int journal; /* stderr is journald's stream: "<N>" prefixes, no time */
static kms_log_level_t threshold = KMS_LOG_INFO;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected to
 * stderr; it counts only while stderr is still that stream. */
static int stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    char end;

    if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int kms_log_journal(void)
{
    return journal;
}

void kms_log_init(const char *name, int timestamps)
{
    const char *slash = name ? strrchr(name, '/') : NULL;

    if (name)
        progname = slash ? slash + 1 : name;
    with_time = timestamps;
    journal = stderr_is_journal();
}

void kms_log_set_level(kms_log_level_t level)
{
    threshold = level;
}

kms_log_level_t kms_log_get_level(void)
{
    return threshold;
}

int kms_ratelimit(kms_ratelimit_t *rl, uint64_t now, uint64_t interval, uint64_t *quiet)
{
    if (rl->started && now - rl->last < interval) {
        rl->quiet++;
        return 0;
    }
    *quiet = rl->quiet;
    rl->quiet = 0;
    rl->last = now;
    rl->started = 1;
    return 1;
}

const char *kms_log_progname(void)
{
    return progname;
}

int kms_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warn") == 0)
        return KMS_LOG_WARN;
    return -1;
}

void kms_log(kms_log_level_t level, const char *fmt, ...)
{
    char line[2048];
    size_t n = 0;
    va_list ap;
    int r;

    if (level > threshold)
        return;
    if (journal) {
        /* sd-daemon(3) priorities: err, warning, info, debug; journald
         * stamps the time and knows the program */
        static const char prio[] = {'3', '4', '6', '7'};
        r = snprintf(line, sizeof line, "<%c>%s: ", prio[level], level_names[level]);
        n = r > 0 ? (size_t)r : 0;
    } else if (with_time) {
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        r = snprintf(line + n, sizeof line - n, ".%03ldZ ", ts.tv_nsec / 1000000);
        n += r > 0 ? (size_t)r : 0;
    }
    if (!journal) {
        r = snprintf(line + n, sizeof line - n, "%s: %s: ", progname, level_names[level]);
        n += r > 0 ? (size_t)r : 0;
    }
    size_t msg = n;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += (size_t)r;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    /* One line per message: a control character (a newline in a peer's
     * text, say) would start a line of its own, which journald would file
     * under a priority the text chose. */
    for (size_t i = msg; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = ' ';
    line[n++] = '\n';
    /* One write per line; a short write to stderr is not worth retrying. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}
