/* SPDX-License-Identifier: MIT */
/*
 * handover_int.h - internal to `kmsctl handover`: the run's state and what
 * its two files call in each other.
 *
 *   handover.c   the run: its output, the DNS engine clients would use,
 *                steps 2 to 5, the plan;
 *   hostcheck.c  the old host read from kmsd's status (record, domains,
 *                products and pools, listen addresses) and step 1, the new
 *                host checked as a client would find it.
 */
#ifndef KMS_FLEET_HANDOVER_INT_H
#define KMS_FLEET_HANDOVER_INT_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/guid.h"
#include "base/json.h"
#include "dns/name.h"
#include "dns/query.h"
#include "fleet/handover.h"
#include "publisher/domains.h"
#include "resolver/locate.h"

#define STEPS      5
#define MAX_CHECKS 16 /* activation checks at step 1: one per pool the old host counts */
#define MAX_LISTEN 16

/* One activation check of step 1: a pool (KMS counted ID) the old host's
   clients count in, the application its product serves, the threshold. */
typedef struct {
    kms_guid_t app, kms_id;
    int has_kms_id; /* 0: the Windows 10 client pool (the old host counted nothing yet) */
    char family[16];
    uint32_t required;
} check_t;

typedef struct {
    const fleet_handover_options_t *o;
    uv_loop_t loop;
    uint64_t t0;
    kms_json_t *doc, *steps; /* --json: the document, its "steps" */
    int changed;             /* cdns went through: the host no longer publishes */
    int interrupted;         /* SIGINT/SIGTERM during the drain */
    /* from kmsd's status */
    char target[KMS_DNS_NAMELEN]; /* this host's record */
    uint16_t port;
    uint32_t ttl;
    struct sockaddr_storage server; /* [dns] server; ss_family 0: the primary */
    pub_domain_list_t doms;
    struct sockaddr_storage listen[MAX_LISTEN];
    size_t nlisten;
    check_t checks[MAX_CHECKS];
    size_t nchecks;
    int64_t activations_ok;
    /* the new host */
    char host[KMS_DNS_NAMELEN];       /* canonical, for comparisons */
    char shown[KMS_DNS_NAMELEN];      /* as written: "kms2.kms.test" */
    struct sockaddr_storage resolver; /* --resolver; ss_family 0: resolv.conf */
    struct sockaddr_storage answered; /* the new host's address that answered */
    int64_t withdrawn_ms;             /* step 3: from the start to "gone from every server" */
} ho_t;

/** A discovery's result, for the run's loop. */
typedef struct {
    int done, err;
    loc_result_t *res;
} loc_wait_t;

/** Milliseconds since the handover began. */
uint64_t ho_elapsed_ms(ho_t *h);

/** One line of step @p n (text), or one entry of "steps" (JSON).  @p state:
 *  "ok", "FAILED", or "plan" (--dry-run). */
void ho_step_line(ho_t *h, int n, const char *name, const char *state, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define OK(h, n, name, ...)     ho_step_line(h, n, name, "ok", __VA_ARGS__)
#define FAILED(h, n, name, ...) ho_step_line(h, n, name, "FAILED", __VA_ARGS__)

/** loc_done_cb of a discovery run to its end on the handover's loop (ud: loc_wait_t). */
void ho_on_located(void *ud, int err, loc_result_t *res);

/** A DNS engine asking the resolver clients ask.  0, or 1 after a message. */
int ho_dnsq_for_clients(ho_t *h, kms_dnsq_t **out);

/** Stop and free @p q, running the loop until it is closed. */
void ho_dnsq_done(ho_t *h, kms_dnsq_t *q);

/** kmsd's status: everything (@p first), or only the activation counter.
 *  0, or the exit code after a message. */
int ho_read_status(ho_t *h, int first);

/** Step 1: the new host answers, in every pool the old host counts.  0 or 1. */
int ho_step_new_host(ho_t *h);

#endif
