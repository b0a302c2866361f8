/* SPDX-License-Identifier: MIT */
/*
 * client_id.c - a stable client machine ID (see client_id.h).
 */
#include "resolver/client_id.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "resolver/cache.h"

/* 32 hex digits (an optional newline after) into 16 bytes. */
static int parse_machine_id(const char *s, size_t len, uint8_t id[16])
{
    if (len > 64)
        return KMS_EMALFORMED;
    if (len > 0 && s[len - 1] == '\n')
        len--;
    if (len != 32)
        return KMS_EMALFORMED;
    for (size_t i = 0; i < 32; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return KMS_EMALFORMED;
        id[i / 2] = (uint8_t)(i % 2 ? (id[i / 2] << 4) | v : v);
    }
    return 0;
}

/* kms_guid_t holds wire order (Data1-3 little-endian); UUID byte order is
 * big-endian throughout.  The swap is its own inverse. */
static const uint8_t uuid_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

/* systemd's app-specific ID: HMAC-SHA256 (key: the machine ID, data: the
 * app ID, both in UUID byte order), first 16 bytes, version 4. */
static int app_specific(const uint8_t machine[16], kms_guid_t *out)
{
    uint8_t app[16], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    kms_guid_t g;

    if (kms_guid_parse(LOC_CLIENT_APP_ID, &g) != 0)
        return KMS_EINVAL;
    for (size_t i = 0; i < 16; i++)
        app[i] = g.b[uuid_order[i]];
    if (!HMAC(EVP_sha256(), machine, 16, app, sizeof app, md, &mdlen) || mdlen < 16)
        return KMS_ESYS;
    md[6] = (uint8_t)((md[6] & 0x0F) | 0x40); /* RFC 4122 version 4 */
    md[8] = (uint8_t)((md[8] & 0x3F) | 0x80); /* variant 10 */
    for (size_t i = 0; i < 16; i++)
        out->b[uuid_order[i]] = md[i];
    return 0;
}

int loc_client_id_from_machine_id(const char *text, size_t len, kms_guid_t *out)
{
    uint8_t id[16];
    int rc = parse_machine_id(text, len, id);

    return rc ? rc : app_specific(id, out);
}

int loc_client_id_parse(const char *text, size_t len, kms_guid_t *out)
{
    char line[KMS_GUID_STRLEN + 1];

    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len >= sizeof line || memchr(text, '\0', len))
        return KMS_EMALFORMED;
    memcpy(line, text, len);
    line[len] = '\0';
    if (kms_guid_parse(line, out) != 0 || kms_guid_is_nil(out))
        return KMS_EMALFORMED;
    return 0;
}

static int from_machine_id(const char *path, kms_guid_t *out)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = kms_file_read(path ? path : "/etc/machine-id", 64, &buf, &len);

    if (rc == 0)
        rc = loc_client_id_from_machine_id(buf, len, out);
    free(buf);
    return rc;
}

static int from_file(const char *path, kms_guid_t *out)
{
    char *buf = NULL, text[KMS_GUID_STRLEN + 1];
    size_t len = 0;
    int rc;

    if (!path)
        return KMS_ENOENT;
    rc = kms_file_read(path, 128, &buf, &len);
    if (rc == 0) {
        rc = loc_client_id_parse(buf, len, out);
        free(buf);
        if (rc == 0)
            return 0;
    }
    /* None yet, or not an ID (corrupt): create it.  A file that could not
     * be read now (permissions, I/O) is left alone: replacing it would make
     * this machine a new client to every host; this run gets a random ID. */
    if (rc != KMS_ENOENT && rc != KMS_EMALFORMED && rc != KMS_ETOOBIG)
        return rc;
    if (kms_guid_random(out) != 0)
        return KMS_ESYS;
    (void)kms_mkdir_parent(path, 0700); /* the write below says why if it failed */
    kms_guid_format(out, text);
    strcat(text, "\n");
    return kms_file_write_atomic(path, text, strlen(text), 0600);
}

void loc_client_id(const char *machine_id_path, const char *state_file, kms_guid_t *out,
                   loc_cid_source_t *src)
{
    if (from_machine_id(machine_id_path, out) == 0) {
        *src = LOC_CID_MACHINE;
        return;
    }
    if (from_file(state_file, out) == 0) {
        *src = LOC_CID_FILE;
        return;
    }
    *src = LOC_CID_RANDOM;
    if (kms_guid_random(out) != 0)
        out->b[0] = 1;
}

const char *loc_cid_source_name(loc_cid_source_t s)
{
    switch (s) {
    case LOC_CID_MACHINE:
        return "machine-id";
    case LOC_CID_FILE:
        return "state file";
    case LOC_CID_RANDOM:
        return "random (this run only)";
    }
    return "?";
}

char *loc_client_id_path(const char *cache_path)
{
    char *base = cache_path ? strdup(cache_path) : loc_cache_default_path();
    char *slash, *out;
    size_t n;

    if (!base)
        return NULL;
    slash = strrchr(base, '/');
    if (slash)
        slash[1] = '\0';
    else
        base[0] = '\0';
    n = strlen(base) + sizeof "client-id";
    out = malloc(n);
    if (out)
        snprintf(out, n, "%sclient-id", base);
    free(base);
    return out;
}
