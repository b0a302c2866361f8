/* SPDX-License-Identifier: MIT */
/*
 * statefile.h - internal to kms/core: the format every state file shares
 * (the kinds and their records are in state.h).
 *
 *     kmsdns-<kind> 1               header: kind and format version
 *     <record lines>                space-separated fields, one record a line
 *     end crc32=<8 hex digits>      CRC-32 (IEEE) of every byte before this line
 *
 * Writing: sf_header(), the records with kms_wr_printf(), sf_end(); then
 * sf_save() replaces the file atomically (kms_file_write_atomic(), mode
 * 0600).  Reading: sf_load() reads the whole file (a missing file is empty
 * state) and sf_parse() checks the header, the final line and the checksum
 * and hands every record line, split into tokens, to the kind's callback;
 * any error is "FILE:LINE: reason" (KMS_ECORRUPT).
 */
#ifndef KMS_CORE_STATEFILE_H
#define KMS_CORE_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"
#include "base/wire.h"

/** Where a parse is: the file (for messages) and the line. */
typedef struct {
    const char *fname;
    char *err;
    size_t errlen;
    unsigned line;
} sf_ctx_t;

/** A record line: its tokens (a "domains" line keeps the rest of the line
 *  as @p rest).  Returns 0 or sf_perr(). */
typedef int (*sf_record_fn)(sf_ctx_t *c, char **tok, int ntok, char *rest, void *obj);

/** A kind's parser, as kms_state_parse_*() are. */
typedef int (*sf_parse_fn)(const char *text, size_t len, const char *fname, unsigned flags,
                           void *obj, char *err, size_t errlen);

/** Append the header of @p kind; *@p start is where the checksum begins. */
void sf_header(kms_wr_t *w, const char *kind, size_t *start);
/** Append the checksum line.  0 or the writer's error. */
int sf_end(kms_wr_t *w, size_t start);

/** "FILE:LINE: reason" into the context's buffer; returns KMS_ECORRUPT. */
int sf_perr(sf_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Check and walk a whole file of @p kind, @p fn per record.  0, KMS_ECORRUPT,
 *  KMS_ENOMEM or what @p fn returned. */
int sf_parse(const char *text, size_t len, const char *fname, unsigned flags, const char *kind,
             sf_record_fn fn, void *obj, char *err, size_t errlen);
/** A token that must be a GUID / a number in [min, max]; else sf_perr() naming @p what. */
int sf_tok_guid(sf_ctx_t *c, const char *s, kms_guid_t *g, const char *what);
int sf_tok_uint(sf_ctx_t *c, const char *s, uint64_t min, uint64_t max, uint64_t *v,
                const char *what);

/** Load state_dir/@p name with @p fn into @p obj; a missing file is 0 (empty state). */
int sf_load(const char *dir, const char *name, sf_parse_fn fn, void *obj, char *err, size_t errlen);
/** Replace state_dir/@p name with @p w's bytes (mode 0600) unless @p r is an error;
 *  frees @p w.  0 or KMS_E*. */
int sf_save(const char *dir, const char *name, kms_wr_t *w, int r, int durable);

#endif
