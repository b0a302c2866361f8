/* SPDX-License-Identifier: MIT */
/*
 * dnspub_int.h - internal to kmsd's DNS publishing: the publisher object
 * and the functions its three files call in each other.
 *
 *   dnspub.c     lifecycle, options and engines, the refresh timer, what a
 *                publish covers (to tell on SIGHUP whether it changed),
 *                and the verbs' DNS work;
 *   dnsjob.c     the job queue: one engine run at a time, retries in the
 *                background, superseding, the status table, the replies
 *                to verbs;
 *   dnsrecords.c the records this host published (state_dir/published)
 *                and the removal of those the settings no longer make.
 *
 * Jobs.  A job is one engine run: publish or unpublish of a domain list.
 * `active` runs; `queue` waits its turn; `delayed` waits for the retry
 * timer (the domains of a finished run that failed for a reason that may
 * pass: no answer, refused connection, SERVFAIL).  A daemon job (start-up,
 * refresh, reload, retry, and the removals those queue) runs on the daemon
 * engine; a verb's job on the command engine, with fewer attempts; a verb's
 * job supersedes the daemon jobs waiting (queued or delayed) and cancels a
 * daemon run in flight.  A removal of an older record (another target or
 * port than the current ones) runs on an engine made for that job.
 * Engines are rebuilt between jobs after a reload changed their options.
 *
 * Callbacks (base/loop.h): jobs start only from the loop - the `kick`
 * timer, the retry timer - never from inside the call that queued them (a
 * verb's hook, SIGHUP) nor from the engine's callback (the engine still
 * counts its run as active then).  So a verb is never answered from inside
 * kms_dnspub_command(), and the verbs still waiting when kmsd stops are
 * answered from the close callback of the kick timer, not from inside
 * kms_dnspub_stop().
 */
#ifndef KMS_DAEMON_DNSPUB_INT_H
#define KMS_DAEMON_DNSPUB_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include "base/addr.h"
#include "dns/keyfile.h"
#include "dns/name.h"
#include "kms/core/state.h"
#include "kms/daemon/dnspub.h"

#define DP_CMD_ATTEMPTS    3     /* per exchange, for a verb's run */
#define DP_DAEMON_ATTEMPTS 4     /* per exchange, for a daemon run (then the job is retried) */
#define DP_RETRY_FIRST_MS  1000  /* first retry of a failed job's domains */
#define DP_RETRY_MAX_MS    60000 /* the backoff between retries stops growing here */
#define DP_LOG_DOMAINS     3     /* per-domain failure lines logged per run (then a count) */

typedef struct job job_t;

struct job {
    pub_op_t op;
    int daemon;              /* daemon engine (start, refresh, reload, retry) */
    char *target;            /* unpublish of an older record: its target (owned), else NULL */
    uint16_t port;           /* and its port */
    pub_engine_t *eng;       /* the engine running it */
    char *ran_target;        /* the target it ran with (owned; set when it starts) */
    uint16_t ran_port;       /* the port it ran with */
    pub_domain_list_t doms;  /* priorities and weights filled in */
    kms_cmd_result_t *res;   /* a verb's result to add to (borrowed: the control
                                socket's, valid until done); NULL: no verb waits */
    kms_dnspub_done_fn done; /* called once the lines are in res */
    void *done_ud;
    job_t *next;
};

/** What a publish covers: the options and the domains it writes.  A reload
 *  publishes again when this changed. */
typedef struct {
    int valid; /* a publish was queued since the last unpublish */
    char target[KMS_DNS_NAMELEN];
    struct sockaddr_storage server;
    uint32_t ttl;
    uint16_t port;
    int has_key, allow_unsigned, gss;
    char key_name[KMS_TSIG_NAMELEN], key_alg[32];
    uint16_t priority, weight;
    pub_domain_list_t domains;
} dp_covered_t;

