/* SPDX-License-Identifier: MIT */
/*
 * activation.c - opnum-0 NDR stub and kmsdns' plain activation encoding; see
 * activation.h and docs/protocol.md (the field tables there are the
 * specification; the offsets below follow them).
 *
 * Plain request (little-endian):
 *   0 u16 minor, 2 u16 major (0x4b50), 4 u32 is_client_vm, 8 u32 license_status,
 *   12 u32 grace_time, 16 guid app_id, 32 guid sku_id, 48 guid kms_counted_id,
 *   64 guid client_machine_id, 80 u32 required_client_count, 84 u64 request_time,
 *   92 guid previous_client_machine_id, 108 u16 n, 110 UTF-16LE workstation[n]
 * Plain response:
 *   0 u16 minor, 2 u16 major, 4 u32 status, 8 guid client_machine_id,
 *   24 u64 response_time, 32 u32 current_count, 36 u32 activation_interval,
 *   40 u32 renewal_interval, 44 u16 n, 46 UTF-16LE host_epid[n]
 */
#include "rpc/activation.h"

#include <string.h>

#include "base/err.h"

#define REQ_FIXED    110
#define RESP_FIXED   46
#define NDR_REFERENT 0x00020000u /* the referent ID Windows' NDR engine uses first */

uint64_t kms_filetime_from_unix(int64_t t)
{
    /* 11644473600 s between 1601-01-01 and 1970-01-01. */
    if (t < -11644473600LL)
        return 0;
    if (t > (int64_t)(UINT64_MAX / 10000000u) - 11644473600LL)
        return UINT64_MAX;
    return (uint64_t)(t + 11644473600LL) * 10000000u;
}

int64_t kms_filetime_to_unix(uint64_t ft)
{
    return (int64_t)(ft / 10000000u) - 11644473600LL;
}

/* ---- UTF-16LE <-> UTF-8 ------------------------------------------------ */

/* Read @p n UTF-16LE code units and write UTF-8 into @p out (cap >= 3n+1).
 * Unpaired surrogates and U+0000 are KMS_EMALFORMED. */
static int rd_utf16(kms_rd_t *rd, uint16_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (uint16_t i = 0; i < n; i++) {
        uint16_t u, lo;
        uint32_t cp;

        if (kms_rd_u16le(rd, &u))
            return rd->err;
        if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 1 >= n || kms_rd_u16le(rd, &lo))
                return rd->err ? rd->err : KMS_EMALFORMED;
            if (lo < 0xdc00 || lo > 0xdfff)
                return KMS_EMALFORMED;
            i++;
            cp = 0x10000 + (((uint32_t)u - 0xd800) << 10) + (lo - 0xdc00);
        } else if ((u >= 0xdc00 && u <= 0xdfff) || u == 0) {
            return KMS_EMALFORMED;
        } else {
            cp = u;
        }
        if (o + (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4) + 1 > cap)
            return KMS_ETOOBIG;
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xc0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xe0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[o++] = (char)(0xf0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    out[o] = '\0';
    return 0;
}

/* Convert NUL-terminated UTF-8 to UTF-16 code units; KMS_EINVAL for invalid
 * UTF-8 (overlong, surrogates, > U+10FFFF), KMS_ERANGE beyond @p max units. */
