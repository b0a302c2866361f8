/* SPDX-License-Identifier: MIT */
/*
 * kms-publish - publish, unpublish or show a KMS host's _vlmcs._tcp SRV
 * records by RFC 2136 dynamic update (the standalone face of publisher/),
 * and sweep: withdraw the records of hosts that are gone (fleet/sweep.h).
 *
 * Output: one line per domain on stdout ("kms.test: ok: published ..."), or
 * one JSON object with --json; when any failed, one line on stderr naming
 * the cause ("kms-publish: <reason>", or "kms-publish: 3 of 5 domains
 * failed, ..." with the first reason).  Exit 0 only if every domain
 * succeeded, 1 if any failed, 2 for usage or configuration errors.
 *
 * sweep: one line per record ("kms.test kms3.kms.test.:1688 dead
 * since=1764950000 failures=1: kept (1 of 3 failures)"); exit 0 when the
 * sweep ran (even if it withdrew nothing), 1 when a domain could not be
 * read or a withdrawal failed, 2 for usage errors.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/hostname.h"
#include "base/json.h"
#include "base/log.h"
#include "dns/keyfile.h"
#include "dns/name.h"
#include "fleet/kms_publish.h"
#include "fleet/sweep.h"
#include "publisher/domains.h"
#include "publisher/publisher.h"
#include "publisher/tlscheck.h"

#define DEFAULT_STATE "kmsdns-sweep.state"
#define KMS_DOT_PORT  853 /* RFC 7858 section 3.1: --server's default port with --tls */

static const char usage[] =
    "usage: kms-publish publish|unpublish|show|sweep [options] --domain D [--domain D ...]\n"
    "\n"
    "Register (publish), remove (unpublish) or list (show) the _vlmcs._tcp SRV\n"
    "records of a KMS host by RFC 2136 dynamic update with TSIG; or sweep:\n"
    "probe every host listed (TCP connect + RPC bind) and withdraw the records\n"
    "of hosts that stayed dead (a dry run without --apply).\n"
    "\n"
    "  --domain LIST        publish domains: \"D\" or \"D PRIORITY WEIGHT\", comma-separated\n"
    "                       entries; repeatable\n"
    "  --target FQDN        SRV target (the KMS host; default: this host's FQDN)\n"
    "  --port N             SRV port (default 1688)\n"
    "  --priority N         priority for domains that give none (default 0)\n"
    "  --weight N           weight for domains that give none (default 0)\n"
    "  --ttl N              record TTL in seconds (default 3600)\n"
    "  --key FILE           BIND key file (tsig-keygen output) to sign updates with\n"
    "  --key-name NAME      which key of FILE (default: its only key)\n"
    "  --gss                sign with Kerberos (GSS-TSIG, RFC 3645), as Active\n"
    "                       Directory DNS requires; uses the ticket cache\n"
    "                       (KRB5CCNAME) unless --keytab is given\n"
    "  --keytab FILE        with --gss: credentials from this keytab, no kinit\n"
    "  --principal NAME     with --gss: our principal (default: the cache's; with\n"
    "                       --keytab host/<target>)\n"
    "  --server-principal NAME  with --gss: the DNS server's (default:\n"
    "                       DNS/<the zone's primary, SOA MNAME>)\n"
    "  --gss-algorithm ALG  auto (default: gss-tsig, then gss.microsoft.com if the\n"
    "                       server answers FORMERR), gss-tsig, gss.microsoft.com\n"
    "  --allow-unsigned     send unsigned updates (only if the server allows them)\n"
    "  --server IP[:PORT]   send updates (and queries) to this server, not to the\n"
    "                       zone's SOA MNAME primary (port 53; 853 with --tls)\n"
    "  --tcp                every message over TCP (a connection each), not UDP first\n"
    "  --tls                to the primary over DNS-over-TLS (RFC 7858): updates and\n"
    "                       its queries (show, --verify) in TLS, the certificate\n"
    "                       checked; other name servers are asked over plain DNS\n"
    "  --tls-ca FILE        with --tls: CA certificates to trust (PEM; default: the\n"
    "                       system store)\n"
    "  --tls-name NAME      with --tls: the name (or IP) the server's certificate must\n"
    "                       match (default: the --server address as given, else\n"
    "                       the primary's name, SOA MNAME)\n"
    "  --tls-cert FILE      with --tls: a client certificate (PEM) ...\n"
    "  --tls-key FILE       ... and its private key (default: in --tls-cert's file)\n"
    "  --resolver IP[:PORT] where to look up zones, primaries and (--verify) name\n"
    "                       servers without glue (default: first nameserver of\n"
    "                       /etc/resolv.conf); its port also applies to the\n"
    "                       discovered primary, unless --tls (then 853)\n"
    "  --timeout SEC        per attempt (default 2)\n"
    "  --attempts N         attempts per message (default 4)\n"
    "  --verify             then wait until every name server of the zone serves it\n"
    "  --verify-timeout SEC bound for --verify (default 30)\n"
    "  --json               one JSON object instead of text lines\n"
    "sweep:\n"
    "  --apply              withdraw records (without it: a dry run, nothing changed)\n"
    "  --failures N         dead in at least N runs (default 3) ...\n"
    "  --min-age DURATION   ... spread over at least DURATION (default 1h; s, m, h, d)\n"
    "  --allow-empty        withdraw even when no host of the name answers (else\n"
    "                       the sweeper's own network is the likelier culprit)\n"
    "  --state FILE         what earlier runs saw (default ./" DEFAULT_STATE ")\n"
    "  --timeout SEC        also bounds each probe's connect and its bind\n"
    "  --verbose            log failed attempts (at most one line per 150 ms)\n"
    "  --help, --version\n";

