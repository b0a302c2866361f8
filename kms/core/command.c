/* SPDX-License-Identifier: MIT */
/*
 * command.c - the verb table, the control line, and command results (see
 * command.h; the protocol and every verb are in docs/control.md).
 */
#include "kms/core/command.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "kms/core/command_int.h"

#define CMD_MAX_TOKENS 64

/* The verbs.  Help texts list them in this order. */
static const kms_verb_t verbs[] = {
    {"status", "", "[--json]", "host status: settings, counters, served products", 1,
     KMS_VERB_DNS_NONE, cmd_verb_status, 0},
    {"metrics", "", "",
     "the host's counters in the Prometheus text format\n(what [host] metrics_file holds)", 0,
     KMS_VERB_DNS_NONE, cmd_verb_metrics, 0},
    {"dli", "[ACTID|all]", "[ACTID|default|all] [--json]",
     "display license information (partial keys only)", 1, KMS_VERB_DNS_NONE, cmd_verb_dli, 0},
    {"ipk", "KEY [ACTID]", "KEY [ACTID] [--family windows|office2010|office] [--kms-id GUID]...",
     "install a host key (default slot: the host OS product);\n"
     "options --family windows|office2010|office, --kms-id GUID",
     0, KMS_VERB_DNS_NONE, cmd_verb_ipk, 0},
    {"upk", "ACTID|default", "ACTID|default",
     "uninstall the host key of ACTID (or the default slot)", 0, KMS_VERB_DNS_NONE, cmd_verb_upk,
     0},
    {"ato", "[ACTID|all]", "[ACTID|default|all]",
     "enable serving the product(s) with an installed key", 0, KMS_VERB_DNS_NONE, cmd_verb_ato, 0},
    {"sprt", "PORT", "PORT (1..65535)",
     "set the TCP port (used from the next start by listen\naddresses without a port)", 0,
     KMS_VERB_DNS_NONE, cmd_verb_sprt, 0},
    {"sai", "MINUTES", "MINUTES (15..43200; or with s/m/h/d)",
     "set the activation interval (15 min to 30 days)", 0, KMS_VERB_DNS_NONE, cmd_verb_sai, 0},
    {"sri", "MINUTES", "MINUTES (15..43200; or with s/m/h/d)",
     "set the renewal interval (15 min to 30 days)", 0, KMS_VERB_DNS_NONE, cmd_verb_sri, 0},
    {"sdns", "", "", "enable publishing the SRV records in DNS", 0, KMS_VERB_DNS_PUBLISH,
     cmd_verb_sdns, 0},
    {"cdns", "", "", "disable publishing and remove our SRV records", 0, KMS_VERB_DNS_UNPUBLISH,
     cmd_verb_cdns, 0},
    {"sprio", "PRIORITY", "N (0..65535)", "set the default SRV priority (0..65535)", 0,
     KMS_VERB_DNS_PUBLISH, cmd_verb_sprio, 0},
    {"sweight", "WEIGHT", "N (0..65535)", "set the default SRV weight (0..65535)", 0,
     KMS_VERB_DNS_PUBLISH, cmd_verb_sweight, 0},
    {"sdomains", "LIST", "DOMAIN [PRIORITY WEIGHT][, DOMAIN ...]",
     "set the publish domain list\n(\"kms.test, corp.test 10 50\": domain [priority weight]);\n"
     "kmsctl sdomains --file FILE|-: one entry per line",
     0, KMS_VERB_DNS_PUBLISH, cmd_verb_sdomains, 1},
    {"decommission", "", "", "unpublish, stop serving, mark the host decommissioned", 0,
     KMS_VERB_DNS_UNPUBLISH, cmd_verb_decommission, 0},
    {"recommission", "", "", "undo decommission: serve the installed products again, publish", 0,
     KMS_VERB_DNS_PUBLISH, cmd_verb_recommission, 0},
};

#define N_VERBS (sizeof verbs / sizeof verbs[0])

const kms_verb_t *kms_verbs(size_t *n)
{
    *n = N_VERBS;
    return verbs;
}

