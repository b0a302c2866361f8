/* SPDX-License-Identifier: MIT */
/*
 * dnspub.c - kmsd's DNS publishing: lifecycle, options and engines, the
 * refresh timer, SIGHUP, and the DNS work of the verbs (see dnspub.h and,
 * for the queue, dnspub_int.h).
 */
#include "kms/daemon/dnspub_int.h"
#include "kms/daemon/fdlimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/log.h"
#include "dns/gss.h"
#include "publisher/tlscheck.h"

const kms_pub_ops_t kms_dnspub_engine = {pub_engine_new, pub_run, pub_cancel, pub_engine_stop,
                                         pub_engine_free};

static int set_str(char **dst, const char *src)
{
    char *n = NULL;

    if (src && !(n = strdup(src)))
        return KMS_ENOMEM;
    free(*dst);
    *dst = n;
    return 0;
}

/* ---- options and engines ------------------------------------------------- */

/* The DNS-over-TLS settings of @p cfg (its strings, borrowed). */
static pub_tls_options_t tls_settings(const kms_config_t *cfg)
{
    pub_tls_options_t t;

    memset(&t, 0, sizeof t);
    t.enabled = cfg->tls;
    t.ca_file = cfg->tls_ca_file;
    t.name = cfg->tls_name;
    t.cert_file = cfg->tls_cert_file;
    t.key_file = cfg->tls_key_file;
    return t;
}

/* The [dns] tls settings checked (and their files trial-loaded) as
   kms-publish checks its --tls options, at start and on SIGHUP:
   "kmsd.conf:15: [dns] tls_ca_file: cannot read /etc/kmsd/ca.pem: ...",
   "kmsd.conf:15: [dns] tls_ca_file: TLS: cannot load the CA file ...".
   Warns when others can read the client's private key. */
static int check_tls(const kms_config_t *cfg, char *err, size_t errlen)
{
    static const kms_cfg_id_t ids[] = {
        [PUB_TLS_CA_FILE] = KMS_CFG_TLS_CA_FILE,
        [PUB_TLS_NAME] = KMS_CFG_TLS_NAME,
        [PUB_TLS_CERT_FILE] = KMS_CFG_TLS_CERT_FILE,
        [PUB_TLS_KEY_FILE] = KMS_CFG_TLS_KEY_FILE,
    };
    static const char *const keys[] = {
        [PUB_TLS_CA_FILE] = "tls_ca_file",
        [PUB_TLS_NAME] = "tls_name",
        [PUB_TLS_CERT_FILE] = "tls_cert_file",
        [PUB_TLS_KEY_FILE] = "tls_key_file",
    };
    pub_tls_options_t t = tls_settings(cfg);
    pub_tls_setting_t bad;
    unsigned mode;
    char why[KMS_CONFIG_ERRLEN];

    if (pub_tls_check(&t, &bad, &mode, why, sizeof why) < 0) {
        const char *origin = kms_config_origin(cfg, ids[bad]);
        snprintf(err, errlen, "%s%s[dns] %s: %s", origin ? origin : "", origin ? ": " : "",
                 keys[bad], t.enabled ? why : "goes with tls = yes (updates over DNS-over-TLS)");
        return KMS_ECONFIG;
    }
    if (mode & S_IROTH) { /* used all the same, like a key file */
        const char *f = t.key_file ? t.key_file : t.cert_file;
        kms_warn("TLS client key %s is readable by others (mode %04o): chmod o-r %s", f, mode, f);
    }
    return 0;
}

