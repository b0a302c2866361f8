/* SPDX-License-Identifier: MIT */
/*
 * json.h - the one wrapper around jansson, for --json output.
 *
 * A small builder: make objects and arrays, set members, dump.  Setting a
 * child object or array into a parent transfers ownership to the parent.
 * Only output is built here; kmsdns reads no JSON except its own host cache,
 * which goes through kms_json_parse().
 */
#ifndef KMS_BASE_JSON_H
#define KMS_BASE_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct kms_json kms_json_t; /* opaque */

kms_json_t *kms_json_object(void);
kms_json_t *kms_json_array(void);
/** Free a value and its children; NULL is a no-op. */
void kms_json_free(kms_json_t *v);
/** Set members; the value is copied (strings) or taken (children). 0 or KMS_ENOMEM. */
int kms_json_set_str(kms_json_t *obj, const char *key, const char *val); /* NULL val: null */
int kms_json_set_int(kms_json_t *obj, const char *key, int64_t val);
int kms_json_set_bool(kms_json_t *obj, const char *key, int val);
int kms_json_set(kms_json_t *obj, const char *key, kms_json_t *child);
int kms_json_append(kms_json_t *arr, kms_json_t *child);
int kms_json_append_str(kms_json_t *arr, const char *val);
/** Compact one-line JSON text, malloc'd (caller frees); NULL on ENOMEM. */
char *kms_json_dump(const kms_json_t *v, int pretty);
/** The document and a newline on @p f (a program's --json output).
 *  0, or KMS_ENOMEM (then nothing is printed). */
int kms_json_print(FILE *f, const kms_json_t *v, int pretty);

/** Parse text; NULL on error with a "line N: reason" message in @p err (if given). */
kms_json_t *kms_json_parse(const char *text, char *err, size_t errlen);
/** Member access on parsed values; NULL/0 when absent or of another type. */
kms_json_t *kms_json_get(const kms_json_t *obj, const char *key);
const char *kms_json_str(const kms_json_t *v);
int kms_json_int(const kms_json_t *v, int64_t *out);
/** 1 for true, 0 for false, -1 when @p v is no boolean. */
int kms_json_bool(const kms_json_t *v);
size_t kms_json_len(const kms_json_t *arr);
kms_json_t *kms_json_at(const kms_json_t *arr, size_t i);

#endif