enum {
    O_DOMAIN = 256,
    O_TARGET,
    O_PORT,
    O_PRIORITY,
    O_WEIGHT,
    O_TTL,
    O_KEY,
    O_KEYNAME,
    O_UNSIGNED,
    O_SERVER,
    O_RESOLVER,
    O_TIMEOUT,
    O_ATTEMPTS,
    O_VERIFY,
    O_VTIMEOUT,
    O_GSS,
    O_KEYTAB,
    O_PRINCIPAL,
    O_SPN,
    O_GSSALG,
    O_TCP,
    O_TLS,
    O_TLSCA,
    O_TLSNAME,
    O_TLSCERT,
    O_TLSKEY,
    O_JSON,
    O_VERBOSE,
    O_APPLY,
    O_FAILURES,
    O_MINAGE,
    O_ALLOWEMPTY,
    O_STATE,
    O_HELP,
    O_VERSION,
};

typedef struct {
    pub_op_t op;
    int json;
    int ok;
    const char *target;
    uint16_t port;
    uint32_t ttl;
    int tls; /* --tls: the primary was asked over DNS-over-TLS */
} ctx_t;

static int die_usage(const char *what, const char *arg)
{
    fprintf(stderr, "kms-publish: %s '%s' (see --help)\n", what, arg);
    return 2;
}

/* getopt_long() refused the option just read (opterr = 0: this is the only
   line about it): name it, without any value given with it. */
static int die_option(char *const *argv, const struct option *longopts)
{
    const char *arg = argv[optind - 1], *what = "unknown option", *why = "";
    char name[64];

    snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    if (optopt > 0 && optopt < O_DOMAIN) {
        /* a short option (there are none); argv may hold it grouped: "-xy" */
        snprintf(name, sizeof name, "-%c", optopt);
    } else if (optopt) {
        for (const struct option *o = longopts; o->name; o++)
            if (o->val == optopt) {
                snprintf(name, sizeof name, "--%s", o->name);
                what = "option";
                why = o->has_arg == no_argument ? " takes no value" : " needs a value";
            }
    } else if (strncmp(name, "--", 2) == 0 && name[2]) {
        /* unknown, or an abbreviation of several: "--ver" */
        int matches = 0;
        for (const struct option *o = longopts; o->name; o++)
            matches += strncmp(o->name, name + 2, strlen(name + 2)) == 0;
        if (matches > 1)
            what = "ambiguous option";
    }
    fprintf(stderr, "kms-publish: %s '%s'%s (see --help)\n", what, name, why);
    return 2;
}

static int parse_seconds(const char *s, uint64_t *ms)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!end || *end || !(v > 0) || v > 86400 || isnan(v))
        return KMS_EINVAL;
    *ms = (uint64_t)(v * 1000.0 + 0.5);
    if (*ms == 0)
        *ms = 1;
    return 0;
}