int kms_dnspub_check_config(const kms_config_t *cfg, char *err, size_t errlen)
{
    kms_tsig_key_t key;
    const char *origin = kms_config_origin(cfg, KMS_CFG_KEY_FILE);
    char why[KMS_CONFIG_ERRLEN], where[KMS_CONFIG_ERRLEN] = "";
    int rc;

    err[0] = '\0';
    if ((rc = check_tls(cfg, err, errlen)) < 0)
        return rc;
    if (cfg->gss_tsig) {
        /* the keytab is read at start and SIGHUP, like a key file (no KDC asked) */
        char principal[300];
        const char *kt_origin = kms_config_origin(cfg, KMS_CFG_KEYTAB);
        const char *po = kms_config_origin(cfg, KMS_CFG_PRINCIPAL);

        if (cfg->principal)
            snprintf(principal, sizeof principal, "%s", cfg->principal);
        else
            snprintf(principal, sizeof principal, "host/%s", cfg->target ? cfg->target : "");
        rc = kms_gss_keytab_check(cfg->keytab, principal, why, sizeof why);
        if (rc < 0) {
            snprintf(err, errlen, "%s%s[dns] %s: %s",
                     kt_origin ? kt_origin
                     : po      ? po
                               : "",
                     kt_origin || po ? ": " : "", cfg->keytab ? "keytab" : "gss_tsig", why);
            return KMS_ECONFIG;
        }
    }
    if (!cfg->key_file)
        return 0;
    rc = kms_keyfile_load(cfg->key_file, NULL, &key, err, errlen);
    explicit_bzero(&key, sizeof key);
    if (rc == 0)
        return 0;
    snprintf(why, sizeof why, "%s", err[0] ? err : kms_strerror(rc));
    /* Like every other bad value: "kmsd.conf:12: [dns] key_file: ..." */
    if (origin)
        snprintf(where, sizeof where, "%s: ", origin);
    if (strstr(why, cfg->key_file))
        snprintf(err, errlen, "%s[dns] key_file: %s", where, why);
    else
        snprintf(err, errlen, "%s[dns] key_file %s: %s", where, cfg->key_file, why);
    return rc;
}

/* Options of @p cfg into @p p (key loaded).  0 or error with @p err. */
static int load_options(kms_dnspub_t *p, const kms_config_t *cfg, char *err, size_t errlen)
{
    kms_tsig_key_t key;
    int rc, has_key = 0;

    memset(&key, 0, sizeof key);
    err[0] = '\0';
    if (cfg->key_file) {
        if ((rc = kms_keyfile_load(cfg->key_file, NULL, &key, err, errlen)) < 0) {
            if (!err[0])
                snprintf(err, errlen, "%s: %s", cfg->key_file, kms_strerror(rc));
            return rc;
        }
        if (key.file_mode & S_IROTH) { /* used all the same: refusing would break a setup */
            kms_warn("key file %s is readable by others (mode %04o): chmod o-r %s", cfg->key_file,
                     key.file_mode, cfg->key_file);
        }
        has_key = 1;
    }
    if (set_str(&p->target, cfg->target) < 0) {
        explicit_bzero(&key, sizeof key);
        snprintf(err, errlen, "out of memory");
        return KMS_ENOMEM;
    }
    p->server = cfg->server;
    p->ttl = cfg->ttl;
    p->refresh_s = cfg->refresh;
    p->check_s = cfg->check;
    p->verify = cfg->verify;
    p->verify_s = cfg->verify_timeout;
    p->allow_unsigned = cfg->allow_unsigned;
    p->gss = cfg->gss_tsig;
    if (set_str(&p->keytab, cfg->keytab ? cfg->keytab : "") < 0 ||
        set_str(&p->principal, cfg->principal) < 0 ||
        set_str(&p->server_principal, cfg->server_principal) < 0) {
        explicit_bzero(&key, sizeof key);
        snprintf(err, errlen, "out of memory");
        return KMS_ENOMEM;
    }
    p->tls = cfg->tls;
    if (set_str(&p->tls_ca_file, cfg->tls_ca_file) < 0 ||
        set_str(&p->tls_name, cfg->tls_name) < 0 ||
        set_str(&p->tls_cert_file, cfg->tls_cert_file) < 0 ||
        set_str(&p->tls_key_file, cfg->tls_key_file) < 0) {
        explicit_bzero(&key, sizeof key);
        snprintf(err, errlen, "out of memory");
        return KMS_ENOMEM;
    }
    /* without tls_name the certificate must match [dns] server as given,
       as kms-publish --server; without a server, the primary's name */
    p->tls_server_name[0] = '\0';
    if (p->server.ss_family)
        kms_addr_format_ip((const struct sockaddr *)&p->server, p->tls_server_name);
    p->gss_alg = PUB_GSS_AUTO; /* the configuration checked the name */
    if (cfg->gss_algorithm)
        pub_gss_alg_parse(cfg->gss_algorithm, &p->gss_alg);
    p->has_key = has_key;
    p->key = key;
    explicit_bzero(&key, sizeof key);
    p->stale = 1;
    return 0;
}

