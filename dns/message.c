/* SPDX-License-Identifier: MIT */
/*
 * message.c - the ldns wrapper (see message.h).
 *
 * ldns 1.8.3 behaviours handled here (checked against named 9.18):
 * ldns_update_pkt_new() leaves RD=1 and ID 0; ldns_wire2pkt() leaks a TSIG
 * RR followed by a second one and does not bound RDATA by RDLENGTH
 * (count_tsig() keeps such messages away from it).  ldns signs with only
 * some HMACs and knows no GSS-TSIG, so TSIG is ours (dns/tsig.h): ldns
 * renders the message, we append the TSIG record and check the answer's.
 */
#include "dns/message.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/err.h"
#include "base/wire.h"
#include "dns/rcode.h"
#include "dns/tsig.h"
#include "dns/walk.h"

struct kms_dns_msg {
    ldns_pkt *pkt;
    int is_update;
    size_t nupdate;
    char qname[KMS_DNS_NAMELEN];
    uint16_t qtype;
    uint16_t id;                   /* of the last render */
    int signed_;                   /* last render was signed */
    uint8_t mac[KMS_TSIG_MAC_MAX]; /* last render's request MAC */
    size_t mac_len;
};

int kms_dns_msg_update_new(const char *zone, kms_dns_msg_t **out)
{
    kms_dns_msg_t *m = NULL;
    ldns_rdf *z = NULL;
    ldns_rr_list *up = NULL;
    int rc = KMS_ENOMEM;

    *out = NULL;
    m = calloc(1, sizeof *m);
    if (!m)
        goto fail;
    if (kms_dname_canon(zone, KMS_DNAME_ANY, m->qname, sizeof m->qname) < 0) {
        rc = KMS_EINVAL;
        goto fail;
    }
    z = ldns_dname_new_frm_str(m->qname);
    if (!z)
        goto fail;
    /* ldns wants an update list (it copies it); ours fills in later */
    up = ldns_rr_list_new();
    if (!up)
        goto fail;
    m->pkt = ldns_update_pkt_new(z, LDNS_RR_CLASS_IN, NULL, up, NULL);
    if (!m->pkt)
        goto fail; /* z is owned by the packet only on success */
    z = NULL;
    ldns_rr_list_free(up);
    up = NULL;
    m->is_update = 1;
    m->qtype = KMS_DNS_T_SOA;
    ldns_pkt_set_rd(m->pkt, false);
    *out = m;
    return 0;
fail:
    ldns_rr_list_free(up);
    ldns_rdf_deep_free(z);
    kms_dns_msg_free(m);
    return rc;
}

int kms_dns_msg_query_new(const char *name, uint16_t qtype, int rd, kms_dns_msg_t **out)
{
    kms_dns_msg_t *m = NULL;
    ldns_rdf *q = NULL;
    int rc = KMS_ENOMEM;

    *out = NULL;
    m = calloc(1, sizeof *m);
    if (!m)
        goto fail;
    if (kms_dname_canon(name, KMS_DNAME_ANY, m->qname, sizeof m->qname) < 0) {
        rc = KMS_EINVAL;
        goto fail;
    }
    q = ldns_dname_new_frm_str(m->qname);
    if (!q)
        goto fail;
    m->pkt = ldns_pkt_query_new(q, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, rd ? LDNS_RD : 0);
    if (!m->pkt)
        goto fail;
    q = NULL;
    m->qtype = qtype;
    *out = m;
    return 0;
fail:
    ldns_rdf_deep_free(q);
    kms_dns_msg_free(m);
    return rc;
}

void kms_dns_msg_free(kms_dns_msg_t *m)
{
    if (!m)
        return;
    ldns_pkt_free(m->pkt);
    free(m);
}