/* Do two failures have one cause: the same status, and messages equal but
   for each naming its own record owner? */
static int same_cause(const pub_result_t *a, const pub_result_t *b)
{
    const char *p = a->message, *q = b->message;
    size_t la = strlen(a->owner), lb = strlen(b->owner);

    if (a->status != b->status)
        return 0;
    while (*p && *q) {
        if (la && lb && strncmp(p, a->owner, la) == 0 && strncmp(q, b->owner, lb) == 0) {
            p += la;
            q += lb;
        } else if (*p++ != *q++) {
            return 0;
        }
    }
    return *p == *q;
}

/* The one stderr line of a run with failures (each domain's result is on
   stdout): the failure itself for a single domain, else how many failed
   and the first failure, saying whether they all failed the same way. */
static void print_failure_summary(const pub_result_t *res, size_t n)
{
    const pub_result_t *first = NULL;
    size_t failed = 0;
    int same = 1;

    for (size_t i = 0; i < n; i++) {
        if (!res[i].status)
            continue;
        failed++;
        if (!first)
            first = &res[i];
        else if (same && !same_cause(first, &res[i]))
            same = 0;
    }
    if (!first)
        return;
    if (n == 1)
        fprintf(stderr, "kms-publish: %s\n", first->message);
    else if (failed == 1)
        fprintf(stderr, "kms-publish: 1 of %zu domains failed: %s\n", n, first->message);
    else
        fprintf(stderr, "kms-publish: %zu of %zu domains failed, %s: %s\n", failed, n,
                same ? "all for the same cause"
                     : "for different causes (see each domain's result); first",
                first->message);
}

static void on_done(const pub_result_t *res, size_t n, const pub_stats_t *st, void *ud)
{
    ctx_t *c = ud;
    kms_json_t *root = c->json ? kms_json_object() : NULL;
    kms_json_t *arr = c->json ? kms_json_array() : NULL;

    c->ok = 1;
    for (size_t i = 0; i < n; i++) {
        const pub_result_t *r = &res[i];
        char dom[KMS_DNS_NAMELEN];
        kms_dname_shown(r->domain, dom, sizeof dom);
        if (r->status)
            c->ok = 0;
        if (!c->json) {
            if (c->op == PUB_SHOW && r->status == 0) {
                if (r->nrecords == 0)
                    printf("%s: no records at %s\n", dom, r->owner);
                for (size_t k = 0; k < r->nrecords; k++) {
                    const kms_srv_rec_t *s = &r->records[k];
                    printf("%s: %s %u IN SRV %u %u %u %s\n", dom, s->owner, s->ttl, s->priority,
                           s->weight, s->port, s->target);
                }
            } else {
                printf("%s: %s: %s\n", dom, r->status ? "error" : "ok", r->message);
            }
            continue;
        }
        kms_json_t *o = kms_json_object();
        if (!o)
            continue;
        kms_json_set_str(o, "domain", dom);
        kms_json_set_str(o, "owner", r->owner);
        kms_json_set_str(o, "zone", r->zone[0] ? r->zone : NULL);
        kms_json_set_str(o, "server", r->server[0] ? r->server : NULL);
        kms_json_set_bool(o, "ok", r->status == 0);
        kms_json_set_str(o, "error", r->status ? kms_err_name(r->status) : NULL);
        kms_json_set_str(o, "message", r->message);
        kms_json_set_int(o, "time", r->time);
        kms_json_set_int(o, "attempts", r->attempts);
        if (c->op != PUB_SHOW) {
            kms_json_set_str(o, "target", c->target);
            kms_json_set_int(o, "port", c->port);
            kms_json_set_int(o, "priority", r->priority);
            kms_json_set_int(o, "weight", r->weight);
            kms_json_set_int(o, "ttl", c->ttl);
        }
        if (c->op == PUB_PUBLISH) {
            kms_json_set_bool(o, "replaced", r->replaced);
            kms_json_set_bool(o, "unchanged", r->unchanged);
        }
        if (c->op == PUB_UNPUBLISH)
            kms_json_set_int(o, "removed", r->removed);
        kms_json_set_bool(o, "verified", r->verified);
        if (c->op == PUB_SHOW) {
            kms_json_t *recs = kms_json_array();
            for (size_t k = 0; recs && k < r->nrecords; k++) {
                const kms_srv_rec_t *s = &r->records[k];
                kms_json_t *ro = kms_json_object();
                if (!ro)
                    break;
                kms_json_set_str(ro, "target", s->target);
                kms_json_set_int(ro, "port", s->port);
                kms_json_set_int(ro, "priority", s->priority);
                kms_json_set_int(ro, "weight", s->weight);
                kms_json_set_int(ro, "ttl", s->ttl);
                kms_json_append(recs, ro);
            }
            if (recs)
                kms_json_set(o, "records", recs);
        }
        kms_json_append(arr, o);
    }
    if (c->json && root && arr) {
        kms_json_set_str(root, "operation", pub_op_name(c->op));
        kms_json_set_str(root, "transport", c->tls ? "tls" : "dns");
        kms_json_set_bool(root, "ok", c->ok);
        kms_json_set(root, "results", arr);
        arr = NULL;
        kms_json_t *s = kms_json_object();
        if (s) {
            kms_json_set_int(s, "queries", st->queries);
            kms_json_set_int(s, "updates", st->updates);
            kms_json_set_int(s, "attempts", st->attempts);
            kms_json_set_int(s, "udp", st->udp);
            kms_json_set_int(s, "tcp", st->tcp);
            kms_json_set_int(s, "tc_fallbacks", st->tc_fallbacks);
            kms_json_set_int(s, "tls", st->tls);
            kms_json_set_int(s, "tls_handshakes", st->tls_handshakes);
            kms_json_set(root, "stats", s);
        }
        kms_json_print(stdout, root, 0);
    }
    kms_json_free(arr);
    kms_json_free(root);
    print_failure_summary(res, n);
}

