/* SPDX-License-Identifier: MIT */
/* Unit tests for base/: wire reader/writer, GUIDs, addresses, durations, atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/backoff.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/log.h"
#include "base/fsutil.h"
#include "base/guid.h"
#include "base/random.h"
#include "base/wire.h"

static void reader_is_sticky_and_bounded(void **state)
{
    const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05};
    kms_rd_t rd;
    uint32_t v32;
    uint16_t v16;

    kms_rd_init(&rd, data, sizeof data);
    assert_int_equal(kms_rd_u32le(&rd, &v32), 0);
    assert_int_equal(v32, 0x04030201);
    assert_int_equal(kms_rd_u16le(&rd, &v16), KMS_ETRUNC);
    assert_int_equal(v16, 0);
    /* Once failed, even a read that would fit fails. */
    uint8_t v8 = 0xff;
    assert_int_equal(kms_rd_u8(&rd, &v8), KMS_ETRUNC);
    assert_int_equal(v8, 0);
    assert_int_equal(kms_rd_left(&rd), 0);
}

static void reader_align_and_sub(void **state)
{
    const uint8_t data[] = {0xaa, 0, 0, 0, 0x10, 0x20, 0x30};
    kms_rd_t rd, sub;
    uint8_t b;
    uint16_t v;

    kms_rd_init(&rd, data, sizeof data);
    kms_rd_u8(&rd, &b);
    assert_int_equal(kms_rd_align(&rd, 4), 0);
    assert_int_equal(kms_rd_sub(&rd, &sub, 2), 0);
    assert_int_equal(kms_rd_u16be(&sub, &v), 0);
    assert_int_equal(v, 0x1020);
    assert_int_equal(kms_rd_u8(&sub, &b), KMS_ETRUNC);
    assert_int_equal(rd.err, 0);
    assert_int_equal(kms_rd_left(&rd), 1);
    assert_int_equal(kms_rd_sub(&rd, &sub, 2), KMS_ETRUNC);
}

static void writer_builds_and_patches(void **state)
{
    kms_wr_t wr;
    size_t len;
    uint8_t *buf;

    kms_wr_init(&wr);
    kms_wr_u8(&wr, 1);
    kms_wr_align(&wr, 4);
    kms_wr_u16le(&wr, 0);
    kms_wr_u32be(&wr, 0x01020304);
    for (int i = 0; i < 100; i++)
        kms_wr_u8(&wr, (uint8_t)i);
    assert_int_equal(kms_wr_patch_u16le(&wr, 4, 0xbeef), 0);
    assert_int_equal(kms_wr_patch_u32le(&wr, wr.len - 2, 1), KMS_EINVAL);
    buf = kms_wr_steal(&wr, &len);
    assert_non_null(buf);
    assert_int_equal(len, 110);
    const uint8_t head[] = {1, 0, 0, 0, 0xef, 0xbe, 1, 2, 3, 4, 0};
    assert_memory_equal(buf, head, sizeof head);
    free(buf);
    assert_null(wr.buf);
}

/* Formatted text of any length, no NUL counted, appended after bytes. */
static void writer_printf_any_length(void **state)
{
    kms_wr_t wr;
    char big[2000];
    size_t len;
    uint8_t *buf;

    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    kms_wr_init(&wr);
    kms_wr_u8(&wr, 'A');
    assert_int_equal(kms_wr_printf(&wr, "%s-%d", "port", 1688), 0);
    assert_int_equal(wr.len, 1 + 9);
    assert_int_equal(kms_wr_printf(&wr, "%s", big), 0);
    assert_int_equal(kms_wr_printf(&wr, "%s", ""), 0);
    assert_int_equal(kms_wr_printf(&wr, "!"), 0);
    buf = kms_wr_steal(&wr, &len);
    assert_non_null(buf);
    assert_int_equal(len, 1 + 9 + 1999 + 1);
    assert_memory_equal(buf, "Aport-1688xx", 12);
    assert_int_equal(buf[len - 2], 'x');
    assert_int_equal(buf[len - 1], '!');
    free(buf);
}

