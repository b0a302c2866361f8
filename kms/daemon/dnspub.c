/*
 * dnspub.c - kmsd's use of the DNS publisher (see dnspub.h).
 *
 * One queue of jobs, one job running at a time.  A job is one engine run
 * (publish or unpublish of a domain list); the daemon engine serves
 * start-up, refresh and retry jobs, the command engine control verbs.  Both
 * give up on an exchange after a few attempts, so a run always ends and
 * every domain's status is current even while one zone's server is down;
 * the domains that failed for a reason that may pass are then retried as a
 * new daemon job, with a backoff that grows per step (one log line a step)
 * until they get through.  Engines are rebuilt, between jobs, after a
 * reload changed their options.
 */
#include "kms/daemon/dnspub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/addr.h"
#include "base/backoff.h"
#include "base/err.h"
#include "base/log.h"
#include "base/wire.h"
#include "dns/keyfile.h"
#include "kms/core/state.h"
#include "publisher/publisher.h"

#define CMD_ATTEMPTS    3     /* per exchange, for a verb's run */
#define DAEMON_ATTEMPTS 4     /* per exchange, for a daemon run (then the job is retried) */
#define RETRY_FIRST_MS  1000  /* first retry of a failed job's domains */
#define RETRY_MAX_MS    60000 /* the backoff between retries stops growing here */
#define LOG_DOMAINS     3     /* per-domain failure lines logged per run (then a count) */

typedef struct job job_t;

struct job {
    pub_op_t op;
    int daemon;        /* daemon engine (start, refresh, reload) */
    int strict;        /* a DNS failure makes the reply an ERR (cdns, decommission) */
    char *target;      /* unpublish of an older record: its target (owned), else NULL */
    uint16_t port;     /* and its port */
    pub_engine_t *eng; /* the engine running it */
    char *ran_target;  /* the target it ran with (owned; set when it starts) */
    uint16_t ran_port;
    pub_domain_t *doms; /* names owned */
    size_t n;
    char *head; /* the host's reply; NULL: no reply wanted */
    kms_dnspub_reply_fn fn;
    void *ud;
    job_t *next;
};

struct kms_dnspub {
    uv_loop_t *loop;
    kms_host_t *host;
    uint16_t port;
    /* options from the configuration */
    char *target;
    struct sockaddr_storage server; /* ss_family 0: none */
    uint32_t ttl;
    uint64_t refresh_s;
    int allow_unsigned, has_key;
    kms_tsig_key_t key;
    int stale; /* engines must be rebuilt from the options above */
    pub_engine_t *eng_daemon, *eng_cmd;
    pub_engine_t *eng_old; /* for a job removing an older record (its own target or port) */
    job_t *active, *queue;
    uv_timer_t timer;
    uv_timer_t kick;  /* runs the next job from the loop, outside the engine's callback */
    uv_timer_t retry; /* queues the delayed jobs */
    job_t *delayed;   /* retries waiting for the retry timer */
    unsigned retry_step;
    int stopping, started, closed_handles;
    char last_fp[4096]; /* what the last publish run covered (settings fingerprint) */
    char *state_dir;
    kms_published_t pubd; /* records published and not removed (state file "published") */
    kms_dns_state_t *st;  /* status table */
    size_t n_st;
};

static void job_free(job_t *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++)
        free(j->doms[i].name);
    free(j->doms);
    free(j->head);
    free(j->target);
    free(j->ran_target);
    free(j);
}

static int set_str(char **dst, const char *src)
{
    char *n = NULL;

    if (src && !(n = strdup(src)))
        return KMS_ENOMEM;
    free(*dst);
    *dst = n;
    return 0;
}

