/* SPDX-License-Identifier: MIT */
/*
 * discover.c - phases 1 and 2 of a run (publisher.h, steps 1 and 2): each
 * domain's zone, then each zone's primary.
 *
 * Phase 1 is the nsupdate walk: an SOA query for the owner _vlmcs._tcp.D at
 * the resolver (or at the configured server); the zone is the owner of the
 * SOA in the answer or authority section; without one, a label is stripped
 * and the query repeated.  With a configured server the first question is
 * the owner's SRV set instead: its answer names the zone in its authority
 * SOA or is the current state (kept for phase 3), one query less per
 * domain.  run->disc_pending counts the domains still walking; after the
 * last, phase 2 groups the domains per zone and finds each zone's primary:
 * the configured server, or the SOA MNAME's address (A, then AAAA) at the
 * resolver, with the resolver's port (with DNS-over-TLS: opt.tls.port,
 * default 853).  Discovery itself asks the resolver over plain DNS, or the
 * configured server (a primary: over DNS-over-TLS when enabled).  Each zone then goes on to phase 3
 * (pub__zone_work(), update.c).  A domain whose zone was not found has its
 * result and takes no further part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/rcode.h"
#include "publisher/pub_int.h"

/* ---- phase 2: zones ------------------------------------------------------- */

static const struct sockaddr *disc_server(const pub_engine_t *e)
{
    return (const struct sockaddr *)(e->has_server ? &e->server : &e->resolver);
}

static void on_mname(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    zone_t *z = ud;
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    uint16_t port = !e->tls           ? kms_addr_port(disc_server(e))
                    : e->opt.tls.port ? e->opt.tls.port
                                      : KMS_TLS_PORT;
    (void)attempts;
    for (size_t i = 0; !status && reply && i < reply->nrrs; i++) {
        const kms_dns_rr_t *x = &reply->rrs[i];
        if (x->section != KMS_DNS_ANSWER || !x->family ||
            kms_addr_from_bytes(x->family, x->addr, port, &z->primary) < 0)
            continue;
        pub__zone_work(z);
        return;
    }
    if (z->mname_try == 0 && !r->canceled) {
        z->mname_try = 1;
        pub__xchg_start(r, NULL, pub__query(z->mname, KMS_DNS_T_AAAA, 1), disc_server(e), NULL,
                        on_mname, z);
        return;
    }
    char msg[600], srv[KMS_ADDRSTRLEN];
    snprintf(msg, sizeof msg,
             "cannot find the address of %s, primary (SOA MNAME) of zone %s, at %s%s", z->mname,
             z->name, kms_addr_format_dns(disc_server(e), srv), status ? "" : "; give --server");
    pub__zone_fail(z, status ? status : KMS_ENOENT, msg);
}

static void zones_start(run_t *r)
{
    pub_engine_t *e = r->e;
    size_t nz = 0;
    r->zones = calloc(r->n, sizeof *r->zones);
    if (!r->zones) {
        r->zones_started = 1;
        for (size_t i = 0; i < r->n; i++)
            if (!r->res[i].time)
                pub__set_result(r, i, KMS_ENOMEM, "out of memory");
        pub__run_maybe_done(r);
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        dom_t *d = &r->doms[i];
        if (r->res[i].time)
            continue; /* discovery failed */
        size_t z = 0;
        while (z < nz && !kms_dname_eq(r->zones[z].name, d->zone_name))
            z++;
        if (z == nz) {
            zone_t *nzp = &r->zones[nz++];
            nzp->run = r;
            nzp->idx = z;
            snprintf(nzp->name, sizeof nzp->name, "%s", d->zone_name);
            snprintf(nzp->mname, sizeof nzp->mname, "%s", d->mname);
            nzp->doms = calloc(r->n, sizeof *nzp->doms);
            if (!nzp->doms) {
                pub__set_result(r, i, KMS_ENOMEM, "out of memory");
                nz--;
                continue;
            }
        }
        d->zone = (int)z;
        r->zones[z].doms[r->zones[z].ndoms++] = i;
        snprintf(r->res[i].zone, sizeof r->res[i].zone, "%s", d->zone_name);
    }
    r->nzones = nz;
    r->zones_pending = nz;
    /* zones_started stays 0 during the loop: a zone that finishes at once
       must not end the run while the loop still walks the zones */
    for (size_t z = 0; z < nz; z++) {
        zone_t *zp = &r->zones[z];
        if (e->has_server) {
            memcpy(&zp->primary, &e->server, sizeof zp->primary);
            pub__zone_work(zp);
        } else {
            pub__xchg_start(r, NULL, pub__query(zp->mname, KMS_DNS_T_A, 1), disc_server(e), NULL,
                            on_mname, zp);
        }
    }
    r->zones_started = 1;
    pub__run_maybe_done(r); /* r may be gone after this */
}

