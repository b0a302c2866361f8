/* SPDX-License-Identifier: MIT */
/*
 * tkey.c - TKEY query and answer (see tkey.h).
 */
#include "dns/tkey.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/wire.h"
#include "dns/walk.h"

int kms_tkey_query(uint16_t id, const char *keyname, const char *algorithm, int ms, uint32_t now,
                   const uint8_t *token, size_t toklen, uint8_t **wire, size_t *len)
{
    kms_wr_t w;
    int rc = 0;

    *wire = NULL;
    *len = 0;
    if (toklen > 65535)
        return KMS_EINVAL;
    kms_wr_init(&w);
    kms_wr_u16be(&w, id);
    kms_wr_u16be(&w, 0);          /* QUERY, no flags */
    kms_wr_u16be(&w, 1);          /* QDCOUNT */
    kms_wr_u16be(&w, ms);         /* ANCOUNT */
    kms_wr_u16be(&w, 0);          /* NSCOUNT */
    kms_wr_u16be(&w, ms ? 0 : 1); /* ARCOUNT */
    kms_dns_wr_name(&w, keyname); /* a bad name: the writer's sticky error, below */
    kms_wr_u16be(&w, KMS_DNS_T_TKEY);
    kms_wr_u16be(&w, KMS_DNS_C_ANY);
    kms_dns_wr_name(&w, keyname);
    kms_wr_u16be(&w, KMS_DNS_T_TKEY);
    kms_wr_u16be(&w, KMS_DNS_C_ANY);
    kms_wr_u32be(&w, 0);
    size_t rdlen_at = w.len;
    kms_wr_u16be(&w, 0);
    size_t rdata = w.len;
    kms_dns_wr_name(&w, algorithm);
    kms_wr_u32be(&w, now); /* inception and expiration: the server decides (as nsupdate) */
    kms_wr_u32be(&w, now);
    kms_wr_u16be(&w, KMS_TKEY_MODE_GSSAPI);
    kms_wr_u16be(&w, 0); /* error */
    kms_wr_u16be(&w, (uint16_t)toklen);
    kms_wr_bytes(&w, token, toklen);
    kms_wr_u16be(&w, 0); /* other size */
    if (w.err)
        rc = w.err == KMS_ENOMEM ? KMS_ENOMEM : KMS_EINVAL;
    if (rc == 0 && (w.len - rdata > 65535 || w.len > 65535))
        rc = KMS_EINVAL;
    if (rc < 0) {
        kms_wr_free(&w);
        return rc;
    }
    w.buf[rdlen_at] = (uint8_t)((w.len - rdata) >> 8);
    w.buf[rdlen_at + 1] = (uint8_t)(w.len - rdata);
    *wire = kms_wr_steal(&w, len);
    return *wire ? 0 : KMS_ENOMEM;
}

/* The TKEY RDATA of @p rr, bounded by its RDLENGTH. */
static int read_tkey(const uint8_t *wire, size_t len, const kms_dns_wire_rr_t *rr,
                     kms_tkey_answer_t *out)
{
    size_t end = rr->rdata + rr->rdlen, pos = rr->rdata;
    uint16_t olen = 0;
    kms_rd_t rd;

    if (end > len || kms_dns_wire_name(wire, end, &pos, out->algorithm, sizeof out->algorithm))
        return KMS_EDNS_BADANSWER;
    kms_rd_init(&rd, wire + pos, end - pos);
    kms_rd_u32be(&rd, &out->inception);
    kms_rd_u32be(&rd, &out->expiration);
    kms_rd_u16be(&rd, &out->mode);
    kms_rd_u16be(&rd, &out->error);
    kms_rd_u16be(&rd, &out->key_len);
    kms_rd_view(&rd, &out->key, out->key_len);
    kms_rd_u16be(&rd, &olen);
    kms_rd_skip(&rd, olen);
    if (rd.err || kms_rd_left(&rd) != 0)
        return KMS_EDNS_BADANSWER;
    out->found = 1;
    return 0;
}

int kms_tkey_answer_parse(const uint8_t *wire, size_t len, uint16_t id, const char *keyname,
                          kms_tkey_answer_t *out)
{
    kms_rd_t rd;
    uint16_t flags, count[3];
    kms_dns_wire_rr_t rr;
    char owner[KMS_DNS_NAMELEN];
    int rc;

    memset(out, 0, sizeof *out);
    if (!wire || len < 12 || len > 65535 || kms_dns_walk_start(&rd, wire, len, &flags, count))
        return KMS_EDNS_BADANSWER;
    out->id = (uint16_t)(wire[0] << 8 | wire[1]);
    out->rcode = flags & 0xf;
    if (!(flags & 0x8000) || ((flags >> 11) & 0xf) != 0 || out->id != id)
        return KMS_EDNS_BADANSWER;
    unsigned total = (unsigned)count[0] + count[1] + count[2];
    for (unsigned i = 0; i < total; i++) {
        if (kms_dns_walk_rr(&rd, count, i, &rr))
            return KMS_EDNS_BADANSWER;
        if (rr.type != KMS_DNS_T_TKEY || rr.section != KMS_DNS_ANSWER || out->found)
            continue;
        size_t pos = rr.owner;
        if (kms_dns_wire_name(wire, len, &pos, owner, sizeof owner))
            return KMS_EDNS_BADANSWER;
        if (kms_dname_eq(owner, keyname) && read_tkey(wire, len, &rr, out) < 0)
            return KMS_EDNS_BADANSWER;
    }
    if ((rc = kms_tsig_find(wire, len, &out->tsig)) < 0)
        return KMS_EDNS_BADANSWER;
    out->signed_ = rc;
    return 0;
}

const char *kms_tkey_error_name(int error)
{
    switch (error) {
    case 16:
        return "BADSIG";
    case 17:
        return "BADKEY";
    case 18:
        return "BADTIME";
    case 19:
        return "BADMODE";
    case 20:
        return "BADNAME";
    case 21:
        return "BADALG";
    case 22:
        return "BADTRUNC";
    default:
        return NULL;
    }
}