static void guid_text_and_wire(void **state)
{
    kms_guid_t g, g2;
    char s[KMS_GUID_STRLEN];
    /* The KMS interface UUID as NDR puts it on the wire (C706 / MS-RPCE). */
    const uint8_t wire[16] = {0x75, 0x21, 0xc8, 0x51, 0x4e, 0x84, 0x50, 0x47,
                              0xb0, 0xd8, 0xec, 0x25, 0x55, 0x55, 0xbc, 0x06};

    assert_int_equal(kms_guid_parse("51c82175-844e-4750-b0d8-ec255555bc06", &g), 0);
    assert_memory_equal(g.b, wire, 16);
    assert_string_equal(kms_guid_format(&g, s), "51c82175-844e-4750-b0d8-ec255555bc06");
    assert_int_equal(kms_guid_parse("{51C82175-844E-4750-B0D8-EC255555BC06}", &g2), 0);
    assert_true(kms_guid_eq(&g, &g2));
    assert_int_equal(kms_guid_parse("51c82175-844e-4750-b0d8-ec255555bc0", &g2), KMS_EINVAL);
    assert_int_equal(kms_guid_parse("51c82175x844e-4750-b0d8-ec255555bc06", &g2), KMS_EINVAL);
    assert_int_equal(kms_guid_parse("51c82175-844e-4750-b0d8-ec255555bcg6", &g2), KMS_EINVAL);
}

static void addresses(void **state)
{
    struct sockaddr_storage ss;
    char buf[KMS_ADDRSTRLEN];

    assert_int_equal(kms_addr_parse("127.0.0.1:5300", 53, &ss), 0);
    assert_string_equal(kms_addr_format((struct sockaddr *)&ss, buf), "127.0.0.1:5300");
    assert_string_equal(kms_addr_format_dns((struct sockaddr *)&ss, buf), "127.0.0.1#5300");
    assert_int_equal(kms_addr_parse("127.0.0.1", 53, &ss), 0);
    assert_int_equal(kms_addr_port((struct sockaddr *)&ss), 53);
    assert_int_equal(kms_addr_parse("[::1]:1688", 53, &ss), 0);
    assert_string_equal(kms_addr_format((struct sockaddr *)&ss, buf), "[::1]:1688");
    assert_int_equal(kms_addr_parse("::1", 53, &ss), 0);
    assert_int_equal(kms_addr_port((struct sockaddr *)&ss), 53);
    assert_int_equal(kms_addr_parse("[::]", 1688, &ss), 0);
    assert_int_equal(kms_addr_parse("ns1.example", 53, &ss), KMS_EADDR);
    assert_int_equal(kms_addr_parse("127.0.0.1:0", 53, &ss), KMS_ERANGE);
    assert_int_equal(kms_addr_parse("127.0.0.1:65536", 53, &ss), KMS_ERANGE);
    assert_int_equal(kms_addr_parse("127.0.0.1:x", 53, &ss), KMS_EINVAL);
    assert_int_equal(kms_addr_parse("[::1", 53, &ss), KMS_EADDR);

    /* from A / AAAA record bytes */
    static const uint8_t v4[4] = {192, 0, 2, 7}, v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    assert_int_equal(kms_addr_from_bytes(AF_INET, v4, 5300, &ss), 0);
    assert_string_equal(kms_addr_format((struct sockaddr *)&ss, buf), "192.0.2.7:5300");
    assert_int_equal(kms_addr_from_bytes(AF_INET6, v6, 53, &ss), 0);
    assert_string_equal(kms_addr_format((struct sockaddr *)&ss, buf), "[2001:db8::1]:53");
    assert_int_equal(kms_addr_from_bytes(AF_UNIX, v6, 53, &ss), KMS_EINVAL);
    assert_int_equal(ss.ss_family, 0);
}

static void durations(void **state)
{
    uint64_t s;

    assert_int_equal(kms_duration_parse("24h", 1, &s), 0);
    assert_int_equal(s, 86400);
    assert_int_equal(kms_duration_parse("120", 60, &s), 0);
    assert_int_equal(s, 7200);
    assert_int_equal(kms_duration_parse("1", 1, &s), 0);
    assert_int_equal(s, 1);
    assert_int_equal(kms_duration_parse("7d", 60, &s), 0);
    assert_int_equal(s, 604800);
    assert_int_equal(kms_duration_parse("5x", 1, &s), KMS_EINVAL);
    assert_int_equal(kms_duration_parse("-5", 1, &s), KMS_EINVAL);
    assert_int_equal(kms_duration_parse("5hh", 1, &s), KMS_EINVAL);
    assert_int_equal(kms_duration_parse("99999999999999999999", 1, &s), KMS_ERANGE);
    assert_int_equal(kms_duration_parse("999999999999999999d", 1, &s), KMS_ERANGE);
    char buf[32];
    assert_string_equal(kms_duration_format(86400, buf, sizeof buf), "1d");
    assert_string_equal(kms_duration_format(90, buf, sizeof buf), "90s");
}

