/* SPDX-License-Identifier: MIT */
/*
 * tsig.c - TSIG records and digests (see tsig.h); HMAC through OpenSSL.
 */
#include "dns/tsig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/wire.h"
#include "dns/walk.h"

/* ---- HMAC ----------------------------------------------------------------- */

static const EVP_MD *hmac_md(const char *algorithm)
{
    static const struct {
        const char *name;
        const EVP_MD *(*md)(void);
    } mds[] = {
        {"hmac-md5.sig-alg.reg.int.", EVP_md5}, {"hmac-sha1.", EVP_sha1},
        {"hmac-sha224.", EVP_sha224},           {"hmac-sha256.", EVP_sha256},
        {"hmac-sha384.", EVP_sha384},           {"hmac-sha512.", EVP_sha512},
    };
    for (size_t i = 0; i < sizeof mds / sizeof mds[0]; i++)
        if (kms_dname_eq(algorithm, mds[i].name))
            return mds[i].md();
    return NULL;
}

/* The MAC of @p data with the key's decoded secret; the secret is wiped. */
static int hmac_mac(const kms_tsig_key_t *key, const EVP_MD *md, const uint8_t *data, size_t len,
                    uint8_t *mac, unsigned *maclen)
{
    uint8_t secret[KMS_TSIG_SECRETLEN];
    size_t b64 = strlen(key->secret);
    int rc = KMS_EINVAL;

    if (b64 == 0 || b64 % 4 || key->secret_len > b64 / 4 * 3)
        return KMS_EINVAL;
    if (EVP_DecodeBlock(secret, (const unsigned char *)key->secret, (int)b64) >= 0 &&
        HMAC(md, secret, (int)key->secret_len, data, len, mac, maclen))
        rc = 0;
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

static int hmac_sign(const kms_tsig_signer_t *s, const uint8_t *data, size_t len, uint8_t *mac,
                     size_t *maclen)
{
    const EVP_MD *md = hmac_md(s->algorithm);
    unsigned n = 0;
    int rc;

    if (!md)
        return KMS_EALGORITHM;
    if ((rc = hmac_mac(s->ctx, md, data, len, mac, &n)) < 0)
        return rc;
    *maclen = n;
    return 0;
}

/* Only the full MAC is taken: we never ask for a truncated one (RFC 8945 5.2.2.1). */
static int hmac_verify(const kms_tsig_signer_t *s, const uint8_t *data, size_t len,
                       const uint8_t *mac, size_t maclen)
{
    uint8_t want[EVP_MAX_MD_SIZE];
    size_t n = 0;

    if (hmac_sign(s, data, len, want, &n) < 0 || n != maclen || CRYPTO_memcmp(want, mac, n))
        return KMS_ETSIG_VERIFY;
    return 0;
}

int kms_tsig_hmac_signer(const kms_tsig_key_t *key, kms_tsig_signer_t *out)
{
    memset(out, 0, sizeof *out);
    if (!key->sign_algorithm ||
        kms_dname_canon(key->sign_algorithm, KMS_DNAME_ANY, out->algorithm, sizeof out->algorithm) <
            0 ||
        !hmac_md(out->algorithm))
        return KMS_EALGORITHM;
    if (kms_dname_canon(key->name, KMS_DNAME_ANY, out->name, sizeof out->name) < 0)
        return KMS_EINVAL;
    out->sign = hmac_sign;
    out->verify = hmac_verify;
    out->ctx = key;
    return 0;
}

/* ---- digest --------------------------------------------------------------- */

static void put_u48(kms_wr_t *wr, int64_t t)
{
    kms_wr_u16be(wr, (uint16_t)((uint64_t)t >> 32));
    kms_wr_u32be(wr, (uint32_t)t);
}

/* The TSIG variables (RFC 8945 4.3.3) of key @p name / @p alg. */
static void put_variables(kms_wr_t *wr, const char *name, const char *alg, int64_t time,
                          uint16_t fudge, uint16_t error, const uint8_t *other, uint16_t olen)
{
    kms_dns_wr_name(wr, name);
    kms_wr_u16be(wr, KMS_DNS_C_ANY);
    kms_wr_u32be(wr, 0);
    kms_dns_wr_name(wr, alg);
    put_u48(wr, time);
    kms_wr_u16be(wr, fudge);
    kms_wr_u16be(wr, error);
    kms_wr_u16be(wr, olen);
    kms_wr_bytes(wr, other, olen);
}

static void put_req_mac(kms_wr_t *wr, const uint8_t *req_mac, size_t req_mac_len)
{
    if (!req_mac)
        return;
    kms_wr_u16be(wr, (uint16_t)req_mac_len);
    kms_wr_bytes(wr, req_mac, req_mac_len);
}

int kms_tsig_append(const kms_tsig_signer_t *s, uint8_t **wire, size_t *len, const uint8_t *req_mac,
                    size_t req_mac_len, int64_t now, uint8_t *mac_out, size_t *mac_out_len)
{
    uint8_t mac[KMS_TSIG_MAC_MAX];
    size_t maclen = 0;
    kms_wr_t d, w;
    uint16_t id, arcount;
    int rc;

    if (!s || !*wire || *len < 12 || req_mac_len > KMS_TSIG_MAC_MAX)
        return KMS_EINVAL;
    id = (uint16_t)((*wire)[0] << 8 | (*wire)[1]);
    arcount = (uint16_t)((*wire)[10] << 8 | (*wire)[11]);
    if (arcount == 0xffff)
        return KMS_ETOOBIG;

    kms_wr_init(&d);
    put_req_mac(&d, req_mac, req_mac_len);
    kms_wr_bytes(&d, *wire, *len);
    put_variables(&d, s->name, s->algorithm, now, KMS_TSIG_FUDGE, 0, NULL, 0);
    if (d.err) {
        rc = d.err == KMS_ENOMEM ? KMS_ENOMEM : KMS_EINVAL;
        kms_wr_free(&d);
        return rc;
    }
    rc = s->sign(s, d.buf, d.len, mac, &maclen);
    kms_wr_free(&d);
    if (rc < 0)
        return rc;
    if (maclen > KMS_TSIG_MAC_MAX)
        return KMS_EINVAL;

    kms_wr_init(&w);
    kms_wr_bytes(&w, *wire, *len);
    kms_dns_wr_name(&w, s->name);
    kms_wr_u16be(&w, KMS_DNS_T_TSIG);
    kms_wr_u16be(&w, KMS_DNS_C_ANY);
    kms_wr_u32be(&w, 0);
    size_t rdlen_at = w.len;
    kms_wr_u16be(&w, 0);
    size_t rdata = w.len;
    kms_dns_wr_name(&w, s->algorithm);
    put_u48(&w, now);
    kms_wr_u16be(&w, KMS_TSIG_FUDGE);
    kms_wr_u16be(&w, (uint16_t)maclen);
    kms_wr_bytes(&w, mac, maclen);
    kms_wr_u16be(&w, id);
    kms_wr_u16be(&w, 0); /* error */
    kms_wr_u16be(&w, 0); /* other len */
    if (w.err || w.len > 65535) {
        rc = w.err == KMS_ENOMEM ? KMS_ENOMEM : w.err ? KMS_EINVAL : KMS_ETOOBIG;
        kms_wr_free(&w);
        return rc;
    }
    size_t rdlen = w.len - rdata;
    w.buf[rdlen_at] = (uint8_t)(rdlen >> 8);
    w.buf[rdlen_at + 1] = (uint8_t)rdlen;
    w.buf[10] = (uint8_t)((arcount + 1) >> 8);
    w.buf[11] = (uint8_t)(arcount + 1);
    free(*wire);
    *wire = kms_wr_steal(&w, len);
    if (mac_out) {
        memcpy(mac_out, mac, maclen);
        *mac_out_len = maclen;
    }
    return 0;
}

/* ---- reading -------------------------------------------------------------- */

static int read_rdata(const uint8_t *wire, size_t len, const kms_dns_wire_rr_t *rr,
                      kms_tsig_rr_t *out)
{
    size_t pos, end = rr->rdata + rr->rdlen;
    kms_rd_t rd;
    uint16_t hi = 0;
    uint32_t lo = 0;

    pos = rr->owner;
    if (kms_dns_wire_name(wire, len, &pos, out->name, sizeof out->name))
        return KMS_EDNS_BADANSWER;
    pos = rr->rdata;
    /* the algorithm must end inside RDATA: names are read from the whole
     * message (a pointer may point before), so bound the end here */
    if (kms_dns_wire_name(wire, end, &pos, out->algorithm, sizeof out->algorithm))
        return KMS_EDNS_BADANSWER;
    kms_rd_init(&rd, wire + pos, end - pos);
    kms_rd_u16be(&rd, &hi);
    kms_rd_u32be(&rd, &lo);
    out->time = ((int64_t)hi << 32) | lo;
    kms_rd_u16be(&rd, &out->fudge);
    kms_rd_u16be(&rd, &out->mac_len);
    kms_rd_view(&rd, &out->mac, out->mac_len);
    kms_rd_u16be(&rd, &out->orig_id);
    kms_rd_u16be(&rd, &out->error);
    kms_rd_u16be(&rd, &out->other_len);
    kms_rd_view(&rd, &out->other, out->other_len);
    if (rd.err || kms_rd_left(&rd) != 0)
        return KMS_EDNS_BADANSWER;
    out->offset = rr->owner;
    return 0;
}

int kms_tsig_find(const uint8_t *wire, size_t len, kms_tsig_rr_t *out)
{
    kms_rd_t rd;
    uint16_t flags, count[3];
    kms_dns_wire_rr_t rr, tsig = {0}; /* set with found (GCC -O2 cannot tell) */
    unsigned total, found = 0, last = 0;

    memset(out, 0, sizeof *out);
    if (!wire || len < 12 || len > 65535 || kms_dns_walk_start(&rd, wire, len, &flags, count))
        return KMS_EDNS_BADANSWER;
    total = (unsigned)count[0] + count[1] + count[2];
    for (unsigned i = 0; i < total; i++) {
        if (kms_dns_walk_rr(&rd, count, i, &rr))
            return KMS_EDNS_BADANSWER;
        if (rr.type == KMS_DNS_T_TSIG) {
            if (found++)
                return KMS_EDNS_BADANSWER; /* RFC 8945 5.1: at most one */
            tsig = rr;
            last = i + 1 == total && rr.section == KMS_DNS_ADDITIONAL;
        }
    }
    if (!found)
        return 0;
    if (!last || read_rdata(wire, len, &tsig, out) < 0)
        return KMS_EDNS_BADANSWER;
    return 1;
}

int kms_tsig_check(const kms_tsig_signer_t *s, const uint8_t *wire, size_t len,
                   const kms_tsig_rr_t *t, const uint8_t *req_mac, size_t req_mac_len)
{
    kms_wr_t d;
    int rc;

    if (!kms_dname_eq(t->name, s->name) || !kms_dname_eq(t->algorithm, s->algorithm) ||
        t->offset < 12 || t->offset > len || t->mac_len == 0)
        return KMS_ETSIG_VERIFY;
    uint16_t arcount = (uint16_t)(wire[10] << 8 | wire[11]);
    if (arcount == 0)
        return KMS_ETSIG_VERIFY;

    kms_wr_init(&d);
    put_req_mac(&d, req_mac, req_mac_len);
    size_t hdr = d.len;
    kms_wr_bytes(&d, wire, t->offset);
    if (!d.err) {
        d.buf[hdr] = (uint8_t)(t->orig_id >> 8);
        d.buf[hdr + 1] = (uint8_t)t->orig_id;
        d.buf[hdr + 10] = (uint8_t)((arcount - 1) >> 8);
        d.buf[hdr + 11] = (uint8_t)(arcount - 1);
    }
    put_variables(&d, t->name, t->algorithm, t->time, t->fudge, t->error, t->other, t->other_len);
    if (d.err) {
        rc = d.err == KMS_ENOMEM ? KMS_ENOMEM : KMS_ETSIG_VERIFY;
        kms_wr_free(&d);
        return rc;
    }
    rc = s->verify(s, d.buf, d.len, t->mac, t->mac_len) < 0 ? KMS_ETSIG_VERIFY : 0;
    kms_wr_free(&d);
    return rc;
}