int kms_dnspub_check_config(const kms_config_t *cfg, char *err, size_t errlen)
{
    kms_tsig_key_t key;
    int rc;

    err[0] = '\0';
    if (!cfg->key_file)
        return 0;
    rc = kms_keyfile_load(cfg->key_file, NULL, &key, err, errlen);
    memset(&key, 0, sizeof key);
    if (rc < 0) {
        char why[KMS_CONFIG_ERRLEN];

        char where[KMS_CONFIG_ERRLEN] = "";

        snprintf(why, sizeof why, "%s", err[0] ? err : kms_strerror(rc));
        /* Like every other bad value: "kmsd.conf:12: [dns] key_file: ..." */
        if (kms_config_origin(cfg, KMS_CFG_KEY_FILE))
            snprintf(where, sizeof where, "%s: ", kms_config_origin(cfg, KMS_CFG_KEY_FILE));
        if (strstr(why, cfg->key_file))
            snprintf(err, errlen, "%s[dns] key_file: %s", where, why);
        else
            snprintf(err, errlen, "%s[dns] key_file %s: %s", where, cfg->key_file, why);
    }
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
        has_key = 1;
    }
    if (set_str(&p->target, cfg->target) < 0) {
        snprintf(err, errlen, "out of memory");
        return KMS_ENOMEM;
    }
    p->server = cfg->server;
    p->ttl = cfg->ttl;
    p->refresh_s = cfg->refresh;
    p->allow_unsigned = cfg->allow_unsigned;
    p->has_key = has_key;
    p->key = key;
    memset(&key, 0, sizeof key);
    p->stale = 1;
    return 0;
}

/* Engine options from the configuration (@p ss holds the server). */
static int engine_options(const kms_dnspub_t *p, pub_options_t *o, struct sockaddr_storage *ss)
{
    pub_options_init(o);
    o->target = p->target;
    o->port = p->port;
    o->ttl = p->ttl;
    o->key = p->has_key ? &p->key : NULL;
    o->allow_unsigned = p->allow_unsigned;
    if (p->server.ss_family) {
        *ss = p->server;
        o->server = (struct sockaddr *)ss;
    }
    return 0;
}

/* Build both engines from the options.  0 or KMS_E* (logged). */
static int build_engines(kms_dnspub_t *p)
{
    pub_options_t o;
    struct sockaddr_storage ss;
    int rc;

    pub_engine_free(p->eng_daemon);
    pub_engine_free(p->eng_cmd);
    p->eng_daemon = p->eng_cmd = NULL;
    if ((rc = engine_options(p, &o, &ss)) < 0)
        return rc;
    o.attempts = DAEMON_ATTEMPTS;
    o.log_retries = 1; /* each attempt's failure, once; a run's failure by schedule_retry() */
    if ((rc = pub_engine_new(p->loop, &o, &p->eng_daemon)) < 0)
        return rc;
    o.attempts = CMD_ATTEMPTS;
    o.log_retries = 0;
    if ((rc = pub_engine_new(p->loop, &o, &p->eng_cmd)) < 0) {
        pub_engine_free(p->eng_daemon);
        p->eng_daemon = NULL;
        return rc;
    }
    p->stale = 0;
    return 0;
}

/* ---- status table -------------------------------------------------------- */

static kms_dns_state_t *st_find(kms_dnspub_t *p, const char *domain)
{
    char d[KMS_DNS_NAMELEN];

    kms_dname_shown(domain, d, sizeof d);
    for (size_t i = 0; i < p->n_st; i++)
        if (strcmp(p->st[i].domain, d) == 0)
            return &p->st[i];
    {
        kms_dns_state_t *nt = realloc(p->st, (p->n_st + 1) * sizeof *nt);

        if (!nt)
            return NULL;
        p->st = nt;
        memset(&nt[p->n_st], 0, sizeof *nt);
        snprintf(nt[p->n_st].domain, sizeof nt[p->n_st].domain, "%s", d);
        return &nt[p->n_st++];
    }
}

static void st_push(kms_dnspub_t *p)
{
    if (kms_host_set_dns(p->host, p->st, p->n_st, p->active != NULL || p->delayed != NULL) < 0)
        kms_warn("dns: out of memory updating the status table");
}

/* ---- jobs ------------------------------------------------------------------ */

/* The effective domain list as engine domains (names copied), each with
 * its priority and weight.  0 or KMS_ENOMEM. */
static int current_domains(kms_dnspub_t *p, pub_domain_t **out, size_t *n)
{
    kms_settings_t s;
    pub_domain_list_t l = {0};

    kms_host_settings(p->host, &s);
    *out = NULL;
    *n = 0;
    if (pub_domains_copy(&l, s.domains) < 0)
        return KMS_ENOMEM;
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].priority < 0) {
            l.v[i].priority = s.priority;
            l.v[i].weight = s.weight;
        }
    }
    *out = l.v;
    *n = l.n;
    return 0;
}