int dp_engine_options(const kms_dnspub_t *p, pub_options_t *o)
{
    pub_options_init(o);
    o->target = p->target;
    o->port = p->port;
    o->ttl = p->ttl;
    o->key = p->has_key ? &p->key : NULL;
    o->allow_unsigned = p->allow_unsigned;
    o->verify = p->verify;
    o->verify_timeout_ms = (uint64_t)p->verify_s * 1000u;
    if (p->gss) {
        o->gss.enabled = 1;
        o->gss.keytab = p->keytab ? p->keytab : ""; /* kmsd never needs kinit */
        o->gss.principal = p->principal;
        o->gss.server_principal = p->server_principal;
        o->gss.algorithm = p->gss_alg;
    }
    o->server = p->server.ss_family ? (const struct sockaddr *)&p->server : NULL;
    if (p->tls) {
        o->tls.enabled = 1;
        o->tls.ca_file = p->tls_ca_file;
        o->tls.name = p->tls_name ? p->tls_name : p->tls_server_name[0] ? p->tls_server_name : NULL;
        o->tls.cert_file = p->tls_cert_file;
        o->tls.key_file = p->tls_key_file;
        /* after an unknown-CA failure: what to do about it, in kmsd.conf's words */
        o->tls.ca_hint =
            p->tls_ca_file ? "not signed by a CA of tls_ca_file" : "set [dns] tls_ca_file";
    }
    /* a socket per exchange: kmsd keeps these descriptors for itself (fdlimit.h) */
    o->max_inflight = KMS_FD_DNS;
    return 0;
}

static void engine_stopped(pub_engine_t *e, void *ud)
{
    kms_dnspub_t *p = ud;

    p->ops->engine_free(e);
    p->engines_stopping--;
    dp_maybe_stopped(p);
}

/* Let go of *@p e: stopped (its run, if any, calls back canceled), then
 * freed from its stop callback. */
void dp_engine_discard(kms_dnspub_t *p, pub_engine_t **e)
{
    if (!*e)
        return;
    p->engines_stopping++;
    p->ops->engine_stop(*e, engine_stopped, p);
    *e = NULL;
}

int dp_build_engines(kms_dnspub_t *p)
{
    pub_options_t o;
    int rc;

    dp_engine_discard(p, &p->eng_daemon);
    dp_engine_discard(p, &p->eng_cmd);
    if ((rc = dp_engine_options(p, &o)) < 0)
        return rc;
    o.attempts = DP_DAEMON_ATTEMPTS;
    o.log_retries = 0; /* attempts at debug level: the warning is schedule_retry()'s, one a step */
    if ((rc = p->ops->engine_new(p->loop, &o, &p->eng_daemon)) < 0)
        return rc;
    o.attempts = DP_CMD_ATTEMPTS;
    o.log_retries = 0;
    if ((rc = p->ops->engine_new(p->loop, &o, &p->eng_cmd)) < 0) {
        dp_engine_discard(p, &p->eng_daemon);
        return rc;
    }
    p->stale = 0;
    return 0;
}

int dp_publishing(kms_dnspub_t *p)
{
    kms_settings_t s;

    kms_host_settings(p->host, &s);
    return s.publish && !s.decommissioned;
}

int dp_current_domains(kms_dnspub_t *p, pub_domain_list_t *out)
{
    kms_settings_t s;

    kms_host_settings(p->host, &s);
    memset(out, 0, sizeof *out);
    if (pub_domains_copy(out, s.domains) < 0)
        return KMS_ENOMEM;
    for (size_t i = 0; i < out->n; i++) {
        if (out->v[i].priority < 0) {
            out->v[i].priority = s.priority;
            out->v[i].weight = s.weight;
        }
    }
    return 0;
}

/* ---- what a publish covers ------------------------------------------------ */

/* What a publish queued now would write, into @p c (valid; free with
 * covered_free()).  0 or KMS_ENOMEM. */
