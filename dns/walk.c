/* SPDX-License-Identifier: MIT */
/*
 * walk.c - the bounded record walk and names in presentation form (walk.h).
 */
#include "dns/walk.h"

#include "base/err.h"

/* Skip one (possibly compressed) owner name. */
int kms_dns_skip_name(kms_rd_t *rd)
{
    for (int labels = 0; labels < 128; labels++) {
        uint8_t b;

        if (kms_rd_u8(rd, &b))
            return rd->err;
        if (b == 0)
            return 0;
        if ((b & 0xc0) == 0xc0)
            return kms_rd_skip(rd, 1); /* a pointer ends the name */
        if (b & 0xc0)
            return KMS_EDNS_BADANSWER; /* extended label types: not in answers we take */
        if (kms_rd_skip(rd, b))
            return rd->err;
    }
    return KMS_EDNS_BADANSWER;
}

/* Header of @p wire into @p rd's position past the question section.
 * @p count: answer, authority, additional counts. */
int kms_dns_walk_start(kms_rd_t *rd, const uint8_t *wire, size_t len, uint16_t *flags,
                       uint16_t count[3])
{
    uint16_t id, qd;

    kms_rd_init(rd, wire, len);
    kms_rd_u16be(rd, &id);
    kms_rd_u16be(rd, flags);
    kms_rd_u16be(rd, &qd);
    for (int k = 0; k < 3; k++)
        kms_rd_u16be(rd, &count[k]);
    for (unsigned i = 0; i < qd && !rd->err; i++)
        if (kms_dns_skip_name(rd) || kms_rd_skip(rd, 4))
            return KMS_EDNS_BADANSWER;
    return rd->err ? KMS_EDNS_BADANSWER : 0;
}

/* The next record at @p rd (record @p i of the message), skipping its RDATA. */
int kms_dns_walk_rr(kms_rd_t *rd, const uint16_t count[3], unsigned i, kms_dns_wire_rr_t *rr)
{
    rr->section = i < count[0]              ? KMS_DNS_ANSWER
                  : i < count[0] + count[1] ? KMS_DNS_AUTHORITY
                                            : KMS_DNS_ADDITIONAL;
    rr->owner = rd->pos;
    if (kms_dns_skip_name(rd))
        return KMS_EDNS_BADANSWER;
    kms_rd_u16be(rd, &rr->type);
    kms_rd_skip(rd, 2); /* class */
    kms_rd_u32be(rd, &rr->ttl);
    kms_rd_u16be(rd, &rr->rdlen);
    rr->rdata = rd->pos;
    if (kms_rd_skip(rd, rr->rdlen))
        return KMS_EDNS_BADANSWER;
    return 0;
}

ldns_rdf *kms_dns_name_rdf(const char *name)
{
    char buf[KMS_DNS_NAMELEN];
    if (kms_dname_canon(name, KMS_DNAME_ANY, buf, sizeof buf) < 0)
        return NULL;
    return ldns_dname_new_frm_str(buf);
}

int kms_dns_wr_name(kms_wr_t *wr, const char *name)
{
    ldns_rdf *rdf = kms_dns_name_rdf(name);

    if (!rdf) {
        if (!wr->err)
            wr->err = KMS_EINVAL;
        return wr->err;
    }
    kms_wr_bytes(wr, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
    ldns_rdf_deep_free(rdf);
    return wr->err;
}

/* The name at wire[*pos], decompressed by ldns, in presentation form. */
int kms_dns_wire_name(const uint8_t *wire, size_t len, size_t *pos, char *out, size_t outlen)
{
    ldns_rdf *rdf = NULL;

    if (ldns_wire2dname(&rdf, wire, len, pos) != LDNS_STATUS_OK || !rdf)
        return KMS_EDNS_BADANSWER;
    kms_dns_rdf_name(rdf, out, outlen);
    ldns_rdf_deep_free(rdf);
    return 0;
}

/* Presentation form of an rdf (dname) into @p out, lower case, with the
 * trailing dot ("." for the root), escaped as ldns_rdf2str() does (\. \;
 * \( \) \\ and \DDD for non-graphic bytes); truncated to @p outlen.  Written
 * out here rather than through ldns_rdf2str(), whose printf per label was
 * the largest cost of parsing an SRV answer. */
void kms_dns_rdf_name(const ldns_rdf *rdf, char *out, size_t outlen)
{
    size_t o = 0;
    kms_rd_t rd;
    uint8_t llen;

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
        return;
    kms_rd_init(&rd, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
    while (kms_rd_u8(&rd, &llen) == 0 && llen != 0) {
        const uint8_t *label;

        if (llen > 63 || kms_rd_view(&rd, &label, llen) != 0) {
            out[0] = '\0';
            return;
        }
        for (size_t i = 0; i < llen; i++) {
            uint8_t c = label[i];
            char e[4];
            size_t k = 0;

            if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\') {
                e[k++] = '\\';
                e[k++] = (char)c;
            } else if (c <= 0x20 || c >= 0x7f) {
                e[k++] = '\\';
                e[k++] = (char)('0' + c / 100);
                e[k++] = (char)('0' + c / 10 % 10);
                e[k++] = (char)('0' + c % 10);
            } else {
                e[k++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            }
            for (size_t m = 0; m < k && o + 1 < outlen; m++)
                out[o++] = e[m];
        }
        if (o + 1 < outlen)
            out[o++] = '.';
    }
    if (rd.err) {
        out[0] = '\0';
        return;
    }
    if (o == 0 && outlen > 1)
        out[o++] = '.';
    out[o] = '\0';
}