/* Fingerprint of what a publish would write: options and domain data. */
static void fingerprint(kms_dnspub_t *p, char *buf, size_t len)
{
    kms_settings_t s;
    size_t off;

    kms_host_settings(p->host, &s);
    char srv[KMS_ADDRSTRLEN] = "";

    if (p->server.ss_family)
        kms_addr_format((const struct sockaddr *)&p->server, srv);
    off = (size_t)snprintf(buf, len, "%s|%s|%u|%u|%d|%d|%u|%u|%u", p->target ? p->target : "", srv,
                           p->ttl, p->port, p->has_key, p->allow_unsigned, s.priority, s.weight,
                           (unsigned)s.domains->n);
    for (size_t i = 0; i < s.domains->n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "|%s %d %d", s.domains->v[i].name,
                                s.domains->v[i].priority, s.domains->v[i].weight);
    if (p->has_key)
        snprintf(buf + (off < len ? off : len - 1), len - (off < len ? off : len - 1), "|%s|%s",
                 p->key.name, p->key.algorithm);
}

static void run_next(kms_dnspub_t *p);

/* "kms.test." -> "kms.test" into @p buf (KMS_DNS_NAMELEN bytes). */
static const char *disp(const char *d, char *buf)
{
    return kms_dname_shown(d, buf, KMS_DNS_NAMELEN);
}
static void maybe_free(kms_dnspub_t *p);

static void reply_text(job_t *j, const pub_result_t *r, size_t n, int status, const char *why)
{
    kms_wr_t w;
    unsigned lines = 0;
    const char *body = "";
    char head[32], line[1024], dn[256];
    int fail_idx = -1;

    if (!j->fn)
        return;
    for (size_t i = 0; i < n; i++)
        if (r[i].status < 0 && fail_idx < 0)
            fail_idx = (int)i;
    if (j->strict && (fail_idx >= 0 || status < 0)) {
        if (fail_idx >= 0)
            snprintf(line, sizeof line, "ERR %s dns %s: %s", kms_err_name(r[fail_idx].status),
                     disp(r[fail_idx].domain, dn), r[fail_idx].message);
        else
            snprintf(line, sizeof line, "ERR %s dns: %s", kms_err_name(status),
                     why ? why : kms_strerror(status));
        j->fn(j->ud, line);
        return;
    }
    kms_wr_init(&w);
    if (j->head && strncmp(j->head, "OK ", 3) == 0) {
        lines = (unsigned)strtoul(j->head + 3, NULL, 10);
        body = strchr(j->head, '\n');
        body = body ? body + 1 : "";
    }
    lines += (unsigned)n;
    if (status < 0 && n == 0)
        lines++;
    snprintf(head, sizeof head, "OK %u\n", lines);
    kms_wr_bytes(&w, head, strlen(head));
    kms_wr_bytes(&w, body, strlen(body));
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(line, sizeof line, "dns %s %s %s\n", disp(r[i].domain, dn),
                         r[i].status == 0 ? "ok" : "error", r[i].message);

        kms_wr_bytes(&w, line, k > 0 && (size_t)k < sizeof line ? (size_t)k : sizeof line - 1);
    }
    if (status < 0 && n == 0) {
        int k = snprintf(line, sizeof line, "dns - error %s\n", why ? why : kms_strerror(status));

        kms_wr_bytes(&w, line, (size_t)k < sizeof line ? (size_t)k : sizeof line - 1);
    }
    kms_wr_u8(&w, '\0');
    j->fn(j->ud, w.err ? "ERR KMS_ENOMEM out of memory" : (const char *)w.buf);
    kms_wr_free(&w);
}

static job_t *job_new(pub_op_t op, int daemon, pub_domain_t *doms, size_t n);

/* Append @p j to the job list @p head (the queue, or the retries waiting). */
static void list_append(job_t **head, job_t *j)
{
    while (*head)
        head = &(*head)->next;
    *head = j;
}

static void retry_cb(uv_timer_t *t);
static int publishing(kms_dnspub_t *p);
static void queue_removals(kms_dnspub_t *p, int daemon);
static int listed(kms_dnspub_t *p, const char *domain);
static void track_published(kms_dnspub_t *p, const job_t *j, const pub_result_t *r, size_t n);