/* ---- phase 1: discovery --------------------------------------------------- */

void pub__disc_done(run_t *r)
{
    if (--r->disc_pending == 0)
        zones_start(r);
}

static void on_soa(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    dom_t *d = ud;
    run_t *r = d->run;
    pub_engine_t *e = r->e;
    char srv[KMS_ADDRSTRLEN], why[400];
    kms_dns_explain_ctx_t c = {"query", kms_addr_format_dns(disc_server(e), srv), NULL, NULL, 0};
    (void)attempts;

    if (status == KMS_ETLS || status == KMS_ETLSVERIFY) { /* the line says it all */
        pub__set_result(r, d->idx, status, "%s",
                        pub__explain_err(e, disc_server(e), pub__tls_name(e, disc_server(e), NULL),
                                         status, &c, why, sizeof why));
        pub__disc_done(r);
        return;
    }
    if (status) {
        char n[32] = "";
        if (attempts > 1)
            snprintf(n, sizeof n, " (%u attempts)", attempts);
        pub__set_result(r, d->idx, status, "zone of %s not found: %s%s", r->res[d->idx].owner,
                        pub__explain_err(e, disc_server(e), pub__tls_name(e, disc_server(e), NULL),
                                         status, &c, why, sizeof why),
                        n);
        pub__disc_done(r);
        return;
    }
    if (d->qtype == KMS_DNS_T_SRV) {
        /* With a configured server (the one updates go to), the first
           question is the owner's SRV set: an empty answer names the zone in
           its authority SOA, and a non-empty one is the current state; either
           way one query less per domain.  Then the usual SOA walk. */
        d->qtype = KMS_DNS_T_SOA;
        if (reply->status == 0 || reply->status == KMS_EDNS_NXDOMAIN) {
            pub__take_current(d, r->res[d->idx].owner, reply);
            if (d->ncur > 0 || !d->cur_ok) {
                pub__discover(d);
                return;
            }
        }
    }
    if (pub_status_retriable(reply->status)) {
        /* SERVFAIL and the like: the server cannot answer for this name
           now (a zone that failed to load, say).  Stripping labels would
           only hide that behind the parent's REFUSED; retrying may pass. */
        c.zone = d->walk;
        pub__set_result(r, d->idx, reply->status, "zone of %s not found: %s", r->res[d->idx].owner,
                        kms_dns_explain(reply, &c, why, sizeof why));
        pub__disc_done(r);
        return;
    }
    const kms_dns_rr_t *soa = NULL;
    for (int pass = KMS_DNS_ANSWER; !soa && pass <= KMS_DNS_AUTHORITY; pass++)
        for (size_t i = 0; !soa && i < reply->nrrs; i++)
            if (reply->rrs[i].section == pass && reply->rrs[i].type == KMS_DNS_T_SOA &&
                reply->rrs[i].target[0])
                soa = &reply->rrs[i];
    if (soa && reply->status != KMS_EDNS_REFUSED) {
        snprintf(d->zone_name, sizeof d->zone_name, "%s", soa->name);
        snprintf(d->mname, sizeof d->mname, "%s", soa->target);
        pub__disc_done(r);
        return;
    }
    /* strip a label and ask again (the nsupdate walk) */
    const char *dot = strchr(d->walk, '.');
    if (r->canceled || !dot || !dot[1]) {
        if (r->canceled)
            pub__set_result(r, d->idx, KMS_ECANCELED, "canceled");
        else
            pub__set_result(r, d->idx, reply->status ? reply->status : KMS_ENOENT,
                            "no zone found for %s at %s (last answer %s)", r->res[d->idx].owner,
                            srv, kms_dns_rcode_name(reply->rcode));
        pub__disc_done(r);
        return;
    }
    memmove(d->walk, dot + 1, strlen(dot + 1) + 1);
    pub__discover(d);
}

void pub__discover(dom_t *d)
{
    run_t *r = d->run;
    pub__xchg_start(r, NULL, pub__query(d->walk, d->qtype, 1), disc_server(r->e), NULL, on_soa, d);
}
