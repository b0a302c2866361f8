/* SPDX-License-Identifier: MIT */
/*
 * verbs_setting.c - the setting verbs: sprt, sai, sri, sdns, cdns, sprio,
 * sweight, sdomains, decommission (command_int.h).  Each persists the
 * value in the settings file, where it wins over the configuration.
 */
#include "kms/core/command_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"

int cmd_save_overrides(kms_cmd_t *c, kms_overrides_t *next)
{
    kms_wr_t w;
    int r;

    kms_wr_init(&w);
    r = host_save(c->h, KMS_STATE_SETTINGS, &w, kms_state_format_settings(next, &w));
    if (r < 0) {
        kms_overrides_free(next);
        return cmd_fail(c, r, "cannot write %s/%s: %s", c->h->state_dir, KMS_STATE_SETTINGS,
                        kms_strerror(r));
    }
    kms_overrides_free(&c->h->ovr);
    c->h->ovr = *next;
    return 0;
}

static int set_override(kms_cmd_t *c, unsigned bit, void (*apply)(kms_overrides_t *, uint64_t),
                        uint64_t v, const char *echo)
{
    kms_overrides_t o;
    int r;

    if ((r = kms_overrides_copy(&o, &c->h->ovr)) < 0)
        return cmd_fail(c, r, "out of memory");
    apply(&o, v);
    o.set |= bit;
    if ((r = cmd_save_overrides(c, &o)) < 0)
        return r;
    cmd_line(c, "%s", echo);
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

int cmd_verb_sprt(kms_cmd_t *c)
{
    uint16_t port;
    char echo[32];

    if (c->ntok != 1)
        return cmd_usage(c);
    if (kms_port_parse(c->tok[0], &port) < 0)
        return cmd_fail(c, KMS_ERANGE, "'%.32s' is not a port (1..65535)", c->tok[0]);
    snprintf(echo, sizeof echo, "port %u", port);
    return set_override(c, KMS_OVR_PORT, ap_port, port, echo);
}

static int set_interval(kms_cmd_t *c, int act)
{
    const char *name = act ? "activation_interval" : "renewal_interval";
    uint64_t s;
    char echo[64];
    int r;

    if (c->ntok != 1)
        return cmd_usage(c);
    r = kms_duration_parse(c->tok[0], 60, &s);
    if (r == KMS_EINVAL)
        return cmd_fail(c, r, "'%.32s' is not a duration (minutes, or a number with s/m/h/d)",
                        c->tok[0]);
    if (r < 0 || s % 60 || s / 60 < 15 || s / 60 > 43200)
        return cmd_fail(c, KMS_ERANGE,
                        "'%.32s' out of range (whole minutes, 15 minutes to 30 days)", c->tok[0]);
    snprintf(echo, sizeof echo, "%s %llu", name, (unsigned long long)(s / 60));
    return set_override(c, act ? KMS_OVR_ACT_INTERVAL : KMS_OVR_REN_INTERVAL, act ? ap_act : ap_ren,
                        s / 60, echo);
}

static int set_publish(kms_cmd_t *c, int on)
{
    if (c->ntok != 0)
        return cmd_usage(c);
    if (on && c->h->ovr.decommissioned)
        return cmd_fail(c, KMS_EPERM,
                        "this host is decommissioned: kmsctl recommission brings it back "
                        "(serving and publishing)");
    return set_override(c, KMS_OVR_PUBLISH, ap_pub, (uint64_t)on,
                        on ? "publish yes" : "publish no");
}

static int set_u16(kms_cmd_t *c, int prio)
{
    uint64_t v;
    char echo[32];

    if (c->ntok != 1)
        return cmd_usage(c);
    if (kms_uint_parse(c->tok[0], 0, 65535, &v) < 0)
        return cmd_fail(c, KMS_ERANGE, "'%.32s' is not a number in 0..65535", c->tok[0]);
    snprintf(echo, sizeof echo, "%s %llu", prio ? "priority" : "weight", (unsigned long long)v);
    return set_override(c, prio ? KMS_OVR_PRIORITY : KMS_OVR_WEIGHT, prio ? ap_prio : ap_weight, v,
                        echo);
}

int cmd_verb_sdomains(kms_cmd_t *c)
{
    kms_overrides_t o;
    pub_domain_list_t d = {0};
    char *s, why[256];
    int r;

    if (c->ntok != 1) /* the rest of the line, one argument (the table's `whole`) */
        return cmd_usage(c);
    r = pub_domains_parse(c->tok[0], &d, why, sizeof why);
    if (r < 0) {
        pub_domain_list_free(&d);
        return r == KMS_ENOMEM ? cmd_fail(c, r, "out of memory")
                               : cmd_fail(c, KMS_EINVAL, "%s", why);
    }
    if ((r = kms_overrides_copy(&o, &c->h->ovr)) < 0) {
        pub_domain_list_free(&d);
        return cmd_fail(c, r, "out of memory");
    }
    pub_domain_list_free(&o.domains);
    o.domains = d;
    o.set |= KMS_OVR_DOMAINS;
    if ((r = cmd_save_overrides(c, &o)) < 0)
        return r;
    s = pub_domains_format(&c->h->ovr.domains);
    cmd_line(c, "domains %s", s ? s : "");
    free(s);
    return 0;
}

int cmd_verb_decommission(kms_cmd_t *c)
{
    kms_overrides_t o;
    int r;

    if (c->ntok != 0)
        return cmd_usage(c);
    if ((r = kms_overrides_copy(&o, &c->h->ovr)) < 0)
        return cmd_fail(c, r, "out of memory");
    o.decommissioned = 1;
    o.publish = 0;
    o.set |= KMS_OVR_PUBLISH;
    if ((r = cmd_save_overrides(c, &o)) < 0)
        return r;
    cmd_line(c, "decommissioned yes");
    cmd_line(c, "publish no");
    return 0;
}

/* Undo decommission: serve the installed products again and publish
 * (kmsd then publishes, as after sdns).  A host without a key is brought
 * back all the same and told what is missing. */
int cmd_verb_recommission(kms_cmd_t *c)
{
    kms_overrides_t o;
    size_t enabled = 0;
    int r;

    if (c->ntok != 0)
        return cmd_usage(c);
    if (!c->h->ovr.decommissioned)
        return cmd_fail(c, KMS_EINVAL, "this host is not decommissioned (sdns publishes it)");
    if ((r = kms_overrides_copy(&o, &c->h->ovr)) < 0)
        return cmd_fail(c, r, "out of memory");
    o.decommissioned = 0;
    o.publish = 1;
    o.set |= KMS_OVR_PUBLISH;
    if ((r = cmd_save_overrides(c, &o)) < 0)
        return r;
    for (size_t i = 0; i < c->h->inv.n; i++)
        enabled += c->h->inv.items[i].enabled ? 1 : 0;
    cmd_line(c, "decommissioned no");
    cmd_line(c, "publish yes");
    if (enabled == 0)
        cmd_line(c, "serving nothing yet: %s",
                 c->h->inv.n ? "run ato to serve the installed products"
                             : "no product key installed (run ipk, then ato)");
    else
        cmd_line(c, "serving %zu product%s", enabled, enabled == 1 ? "" : "s");
    return 0;
}

int cmd_verb_sai(kms_cmd_t *c)
{
    return set_interval(c, 1);
}

int cmd_verb_sri(kms_cmd_t *c)
{
    return set_interval(c, 0);
}

int cmd_verb_sdns(kms_cmd_t *c)
{
    return set_publish(c, 1);
}

int cmd_verb_cdns(kms_cmd_t *c)
{
    return set_publish(c, 0);
}

int cmd_verb_sprio(kms_cmd_t *c)
{
    return set_u16(c, 1);
}

int cmd_verb_sweight(kms_cmd_t *c)
{
    return set_u16(c, 0);
}