const kms_verb_t *kms_verb_find(const char *name)
{
    for (size_t i = 0; i < N_VERBS; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

int kms_cmd_usage_error(int err)
{
    switch (err) {
    case KMS_EINVAL:
    case KMS_ERANGE:
    case KMS_EKEYFORMAT:
    case KMS_EMALFORMED:
        return 1;
    default:
        return 0;
    }
}

/* ---- results ----------------------------------------------------------------- */

void kms_cmd_result_init(kms_cmd_result_t *r)
{
    memset(r, 0, sizeof *r);
    kms_wr_init(&r->lines);
}

void kms_cmd_result_free(kms_cmd_result_t *r)
{
    kms_wr_free(&r->lines);
    kms_cmd_result_init(r);
}

void kms_cmd_result_line(kms_cmd_result_t *r, const char *fmt, ...)
{
    va_list ap;

    if (r->status < 0)
        return;
    va_start(ap, fmt);
    kms_wr_vprintf(&r->lines, fmt, ap);
    va_end(ap);
    kms_wr_u8(&r->lines, '\n');
    r->nlines++;
    if (r->lines.err == KMS_ENOMEM)
        kms_cmd_result_fail(r, KMS_ENOMEM, "out of memory");
    else if (r->lines.err)
        kms_cmd_result_fail(r, KMS_EINVAL, "cannot format a reply line");
}

int kms_cmd_result_fail(kms_cmd_result_t *r, int status, const char *fmt, ...)
{
    va_list ap;

    r->status = status;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    kms_wr_free(&r->lines);
    kms_wr_init(&r->lines);
    r->nlines = 0;
    return status;
}

int kms_cmd_render(const kms_cmd_result_t *r, kms_wr_t *out)
{
    char head[32];

    if (r->status < 0) {
        const char *name = kms_err_name(r->status);

        kms_wr_bytes(out, "ERR ", 4);
        kms_wr_bytes(out, name, strlen(name));
        kms_wr_u8(out, ' ');
        kms_wr_bytes(out, r->message, strlen(r->message));
        kms_wr_u8(out, '\n');
    } else {
        snprintf(head, sizeof head, "OK %u\n", r->nlines);
        kms_wr_bytes(out, head, strlen(head));
        kms_wr_bytes(out, r->lines.buf, r->lines.len);
    }
    return out->err;
}

/* ---- helpers of the verbs ---------------------------------------------------- */

int cmd_json(kms_cmd_t *c, kms_json_t *j)
{
    char *s = j ? kms_json_dump(j, 0) : NULL;

    kms_json_free(j);
    if (!s)
        return cmd_fail(c, KMS_ENOMEM, "out of memory");
    cmd_line(c, "%s", s);
    free(s);
    return c->res->status;
}

int cmd_usage(kms_cmd_t *c)
{
    const kms_verb_t *v = c->res->verb;

    return cmd_fail(c, KMS_EINVAL, "usage: %s%s%s", v->name, v->usage[0] ? " " : "", v->usage);
}

/* ---- the control line ---------------------------------------------------------- */

/* The unknown-verb message lists the table. */
static int unknown_verb(kms_cmd_t *c, const char *name)
{
    char list[512];
    size_t off = 0;

    list[0] = '\0';
    for (size_t i = 0; i < N_VERBS && off < sizeof list; i++)
        off +=
            (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", verbs[i].name);
    return cmd_fail(c, KMS_EINVAL, "unknown verb '%.32s' (%s)", name, list);
}

int kms_host_command(kms_host_t *h, const char *line, kms_cmd_result_t *res)
{
    size_t len = strlen(line);
    char *copy = NULL, *save = NULL, *t, *tok[CMD_MAX_TOKENS + 1];
    int ntok = 0;
    kms_cmd_t c;

    memset(&c, 0, sizeof c);
    c.h = h;
    c.res = res;
    if (len && line[len - 1] == '\n')
        len--;
    if (len && line[len - 1] == '\r')
        len--;
    if (len > KMS_CMD_MAX_LINE) {
        cmd_fail(&c, KMS_ETOOBIG, "line longer than %d bytes", KMS_CMD_MAX_LINE);
        goto done;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)line[i];

        if (ch < 0x20 || ch == 0x7f) {
            cmd_fail(&c, KMS_EMALFORMED, "control character in line");
            goto done;
        }
    }
    if (!(copy = strndup(line, len))) {
        cmd_fail(&c, KMS_ENOMEM, "out of memory");
        goto done;
    }
    for (t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        const kms_verb_t *v;

        if (strcmp(t, "--json") == 0) {
            c.json = 1;
            continue;
        }
        if (ntok == 0 && (v = kms_verb_find(t)) && v->whole) {
            /* sdomains: a list of any length is one argument, not tokens */
            tok[ntok++] = t;
            while (save && *save == ' ')
                save++;
            if (save && *save) {
                size_t n = strlen(save);

                while (n && save[n - 1] == ' ')
                    save[--n] = '\0';
                tok[ntok++] = save;
            }
            break;
        }
        if (ntok == CMD_MAX_TOKENS) {
            cmd_fail(&c, KMS_EINVAL, "too many arguments");
            goto done;
        }
        tok[ntok++] = t;
    }
    if (ntok == 0) {
        cmd_fail(&c, KMS_EINVAL, "empty command");
        goto done;
    }
    if (!(res->verb = kms_verb_find(tok[0]))) {
        unknown_verb(&c, tok[0]);
        goto done;
    }
    if (c.json && !res->verb->json) {
        cmd_fail(&c, KMS_EINVAL, "%s has no --json output", res->verb->name);
        goto done;
    }
    c.tok = tok + 1;
    c.ntok = ntok - 1;
    res->verb->run(&c);
done:
    if (copy) /* the line may hold a whole product key (ipk) */
        explicit_bzero(copy, len);
    free(copy);
    return res->status;
}
