/* SPDX-License-Identifier: MIT */
/*
 * verify.c - verification (publisher.h, step 5), when the options ask for
 * it: after a zone's UPDATE, every name server of the zone is asked until
 * it serves the new state of every domain of the zone.
 *
 * The zone's NS set is read from the primary; each NS name's addresses are
 * taken from the glue in that answer, else looked up at the resolver with
 * recursion desired (A and AAAA), as discovery looks names up.  Then come
 * rounds: every (name server, domain) pair is asked once for the owner's
 * SRV records, at the address that answered last, and at the server's
 * next address when one gives no usable answer.  zone->pending counts the
 * lookups, then a round's queries; the zone's timer (vtimer, one per
 * verifying zone) spaces the rounds with kms_backoff() until the deadline
 * (verify_timeout_ms), when the domains still not served get KMS_ETIMEOUT.
 * The zone ends with pub__zone_finish(), which closes the timer through
 * pub__verify_stop().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/rcode.h"
#include "publisher/pub_int.h"

/* A name server of the zone (--verify): every address found for its name,
   at most NS_MAX_PER_FAMILY of each family. */
#define NS_MAX_PER_FAMILY 4
struct ns {
    char name[KMS_DNS_NAMELEN];
    struct sockaddr_storage addr[2 * NS_MAX_PER_FAMILY];
    size_t naddr;
    size_t cur; /* the address that answered last: asked first next round */
};

/* One verify query: does name server @c ns serve the new state of domain
   @c dom?  Asked at one of the server's addresses, and at the next one when
   no usable answer comes (lost, refused: an address, not the server). */
typedef struct {
    zone_t *z;
    size_t ns;
    size_t dom;
    size_t addr;  /* index into z->ns[ns].addr being asked */
    size_t tried; /* addresses asked in this round */
} vq_t;

static void on_verify_timer(uv_timer_t *t);

/* Keep the address of an A/AAAA record @p x for @p ns, with the primary's
   port (tests and labs run every server on one port), unless it is known
   already or NS_MAX_PER_FAMILY of its family are.  With DNS-over-TLS the
   primary's own address keeps its DoT port (it is asked over TLS); the
   other servers are asked over plain DNS, at the resolver's port (53 when
   the resolver is the DoT server itself). */
static void ns_add_addr(const zone_t *z, ns_t *ns, const kms_dns_rr_t *x)
{
    pub_engine_t *e = z->run->e;
    struct sockaddr_storage ss;
    size_t same = 0;

    if (kms_addr_from_bytes(x->family, x->addr, kms_addr_port((const struct sockaddr *)&z->primary),
                            &ss) < 0)
        return;
    if (e->tls && !pub__tls_name(e, (struct sockaddr *)&ss, z))
        kms_addr_set_port((struct sockaddr *)&ss,
                          pub__tls_name(e, (struct sockaddr *)&e->resolver, NULL)
                              ? 53
                              : kms_addr_port((struct sockaddr *)&e->resolver));
    for (size_t i = 0; i < ns->naddr; i++) {
        if (ns->addr[i].ss_family != ss.ss_family)
            continue;
        if (memcmp(&ns->addr[i], &ss, sizeof ss) == 0)
            return;
        same++;
    }
    if (same < NS_MAX_PER_FAMILY)
        ns->addr[ns->naddr++] = ss;
}

/* Does @p reply (an SRV answer at the owner) show the new state?  Our
   record counts when target, port, priority and weight match; its TTL is
   not compared: a name server gives every record of one RRset the same
   TTL, so another host's record at the name may have set it. */