static int push_srv(kms_dns_msg_t *m, const char *owner, ldns_rr_class cls, uint32_t ttl,
                    uint16_t priority, uint16_t weight, uint16_t port, const char *target)
{
    ldns_rr *rr = NULL;
    ldns_rdf *o = NULL, *f[4] = {NULL, NULL, NULL, NULL};
    int rc = KMS_ENOMEM;

    if (!m || !m->is_update)
        return KMS_EINVAL;
    o = kms_dns_name_rdf(owner);
    f[3] = kms_dns_name_rdf(target);
    if (!o || !f[3]) {
        rc = KMS_EINVAL;
        goto fail;
    }
    f[0] = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, priority);
    f[1] = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, weight);
    f[2] = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, port);
    rr = ldns_rr_new();
    if (!rr || !f[0] || !f[1] || !f[2])
        goto fail;
    ldns_rr_set_owner(rr, o);
    o = NULL;
    ldns_rr_set_type(rr, LDNS_RR_TYPE_SRV);
    ldns_rr_set_class(rr, cls);
    ldns_rr_set_ttl(rr, ttl);
    for (int i = 0; i < 4; i++) {
        if (!ldns_rr_push_rdf(rr, f[i]))
            goto fail;
        f[i] = NULL;
    }
    /* RFC 2136 2.2: the UPDATE section sits where AUTHORITY is in a query */
    if (ldns_pkt_section_count(m->pkt, LDNS_SECTION_AUTHORITY) >= 65535 ||
        !ldns_pkt_push_rr(m->pkt, LDNS_SECTION_AUTHORITY, rr))
        goto fail;
    m->nupdate++;
    return 0;
fail:
    ldns_rr_free(rr);
    ldns_rdf_deep_free(o);
    for (int i = 0; i < 4; i++)
        ldns_rdf_deep_free(f[i]);
    return rc;
}

int kms_dns_msg_add_srv(kms_dns_msg_t *m, const char *owner, uint32_t ttl, uint16_t priority,
                        uint16_t weight, uint16_t port, const char *target)
{
    if (ttl > 0x7fffffffu) /* RFC 2181 section 8 */
        return KMS_ERANGE;
    return push_srv(m, owner, LDNS_RR_CLASS_IN, ttl, priority, weight, port, target);
}

int kms_dns_msg_del_srv(kms_dns_msg_t *m, const char *owner, uint16_t priority, uint16_t weight,
                        uint16_t port, const char *target)
{
    /* RFC 2136 section 2.5.4: class NONE, TTL 0, the RR's data */
    return push_srv(m, owner, LDNS_RR_CLASS_NONE, 0, priority, weight, port, target);
}

size_t kms_dns_msg_update_count(const kms_dns_msg_t *m)
{
    return m ? m->nupdate : 0;
}

int kms_dns_msg_render(kms_dns_msg_t *m, uint16_t id, const kms_tsig_signer_t *signer,
                       uint8_t **wire, size_t *len)
{
    uint8_t *w = NULL;
    size_t n = 0;

    *wire = NULL;
    *len = 0;
    if (!m)
        return KMS_EINVAL;
    ldns_pkt_set_id(m->pkt, id);
    m->id = id;
    if (m->is_update)
        ldns_pkt_set_rd(m->pkt, false);
    m->mac_len = 0;
    m->signed_ = 0;
    if (ldns_pkt2wire(&w, m->pkt, &n) != LDNS_STATUS_OK || !w)
        return KMS_ENOMEM;
    if (signer) {
        int rc = kms_tsig_append(signer, &w, &n, NULL, 0, (int64_t)time(NULL), m->mac, &m->mac_len);
        if (rc < 0) {
            free(w);
            return rc;
        }
        m->signed_ = 1;
    }
    if (n > 65535) {
        free(w);
        return KMS_ETOOBIG;
    }
    *wire = w;
    *len = n;
    return 0;
}

static uint16_t rdf_u16(const ldns_rdf *f)
{
    kms_rd_t rd;
    uint16_t v = 0;
    if (!f)
        return 0;
    kms_rd_init(&rd, ldns_rdf_data(f), ldns_rdf_size(f));
    kms_rd_u16be(&rd, &v);
    return rd.err ? 0 : v;
}

/* 48-bit big-endian seconds (TSIG time). */
static int read_u48(kms_rd_t *rd, int64_t *out)
{
    uint16_t hi = 0;
    uint32_t lo = 0;
    kms_rd_u16be(rd, &hi);
    kms_rd_u32be(rd, &lo);
    *out = rd->err ? 0 : ((int64_t)hi << 32) | lo;
    return rd->err;
}

