/* SPDX-License-Identifier: MIT */
/*
 * handover.h - `kmsctl handover HOST[:PORT]`: this host hands its role to a
 * new KMS host, step by step, each step checked before the next one:
 *
 *  1. new-host: the new host answers as a client would find it (its name
 *     resolved, TCP connect, DCE/RPC bind, one activation request: its
 *     count against the threshold, 25 by default); a refused bind or an
 *     activation the host does not answer in our encoding (a Windows KMS
 *     host) stops here, a count below the threshold too unless `force`;
 *  2. new-record: the new host's record (its name and port) is at the
 *     primary of every domain this host publishes in, and every name
 *     server of each zone serves it (publisher PUB_AWAIT_PUBLISHED,
 *     waiting up to `wait_ms` for transfers);
 *  3. withdraw: this host's kmsd removes its records (`cdns`), then every
 *     name server must stop serving them (PUB_AWAIT_WITHDRAWN, bounded the
 *     same way);
 *  4. discovery: in each domain, discovery as a client makes it (resolver/
 *     locate.h, at the resolver clients ask) lists the new host and not
 *     this one, and a probe reaches the new host first; asked again until
 *     `wait_ms` while a resolver's cache still gives the old answer;
 *  5. drain: this host keeps answering for `drain_ms` (clients that cached
 *     it come back once), then is decommissioned.
 *
 * Nothing changes before step 3: when step 1 or 2 fails the host is as it
 * was.  A failed step's line says what to fix; after step 3 it also says
 * how to undo (`kmsctl sdns`).  With `dry_run` only the plan is printed.
 *
 * Talking to kmsd is the caller's (kmsctl's control client): `ctl` sends
 * one command line and gives back the reply's payload lines.
 */
#ifndef KMS_FLEET_HANDOVER_H
#define KMS_FLEET_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

/**
 * Send @p line (no newline) to kmsd, waiting up to @p timeout_s.
 * 0: OK, *@p payload = the reply's lines (malloc'd, '\n' after each);
 * 1: kmsd refused (ERR), its message in @p err;
 * 3: no answer (cannot connect, timeout), the reason in @p err.
 */
typedef int (*fleet_ctl_fn)(void *ud, const char *line, unsigned timeout_s, char **payload,
                            char *err, size_t errlen);

typedef struct {
    const char *host;          /**< the new host: its name, as its SRV target */
    uint16_t port;             /**< default 1688 */
    uint32_t required;         /**< activation threshold checked (default 25) */
    int force;                 /**< go on when the new host's count is below it */
    int dry_run;               /**< print the plan, change nothing */
    int json;                  /**< one JSON document on stdout instead of lines */
    uint64_t wait_ms;          /**< bound of each wait for the name servers (default 300 s) */
    uint64_t drain_ms;         /**< step 5 (default 600 s) */
    const char *resolver;      /**< "IP[:PORT]" clients ask; NULL: /etc/resolv.conf */
    unsigned probe_timeout_ms; /**< connect and bind, each (default 2000) */
    unsigned ctl_timeout_s;    /**< kmsctl --timeout, for status (cdns gets at least 120) */
    fleet_ctl_fn ctl;
    void *ctl_ud;
} fleet_handover_options_t;

/** Defaults above (host NULL, no ctl). */
void fleet_handover_options_init(fleet_handover_options_t *o);

/**
 * Run the handover (blocking: its own libuv loop), printing a line per step
 * (or, with json, one document at the end).
 * @return kmsctl's exit code: 0 done (or planned), 1 a step failed,
 *         2 bad usage (a HOST that is not a name, no domains), 3 kmsd not
 *         reached.
 */
int fleet_handover(const fleet_handover_options_t *o);

#endif