static int verify_serves(const run_t *r, const pub_result_t *res, const kms_dns_reply_t *reply)
{
    const pub_engine_t *e = r->e;
    int found = 0;

    for (size_t i = 0; i < reply->nrrs; i++) {
        const kms_dns_rr_t *x = &reply->rrs[i];
        if (x->section != KMS_DNS_ANSWER || x->type != KMS_DNS_T_SRV ||
            !kms_dname_eq(x->target, e->target) || x->port != e->opt.port)
            continue;
        if (r->op != PUB_PUBLISH)
            found = 1; /* any record of ours: still there, or (await-published) there */
        else if (x->priority == res->priority && x->weight == res->weight) {
            if (found == 0)
                found = 1;
        } else
            found = -1; /* an old record of ours still served */
    }
    if (r->op == PUB_AWAIT_PUBLISHED)
        return found == 1;
    return r->op == PUB_PUBLISH ? found == 1 : found == 0;
}

/* What the primary holds of @p res, for the messages of verification. */
static const char *primary_state(const run_t *r, const pub_result_t *res)
{
    if (res->unchanged)
        return "already at the primary";
    switch (r->op) {
    case PUB_PUBLISH:
        return "updated";
    case PUB_AWAIT_PUBLISHED:
        return "served at the primary";
    case PUB_AWAIT_WITHDRAWN:
        return "gone from the primary";
    default:
        return "removed";
    }
}

/* Name server @p ns does not (yet) serve @p d's new state: remember the
   first such server of the round, for the message. */
static void verify_mark_bad(dom_t *d, const ns_t *ns, const char *why)
{
    if (d->bad_ns)
        return;
    d->bad_ns = 1;
    snprintf(d->bad_ns_name, sizeof d->bad_ns_name, "%.*s%s",
             (int)(sizeof d->bad_ns_name - 1 - strlen(why)), ns->name, why);
}

/* With DNS-over-TLS, which name servers were asked over it (the primary,
   at the address the updates go to) and which over plain DNS, for the
   message: "(ns1.kms.test. over DNS-over-TLS; ns2.kms.test. over plain DNS)". */
static void transports(const zone_t *z, char *out, size_t len)
{
    pub_engine_t *e = z->run->e;
    size_t off = 0;

    out[0] = '\0';
    if (!e->tls)
        return;
    for (int tls = 1; tls >= 0; tls--) {
        size_t n = 0;

        for (size_t k = 0; k < z->nns && off < len; k++) {
            const ns_t *ns = &z->ns[k];
            int over_tls = 0;

            for (size_t a = 0; a < ns->naddr; a++)
                over_tls |= pub__tls_name(e, (const struct sockaddr *)&ns->addr[a], z) != NULL;
            if (over_tls != tls)
                continue;
            off += (size_t)snprintf(out + off, len - off, "%s%s",
                                    n++   ? ", "
                                    : off ? "; "
                                          : " (",
                                    ns->name);
        }
        if (n && off < len)
            off += (size_t)snprintf(out + off, len - off, " over %s",
                                    tls ? "DNS-over-TLS" : "plain DNS");
    }
    if (off && off < len)
        snprintf(out + off, len - off, ")");
}

/* Every query of the round is in: done, given up, or another round. */
static void verify_round_end(zone_t *z)
{
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    int all = 1;

    for (size_t k = 0; k < z->ndoms; k++)
        if (r->doms[z->doms[k]].bad_ns)
            all = 0;
    if (all) {
        char how[300];
        transports(z, how, sizeof how);
        for (size_t k = 0; k < z->ndoms; k++) {
            pub_result_t *x = &r->res[z->doms[k]];
            x->verified = 1;
            size_t l = strlen(x->message);
            snprintf(x->message + l, sizeof x->message - l, "; verified on %zu name server%s%s",
                     z->nns, z->nns == 1 ? "" : "s", how);
        }
        pub__zone_finish(z);
        return;
    }
    /* Rounds go on until the deadline; the last one starts at it. */
    uint64_t now = uv_now(e->loop);
    uint64_t delay = pub__backoff_delay(&e->opt, z->vround);
    if (r->canceled || now >= z->vdeadline) {
        for (size_t k = 0; k < z->ndoms; k++) {
            dom_t *dd = &r->doms[z->doms[k]];
            if (!dd->bad_ns)
                continue;
            pub__set_result(r, dd->idx, KMS_ETIMEOUT, "%s, but name server %s %s %s after %.0f s",
                            primary_state(r, &r->res[dd->idx]), dd->bad_ns_name,
                            r->op == PUB_AWAIT_PUBLISHED   ? "does not serve the record of"
                            : r->op == PUB_AWAIT_WITHDRAWN ? "still serves the record of"
                                                           : "does not serve the new state of",
                            r->res[dd->idx].owner, (double)e->opt.verify_timeout_ms / 1000.0);
        }
        pub__zone_finish(z);
        return;
    }
    if (delay > z->vdeadline - now)
        delay = z->vdeadline - now;
    uv_timer_start(z->vtimer, on_verify_timer, delay, 0);
}