/* After a run: the domains that failed for a reason that may pass (no
 * answer, refused connection, SERVFAIL) are retried as a daemon job once
 * the backoff of this step has passed, whether the run was a daemon's or a
 * verb's (whose reply has gone: nothing asked for is dropped).  Definitive
 * answers (REFUSED, NOTAUTH, TSIG errors) are not retried.  Logs the step:
 * one line, whatever the number of domains.  A verb supersedes waiting
 * retries as it supersedes queued daemon jobs. */
static void schedule_retry(kms_dnspub_t *p, const job_t *j, const pub_result_t *r, size_t n)
{
    pub_domain_t *d = NULL;
    size_t k = 0, first = 0;
    job_t *nj;
    uint64_t delay;
    char dn[256];

    for (size_t i = 0; i < n; i++) {
        if (!pub_status_retriable(r[i].status))
            continue;
        if (!d && !(d = calloc(n, sizeof *d)))
            return;
        for (size_t m = 0; m < j->n; m++) {
            if (!kms_dname_eq(j->doms[m].name, r[i].domain))
                continue;
            if (k == 0)
                first = i;
            d[k] = j->doms[m];
            if ((d[k].name = strdup(j->doms[m].name)) != NULL)
                k++;
            break;
        }
    }
    if (k == 0) {
        free(d);
        if (j->daemon)
            p->retry_step = 0; /* everything got through: the next failure starts over */
        return;
    }
    if (!(nj = job_new(j->op, 1, d, k))) {
        for (size_t i = 0; i < k; i++)
            free(d[i].name);
        free(d);
        return;
    }
    if (j->target && !(nj->target = strdup(j->target))) {
        job_free(nj);
        return;
    }
    nj->port = j->port;
    list_append(&p->delayed, nj);
    if (uv_is_active((uv_handle_t *)&p->retry))
        return; /* joins the retry already waiting */
    delay = kms_backoff(RETRY_FIRST_MS, RETRY_MAX_MS, p->retry_step);
    if (p->retry_step < 32)
        p->retry_step++;
    if (k == 1)
        kms_warn("dns: %s of %s did not get through (%s); retrying in the background in %.1f s",
                 pub_op_name(j->op), disp(r[first].domain, dn), r[first].message,
                 (double)delay / 1000.0);
    else
        kms_warn("dns: %s of %zu domains did not get through (%s: %s; ...); retrying in the "
                 "background in %.1f s",
                 pub_op_name(j->op), k, disp(r[first].domain, dn), r[first].message,
                 (double)delay / 1000.0);
    uv_timer_start(&p->retry, retry_cb, delay, 0);
}

/* Drop the daemon jobs waiting, queued or for the retry timer: a verb's
 * run or a new full publish supersedes them (the publish covers the current
 * domains, and queue_removals() queues the removals again from the
 * published file). */
static void drop_daemon_jobs(kms_dnspub_t *p)
{
    job_t **lists[2] = {&p->queue, &p->delayed};

    for (size_t l = 0; l < 2; l++) {
        for (job_t **pp = lists[l]; *pp;) {
            job_t *q = *pp;

            if (q->daemon) {
                *pp = q->next;
                job_free(q);
                continue;
            }
            pp = &q->next;
        }
    }
    if (!p->delayed)
        uv_timer_stop(&p->retry);
}

static void kick_cb(uv_timer_t *t)
{
    run_next(t->data);
}

static void run_done(const pub_result_t *r, size_t n, const pub_stats_t *stats, void *ud)
{
    kms_dnspub_t *p = ud;
    job_t *j = p->active;
    char dn[256];
    size_t logged = 0, unlogged = 0;

    (void)stats;
    p->active = NULL;
    for (size_t i = 0; i < n; i++) {
        /* A listed domain's row tells of its current record, not of the
         * removal of an older one (logged all the same). */
        kms_dns_state_t *d = j->target && listed(p, r[i].domain) ? NULL : st_find(p, r[i].domain);

        if (r[i].status == 0)
            kms_info("dns: %s: %s", disp(r[i].domain, dn), r[i].message);
        else if (r[i].status == KMS_ECANCELED)
            kms_debug("dns: %s: %s canceled", disp(r[i].domain, dn), pub_op_name(j->op));
        else if (pub_status_retriable(r[i].status))
            ; /* logged once for the step by schedule_retry() */
        else if (logged++ < LOG_DOMAINS)
            kms_error("dns: %s: %s failed: %s", disp(r[i].domain, dn), pub_op_name(j->op),
                      r[i].message);
        else
            unlogged++;
        if (!d || r[i].status == KMS_ECANCELED)
            continue;
        snprintf(d->op, sizeof d->op, "%s", pub_op_name(j->op));
        d->status = r[i].status;
        d->time = r[i].time ? r[i].time : (int64_t)time(NULL);
        snprintf(d->message, sizeof d->message, "%s", r[i].message);
    }
    if (unlogged)
        kms_error("dns: %s failed for %zu more domain(s) (kmsctl status lists each)",
                  pub_op_name(j->op), unlogged);
    track_published(p, j, r, n);
    reply_text(j, r, n, 0, NULL);
    if (!p->stopping)
        schedule_retry(p, j, r, n);
    job_free(j);
    if (p->stopping) {
        maybe_free(p);
        return;
    }
    st_push(p);
    /* The engine still counts its run as active during this callback. */
    uv_timer_start(&p->kick, kick_cb, 0, 0);
}

