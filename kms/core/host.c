/* SPDX-License-Identifier: MIT */
/*
 * host.c - the KMS host object: lifecycle, effective settings (config file
 * under the verb-set overrides) and the activation handler (host.h).  The
 * control verbs are command.c and verbs_*.c (kmsd's socket for them is
 * kms/daemon/control.c).
 */
#include "kms/core/host.h"
#include "kms/core/host_int.h"

#include "base/err.h"
#include "base/addr.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "rpc/activation.h"
#include "kms/core/inventory.h"
#include "kms/core/ledger.h"
#include "kms/core/state.h"
#include "kms/core/statefile.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOT_UNDERSTOOD_LOG_S 60 /* log messages not understood at most once a minute per kind */

/* ---- settings ---------------------------------------------------------------- */

void kms_host_settings(const kms_host_t *h, kms_settings_t *s)
{
    const kms_overrides_t *o = &h->ovr;
    const kms_settings_t *b = &h->base;

    s->port = (o->set & KMS_OVR_PORT) ? o->port : b->port;
    s->activation_interval =
        (o->set & KMS_OVR_ACT_INTERVAL) ? o->activation_interval : b->activation_interval;
    s->renewal_interval =
        (o->set & KMS_OVR_REN_INTERVAL) ? o->renewal_interval : b->renewal_interval;
    s->publish = (o->set & KMS_OVR_PUBLISH) ? o->publish : b->publish;
    s->priority = (o->set & KMS_OVR_PRIORITY) ? o->priority : b->priority;
    s->weight = (o->set & KMS_OVR_WEIGHT) ? o->weight : b->weight;
    s->domains = (o->set & KMS_OVR_DOMAINS) ? &o->domains : &h->base_domains;
    s->decommissioned = o->decommissioned;
    if (s->decommissioned)
        s->publish = 0;
}

kms_host_stats_t *kms_host_stats(kms_host_t *h)
{
    return &h->stats;
}

void kms_host_set_durable(kms_host_t *h, int durable)
{
    h->durable = durable;
}

void kms_host_set_state_writer(kms_host_t *h, kms_state_writer_fn fn, void *ud)
{
    h->writer = fn;
    h->writer_ud = ud;
}

int host_save(kms_host_t *h, const char *kind, kms_wr_t *w, int r)
{
    if (!h->writer)
        return sf_save(h->state_dir, kind, w, r, h->durable);
    if (r == 0)
        r = h->writer(h->writer_ud, kind, w->buf, w->len);
    if (w->buf) /* the inventory holds whole keys */
        explicit_bzero(w->buf, w->len);
    kms_wr_free(w);
    return r;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void stale_removed(void *ud, const char *tmp)
{
    (void)ud;
    kms_warn("removed %s, a temporary file left by an interrupted state write", tmp);
}

/* A kill -9 between creating a state file's temp copy and renaming it
 * leaves the temp behind (the inventory's holds whole keys): remove ours. */
static void remove_stale_temps(const char *state_dir)
{
    static const char *const files[] = {KMS_STATE_SETTINGS, KMS_STATE_INVENTORY, KMS_STATE_LEDGER,
                                        KMS_STATE_PUBLISHED};

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *path = kms_path_join(state_dir, files[i]);
        int r = path ? kms_file_remove_stale_temps(path, stale_removed, NULL) : KMS_ENOMEM;

        if (r < 0)
            kms_warn("cannot look for stale temporary files in %s: %s", state_dir, kms_strerror(r));
        free(path);
    }
}

/* Whoever may write the directory holding state_dir may swap state_dir for
 * another after the checks: it must be root's or ours, and not writable by
 * others unless sticky (/tmp is fine: nobody else may rename our entry). */
