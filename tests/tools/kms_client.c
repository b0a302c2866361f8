/* SPDX-License-Identifier: MIT */
/*
 * kms_client.c - drive one or more KMS RPC exchanges for tests.
 *
 * kms_client [--bind-only] [--windows-bind] [--timeout MS] [--app windows|office2010|office|GUID]
 *            [--sku GUID] [--kms-id GUID] [--client-id GUID] [--required N]
 *            [--workstation NAME] [--repeat N] [--raw-hex HEX] HOST:PORT
 *
 * Prints key=value lines per exchange (a blank line between repeats).  Exit
 * 0 when every exchange completed (a failure HRESULT is printed, not an
 * error), 2 when one failed (connect, bind, fault, bad response), 1 on usage.
 * --raw-hex sends the bytes right after connecting and prints reply=HEX
 * and/or closed=1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/guid.h"
#include "rpc/client.h"

static void usage(void)
{
    fprintf(stderr, "usage: kms_client [--bind-only] [--windows-bind] [--timeout MS] "
                    "[--app windows|office2010|office|GUID] [--sku GUID] [--kms-id GUID] "
                    "[--client-id GUID] [--required N] [--workstation NAME] [--repeat N] "
                    "[--raw-hex HEX] HOST:PORT\n");
}

static int parse_hex(const char *s, kms_wr_t *wr)
{
    size_t n = strlen(s);

    if (n % 2)
        return KMS_EINVAL;
    for (size_t i = 0; i < n; i += 2) {
        char b[3] = {s[i], s[i + 1], 0};
        char *end;
        unsigned long v = strtoul(b, &end, 16);

        if (*end)
            return KMS_EINVAL;
        kms_wr_u8(wr, (uint8_t)v);
    }
    return wr->err;
}

static int parse_app(const char *s, kms_guid_t *g)
{
    if (!strcmp(s, "windows"))
        s = "55c92734-d682-4d71-983e-d6ec3f16059f";
    else if (!strcmp(s, "office2010"))
        s = "59a52881-a989-479d-af46-f275c6370663";
    else if (!strcmp(s, "office"))
        s = "0ff1ce15-a989-479d-af46-f275c6370663";
    return kms_guid_parse(s, g);
}

static void print_result(const kms_rpcc_result_t *r)
{
    char g[KMS_GUID_STRLEN];

    printf("stage=%s\n", kms_rpcc_stage_name(r->stage));
    printf("error=%s\n", r->err ? kms_err_name(r->err) : "0");
    if (r->bind_nak)
        printf("bind_result=nak:%u\n", r->nak_reason);
    else if (r->n_results)
        printf("bind_result=%s:%u:%u\n", r->bind_accepted ? "accepted" : "rejected", r->bind_result,
               r->bind_reason);
    for (unsigned i = 0; i < r->n_results && i < 3; i++)
        printf("bind_result_%u=%u:%u\n", i, r->results[i].result, r->results[i].reason);
    if (r->fault_status)
        printf("fault=0x%08X\n", r->fault_status);
    if (r->have_response) {
        printf("status=0x%08X\n", r->response.status);
        printf("current_count=%u\n", r->response.current_count);
        printf("activation_interval=%u\n", r->response.activation_interval);
        printf("renewal_interval=%u\n", r->response.renewal_interval);
        printf("host_epid=%s\n", r->response.host_epid);
        printf("client_machine_id=%s\n", kms_guid_format(&r->response.client_machine_id, g));
    }
    printf("elapsed_us=%llu\n", (unsigned long long)r->elapsed_us);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"bind-only", no_argument, NULL, 'b'},
                                       {"windows-bind", no_argument, NULL, 'w'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"app", required_argument, NULL, 'a'},
                                       {"sku", required_argument, NULL, 's'},
                                       {"kms-id", required_argument, NULL, 'k'},
                                       {"client-id", required_argument, NULL, 'c'},
                                       {"required", required_argument, NULL, 'n'},
                                       {"workstation", required_argument, NULL, 'W'},
                                       {"repeat", required_argument, NULL, 'r'},
                                       {"raw-hex", required_argument, NULL, 'x'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    kms_rpcc_opts_t o;
    struct sockaddr_storage ss;
    kms_wr_t raw;
    long repeat = 1;
    int opt, have_cmid = 0, rc = 0;

    memset(&o, 0, sizeof o);
    kms_wr_init(&raw);
    o.send_request = 1;
    o.request.required_client_count = 25;
    parse_app("windows", &o.request.app_id);
    snprintf(o.request.workstation, sizeof o.request.workstation, "kms-client");
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        char *end;
        unsigned long v;

        switch (opt) {
        case 'b':
            o.send_request = 0;
            break;
        case 'w':
            o.bind_style = KMS_RPCC_BIND_WINDOWS;
            break;
        case 't':
            v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > 600000)
                goto usage;
            o.connect_timeout_ms = o.exchange_timeout_ms = (unsigned)v;
            break;
        case 'a':
            if (parse_app(optarg, &o.request.app_id))
                goto usage;
            break;
        case 's':
            if (kms_guid_parse(optarg, &o.request.sku_id))
                goto usage;
            break;
        case 'k':
            if (kms_guid_parse(optarg, &o.request.kms_counted_id))
                goto usage;
            break;
        case 'c':
            if (kms_guid_parse(optarg, &o.request.client_machine_id))
                goto usage;
            have_cmid = 1;
            break;
        case 'n':
            v = strtoul(optarg, &end, 10);
            if (*end || v > 0xffffffffUL)
                goto usage;
            o.request.required_client_count = (uint32_t)v;
            break;
        case 'W':
            if (strlen(optarg) >= sizeof o.request.workstation)
                goto usage;
            snprintf(o.request.workstation, sizeof o.request.workstation, "%s", optarg);
            break;
        case 'r':
            repeat = strtol(optarg, &end, 10);
            if (*end || repeat < 1 || repeat > 100000)
                goto usage;
            break;
        case 'x':
            if (parse_hex(optarg, &raw))
                goto usage;
            o.raw = raw.buf ? raw.buf : (const uint8_t *)"";
            o.raw_len = raw.len;
            break;
        default:
            goto usage;
        }
    }
    if (optind + 1 != argc || kms_addr_parse(argv[optind], 1688, &ss) != 0)
        goto usage;
    for (long i = 0; i < repeat; i++) {
        kms_rpcc_result_t r;
        kms_wr_t reply;

        if (!have_cmid && kms_guid_random(&o.request.client_machine_id))
            return 2;
        o.request.request_time = kms_filetime_from_unix(time(NULL));
        kms_wr_init(&reply);
        kms_rpcc_run((struct sockaddr *)&ss, &o, &r, &reply);
        if (i)
            printf("\n");
        if (o.raw) {
            printf("stage=%s\nerror=%s\n", kms_rpcc_stage_name(r.stage),
                   r.err ? kms_err_name(r.err) : "0");
            if (reply.len) {
                printf("reply=");
                for (size_t k = 0; k < reply.len; k++)
                    printf("%02x", reply.buf[k]);
                printf("\n");
            }
            if (r.raw_closed)
                printf("closed=1\n");
            if (r.err && r.err != KMS_ETIMEOUT)
                rc = 2;
        } else {
            print_result(&r);
            if (r.err)
                rc = 2;
        }
        kms_wr_free(&reply);
        fflush(stdout);
    }
    kms_wr_free(&raw);
    return rc;
usage:
    usage();
    kms_wr_free(&raw);
    return 1;
}