static int covered_now(kms_dnspub_t *p, dp_covered_t *c)
{
    kms_settings_t s;

    kms_host_settings(p->host, &s);
    memset(c, 0, sizeof *c);
    c->valid = 1;
    snprintf(c->target, sizeof c->target, "%s", p->target ? p->target : "");
    c->server = p->server;
    c->ttl = p->ttl;
    c->port = p->port;
    c->has_key = p->has_key;
    c->allow_unsigned = p->allow_unsigned;
    c->gss = p->gss;
    if (p->gss)
        snprintf(c->key_name, sizeof c->key_name, "%s", p->principal ? p->principal : "");
    if (p->has_key) {
        snprintf(c->key_name, sizeof c->key_name, "%s", p->key.name);
        snprintf(c->key_alg, sizeof c->key_alg, "%s", p->key.algorithm);
    }
    c->priority = s.priority;
    c->weight = s.weight;
    return pub_domains_copy(&c->domains, s.domains);
}

static void covered_free(dp_covered_t *c)
{
    pub_domain_list_free(&c->domains);
    memset(c, 0, sizeof *c);
}

static int covered_equal(const dp_covered_t *a, const dp_covered_t *b)
{
    return a->valid && b->valid && strcmp(a->target, b->target) == 0 &&
           memcmp(&a->server, &b->server, sizeof a->server) == 0 && a->ttl == b->ttl &&
           a->port == b->port && a->has_key == b->has_key && a->gss == b->gss &&
           a->allow_unsigned == b->allow_unsigned && strcmp(a->key_name, b->key_name) == 0 &&
           strcmp(a->key_alg, b->key_alg) == 0 && a->priority == b->priority &&
           a->weight == b->weight && pub_domains_equal(&a->domains, &b->domains);
}

/* ---- queueing work --------------------------------------------------------- */

/*
 * A job of @p op over the current domains, after the removals of older
 * records it must not overtake.  0 with *@p out, 1 when there is no domain
 * (nothing queued but those removals), or KMS_ENOMEM.
 */
static int job_for_current(kms_dnspub_t *p, pub_op_t op, int daemon, job_t **out)
{
    job_t *j;

    *out = NULL;
    /* Allocate first: a job that cannot be made supersedes nothing. */
    if (!(j = dp_job_new(op, daemon)) || dp_current_domains(p, &j->doms) < 0) {
        dp_job_free(j);
        return KMS_ENOMEM;
    }
    /* The daemon jobs waiting are superseded; the removals among them are
     * queued again, before this job, from the published file. */
    dp_drop_daemon_jobs(p);
    dp_queue_removals(p, daemon);
    if (j->doms.n == 0) {
        dp_job_free(j);
        dp_kick(p); /* the removals */
        return 1;
    }
    *out = j;
    return 0;
}

/*
 * Queue a publish of the current settings (a daemon's, or a verb's with
 * its result @p res to add to, then @p done).  Returns 1 if a job was
 * queued (done will be called), 0 if there was nothing to do, or KMS_ENOMEM
 * (nothing queued).
 */
static int queue_publish(kms_dnspub_t *p, int daemon, kms_cmd_result_t *res,
                         kms_dnspub_done_fn done, void *ud)
{
    job_t *j;
    int rc;

    if ((rc = job_for_current(p, PUB_PUBLISH, daemon, &j)) != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < j->doms.n; i++) {
        kms_dns_state_t *s = dp_status_row(p, j->doms.v[i].name);

        if (s && s->time == 0)
            s->op[0] = '\0';
    }
    j->res = res;
    j->done = done;
    j->done_ud = ud;
    covered_free(&p->covered);
    if (covered_now(p, &p->covered) < 0)
        covered_free(&p->covered); /* not known: the next reload publishes again */
    dp_enqueue(p, j);
    return 1;
}

/* Queue the removal of our records in every current domain (cdns,
 * decommission); as queue_publish(). */
static int queue_unpublish(kms_dnspub_t *p, kms_cmd_result_t *res, kms_dnspub_done_fn done,
                           void *ud)
{
    job_t *j;
    int rc;

    if ((rc = job_for_current(p, PUB_UNPUBLISH, 0, &j)) != 0)
        return rc < 0 ? rc : 0;
    for (size_t i = 0; i < j->doms.n; i++)
        j->doms.v[i].priority = j->doms.v[i].weight = -1;
    j->res = res;
    j->done = done;
    j->done_ud = ud;
    covered_free(&p->covered);
    /* An in-flight publish of any kind is superseded. */
    if (p->active && p->active->op == PUB_PUBLISH)
        p->ops->cancel(p->active->eng);
    dp_enqueue(p, j);
    return 1;
}

