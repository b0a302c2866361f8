/* SPDX-License-Identifier: MIT */
/*
 * fuzz_activation.c - the opnum-0 stub decoders (request and response) on
 * arbitrary bytes; whatever decodes must re-encode and decode to the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rpc/activation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_act_request_t q, q2;
    kms_act_response_t r, r2;
    kms_wr_t wr;

    if (kms_act_decode_request(data, size, &q) == 0) {
        kms_wr_init(&wr);
        if (kms_act_encode_request(&q, &wr) != 0 ||
            kms_act_decode_request(wr.buf, wr.len, &q2) != 0 ||
            strcmp(q.workstation, q2.workstation) != 0 ||
            memcmp(&q.client_machine_id, &q2.client_machine_id, 16) != 0)
            __builtin_trap();
        kms_wr_free(&wr);
    }
    if (kms_act_decode_response(data, size, &r) == 0 && r.version_major) {
        kms_wr_init(&wr);
        if (kms_act_encode_response(&r, &wr) != 0 ||
            kms_act_decode_response(wr.buf, wr.len, &r2) != 0 ||
            strcmp(r.host_epid, r2.host_epid) != 0 || r.current_count != r2.current_count)
            __builtin_trap();
        kms_wr_free(&wr);
    }
    return 0;
}