static int utf8_to_utf16(const char *s, uint16_t *out, size_t max, uint16_t *n_out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = 0;

    while (*p) {
        uint32_t cp;
        int extra;

        if (p[0] < 0x80) {
            cp = p[0], extra = 0;
        } else if ((p[0] & 0xe0) == 0xc0) {
            cp = p[0] & 0x1f, extra = 1;
        } else if ((p[0] & 0xf0) == 0xe0) {
            cp = p[0] & 0x0f, extra = 2;
        } else if ((p[0] & 0xf8) == 0xf0) {
            cp = p[0] & 0x07, extra = 3;
        } else {
            return KMS_EINVAL;
        }
        for (int k = 1; k <= extra; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return KMS_EINVAL;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return KMS_EINVAL;
        p += extra + 1;
        if (cp >= 0x10000) {
            if (n + 2 > max)
                return KMS_ERANGE;
            cp -= 0x10000;
            out[n++] = (uint16_t)(0xd800 | (cp >> 10));
            out[n++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
        } else {
            if (n + 1 > max)
                return KMS_ERANGE;
            out[n++] = (uint16_t)cp;
        }
    }
    *n_out = (uint16_t)n;
    return 0;
}

static int wr_utf16(kms_wr_t *wr, const char *s)
{
    uint16_t u[KMS_ACT_NAME_MAX], n = 0;
    int r = utf8_to_utf16(s, u, KMS_ACT_NAME_MAX, &n);

    if (r)
        return r;
    kms_wr_u16le(wr, n);
    for (uint16_t i = 0; i < n; i++)
        kms_wr_u16le(wr, u[i]);
    return wr->err;
}

/* ---- NDR framing -------------------------------------------------------- */

/* Version check shared by both directions: 0 for the plain encoding,
 * KMS_EUNSUPPORTED for Microsoft's protected encodings (v4, v5, v6),
 * KMS_EMALFORMED for anything else. */
static int check_version(kms_rd_t *rd, uint16_t *major, uint16_t *minor)
{
    kms_rd_u16le(rd, minor);
    kms_rd_u16le(rd, major);
    if (rd->err)
        return rd->err;
    if (*major == KMS_ACT_PLAIN_MAJOR)
        return *minor >= KMS_ACT_PLAIN_MINOR ? 0 : KMS_EMALFORMED;
    if (*major == 4 || *major == 5 || *major == 6)
        return KMS_EUNSUPPORTED;
    return KMS_EMALFORMED;
}

/* After the fixed fields: version 1 messages end exactly here; a later minor
 * version may append fields, which this version ignores. */
static int check_end(const kms_rd_t *rd, uint16_t minor)
{
    if (rd->err)
        return rd->err;
    if (minor == KMS_ACT_PLAIN_MINOR && kms_rd_left(rd) != 0)
        return KMS_EMALFORMED;
    return 0;
}

int kms_act_unwrap_request(const uint8_t *stub, size_t len, kms_rd_t *msg)
{
    kms_rd_t rd;
    uint32_t size, max_count;

    kms_rd_init(msg, NULL, 0);
    kms_rd_init(&rd, stub, len);
    /* [in] requestSize, then the conformant array: max_count and the bytes. */
    kms_rd_u32le(&rd, &size);
    kms_rd_u32le(&rd, &max_count);
    if (rd.err)
        return rd.err;
    if (max_count != size)
        return KMS_EMALFORMED;
    if (kms_rd_sub(&rd, msg, max_count))
        return rd.err;
    /* NDR may pad the stub to 8 octets; anything more is not ours. */
    if (kms_rd_left(&rd) > 7)
        return KMS_EMALFORMED;
    return 0;
}

int kms_act_decode_request(const uint8_t *stub, size_t len, kms_act_request_t *req)
{
    kms_rd_t msg;
    int r = kms_act_unwrap_request(stub, len, &msg);

    if (r) {
        memset(req, 0, sizeof *req);
        return r;
    }
    return kms_act_decode_request_msg(&msg, req);
}

int kms_act_decode_request_msg(const kms_rd_t *msg_rd, kms_act_request_t *req)
{
    kms_rd_t msg = *msg_rd;
    uint16_t n;
    int r;

    memset(req, 0, sizeof *req);
    r = check_version(&msg, &req->version_major, &req->version_minor);
    if (r)
        return r;
    kms_rd_u32le(&msg, &req->is_client_vm);
    kms_rd_u32le(&msg, &req->license_status);
    kms_rd_u32le(&msg, &req->grace_time);
    kms_rd_guid(&msg, 1, &req->app_id);
    kms_rd_guid(&msg, 1, &req->sku_id);
    kms_rd_guid(&msg, 1, &req->kms_counted_id);
    kms_rd_guid(&msg, 1, &req->client_machine_id);
    kms_rd_u32le(&msg, &req->required_client_count);
    kms_rd_u64le(&msg, &req->request_time);
    kms_rd_guid(&msg, 1, &req->previous_client_machine_id);
    kms_rd_u16le(&msg, &n);
    if (msg.err)
        return msg.err;
    if (n > KMS_ACT_NAME_MAX)
        return KMS_EMALFORMED;
    if ((r = rd_utf16(&msg, n, req->workstation, sizeof req->workstation)) != 0)
        return r;
    return check_end(&msg, req->version_minor);
}

int kms_act_encode_request(const kms_act_request_t *req, kms_wr_t *stub)
{
    size_t start = stub->len, body;
    int r;

    kms_wr_u32le(stub, 0); /* requestSize, patched */
    kms_wr_u32le(stub, 0); /* max_count, patched */
    body = stub->len;
    kms_wr_u16le(stub, KMS_ACT_PLAIN_MINOR);
    kms_wr_u16le(stub, KMS_ACT_PLAIN_MAJOR);
    kms_wr_u32le(stub, req->is_client_vm);
    kms_wr_u32le(stub, req->license_status);
    kms_wr_u32le(stub, req->grace_time);
    kms_wr_guid(stub, &req->app_id);
    kms_wr_guid(stub, &req->sku_id);
    kms_wr_guid(stub, &req->kms_counted_id);
    kms_wr_guid(stub, &req->client_machine_id);
    kms_wr_u32le(stub, req->required_client_count);
    kms_wr_u64le(stub, req->request_time);
    kms_wr_guid(stub, &req->previous_client_machine_id);
    if ((r = wr_utf16(stub, req->workstation)) != 0)
        goto fail;
    if (stub->err) {
        r = stub->err;
        goto fail;
    }
    kms_wr_patch_u32le(stub, start, (uint32_t)(stub->len - body));
    kms_wr_patch_u32le(stub, start + 4, (uint32_t)(stub->len - body));
    return 0;
fail:
    if (stub->len > start)
        stub->len = start;
    return r;
}

int kms_act_encode_response(const kms_act_response_t *resp, kms_wr_t *stub)
{
    size_t start = stub->len, body;
    int r;

    kms_wr_u32le(stub, 0);            /* responseSize, patched */
    kms_wr_u32le(stub, NDR_REFERENT); /* unique pointer, non-NULL */
    kms_wr_u32le(stub, 0);            /* max_count, patched */
    body = stub->len;
    kms_wr_u16le(stub, KMS_ACT_PLAIN_MINOR);
    kms_wr_u16le(stub, KMS_ACT_PLAIN_MAJOR);
    kms_wr_u32le(stub, resp->status);
    kms_wr_guid(stub, &resp->client_machine_id);
    kms_wr_u64le(stub, resp->response_time);
    kms_wr_u32le(stub, resp->current_count);
    kms_wr_u32le(stub, resp->activation_interval);
    kms_wr_u32le(stub, resp->renewal_interval);
    if ((r = wr_utf16(stub, resp->host_epid)) != 0)
        goto fail;
    if (stub->err) {
        r = stub->err;
        goto fail;
    }
    kms_wr_patch_u32le(stub, start, (uint32_t)(stub->len - body));
    kms_wr_patch_u32le(stub, start + 8, (uint32_t)(stub->len - body));
    kms_wr_zeros(stub, (4 - ((stub->len - start) & 3)) & 3);
    kms_wr_u32le(stub, resp->status); /* HRESULT */
    return stub->err;
fail:
    if (stub->len > start)
        stub->len = start;
    return r;
}

int kms_act_encode_failure(uint32_t hr, kms_wr_t *stub)
{
    kms_wr_u32le(stub, 0); /* responseSize */
    kms_wr_u32le(stub, 0); /* NULL unique pointer: no array follows */
    kms_wr_u32le(stub, hr);
    return stub->err;
}

int kms_act_decode_response(const uint8_t *stub, size_t len, kms_act_response_t *resp)
{
    kms_rd_t rd, msg;
    uint32_t size, ref, max_count = 0, hr, msg_status;
    uint16_t n;
    int r, have_msg;

    memset(resp, 0, sizeof *resp);
    kms_rd_init(&rd, stub, len);
    kms_rd_u32le(&rd, &size);
    kms_rd_u32le(&rd, &ref);
    if (rd.err)
        return rd.err;
    have_msg = ref != 0;
    if (have_msg) {
        kms_rd_u32le(&rd, &max_count);
        if (rd.err)
            return rd.err;
        if (max_count != size)
            return KMS_EMALFORMED;
        if (kms_rd_sub(&rd, &msg, max_count))
            return rd.err;
        kms_rd_align(&rd, 4);
    } else if (size != 0) {
        return KMS_EMALFORMED;
    }
    kms_rd_u32le(&rd, &hr);
    if (rd.err)
        return rd.err;
    if (kms_rd_left(&rd) > 7)
        return KMS_EMALFORMED;
    resp->status = hr;
    if (!have_msg || max_count == 0)
        return 0;
    r = check_version(&msg, &resp->version_major, &resp->version_minor);
    if (r)
        return r;
    kms_rd_u32le(&msg, &msg_status);
    kms_rd_guid(&msg, 1, &resp->client_machine_id);
    kms_rd_u64le(&msg, &resp->response_time);
    kms_rd_u32le(&msg, &resp->current_count);
    kms_rd_u32le(&msg, &resp->activation_interval);
    kms_rd_u32le(&msg, &resp->renewal_interval);
    kms_rd_u16le(&msg, &n);
    if (msg.err)
        return msg.err;
    if (msg_status != hr || n > KMS_ACT_NAME_MAX)
        return KMS_EMALFORMED;
    if ((r = rd_utf16(&msg, n, resp->host_epid, sizeof resp->host_epid)) != 0)
        return r;
    return check_end(&msg, resp->version_minor);
}
