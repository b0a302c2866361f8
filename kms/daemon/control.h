/* SPDX-License-Identifier: MIT */
/*
 * control.h - kmsd's control socket: a Unix stream socket (mode 0600) on the
 * daemon's libuv loop, speaking the line protocol of docs/control.md.
 *
 * A client sends one command per line (at most KMS_CONTROL_MAX_LINE bytes
 * not counting the newline, or a final "\r\n": room for the longest
 * sdomains list; a client's buffer grows to it only when a line is that
 * long); each line goes to kms_host_command() and its result, rendered by
 * kms_cmd_render() ("OK <n>" + n lines, or "ERR <name> <message>"), is
 * written back before the next line is read.  A longer line gets
 * "ERR KMS_ETOOBIG line longer than 274448 bytes" and the connection is
 * closed.  Any number of clients may be connected; a client
 * that goes away mid-reply only loses its own connection, and one that sends
 * commands without reading the replies is not read from while more than
 * KMS_CONTROL_MAX_PENDING bytes of replies wait for it.
 *
 * The socket file: a stale one (nobody accepts on it) is replaced; a live one
 * makes kms_control_start() fail with "another kmsd is already using PATH".
 * The file is created with mode 0600 (umask around bind, then checked) and
 * removed when the control socket stops.
 */
#ifndef KMS_DAEMON_CONTROL_H
#define KMS_DAEMON_CONTROL_H

#include <stddef.h>
#include <uv.h>

#include "kms/core/host.h"

#define KMS_CONTROL_MAX_LINE    KMS_CMD_MAX_LINE
#define KMS_CONTROL_ERRLEN      512
#define KMS_CONTROL_MAX_PENDING (1024 * 1024) /* unread reply bytes before reading pauses */

typedef struct kms_control kms_control_t;

/** A command whose reply was deferred by the hook (see kms_control_reply()). */
typedef struct kms_control_req kms_control_req_t;

/**
 * Called after each command has run, with its result @p res, before the
 * reply is written; kmsd uses it for the DNS work of a verb (the table's
 * kms_verb_t.dns).  The hook may change @p res (add lines, fail it).
 * Return 0 to send it now, or 1 to defer: nothing is written and nothing
 * more is read from that client until kms_control_reply(@p req) sends
 * @p res as it is then, so replies keep the order of the commands.  @p res
 * belongs to @p req and stays valid until that call.
 */
typedef int (*kms_control_hook_fn)(void *ud, kms_control_req_t *req, kms_cmd_result_t *res);

/**
 * Create the control socket object for @p path (copied) serving @p host
 * (borrowed; must outlive it).  0 or KMS_ENOMEM.  Free with
 * kms_control_free() once kms_control_stop() has completed (or if it was
 * never started).
 */
int kms_control_new(uv_loop_t *loop, const char *path, kms_host_t *host, kms_control_t **out);

/** Install @p fn (may be NULL) as the per-command hook. */
void kms_control_set_hook(kms_control_t *c, kms_control_hook_fn fn, void *ud);

/**
 * Answer a deferred command with its result (as the hook's caller left it)
 * and free @p req.  If the client went away (or the socket stopped)
 * meanwhile, the answer is dropped.  Every deferred request must be
 * answered exactly once, also while stopping.
 */
void kms_control_reply(kms_control_req_t *req);

/** Bind and listen.  On failure @p err (KMS_CONTROL_ERRLEN bytes) holds one
 *  line, e.g. "another kmsd is already using /var/lib/kmsd/kmsd.sock". */
int kms_control_start(kms_control_t *c, char *err, size_t errlen);

typedef void (*kms_control_stopped_fn)(kms_control_t *c, void *ud);

/** Close the listener and every client, remove the socket file, then call
 *  @p cb (may be NULL) from the loop once every handle is closed. */
void kms_control_stop(kms_control_t *c, kms_control_stopped_fn cb, void *ud);

/**
 * Client side: does @p buf (@p len bytes received so far) hold a complete
 * reply?  1 yes ("ERR ..." line, or "OK <n>" and n more lines), 0 not yet,
 * KMS_EMALFORMED when it cannot be a reply (first line neither "OK <n>" nor
 * "ERR ...").
 */
int kms_control_reply_complete(const char *buf, size_t len);

/** Free a stopped control socket; NULL is a no-op. */
void kms_control_free(kms_control_t *c);

#endif