/* An A or AAAA record's address into @p addr (4 or 16 bytes); returns
 * AF_INET / AF_INET6, or 0 for another type or a malformed RDATA. */
static int rr_addr(const ldns_rr *rr, uint8_t addr[16])
{
    ldns_rr_type type = ldns_rr_get_type(rr);
    const ldns_rdf *f = ldns_rr_rd_count(rr) >= 1 ? ldns_rr_rdf(rr, 0) : NULL;
    size_t want = type == LDNS_RR_TYPE_A ? 4 : 16;
    kms_rd_t rd;

    memset(addr, 0, 16);
    if ((type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA) || !f || ldns_rdf_size(f) != want)
        return 0;
    kms_rd_init(&rd, ldns_rdf_data(f), want);
    kms_rd_bytes(&rd, addr, want);
    return type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6;
}

static void fill_rr(kms_dns_rr_t *o, const ldns_rr *rr, int section)
{
    memset(o, 0, sizeof *o);
    o->section = section;
    kms_dns_rdf_name(ldns_rr_owner(rr), o->name, sizeof o->name);
    o->type = (uint16_t)ldns_rr_get_type(rr);
    o->rclass = (uint16_t)ldns_rr_get_class(rr);
    o->ttl = ldns_rr_ttl(rr);
    size_t n = ldns_rr_rd_count(rr);
    switch (o->type) {
    case KMS_DNS_T_A:
    case KMS_DNS_T_AAAA:
        o->family = rr_addr(rr, o->addr);
        break;
    case KMS_DNS_T_NS:
    case KMS_DNS_T_CNAME:
        if (n >= 1)
            kms_dns_rdf_name(ldns_rr_rdf(rr, 0), o->target, sizeof o->target);
        break;
    case KMS_DNS_T_SOA:
        if (n >= 3) {
            kms_dns_rdf_name(ldns_rr_rdf(rr, 0), o->target, sizeof o->target);
            const ldns_rdf *f = ldns_rr_rdf(rr, 2);
            kms_rd_t rd;
            kms_rd_init(&rd, ldns_rdf_data(f), ldns_rdf_size(f));
            kms_rd_u32be(&rd, &o->serial);
        }
        break;
    case KMS_DNS_T_SRV:
        if (n >= 4) {
            o->priority = rdf_u16(ldns_rr_rdf(rr, 0));
            o->weight = rdf_u16(ldns_rr_rdf(rr, 1));
            o->port = rdf_u16(ldns_rr_rdf(rr, 2));
            kms_dns_rdf_name(ldns_rr_rdf(rr, 3), o->target, sizeof o->target);
        }
        break;
    default:
        break;
    }
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL); /* the clock ldns signs with */
}

/* The TSIG record's time, error and other data into @p r. */
static void read_tsig(const kms_tsig_rr_t *t, kms_dns_reply_t *r)
{
    kms_rd_t rd;
    int64_t st = 0;

    r->signed_ = 1;
    r->tsig_time = t->time;
    r->tsig_error = t->error;
    r->server_time = t->time;
    /* RFC 8945 5.2.3: BADTIME answers carry the server's time in Other Data */
    kms_rd_init(&rd, t->other, t->other_len);
    if (t->other_len == 6 && read_u48(&rd, &st) == 0)
        r->server_time = st;
}

static int tsig_status(int tsig_error)
{
    switch (tsig_error) {
    case KMS_TSIG_BADSIG:
        return KMS_ETSIG_BADSIG;
    case KMS_TSIG_BADKEY:
        return KMS_ETSIG_BADKEY;
    case KMS_TSIG_BADTIME:
        return KMS_ETSIG_BADTIME;
    default:
        return KMS_ETSIG_VERIFY;
    }
}

/*
 * Where ldns_wire2rr() ends the record that starts at @p start, or 0 when it
 * refuses the record.  This is the call ldns_wire2pkt() makes for every
 * record, in order from the end of the header.
 */
static size_t ldns_record_end(const uint8_t *wire, size_t len, size_t start, ldns_pkt_section s)
{
    ldns_rr *rr = NULL;
    size_t pos = start;

    if (ldns_wire2rr(&rr, wire, len, &pos, s) != LDNS_STATUS_OK)
        return 0;
    ldns_rr_free(rr);
    return pos;
}

