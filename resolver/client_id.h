/* SPDX-License-Identifier: MIT */
/*
 * client_id.h - the client machine ID of kms-locate's activation check.
 *
 * A KMS host counts distinct client machine IDs (kms/core/ledger.h).  A random ID
 * per run would add a client to the host's count on every diagnostic run;
 * a Windows client keeps one ID.  So does kms-locate, per machine:
 *
 *  1. derived from /etc/machine-id the way systemd derives an
 *     application-specific ID (sd_id128_get_machine_app_specific):
 *     HMAC-SHA256 keyed with the 16 machine-ID bytes over kms-locate's
 *     application ID (LOC_CLIENT_APP_ID), the first 16 bytes with the
 *     RFC 4122 version 4 bits; the same as
 *     `systemd-id128 machine-id --app-specific=LOC_CLIENT_APP_ID`.  The
 *     machine ID itself never leaves the machine;
 *  2. else (no readable machine ID) a random ID created once and kept in the
 *     file "client-id" beside the host cache (one GUID line, mode 0600);
 *  3. else (that file can be neither read nor written) a random ID for this
 *     run only.
 */
#ifndef KMS_RESOLVER_CLIENT_ID_H
#define KMS_RESOLVER_CLIENT_ID_H

#include "base/guid.h"

#define LOC_CLIENT_APP_ID "f0f66c53-6bd6-4eb2-a75e-3aeafdb26b67"

typedef enum {
    LOC_CID_MACHINE = 0, /* derived from the machine ID */
    LOC_CID_FILE,        /* kept in the state file */
    LOC_CID_RANDOM,      /* this run only */
} loc_cid_source_t;

/**
 * The client machine ID into @p out and where it came from into @p src.
 * @p machine_id_path NULL: /etc/machine-id.  @p state_file: the fallback
 * file (NULL: none).  Never fails: the last resort is a random ID.
 */
void loc_client_id(const char *machine_id_path, const char *state_file, kms_guid_t *out,
                   loc_cid_source_t *src);

/** The ID derived from the text of a machine-id file (32 hex digits, an
 *  optional newline).  0 or KMS_EMALFORMED (KMS_ESYS if HMAC fails). */
int loc_client_id_from_machine_id(const char *text, size_t len, kms_guid_t *out);

/** The ID kept in the client-id file (one GUID line, not nil).  0 or
 *  KMS_EMALFORMED. */
int loc_client_id_parse(const char *text, size_t len, kms_guid_t *out);

/** "machine-id", "state file", "random (this run only)". */
const char *loc_cid_source_name(loc_cid_source_t s);

/** The fallback file beside the host cache @p cache_path (NULL: default
 *  location), malloc'd; NULL when no home is known. */
char *loc_client_id_path(const char *cache_path);

#endif
