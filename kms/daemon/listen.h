/* SPDX-License-Identifier: MIT */
/*
 * listen.h - kmsd's listen addresses: the one parser of `[host] listen`
 * and --listen, whose result the server binds as it is.
 *
 * A comma-separated list of numeric addresses, "0.0.0.0:1688, [::]:1688";
 * an address without a port gets port 0, which the server replaces with
 * the host's port (sprt, default 1688) at each start; a port alone, "1700",
 * means every address of both families: 0.0.0.0:1700 and [::]:1700 (two
 * sockets; nothing relies on v4-mapped addresses).  Host names are not
 * accepted; at most KMS_LISTEN_MAX addresses, none twice; one trailing
 * comma is allowed (a list continued on the next line).
 */
#ifndef KMS_DAEMON_LISTEN_H
#define KMS_DAEMON_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#define KMS_LISTEN_MAX 64

/**
 * Parse @p text into *@p out (malloc'd array of *@p n addresses; the
 * caller frees it).  On error *@p out is NULL, and @p why (may be NULL)
 * holds one reason: "'x' is not a numeric address[:port]".
 * @return 0, KMS_EINVAL, KMS_ENOMEM
 */
int kms_listen_parse(const char *text, struct sockaddr_storage **out, size_t *n, char *why,
                     size_t whylen);

/** "127.0.0.1:1688", "[::1]:1688", or without ":port" when the port is 0
 *  (the host's port); into @p buf (KMS_ADDRSTRLEN bytes).  Returns @p buf. */
char *kms_listen_format(const struct sockaddr_storage *a, char *buf);

#endif