/*
 * Number of TSIG RRs in a message, or -1 when the message is refused.
 * RFC 8945 5.1: a message carries at most one TSIG, the last additional
 * record.  ldns 1.8.3's ldns_wire2pkt() leaks the first TSIG RR when it
 * reads two (it overwrites the packet's TSIG), so such a message must not
 * reach it.  ldns does not bound RDATA by RDLENGTH: it reads the fields its
 * descriptor lists for the type, so a name inside RDATA can end past
 * RDLENGTH, and a record whose fields end early leaves the rest of its RDATA
 * to be read as the next record (a hidden second TSIG, say).  So each record
 * is walked here by RDLENGTH and also read with ldns_wire2rr(), the call
 * ldns_wire2pkt() makes for every record, in the same order from the end of
 * the header; the message is refused when a record runs past the end of the
 * message, when ldns refuses a record, or when ldns ends a record elsewhere
 * than RDLENGTH does.  ldns then reads the records counted here (or a prefix
 * of them: it stops the additional section early after a TSIG).
 */
static int count_tsig(const uint8_t *wire, size_t len)
{
    kms_rd_t rd;
    uint16_t id, flags, count[4];
    int n = 0;

    kms_rd_init(&rd, wire, len);
    kms_rd_u16be(&rd, &id);
    kms_rd_u16be(&rd, &flags);
    for (int s = 0; s < 4; s++)
        kms_rd_u16be(&rd, &count[s]);
    /* sections in ldns_wire2pkt()'s order: question, answer, authority, additional */
    for (int s = 0; s < 4 && !rd.err; s++) {
        for (unsigned i = 0; i < count[s] && !rd.err; i++) {
            size_t start = rd.pos;
            uint16_t type, rdlen;

            if (kms_dns_skip_name(&rd))
                return -1;
            kms_rd_u16be(&rd, &type);
            kms_rd_skip(&rd, 2); /* class */
            if (s != LDNS_SECTION_QUESTION) {
                kms_rd_skip(&rd, 4); /* TTL */
                kms_rd_u16be(&rd, &rdlen);
                if (kms_rd_skip(&rd, rdlen))
                    return -1;
            }
            if (rd.err || ldns_record_end(wire, len, start, (ldns_pkt_section)s) != rd.pos)
                return -1;
            n += s != LDNS_SECTION_QUESTION && type == LDNS_RR_TYPE_TSIG;
        }
    }
    return rd.err ? -1 : n;
}

/*
 * @p wire as an ldns packet, after the checks every answer gets: a size a
 * DNS message can have, at most one TSIG and no record past the end
 * (count_tsig), QR set.  *out is the caller's (ldns_pkt_free) on 0.
 */
static int answer_pkt(const uint8_t *wire, size_t len, ldns_pkt **out)
{
    ldns_pkt *pkt = NULL;
    int ntsig;

    *out = NULL;
    if (!wire || len < 12 || len > 65535)
        return KMS_EDNS_BADANSWER;
    ntsig = count_tsig(wire, len);
    if (ntsig < 0 || ntsig > 1)
        return KMS_EDNS_BADANSWER;
    if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK || !pkt)
        return KMS_EDNS_BADANSWER;
    if (!ldns_pkt_qr(pkt)) {
        ldns_pkt_free(pkt);
        return KMS_EDNS_BADANSWER;
    }
    *out = pkt;
    return 0;
}

