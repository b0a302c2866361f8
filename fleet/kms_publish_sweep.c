/* SPDX-License-Identifier: MIT */
/*
 * kms_publish_sweep.c - `kms-publish sweep` (fleet/sweep.h): the run, one
 * line per record or one JSON document, the state file read and saved.
 */
#include "fleet/kms_publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "fleet/sweepstate.h"

typedef struct {
    int json;
    int apply;
    int ok;
    int withdraw_failed;
    size_t ndoms;
} sweep_ctx_t;

static void print_sweep(const fleet_sweep_result_t *res, const sweep_ctx_t *c)
{
    kms_json_t *root = NULL, *arr = NULL, *errs = NULL;
    size_t dead = 0, withdrawn = 0;
    char dom[KMS_DNS_NAMELEN], tgt[KMS_DNS_NAMELEN];

    if (c->json) {
        root = kms_json_object();
        arr = kms_json_array();
        errs = kms_json_array();
    }
    for (size_t i = 0; i < res->nerrs; i++) {
        const fleet_sweep_domerr_t *e = &res->errs[i];
        kms_dname_shown(e->domain, dom, sizeof dom);
        if (!c->json) {
            printf("%s: error: %s\n", dom, e->message);
            continue;
        }
        kms_json_t *o = kms_json_object();
        if (!o)
            continue;
        kms_json_set_str(o, "domain", dom);
        kms_json_set_str(o, "error", kms_err_name(e->status));
        kms_json_set_str(o, "message", e->message);
        kms_json_append(errs, o);
    }
    for (size_t i = 0; i < res->nrecs; i++) {
        const fleet_sweep_rec_t *r = &res->recs[i];
        char since[24];
        dead += r->verdict == FLEET_DEAD;
        withdrawn += r->withdrawn != 0;
        kms_dname_shown(r->domain, dom, sizeof dom);
        kms_dname_shown(r->target, tgt, sizeof tgt);
        if (r->since >= 0)
            snprintf(since, sizeof since, "%lld", (long long)r->since);
        else
            snprintf(since, sizeof since, "-");
        if (!c->json) {
            printf("%s %s:%u %s since=%s failures=%u: %s%s%s%s%s\n", dom, tgt, r->port,
                   fleet_verdict_name(r->verdict), since, (unsigned)r->failures,
                   r->withdrawn ? "withdrawn" : "kept (", r->withdrawn ? "" : r->why,
                   r->withdrawn ? "" : ")",
                   r->detail[0] && r->verdict != FLEET_UNKNOWN ? " - " : "",
                   r->verdict != FLEET_UNKNOWN ? r->detail : "");
            continue;
        }
        kms_json_t *o = kms_json_object();
        if (!o)
            continue;
        kms_json_set_str(o, "domain", dom);
        kms_json_set_str(o, "owner", r->owner);
        kms_json_set_str(o, "target", r->target);
        kms_json_set_int(o, "port", r->port);
        kms_json_set_str(o, "verdict", fleet_verdict_name(r->verdict));
        if (r->since >= 0)
            kms_json_set_int(o, "since", r->since);
        else
            kms_json_set_str(o, "since", NULL);
        kms_json_set_int(o, "failures", r->failures);
        kms_json_set_str(o, "action", r->withdrawn ? "withdrawn" : "kept");
        kms_json_set_str(o, "why", r->withdrawn ? NULL : r->why);
        kms_json_set_str(o, "detail", r->detail);
        kms_json_set_str(o, "error", r->status ? kms_err_name(r->status) : NULL);
        kms_json_append(arr, o);
    }
    if (!c->json) {
        printf("sweep: %zu records, %zu dead, %zu withdrawn%s; %u probes in %llu ms\n", res->nrecs,
               dead, withdrawn, c->apply ? "" : " (dry run: nothing changed; --apply withdraws)",
               res->probes, (unsigned long long)res->probe_ms);
        return;
    }
    if (root && arr && errs) {
        kms_json_set_str(root, "operation", "sweep");
        kms_json_set_bool(root, "ok", res->ok);
        kms_json_set_bool(root, "dry_run", !c->apply);
        kms_json_set(root, "records", arr);
        kms_json_set(root, "errors", errs);
        arr = errs = NULL;
        kms_json_set_int(root, "probes", res->probes);
        kms_json_set_int(root, "ms", (int64_t)res->probe_ms);
        kms_json_print(stdout, root, 0);
    }
    kms_json_free(arr);
    kms_json_free(errs);
    kms_json_free(root);
}

