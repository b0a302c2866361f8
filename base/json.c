/* SPDX-License-Identifier: MIT */
#include "base/json.h"

#include "base/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* kms_json_t is jansson's json_t under another name. */
#define J(v) ((json_t *)(v))
#define K(v) ((kms_json_t *)(v))

kms_json_t *kms_json_object(void)
{
    return K(json_object());
}

kms_json_t *kms_json_array(void)
{
    return K(json_array());
}

void kms_json_free(kms_json_t *v)
{
    if (v)
        json_decref(J(v));
}

static int set_new(kms_json_t *obj, const char *key, json_t *val)
{
    if (!obj || !val)
        return KMS_ENOMEM;
    return json_object_set_new(J(obj), key, val) ? KMS_ENOMEM : 0;
}

int kms_json_set_str(kms_json_t *obj, const char *key, const char *val)
{
    return set_new(obj, key, val ? json_string(val) : json_null());
}

int kms_json_set_int(kms_json_t *obj, const char *key, int64_t val)
{
    return set_new(obj, key, json_integer((json_int_t)val));
}

int kms_json_set_bool(kms_json_t *obj, const char *key, int val)
{
    return set_new(obj, key, json_boolean(val));
}

int kms_json_set(kms_json_t *obj, const char *key, kms_json_t *child)
{
    return set_new(obj, key, J(child));
}

int kms_json_append(kms_json_t *arr, kms_json_t *child)
{
    if (!arr || !child)
        return KMS_ENOMEM;
    return json_array_append_new(J(arr), J(child)) ? KMS_ENOMEM : 0;
}

int kms_json_append_str(kms_json_t *arr, const char *val)
{
    return kms_json_append(arr, K(json_string(val)));
}

char *kms_json_dump(const kms_json_t *v, int pretty)
{
    return json_dumps(J(v), (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
}

int kms_json_print(FILE *f, const kms_json_t *v, int pretty)
{
    char *text = kms_json_dump(v, pretty);

    if (!text)
        return KMS_ENOMEM;
    fprintf(f, "%s\n", text);
    free(text);
    return 0;
}

kms_json_t *kms_json_parse(const char *text, char *err, size_t errlen)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &e);

    if (!v && err)
        snprintf(err, errlen, "line %d: %s", e.line, e.text);
    return K(v);
}

kms_json_t *kms_json_get(const kms_json_t *obj, const char *key)
{
    return json_is_object(J(obj)) ? K(json_object_get(J(obj), key)) : NULL;
}

const char *kms_json_str(const kms_json_t *v)
{
    return json_is_string(J(v)) ? json_string_value(J(v)) : NULL;
}

int kms_json_int(const kms_json_t *v, int64_t *out)
{
    if (!json_is_integer(J(v)))
        return KMS_EINVAL;
    *out = (int64_t)json_integer_value(J(v));
    return 0;
}

int kms_json_bool(const kms_json_t *v)
{
    return json_is_boolean(J(v)) ? json_is_true(J(v)) : -1;
}

size_t kms_json_len(const kms_json_t *arr)
{
    return json_is_array(J(arr)) ? json_array_size(J(arr)) : 0;
}

kms_json_t *kms_json_at(const kms_json_t *arr, size_t i)
{
    return json_is_array(J(arr)) ? K(json_array_get(J(arr), i)) : NULL;
}