/* The engine for a job removing an older record: the configured options
 * with that record's target and port (rebuilt per such job; never called
 * while an engine is in its callback). */
static int old_engine(kms_dnspub_t *p, const job_t *j, pub_engine_t **e)
{
    pub_options_t o;
    struct sockaddr_storage ss;
    int rc;

    pub_engine_free(p->eng_old);
    p->eng_old = NULL;
    if ((rc = engine_options(p, &o, &ss)) < 0)
        return rc;
    o.target = j->target;
    o.port = j->port;
    o.attempts = j->daemon ? DAEMON_ATTEMPTS : CMD_ATTEMPTS;
    o.log_retries = j->daemon;
    if ((rc = pub_engine_new(p->loop, &o, &p->eng_old)) < 0)
        return rc;
    *e = p->eng_old;
    return 0;
}

/* Start queued jobs until one runs (or none is left). */
static void run_next(kms_dnspub_t *p)
{
    while (!p->active && p->queue && !p->stopping) {
        job_t *j = p->queue;
        pub_engine_t *e;
        const char *why = NULL;
        int rc = 0;

        p->queue = j->next;
        j->next = NULL;
        if (j->daemon && j->op == PUB_PUBLISH && !publishing(p)) {
            /* publishing was turned off (reload, verb) since it was queued */
            job_free(j);
            continue;
        }
        if (p->stale)
            rc = build_engines(p);
        e = j->daemon ? p->eng_daemon : p->eng_cmd;
        if (rc == 0 && j->target)
            rc = old_engine(p, j, &e);
        /* what the run publishes or removes, whatever a reload changes meanwhile */
        free(j->ran_target);
        j->ran_target = NULL;
        j->ran_port = j->target ? j->port : p->port;
        if (rc == 0 && (j->target || p->target) &&
            !(j->ran_target = strdup(j->target ? j->target : p->target)))
            rc = KMS_ENOMEM;
        if (rc == 0)
            rc = pub_run(e, j->op, j->doms, j->n, run_done, p);
        if (rc == 0) {
            j->eng = e;
            p->active = j;
            st_push(p);
            return;
        }
        if (rc == KMS_EINVAL && !p->has_key && !p->allow_unsigned)
            why = "no TSIG key ([dns] key_file, or allow_unsigned = yes)";
        else if (rc == KMS_EADDR)
            why = "no DNS server ([dns] server, or a nameserver in /etc/resolv.conf)";
        if (why)
            kms_error("dns: cannot %s: %s", pub_op_name(j->op), why);
        else
            kms_error("dns: cannot %s: %s", pub_op_name(j->op), kms_strerror(rc));
        for (size_t i = 0; i < j->n; i++) {
            kms_dns_state_t *d = st_find(p, j->doms[i].name);

            if (!d)
                continue;
            snprintf(d->op, sizeof d->op, "%s", pub_op_name(j->op));
            d->status = rc;
            d->time = (int64_t)time(NULL);
            snprintf(d->message, sizeof d->message, "%s", why ? why : kms_strerror(rc));
        }
        reply_text(j, NULL, 0, rc, why);
        job_free(j);
        st_push(p);
    }
}

static void queue_append(kms_dnspub_t *p, job_t *j)
{
    list_append(&p->queue, j);
}

/* The retry step's time has come: its jobs join the queue. */
static void retry_cb(uv_timer_t *t)
{
    kms_dnspub_t *p = t->data;

    while (p->delayed) {
        job_t *j = p->delayed;

        p->delayed = j->next;
        j->next = NULL;
        queue_append(p, j);
    }
    run_next(p);
}

