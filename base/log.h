/* SPDX-License-Identifier: MIT */
/*
 * log.h - leveled logging to stderr.
 *
 * Programs call kms_log_init() once with their name; every line then reads
 * "kmsd: warning: message" (with an ISO-8601 UTC timestamp in front when
 * timestamps are on, as for the daemon).  Started by systemd with stderr
 * connected to the journal (JOURNAL_STREAM names stderr's device and
 * inode), lines read "<4>warning: message" instead: the sd-daemon(3)
 * priority prefix journald files them under, no timestamp (journald keeps
 * its own) and no program name (journald knows it).  The level threshold filters what is
 * printed; KMS_LOG_DEBUG is off by default.  Lines are written with one
 * write() so concurrent processes do not interleave within a line.
 */
#ifndef KMS_BASE_LOG_H
#define KMS_BASE_LOG_H

#include <stdint.h>

typedef enum {
    KMS_LOG_ERROR = 0,
    KMS_LOG_WARN = 1,
    KMS_LOG_INFO = 2,
    KMS_LOG_DEBUG = 3,
} kms_log_level_t;

/** Set the program name prefix and whether to print timestamps. */
void kms_log_init(const char *progname, int timestamps);

/** 1 when lines go to journald (decided by kms_log_init()). */
int kms_log_journal(void);

/** Set the threshold: messages above @p level are dropped. */
void kms_log_set_level(kms_log_level_t level);

/** Current threshold. */
kms_log_level_t kms_log_get_level(void);

/** Parse "error", "warning", "info", "debug"; -1 if unknown. */
int kms_log_level_parse(const char *s);

/** The program name given to kms_log_init() ("kmsdns" before it). */
const char *kms_log_progname(void);

/** Log one line (no trailing newline needed). */
void kms_log(kms_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Rate limit for a log line that bad or many clients could repeat without
 * end: at most one line per interval, the rest counted.  Zero-initialise.
 */
typedef struct {
    uint64_t last;  /* time of the last line logged */
    uint64_t quiet; /* events not logged since */
    int started;    /* a line was logged already */
} kms_ratelimit_t;

/**
 * Count one event at time @p now (any unit, @p interval in the same unit).
 * Returns 1 when a line should be logged now, with *@p quiet set to the
 * number of events not logged since the previous line (then reset), or 0
 * when the event was only counted.
 */
int kms_ratelimit(kms_ratelimit_t *rl, uint64_t now, uint64_t interval, uint64_t *quiet);

#define kms_error(...) kms_log(KMS_LOG_ERROR, __VA_ARGS__)
#define kms_warn(...)  kms_log(KMS_LOG_WARN, __VA_ARGS__)
#define kms_info(...)  kms_log(KMS_LOG_INFO, __VA_ARGS__)
#define kms_debug(...) kms_log(KMS_LOG_DEBUG, __VA_ARGS__)

#endif