static void atomic_file(void **state)
{
    char dir[] = "/tmp/kms_test_base_XXXXXX";
    char *path, *buf;
    size_t len;
    struct stat st;

    assert_non_null(mkdtemp(dir));
    path = kms_path_join(dir, "state");
    assert_int_equal(kms_file_read(path, 100, &buf, &len), KMS_ENOENT);
    assert_int_equal(kms_file_write_atomic(path, "old", 3, 0600), 0);
    assert_int_equal(kms_file_write_atomic(path, "new!", 4, 0600), 0);
    assert_int_equal(kms_file_read(path, 100, &buf, &len), 0);
    assert_int_equal(len, 4);
    assert_string_equal(buf, "new!");
    free(buf);
    assert_int_equal(kms_file_read(path, 3, &buf, &len), KMS_ETOOBIG);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    unlink(path);
    free(path);
    rmdir(dir);
}

/* One holder at a time (another open of the file counts as another
 * holder, as another process would); the PID in the file names it. */
static void lock_file(void **state)
{
    char dir[] = "/tmp/kms_test_base_XXXXXX";
    char *path, *link, *buf;
    size_t len;
    long holder = -1;
    int fd, fd2;

    (void)state;
    assert_non_null(mkdtemp(dir));
    path = kms_path_join(dir, "lock");
    link = kms_path_join(dir, "link");
    fd = kms_lock_take(path, &holder);
    assert_true(fd >= 0);
    assert_int_equal(holder, 0);
    assert_int_equal(kms_file_read(path, 100, &buf, &len), 0);
    assert_int_equal(strtol(buf, NULL, 10), (long)getpid());
    free(buf);
    assert_int_equal(kms_lock_take(path, &holder), KMS_EBUSY);
    assert_int_equal(holder, (long)getpid());
    kms_lock_release(fd);
    fd2 = kms_lock_take(path, &holder);
    assert_true(fd2 >= 0);
    kms_lock_release(fd2);
    kms_lock_release(-1);
    /* never through a symbolic link */
    assert_int_equal(symlink(path, link), 0);
    assert_true(kms_lock_take(link, &holder) < 0);
    unlink(link);
    unlink(path);
    free(link);
    free(path);
    rmdir(dir);
}

/* What is not a regular file is said to be what it is; a link is refused
 * when asked; kms_path_private() names the owner or mode and the fix. */