static int check_parent(const char *dir, char *err, size_t errlen)
{
    char *copy = strdup(dir), *parent;
    struct stat st;
    int r = 0;

    if (!copy)
        return KMS_ENOMEM;
    parent = dirname(copy);
    if (stat(parent, &st) < 0) {
        r = kms_err_from_errno(errno);
        kms_seterr(err, errlen, "state_dir %s: %s: %s", dir, parent, kms_strerror(r));
    } else if (st.st_uid != 0 && st.st_uid != geteuid()) {
        r = KMS_EPERM;
        kms_seterr(err, errlen,
                   "state_dir %s lies in %s, owned by uid %lu: that user could swap it; put "
                   "state_dir in a directory of root's or this user's",
                   dir, parent, (unsigned long)st.st_uid);
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
        r = KMS_EPERM;
        kms_seterr(err, errlen,
                   "state_dir %s lies in %s, which others can write (mode %04o): they could swap "
                   "it; chmod go-w %s or move state_dir",
                   dir, parent, (unsigned)(st.st_mode & 07777), parent);
    }
    free(copy);
    return r;
}

/* The state directory and its files are kmsd's alone: a user who can write
 * them could empty the inventory, point a file elsewhere through a link, or
 * plant a published file that makes kmsd delete another host's records. */
static int check_state_dir(const char *dir, char *err, size_t errlen)
{
    static const char *const files[] = {KMS_STATE_SETTINGS, KMS_STATE_INVENTORY, KMS_STATE_LEDGER,
                                        KMS_STATE_PUBLISHED, KMS_STATE_LOCK};
    char why[512];
    int r = kms_path_private(dir, S_IFDIR, why, sizeof why);

    if (r < 0) {
        kms_seterr(err, errlen, "state_dir %s %s", dir, why);
        return r;
    }
    if ((r = check_parent(dir, err, errlen)) < 0)
        return r;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *path = kms_path_join(dir, files[i]);

        if (!path)
            return KMS_ENOMEM;
        r = kms_path_private(path, S_IFREG, why, sizeof why);
        if (r < 0 && r != KMS_ENOENT)
            kms_seterr(err, errlen, "state file %s %s", path, why);
        free(path);
        if (r < 0 && r != KMS_ENOENT)
            return r;
    }
    return 0;
}

/* One host per state directory: a second kmsd on it would overwrite what the
 * first acknowledged.  The lock is the kernel's (flock): a kill -9 frees it. */
static int lock_state_dir(kms_host_t *h, char *err, size_t errlen)
{
    char *path = kms_path_join(h->state_dir, KMS_STATE_LOCK);
    long holder = 0;
    int r = path ? kms_lock_take(path, &holder) : KMS_ENOMEM;

    if (r == KMS_EBUSY && holder > 0)
        kms_seterr(err, errlen, "%s is in use by another kmsd (PID %ld): one kmsd per state_dir",
                   h->state_dir, holder);
    else if (r == KMS_EBUSY)
        kms_seterr(err, errlen, "%s is in use by another kmsd: one kmsd per state_dir",
                   h->state_dir);
    else if (r < 0)
        kms_seterr(err, errlen, "%s: cannot lock: %s", path ? path : h->state_dir, kms_strerror(r));
    else
        h->lock_fd = r;
    free(path);
    return r < 0 ? r : 0;
}

/* Take a copy of @p base as the host's base settings. */
static int set_base(kms_host_t *h, const kms_settings_t *base)
{
    pub_domain_list_t d = {0};

    if (base->domains && pub_domains_copy(&d, base->domains) < 0)
        return KMS_ENOMEM;
    pub_domain_list_free(&h->base_domains);
    h->base_domains = d;
    h->base = *base;
    h->base.domains = &h->base_domains;
    h->base.decommissioned = 0;
    return 0;
}