int kms_dns_reply_parse(const kms_dns_msg_t *req, const kms_tsig_signer_t *signer,
                        const uint8_t *wire, size_t len, kms_dns_reply_t **out)
{
    ldns_pkt *pkt = NULL;
    kms_dns_reply_t *r = NULL;
    kms_tsig_rr_t t;
    int rc, has_tsig;

    *out = NULL;
    if ((rc = answer_pkt(wire, len, &pkt)) < 0)
        return rc;
    if ((has_tsig = kms_tsig_find(wire, len, &t)) < 0) {
        ldns_pkt_free(pkt);
        return KMS_EDNS_BADANSWER;
    }
    rc = KMS_EDNS_BADANSWER;
    r = calloc(1, sizeof *r);
    if (!r) {
        rc = KMS_ENOMEM;
        goto fail;
    }
    r->id = ldns_pkt_id(pkt);
    r->opcode = (int)ldns_pkt_get_opcode(pkt);
    r->rcode = (int)ldns_pkt_get_rcode(pkt) & 0xf;
    r->aa = ldns_pkt_aa(pkt);
    r->tc = ldns_pkt_tc(pkt);
    r->rd = ldns_pkt_rd(pkt);
    r->ra = ldns_pkt_ra(pkt);
    r->local_time = now_seconds();

    if (req) {
        if (r->id != req->id)
            goto fail;
        if (r->opcode != (req->is_update ? LDNS_PACKET_UPDATE : LDNS_PACKET_QUERY))
            goto fail;
        /* An answer may omit the question (FORMERR); if present it must match. */
        ldns_rr_list *q = ldns_pkt_question(pkt);
        if (q && ldns_rr_list_rr_count(q) > 0) {
            char qn[KMS_DNS_NAMELEN];
            ldns_rr *q0 = ldns_rr_list_rr(q, 0);
            kms_dns_rdf_name(ldns_rr_owner(q0), qn, sizeof qn);
            if (!kms_dname_eq(qn, req->qname) || (uint16_t)ldns_rr_get_type(q0) != req->qtype)
                goto fail;
        }
    }

    static const struct {
        ldns_pkt_section s;
        int ours;
    } secs[] = {{LDNS_SECTION_ANSWER, KMS_DNS_ANSWER},
                {LDNS_SECTION_AUTHORITY, KMS_DNS_AUTHORITY},
                {LDNS_SECTION_ADDITIONAL, KMS_DNS_ADDITIONAL}};
    /* Count without cloning the sections (a deep copy of every RR). */
    size_t total = ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) +
                   ldns_rr_list_rr_count(ldns_pkt_authority(pkt)) +
                   ldns_rr_list_rr_count(ldns_pkt_additional(pkt));
    if (total) {
        r->rrs = calloc(total, sizeof *r->rrs);
        if (!r->rrs) {
            rc = KMS_ENOMEM;
            goto fail;
        }
    }
    for (size_t i = 0; i < 3; i++) {
        ldns_rr_list *l = NULL;
        switch (secs[i].s) {
        case LDNS_SECTION_ANSWER:
            l = ldns_pkt_answer(pkt);
            break;
        case LDNS_SECTION_AUTHORITY:
            l = ldns_pkt_authority(pkt);
            break;
        default:
            l = ldns_pkt_additional(pkt);
            break;
        }
        size_t n = l ? ldns_rr_list_rr_count(l) : 0;
        for (size_t j = 0; j < n && r->nrrs < total; j++) {
            ldns_rr *rr = ldns_rr_list_rr(l, j);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG ||
                ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT)
                continue;
            fill_rr(&r->rrs[r->nrrs++], rr, secs[i].ours);
        }
    }

    if (has_tsig)
        read_tsig(&t, r);

    /* What the answer means, most specific first. */
    if (r->signed_ && r->tsig_error) {
        r->status = tsig_status(r->tsig_error);
    } else if (signer && req && req->signed_ && !r->signed_) {
        /* named answers some errors unsigned; a NOERROR must be signed */
        r->status = r->rcode ? kms_dns_rcode_err(r->rcode) : KMS_ETSIG_UNSIGNED;
    } else if (signer && req && req->signed_ && r->signed_) {
        if ((rc = kms_tsig_check(signer, wire, len, &t, req->mac, req->mac_len)) < 0)
            r->status = rc == KMS_ENOMEM ? KMS_ENOMEM : KMS_ETSIG_VERIFY;
        else if (r->tsig_time > r->local_time + t.fudge || r->tsig_time < r->local_time - t.fudge)
            r->status = KMS_ETSIG_BADTIME;
        else
            r->status = kms_dns_rcode_err(r->rcode);
    } else {
        r->status = kms_dns_rcode_err(r->rcode);
    }
    ldns_pkt_free(pkt);
    *out = r;
    return 0;
fail:
    ldns_pkt_free(pkt);
    kms_dns_reply_free(r);
    return rc;
}

void kms_dns_reply_free(kms_dns_reply_t *r)
{
    if (!r)
        return;
    free(r->rrs);
    free(r);
}