static void file_kinds_and_private_paths(void **state)
{
    char dir[] = "/tmp/kms_test_base_XXXXXX";
    char *f, *link, *fifo, *buf, why[256];
    size_t len;

    (void)state;
    assert_non_null(mkdtemp(dir));
    f = kms_path_join(dir, "f");
    link = kms_path_join(dir, "link");
    fifo = kms_path_join(dir, "fifo");
    assert_int_equal(kms_file_write_atomic(f, "x", 1, 0600), 0);
    assert_int_equal(symlink(f, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(kms_file_read(dir, 100, &buf, &len), KMS_EISDIR);
    assert_int_equal(kms_file_read(fifo, 100, &buf, &len), KMS_ENOTFILE); /* and no hang */
    assert_int_equal(kms_file_read(link, 100, &buf, &len), 0);
    free(buf);
    assert_int_equal(kms_file_read_ex(link, 100, KMS_FILE_NOFOLLOW, &buf, &len), KMS_ELINK);
    assert_null(buf);

    assert_int_equal(kms_path_private(dir, S_IFDIR, why, sizeof why), 0);
    assert_int_equal(kms_path_private(f, S_IFREG, why, sizeof why), 0);
    assert_int_equal(kms_path_private(link, S_IFREG, why, sizeof why), KMS_ELINK);
    assert_string_equal(why, "is a symbolic link, not a file of its own: remove it");
    assert_int_equal(kms_path_private(fifo, S_IFREG, why, sizeof why), KMS_ENOTFILE);
    assert_int_equal(kms_path_private(dir, S_IFREG, why, sizeof why), KMS_EISDIR);
    assert_int_equal(kms_path_private(f, S_IFDIR, why, sizeof why), KMS_ENOTDIR);
    assert_int_equal(kms_path_private(fifo, S_IFDIR, why, sizeof why), KMS_ENOTDIR);
    assert_int_equal(chmod(f, 0620), 0);
    assert_int_equal(kms_path_private(f, S_IFREG, why, sizeof why), KMS_EPERM);
    assert_non_null(strstr(why, "is writable by its group (mode 0620): chmod go-w "));
    assert_int_equal(chmod(f, 0644), 0); /* readable is not writable */
    assert_int_equal(kms_path_private(f, S_IFREG, why, sizeof why), 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(f, 65534, (gid_t)-1), 0);
        assert_int_equal(kms_path_private(f, S_IFREG, why, sizeof why), KMS_EPERM);
        assert_non_null(strstr(why, "is owned by uid 65534, not by this user (uid 0): chown 0 "));
    }
    unlink(f);
    assert_int_equal(kms_path_private(f, S_IFREG, why, sizeof why), KMS_ENOENT);
    unlink(link);
    unlink(fifo);
    free(f);
    free(link);
    free(fifo);
    rmdir(dir);
}

static void count_removed(void *ud, const char *tmp)
{
    (void)tmp;
    ++*(int *)ud;
}

static void stale_temps(void **state)
{
    char dir[] = "/tmp/kms_test_base_XXXXXX";
    char name[640], *path; /* room for any dir and f[].name, as -O2 counts */
    pid_t dead;
    int removed = 0;
    struct stat st;
    /* name pattern -> kept after the sweep */
    struct {
        char name[64];
        int kept;
    } f[] = {{"", 0},
             {"", 0},
             {"", 1},
             {"state.tmp.x1", 1},
             {"other.tmp.1", 1},
             {"state.tmp.", 1},
             {"state.tmp.01", 1},
             {"state", 1}};

    (void)state;
    assert_non_null(mkdtemp(dir));
    dead = fork();
    if (dead == 0)
        _exit(0);
    assert_true(dead > 0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    snprintf(f[0].name, sizeof f[0].name, "state.tmp.%ld", (long)dead);      /* writer gone */
    snprintf(f[1].name, sizeof f[1].name, "state.tmp.%ld", (long)getpid());  /* ours: stale */
    snprintf(f[2].name, sizeof f[2].name, "state.tmp.%ld", (long)getppid()); /* a live writer */
    /* Backwards: writing "state" first, as its own temp is "state.tmp.<our pid>". */
    for (size_t i = sizeof f / sizeof f[0]; i-- > 0;) {
        snprintf(name, sizeof name, "%s/%s", dir, f[i].name);
        assert_int_equal(kms_file_write_atomic_ex(name, "x", 1, 0600, 0), 0);
    }
    /* Not regular files: a directory and a symlink with a stale name stay. */
    snprintf(name, sizeof name, "%s/state.tmp.%ld", dir, (long)dead + 1000000);
    assert_int_equal(mkdir(name, 0700), 0);
    snprintf(name, sizeof name, "%s/state.tmp.%ld", dir, (long)dead + 2000000);
    assert_int_equal(symlink("state", name), 0);

    path = kms_path_join(dir, "state");
    assert_int_equal(kms_file_remove_stale_temps(path, count_removed, &removed), 2);
    assert_int_equal(removed, 2);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        snprintf(name, sizeof name, "%s/%s", dir, f[i].name);
        assert_int_equal(lstat(name, &st) == 0, f[i].kept);
        unlink(name);
    }
    snprintf(name, sizeof name, "%s/state.tmp.%ld", dir, (long)dead + 1000000);
    assert_int_equal(lstat(name, &st), 0);
    rmdir(name);
    snprintf(name, sizeof name, "%s/state.tmp.%ld", dir, (long)dead + 2000000);
    assert_int_equal(lstat(name, &st), 0);
    unlink(name);
    free(path);
    assert_int_equal(rmdir(dir), 0);
}

static void ratelimit(void **state)
{
    kms_ratelimit_t rl = {0};
    uint64_t quiet = 99;

    (void)state;
    /* The first event logs (also at time 0); the next ones within the interval are counted. */
    assert_int_equal(kms_ratelimit(&rl, 0, 1000, &quiet), 1);
    assert_int_equal(quiet, 0);
    assert_int_equal(kms_ratelimit(&rl, 10, 1000, &quiet), 0);
    assert_int_equal(kms_ratelimit(&rl, 999, 1000, &quiet), 0);
    assert_int_equal(kms_ratelimit(&rl, 1000, 1000, &quiet), 1);
    assert_int_equal(quiet, 2);
    assert_int_equal(kms_ratelimit(&rl, 5000, 1000, &quiet), 1);
    assert_int_equal(quiet, 0);
}

/* Log lines written to a temporary file standing in for stderr, read back. */
static void log_lines(const char *journal_stream_of, int timestamps, char *out, size_t outlen)
{
    char path[] = "/tmp/kmsdns-log.XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    struct stat st;
    char js[64];

    assert_true(fd >= 0 && saved >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (journal_stream_of ? 0 : 1));
    setenv("JOURNAL_STREAM", js, 1);
    dup2(fd, STDERR_FILENO);
    kms_log_init("kmsd", timestamps);
    kms_log(KMS_LOG_WARN, "disk %s", "full");
    kms_log(KMS_LOG_INFO, "ready%s", "\n<3>forged");
    dup2(saved, STDERR_FILENO);
    close(saved);
    unsetenv("JOURNAL_STREAM");
    ssize_t n = pread(fd, out, outlen - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    kms_log_init("test_base", 0);
}

static void log_for_journald_or_stderr(void **state)
{
    char buf[512];

    (void)state;
    /* stderr is the stream systemd named: priorities, no time, no name */
    log_lines("journal", 1, buf, sizeof buf);
    assert_string_equal(buf, "<4>warning: disk full\n<6>info: ready <3>forged\n");
    /* JOURNAL_STREAM names another stream (stderr was redirected): as before */
    log_lines(NULL, 0, buf, sizeof buf);
    assert_string_equal(buf, "kmsd: warning: disk full\nkmsd: info: ready <3>forged\n");
    log_lines(NULL, 1, buf, sizeof buf);
    assert_non_null(strstr(buf, "Z kmsd: warning: disk full\n"));
    assert_int_equal(buf[4], '-'); /* 2026-... */
}

static void error_table(void **state)
{
    assert_string_equal(kms_err_name(KMS_ETIMEOUT), "KMS_ETIMEOUT");
    assert_string_equal(kms_strerror(KMS_ETIMEOUT), "timed out");
    assert_string_equal(kms_strerror(-9999), "unknown error");
    assert_int_equal(kms_err_from_uv(-111 /* UV_ECONNREFUSED */), KMS_ECONNREFUSED);
}

static void backoff_doubles_caps_and_jitters(void **state)
{
    uint64_t lo[6] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    uint64_t hi[6] = {0};

    (void)state;
    /* 1000 ms doubling, capped at 4000: 1000, 2000, 4000, 4000, ... each 75%..125% */
    for (int k = 0; k < 2000; k++) {
        for (unsigned step = 0; step < 6; step++) {
            uint64_t d = kms_backoff(1000, 4000, step);

            lo[step] = d < lo[step] ? d : lo[step];
            hi[step] = d > hi[step] ? d : hi[step];
        }
    }
    static const uint64_t base[6] = {1000, 2000, 4000, 4000, 4000, 4000};
    for (unsigned step = 0; step < 6; step++) {
        assert_true(lo[step] >= base[step] - base[step] / 4);
        assert_true(hi[step] <= base[step] + base[step] / 4);
        /* the jitter really spreads: 2000 draws reach both ends' tenths */
        assert_true(lo[step] < base[step] - base[step] / 5);
        assert_true(hi[step] > base[step] + base[step] / 5);
    }
    assert_true(kms_backoff(0, 10, 0) <= 1); /* 0 counts as 1 */
    assert_true(kms_backoff(1000, 4000, 4000000000u) <= 5000);
}

static void random_in_range(void **state)
{
    unsigned seen[7] = {0};

    (void)state;
    assert_int_equal(kms_random_uniform(0), 0);
    assert_int_equal(kms_random_uniform(1), 0);
    for (int k = 0; k < 7000; k++) {
        uint32_t v = kms_random_uniform(7);

        assert_true(v < 7);
        seen[v]++;
    }
    for (int v = 0; v < 7; v++)
        assert_true(seen[v] > 700); /* about 1000 each */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_is_sticky_and_bounded),
        cmocka_unit_test(reader_align_and_sub),
        cmocka_unit_test(writer_builds_and_patches),
        cmocka_unit_test(writer_printf_any_length),
        cmocka_unit_test(guid_text_and_wire),
        cmocka_unit_test(addresses),
        cmocka_unit_test(durations),
        cmocka_unit_test(atomic_file),
        cmocka_unit_test(lock_file),
        cmocka_unit_test(file_kinds_and_private_paths),
        cmocka_unit_test(stale_temps),
        cmocka_unit_test(ratelimit),
        cmocka_unit_test(log_for_journald_or_stderr),
        cmocka_unit_test(error_table),
        cmocka_unit_test(backoff_doubles_caps_and_jitters),
        cmocka_unit_test(random_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
