/* SPDX-License-Identifier: MIT */
/*
 * client.h - asynchronous KMS RPC client on a caller's libuv loop.
 *
 * One operation = TCP connect, bind to the KMS interface (plain NDR32, or the
 * Windows-style three contexts NDR32 + NDR64 + bind time feature
 * negotiation), optionally one activation request (opnum 0, plain encoding)
 * and its response.  The completion callback runs exactly once per started
 * operation, on the loop, with a result that says which stage was reached
 * and what went wrong; any number of operations may run concurrently on one
 * loop.  Each has a connect timeout and a timeout per exchange (bind,
 * request).
 *
 * Lifecycle (libuv style): kms_rpcc_start() allocates the operation; after
 * the callback has returned, its handles are closed and its memory is
 * released in their close callbacks, so a loop that has run to completion
 * can be closed (uv_loop_close() == 0).  The callback always runs from the
 * loop, never from inside kms_rpcc_start() or kms_rpcc_cancel():
 * kms_rpcc_cancel() settles a pending operation as KMS_ECANCELED, stops its
 * I/O and lets the loop run the callback on its next turn; until then the
 * handle stays valid and another cancel is a no-op.
 *
 * Replies are cut into PDUs by the same kms_framer_t as the server's input
 * (rpc/framer.h), capped at KMS_RPC_MAX_PDU; a header that cannot start a
 * valid PDU completes the operation with KMS_EPROTO.
 *
 * Raw mode (opts.raw != NULL) sends the given bytes right after connecting
 * instead of binding and collects what comes back, until the peer closes,
 * the received bytes form only whole PDUs (the framer holds no partial one
 * and met no invalid header), or the exchange timeout: for malformed-input
 * tests.
 */
#ifndef KMS_RPC_CLIENT_H
#define KMS_RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/wire.h"
#include "rpc/activation.h"
#include "rpc/pdu.h"

typedef enum {
    KMS_RPCC_STAGE_CONNECT = 0,
    KMS_RPCC_STAGE_BIND = 1,
    KMS_RPCC_STAGE_REQUEST = 2,
} kms_rpcc_stage_t;

typedef enum {
    KMS_RPCC_BIND_NDR32 = 0,   /* one context: KMS interface, NDR32 */
    KMS_RPCC_BIND_WINDOWS = 1, /* contexts 0 NDR32, 1 NDR64, 2 bind time feature negotiation */
} kms_rpcc_bind_style_t;

typedef struct {
    unsigned connect_timeout_ms;  /* 0: 5000 */
    unsigned exchange_timeout_ms; /* per exchange; 0: 5000 */
    kms_rpcc_bind_style_t bind_style;
    int send_request;          /* non-zero: send @c request after the bind */
    kms_act_request_t request; /* copied at start */
    const uint8_t *raw;        /* raw mode when non-NULL; copied at start */
    size_t raw_len;
} kms_rpcc_opts_t;

typedef struct {
    kms_rpcc_stage_t stage; /* the last stage entered */
    int err;                /* 0: exchange completed (the HRESULT may still be a failure) */
    int bind_accepted;      /* the NDR32 context was accepted */
    int bind_nak;           /* the server answered bind_nak ... */
    uint16_t nak_reason;    /* ... with this reason */
    uint16_t bind_result, bind_reason; /* the NDR32 context's result and reason */
    uint8_t n_results;                 /* results in the bind_ack */
    kms_rpc_result_t results[3];       /* the first three of them */
    uint32_t fault_status;             /* non-zero when a fault PDU answered */
    int have_response;                 /* @c response holds a decoded response stub */
    kms_act_response_t response;
    uint64_t elapsed_us;      /* from start to completion */
    const uint8_t *raw_reply; /* raw mode: what came back (valid during the callback) */
    size_t raw_reply_len;
    int raw_closed; /* raw mode: the peer closed the connection */
} kms_rpcc_result_t;

typedef struct kms_rpcc kms_rpcc_t;

/** Completion: called once; @p op is invalid after it returns. */
typedef void (*kms_rpcc_cb)(kms_rpcc_t *op, const kms_rpcc_result_t *res, void *ud);

/**
 * Start one operation on @p loop toward @p sa (IPv4 or IPv6, copied).  On
 * success *@p out (may be NULL) is the handle, usable with kms_rpcc_cancel()
 * until the callback runs.  On failure (KMS_EINVAL, KMS_ENOMEM, or a libuv
 * error translated) the callback is never called and nothing needs freeing
 * beyond running the loop.
 */
int kms_rpcc_start(uv_loop_t *loop, const struct sockaddr *sa, const kms_rpcc_opts_t *opts,
                   kms_rpcc_cb cb, void *ud, kms_rpcc_t **out);

/**
 * Cancel @p op (NULL is a no-op): its result becomes KMS_ECANCELED and its
 * I/O stops at once, but the callback runs later, from the loop, exactly
 * once; it is never called before this returns.  @p op stays valid until
 * the callback has run, so cancelling it again in the meantime, or from
 * inside its own callback, does nothing.  After the callback @p op must not
 * be used.
 */
void kms_rpcc_cancel(kms_rpcc_t *op);

/**
 * Synchronous convenience for tools: run one operation on a private loop.
 * @p res gets the result (raw_reply is NULL in it); in raw mode the reply
 * bytes are appended to @p raw_reply when it is non-NULL (caller frees it).
 * Returns res->err, or the start error.
 */
int kms_rpcc_run(const struct sockaddr *sa, const kms_rpcc_opts_t *opts, kms_rpcc_result_t *res,
                 kms_wr_t *raw_reply);

/** Name of a stage ("connect", "bind", "request"). */
const char *kms_rpcc_stage_name(kms_rpcc_stage_t s);

#endif
