/* SPDX-License-Identifier: MIT */
/*
 * fdlimit.h - kmsd and the open-file limit.
 *
 * Every client connection holds a descriptor; so do kmsd's own listeners,
 * control socket and its clients, the DNS publisher's sockets, state file
 * writes and libuv's internals.  When connections take them all, nothing
 * else works: kmsctl cannot connect, a state write fails - and glibc, which
 * loads libgcc_s the first time a thread exits, aborts the process when
 * that load finds no free descriptor (the FQDN lookup's helper thread does
 * exit, about a second after start).
 *
 * So at start kmsd raises its soft limit to the hard one, loads libgcc_s
 * while it can, and serves at most the connections that fit beside its own
 * needs: KMS_FD_OWN descriptors (48) plus one per listener.  A max_connections
 * above that is lowered, with a warning naming the limit.
 */
#ifndef KMS_DAEMON_FDLIMIT_H
#define KMS_DAEMON_FDLIMIT_H

#include <stddef.h>

/** DNS exchanges kmsd's publisher has on the wire at once, a socket each
 *  (one DNS job runs at a time). */
#define KMS_FD_DNS 16

/** Descriptors kmsd keeps for itself besides its listeners: the DNS
 *  sockets and 32 more (stdio, libuv's epoll, signal pipe, async and spare
 *  descriptors, the lock, the control socket and a few of its clients, state
 *  file writes, the FQDN lookup). */
#define KMS_FD_OWN (KMS_FD_DNS + 32)

/**
 * Call first in main(), before any thread: raise the soft RLIMIT_NOFILE to
 * the hard limit and keep libgcc_s loaded.  Returns the soft limit now in
 * effect (ULONG_MAX when unlimited or unknown).
 */
unsigned long kms_fd_prepare(void);

/** Connections that fit in @p limit open files beside kmsd's own
 *  descriptors and @p n_listen listeners; at least 1. */
unsigned kms_fd_connection_cap(unsigned long limit, size_t n_listen);

#endif
