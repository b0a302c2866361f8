/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sweepstate.c - the sweep state file parser (fleet/sweepstate.h).
 *
 * Invariants: a rejected file leaves the state as it was and says why on
 * one line naming the line; an accepted one holds only valid entries
 * (port, failures >= 1, first_dead <= last_probe, no duplicates) and
 * survives format -> parse -> format unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "fleet/sweepstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fleet_sweepstate_t st = {NULL, 0}, again = {NULL, 0};
    fleet_sweep_entry_t keep;
    char err[300], *t1 = NULL, *t2 = NULL;
    size_t l1, l2;
    int r;

    /* a state with one entry: a failed parse must leave it alone */
    memset(&keep, 0, sizeof keep);
    strcpy(keep.owner, "_vlmcs._tcp.kms.test.");
    strcpy(keep.target, "kms9.kms.test.");
    keep.port = 1688;
    keep.first_dead = keep.last_probe = 1;
    keep.failures = 1;
    if (fleet_sweepstate_put(&st, &keep) < 0)
        abort();
    err[0] = '\0';
    r = fleet_sweepstate_parse((const char *)data, size, "f", &st, err, sizeof err);
    if (r < 0) {
        if (r == KMS_ENOMEM)
            goto done;
        if (r != KMS_ECORRUPT || strncmp(err, "f:", 2) != 0 || strchr(err, '\n'))
            abort(); /* one line naming the file and line */
        if (st.n != 1 || !fleet_sweepstate_find(&st, keep.owner, keep.target, keep.port))
            abort(); /* never trusted in part */
        goto done;
    }
    for (size_t i = 0; i < st.n; i++) {
        const fleet_sweep_entry_t *e = &st.v[i];
        if (e->port == 0 || e->failures == 0 || e->first_dead > e->last_probe || e->first_dead < 0)
            abort();
        if (fleet_sweepstate_find(&st, e->owner, e->target, e->port) != e)
            abort(); /* listed twice */
    }
    if (fleet_sweepstate_format(&st, &t1, &l1) < 0)
        goto done;
    if (fleet_sweepstate_parse(t1, l1, "t1", &again, err, sizeof err) < 0)
        abort(); /* what we write, we read */
    if (again.n != st.n || fleet_sweepstate_format(&again, &t2, &l2) < 0)
        abort();
    if (l1 != l2 || memcmp(t1, t2, l1) != 0)
        abort();
done:
    free(t1);
    free(t2);
    fleet_sweepstate_free(&again);
    fleet_sweepstate_free(&st);
    return 0;
}
