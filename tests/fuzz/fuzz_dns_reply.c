/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: DNS answers (dns/message + dns/rcode): parse as the answer to
 * a signed UPDATE (TSIG read/verify), explain it, and parse it as an SRV
 * answer with glue.  The first input byte picks the request's ID low byte so
 * that ID-matching paths are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/message.h"
#include "dns/srv.h"
#include "dns/keyfile.h"
#include "dns/rcode.h"

static kms_tsig_key_t key;
static kms_tsig_signer_t signer;
static kms_dns_msg_t *upd, *qry;

static void init(void)
{
    const char *text = "key \"kms-publisher.\" { algorithm hmac-sha256; "
                       "secret \"ID/W3Kv64MGI8b53FZE2qadfvTbAyDPi9ciBpEn6uqg=\"; };";
    kms_keyfile_parse(text, strlen(text), NULL, &key, NULL, 0);
    kms_tsig_hmac_signer(&key, &signer);
    kms_dns_msg_update_new("kms.test", &upd);
    kms_dns_msg_add_srv(upd, "_vlmcs._tcp.kms.test", 3600, 0, 0, 1688, "kms1.kms.test");
    kms_dns_msg_query_new("_vlmcs._tcp.kms.test", KMS_DNS_T_SRV, 0, &qry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!upd)
        init();
    uint16_t id = size >= 2 ? (uint16_t)((data[0] << 8) | data[1]) : 0;
    uint8_t *w = NULL;
    size_t n = 0;
    kms_dns_reply_t *r = NULL;
    char line[600];

    if (kms_dns_msg_render(upd, id, &signer, &w, &n) == 0) {
        free(w);
        if (kms_dns_reply_parse(upd, &signer, data, size, &r) == 0) {
            kms_dns_explain_ctx_t c = {"update", "127.0.0.1#53", "kms-publisher", "kms.test.", 0};
            kms_dns_explain(r, &c, line, sizeof line);
            kms_dns_reply_free(r);
        }
    }
    if (kms_dns_msg_render(qry, id, NULL, &w, &n) == 0) {
        free(w);
        if (kms_dns_reply_parse(qry, NULL, data, size, &r) == 0) {
            kms_dns_explain_ctx_t c = {"query", "[::1]#53", NULL, NULL, 0};
            kms_dns_explain(r, &c, line, sizeof line);
            for (size_t i = 0; i < r->nrrs; i++)
                if (!memchr(r->rrs[i].name, '\0', sizeof r->rrs[i].name))
                    __builtin_trap();
            kms_dns_reply_free(r);
        }
    }
    kms_srv_answer_t *a = NULL;
    if (kms_srv_answer_parse(data, size, &a) == 0) {
        for (size_t i = 0; i < a->nsrv; i++)
            if (!memchr(a->srv[i].target, '\0', sizeof a->srv[i].target))
                __builtin_trap();
        kms_srv_answer_free(a);
    }
    return 0;
}
