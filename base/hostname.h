/* SPDX-License-Identifier: MIT */
/*
 * hostname.h - this host's fully qualified domain name, found one way for
 * every program: kmsd's default SRV target and kms-locate's primary DNS
 * suffix (the domain of the FQDN) both come from kms_host_fqdn().
 *
 * gethostname() gives the name.  A name with a dot is taken as the FQDN as
 * is (no lookup).  A short name - Debian's default: "kms1" in /etc/hostname,
 * "127.0.1.1 kms1.corp.example kms1" in /etc/hosts - is looked up with
 * getaddrinfo(AI_CANONNAME), which asks the sources of nsswitch.conf in
 * their order ("files dns": /etc/hosts first, then DNS), and its canonical
 * name is the FQDN when it has a dot.
 *
 * Bounded cost: when the name is not in /etc/hosts and DNS is down, the
 * lookup would wait for the system resolver's timeouts (resolv.conf
 * `timeout` x `attempts` x servers, 10 s and more by default).  It runs in
 * the background (glibc getaddrinfo_a) and is waited for at most the
 * caller's bound; after that the short name is used (no domain) and the
 * late answer is discarded.
 */
#ifndef KMS_BASE_HOSTNAME_H
#define KMS_BASE_HOSTNAME_H

#include <stddef.h>

/** Default bound of the canonical-name lookup, in milliseconds. */
#define KMS_FQDN_WAIT_MS 2000u

/**
 * Canonical-name lookup of @p host into @p out (@p len bytes), waiting at
 * most @p wait_ms.  @return 0, KMS_ENOENT (no such name, or no canonical
 * name), KMS_ETIMEOUT, KMS_EBUSY (an earlier lookup that timed out is still
 * running), KMS_EINVAL.
 */
typedef int (*kms_canon_fn)(const char *host, unsigned wait_ms, char *out, size_t len);

/** The system lookup: getaddrinfo(AI_CANONNAME) in the background, bounded.
 *  Not thread-safe (one lookup at a time per process). */
int kms_canon_lookup(const char *host, unsigned wait_ms, char *out, size_t len);

/**
 * The FQDN of a host named @p hostname into @p out: @p hostname itself
 * (without a final dot) when it has a dot; else @p canon's answer when that
 * has a dot; else @p hostname.  @p canon NULL means kms_canon_lookup.
 * @return @p out (always a string; empty only when @p hostname is).
 */
char *kms_fqdn_of(const char *hostname, kms_canon_fn canon, unsigned wait_ms, char *out,
                  size_t len);

/**
 * This host's FQDN (gethostname() through kms_fqdn_of() with the system
 * lookup, waiting at most @p wait_ms, 0: KMS_FQDN_WAIT_MS) into @p out.
 * Found once per process; later calls copy the first answer.
 * @return @p out.
 */
char *kms_host_fqdn(unsigned wait_ms, char *out, size_t len);

#endif
