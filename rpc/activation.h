/* SPDX-License-Identifier: MIT */
/*
 * activation.h - the KMS activation exchange (RPC opnum 0) in kmsdns'
 * documented "plain" encoding.
 *
 * The stub of opnum 0 is NDR: [in] a byte count and a conformant byte array
 * (the request message); [out] a byte count, a unique pointer to a conformant
 * byte array (the response message) and an HRESULT.  Inside the byte arrays,
 * kmsdns carries the fields of a KMS request/response in its own plain
 * encoding, specified field by field in docs/protocol.md.  There is no
 * Microsoft integrity layer and no Microsoft key material here: messages in
 * Microsoft's protected encodings (message versions 4, 5, 6) are recognized
 * by their version only and answered with a failure (KMS_EUNSUPPORTED from
 * the decoder; the host sends kms_act_encode_failure()).
 */
#ifndef KMS_RPC_ACTIVATION_H
#define KMS_RPC_ACTIVATION_H

#include <stddef.h>
#include <stdint.h>

#include "base/guid.h"
#include "base/wire.h"

#define KMS_ACT_PLAIN_MAJOR 0x4b50 /* "PK" little-endian bytes 'P','K': kmsdns plain */
#define KMS_ACT_PLAIN_MINOR 1
#define KMS_ACT_NAME_MAX    64 /* UTF-16 code units on the wire, as Windows */

/* The application IDs of the product families a request names (public
 * identifiers of the licensing applications, not key material). */
#define KMS_APP_WINDOWS    "55c92734-d682-4d71-983e-d6ec3f16059f"
#define KMS_APP_OFFICE2010 "59a52881-a989-479d-af46-f275c6370663"
#define KMS_APP_OFFICE     "0ff1ce15-a989-479d-af46-f275c6370663" /* 2013 and later */

/* HRESULTs a user knows from Windows. */
#define KMS_HR_OK                 0x00000000u
#define KMS_HR_NOT_SERVED         0xC004F042u /* product not served by this KMS host */
#define KMS_HR_COUNT_INSUFFICIENT 0xC004F038u /* count below the client's threshold */
#define KMS_HR_NO_HOST            0xC004F074u /* no KMS host could be contacted */
#define KMS_HR_RPC_UNAVAILABLE    0x800706BAu /* RPC server unavailable */
#define KMS_HR_INVALID_DATA       0x8007000Du /* message not understood (e.g. other encoding) */

typedef struct {
    uint16_t version_major, version_minor;
    uint32_t is_client_vm;
    uint32_t license_status;
    uint32_t grace_time;       /* minutes */
    kms_guid_t app_id;         /* application (Windows, Office 2010, Office 2013+) */
    kms_guid_t sku_id;         /* activation ID of the client product */
    kms_guid_t kms_counted_id; /* KMS counted ID: what the host counts by */
    kms_guid_t client_machine_id;
    uint32_t required_client_count; /* the client's threshold: 25, 5, 5 */
    uint64_t request_time;          /* FILETIME (100 ns since 1601-01-01 UTC) */
    kms_guid_t previous_client_machine_id;
    char workstation[KMS_ACT_NAME_MAX * 3 + 1]; /* UTF-8 */
} kms_act_request_t;

typedef struct {
    uint16_t version_major, version_minor;
    uint32_t status;                          /* HRESULT, KMS_HR_* */
    char host_epid[KMS_ACT_NAME_MAX * 3 + 1]; /* UTF-8 */
    kms_guid_t client_machine_id;             /* echo of the request's */
    uint64_t response_time;                   /* FILETIME */
    uint32_t current_count;
    uint32_t activation_interval; /* minutes */
    uint32_t renewal_interval;    /* minutes */
} kms_act_response_t;

/** Decode an opnum-0 request stub (NDR + plain message): kms_act_unwrap_request()
 *  then kms_act_decode_request_msg().
 *  0; KMS_EUNSUPPORTED when well-formed NDR carries a message in another
 *  encoding (@p req->version_major/minor are then set); KMS_EMALFORMED or
 *  KMS_ETRUNC for bad bytes. */
int kms_act_decode_request(const uint8_t *stub, size_t len, kms_act_request_t *req);

/** The NDR layer alone: check the stub's framing around the message (size,
 *  conformant max_count, at most 7 octets of padding) and point @p msg at the
 *  message bytes (borrowed from @p stub).  0, or KMS_EMALFORMED/KMS_ETRUNC
 *  for bad NDR framing (the host answers that with an RPC fault). */
int kms_act_unwrap_request(const uint8_t *stub, size_t len, kms_rd_t *msg);

/** The message layer alone: decode the request message @p msg (as set by
 *  kms_act_unwrap_request(); not advanced).  0; KMS_EUNSUPPORTED for another
 *  encoding (version fields set); KMS_EMALFORMED, KMS_ETRUNC or KMS_ETOOBIG
 *  for a bad message (the host answers 0x8007000D). */
int kms_act_decode_request_msg(const kms_rd_t *msg, kms_act_request_t *req);

/** Append an opnum-0 response stub carrying @p resp (HRESULT = resp->status). */
int kms_act_encode_response(const kms_act_response_t *resp, kms_wr_t *stub);

/** Append a well-formed opnum-0 response stub with no message and HRESULT @p hr. */
int kms_act_encode_failure(uint32_t hr, kms_wr_t *stub);

/** Client side: append an opnum-0 request stub carrying @p req. */
int kms_act_encode_request(const kms_act_request_t *req, kms_wr_t *stub);

/** Client side: decode a response stub.  0 with @p resp filled (resp->status
 *  holds the HRESULT, which may be a failure with an empty message);
 *  KMS_EMALFORMED/KMS_ETRUNC for bad bytes. */
int kms_act_decode_response(const uint8_t *stub, size_t len, kms_act_response_t *resp);

/** FILETIME for a Unix time in seconds, and back. */
uint64_t kms_filetime_from_unix(int64_t t);
int64_t kms_filetime_to_unix(uint64_t ft);

#endif
