/*
 * srvanswer.c - SRV answers and their glue, parsed with ldns (see srvanswer.h).
 */
#include "dns/srvanswer.h"

#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/err.h"
#include "base/wire.h"

/* Wire-format name -> presentation form without the final dot ("." for the
 * root), escaped as ldns does (\. \; \( \) \\ and \DDD for non-graphic
 * bytes).  Written by hand through the wire reader: ldns_rdf2str() goes
 * through printf for every label, which dominated the cost of a discovery. */
static int dname_to_str(const ldns_rdf *rdf, char *buf, size_t len)
{
    kms_rd_t rd;
    size_t out = 0;
    uint8_t llen;

    if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
        return KMS_EDNS_BADANSWER;
    kms_rd_init(&rd, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
    while (kms_rd_u8(&rd, &llen) == 0 && llen != 0) {
        const uint8_t *label;

        if (llen > 63 || kms_rd_view(&rd, &label, llen) != 0)
            return KMS_EDNS_BADANSWER;
        if (out && out + 1 < len)
            buf[out++] = '.';
        for (size_t i = 0; i < llen; i++) {
            uint8_t c = label[i];
            if (out + 5 > len)
                return KMS_EDNS_BADANSWER;
            if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\') {
                buf[out++] = '\\';
                buf[out++] = (char)c;
            } else if (c <= 0x20 || c >= 0x7f) {
                buf[out++] = '\\';
                buf[out++] = (char)('0' + c / 100);
                buf[out++] = (char)('0' + c / 10 % 10);
                buf[out++] = (char)('0' + c % 10);
            } else {
                buf[out++] = (char)c;
            }
        }
    }
    if (rd.err)
        return KMS_EDNS_BADANSWER;
    if (out == 0) {
        if (len < 2)
            return KMS_EDNS_BADANSWER;
        buf[out++] = '.';
    }
    if (out >= len)
        return KMS_EDNS_BADANSWER;
    buf[out] = '\0';
    return 0;
}

int kms_dns_name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 1 && a[la - 1] == '.')
        la--;
    if (lb > 1 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

static int add_srv(kms_srv_answer_t *a, const ldns_rr *rr)
{
    kms_srv_rr_t *s;
    int rc;

    if (ldns_rr_rd_count(rr) != 4)
        return KMS_EDNS_BADANSWER;
    for (int i = 0; i < 3; i++)
        if (ldns_rdf_get_type(ldns_rr_rdf(rr, (size_t)i)) != LDNS_RDF_TYPE_INT16)
            return KMS_EDNS_BADANSWER;
    if (a->n_srv >= a->cap)
        return 0;
    s = &a->srv[a->n_srv];
    memset(s, 0, sizeof(*s));
    s->priority = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
    s->weight = ldns_rdf2native_int16(ldns_rr_rdf(rr, 1));
    s->port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
    s->ttl = ldns_rr_ttl(rr);
    rc = dname_to_str(ldns_rr_rdf(rr, 3), s->target, sizeof(s->target));
    if (rc != 0)
        return rc;
    a->n_srv++;
    return 0;
}

static int add_addr(kms_srv_answer_t *a, const ldns_rr *rr, int additional)
{
    kms_addr_rr_t *x;
    const ldns_rdf *rd;
    size_t want = ldns_rr_get_type(rr) == LDNS_RR_TYPE_A ? 4 : 16;
    int rc;

    if (ldns_rr_rd_count(rr) != 1)
        return KMS_EDNS_BADANSWER;
    rd = ldns_rr_rdf(rr, 0);
    if (!rd || ldns_rdf_size(rd) != want)
        return KMS_EDNS_BADANSWER;
    if (a->n_addrs >= a->cap)
        return 0;
    x = &a->addrs[a->n_addrs];
    memset(x, 0, sizeof(*x));
    rc = dname_to_str(ldns_rr_owner(rr), x->name, sizeof(x->name));
    if (rc != 0)
        return rc;
    x->family = want == 4 ? AF_INET : AF_INET6;
    memcpy(x->addr, ldns_rdf_data(rd), want);
    x->additional = additional;
    a->n_addrs++;
    return 0;
}

static int walk(kms_srv_answer_t *a, const ldns_rr_list *list, int additional)
{
    for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(list, i);
        int rc = 0;

        if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
            continue;
        switch (ldns_rr_get_type(rr)) {
        case LDNS_RR_TYPE_SRV: {
            char owner[KMS_DNS_NAME_MAX];

            if (additional)
                break;
            rc = dname_to_str(ldns_rr_owner(rr), owner, sizeof(owner));
            if (rc == 0 && kms_dns_name_eq(owner, a->qname))
                rc = add_srv(a, rr);
            break;
        }
        case LDNS_RR_TYPE_A:
        case LDNS_RR_TYPE_AAAA:
            rc = add_addr(a, rr, additional);
            break;
        default:
            break;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int kms_srv_answer_parse(const uint8_t *msg, size_t len, kms_srv_answer_t **out)
{
    ldns_pkt *pkt = NULL;
    kms_srv_answer_t *a = NULL;
    const ldns_rr_list *qd;
    size_t total;
    int rc;

    *out = NULL;
    if (!msg || len < 12 || len > 65535)
        return KMS_EDNS_BADANSWER;
    if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
        return KMS_EDNS_BADANSWER;
    a = calloc(1, sizeof(*a));
    if (!a) {
        rc = KMS_ENOMEM;
        goto fail;
    }
    /* Room for every record of the two sections, capped. */
    total = ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) +
            ldns_rr_list_rr_count(ldns_pkt_additional(pkt));
    if (total > KMS_SRV_MAX_RRS)
        total = KMS_SRV_MAX_RRS;
    a->cap = total;
    a->srv = calloc(total ? total : 1, sizeof(*a->srv));
    a->addrs = calloc(total ? total : 1, sizeof(*a->addrs));
    if (!a->srv || !a->addrs) {
        rc = KMS_ENOMEM;
        goto fail;
    }
    a->rcode = (int)ldns_pkt_get_rcode(pkt);
    qd = ldns_pkt_question(pkt);
    if (!qd || ldns_rr_list_rr_count(qd) != 1) {
        rc = KMS_EDNS_BADANSWER;
        goto fail;
    }
    rc = dname_to_str(ldns_rr_owner(ldns_rr_list_rr(qd, 0)), a->qname, sizeof(a->qname));
    if (rc != 0)
        goto fail;
    rc = walk(a, ldns_pkt_answer(pkt), 0);
    if (rc == 0)
        rc = walk(a, ldns_pkt_additional(pkt), 1);
    if (rc != 0)
        goto fail;
    ldns_pkt_free(pkt);
    *out = a;
    return 0;

fail:
    ldns_pkt_free(pkt);
    kms_srv_answer_free(a);
    return rc;
}

void kms_srv_answer_free(kms_srv_answer_t *a)
{
    if (!a)
        return;
    free(a->srv);
    free(a->addrs);
    free(a);
}