int kms_dnspub_command(kms_dnspub_t *p, kms_cmd_result_t *res, kms_dnspub_done_fn fn, void *ud)
{
    int rc;

    if (!p || !p->started || p->stopping || res->status < 0 || !res->verb)
        return 0;
    switch (res->verb->dns) {
    case KMS_VERB_DNS_PUBLISH:
        if (!dp_publishing(p))
            return 0;
        rc = queue_publish(p, 0, res, fn, ud);
        break;
    case KMS_VERB_DNS_UNPUBLISH:
        /* Without a key (and unsigned updates not allowed) nothing can have
         * been published by this host: nothing to remove. */
        if (!p->has_key && !p->gss && !p->allow_unsigned)
            return 0;
        rc = queue_unpublish(p, res, fn, ud);
        break;
    default:
        return 0;
    }
    if (rc == KMS_ENOMEM) {
        kms_cmd_result_fail(res, KMS_ENOMEM,
                            "out of memory: the DNS work of %s was not started (the setting "
                            "is saved)",
                            res->verb->name);
        return 0;
    }
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

int kms_dnspub_new(uv_loop_t *loop, kms_host_t *host, const kms_config_t *cfg, uint16_t port,
                   const kms_pub_ops_t *ops, kms_dnspub_t **out, char *err, size_t errlen)
{
    kms_dnspub_t *p = calloc(1, sizeof *p);
    int rc;

    *out = NULL;
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return KMS_ENOMEM;
    }
    p->loop = loop;
    p->host = host;
    p->ops = ops ? ops : &kms_dnspub_engine;
    p->port = port ? port : 1688;
    if (!(p->state_dir = strdup(cfg->state_dir))) {
        snprintf(err, errlen, "out of memory");
        rc = KMS_ENOMEM;
        goto fail;
    }
    /* a corrupt file stops kmsd, as the host's other state files do */
    if ((rc = kms_state_load_published(p->state_dir, &p->pubd, err, errlen)) < 0)
        goto fail;
    if ((rc = load_options(p, cfg, err, errlen)) < 0)
        goto fail;
    *out = p;
    return 0;

fail:
    kms_dnspub_free(p);
    return rc;
}

/*
 * The refresh and the check run the same publish: the records are read at
 * the primary and an UPDATE goes out only for a domain whose record is
 * missing or not as wanted (the publisher's "unchanged"), so a check that
 * finds everything in place costs a query or two per domain and is logged
 * at debug level only.  The check repairs a deleted record within minutes
 * instead of at the next refresh.
 */
static void periodic_cb(uv_timer_t *t)
{
    kms_dnspub_t *p = t->data;
    const char *what = t == &p->check ? "check" : "refresh";

    if (p->stopping || !dp_publishing(p))
        return;
    if (p->active || p->queue) {
        kms_debug("dns: %s skipped: a run is active", what);
        return;
    }
    kms_debug("dns: %s", what);
    if (queue_publish(p, 1, NULL, NULL, NULL) == KMS_ENOMEM)
        kms_error("dns: %s: out of memory", what);
}

/* (Re)start the refresh and/or the check timer: a reload that changes one
 * period does not push the other's next tick back. */
static void start_periodic(kms_dnspub_t *p, int refresh, int check)
{
    uint64_t ms = p->refresh_s * 1000u;

    if (refresh)
        uv_timer_start(&p->refresh, periodic_cb, ms, ms);
    ms = p->check_s * 1000u;
    if (check && ms && p->check_s < p->refresh_s)
        uv_timer_start(&p->check, periodic_cb, ms, ms);
    else if (check)
        uv_timer_stop(&p->check);
}

void kms_dnspub_start(kms_dnspub_t *p)
{
    kms_settings_t s;
    uv_timer_t *timers[4] = {&p->refresh, &p->check, &p->kick, &p->retry};

    for (size_t i = 0; i < 4; i++) {
        uv_timer_init(p->loop, timers[i]);
        timers[i]->data = p;
        p->open_handles++;
    }
    p->started = 1;
    kms_host_settings(p->host, &s);
    /* pending rows for the domains about to be published */
    for (size_t i = 0; i < s.domains->n && dp_publishing(p); i++)
        dp_status_row(p, s.domains->v[i].name);
    dp_status_push(p);
    if (dp_publishing(p) && p->target) {
        const char *dot = strchr(p->target, '.');

        if (!dot || !dot[1])
            kms_warn("dns: the SRV target '%s' has no domain (this host's FQDN is not known): "
                     "clients cannot resolve it; set [dns] target",
                     p->target);
    }
    if (!dp_publishing(p))
        kms_info("dns: publishing is off%s", s.decommissioned ? " (decommissioned)" : "");
    else if (queue_publish(p, 1, NULL, NULL, NULL) == KMS_ENOMEM)
        kms_error("dns: cannot publish: out of memory");
    start_periodic(p, 1, 1);
}

