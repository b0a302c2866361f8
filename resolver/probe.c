/* SPDX-License-Identifier: MIT */
/*
 * probe.c - reachability of a KMS host through rpc/client.h (see probe.h).
 */
#include "resolver/probe.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/guid.h"
#include "rpc/client.h"
#include "resolver/outcome.h"

/* What the activation check asks for: Windows 10/11 Enterprise as a client
 * would (application: Windows; the KMS counted ID of Windows client
 * products).  The host answers with its count for that counted ID. */
#define SKU_ENTERPRISE "73111121-5638-40f6-bc11-f1d7b0d64300"
#define COUNTED_WIN10  "58e2134f-8e11-4d17-9cb2-91069c151148"

typedef struct {
    loc_probe_cb cb;
    void *ud;
    loc_probe_result_t res;
} probe_t;

const char *loc_probe_state_name(loc_probe_state_t s)
{
    switch (s) {
    case LOC_PROBE_OK:
        return "answered (RPC bind accepted)";
    case LOC_PROBE_REFUSED:
        return "connection refused";
    case LOC_PROBE_TIMEOUT:
        return "no answer (timeout)";
    case LOC_PROBE_UNREACHABLE:
        return "unreachable";
    case LOC_PROBE_CLOSED:
        return "connection closed before the RPC bind answer";
    case LOC_PROBE_REJECTED:
        return "RPC bind rejected (not a KMS host)";
    case LOC_PROBE_BADREPLY:
        return "not an RPC bind answer";
    }
    return "?";
}

static loc_probe_state_t state_of(const kms_rpcc_result_t *r)
{
    if (r->bind_accepted)
        return LOC_PROBE_OK;
    if (r->err == 0 || r->bind_nak)
        return LOC_PROBE_REJECTED;
    switch (r->err) {
    case KMS_ECONNREFUSED:
        return r->stage == KMS_RPCC_STAGE_CONNECT ? LOC_PROBE_REFUSED : LOC_PROBE_CLOSED;
    case KMS_ETIMEOUT:
        return LOC_PROBE_TIMEOUT;
    case KMS_ECLOSED:
        return LOC_PROBE_CLOSED;
    case KMS_EPROTO:
    case KMS_EMALFORMED:
    case KMS_ETRUNC:
    case KMS_ETOOBIG:
        return LOC_PROBE_BADREPLY;
    default:
        return r->stage == KMS_RPCC_STAGE_CONNECT ? LOC_PROBE_UNREACHABLE : LOC_PROBE_CLOSED;
    }
}

static void on_done(kms_rpcc_t *op, const kms_rpcc_result_t *r, void *ud)
{
    probe_t *p = ud;
    loc_probe_result_t *res = &p->res;

    (void)op;
    res->state = state_of(r);
    res->err = res->state == LOC_PROBE_OK ? 0 : (r->err ? r->err : KMS_EPROTO);
    res->hr = res->state == LOC_PROBE_OK ? LOC_HR_OK : LOC_HR_RPC_UNAVAIL;
    res->ms = r->elapsed_us / 1000u;
    if (res->state == LOC_PROBE_OK && res->required) {
        if (r->have_response) {
            res->activation = 1;
            res->act_status = r->response.status;
            res->current_count = r->response.current_count;
            if (r->response.status != 0)
                res->hr = r->response.status;
            else if (r->response.current_count < res->required)
                res->hr = LOC_HR_COUNT_LOW; /* 0xC004F038, as the client reports */
        } else {
            res->err = r->err ? r->err : KMS_EPROTO;
            res->hr = r->fault_status ? r->fault_status : LOC_HR_RPC_UNAVAIL;
        }
    }
    p->cb(p->ud, res);
    free(p);
}

static void fill_request(kms_act_request_t *q, const loc_act_check_t *c)
{
    char host[65] = "kms-locate";

    memset(q, 0, sizeof(*q));
    q->version_major = KMS_ACT_PLAIN_MAJOR;
    q->version_minor = KMS_ACT_PLAIN_MINOR;
    q->license_status = 2; /* out-of-box grace, as a client that needs activation */
    q->grace_time = 43200;
    if (c->app_id)
        q->app_id = *c->app_id;
    else
        kms_guid_parse(KMS_APP_WINDOWS, &q->app_id);
    kms_guid_parse(SKU_ENTERPRISE, &q->sku_id); /* the host goes by application and pool */
    if (c->kms_id)
        q->kms_counted_id = *c->kms_id;
    else
        kms_guid_parse(COUNTED_WIN10, &q->kms_counted_id);
    if (c->client_id)
        q->client_machine_id = *c->client_id;
    else if (kms_guid_random(&q->client_machine_id) != 0)
        q->client_machine_id.b[0] = 1;
    q->required_client_count = c->required;
    q->request_time = kms_filetime_from_unix((int64_t)time(NULL));
    gethostname(host, sizeof(host) - 1);
    snprintf(q->workstation, sizeof(q->workstation), "%s", host);
}

int loc_probe_start(uv_loop_t *loop, const struct sockaddr *sa, unsigned timeout_ms,
                    uint32_t required, const kms_guid_t *client_id, loc_probe_cb cb, void *ud)
{
    loc_act_check_t c = {required, client_id, NULL, NULL};

    return loc_probe_start_check(loop, sa, timeout_ms, &c, cb, ud);
}

int loc_probe_start_check(uv_loop_t *loop, const struct sockaddr *sa, unsigned timeout_ms,
                          const loc_act_check_t *c, loc_probe_cb cb, void *ud)
{
    probe_t *p = calloc(1, sizeof(*p));
    kms_rpcc_opts_t o;
    int rc;

    if (!p)
        return KMS_ENOMEM;
    p->cb = cb;
    p->ud = ud;
    p->res.required = c->required;
    kms_addr_format(sa, p->res.addr);
    memset(&o, 0, sizeof(o));
    o.connect_timeout_ms = timeout_ms ? timeout_ms : 1;
    o.exchange_timeout_ms = timeout_ms ? timeout_ms : 1;
    o.bind_style = KMS_RPCC_BIND_NDR32;
    if (c->required) {
        o.send_request = 1;
        fill_request(&o.request, c);
        p->res.client_id = o.request.client_machine_id;
    }
    rc = kms_rpcc_start(loop, sa, &o, on_done, p, NULL);
    if (rc != 0) {
        /* e.g. an address family the host cannot use: report from here as
         * unreachable, but from the loop like every other result. */
        free(p);
        return rc;
    }
    return 0;
}