int kp_setup_signing(pub_options_t *opt, const char *key_file, const char *key_name,
                     kms_tsig_key_t *key, int updates, const char *no_key)
{
    char err[300];

    if ((opt->gss.keytab || opt->gss.principal || opt->gss.server_principal) && !opt->gss.enabled) {
        fprintf(stderr, "kms-publish: --%s goes with --gss\n",
                opt->gss.keytab      ? "keytab"
                : opt->gss.principal ? "principal"
                                     : "server-principal");
        return -1;
    }
    if (opt->gss.enabled && (key_file || opt->allow_unsigned)) {
        fprintf(stderr, "kms-publish: --gss signs with Kerberos: give it without --%s\n",
                key_file ? "key" : "allow-unsigned");
        return -1;
    }
    if (opt->gss.enabled) {
        if (!updates) /* queries are never signed: no ticket needed */
            opt->gss.enabled = 0, opt->allow_unsigned = 1;
    } else if (key_file) {
        if (kms_keyfile_load(key_file, key_name, key, err, sizeof err) < 0) {
            fprintf(stderr, "kms-publish: %s\n", err);
            return -1;
        }
        if (key->file_mode & S_IROTH) /* used all the same: refusing would break a setup */
            kms_warn("key file %s is readable by others (mode %04o): chmod o-r %s", key_file,
                     key->file_mode, key_file);
        opt->key = key;
    } else if (!updates) {
        opt->allow_unsigned = 1; /* queries are never signed */
    } else if (!opt->allow_unsigned) {
        fprintf(stderr, "kms-publish: %s\n", no_key);
        return -1;
    }
    return 0;
}

/* The DNS-over-TLS options (--tls and the --tls-* that go with it): checked
   now (files readable and loadable, a name that can match); without --tls-name the
   certificate must match the --server address as given (the engine's
   default without --server: the primary's name).  @p name_buf holds that
   name.  0, or -1 after one line on stderr. */
