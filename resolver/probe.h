/* SPDX-License-Identifier: MIT */
/*
 * probe.h - is a KMS host answering?  TCP connect, then a DCE/RPC bind to
 * the KMS interface (51c82175-844e-4750-b0d8-ec255555bc06 v1.0, NDR32) with
 * rpc/client.h, on the caller's libuv loop, with a connect timeout and
 * a bind timeout; optionally one activation request (plain encoding) whose
 * response carries the host's current count.
 *
 * A host "answers" when the bind is acknowledged with the context accepted.
 * A bind_nak or a rejected context means something listens but is not a
 * KMS host.  Anything else (refused, unreachable, timeout, closed, garbage)
 * is what Windows reports as 0x800706BA "RPC server unavailable" - for a
 * host found in DNS this is often a stale SRV record.
 *
 * With an activation check the probe also sends an activation request for a
 * client whose threshold is @c required (25: Windows client, 5: server or
 * Office); a response whose current count is below it gives 0xC004F038, a
 * failure status in the response gives that status.
 */
#ifndef KMS_RESOLVER_PROBE_H
#define KMS_RESOLVER_PROBE_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/addr.h"
#include "base/guid.h"

typedef enum {
    LOC_PROBE_OK = 0,      /* bind accepted */
    LOC_PROBE_REFUSED,     /* TCP connection refused */
    LOC_PROBE_TIMEOUT,     /* no answer in time */
    LOC_PROBE_UNREACHABLE, /* other socket error, or no address */
    LOC_PROBE_CLOSED,      /* connection closed before a bind answer */
    LOC_PROBE_REJECTED,    /* bind_nak / context rejected: not a KMS host */
    LOC_PROBE_BADREPLY,    /* reply is not a bind answer */
} loc_probe_state_t;

typedef struct {
    loc_probe_state_t state;
    int err;     /* KMS_E* behind the state (0 for OK) */
    uint32_t hr; /* 0, 0x800706BA, or with an activation check its outcome */
    uint64_t ms; /* elapsed */
    char addr[KMS_ADDRSTRLEN];
    int activation;         /* an activation request was answered */
    uint32_t act_status;    /* HRESULT in the response */
    uint32_t current_count; /* the host's count in the response */
    uint32_t required;      /* the threshold asked for */
    kms_guid_t client_id;   /* the client machine ID the request carried */
    int again;              /* not probed: this address failed earlier in the run */
} loc_probe_result_t;

typedef void (*loc_probe_cb)(void *ud, const loc_probe_result_t *r);

/**
 * Probe @p sa; @p timeout_ms bounds the connect and the bind each.
 * @p required 0: bind only; else also an activation request with that
 * required client count, as client machine ID @p client_id (NULL: a random
 * one; resolver/client_id.h gives the stable one).  @p cb runs exactly
 * once, from the loop.
 * @return 0, or KMS_ENOMEM / KMS_EINVAL (then @p cb is not called).
 */
int loc_probe_start(uv_loop_t *loop, const struct sockaddr *sa, unsigned timeout_ms,
                    uint32_t required, const kms_guid_t *client_id, loc_probe_cb cb, void *ud);

/** An activation check of loc_probe_start_check(). */
typedef struct {
    uint32_t required;           /* the client's threshold; 0: bind only */
    const kms_guid_t *client_id; /* NULL: a random one */
    const kms_guid_t *app_id;    /* the application (family) asked for; NULL: Windows */
    const kms_guid_t *kms_id;    /* the KMS counted ID (pool); NULL: the Windows 10 client's */
} loc_act_check_t;

/** loc_probe_start() with the activation request's application and pool
 *  chosen (kmsctl handover checks every pool the old host counts). */
int loc_probe_start_check(uv_loop_t *loop, const struct sockaddr *sa, unsigned timeout_ms,
                          const loc_act_check_t *c, loc_probe_cb cb, void *ud);

/** Short text for a probe state ("answered (RPC bind accepted)", ...). */
const char *loc_probe_state_name(loc_probe_state_t s);

#endif
