/* SPDX-License-Identifier: MIT */
/*
 * query.h - the DNS query engine: c-ares driven by a caller's libuv loop.
 *
 * This is the only module that includes ares.h.  One engine (kms_dnsq_t) is
 * one c-ares channel per server, bound to one uv_loop_t: c-ares tells us
 * which sockets it wants watched through ARES_OPT_SOCK_STATE_CB and we keep
 * one uv_poll_t per fd (the (0,0) call comes right before c-ares closes the
 * fd, so the poll handle is stopped and closed there); one uv_timer_t
 * re-armed from the earliest ares_timeout() drives timeouts.
 * Servers are tried like a stub resolver tries them: the first, then, when
 * it answers SERVFAIL, REFUSED, NOTIMP, FORMERR or garbage, or does not
 * answer, the next; `tries` rounds over the list, a server that answered
 * with an rcode is not asked again.  A final answer (NOERROR, NXDOMAIN,
 * NODATA) ends the query at once.  When no server gives one, the first
 * failure that came with a message is reported (with that message), else
 * the first silence.  (c-ares 1.18 cannot send to a chosen server, and with
 * ARES_FLAG_NOCHECKRESP, needed to see the rcode, it never moves on.)
 *
 * Names are always queried as given, absolute: kms_dnsq_send() appends the
 * final '.' when missing and uses ares_query(), never ares_search() (whose
 * ndots=1 rule would query "_vlmcs._tcp" at the root first).  The callback
 * receives the RAW answer message, because c-ares 1.18.1 exposes no parser
 * for the ADDITIONAL section (the A/AAAA glue named sends with SRV answers);
 * callers parse it with dns/srv.h.
 *
 * Servers: an explicit list of numeric "IP[:port]" strings, or the
 * nameservers of a resolv.conf file (path configurable, default
 * /etc/resolv.conf; read by dns/resolvconf.h, 127.0.0.1 when it names
 * none).  Servers are set once at creation, before any query:
 * ares_set_servers_ports() fails while queries are pending.
 *
 * Lifetime (base/loop.h): kms_dnsq_new() makes an engine ready for
 * queries; kms_dnsq_stop() cancels pending queries (their callbacks run
 * with KMS_ECANCELED, from the loop, never from inside the stop), closes
 * every uv handle and calls back once the last one is closed;
 * kms_dnsq_free() then.
 */
#ifndef KMS_DNS_QUERY_H
#define KMS_DNS_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define KMS_DNS_TYPE_A    1
#define KMS_DNS_TYPE_SOA  6
#define KMS_DNS_TYPE_AAAA 28
#define KMS_DNS_TYPE_SRV  33

#define KMS_DNSQ_MAX_SERVERS 8

typedef struct kms_dnsq kms_dnsq_t;

typedef struct {
    /** Numeric servers "IP[:port]" (port default 53); NULL/0: from resolv.conf. Copied. */
    const char *const *servers;
    size_t n_servers;
    /** resolv.conf to read nameservers from when no servers are given
     *  (NULL: /etc/resolv.conf). */
    const char *resolv_conf;
    /** Per-try timeout in milliseconds (0: 2000). */
    unsigned timeout_ms;
    /** Rounds over the servers (0: 2); each round asks each server once. */
    unsigned tries;
} kms_dnsq_opts_t;

/**
 * Query callback.  @p status is 0 when the server answered NOERROR with at
 * least one answer record, else a KMS_E*: KMS_EDNS_NXDOMAIN, KMS_EDNS_NODATA,
 * KMS_EDNS_SERVFAIL, KMS_EDNS_REFUSED, KMS_EDNS_NOTIMP, KMS_EDNS_FORMERR,
 * KMS_ETIMEOUT, KMS_ECONNREFUSED, KMS_EDNS_BADANSWER, KMS_ENOMEM,
 * KMS_ECANCELED.  @p answer / @p len is the raw DNS message when one was
 * received (also for NXDOMAIN/NODATA), else NULL/0; it is borrowed for the
 * duration of the call only.
 */
typedef void (*kms_dnsq_cb)(void *ud, int status, const uint8_t *answer, size_t len);

/**
 * Create an engine on @p loop.  On error @p err (if given) gets one line
 * naming the cause (e.g. the server string that does not parse).  The
 * caller releases the engine with kms_dnsq_stop(), then kms_dnsq_free().
 * @return 0, KMS_EADDR, KMS_ERANGE, KMS_ECONFIG, KMS_ENOMEM.
 */
int kms_dnsq_new(uv_loop_t *loop, const kms_dnsq_opts_t *opts, kms_dnsq_t **out, char *err,
                 size_t errlen);

/**
 * Send one query for @p name (absolute; a final '.' is added if missing)
 * of @p qtype, class IN.  @p cb runs exactly once, from the loop (never
 * from inside this call) unless this call fails.
 * @return 0, KMS_EINVAL (bad name), KMS_ENOMEM, KMS_ECLOSED (engine closing).
 */
int kms_dnsq_send(kms_dnsq_t *q, const char *name, uint16_t qtype, kms_dnsq_cb cb, void *ud);

/** Number of kms_dnsq_send() queries so far (retransmissions and the
 *  same query asked of the next server not counted). */
uint64_t kms_dnsq_count(const kms_dnsq_t *q);

/** Number of queries still waiting for their callback. */
size_t kms_dnsq_pending(const kms_dnsq_t *q);

/** Servers in use, formatted "IP:port" into @p buf (comma separated). */
char *kms_dnsq_servers(const kms_dnsq_t *q, char *buf, size_t len);

/** The engine has stopped: every callback made, every handle closed. */
typedef void (*kms_dnsq_stopped_fn)(kms_dnsq_t *q, void *ud);

/**
 * Cancel pending queries (their callbacks get KMS_ECANCELED, from the
 * loop), close all handles, and call @p cb (may be NULL) once they are
 * closed.  No query may be sent after this call.  NULL is a no-op.
 */
void kms_dnsq_stop(kms_dnsq_t *q, kms_dnsq_stopped_fn cb, void *ud);

/** Free a stopped engine; NULL is a no-op. */
void kms_dnsq_free(kms_dnsq_t *q);

#endif