struct kms_dnspub {
    uv_loop_t *loop;
    kms_host_t *host;
    const kms_pub_ops_t *ops;
    uint16_t port;
    /* options from the configuration */
    char *target;
    struct sockaddr_storage server; /* ss_family 0: none (the SOA MNAME) */
    uint32_t ttl;
    uint64_t refresh_s, check_s;
    int verify;        /* [dns] verify */
    uint32_t verify_s; /* [dns] verify_timeout */
    int allow_unsigned, has_key;
    kms_tsig_key_t key;
    int gss;                /* [dns] gss_tsig */
    char *keytab;           /* "" : the default keytab */
    char *principal;        /* NULL: host/<target> */
    char *server_principal; /* NULL: DNS/<primary> */
    pub_gss_alg_t gss_alg;
    int tls;                              /* [dns] tls */
    char *tls_ca_file;                    /* NULL: the system store */
    char *tls_name;                       /* NULL: tls_server_name, or the primary's name */
    char *tls_cert_file;                  /* NULL: no client certificate */
    char *tls_key_file;                   /* NULL: in tls_cert_file */
    char tls_server_name[KMS_ADDRSTRLEN]; /* [dns] server's address, the default name */
    int stale;                            /* engines must be rebuilt from the options above */
    pub_engine_t *eng_daemon, *eng_cmd;
    pub_engine_t *eng_old; /* for a job removing an older record (its own target or port) */
    /* jobs */
    job_t *active, *queue;
    job_t *delayed;   /* retries waiting for the retry timer */
    job_t *answering; /* stopping: verbs to tell, from the kick timer's close callback */
    unsigned retry_step;
    uv_timer_t refresh;
    uv_timer_t check; /* the read-and-repair between refreshes ([dns] check) */
    uv_timer_t kick;  /* runs the next job from the loop, outside the engine's callback */
    uv_timer_t retry; /* queues the delayed jobs */
    int started, stopping;
    unsigned open_handles;
    unsigned engines_stopping; /* engines discarded, not yet stopped */
    kms_dnspub_stopped_fn stop_cb;
    void *stop_ud;
    dp_covered_t covered; /* what the last publish covered */
    /* the records this host published and has not removed */
    char *state_dir;
    kms_published_t pubd;
    uv_work_t pubd_work; /* its file, written in the threadpool (base/loop.h, 4) */
    kms_wr_t pubd_buf;   /* what the write under way writes */
    int pubd_rc;
    int pubd_writing, pubd_again; /* a write under way; another due after it */
    /* the status table, pushed to the host */
    kms_dns_state_t *st;
    size_t n_st;
};

/* dnspub.c */
int dp_publishing(kms_dnspub_t *p);
int dp_current_domains(kms_dnspub_t *p, pub_domain_list_t *out);
int dp_build_engines(kms_dnspub_t *p);
void dp_engine_discard(kms_dnspub_t *p, pub_engine_t **e);
int dp_engine_options(const kms_dnspub_t *p, pub_options_t *o);
void dp_maybe_stopped(kms_dnspub_t *p);

/* dnsjob.c */
job_t *dp_job_new(pub_op_t op, int daemon);
void dp_job_free(job_t *j);
void dp_queue_append(kms_dnspub_t *p, job_t *j);
void dp_enqueue(kms_dnspub_t *p, job_t *j);
void dp_drop_daemon_jobs(kms_dnspub_t *p);
void dp_supersede_active(kms_dnspub_t *p);
void dp_run_next(kms_dnspub_t *p);
void dp_kick(kms_dnspub_t *p);
void dp_job_answer(job_t *j, const pub_result_t *r, size_t n, int status, const char *why);
void dp_retry_cb(uv_timer_t *t);
void dp_kick_cb(uv_timer_t *t);
kms_dns_state_t *dp_status_row(kms_dnspub_t *p, const char *domain);
void dp_status_push(kms_dnspub_t *p);

/* dnsrecords.c */
int dp_listed(kms_dnspub_t *p, const char *domain);
void dp_queue_removals(kms_dnspub_t *p, int daemon);
void dp_track_published(kms_dnspub_t *p, const job_t *j, const pub_result_t *r, size_t n);
void dp_save_published(kms_dnspub_t *p);

#endif
