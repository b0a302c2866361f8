/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tkey.c - the TKEY answer of a GSS-TSIG negotiation (dns/tkey.h) and
 * its TSIG record (dns/tsig.h): parsed for the key named by the message's
 * own question (so inputs reach the record's fields), the TSIG digest
 * rebuilt and checked with an HMAC key, and the query built back from the
 * token found.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/keyfile.h"
#include "dns/tkey.h"
#include "dns/tsig.h"

static kms_tsig_key_t key;
static kms_tsig_signer_t signer;

/* The question's name, uncompressed labels only, in presentation form. */
static int question_name(const uint8_t *d, size_t n, char *out, size_t outlen)
{
    size_t o = 12, w = 0;
    while (o < n && d[o] != 0) {
        size_t l = d[o++];
        if (l > 63 || o + l > n || w + l + 2 > outlen)
            return -1;
        for (size_t i = 0; i < l; i++) {
            char c = (char)d[o + i];
            if (c == '.' || c == '\\' || c < 33 || c > 126)
                return -1;
            out[w++] = c;
        }
        out[w++] = '.';
        o += l;
    }
    if (o >= n || w == 0)
        return -1;
    out[w] = '\0';
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char keyname[300];
    kms_tkey_answer_t a;

    if (!signer.sign) {
        const char *text = "key \"kms-publisher.\" { algorithm hmac-sha256; "
                           "secret \"ID/W3Kv64MGI8b53FZE2qadfvTbAyDPi9ciBpEn6uqg=\"; };";
        kms_keyfile_parse(text, strlen(text), NULL, &key, NULL, 0);
        kms_tsig_hmac_signer(&key, &signer);
    }
    if (size < 12 || question_name(data, size, keyname, sizeof keyname) < 0)
        snprintf(keyname, sizeof keyname, "1903241017.sig-ns1.kms.test.");
    uint16_t id = (uint16_t)(data[0] << 8 | (size > 1 ? data[1] : 0));
    if (kms_tkey_answer_parse(data, size, id, keyname, &a) != 0)
        return 0;
    if (a.signed_) {
        uint8_t mac[32] = {1, 2, 3};
        kms_tsig_check(&signer, data, size, &a.tsig, NULL, 0);
        kms_tsig_check(&signer, data, size, &a.tsig, mac, sizeof mac);
    }
    if (a.found) {
        uint8_t *w = NULL;
        size_t n = 0;
        if (kms_tkey_query(id, keyname, a.algorithm, 1, a.inception, a.key, a.key_len, &w, &n) ==
            0) {
            kms_tkey_answer_t b;
            w[2] |= 0x80; /* as an answer, it must parse again, with the same token */
            if (kms_tkey_answer_parse(w, n, id, keyname, &b) != 0 ||
                (!(a.mode & 1) &&
                 (!b.found || b.key_len != a.key_len || memcmp(b.key, a.key, a.key_len) != 0)))
                abort();
            free(w);
        }
    }
    return 0;
}
