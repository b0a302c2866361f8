/* SPDX-License-Identifier: MIT */
/*
 * kms_locate_main.c - kms-locate: list the KMS hosts a client would try, in
 * the order it would try them, why, and (with --probe) which one answers.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/log.h"
#include "dns/name.h"
#include "dns/query.h"
#include "resolver/cache.h"
#include "resolver/client_id.h"
#include "resolver/domains.h"
#include "resolver/locate.h"
#include "resolver/outcome.h"
#include "resolver/report.h"
#include "dns/resolvconf.h"

#define MAX_LIST 16

static void usage(FILE *f)
{
    fprintf(f, "Usage: kms-locate [OPTION]...\n"
               "List the KMS hosts a Windows KMS client would try, in its order, and why.\n"
               "\n"
               "  --kms HOST[:PORT]     manual KMS host (slmgr /skms): no SRV lookup (a name is\n"
               "                        only resolved to its addresses)\n"
               "  --lookup-domain D     the only domain to search (slmgr /skms-domain)\n"
               "  --domain D            search D (repeatable); replaces the automatic list\n"
               "                        (primary DNS suffix, then the resolv.conf search list)\n"
               "  --hostname FQDN       this host's FQDN for the primary DNS suffix, as is\n"
               "                        (default: $KMSDNS_HOSTNAME, else gethostname() and,\n"
               "                        for a short name, its canonical name from\n"
               "                        /etc/hosts or DNS, waited for at most --timeout)\n"
               "  --server IP[:PORT]    DNS server (repeatable; default: resolv.conf nameservers)\n"
               "  --resolv-conf FILE    resolv.conf to read (default /etc/resolv.conf)\n"
               "  --probe               TCP connect + RPC bind to each host in order; stop at\n"
               "                        the first that answers\n"
               "  --all                 with --probe: probe every host\n"
               "  --activation-check    with --probe: also send an activation request (kmsdns\n"
               "                        plain encoding) and report 0xC004F038 when the host's\n"
               "                        count is below the client's threshold (default 25);\n"
               "                        its client machine ID is stable per machine (from\n"
               "                        /etc/machine-id, else a client-id file beside the\n"
               "                        host cache), so repeated checks count once\n"
               "  --required-count N    threshold for --activation-check (25 Windows client,\n"
               "                        5 Windows Server or Office)\n"
               "  --no-cache            ignore the host cache (slmgr /ckhc); with the cache and\n"
               "                        --probe (no --all) a cached host that answers\n"
               "                        ends discovery before any SRV query\n"
               "  --cache-file PATH     host cache (default $XDG_STATE_HOME/kmsdns/host-cache\n"
               "                        or ~/.cache/kmsdns/host-cache)\n"
               "  --timeout SEC         wait per DNS server and query (each server is asked\n"
               "                        once, in order), and per probe step (connect, bind)\n"
               "                        and address (default 2)\n"
               "  --seed N              seed of the RFC 2782 weighted order (deterministic)\n"
               "  --json                one JSON object on stdout\n"
               "  --explain             say why each host is where it is\n"
               "  --help, --version\n"
               "\n"
               "Outcomes (text, JSON \"outcome\") and exit codes:\n"
               "  0x00000000  0  a host was found (with --probe: and answered)\n"
               "  0x8007232B 10  DNS name does not exist (NXDOMAIN)\n"
               "  0x8007251D 11  no records (no SRV records, or the single target \".\")\n"
               "  0x8007232A 12  DNS server failure (SERVFAIL)\n"
               "  0x8007232D 13  DNS query refused\n"
               "  0x800705B4 14  DNS server did not answer (timeout, port closed)\n"
               "  0xC004F074 15  no KMS host could be contacted (every host found in DNS or\n"
               "                 the cache failed the probe; each shows 0x800706BA)\n"
               "  0xC004F038 16  count insufficient (--activation-check)\n"
               "  0x800706BA 17  RPC server unavailable: the manual host (--kms) did not answer\n"
               "  other      18  other DNS failure (FORMERR, NOTIMP, malformed answer)\n"
               "             1   internal error\n"
               "             2   usage error\n"
               "With no record anywhere the outcome is that of the last domain queried.\n");
}

typedef struct {
    loc_result_t *res;
    int err;
    int done;
} run_t;

static void on_done(void *ud, int err, loc_result_t *res)
{
    run_t *r = ud;

    r->err = err;
    r->res = res;
    r->done = 1;
}

enum {
    O_KMS = 256,
    O_LOOKUP,
    O_DOMAIN,
    O_HOSTNAME,
    O_SERVER,
    O_RESOLV,
    O_PROBE,
    O_ALL,
    O_ACTCHECK,
    O_REQUIRED,
    O_NOCACHE,
    O_CACHEFILE,
    O_TIMEOUT,
    O_SEED,
    O_JSON,
    O_EXPLAIN,
    O_HELP,
    O_VERSION,
};

static const struct option longopts[] = {
    {"kms", required_argument, NULL, O_KMS},
    {"lookup-domain", required_argument, NULL, O_LOOKUP},
    {"domain", required_argument, NULL, O_DOMAIN},
    {"hostname", required_argument, NULL, O_HOSTNAME},
    {"server", required_argument, NULL, O_SERVER},
    {"resolv-conf", required_argument, NULL, O_RESOLV},
    {"probe", no_argument, NULL, O_PROBE},
    {"all", no_argument, NULL, O_ALL},
    {"activation-check", no_argument, NULL, O_ACTCHECK},
    {"required-count", required_argument, NULL, O_REQUIRED},
    {"no-cache", no_argument, NULL, O_NOCACHE},
    {"cache-file", required_argument, NULL, O_CACHEFILE},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"seed", required_argument, NULL, O_SEED},
    {"json", no_argument, NULL, O_JSON},
    {"explain", no_argument, NULL, O_EXPLAIN},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0},
};

/* 1, after one line naming @p opt, the value and what is wrong with it,
 * when @p name is not a domain name a KMS client could query. */
