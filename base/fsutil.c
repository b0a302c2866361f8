/* SPDX-License-Identifier: MIT */
#include "base/fsutil.h"

#include "base/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_INFIX ".tmp." /* temp file beside the target: "<path>.tmp.<pid>" */

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return kms_err_from_errno(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    int fd, r = 0;

    if (!copy)
        return KMS_ENOMEM;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        r = kms_err_from_errno(errno);
    if (fd >= 0)
        close(fd);
    free(copy);
    return r;
}

int kms_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return kms_file_write_atomic_ex(path, data, len, mode, 1);
}

int kms_file_write_atomic_ex(const char *path, const void *data, size_t len, mode_t mode,
                             int durable)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    int fd = -1, r = 0;

    if (!tmp)
        return KMS_ENOMEM;
    snprintf(tmp, plen + 32, "%s" TMP_INFIX "%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        r = kms_err_from_errno(errno);
        goto fail;
    }
    /* The umask may have narrowed the mode; widen it back only to what was asked. */
    if (fchmod(fd, mode) < 0 || (r = write_all(fd, data, len)) != 0 || (durable && fsync(fd) < 0)) {
        r = r ? r : kms_err_from_errno(errno);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        r = kms_err_from_errno(errno);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = kms_err_from_errno(errno);
        goto fail;
    }
    free(tmp);
    return durable ? fsync_dir_of(path) : 0;

fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return r;
}

/* The pid in "<base>.tmp.<pid>", or 0 when @p name is not a temp name of
 * kms_file_write_atomic() for @p base. */
static long temp_pid(const char *name, const char *base)
{
    size_t bl = strlen(base), il = strlen(TMP_INFIX);
    const char *d;
    char *end;
    long pid;

    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, TMP_INFIX, il) != 0)
        return 0;
    d = name + bl + il;
    if (*d < '1' || *d > '9')
        return 0;
    errno = 0;
    pid = strtol(d, &end, 10);
    return *end || errno || pid <= 0 ? 0 : pid;
}

int kms_file_remove_stale_temps(const char *path, void (*fn)(void *ud, const char *tmp), void *ud)
{
    char *dcopy = strdup(path), *bcopy = strdup(path), *dir, *base, *full = NULL;
    DIR *dh = NULL;
    struct dirent *e;
    int n = 0;

    if (!dcopy || !bcopy) {
        n = KMS_ENOMEM;
        goto done;
    }
    dir = dirname(dcopy);
    base = basename(bcopy);
    if (!(dh = opendir(dir))) {
        n = kms_err_from_errno(errno);
        goto done;
    }
    while ((e = readdir(dh)) != NULL) {
        long pid = temp_pid(e->d_name, base);
        struct stat st;

        if (!pid)
            continue;
        /* A writer still running (not us: we have not written yet) owns it. */
        if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue;
        free(full);
        if (!(full = kms_path_join(dir, e->d_name))) {
            n = KMS_ENOMEM;
            goto done;
        }
        if (lstat(full, &st) < 0 || !S_ISREG(st.st_mode) || unlink(full) < 0)
            continue;
        n++;
        if (fn)
            fn(ud, full);
    }
done:
    if (dh)
        closedir(dh);
    free(full);
    free(dcopy);
    free(bcopy);
    return n;
}

int kms_file_read(const char *path, size_t max, char **out, size_t *len)
{
    return kms_file_read_ex(path, max, 0, out, len);
}

