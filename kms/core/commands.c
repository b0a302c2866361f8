/*
 * commands.c - the control verbs behind kms_host_command() (host.h; the
 * protocol and every verb are documented in docs/control.md).
 *
 * Every verb that changes persisted state builds the new state on a copy,
 * writes the file, and only then swaps the copy in and answers OK: a failed
 * write leaves both the file and the running host as they were.
 */
#include "kms/core/host.h"
#include "kms/core/host_int.h"

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD_MAX_LINE   4096
#define CMD_MAX_TOKENS 64

/* ---- control verbs ------------------------------------------------------------- */

typedef struct {
    kms_host_t *h;
    char **tok; /* arguments after the verb, --json removed */
    int ntok;
    int json;
    kms_wr_t payload;
    unsigned nlines;
    char msg[512]; /* error message */
} cmd_t;

static void out_line(cmd_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_line(cmd_t *c, const char *fmt, ...)
{
    va_list ap;
    char small[512], *buf = small;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        c->payload.err = KMS_EINVAL;
        return;
    }
    if ((size_t)n >= sizeof small) {
        if (!(buf = malloc((size_t)n + 1))) {
            c->payload.err = KMS_ENOMEM;
            return;
        }
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    kms_wr_bytes(&c->payload, buf, (size_t)n);
    kms_wr_u8(&c->payload, '\n');
    c->nlines++;
    if (buf != small)
        free(buf);
}

static int fail(cmd_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(cmd_t *c, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    return code;
}

static int out_json(cmd_t *c, kms_json_t *j)
{
    char *s = j ? kms_json_dump(j, 0) : NULL;

    kms_json_free(j);
    if (!s)
        return fail(c, KMS_ENOMEM, "out of memory");
    out_line(c, "%s", s);
    free(s);
    return 0;
}

/* "default" or an activation ID; *is_default tells which. */
static int parse_slot(cmd_t *c, const char *s, kms_guid_t *g, int *is_default)
{
    *is_default = strcmp(s, "default") == 0;
    if (*is_default)
        return 0;
    if (kms_guid_parse(s, g) < 0)
        return fail(c, KMS_EINVAL, "'%.64s' is not an activation ID (GUID) or 'default'", s);
    return 0;
}

/* A slot as dli shows it: "default" or the activation ID normalized (lower
 * case, no braces), whatever form a command gave. */
static const char *slot_label(int is_def, const kms_guid_t *act, char *buf)
{
    return is_def ? "default" : kms_guid_format(act, buf);
}

static const char *slot_name(const kms_product_t *p, char *buf)
{
    return slot_label(p->is_default, &p->act_id, buf);
}

static kms_json_t *product_json(const kms_product_t *p)
{
    kms_json_t *o = kms_json_object(), *ids = kms_json_array();
    char g[KMS_GUID_STRLEN], part[KMS_PARTIAL_STRLEN];

    if (!o || !ids)
        goto fail;
    kms_key_partial(p->key, part);
    for (size_t k = 0; k < p->n_kms_ids; k++) {
        if (kms_json_append_str(ids, kms_guid_format(&p->kms_ids[k], g)) < 0)
            goto fail;
    }
    if (kms_json_set_str(o, "activation_id", slot_name(p, g)) < 0 ||
        kms_json_set_str(o, "family", kms_family_name(p->family)) < 0 ||
        kms_json_set_str(o, "application_id", kms_guid_format(kms_family_app_id(p->family), g)) <
            0 ||
        kms_json_set_str(o, "partial_key", part) < 0 ||
        kms_json_set_bool(o, "enabled", p->enabled) < 0 || kms_json_set(o, "kms_ids", ids) < 0)
        goto fail;
    ids = NULL;
    if (kms_json_set_int(o, "installed", p->installed) < 0)
        goto fail;
    return o;

fail:
    kms_json_free(ids);
    kms_json_free(o);
    return NULL;
}

static void product_line(cmd_t *c, const kms_product_t *p)
{
    char g[KMS_GUID_STRLEN], a[KMS_GUID_STRLEN], part[KMS_PARTIAL_STRLEN];
    char ids[KMS_INV_MAX_KMSIDS * KMS_GUID_STRLEN + 4] = "any";
    size_t off = 0;

    kms_key_partial(p->key, part);
    for (size_t k = 0; k < p->n_kms_ids; k++)
        off += (size_t)sprintf(ids + off, "%s%s", k ? "," : "", kms_guid_format(&p->kms_ids[k], g));
    out_line(c,
             "product %s family=%s application_id=%s partial_key=%s enabled=%s kms_ids=%s "
             "installed=%lld",
             slot_name(p, g), kms_family_name(p->family),
             kms_guid_format(kms_family_app_id(p->family), a), part, p->enabled ? "yes" : "no", ids,
             (long long)p->installed);
}

static int verb_dli(cmd_t *c)
{
    kms_host_t *h = c->h;
    kms_guid_t g;
    int all = 0, is_def = 1, r;
    size_t from = 0, to = 0;

    if (c->ntok > 1)
        return fail(c, KMS_EINVAL, "usage: dli [ACTID|default|all] [--json]");
    if (c->ntok == 1) {
        all = strcmp(c->tok[0], "all") == 0;
        if (!all && (r = parse_slot(c, c->tok[0], &g, &is_def)) < 0)
            return r;
    }
    if (all) {
        to = h->inv.n;
    } else {
        kms_product_t *p = kms_inv_find(&h->inv, is_def ? NULL : &g);

        if (!p)
            return fail(c, KMS_ENOENT, "no product key installed for %s",
                        c->ntok ? c->tok[0] : "default");
        from = (size_t)(p - h->inv.items);
        to = from + 1;
    }
    if (c->json) {
        kms_json_t *o = kms_json_object(), *arr = kms_json_array();

        if (!o || !arr || kms_json_set(o, "products", arr) < 0) {
            kms_json_free(arr);
            kms_json_free(o);
            return fail(c, KMS_ENOMEM, "out of memory");
        }
        for (size_t i = from; i < to; i++) {
            kms_json_t *p = product_json(&h->inv.items[i]);

            if (!p || kms_json_append(arr, p) < 0) {
                kms_json_free(p);
                kms_json_free(o);
                return fail(c, KMS_ENOMEM, "out of memory");
            }
        }
        return out_json(c, o);
    }
    for (size_t i = from; i < to; i++)
        product_line(c, &h->inv.items[i]);
    return 0;
}

static int save_inventory(cmd_t *c, kms_inv_t *next)
{
    int r = kms_state_save_inventory(c->h->state_dir, next, c->h->durable);

    if (r < 0) {
        kms_inv_clear(next);
        return fail(c, r, "cannot write %s/%s: %s", c->h->state_dir, KMS_STATE_INVENTORY,
                    kms_strerror(r));
    }
    kms_inv_clear(&c->h->inv);
    c->h->inv = *next;
    return 0;
}

static int save_overrides(cmd_t *c, kms_overrides_t *next)
{
    int r = kms_state_save_settings(c->h->state_dir, next, c->h->durable);

    if (r < 0) {
        kms_overrides_free(next);
        return fail(c, r, "cannot write %s/%s: %s", c->h->state_dir, KMS_STATE_SETTINGS,
                    kms_strerror(r));
    }
    kms_overrides_free(&c->h->ovr);
    c->h->ovr = *next;
    return 0;
}

static int verb_ipk(cmd_t *c)
{
    kms_guid_t act, ids[KMS_INV_MAX_KMSIDS];
    size_t nids = 0;
    const char *key = NULL, *slot = NULL;
    kms_family_t fam = KMS_FAMILY_WINDOWS;
    int have_fam = 0, is_def = 1, r;
    char norm[KMS_KEY_STRLEN], part[KMS_PARTIAL_STRLEN], g[KMS_GUID_STRLEN];
    kms_inv_t next;
    static const char usage[] =
        "usage: ipk KEY [ACTID] [--family windows|office2010|office] [--kms-id GUID]...";

    for (int i = 0; i < c->ntok; i++) {
        const char *t = c->tok[i];

        if (strcmp(t, "--family") == 0 || strcmp(t, "--kms-id") == 0) {
            if (i + 1 == c->ntok)
                return fail(c, KMS_EINVAL, "%s needs a value; %s", t, usage);
            if (t[2] == 'f') {
                if (have_fam || kms_family_parse(c->tok[i + 1], &fam) < 0)
                    return fail(c, KMS_EINVAL,
                                "bad --family '%.32s' (windows, office2010, "
                                "office)",
                                c->tok[i + 1]);
                have_fam = 1;
            } else {
                if (nids == KMS_INV_MAX_KMSIDS)
                    return fail(c, KMS_EINVAL, "at most %d --kms-id", KMS_INV_MAX_KMSIDS);
                if (kms_guid_parse(c->tok[i + 1], &ids[nids]) < 0)
                    return fail(c, KMS_EINVAL, "--kms-id '%.64s' is not a GUID", c->tok[i + 1]);
                nids++;
            }
            i++;
        } else if (t[0] == '-' && t[1] == '-') {
            return fail(c, KMS_EINVAL, "unknown option '%.32s'; %s", t, usage);
        } else if (!key) {
            key = t;
        } else if (!slot) {
            slot = t;
        } else {
            return fail(c, KMS_EINVAL, "%s", usage);
        }
    }
    if (!key)
        return fail(c, KMS_EINVAL, "%s", usage);
    if (kms_key_check(key, norm) < 0)
        return fail(c, KMS_EKEYFORMAT,
                    "not a product key: expected 5 groups of 5 characters from "
                    "BCDFGHJKMPQRTVWXY2346789 (at most one N) separated by '-'");
    if (slot && (r = parse_slot(c, slot, &act, &is_def)) < 0)
        return r;
    if (!have_fam)
        fam = is_def ? KMS_FAMILY_WINDOWS : KMS_FAMILY_OFFICE;
    if ((r = kms_inv_copy(&next, &c->h->inv)) < 0)
        return fail(c, r, "out of memory");
    r = kms_inv_install(&next, norm, is_def ? NULL : &act, fam, ids, nids, (int64_t)time(NULL));
    if (r < 0) {
        kms_inv_clear(&next);
        return fail(c, r, "cannot install the key: %s", kms_strerror(r));
    }
    if ((r = save_inventory(c, &next)) < 0)
        return r;
    kms_key_partial(norm, part);
    out_line(c, "installed %s family=%s partial_key=%s enabled=no (run ato to serve it)",
             slot_label(is_def, &act, g), kms_family_name(fam), part);
    return 0;
}

static int verb_upk(cmd_t *c)
{
    kms_guid_t act;
    int is_def, r;
    kms_inv_t next;
    char g[KMS_GUID_STRLEN];

    if (c->ntok != 1)
        return fail(c, KMS_EINVAL, "usage: upk ACTID|default");
    if ((r = parse_slot(c, c->tok[0], &act, &is_def)) < 0)
        return r;
    if (!kms_inv_find(&c->h->inv, is_def ? NULL : &act))
        return fail(c, KMS_ENOENT, "no product key installed for %s", c->tok[0]);
    if ((r = kms_inv_copy(&next, &c->h->inv)) < 0)
        return fail(c, r, "out of memory");
    kms_inv_uninstall(&next, is_def ? NULL : &act);
    if ((r = save_inventory(c, &next)) < 0)
        return r;
    out_line(c, "uninstalled %s", slot_label(is_def, &act, g));
    return 0;
}

static int verb_ato(cmd_t *c)
{
    kms_host_t *h = c->h;
    kms_guid_t act;
    int is_def = 1, all = 0, r;
    kms_inv_t next;

    if (c->ntok > 1)
        return fail(c, KMS_EINVAL, "usage: ato [ACTID|default|all]");
    if (c->ntok == 1) {
        all = strcmp(c->tok[0], "all") == 0;
        if (!all && (r = parse_slot(c, c->tok[0], &act, &is_def)) < 0)
            return r;
    }
    if (all ? h->inv.n == 0 : !kms_inv_find(&h->inv, is_def ? NULL : &act))
        return fail(c, KMS_ENOENT, "no product key installed for %s (run ipk first)",
                    all       ? "any product"
                    : c->ntok ? c->tok[0]
                              : "default");
    if ((r = kms_inv_copy(&next, &h->inv)) < 0)
        return fail(c, r, "out of memory");
    for (size_t i = 0; i < next.n; i++) {
        if (all || &h->inv.items[i] == kms_inv_find(&h->inv, is_def ? NULL : &act))
            next.items[i].enabled = 1;
    }
    if ((r = save_inventory(c, &next)) < 0)
        return r;
    if (h->ovr.decommissioned) {
        kms_overrides_t o;

        if ((r = kms_overrides_copy(&o, &h->ovr)) < 0)
            return fail(c, r, "out of memory");
        o.decommissioned = 0;
        if ((r = save_overrides(c, &o)) < 0)
            return r;
        out_line(c, "decommissioned no");
    }
    for (size_t i = 0; i < h->inv.n; i++) {
        if (all || &h->inv.items[i] == kms_inv_find(&h->inv, is_def ? NULL : &act))
            product_line(c, &h->inv.items[i]);
    }
    return 0;
}

/* Set one override; @p apply writes the value into the copy. */
static int set_override(cmd_t *c, unsigned bit, void (*apply)(kms_overrides_t *, uint64_t),
                        uint64_t v, const char *echo)
{
    kms_overrides_t o;
    int r;

    if ((r = kms_overrides_copy(&o, &c->h->ovr)) < 0)
        return fail(c, r, "out of memory");
    apply(&o, v);
    o.set |= bit;
    if ((r = save_overrides(c, &o)) < 0)
        return r;
    out_line(c, "%s", echo);
    return 0;
}

static void ap_port(kms_overrides_t *o, uint64_t v)
{
    o->port = (uint16_t)v;
}
static void ap_act(kms_overrides_t *o, uint64_t v)
{
    o->activation_interval = (uint32_t)v;
}
static void ap_ren(kms_overrides_t *o, uint64_t v)
{
    o->renewal_interval = (uint32_t)v;
}
static void ap_pub(kms_overrides_t *o, uint64_t v)
{
    o->publish = (int)v;
}
static void ap_prio(kms_overrides_t *o, uint64_t v)
{
    o->priority = (uint16_t)v;
}
static void ap_weight(kms_overrides_t *o, uint64_t v)
{
    o->weight = (uint16_t)v;
}

static int verb_sprt(cmd_t *c)
{
    uint16_t port;
    char echo[32];

    if (c->ntok != 1)
        return fail(c, KMS_EINVAL, "usage: sprt PORT (1..65535)");
    if (kms_port_parse(c->tok[0], &port) < 0)
        return fail(c, KMS_ERANGE, "'%.32s' is not a port (1..65535)", c->tok[0]);
    snprintf(echo, sizeof echo, "port %u", port);
    return set_override(c, KMS_OVR_PORT, ap_port, port, echo);
}

static int verb_interval(cmd_t *c, int act)
{
    const char *name = act ? "activation_interval" : "renewal_interval";
    uint64_t s;
    char echo[64];
    int r;

    if (c->ntok != 1)
        return fail(c, KMS_EINVAL, "usage: %s MINUTES (15..43200; or with s/m/h/d)",
                    act ? "sai" : "sri");
    r = kms_duration_parse(c->tok[0], 60, &s);
    if (r == KMS_EINVAL)
        return fail(c, r, "'%.32s' is not a duration (minutes, or a number with s/m/h/d)",
                    c->tok[0]);
    if (r < 0 || s % 60 || s / 60 < 15 || s / 60 > 43200)
        return fail(c, KMS_ERANGE, "'%.32s' out of range (whole minutes, 15 minutes to 30 days)",
                    c->tok[0]);
    snprintf(echo, sizeof echo, "%s %llu", name, (unsigned long long)(s / 60));
    return set_override(c, act ? KMS_OVR_ACT_INTERVAL : KMS_OVR_REN_INTERVAL, act ? ap_act : ap_ren,
                        s / 60, echo);
}

static int verb_publish(cmd_t *c, int on)
{
    if (c->ntok != 0)
        return fail(c, KMS_EINVAL, "usage: %s", on ? "sdns" : "cdns");
    if (on && c->h->ovr.decommissioned)
        return fail(c, KMS_EPERM,
                    "this host is decommissioned: run ato to serve again, "
                    "then sdns");
    return set_override(c, KMS_OVR_PUBLISH, ap_pub, (uint64_t)on,
                        on ? "publish yes" : "publish no");
}

static int verb_u16(cmd_t *c, int prio)
{
    uint64_t v;
    char echo[32];

    if (c->ntok != 1)
        return fail(c, KMS_EINVAL, "usage: %s N (0..65535)", prio ? "sprio" : "sweight");
    if (kms_uint_parse(c->tok[0], 0, 65535, &v) < 0)
        return fail(c, KMS_ERANGE, "'%.32s' is not a number in 0..65535", c->tok[0]);
    snprintf(echo, sizeof echo, "%s %llu", prio ? "priority" : "weight", (unsigned long long)v);
    return set_override(c, prio ? KMS_OVR_PRIORITY : KMS_OVR_WEIGHT, prio ? ap_prio : ap_weight, v,
                        echo);
}

static int verb_sdomains(cmd_t *c)
{
    kms_overrides_t o;
    pub_domain_list_t d = {0};
    size_t len = 1;
    char *list, *s, why[256];
    int r;

    if (c->ntok == 0)
        return fail(c, KMS_EINVAL, "usage: sdomains DOMAIN [PRIORITY WEIGHT][, DOMAIN ...]");
    for (int i = 0; i < c->ntok; i++)
        len += strlen(c->tok[i]) + 1;
    if (!(list = malloc(len)))
        return fail(c, KMS_ENOMEM, "out of memory");
    list[0] = 0;
    for (int i = 0; i < c->ntok; i++) {
        if (i)
            strcat(list, " ");
        strcat(list, c->tok[i]);
    }
    r = pub_domains_parse(list, &d, why, sizeof why);
    free(list);
    if (r < 0) {
        pub_domain_list_free(&d);
        return r == KMS_ENOMEM ? fail(c, r, "out of memory") : fail(c, KMS_EINVAL, "%s", why);
    }
    if ((r = kms_overrides_copy(&o, &c->h->ovr)) < 0) {
        pub_domain_list_free(&d);
        return fail(c, r, "out of memory");
    }
    pub_domain_list_free(&o.domains);
    o.domains = d;
    o.set |= KMS_OVR_DOMAINS;
    if ((r = save_overrides(c, &o)) < 0)
        return r;
    s = pub_domains_format(&c->h->ovr.domains);
    out_line(c, "domains %s", s ? s : "");
    free(s);
    return 0;
}

static int verb_decommission(cmd_t *c)
{
    kms_overrides_t o;
    int r;

    if (c->ntok != 0)
        return fail(c, KMS_EINVAL, "usage: decommission");
    if ((r = kms_overrides_copy(&o, &c->h->ovr)) < 0)
        return fail(c, r, "out of memory");
    o.decommissioned = 1;
    o.publish = 0;
    o.set |= KMS_OVR_PUBLISH;
    if ((r = save_overrides(c, &o)) < 0)
        return r;
    out_line(c, "decommissioned yes");
    out_line(c, "publish no");
    return 0;
}

/* ---- status ------------------------------------------------------------------------ */

static const char *src(const kms_host_t *h, unsigned bit)
{
    return (h->ovr.set & bit) ? "control" : "config";
}

/* "dns": {"publish": b, "running": b, "domains": [{domain, op, ok, time, message, error}]} */
static int dns_json(const kms_host_t *h, kms_json_t *o)
{
    kms_settings_t s;
    kms_json_t *dns = kms_json_object(), *arr = kms_json_array();
    int e = 0;

    kms_host_settings(h, &s);
    if (!dns || !arr)
        goto fail;
    for (size_t i = 0; i < h->n_dns; i++) {
        const kms_dns_state_t *d = &h->dns[i];
        kms_json_t *j = kms_json_object();

        e |= !j || kms_json_set_str(j, "domain", d->domain) < 0;
        e |= !j || kms_json_set_str(j, "op", d->op[0] ? d->op : NULL) < 0;
        e |= !j || kms_json_set_str(j, "result",
                                    d->time == 0     ? "pending"
                                    : d->status == 0 ? "ok"
                                                     : "error") < 0;
        e |= !j || kms_json_set_bool(j, "ok", d->time != 0 && d->status == 0) < 0;
        e |= !j || kms_json_set_int(j, "time", d->time) < 0;
        e |= !j || kms_json_set_str(j, "message", d->message) < 0;
        e |= !j || kms_json_set_str(j, "error",
                                    d->time && d->status ? kms_err_name(d->status) : NULL) < 0;
        if (e || kms_json_append(arr, j) < 0) {
            kms_json_free(j);
            goto fail;
        }
    }
    e |= kms_json_set_bool(dns, "publish", s.publish && !s.decommissioned) < 0;
    e |= kms_json_set_bool(dns, "running", h->dns_running) < 0;
    if (e || kms_json_set(dns, "domains", arr) < 0)
        goto fail;
    arr = NULL;
    if (kms_json_set(o, "dns", dns) < 0)
        goto fail;
    return 0;
fail:
    kms_json_free(arr);
    kms_json_free(dns);
    return KMS_ENOMEM;
}

static int status_json(cmd_t *c, const kms_settings_t *s, int64_t now)
{
    kms_host_t *h = c->h;
    const kms_host_stats_t *st = &h->stats;
    kms_json_t *o = kms_json_object(), *set = kms_json_object(), *doms = kms_json_array();
    kms_json_t *prods = kms_json_array(), *counts = kms_json_array(), *stats = kms_json_object();
    kms_json_t *ctl = kms_json_array();
    static const struct {
        const char *name;
        unsigned bit;
    } ovr_names[] = {{"port", KMS_OVR_PORT},
                     {"activation_interval", KMS_OVR_ACT_INTERVAL},
                     {"renewal_interval", KMS_OVR_REN_INTERVAL},
                     {"publish", KMS_OVR_PUBLISH},
                     {"priority", KMS_OVR_PRIORITY},
                     {"weight", KMS_OVR_WEIGHT},
                     {"domains", KMS_OVR_DOMAINS}};
    int e = 0;

    if (!o || !set || !doms || !prods || !counts || !stats || !ctl)
        goto fail;
    for (size_t i = 0; i < s->domains->n; i++) {
        const pub_domain_t *pd = &s->domains->v[i];
        kms_json_t *d = kms_json_object();

        e |= !d || kms_json_set_str(d, "name", pd->name) < 0;
        e |= !d ||
             kms_json_set_int(d, "priority", pd->priority >= 0 ? pd->priority : s->priority) < 0;
        e |= !d || kms_json_set_int(d, "weight", pd->weight >= 0 ? pd->weight : s->weight) < 0;
        if (e || kms_json_append(doms, d) < 0) {
            kms_json_free(d);
            goto fail;
        }
    }
    for (size_t i = 0; i < sizeof ovr_names / sizeof ovr_names[0]; i++) {
        if ((h->ovr.set & ovr_names[i].bit) && kms_json_append_str(ctl, ovr_names[i].name) < 0)
            goto fail;
    }
    e |= kms_json_set_int(set, "port", s->port) < 0;
    e |= kms_json_set_int(set, "activation_interval", s->activation_interval) < 0;
    e |= kms_json_set_int(set, "renewal_interval", s->renewal_interval) < 0;
    e |= kms_json_set_bool(set, "publish", s->publish) < 0;
    e |= kms_json_set_int(set, "priority", s->priority) < 0;
    e |= kms_json_set_int(set, "weight", s->weight) < 0;
    e |= kms_json_set_bool(set, "decommissioned", s->decommissioned) < 0;
    if (e || kms_json_set(set, "domains", doms) < 0)
        goto fail;
    doms = NULL;
    if (kms_json_set(set, "set_by_control", ctl) < 0)
        goto fail;
    ctl = NULL;
    for (size_t i = 0; i < h->inv.n; i++) {
        kms_json_t *p = product_json(&h->inv.items[i]);

        if (!p || kms_json_append(prods, p) < 0) {
            kms_json_free(p);
            goto fail;
        }
    }
    for (size_t i = 0; i < kms_ledger_npools(h->ledger); i++) {
        kms_guid_t g;
        uint32_t cap, cnt;
        char gs[KMS_GUID_STRLEN];
        kms_json_t *p = kms_json_object();

        kms_ledger_pool(h->ledger, i, &g, &cap, &cnt, now);
        if (!p || kms_json_set_str(p, "kms_counted_id", kms_guid_format(&g, gs)) < 0 ||
            kms_json_set_int(p, "count", cnt) < 0 || kms_json_set_int(p, "capacity", cap) < 0 ||
            kms_json_append(counts, p) < 0) {
            kms_json_free(p);
            goto fail;
        }
    }
    if (dns_json(h, o) < 0)
        goto fail;
    e |= kms_json_set_int(stats, "connections_total", (int64_t)st->connections_total) < 0;
    e |= kms_json_set_int(stats, "connections_now", (int64_t)st->connections_now) < 0;
    e |= kms_json_set_int(stats, "connections_rejected", (int64_t)st->connections_rejected) < 0;
    e |= kms_json_set_int(stats, "activations_ok", (int64_t)st->activations_ok) < 0;
    e |= kms_json_set_int(stats, "activations_failed", (int64_t)st->activations_failed) < 0;
    e |= kms_json_set_int(stats, "other_encodings", (int64_t)st->other_encodings) < 0;
    e |= kms_json_set_int(stats, "malformed", (int64_t)st->malformed) < 0;
    e |= kms_json_set_int(stats, "idle_closed", (int64_t)st->idle_closed) < 0;
    e |= kms_json_set_str(o, "version", KMSDNS_VERSION) < 0;
    e |= kms_json_set_int(o, "uptime", now - (int64_t)st->started) < 0;
    if (e || kms_json_set(o, "settings", set) < 0)
        goto fail;
    set = NULL;
    if (kms_json_set(o, "products", prods) < 0)
        goto fail;
    prods = NULL;
    if (kms_json_set(o, "counts", counts) < 0)
        goto fail;
    counts = NULL;
    if (kms_json_set(o, "stats", stats) < 0)
        goto fail;
    return out_json(c, o);

fail:
    kms_json_free(ctl);
    kms_json_free(doms);
    kms_json_free(set);
    kms_json_free(prods);
    kms_json_free(counts);
    kms_json_free(stats);
    kms_json_free(o);
    return fail(c, KMS_ENOMEM, "out of memory");
}

static int verb_status(cmd_t *c)
{
    kms_host_t *h = c->h;
    const kms_host_stats_t *st = &h->stats;
    kms_settings_t s;
    int64_t now = (int64_t)time(NULL);
    char *doms;

    if (c->ntok != 0)
        return fail(c, KMS_EINVAL, "usage: status [--json]");
    kms_host_settings(h, &s);
    if (c->json)
        return status_json(c, &s, now);
    doms = pub_domains_format(s.domains);
    if (!doms)
        return fail(c, KMS_ENOMEM, "out of memory");
    out_line(c, "version %s", KMSDNS_VERSION);
    out_line(c, "uptime %lld", (long long)(now - (int64_t)st->started));
    out_line(c, "port %u source=%s", s.port, src(h, KMS_OVR_PORT));
    out_line(c, "activation_interval %u source=%s", s.activation_interval,
             src(h, KMS_OVR_ACT_INTERVAL));
    out_line(c, "renewal_interval %u source=%s", s.renewal_interval, src(h, KMS_OVR_REN_INTERVAL));
    out_line(c, "publish %s source=%s", s.publish ? "yes" : "no",
             s.decommissioned ? "decommissioned" : src(h, KMS_OVR_PUBLISH));
    out_line(c, "priority %u source=%s", s.priority, src(h, KMS_OVR_PRIORITY));
    out_line(c, "weight %u source=%s", s.weight, src(h, KMS_OVR_WEIGHT));
    out_line(c, "domains %s source=%s", s.domains->n ? doms : "-", src(h, KMS_OVR_DOMAINS));
    free(doms);
    out_line(c, "decommissioned %s", s.decommissioned ? "yes" : "no");
    out_line(c, "dns publishing=%s running=%s", s.publish && !s.decommissioned ? "yes" : "no",
             h->dns_running ? "yes" : "no");
    for (size_t i = 0; i < h->n_dns; i++) {
        const kms_dns_state_t *d = &h->dns[i];

        if (d->time == 0)
            out_line(c, "dns_domain %s pending", d->domain);
        else
            out_line(c, "dns_domain %s %s %s time=%lld %s", d->domain, d->op,
                     d->status == 0 ? "ok" : "error", (long long)d->time, d->message);
    }
    for (size_t i = 0; i < h->inv.n; i++)
        product_line(c, &h->inv.items[i]);
    for (size_t i = 0; i < kms_ledger_npools(h->ledger); i++) {
        kms_guid_t g;
        uint32_t cap, cnt;
        char gs[KMS_GUID_STRLEN];

        kms_ledger_pool(h->ledger, i, &g, &cap, &cnt, now);
        out_line(c, "count %s current=%u capacity=%u", kms_guid_format(&g, gs), cnt, cap);
    }
    out_line(c,
             "stats connections_total=%llu connections_now=%llu connections_rejected=%llu "
             "activations_ok=%llu activations_failed=%llu other_encodings=%llu malformed=%llu "
             "idle_closed=%llu",
             (unsigned long long)st->connections_total, (unsigned long long)st->connections_now,
             (unsigned long long)st->connections_rejected, (unsigned long long)st->activations_ok,
             (unsigned long long)st->activations_failed, (unsigned long long)st->other_encodings,
             (unsigned long long)st->malformed, (unsigned long long)st->idle_closed);
    return 0;
}

/* ---- dispatch ---------------------------------------------------------------------- */

static int dispatch(cmd_t *c, const char *verb)
{
    static const char *json_ok[] = {"status", "dli"};
    int json_allowed = 0;

    for (size_t i = 0; i < 2; i++)
        json_allowed |= strcmp(verb, json_ok[i]) == 0;
    if (c->json && !json_allowed)
        return fail(c, KMS_EINVAL, "%s has no --json output", verb);
    if (strcmp(verb, "status") == 0)
        return verb_status(c);
    if (strcmp(verb, "dli") == 0)
        return verb_dli(c);
    if (strcmp(verb, "ipk") == 0)
        return verb_ipk(c);
    if (strcmp(verb, "upk") == 0)
        return verb_upk(c);
    if (strcmp(verb, "ato") == 0)
        return verb_ato(c);
    if (strcmp(verb, "sprt") == 0)
        return verb_sprt(c);
    if (strcmp(verb, "sai") == 0)
        return verb_interval(c, 1);
    if (strcmp(verb, "sri") == 0)
        return verb_interval(c, 0);
    if (strcmp(verb, "sdns") == 0)
        return verb_publish(c, 1);
    if (strcmp(verb, "cdns") == 0)
        return verb_publish(c, 0);
    if (strcmp(verb, "sprio") == 0)
        return verb_u16(c, 1);
    if (strcmp(verb, "sweight") == 0)
        return verb_u16(c, 0);
    if (strcmp(verb, "sdomains") == 0)
        return verb_sdomains(c);
    if (strcmp(verb, "decommission") == 0)
        return verb_decommission(c);
    return fail(c, KMS_EINVAL,
                "unknown verb '%.32s' (status, dli, ipk, upk, ato, sprt, sai, sri, "
                "sdns, cdns, sprio, sweight, sdomains, decommission)",
                verb);
}

int kms_host_command(kms_host_t *h, const char *line, kms_wr_t *reply)
{
    size_t len = strlen(line);
    char *copy = NULL, *save = NULL, *t, *tok[CMD_MAX_TOKENS + 1];
    int ntok = 0, r;
    cmd_t c;

    memset(&c, 0, sizeof c);
    c.h = h;
    kms_wr_init(&c.payload);
    if (len && line[len - 1] == '\n')
        len--;
    if (len && line[len - 1] == '\r')
        len--;
    if (len > CMD_MAX_LINE) {
        r = fail(&c, KMS_ETOOBIG, "line longer than %d bytes", CMD_MAX_LINE);
        goto done;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)line[i];

        if (ch < 0x20 || ch == 0x7f) {
            r = fail(&c, KMS_EMALFORMED, "control character in line");
            goto done;
        }
    }
    if (!(copy = strndup(line, len))) {
        r = fail(&c, KMS_ENOMEM, "out of memory");
        goto done;
    }
    for (t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (strcmp(t, "--json") == 0) {
            c.json = 1;
            continue;
        }
        if (ntok == CMD_MAX_TOKENS) {
            r = fail(&c, KMS_EINVAL, "too many arguments");
            goto done;
        }
        tok[ntok++] = t;
    }
    if (ntok == 0) {
        r = fail(&c, KMS_EINVAL, "empty command");
        goto done;
    }
    c.tok = tok + 1;
    c.ntok = ntok - 1;
    r = dispatch(&c, tok[0]);
    if (r == 0 && c.payload.err)
        r = fail(&c, KMS_ENOMEM, "out of memory");
done:
    if (r == 0) {
        char head[32];

        snprintf(head, sizeof head, "OK %u\n", c.nlines);
        kms_wr_bytes(reply, head, strlen(head));
        kms_wr_bytes(reply, c.payload.buf, c.payload.len);
    } else {
        char buf[640];
        int n = snprintf(buf, sizeof buf, "ERR %s %s\n", kms_err_name(r), c.msg);

        if (n > 0)
            kms_wr_bytes(reply, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    }
    kms_wr_free(&c.payload);
    free(copy);
    return r;
}
