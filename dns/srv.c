/* SPDX-License-Identifier: MIT */
/*
 * srv.c - the resolver's SRV answer parser (see srv.h).
 */
#include "dns/srv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/err.h"
#include "base/wire.h"
#include "dns/walk.h"

/* Two passes: every record must walk (and the arrays get their exact
 * sizes), then the records the resolver uses are read. */
int kms_srv_answer_parse(const uint8_t *wire, size_t len, kms_srv_answer_t **out)
{
    kms_srv_answer_t *a = NULL;
    kms_rd_t rd;
    uint16_t flags = 0, count[3];
    size_t ns = 0, na = 0, nc = 0, body;
    unsigned nrr;
    kms_dns_wire_rr_t rr;
    int rc;

    *out = NULL;
    if (!wire || len < 12 || len > 65535)
        return KMS_EDNS_BADANSWER;
    if ((rc = kms_dns_walk_start(&rd, wire, len, &flags, count)) < 0)
        return rc;
    if (!(flags & 0x8000)) /* QR */
        return KMS_EDNS_BADANSWER;
    body = rd.pos;
    nrr = (unsigned)count[0] + count[1] + count[2];
    /* First pass: every record must walk; exact array sizes (large records). */
    for (unsigned i = 0; i < nrr; i++) {
        if (kms_dns_walk_rr(&rd, count, i, &rr) < 0)
            return KMS_EDNS_BADANSWER;
        if ((rr.type == KMS_DNS_T_A && rr.rdlen != 4) ||
            (rr.type == KMS_DNS_T_AAAA && rr.rdlen != 16))
            return KMS_EDNS_BADANSWER; /* a malformed message, not just a bad record */
        ns += rr.section == KMS_DNS_ANSWER && rr.type == KMS_DNS_T_SRV;
        nc += rr.section == KMS_DNS_ANSWER && rr.type == KMS_DNS_T_CNAME;
        na += rr.section != KMS_DNS_AUTHORITY &&
              (rr.type == KMS_DNS_T_A || rr.type == KMS_DNS_T_AAAA);
    }
    rc = KMS_ENOMEM;
    if (!(a = calloc(1, sizeof *a)))
        goto fail;
    a->rcode = flags & 0xf;
    a->aa = !!(flags & 0x0400);
    a->tc = !!(flags & 0x0200);
    if (ns && !(a->srv = malloc(ns * sizeof *a->srv)))
        goto fail;
    if (na && !(a->addrs = malloc(na * sizeof *a->addrs)))
        goto fail;
    if (nc && !(a->cnames = malloc(nc * sizeof *a->cnames)))
        goto fail;
    rc = KMS_EDNS_BADANSWER;
    kms_rd_init(&rd, wire, len);
    rd.pos = body;
    for (unsigned i = 0; i < nrr; i++) {
        size_t pos;
        kms_rd_t f;

        kms_dns_walk_rr(&rd, count, i, &rr); /* walked above */
        kms_rd_init(&f, wire + rr.rdata, rr.rdlen);
        if (rr.section == KMS_DNS_ANSWER && rr.type == KMS_DNS_T_SRV) {
            kms_srv_rec_t *s = &a->srv[a->nsrv];

            kms_rd_u16be(&f, &s->priority);
            kms_rd_u16be(&f, &s->weight);
            kms_rd_u16be(&f, &s->port);
            pos = rr.rdata + 6;
            if (f.err || kms_dns_wire_name(wire, len, &pos, s->target, sizeof s->target) < 0 ||
                pos != rr.rdata + rr.rdlen)
                goto fail;
            pos = rr.owner;
            if (kms_dns_wire_name(wire, len, &pos, s->owner, sizeof s->owner) < 0)
                goto fail;
            s->ttl = rr.ttl;
            a->nsrv++;
        } else if (rr.section == KMS_DNS_ANSWER && rr.type == KMS_DNS_T_CNAME) {
            kms_cname_rec_t *c = &a->cnames[a->ncnames];

            pos = rr.rdata;
            if (kms_dns_wire_name(wire, len, &pos, c->target, sizeof c->target) < 0 ||
                pos != rr.rdata + rr.rdlen)
                goto fail;
            pos = rr.owner;
            if (kms_dns_wire_name(wire, len, &pos, c->owner, sizeof c->owner) < 0)
                goto fail;
            a->ncnames++;
        } else if (rr.section != KMS_DNS_AUTHORITY &&
                   (rr.type == KMS_DNS_T_A || rr.type == KMS_DNS_T_AAAA)) {
            kms_addr_rec_t *d = &a->addrs[a->naddrs];

            memset(d->addr, 0, sizeof d->addr);
            kms_rd_bytes(&f, d->addr, rr.rdlen);
            pos = rr.owner;
            if (kms_dns_wire_name(wire, len, &pos, d->name, sizeof d->name) < 0)
                goto fail;
            d->ttl = rr.ttl;
            d->family = rr.type == KMS_DNS_T_A ? AF_INET : AF_INET6;
            a->naddrs++;
        }
    }
    *out = a;
    return 0;
fail:
    kms_srv_answer_free(a);
    return rc;
}

void kms_srv_answer_free(kms_srv_answer_t *a)
{
    if (!a)
        return;
    free(a->srv);
    free(a->addrs);
    free(a->cnames);
    free(a);
}
