/* SPDX-License-Identifier: MIT */
/*
 * fsutil.h - files that must never be torn.
 *
 * kms_file_write_atomic() writes a temp file beside the target, fsyncs it,
 * renames it over the target and fsyncs the directory: after a crash or a
 * kill -9 at any instant the target holds either the old or the new
 * content, never a mix.  An error return means the new content may or may
 * not be in place: a failure before the rename leaves the old file, a failed
 * directory fsync after it leaves the new one (not yet durable).
 * kms_file_read() reads a whole file with a size cap.
 */
#ifndef KMS_BASE_FSUTIL_H
#define KMS_BASE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/** Atomically replace @p path with @p len bytes, created with @p mode. 0 or KMS_E*. */
int kms_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/** The same; with @p durable 0 the fsyncs are skipped (still atomic against a
 *  crash of this process, not against a power loss): for tests and fuzzing,
 *  and for files a power loss may lose at no cost (kmsd's metrics_file). */
int kms_file_write_atomic_ex(const char *path, const void *data, size_t len, mode_t mode,
                             int durable);

/**
 * Remove the temp files kms_file_write_atomic() leaves beside @p path when
 * the writing process dies before its rename (kill -9, crash): regular files
 * named "<path>.tmp.<pid>" whose process no longer runs (or is the caller,
 * which has not written yet).  Nothing else is touched: other names,
 * directories, symbolic links, a live writer's file.  Each removed path is
 * passed to @p fn (may be NULL).  Returns the number removed, or a KMS_E*
 * when the directory cannot be read.
 */
int kms_file_remove_stale_temps(const char *path, void (*fn)(void *ud, const char *tmp), void *ud);

/** Read all of the regular file @p path (at most @p max bytes, else
 *  KMS_ETOOBIG) into a NUL-terminated malloc'd buffer the caller frees;
 *  KMS_ENOENT if it does not exist, KMS_EISDIR / KMS_ENOTFILE when it is a
 *  directory / not a regular file. */
int kms_file_read(const char *path, size_t max, char **out, size_t *len);

#define KMS_FILE_NOFOLLOW 1u /* a symbolic link at @p path is refused: KMS_ELINK */

/** kms_file_read() with KMS_FILE_* @p flags. */
int kms_file_read_ex(const char *path, size_t max, unsigned flags, char **out, size_t *len);

/**
 * Whether @p path is this process's alone: of type @p type (S_IFDIR or
 * S_IFREG; a symbolic link is followed for S_IFDIR only, refused for a
 * file), owned by the effective user and not writable by group or others.
 * 0; KMS_ENOENT when it does not exist; KMS_EPERM (wrong owner or mode),
 * KMS_ELINK, KMS_EISDIR, KMS_ENOTDIR or KMS_ENOTFILE with @p why saying what
 * is wrong and the command that fixes it ("is owned by uid 1000, not by this
 * user (uid 0): chown 0 PATH").
 */
int kms_path_private(const char *path, mode_t type, char *why, size_t whylen);

/** Create a directory and its parents (like mkdir -p) with @p mode. */
int kms_mkdir_p(const char *path, mode_t mode);
/** kms_mkdir_p() of the directory part of file @p path ("a/b/f" -> "a/b");
 *  0 when there is none ("f", "/f"). */
int kms_mkdir_parent(const char *path, mode_t mode);

/** Join dir and name into a malloc'd path ("dir/name"); NULL on ENOMEM. */
char *kms_path_join(const char *dir, const char *name);

/**
 * Take an exclusive lock on the file @p path (created with mode 0600 if
 * missing, never through a symbolic link) and write our PID into it: flock(),
 * so the kernel releases it when the process ends, kill -9 included.
 * Returns the descriptor holding the lock (>= 0, close-on-exec), or
 * KMS_EBUSY when another process holds it (@p holder then gets the PID
 * written in the file, 0 when it cannot be read), or another KMS_E*.
 */
int kms_lock_take(const char *path, long *holder);
/** Release the lock of kms_lock_take() (closes @p fd); a negative fd is a no-op. */
void kms_lock_release(int fd);

#endif