static void verify_answer(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts);

/* Ask q's name server, at its current address, for the domain's records:
   one attempt a round (the rounds are the retries), none outlasting the
   deadline. */
static void verify_ask(vq_t *q)
{
    zone_t *z = q->z;
    run_t *r = z->run;
    pub__xchg_start_bounded(r, z, pub__query(r->res[q->dom].owner, KMS_DNS_T_SRV, 0),
                            (struct sockaddr *)&z->ns[q->ns].addr[q->addr], NULL, 1, z->vdeadline,
                            verify_answer, q);
}

static void verify_answer(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    vq_t *q = ud;
    zone_t *z = q->z;
    run_t *r = z->run;
    ns_t *ns = &z->ns[q->ns];
    (void)attempts;

    int st = status ? status : reply->status;
    /* only the server's own answer counts: a NOERROR without AA (a server
       that does not hold the zone, or a cache) says nothing of the zone */
    int answered = (st == 0 || st == KMS_EDNS_NXDOMAIN) && reply && reply->aa;
    if (!answered && ++q->tried < ns->naddr && !r->canceled && uv_now(r->e->loop) < z->vdeadline) {
        /* no usable answer at this address: the same server's next one */
        q->addr = (q->addr + 1) % ns->naddr;
        verify_ask(q);
        return;
    }
    if (answered)
        ns->cur = q->addr; /* asked first in the next round */
    if (!answered || !verify_serves(r, &r->res[q->dom], reply))
        verify_mark_bad(&r->doms[q->dom], ns, "");
    free(q);
    if (--z->pending == 0)
        verify_round_end(z);
}

static void verify_query_all(zone_t *z)
{
    run_t *r = z->run;
    z->vround++;
    z->pending = 1; /* held until every query is on its way */
    for (size_t k = 0; k < z->ndoms; k++)
        r->doms[z->doms[k]].bad_ns = 0;
    for (size_t n = 0; n < z->nns; n++) {
        ns_t *ns = &z->ns[n];
        for (size_t k = 0; k < z->ndoms; k++) {
            dom_t *d = &r->doms[z->doms[k]];
            vq_t *q = ns->naddr ? calloc(1, sizeof *q) : NULL;
            if (!q) {
                /* cannot be asked: counts as not serving */
                verify_mark_bad(d, ns, ns->naddr ? "" : " (no address)");
                continue;
            }
            q->z = z;
            q->ns = n;
            q->dom = z->doms[k];
            q->addr = ns->cur;
            z->pending++;
            verify_ask(q);
        }
    }
    if (--z->pending == 0)
        verify_round_end(z);
}

static void on_verify_timer(uv_timer_t *t)
{
    zone_t *z = t->data;
    if (z->run->canceled) {
        for (size_t k = 0; k < z->ndoms; k++)
            pub__set_result(z->run, z->doms[k], KMS_ECANCELED, "canceled during verification");
        pub__zone_finish(z);
        return;
    }
    verify_query_all(z);
}

static void on_ns_addr(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    vq_t *q = ud;
    zone_t *z = q->z;
    (void)attempts;
    (void)status;
    for (size_t i = 0; reply && i < reply->nrrs; i++)
        if (reply->rrs[i].section == KMS_DNS_ANSWER)
            ns_add_addr(z, &z->ns[q->ns], &reply->rrs[i]);
    free(q);
    if (--z->pending == 0)
        verify_query_all(z);
}