int kms_dnspub_reconfigure(kms_dnspub_t *p, const kms_config_t *cfg, char *err, size_t errlen)
{
    uint64_t old_refresh = p->refresh_s, old_check = p->check_s;
    dp_covered_t now;
    int rc, same;

    if ((rc = load_options(p, cfg, err, errlen)) < 0)
        return rc;
    if (p->started) /* the check is off or on by its relation to the refresh too */
        start_periodic(p, p->refresh_s != old_refresh,
                       p->check_s != old_check || p->refresh_s != old_refresh);
    if (!p->started || !dp_publishing(p))
        return 0;
    same = covered_now(p, &now) == 0 && covered_equal(&now, &p->covered);
    covered_free(&now);
    if (same)
        return 0;
    kms_info("dns: settings changed: publishing again");
    dp_supersede_active(p);
    if (queue_publish(p, 1, NULL, NULL, NULL) == KMS_ENOMEM)
        kms_error("dns: cannot publish: out of memory");
    return 0;
}

/* Stopped once every timer is closed, no run's callback is to come, every
 * engine has stopped and the published file is written. */
void dp_maybe_stopped(kms_dnspub_t *p)
{
    kms_dnspub_stopped_fn cb = p->stop_cb;

    if (!p->stopping || p->open_handles || p->active || p->engines_stopping || p->pubd_writing ||
        !cb)
        return;
    p->stop_cb = NULL;
    cb(p, p->stop_ud);
}

static void timer_closed(uv_handle_t *h)
{
    kms_dnspub_t *p = h->data;

    /* the verbs that were still waiting: told now, from the loop */
    while (p->answering) {
        job_t *j = p->answering;

        p->answering = j->next;
        dp_job_answer(j, NULL, 0, KMS_ECANCELED, "kmsd is stopping");
        dp_job_free(j);
    }
    p->open_handles--;
    dp_maybe_stopped(p);
}

static void stopped_nop(kms_dnspub_t *p, void *ud)
{
    (void)p;
    (void)ud;
}

void kms_dnspub_stop(kms_dnspub_t *p, kms_dnspub_stopped_fn cb, void *ud)
{
    if (!p || p->stopping)
        return;
    p->stopping = 1;
    p->stop_cb = cb ? cb : stopped_nop;
    p->stop_ud = ud;
    /* Queued jobs never run; the verbs waiting are told so (timer_closed). */
    dp_drop_daemon_jobs(p);
    p->answering = p->queue;
    p->queue = NULL;
    /* The active run's callback runs from the loop (canceled) and answers. */
    dp_engine_discard(p, &p->eng_daemon);
    dp_engine_discard(p, &p->eng_cmd);
    dp_engine_discard(p, &p->eng_old);
    if (p->started) {
        uv_timer_stop(&p->refresh);
        uv_close((uv_handle_t *)&p->refresh, timer_closed);
        uv_timer_stop(&p->check);
        uv_close((uv_handle_t *)&p->check, timer_closed);
        uv_close((uv_handle_t *)&p->kick, timer_closed);
        uv_close((uv_handle_t *)&p->retry, timer_closed);
    } else {
        /* never started: nothing to close; still called back from the loop */
        uv_timer_init(p->loop, &p->kick);
        p->kick.data = p;
        p->open_handles = 1;
        uv_close((uv_handle_t *)&p->kick, timer_closed);
    }
}

void kms_dnspub_free(kms_dnspub_t *p)
{
    if (!p)
        return;
    covered_free(&p->covered);
    kms_published_free(&p->pubd);
    free(p->state_dir);
    free(p->st);
    free(p->target);
    free(p->keytab);
    free(p->principal);
    free(p->server_principal);
    free(p->tls_ca_file);
    free(p->tls_name);
    free(p->tls_cert_file);
    free(p->tls_key_file);
    explicit_bzero(&p->key, sizeof p->key);
    free(p);
}