/* Queue a job; a command job supersedes the daemon jobs waiting and
 * cancels a daemon run in flight. */
static void enqueue(kms_dnspub_t *p, job_t *j)
{
    if (!j->daemon)
        drop_daemon_jobs(p);
    queue_append(p, j);
    if (!j->daemon) {
        if (p->active && p->active->daemon)
            pub_cancel(p->active->eng);
    }
    run_next(p);
}

static job_t *job_new(pub_op_t op, int daemon, pub_domain_t *doms, size_t n)
{
    job_t *j = calloc(1, sizeof *j);

    if (!j)
        return NULL;
    j->op = op;
    j->daemon = daemon;
    j->doms = doms;
    j->n = n;
    return j;
}

/* 1 if @p domain is in the current publish list. */
static int listed(kms_dnspub_t *p, const char *domain)
{
    kms_settings_t s;

    kms_host_settings(p->host, &s);
    return pub_domains_find(s.domains, domain) >= 0;
}

/* 1 if an unpublish of @p domain at (@p target, @p port) is running,
 * queued or waiting for a retry. */
static int removal_pending(const kms_dnspub_t *p, const kms_published_rec_t *a)
{
    const job_t *lists[3] = {p->active, p->queue, p->delayed};

    for (size_t l = 0; l < 3; l++) {
        for (const job_t *j = lists[l]; j; j = l ? j->next : NULL) {
            if (j->op != PUB_UNPUBLISH || !j->target || j->port != a->port ||
                !kms_dname_eq(j->target, a->target))
                continue;
            for (size_t k = 0; k < j->n; k++)
                if (kms_dname_eq(j->doms[k].name, a->domain))
                    return 1;
        }
    }
    return 0;
}

/* Queue, before anything else this call queues, the removal of every
 * record this host published that the current settings no longer make:
 * its domain left the list, or the target or the port changed.  One job
 * per (target, port), running with an engine of its own; a record leaves
 * the published file when its removal got through. */
static void queue_removals(kms_dnspub_t *p, int daemon)
{
    char *done = p->pubd.n ? calloc(p->pubd.n, 1) : NULL;

    if (!done)
        return;
    /* Left alone: what this host still makes (the publish replaces it) and
     * what a removal already running, queued or waiting covers. */
    for (size_t i = 0; i < p->pubd.n; i++) {
        const kms_published_rec_t *a = &p->pubd.recs[i];
        int current = p->target && kms_dname_eq(a->target, p->target) && a->port == p->port;

        done[i] = (current && listed(p, a->domain)) || removal_pending(p, a);
    }
    for (size_t i = 0; i < p->pubd.n; i++) {
        const kms_published_rec_t *a = &p->pubd.recs[i];
        pub_domain_t *d;
        size_t n = 0;
        job_t *j = NULL;

        if (done[i] || !(d = calloc(p->pubd.n - i, sizeof *d)))
            continue;
        for (size_t m = i; m < p->pubd.n; m++) {
            const kms_published_rec_t *b = &p->pubd.recs[m];

            if (done[m] || b->port != a->port || !kms_dname_eq(b->target, a->target))
                continue;
            done[m] = 1;
            d[n].priority = d[n].weight = -1;
            if ((d[n].name = strdup(b->domain)) != NULL)
                n++;
        }
        if (n == 0 || !(j = job_new(PUB_UNPUBLISH, daemon, d, n)) ||
            !(j->target = strdup(a->target))) {
            if (j) {
                job_free(j); /* owns d and its names */
            } else {
                for (size_t k = 0; k < n; k++)
                    free(d[k].name);
                free(d);
            }
            continue;
        }
        j->port = a->port;
        kms_info("dns: removing %zu older record(s) of %s port %u", n, j->target, j->port);
        queue_append(p, j);
    }
    free(done);
}