static void on_ns(void *ud, int status, const kms_dns_reply_t *reply, unsigned attempts)
{
    zone_t *z = ud;
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    (void)attempts;
    int st = status ? status : reply->status;
    size_t n = 0;
    for (size_t i = 0; st == 0 && i < reply->nrrs; i++)
        n += reply->rrs[i].section == KMS_DNS_ANSWER && reply->rrs[i].type == KMS_DNS_T_NS;
    z->ns = n ? calloc(n, sizeof *z->ns) : NULL;
    if (!z->ns) {
        for (size_t k = 0; k < z->ndoms; k++)
            pub__set_result(r, z->doms[k], st ? st : KMS_ENOENT,
                            "%s, but the NS set of %s could not be read from %s",
                            primary_state(r, &r->res[z->doms[k]]), z->name, z->primary_str);
        pub__zone_finish(z);
        return;
    }
    for (size_t i = 0; i < reply->nrrs; i++) {
        const kms_dns_rr_t *x = &reply->rrs[i];
        if (x->section == KMS_DNS_ANSWER && x->type == KMS_DNS_T_NS)
            snprintf(z->ns[z->nns++].name, KMS_DNS_NAMELEN, "%s", x->target);
    }
    /* glue (A and AAAA) from the answer itself first */
    for (size_t i = 0; i < reply->nrrs; i++)
        for (size_t k = 0; reply->rrs[i].family && k < z->nns; k++)
            if (kms_dname_eq(z->ns[k].name, reply->rrs[i].name))
                ns_add_addr(z, &z->ns[k], &reply->rrs[i]);
    /* Names without glue are looked up as discovery looks up names: at the
       resolver with recursion desired, A and AAAA.  The primary need not
       serve them (ns1.isp.example is not in our zone) and may refuse. */
    z->pending = 1; /* held until every lookup is on its way */
    for (size_t k = 0; k < z->nns; k++) {
        static const uint16_t types[] = {KMS_DNS_T_A, KMS_DNS_T_AAAA};
        for (size_t t = 0; !z->ns[k].naddr && t < 2; t++) {
            vq_t *q = calloc(1, sizeof *q);
            if (!q)
                continue; /* the name server stays without that address */
            q->z = z;
            q->ns = k;
            z->pending++;
            pub__xchg_start(r, z, pub__query(z->ns[k].name, types[t], 1),
                            (struct sockaddr *)&e->resolver, NULL, on_ns_addr, q);
        }
    }
    if (--z->pending == 0)
        verify_query_all(z);
}

static void on_vtimer_closed(uv_handle_t *h)
{
    pub_engine_t *e = h->data;
    free(h);
    e->handles--;
    pub__engine_maybe_stopped(e);
}

void pub__verify_start(zone_t *z)
{
    run_t *r = z->run;
    pub_engine_t *e = r->e;
    z->vtimer = malloc(sizeof *z->vtimer);
    if (!z->vtimer || uv_timer_init(e->loop, z->vtimer) < 0) {
        free(z->vtimer);
        z->vtimer = NULL;
        pub__zone_finish(z);
        return;
    }
    e->handles++;
    z->vtimer->data = z;
    z->vdeadline = uv_now(e->loop) + e->opt.verify_timeout_ms;
    /* the timer's data is z while active; pub__verify_stop() points it at
       the engine before closing (on_vtimer_closed needs the engine) */
    pub__xchg_start(r, z, pub__query(z->name, KMS_DNS_T_NS, 0), (struct sockaddr *)&z->primary,
                    NULL, on_ns, z);
}
void pub__verify_stop(zone_t *z)
{
    if (z->vtimer) {
        uv_timer_stop(z->vtimer);
        z->vtimer->data = z->run->e;
        uv_close((uv_handle_t *)z->vtimer, on_vtimer_closed);
        z->vtimer = NULL;
    }
}

void pub__verify_cancel(zone_t *z)
{
    if (z->vtimer && !z->done && z->pending == 0)
        uv_timer_start(z->vtimer, on_verify_timer, 0, 0);
}