static int setup_tls(pub_options_t *opt, char name_buf[KMS_ADDRSTRLEN])
{
    static const char *const names[] = {
        [PUB_TLS_CA_FILE] = "--tls-ca",
        [PUB_TLS_NAME] = "--tls-name",
        [PUB_TLS_CERT_FILE] = "--tls-cert",
        [PUB_TLS_KEY_FILE] = "--tls-key",
    };
    pub_tls_setting_t bad;
    unsigned mode;
    char why[600];

    if (pub_tls_check(&opt->tls, &bad, &mode, why, sizeof why) < 0) {
        if (!opt->tls.enabled)
            fprintf(stderr, "kms-publish: %s goes with --tls (updates over DNS-over-TLS)\n",
                    names[bad]);
        else
            fprintf(stderr, "kms-publish: %s: %s\n", names[bad], why);
        return -1;
    }
    if (mode & S_IROTH) { /* used all the same, like a key file */
        const char *f = opt->tls.key_file ? opt->tls.key_file : opt->tls.cert_file;
        kms_warn("TLS client key %s is readable by others (mode %04o): chmod o-r %s", f, mode, f);
    }
    if (opt->tls.enabled && !opt->tls.name && opt->server)
        opt->tls.name = kms_addr_format_ip(opt->server, name_buf);
    /* after an unknown-CA failure: what to do about it, in our option's words */
    opt->tls.ca_hint = opt->tls.ca_file ? "not signed by a CA of --tls-ca" : "give --tls-ca";
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"domain", required_argument, NULL, O_DOMAIN},
        {"target", required_argument, NULL, O_TARGET},
        {"port", required_argument, NULL, O_PORT},
        {"priority", required_argument, NULL, O_PRIORITY},
        {"weight", required_argument, NULL, O_WEIGHT},
        {"ttl", required_argument, NULL, O_TTL},
        {"key", required_argument, NULL, O_KEY},
        {"key-name", required_argument, NULL, O_KEYNAME},
        {"allow-unsigned", no_argument, NULL, O_UNSIGNED},
        {"gss", no_argument, NULL, O_GSS},
        {"keytab", required_argument, NULL, O_KEYTAB},
        {"principal", required_argument, NULL, O_PRINCIPAL},
        {"server-principal", required_argument, NULL, O_SPN},
        {"gss-algorithm", required_argument, NULL, O_GSSALG},
        {"tcp", no_argument, NULL, O_TCP},
        {"tls", no_argument, NULL, O_TLS},
        {"tls-ca", required_argument, NULL, O_TLSCA},
        {"tls-name", required_argument, NULL, O_TLSNAME},
        {"tls-cert", required_argument, NULL, O_TLSCERT},
        {"tls-key", required_argument, NULL, O_TLSKEY},
        {"server", required_argument, NULL, O_SERVER},
        {"resolver", required_argument, NULL, O_RESOLVER},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"attempts", required_argument, NULL, O_ATTEMPTS},
        {"verify", no_argument, NULL, O_VERIFY},
        {"verify-timeout", required_argument, NULL, O_VTIMEOUT},
        {"json", no_argument, NULL, O_JSON},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"apply", no_argument, NULL, O_APPLY},
        {"failures", required_argument, NULL, O_FAILURES},
        {"min-age", required_argument, NULL, O_MINAGE},
        {"allow-empty", no_argument, NULL, O_ALLOWEMPTY},
        {"state", required_argument, NULL, O_STATE},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    pub_options_t opt;
    fleet_sweep_options_t sw;
    const char *state_file = DEFAULT_STATE, *sweep_opt = NULL;
    int target_given = 0;
    pub_domain_list_t doms = {0};
    const char *key_file = NULL, *key_name = NULL, *server_arg = NULL;
    char tls_name[KMS_ADDRSTRLEN];
    struct sockaddr_storage server, resolver;
    kms_tsig_key_t key;
    pub_engine_t *eng = NULL;
    ctx_t c = {0};
    uv_loop_t loop;
    char err[300], fqdn[256], canon[KMS_DNS_NAMELEN];
    int rc = 2, ch;
    uint64_t v;

    kms_log_init("kms-publish", 0);
    /* a server that closes a TCP or TLS session while we write to it must
       be an error of that exchange (retried), not the end of the process */
    signal(SIGPIPE, SIG_IGN);
    pub_options_init(&opt);
    fleet_sweep_options_init(&sw);
    memset(&key, 0, sizeof key);
    opterr = 0; /* one line of our own instead of getopt's and ours */
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_DOMAIN:
            if (pub_domains_parse(optarg, &doms, err, sizeof err) < 0) {
                fprintf(stderr, "kms-publish: --domain '%s': %s\n", optarg, err);
                goto out;
            }
            break;
        case O_TARGET:
            opt.target = optarg;
            target_given = 1;
            break;
        case O_PORT:
        case O_PRIORITY:
        case O_WEIGHT:
            if (kms_uint_parse(optarg, ch == O_PORT ? 1 : 0, 65535, &v) < 0) {
                rc = die_usage("bad number (0..65535; port 1..65535):", optarg);
                goto out;
            }
            if (ch == O_PORT)
                opt.port = (uint16_t)v;
            else if (ch == O_PRIORITY)
                opt.priority = (uint16_t)v;
            else
                opt.weight = (uint16_t)v;
            break;
        case O_TTL:
            if (kms_uint_parse(optarg, 0, 0x7fffffff, &v) < 0) {
                rc = die_usage("bad --ttl", optarg);
                goto out;
            }
            opt.ttl = (uint32_t)v;
            break;
        case O_KEY:
            key_file = optarg;
            break;
        case O_KEYNAME:
            key_name = optarg;
            break;
        case O_GSS:
            opt.gss.enabled = 1;
            break;
        case O_KEYTAB:
            opt.gss.keytab = optarg;
            break;
        case O_PRINCIPAL:
            opt.gss.principal = optarg;
            break;
        case O_SPN:
            opt.gss.server_principal = optarg;
            break;
        case O_GSSALG:
            if (pub_gss_alg_parse(optarg, &opt.gss.algorithm) < 0) {
                fprintf(stderr,
                        "kms-publish: --gss-algorithm '%s': use auto, gss-tsig or "
                        "gss.microsoft.com\n",
                        optarg);
                goto out;
            }
            break;
        case O_UNSIGNED:
            opt.allow_unsigned = 1;
            break;
        case O_TCP:
            opt.tcp = 1;
            break;
        case O_TLS:
            opt.tls.enabled = 1;
            break;
        case O_TLSCA:
            opt.tls.ca_file = optarg;
            break;
        case O_TLSNAME:
            opt.tls.name = optarg;
            break;
        case O_TLSCERT:
            opt.tls.cert_file = optarg;
            break;
        case O_TLSKEY:
            opt.tls.key_file = optarg;
            break;
        case O_SERVER:
            server_arg = optarg; /* its default port depends on --tls: parsed below */
            break;
        case O_RESOLVER:
            if (kms_addr_parse(optarg, 53, &resolver) < 0) {
                rc = die_usage("bad address (IP[:PORT] or [IPv6]:PORT):", optarg);
                goto out;
            }
            opt.resolver = (struct sockaddr *)&resolver;
            break;
        case O_TIMEOUT:
        case O_VTIMEOUT:
            if (parse_seconds(optarg, ch == O_TIMEOUT ? &opt.timeout_ms : &opt.verify_timeout_ms) <
                0) {
                rc = die_usage("bad time in seconds:", optarg);
                goto out;
            }
            break;
        case O_ATTEMPTS:
            if (kms_uint_parse(optarg, 1, 100, &v) < 0) {
                rc = die_usage("bad --attempts (1..100):", optarg);
                goto out;
            }
            opt.attempts = (unsigned)v;
            break;
        case O_VERIFY:
            opt.verify = 1;
            break;
        case O_JSON:
            c.json = 1;
            break;
        case O_VERBOSE:
            opt.log_retries = 1;
            break;
        case O_APPLY:
            sw.apply = 1;
            sweep_opt = "--apply";
            break;
        case O_ALLOWEMPTY:
            sw.allow_empty = 1;
            sweep_opt = "--allow-empty";
            break;
        case O_FAILURES:
            if (kms_uint_parse(optarg, 1, 1000000, &v) < 0) {
                rc = die_usage("bad --failures (1..1000000):", optarg);
                goto out;
            }
            sw.failures = (uint32_t)v;
            sweep_opt = "--failures";
            break;
        case O_MINAGE:
            if (kms_duration_parse(optarg, 1, &sw.min_age_s) < 0) {
                rc = die_usage("bad --min-age (a duration: 90s, 30m, 1h, 2d):", optarg);
                goto out;
            }
            sweep_opt = "--min-age";
            break;
        case O_STATE:
            state_file = optarg;
            sweep_opt = "--state";
            break;
        case O_HELP:
            fputs(usage, stdout);
            rc = 0;
            goto out;
        case O_VERSION:
            printf("kms-publish %s\n", KMSDNS_VERSION);
            rc = 0;
            goto out;
        default:
            rc = die_option(argv, longopts);
            goto out;
        }
    }
    if (server_arg) {
        if (kms_addr_parse(server_arg, opt.tls.enabled ? KMS_DOT_PORT : 53, &server) < 0) {
            rc = die_usage("bad address (IP[:PORT] or [IPv6]:PORT):", server_arg);
            goto out;
        }
        opt.server = (struct sockaddr *)&server;
    }
    if (setup_tls(&opt, tls_name) < 0)
        goto out;
    if (optind != argc - 1) {
        fprintf(stderr, "kms-publish: give one operation: publish, unpublish, show or sweep (see "
                        "--help)\n");
        goto out;
    }
    if (strcmp(argv[optind], "sweep") == 0) {
        rc = kp_sweep(&opt, &sw, &doms, key_file, key_name, state_file, c.json, target_given);
        goto out;
    }
    if (sweep_opt) {
        fprintf(stderr, "kms-publish: %s goes with sweep\n", sweep_opt);
        goto out;
    }
    if (strcmp(argv[optind], "publish") == 0)
        c.op = PUB_PUBLISH;
    else if (strcmp(argv[optind], "unpublish") == 0)
        c.op = PUB_UNPUBLISH;
    else if (strcmp(argv[optind], "show") == 0)
        c.op = PUB_SHOW;
    else {
        rc = die_usage("unknown operation", argv[optind]);
        goto out;
    }
    if (doms.n == 0) {
        fprintf(stderr, "kms-publish: give at least one --domain (see --help)\n");
        goto out;
    }
    if (c.op != PUB_SHOW && !opt.target) {
        /* like kmsd: the SRV target defaults to this host's FQDN */
        if (!strchr(kms_host_fqdn(0, fqdn, sizeof fqdn), '.')) {
            fprintf(stderr,
                    "kms-publish: no --target, and this host's name '%s' has no domain to "
                    "make an FQDN of (give --target FQDN)\n",
                    fqdn);
            goto out;
        }
        opt.target = fqdn;
    }
    if (opt.target && kms_dname_canon(opt.target, KMS_DNAME_HOST, canon, sizeof canon) < 0) {
        fprintf(stderr, "kms-publish: %s '%.255s' is not a valid host name: %s%s\n",
                opt.target == fqdn ? "this host's FQDN" : "--target", opt.target,
                kms_dname_why(opt.target, KMS_DNAME_HOST)
                    ? kms_dname_why(opt.target, KMS_DNAME_HOST)
                    : "not a DNS name",
                opt.target == fqdn ? " (give --target FQDN)" : "");
        goto out;
    }
    if (kp_setup_signing(&opt, key_file, key_name, &key, c.op != PUB_SHOW,
                         "no TSIG key: give --key FILE, or --gss for Kerberos (or "
                         "--allow-unsigned if the server accepts unsigned updates)") < 0)
        goto out;
    c.target = opt.target;
    c.port = opt.port;
    c.ttl = opt.ttl;
    c.tls = opt.tls.enabled;

    if (uv_loop_init(&loop) < 0) {
        fprintf(stderr, "kms-publish: cannot create the event loop\n");
        goto out;
    }
    int erc = pub_engine_new(&loop, &opt, &eng);
    if (erc == 0)
        erc = pub_run(eng, c.op, doms.v, doms.n, on_done, &c);
    if (erc < 0) {
        if (erc == KMS_EADDR)
            fprintf(stderr, "kms-publish: no DNS server to ask: give --server or --resolver "
                            "(none in /etc/resolv.conf)\n");
        else
            fprintf(stderr, "kms-publish: %s\n", kms_strerror(erc));
        pub_engine_stop(eng, NULL, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        pub_engine_free(eng);
        uv_loop_close(&loop);
        goto out;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    pub_engine_stop(eng, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pub_engine_free(eng);
    if (uv_loop_close(&loop) != 0)
        kms_warn("event loop not closed cleanly");
    rc = c.ok ? 0 : 1;
out:
    explicit_bzero(&key, sizeof key);
    pub_domain_list_free(&doms);
    return rc;
}