static int bad_name(const char *opt, const char *name)
{
    const char *why = kms_dname_why(name, KMS_DNAME_ANY);
    char shown[100];
    size_t i;

    if (!why && strcmp(name, ".") == 0)
        why = "the root is not a domain to search";
    if (!why)
        return 0;
    /* the value as typed, control characters shown as '?' */
    for (i = 0; name[i] && i + 1 < sizeof shown; i++)
        shown[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    shown[i] = '\0';
    kms_error("%s '%s%s' is not a valid domain name: %s", opt, shown, name[i] ? "..." : "", why);
    return 1;
}

int main(int argc, char **argv)
{
    const char *servers[MAX_LIST], *domains[MAX_LIST];
    size_t n_servers = 0, n_domains = 0, n_dom = 0;
    const char *manual = NULL, *lookup = NULL, *fqdn = NULL, *resolv = NULL;
    char *cache_path = NULL, err[256];
    int probe = 0, all = 0, no_cache = 0, json = 0, explain = 0, c, rc, code;
    uint64_t timeout_s = 2, seed = 0, required = 0;
    kms_resolvconf_t rcf;
    kms_guid_t client_id;
    loc_domain_t doms[LOC_MAX_DOMAINS];
    loc_domain_opts_t dopts;
    loc_opts_t lo;
    kms_dnsq_opts_t qo;
    kms_dnsq_t *dns = NULL;
    uv_loop_t loop;
    run_t run = {0};

    kms_log_init("kms-locate", 0);
    opterr = 0; /* one line of our own instead of getopt's two */
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_KMS:
            manual = optarg;
            break;
        case O_LOOKUP:
            lookup = optarg;
            break;
        case O_DOMAIN:
            if (n_domains >= MAX_LIST) {
                kms_error("too many --domain (at most %d)", MAX_LIST);
                return LOC_EXIT_USAGE;
            }
            domains[n_domains++] = optarg;
            break;
        case O_HOSTNAME:
            fqdn = optarg;
            break;
        case O_SERVER:
            if (n_servers >= KMS_DNSQ_MAX_SERVERS) {
                kms_error("too many --server (at most %d)", KMS_DNSQ_MAX_SERVERS);
                return LOC_EXIT_USAGE;
            }
            servers[n_servers++] = optarg;
            break;
        case O_RESOLV:
            resolv = optarg;
            break;
        case O_PROBE:
            probe = 1;
            break;
        case O_ALL:
            all = 1;
            break;
        case O_ACTCHECK:
            if (!required)
                required = 25;
            break;
        case O_REQUIRED:
            if (kms_uint_parse(optarg, 1, 100000, &required) != 0) {
                kms_error("--required-count %s: expected a number from 1", optarg);
                return LOC_EXIT_USAGE;
            }
            break;
        case O_NOCACHE:
            no_cache = 1;
            break;
        case O_CACHEFILE:
            free(cache_path);
            cache_path = strdup(optarg);
            break;
        case O_TIMEOUT:
            if (kms_duration_parse(optarg, 1, &timeout_s) != 0 || timeout_s == 0 ||
                timeout_s > 300) {
                kms_error("--timeout %s: expected seconds between 1 and 300", optarg);
                return LOC_EXIT_USAGE;
            }
            break;
        case O_SEED:
            if (kms_uint_parse(optarg, 1, UINT64_MAX, &seed) != 0) {
                kms_error("--seed %s: expected a positive number", optarg);
                return LOC_EXIT_USAGE;
            }
            break;
        case O_JSON:
            json = 1;
            break;
        case O_EXPLAIN:
            explain = 1;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        case O_VERSION:
            printf("kms-locate %s\n", KMSDNS_VERSION);
            return 0;
        default:
            kms_error("%s \"%s\" (try --help)", optopt ? "missing argument for" : "unknown option",
                      argv[optind - 1]);
            return LOC_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        kms_error("unexpected argument \"%s\" (try --help)", argv[optind]);
        return LOC_EXIT_USAGE;
    }
    if (all && !probe) {
        kms_error("--all needs --probe");
        return LOC_EXIT_USAGE;
    }
    if (required && !probe) {
        kms_error("--activation-check needs --probe");
        return LOC_EXIT_USAGE;
    }
    if (manual) {
        char h[LOC_HOST_MAX];
        uint16_t p;
        if (loc_parse_hostport(manual, h, sizeof(h), &p) != 0) {
            kms_error("--kms %s: expected HOST[:PORT]", manual);
            return LOC_EXIT_USAGE;
        }
        if (!strchr(h, ':') && bad_name("--kms", h)) /* a name; IPv6 literals have ':' */
            return LOC_EXIT_USAGE;
    }
    /* Names a client could never send are refused here, not sent to DNS. */
    if ((lookup && bad_name("--lookup-domain", lookup)) || (fqdn && bad_name("--hostname", fqdn)))
        return LOC_EXIT_USAGE;
    for (size_t i = 0; i < n_domains; i++)
        if (bad_name("--domain", domains[i]))
            return LOC_EXIT_USAGE;

    rc = kms_resolvconf_load(resolv, &rcf);
    if (rc == 0 && resolv) {
        FILE *f = fopen(resolv, "r"); /* an explicit file must exist */
        if (!f)
            rc = KMS_ENOENT;
        else
            fclose(f);
    }
    if (rc != 0) {
        kms_error("%s: %s", resolv ? resolv : "/etc/resolv.conf", kms_strerror(rc));
        return LOC_EXIT_USAGE;
    }
    memset(&dopts, 0, sizeof(dopts));
    dopts.manual_host = manual;
    dopts.lookup_domain = lookup;
    dopts.explicit_domains = domains;
    dopts.n_explicit = n_domains;
    dopts.fqdn = fqdn;
    dopts.fqdn_wait_ms = (unsigned)timeout_s * 1000u;
    dopts.rc = &rcf;
    rc = loc_domains_build(&dopts, doms, &n_dom);
    if (rc != 0) { /* every given name was checked above */
        kms_error("cannot build the domain list: %s", kms_strerror(rc));
        return LOC_EXIT_USAGE;
    }
    if (required) {
        /* one client machine ID per machine, so repeated checks count once */
        char *cid_path = loc_client_id_path(cache_path);
        loc_cid_source_t src;

        loc_client_id(NULL, cid_path, &client_id, &src);
        if (src == LOC_CID_RANDOM)
            kms_warn("no machine ID and no writable %s: a new client machine ID for this run",
                     cid_path ? cid_path : "client-id file");
        free(cid_path);
    }
    if (no_cache) {
        free(cache_path);
        cache_path = NULL;
    } else if (!cache_path) {
        cache_path = loc_cache_default_path();
    }

    uv_loop_init(&loop);
    memset(&qo, 0, sizeof(qo));
    qo.servers = servers;
    qo.n_servers = n_servers;
    qo.resolv_conf = resolv;
    qo.timeout_ms = (unsigned)timeout_s * 1000u;
    qo.tries = 1; /* one round over the servers: a query waits at most n x timeout */
    rc = kms_dnsq_new(&loop, &qo, &dns, err, sizeof(err));
    if (rc != 0) {
        kms_error("%s", err[0] ? err : kms_strerror(rc));
        uv_loop_close(&loop);
        free(cache_path);
        return rc == KMS_EADDR || rc == KMS_ERANGE ? LOC_EXIT_USAGE : LOC_EXIT_INTERNAL;
    }
    memset(&lo, 0, sizeof(lo));
    lo.manual_host = manual;
    lo.domains = doms;
    lo.n_domains = n_dom;
    lo.probe = probe;
    lo.all = all;
    lo.probe_timeout_ms = (unsigned)timeout_s * 1000u;
    lo.cache_path = cache_path;
    lo.seed = seed;
    lo.activation_required = (uint32_t)required;
    lo.client_id = required ? &client_id : NULL;
    rc = loc_locate_start(&loop, dns, &lo, on_done, &run);
    if (rc == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
    kms_dnsq_stop(dns, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    kms_dnsq_free(dns);
    uv_loop_close(&loop);
    free(cache_path);
    if (rc == 0)
        rc = run.err;
    if (rc != 0 || !run.res) {
        kms_error("discovery failed: %s", kms_strerror(rc ? rc : KMS_EIO));
        loc_result_free(run.res);
        return LOC_EXIT_INTERNAL;
    }
    if (json) {
        char *text = loc_report_json(run.res, explain);
        if (!text) {
            kms_error("%s", kms_strerror(KMS_ENOMEM));
            loc_result_free(run.res);
            return LOC_EXIT_INTERNAL;
        }
        fputs(text, stdout);
        free(text);
    } else {
        loc_report_text(stdout, run.res, explain);
    }
    code = loc_hr_exit(run.res->outcome);
    loc_result_free(run.res);
    return code;
}