static void on_swept(fleet_sweep_t *s, const fleet_sweep_result_t *res, void *ud)
{
    sweep_ctx_t *c = ud;

    (void)s;
    print_sweep(res, c);
    c->ok = res->ok;
    for (size_t i = 0; i < res->nrecs; i++)
        if (res->recs[i].status) {
            c->withdraw_failed++;
            if (c->withdraw_failed == 1) {
                char tgt[KMS_DNS_NAMELEN];
                fprintf(stderr, "kms-publish: withdrawing %s:%u failed: %s\n",
                        kms_dname_shown(res->recs[i].target, tgt, sizeof tgt), res->recs[i].port,
                        res->recs[i].why);
            }
        }
    if (res->nerrs)
        fprintf(stderr, "kms-publish: %zu of %zu domains could not be read: %s\n", res->nerrs,
                c->ndoms, res->errs[0].message);
}

int kp_sweep(pub_options_t *opt, fleet_sweep_options_t *sw, pub_domain_list_t *doms,
             const char *key_file, const char *key_name, const char *state_file, int json,
             int target_given)
{
    fleet_sweepstate_t state = {NULL, 0};
    fleet_sweep_t *s = NULL;
    sweep_ctx_t c = {json, sw->apply, 0, 0, doms->n};
    kms_tsig_key_t key;
    uv_loop_t loop;
    char err[400];
    int rc = 2, r;

    memset(&key, 0, sizeof key);
    if (doms->n == 0) {
        fprintf(stderr, "kms-publish: give at least one --domain (see --help)\n");
        goto out;
    }
    if (target_given || opt->verify) {
        fprintf(stderr, "kms-publish: sweep reads every record's target: %s does not go with it\n",
                target_given ? "--target" : "--verify");
        goto out;
    }
    if (kp_setup_signing(opt, key_file, key_name, &key, sw->apply,
                         "sweep --apply withdraws records: give --key FILE (a key allowed to "
                         "delete other hosts' records), or --gss") < 0)
        goto out;
    if (fleet_sweepstate_load(state_file, &state, err, sizeof err) < 0) {
        fprintf(stderr, "kms-publish: sweep state %s (remove it to start afresh)\n", err);
        goto out;
    }
    sw->pub = *opt;
    sw->timeout_ms = (unsigned)opt->timeout_ms;
    if (uv_loop_init(&loop) < 0) {
        fprintf(stderr, "kms-publish: cannot create the event loop\n");
        goto out;
    }
    r = fleet_sweep_new(&loop, sw, &state, &s);
    if (r == 0)
        r = fleet_sweep_start(s, doms->v, doms->n, on_swept, &c);
    if (r < 0) {
        if (r == KMS_EADDR)
            fprintf(stderr, "kms-publish: no DNS server to ask: give --server or --resolver "
                            "(none in /etc/resolv.conf)\n");
        else
            fprintf(stderr, "kms-publish: %s\n", kms_strerror(r));
        fleet_sweep_free(s);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        goto out;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    fleet_sweep_free(s);
    if (uv_loop_close(&loop) != 0)
        kms_warn("event loop not closed cleanly");
    rc = c.ok ? 0 : 1;
    if ((r = fleet_sweepstate_save(state_file, &state)) < 0) {
        fprintf(stderr, "kms-publish: cannot write the sweep state %s: %s\n", state_file,
                kms_strerror(r));
        rc = 1;
    }
out:
    explicit_bzero(&key, sizeof key);
    fleet_sweepstate_free(&state);
    return rc;
}