int kms_file_read_ex(const char *path, size_t max, unsigned flags, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
                            ((flags & KMS_FILE_NOFOLLOW) ? O_NOFOLLOW : 0));
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int r;

    *out = NULL;
    *len = 0;
    if (fd < 0) /* ELOOP is "a link" only where links are refused */
        return errno == ELOOP && (flags & KMS_FILE_NOFOLLOW) ? KMS_ELINK
                                                             : kms_err_from_errno(errno);
    if (fstat(fd, &st) < 0) {
        r = kms_err_from_errno(errno);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        /* a directory, a FIFO, a device: said so, not "read failed" */
        r = S_ISDIR(st.st_mode) ? KMS_EISDIR : KMS_ENOTFILE;
        goto fail;
    }
    if ((size_t)st.st_size > max) {
        r = KMS_ETOOBIG;
        goto fail;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        r = KMS_ENOMEM;
        goto fail;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = kms_err_from_errno(errno);
            goto fail;
        }
        if (n == 0)
            break; /* shrank under us: take what is there */
        got += (size_t)n;
    }
    buf[got] = 0;
    close(fd);
    *out = buf;
    *len = got;
    return 0;

fail:
    free(buf);
    close(fd);
    return r;
}

int kms_mkdir_p(const char *path, mode_t mode)
{
    char *copy = strdup(path);
    int r = 0;

    if (!copy)
        return KMS_ENOMEM;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(copy, mode) < 0 && errno != EEXIST) {
            r = kms_err_from_errno(errno);
            goto done;
        }
        *p = '/';
    }
    if (mkdir(copy, mode) < 0 && errno != EEXIST)
        r = kms_err_from_errno(errno);
done:
    free(copy);
    return r;
}

char *kms_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s%s%s", dir, (*dir && dir[strlen(dir) - 1] == '/') ? "" : "/", name);
    return p;
}

int kms_mkdir_parent(const char *path, mode_t mode)
{
    char *dir = strdup(path), *slash;
    int r = 0;

    if (!dir)
        return KMS_ENOMEM;
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        r = kms_mkdir_p(dir, mode);
    }
    free(dir);
    return r;
}

int kms_lock_take(const char *path, long *holder)
{
    char buf[32];
    ssize_t n;
    int fd, r;

    *holder = 0;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == ELOOP ? KMS_ELINK : kms_err_from_errno(errno);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        r = errno == EWOULDBLOCK ? KMS_EBUSY : kms_err_from_errno(errno);
        if (r == KMS_EBUSY && (n = pread(fd, buf, sizeof buf - 1, 0)) > 0) {
            buf[n] = '\0';
            *holder = strtol(buf, NULL, 10);
            if (*holder < 0)
                *holder = 0;
        }
        close(fd);
        return r;
    }
    /* Ours now: say who holds it, for the next one that asks. */
    n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    errno = 0;
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        r = kms_err_from_errno(errno ? errno : EIO);
        close(fd);
        return r;
    }
    return fd;
}

void kms_lock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}

int kms_path_private(const char *path, mode_t type, char *why, size_t whylen)
{
    struct stat st;
    uid_t me = geteuid();
    int r = type == S_IFDIR ? stat(path, &st) : lstat(path, &st);

    if (r < 0) {
        r = kms_err_from_errno(errno);
        kms_seterr(why, whylen, "cannot be examined: %s", kms_strerror(r));
        return r;
    }
    if (S_ISLNK(st.st_mode)) {
        kms_seterr(why, whylen, "is a symbolic link, not a file of its own: remove it");
        return KMS_ELINK;
    }
    if ((st.st_mode & S_IFMT) != type) {
        r = S_ISDIR(st.st_mode) ? KMS_EISDIR : type == S_IFDIR ? KMS_ENOTDIR : KMS_ENOTFILE;
        kms_seterr(why, whylen, "is %s: remove it or choose another path",
                   r == KMS_EISDIR    ? "a directory, not a file"
                   : r == KMS_ENOTDIR ? "not a directory"
                                      : "not a regular file");
        return r;
    }
    if (st.st_uid != me) {
        kms_seterr(why, whylen, "is owned by uid %lu, not by this user (uid %lu): chown %lu %s",
                   (unsigned long)st.st_uid, (unsigned long)me, (unsigned long)me, path);
        return KMS_EPERM;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        kms_seterr(why, whylen, "is writable by %s (mode %04o): chmod go-w %s",
                   (st.st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st.st_mode & 07777),
                   path);
        return KMS_EPERM;
    }
    return 0;
}
