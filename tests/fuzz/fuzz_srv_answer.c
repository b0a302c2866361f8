/* SPDX-License-Identifier: MIT */
/*
 * fuzz_srv_answer.c - SRV answer handling end to end: a raw DNS message ->
 * SRV records, CNAMEs and A/AAAA glue (dns/srv.h) -> the CNAME chain from
 * the question's alias (resolver/cname.h) -> RFC 2782 order
 * (resolver/order.h) -> addresses per target from the answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "dns/srv.h"
#include "resolver/cname.h"
#include "resolver/locate.h"
#include "resolver/order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_srv_answer_t *a = NULL;
    loc_pick_t *picks;
    loc_rng_t rng;
    size_t n = 0;

    if (kms_srv_answer_parse(data, size, &a) != 0)
        return 0;
    /* from any name of the answer, the chain is bounded, loops refused */
    for (size_t i = 0; i < a->ncnames; i++) {
        loc_chain_t c = {0};
        size_t added;
        int r = loc_chain_follow(&c, a->cnames[i].owner, a, &added);

        if (c.n > LOC_CNAME_MAX || added != c.n || (r != 0 && r != KMS_EDNS_BADANSWER) ||
            (r == 0 && c.n == 0))
            abort();
    }
    picks = calloc(a->nsrv ? a->nsrv : 1, sizeof(*picks));
    if (!picks) {
        kms_srv_answer_free(a);
        return 0;
    }
    loc_rng_seed(&rng, 42);
    if (loc_order(a->srv, a->nsrv, &rng, picks, &n) == 0) {
        uint16_t last = 0;
        for (size_t i = 0; i < n; i++) {
            loc_host_t h;
            const kms_srv_rec_t *s = &a->srv[picks[i].index];

            if (picks[i].index >= a->nsrv || s->priority < last)
                abort(); /* order must be a permutation in priority order */
            last = s->priority;
            memset(&h, 0, sizeof(h));
            memcpy(h.target, s->target, sizeof(h.target));
            h.port = s->port;
            if (loc_addrs_from_answer(&h, a) > LOC_MAX_ADDRS || h.n_addrs > LOC_MAX_ADDRS)
                abort();
        }
    }
    free(picks);
    kms_srv_answer_free(a);
    return 0;
}
