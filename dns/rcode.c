/* SPDX-License-Identifier: MIT */
/*
 * rcode.c - one-line explanations of DNS answers (see rcode.h).
 */
#include "dns/rcode.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "base/err.h"

int kms_dns_rcode_err(int rcode)
{
    switch (rcode) {
    case 0:
        return 0;
    case 1:
        return KMS_EDNS_FORMERR;
    case 2:
        return KMS_EDNS_SERVFAIL;
    case 3:
        return KMS_EDNS_NXDOMAIN;
    case 4:
        return KMS_EDNS_NOTIMP;
    case 5:
        return KMS_EDNS_REFUSED;
    case 6:
        return KMS_EDNS_YXDOMAIN;
    case 7:
        return KMS_EDNS_YXRRSET;
    case 8:
        return KMS_EDNS_NXRRSET;
    case 9:
        return KMS_EDNS_NOTAUTH;
    case 10:
        return KMS_EDNS_NOTZONE;
    default:
        return KMS_EDNS_RCODE;
    }
}

const char *kms_dns_rcode_name(int rcode)
{
    static const char *names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                  "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                  "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (rcode >= 0 && rcode < (int)(sizeof names / sizeof names[0]))
        return names[rcode];
    return "RCODE?";
}

const char *kms_tsig_error_name(int e)
{
    switch (e) {
    case 0:
        return "NOERROR";
    case KMS_TSIG_BADSIG:
        return "BADSIG";
    case KMS_TSIG_BADKEY:
        return "BADKEY";
    case KMS_TSIG_BADTIME:
        return "BADTIME";
    case KMS_TSIG_BADTRUNC:
        return "BADTRUNC";
    default:
        return "TSIG-ERROR?";
    }
}

static const char *key_or(const kms_dns_explain_ctx_t *c)
{
    return c->key_name ? c->key_name : "(none)";
}

