/* SPDX-License-Identifier: MIT */
/*
 * addr.h - numeric socket addresses as users type them.
 *
 * Accepted forms: "192.0.2.1", "192.0.2.1:53", "::1", "[::1]", "[::1]:53".
 * Host names are not resolved here (resolution belongs to the DNS engine);
 * a name is KMS_EADDR.  A missing port takes the caller's default.
 */
#ifndef KMS_BASE_ADDR_H
#define KMS_BASE_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define KMS_ADDRSTRLEN 64 /* "[v6%scope]:port" and the NUL */

/** Parse a numeric address with optional port. 0, KMS_EADDR or KMS_ERANGE (port). */
int kms_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *out);
/** Parse a port number 1..65535. 0 or KMS_ERANGE/KMS_EINVAL. */
int kms_port_parse(const char *s, uint16_t *port);
/** Format as "192.0.2.1:53" or "[::1]:53"; returns @p buf (KMS_ADDRSTRLEN bytes). */
char *kms_addr_format(const struct sockaddr *sa, char *buf);
/** Format as named does in its logs: "192.0.2.1#53". */
char *kms_addr_format_dns(const struct sockaddr *sa, char *buf);
/** The address alone, no port or brackets: "192.0.2.1", "::1" (KMS_ADDRSTRLEN bytes). */
char *kms_addr_format_ip(const struct sockaddr *sa, char *buf);
uint16_t kms_addr_port(const struct sockaddr *sa);
void kms_addr_set_port(struct sockaddr *sa, uint16_t port);
socklen_t kms_addr_len(const struct sockaddr *sa);
/**
 * Build a socket address from raw address bytes (as an A or AAAA record
 * holds them).
 * @param family AF_INET (4 bytes at @p bytes) or AF_INET6 (16 bytes)
 * @param out zeroed, then filled; all zero on failure
 * @return 0, or KMS_EINVAL for another family
 */
int kms_addr_from_bytes(int family, const uint8_t *bytes, uint16_t port,
                        struct sockaddr_storage *out);

#endif