int kms_host_open(const char *state_dir, const kms_settings_t *base, kms_host_t **out, char *err,
                  size_t errlen)
{
    kms_host_t *h = calloc(1, sizeof *h);
    int r;

    *out = NULL;
    if (h)
        h->lock_fd = -1; /* not fd 0, for kms_host_free() on the way out */
    if (!h || !(h->ledger = kms_ledger_new()) || !(h->state_dir = strdup(state_dir)) ||
        set_base(h, base) < 0) {
        r = KMS_ENOMEM;
        kms_seterr(err, errlen, "%s", kms_strerror(r));
        goto fail;
    }
    h->durable = 1;
    kms_inv_init(&h->inv);
    if ((r = kms_mkdir_p(h->state_dir, 0700)) < 0) {
        kms_seterr(err, errlen, "%s: cannot create state directory: %s", h->state_dir,
                   kms_strerror(r));
        goto fail;
    }
    if ((r = check_state_dir(h->state_dir, err, errlen)) < 0 ||
        (r = lock_state_dir(h, err, errlen)) < 0)
        goto fail;
    remove_stale_temps(h->state_dir);
    if ((r = kms_state_load_settings(h->state_dir, &h->ovr, err, errlen)) < 0 ||
        (r = kms_state_load_inventory(h->state_dir, &h->inv, err, errlen)) < 0 ||
        (r = kms_state_load_ledger(h->state_dir, h->ledger, err, errlen)) < 0)
        goto fail;
    if (gethostname(h->hostname, sizeof h->hostname) < 0 || !h->hostname[0])
        strcpy(h->hostname, "localhost");
    h->hostname[EPID_HOST_MAX] = 0;
    h->stats.started = time(NULL);
    *out = h;
    return 0;

fail:
    kms_host_free(h);
    return r;
}

void kms_host_free(kms_host_t *h)
{
    if (!h)
        return;
    if (h->ledger_dirty) {
        int r = kms_host_flush(h);

        if (r < 0)
            kms_error("cannot write the client ledger in %s: %s", h->state_dir, kms_strerror(r));
    }
    kms_ledger_free(h->ledger);
    kms_inv_clear(&h->inv);
    kms_overrides_free(&h->ovr);
    pub_domain_list_free(&h->base_domains);
    free(h->dns);
    free(h->state_dir);
    kms_lock_release(h->lock_fd);
    free(h);
}

void kms_host_set_listen(kms_host_t *h, const char *addrs, const char *source)
{
    snprintf(h->listen_addrs, sizeof h->listen_addrs, "%s", addrs);
    snprintf(h->listen_source, sizeof h->listen_source, "%s", source);
}

void kms_host_set_dns_auth(kms_host_t *h, const kms_dns_auth_t *a)
{
    h->dns_auth = *a;
}

void kms_host_set_dns_record(kms_host_t *h, const kms_dns_record_t *r)
{
    h->dns_record = *r;
}

void kms_host_set_dns_transport(kms_host_t *h, const kms_dns_transport_t *t)
{
    h->dns_transport = *t;
}

int kms_host_set_dns(kms_host_t *h, const kms_dns_state_t *d, size_t n, int running)
{
    kms_dns_state_t *copy = NULL;

    if (n) {
        if (!(copy = malloc(n * sizeof *copy)))
            return KMS_ENOMEM;
        memcpy(copy, d, n * sizeof *copy);
    }
    free(h->dns);
    h->dns = copy;
    h->n_dns = n;
    h->dns_running = running;
    return 0;
}

int kms_host_reconfigure(kms_host_t *h, const kms_settings_t *base)
{
    return set_base(h, base);
}

int kms_host_ledger_snapshot(kms_host_t *h, kms_wr_t *out)
{
    int r;

    if (!h->ledger_dirty)
        return 0;
    if ((r = kms_state_format_ledger(h->ledger, out)) < 0)
        return r;
    h->ledger_dirty = 0;
    return 1;
}

void kms_host_ledger_written(kms_host_t *h, int rc)
{
    if (rc < 0)
        h->ledger_dirty = 1;
}

const char *kms_host_state_dir(const kms_host_t *h)
{
    return h->state_dir;
}

int kms_host_flush(kms_host_t *h)
{
    kms_wr_t w;
    int r;

    if (!h->ledger_dirty)
        return 0;
    kms_wr_init(&w);
    r = host_save(h, KMS_STATE_LEDGER, &w, kms_state_format_ledger(h->ledger, &w));
    if (r == 0)
        h->ledger_dirty = 0;
    return r;
}

