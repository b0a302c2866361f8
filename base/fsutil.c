#include "base/fsutil.h"

#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
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

int kms_file_read(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int r;

    *out = NULL;
    *len = 0;
    if (fd < 0)
        return errno == ENOENT ? KMS_ENOENT : kms_err_from_errno(errno);
    if (fstat(fd, &st) < 0) {
        r = kms_err_from_errno(errno);
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