char *kms_dns_explain(const kms_dns_reply_t *r, const kms_dns_explain_ctx_t *c, char *buf,
                      size_t len)
{
    const char *what = c->what ? c->what : "query";
    const char *srv = c->server ? c->server : "the server";
    const char *rc = kms_dns_rcode_name(r->rcode);
    const char *zone = c->zone ? c->zone : "the zone";
    int update = c->what && strcmp(c->what, "update") == 0;

    switch (r->status) {
    case 0:
        snprintf(buf, len, "%s accepted by %s", what, srv);
        break;
    case KMS_ETSIG_BADSIG:
        snprintf(buf, len,
                 "%s refused by %s: %s (TSIG BADSIG): key \"%s\" does not match the server's", what,
                 srv, rc, key_or(c));
        break;
    case KMS_ETSIG_BADKEY:
        /* Knot answers a key its ACL does not allow the change the same way */
        snprintf(buf, len,
                 "%s refused by %s: %s (TSIG BADKEY): the server does not know key \"%s\", or "
                 "(Knot) its ACL does not let that key make this change",
                 what, srv, rc, key_or(c));
        break;
    case KMS_ETSIG_BADTIME: {
        long long skew = (long long)(r->server_time - r->local_time);
        if (r->tsig_error == KMS_TSIG_BADTIME)
            snprintf(buf, len,
                     "%s refused by %s: %s (TSIG BADTIME): clocks differ by %lld s (server %s); "
                     "fix the time on one side",
                     what, srv, rc, llabs(skew), skew >= 0 ? "ahead" : "behind");
        else
            snprintf(buf, len,
                     "answer from %s signed %lld s away from our clock (TSIG time check failed)",
                     srv, skew);
        break;
    }
    case KMS_ETSIG_UNSIGNED:
        snprintf(buf, len, "answer from %s to the %s is not signed although the request was", srv,
                 what);
        break;
    case KMS_ETSIG_VERIFY:
        snprintf(buf, len, "answer from %s fails TSIG verification with key \"%s\"", srv,
                 key_or(c));
        break;
    case KMS_EDNS_NOTAUTH:
        if (!update || r->signed_)
            snprintf(buf, len,
                     "%s refused by %s: NOTAUTH: the server is not authoritative (primary) for %s",
                     what, srv, zone);
        else if (!c->key_name) /* Knot refuses an unsigned update so */
            snprintf(buf, len,
                     "%s refused by %s: NOTAUTH: the server takes no unsigned update for %s (give "
                     "a TSIG key), or is not its primary",
                     what, srv, zone);
        else
            snprintf(buf, len,
                     "%s refused by %s: NOTAUTH, answer unsigned and no TSIG error given: the "
                     "server is not the primary for %s, or did not take key \"%s\" (unknown, "
                     "another secret, or clocks more than 5 minutes apart)",
                     what, srv, zone, c->key_name);
        break;
    case KMS_EDNS_REFUSED:
        if (c->key_name && update && !r->signed_)
            /* PowerDNS answers every TSIG failure so: no TSIG record, no error */
            snprintf(buf, len,
                     "%s refused by %s: REFUSED, answer unsigned and no TSIG error given: the "
                     "server did not take key \"%s\" (unknown to it, another secret, or clocks "
                     "more than 5 minutes apart), or its policy refuses this change",
                     what, srv, c->key_name);
        else if (c->key_name && c->gss)
            snprintf(buf, len,
                     "%s refused by %s: REFUSED: the zone's policy does not let %s make this "
                     "change (Kerberos self rules, krb5-self/ms-self in BIND and AD's secure "
                     "updates, allow only records whose target is the principal's own host)",
                     what, srv, c->key_name);
        else if (c->key_name)
            snprintf(buf, len,
                     "%s refused by %s: REFUSED: key \"%s\" may not make this change "
                     "(update-policy)",
                     what, srv, c->key_name);
        else
            snprintf(buf, len, "%s refused by %s: REFUSED: the server does not allow this %s%s",
                     what, srv, what, c->what && c->what[0] == 'u' ? " without a TSIG key" : "");
        break;
    case KMS_EDNS_NOTZONE:
        snprintf(buf, len, "%s refused by %s: NOTZONE: a record lies outside %s", what, srv, zone);
        break;
    case KMS_EDNS_SERVFAIL:
        snprintf(buf, len, "%s failed at %s: SERVFAIL (server failure%s)", what, srv,
                 c->what && c->what[0] == 'u'
                     ? "; BIND also answers so when an RRset would exceed max-records-per-type"
                     : "");
        break;
    case KMS_EDNS_FORMERR:
        snprintf(buf, len, "%s rejected by %s: FORMERR: the server could not parse the message",
                 what, srv);
        break;
    case KMS_EDNS_NOTIMP:
        snprintf(buf, len, "%s rejected by %s: NOTIMP: the server does not implement it", what,
                 srv);
        break;
    case KMS_EDNS_NXDOMAIN:
        snprintf(buf, len, "%s answered by %s: NXDOMAIN: name does not exist", what, srv);
        break;
    default:
        snprintf(buf, len, "%s failed at %s: %s (%s)", what, srv, rc, kms_strerror(r->status));
        break;
    }
    return buf;
}

char *kms_dns_explain_err(int err, const kms_dns_explain_ctx_t *c, char *buf, size_t len)
{
    const char *what = c->what ? c->what : "query";
    const char *srv = c->server ? c->server : "the server";
    switch (err) {
    case KMS_ETIMEOUT:
        snprintf(buf, len, "no answer from %s to the %s: timed out", srv, what);
        break;
    case KMS_ECONNREFUSED:
        snprintf(buf, len,
                 "no answer from %s to the %s: connection refused (is the server running?)", srv,
                 what);
        break;
    case KMS_EDNS_BADANSWER:
        snprintf(buf, len, "malformed answer from %s to the %s", srv, what);
        break;
    default:
        snprintf(buf, len, "%s to %s failed: %s", what, srv, kms_strerror(err));
        break;
    }
    return buf;
}
