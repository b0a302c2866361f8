/*
 * probe.h - is a KMS host answering?  TCP connect, then a DCE/RPC bind to
 * the KMS interface (51c82175-844e-4750-b0d8-ec255555bc06 v1.0, NDR32), on
 * the caller's libuv loop, bounded by one timeout for the whole exchange.
 *
 * A host "answers" when the bind is acknowledged (bind_ack whose first
 * presentation result is acceptance).  A bind_nak or a rejected context
 * means something listens but is not a KMS host.  Anything else (refused,
 * unreachable, timeout, closed, garbage) is what Windows reports as
 * 0x800706BA "RPC server unavailable" - for a host found in DNS this is
 * often a stale SRV record.
 *
 * The bind PDU and the bind_ack are built and read with base/wire.h (C706
 * 12.6.4.3 bind, 12.6.4.4 bind_ack).
 */
#ifndef KMS_RESOLVER_PROBE_H
#define KMS_RESOLVER_PROBE_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/addr.h"
#include "base/wire.h"

typedef enum {
    LOC_PROBE_OK = 0,      /* bind accepted */
    LOC_PROBE_REFUSED,     /* TCP connection refused */
    LOC_PROBE_TIMEOUT,     /* no answer in time */
    LOC_PROBE_UNREACHABLE, /* other socket error */
    LOC_PROBE_CLOSED,      /* connection closed before a bind answer */
    LOC_PROBE_REJECTED,    /* bind_nak / context rejected: not a KMS host */
    LOC_PROBE_BADREPLY,    /* reply is not a bind answer */
} loc_probe_state_t;

typedef struct {
    loc_probe_state_t state;
    int err;     /* KMS_E* behind the state (0 for OK) */
    uint32_t hr; /* 0 or 0x800706BA as Windows reports it */
    uint64_t ms; /* elapsed */
    char addr[KMS_ADDRSTRLEN];
} loc_probe_result_t;

typedef void (*loc_probe_cb)(void *ud, const loc_probe_result_t *r);

/**
 * Probe @p sa within @p timeout_ms.  @p cb runs exactly once, from the loop,
 * after every handle of the probe is closed.
 * @return 0, or KMS_ENOMEM / KMS_EADDR (then @p cb is not called).
 */
int loc_probe_start(uv_loop_t *loop, const struct sockaddr *sa, unsigned timeout_ms,
                    loc_probe_cb cb, void *ud);

/** Short text for a probe state ("answered", "connection refused", ...). */
const char *loc_probe_state_name(loc_probe_state_t s);

/** Build the bind PDU (exposed for tests). */
int loc_probe_bind_pdu(kms_wr_t *wr, uint32_t call_id);
/** Read a bind answer PDU: LOC_PROBE_OK, _REJECTED or _BADREPLY. */
loc_probe_state_t loc_probe_parse_answer(const uint8_t *pdu, size_t len);

#endif