/* ---- activation ---------------------------------------------------------------- */

/* A request message we cannot use (another encoding, or a bad plain message):
 * counted as a failed activation, logged at most once a minute per kind
 * (@p rl), answered with a well-formed stub carrying 0x8007000D. */
static int answer_not_understood(kms_host_t *h, kms_ratelimit_t *rl, const char *what,
                                 const kms_act_request_t *req, int64_t now, kms_wr_t *out_stub)
{
    uint64_t quiet;

    h->stats.activations_failed++;
    if (kms_ratelimit(rl, (uint64_t)now, NOT_UNDERSTOOD_LOG_S, &quiet))
        kms_warn("activation request %s (message version %u.%u) answered 0x%08X (%llu more "
                 "since the previous line)",
                 what, req->version_major, req->version_minor, KMS_HR_INVALID_DATA,
                 (unsigned long long)quiet);
    return kms_act_encode_failure(KMS_HR_INVALID_DATA, out_stub);
}

int kms_host_rpc_handler(void *ud, uint16_t opnum, const uint8_t *stub, size_t len,
                         kms_wr_t *out_stub)
{
    kms_host_t *h = ud;
    kms_act_request_t req;
    kms_act_response_t resp;
    kms_rd_t msg;
    const kms_product_t *p;
    kms_settings_t s;
    int64_t now = (int64_t)time(NULL);
    char g[KMS_GUID_STRLEN];
    uint32_t count;
    int r;

    if (opnum != 0)
        return KMS_EUNSUPPORTED;
    /* Bad NDR around the message is the RPC layer's business (a fault); a
     * message we cannot use is answered 0x8007000D (docs/protocol.md 5). */
    if ((r = kms_act_unwrap_request(stub, len, &msg)) < 0)
        return r;
    r = kms_act_decode_request_msg(&msg, &req);
    if (r == KMS_EUNSUPPORTED) {
        h->stats.other_encodings++;
        return answer_not_understood(h, &h->unsupported_log, "in an unsupported encoding", &req,
                                     now, out_stub);
    }
    if (r < 0) {
        char what[80];

        h->stats.malformed++;
        snprintf(what, sizeof what, "with a malformed message (%s)", kms_strerror(r));
        return answer_not_understood(h, &h->malformed_log, what, &req, now, out_stub);
    }
    kms_host_settings(h, &s);
    p = s.decommissioned ? NULL : kms_inv_serving(&h->inv, &req.app_id, &req.kms_counted_id);
    if (!p) {
        h->stats.activations_failed++;
        kms_debug("activation for application %s not served: 0x%08X",
                  kms_guid_format(&req.app_id, g), KMS_HR_NOT_SERVED);
        return kms_act_encode_failure(KMS_HR_NOT_SERVED, out_stub);
    }
    r = kms_ledger_record(h->ledger, &req.kms_counted_id, &req.client_machine_id,
                          req.required_client_count, now, &count);
    if (r < 0)
        return r;
    h->ledger_dirty = 1;
    memset(&resp, 0, sizeof resp);
    resp.version_major = req.version_major;
    resp.version_minor = req.version_minor;
    resp.status = KMS_HR_OK;
    /* Host ePID, our own format (docs/protocol.md): KMSDNS-<8 hex>-<host name>, where
     * the 8 hex digits start the serving slot's activation ID (the application ID of
     * its family for the default slot). */
    kms_guid_format(p->is_default ? kms_family_app_id(p->family) : &p->act_id, g);
    snprintf(resp.host_epid, sizeof resp.host_epid, "KMSDNS-%.8s-%s", g, h->hostname);
    resp.client_machine_id = req.client_machine_id;
    resp.response_time = kms_filetime_from_unix(now);
    resp.current_count = count;
    resp.activation_interval = s.activation_interval;
    resp.renewal_interval = s.renewal_interval;
    h->stats.activations_ok++;
    return kms_act_encode_response(&resp, out_stub);
}
