/* SPDX-License-Identifier: MIT */
/*
 * server.h - kmsd's TCP front end: listeners and connections on one libuv
 * loop, feeding whole DCE/RPC PDUs to one kms_rpc_conn_t per connection.
 *
 * Addresses: every entry of cfg->listen (kms/daemon/listen.h) gets its own
 * socket.  IPv6 sockets are bound with UV_TCP_IPV6ONLY, so IPv4 clients are
 * served by the IPv4 socket only and nothing depends on v4-mapped
 * addresses.  Port rule: a port written in a `listen` entry wins; an entry
 * without a port (the built-in default "0.0.0.0, [::]" among them) uses the
 * host's effective port (the persisted `sprt` setting, default 1688).
 *
 * Memory: one read buffer (max_pdu + slack) is shared by every connection of
 * the server; a libuv read lands there, whole PDUs are handled in place and
 * only the bytes of an incomplete PDU are copied to a small per-connection
 * buffer.  An idle connection costs its uv_tcp_t, its idle uv_timer_t, the
 * association and a few counters (well under 1 KiB).
 *
 * Limits: per-connection idle timeout (0 disables it): a connection with no
 * partial PDU is closed after idle_timeout without input, and a PDU must be
 * complete within idle_timeout of its first byte (reads in between do not
 * extend it), else the connection is closed as a slow client; both closes
 * count in stats->idle_closed and are logged at info, each kind at most once
 * a second with the number held back since; max_connections (a connection over the cap is accepted
 * and closed at once, counted in stats->connections_rejected, logged at most once a second), the
 * PDU cap (cfg->max_pdu), and a cap on unsent output per connection (reading pauses while more than
 * KMS_SERVER_MAX_PENDING bytes wait to be written).  Malformed input closes that connection only.
 */
#ifndef KMS_DAEMON_SERVER_H
#define KMS_DAEMON_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "kms/daemon/config.h"
#include "kms/core/host.h"

#define KMS_SERVER_MAX_PENDING (256 * 1024) /* unsent bytes before reading pauses */
#define KMS_SERVER_ERRLEN      256

typedef struct kms_server kms_server_t;

/**
 * Create a server on @p loop for @p host (borrowed; must outlive the server).
 * The listen list and limits are copied from @p cfg.  Nothing is bound until
 * kms_server_start().  0 or KMS_ENOMEM.  The caller frees *@p out with
 * kms_server_free() after a kms_server_stop() has completed (or if it was
 * never started).
 */
int kms_server_new(uv_loop_t *loop, const kms_config_t *cfg, kms_host_t *host, kms_server_t **out);
/**
 * Bind and listen on every address.  On failure every listener opened so far
 * is closed (the caller must still run the loop or call kms_server_stop()
 * before freeing) and @p err (KMS_SERVER_ERRLEN bytes) reads e.g.
 * "cannot listen on [::]:1688: address already in use".
 */
int kms_server_start(kms_server_t *s, char *err, size_t errlen);

/**
 * Socket activation: serve on @p fds (listening TCP sockets, IPv4 or IPv6,
 * handed over by systemd) instead of the configured listen addresses.
 * Before kms_server_start().  0, KMS_EINVAL (one is not a listening TCP
 * socket; @p err says which), KMS_ENOMEM.
 */
int kms_server_adopt(kms_server_t *s, const int *fds, size_t n, char *err, size_t errlen);

/** 1 when the listeners were handed over (kms_server_adopt()). */
int kms_server_adopted(const kms_server_t *s);

/** Callback when every handle of the server has been closed. */
typedef void (*kms_server_stopped_fn)(kms_server_t *s, void *ud);

/**
 * Stop accepting, close every connection (unsent replies are dropped) and
 * call @p cb (may be NULL) from the loop once all handles are closed.
 * Calling it twice is harmless (the second callback is ignored).
 */
void kms_server_stop(kms_server_t *s, kms_server_stopped_fn cb, void *ud);

/** Apply new limits (max_connections, idle_timeout, max_pdu) from @p cfg,
 *  e.g. on SIGHUP.  Existing connections get the new idle timeout when their
 *  timer next restarts; the PDU cap applies to new connections. */
void kms_server_set_limits(kms_server_t *s, const kms_config_t *cfg);

/** Serve at most @p cap connections at once, whatever max_connections says
 *  (the open-file limit's share, fdlimit.h); 0: no cap. */
void kms_server_set_fd_cap(kms_server_t *s, unsigned cap);

/** Number of listening sockets. */
size_t kms_server_listeners(const kms_server_t *s);

/** Write the bound addresses ("0.0.0.0:1688 [::]:1688") into @p buf. */
void kms_server_describe(const kms_server_t *s, char *buf, size_t len);

/** Number of open client connections. */
size_t kms_server_connections(const kms_server_t *s);

/** The port of the first listener (after kms_server_start(): the port served); 0 if none. */
uint16_t kms_server_port(const kms_server_t *s);

/** Free a stopped (or never started) server; NULL is a no-op. */
void kms_server_free(kms_server_t *s);

#endif
