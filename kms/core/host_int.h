/* SPDX-License-Identifier: MIT */
/*
 * host_int.h - the host object's fields, shared by host.c (lifecycle,
 * settings, activation), command.c and verbs_*.c (the control verbs).
 * Internal to kms/core: nothing outside this folder includes it.
 */
#ifndef KMS_CORE_HOST_INT_H
#define KMS_CORE_HOST_INT_H

#include <stdint.h>

#include "base/log.h"
#include "kms/core/host.h"
#include "kms/core/inventory.h"
#include "kms/core/ledger.h"
#include "kms/core/state.h"

#define EPID_HOST_MAX 48 /* "KMSDNS-xxxxxxxx-" + 48 = 64 characters, the wire limit */

struct kms_host {
    char *state_dir;
    int lock_fd;                    /* flock on state_dir/lock, for the host's lifetime */
    kms_settings_t base;            /* the daemon's settings, under the overrides */
    pub_domain_list_t base_domains; /* base.domains points here */
    kms_overrides_t ovr;
    kms_inv_t inv;
    kms_ledger_t *ledger;
    int ledger_dirty;
    int durable;
    kms_state_writer_fn writer; /* NULL: the files in state_dir */
    void *writer_ud;
    kms_host_stats_t stats;
    char hostname[EPID_HOST_MAX + 1];
    kms_ratelimit_t unsupported_log;   /* requests in another encoding */
    kms_ratelimit_t malformed_log;     /* bad plain messages */
    kms_dns_state_t *dns;              /* DNS status table (kms_host_set_dns) */
    kms_dns_auth_t dns_auth;           /* how updates are signed (kms_host_set_dns_auth) */
    kms_dns_record_t dns_record;       /* what is published (kms_host_set_dns_record) */
    kms_dns_transport_t dns_transport; /* plain DNS or TLS (kms_host_set_dns_transport) */
    char listen_addrs[1024];           /* where kmsd listens (kms_host_set_listen) */
    char listen_source[24];            /* "config", "socket-activation"; "" before ready */
    size_t n_dns;
    int dns_running;
};

/** Write the state file @p kind formatted in @p w (when @p r, the
 *  formatter's result, is 0), then wipe and free @p w.  0 or KMS_E*. */
int host_save(kms_host_t *h, const char *kind, kms_wr_t *w, int r);

#endif