/* Keep the published file in step with a run's results. */
static void track_published(kms_dnspub_t *p, const job_t *j, const pub_result_t *r, size_t n)
{
    const char *target = j->ran_target;
    uint16_t port = j->ran_port;
    int changed = 0, rc;

    if (!target)
        return;
    for (size_t i = 0; i < n; i++) {
        if (r[i].status != 0)
            continue;
        if (j->op == PUB_PUBLISH) {
            rc = kms_published_add(&p->pubd, r[i].domain, target, port);
            if (rc < 0)
                kms_warn("dns: cannot remember %s at %s: %s (it will not be removed when "
                         "the target, port or domain list changes)",
                         target, r[i].domain, kms_strerror(rc));
            changed |= rc == 1;
        } else if (j->op == PUB_UNPUBLISH) {
            changed |= kms_published_del(&p->pubd, r[i].domain, target, port) == 1;
        }
    }
    if (changed && (rc = kms_state_save_published(p->state_dir, &p->pubd, 1)) < 0)
        kms_warn("dns: cannot save %s/%s: %s (older records may be left behind after a "
                 "restart)",
                 p->state_dir, KMS_STATE_PUBLISHED, kms_strerror(rc));
    /* A reload changed the target or port while this publish ran: what it
     * added is already an older record. */
    if (changed && j->op == PUB_PUBLISH && !p->stopping &&
        (!p->target || !kms_dname_eq(target, p->target) || port != p->port))
        queue_removals(p, 1);
}

/* Queue a publish of the current settings (daemon or command mode); with
 * @p fn, the reply goes there.  Returns 1 if a job was queued (fn will be
 * called), 0 if nothing to do (fn not called). */
static int queue_publish(kms_dnspub_t *p, int daemon, const char *head, kms_dnspub_reply_fn fn,
                         void *ud)
{
    pub_domain_t *d;
    size_t n;
    job_t *j;

    drop_daemon_jobs(p);
    queue_removals(p, daemon);
    if (current_domains(p, &d, &n) < 0 || n == 0) {
        run_next(p);
        return 0;
    }
    if (!(j = job_new(PUB_PUBLISH, daemon, d, n))) {
        for (size_t i = 0; i < n; i++)
            free(d[i].name);
        free(d);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        kms_dns_state_t *s = st_find(p, d[i].name);

        if (s && s->time == 0)
            s->op[0] = '\0';
    }
    if (head && !(j->head = strdup(head))) {
        job_free(j);
        return 0;
    }
    j->fn = fn;
    j->ud = ud;
    fingerprint(p, p->last_fp, sizeof p->last_fp);
    enqueue(p, j);
    return 1;
}

static int publishing(kms_dnspub_t *p)
{
    kms_settings_t s;

    kms_host_settings(p->host, &s);
    return s.publish && !s.decommissioned;
}

/* ---- lifecycle ----------------------------------------------------------- */

int kms_dnspub_new(uv_loop_t *loop, kms_host_t *host, const kms_config_t *cfg, uint16_t port,
                   kms_dnspub_t **out, char *err, size_t errlen)
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
    uv_timer_init(loop, &p->timer);
    uv_timer_init(loop, &p->kick);
    uv_timer_init(loop, &p->retry);
    p->timer.data = p->kick.data = p->retry.data = p;
    *out = p;
    return 0;

fail:
    kms_published_free(&p->pubd);
    free(p->state_dir);
    free(p->target);
    free(p);
    return rc;
}

static void refresh_cb(uv_timer_t *t)
{
    kms_dnspub_t *p = t->data;

    if (p->stopping || !publishing(p))
        return;
    if (p->active || p->queue) {
        kms_debug("dns: refresh skipped: a run is active");
        return;
    }
    queue_publish(p, 1, NULL, NULL, NULL);
}

static void start_timer(kms_dnspub_t *p)
{
    uint64_t ms = p->refresh_s * 1000u;

    uv_timer_start(&p->timer, refresh_cb, ms, ms);
}

void kms_dnspub_start(kms_dnspub_t *p)
{
    kms_settings_t s;

    p->started = 1;
    kms_host_settings(p->host, &s);
    /* pending rows for the domains about to be published */
    for (size_t i = 0; i < s.domains->n && publishing(p); i++)
        st_find(p, s.domains->v[i].name);
    st_push(p);
    if (publishing(p) && p->target) {
        const char *dot = strchr(p->target, '.');

        if (!dot || !dot[1])
            kms_warn("dns: the SRV target '%s' has no domain (this host's FQDN is not known): "
                     "clients cannot resolve it; set [dns] target",
                     p->target);
    }
    if (publishing(p))
        queue_publish(p, 1, NULL, NULL, NULL);
    else
        kms_info("dns: publishing is off%s", s.decommissioned ? " (decommissioned)" : "");
    start_timer(p);
}

int kms_dnspub_reconfigure(kms_dnspub_t *p, const kms_config_t *cfg, char *err, size_t errlen)
{
    char after[sizeof p->last_fp];
    uint64_t old_refresh = p->refresh_s;
    int rc;

    if ((rc = load_options(p, cfg, err, errlen)) < 0)
        return rc;
    fingerprint(p, after, sizeof after);
    if (p->refresh_s != old_refresh && p->started)
        start_timer(p);
    if (!p->started || strcmp(after, p->last_fp) == 0 || !publishing(p))
        return 0;
    kms_info("dns: settings changed: publishing again");
    if (p->active && p->active->daemon)
        pub_cancel(p->active->eng);
    queue_publish(p, 1, NULL, NULL, NULL);
    return 0;
}

int kms_dnspub_command(kms_dnspub_t *p, const char *line, const char *reply, kms_dnspub_reply_fn fn,
                       void *ud)
{
    char verb[32];
    size_t k = 0;

    while (*line == ' ')
        line++;
    while (line[k] && line[k] != ' ' && k < sizeof verb - 1) {
        verb[k] = line[k];
        k++;
    }
    verb[k] = '\0';
    if (p->stopping || strncmp(reply, "OK", 2) != 0)
        return 0;
    if (strcmp(verb, "sdns") == 0 || strcmp(verb, "sprio") == 0 || strcmp(verb, "sweight") == 0 ||
        strcmp(verb, "sdomains") == 0) {
        if (!publishing(p))
            return 0;
        return queue_publish(p, 0, reply, fn, ud);
    }
    if (strcmp(verb, "cdns") == 0 || strcmp(verb, "decommission") == 0) {
        pub_domain_t *d;
        size_t n;
        job_t *j;

        /* Without a key (and unsigned updates not allowed) nothing can have
         * been published by this host: nothing to remove. */
        if (!p->has_key && !p->allow_unsigned)
            return 0;

        queue_removals(p, 0);
        if (current_domains(p, &d, &n) < 0 || n == 0) {
            run_next(p);
            return 0;
        }
        for (size_t i = 0; i < n; i++)
            d[i].priority = d[i].weight = -1;
        if (!(j = job_new(PUB_UNPUBLISH, 0, d, n))) {
            for (size_t i = 0; i < n; i++)
                free(d[i].name);
            free(d);
            return 0;
        }
        j->strict = 1;
        j->fn = fn;
        j->ud = ud;
        if (!(j->head = strdup(reply))) {
            job_free(j);
            return 0;
        }
        p->last_fp[0] = '\0';
        /* An in-flight publish of any kind is superseded. */
        if (p->active && p->active->op == PUB_PUBLISH)
            pub_cancel(p->active->eng);
        enqueue(p, j);
        return 1;
    }
    return 0;
}

/* Free once stopped, the timer closed and no run's callback is pending. */
static void maybe_free(kms_dnspub_t *p)
{
    if (!p->stopping || p->closed_handles < 3 || p->active)
        return;
    kms_published_free(&p->pubd);
    free(p->state_dir);
    free(p->st);
    free(p->target);
    memset(&p->key, 0, sizeof p->key);
    free(p);
}

static void timer_closed(uv_handle_t *h)
{
    kms_dnspub_t *p = h->data;

    p->closed_handles++;
    maybe_free(p);
}

void kms_dnspub_stop(kms_dnspub_t *p)
{
    if (!p || p->stopping)
        return;
    p->stopping = 1;
    /* Queued jobs never run; their replies say so. */
    while (p->queue) {
        job_t *j = p->queue;

        p->queue = j->next;
        reply_text(j, NULL, 0, KMS_ECANCELED, "kmsd is stopping");
        job_free(j);
    }
    /* The active run's callback runs from the loop (canceled) and answers. */
    pub_engine_free(p->eng_daemon);
    pub_engine_free(p->eng_cmd);
    pub_engine_free(p->eng_old);
    p->eng_daemon = p->eng_cmd = p->eng_old = NULL;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, timer_closed);
    drop_daemon_jobs(p); /* the queue is empty by now: the retries waiting */
    uv_close((uv_handle_t *)&p->kick, timer_closed);
    uv_close((uv_handle_t *)&p->retry, timer_closed);
}
