/* SPDX-License-Identifier: MIT */
/*
 * outcome.c - HRESULTs and exit codes of discovery (see outcome.h).
 */
#include "resolver/outcome.h"

#include "base/err.h"

uint32_t loc_hr_from_dns(int status)
{
    switch (status) {
    case 0:
        return LOC_HR_OK;
    case KMS_EDNS_NXDOMAIN:
        return LOC_HR_NXDOMAIN;
    case KMS_EDNS_NODATA:
        return LOC_HR_NO_RECORDS;
    case KMS_EDNS_SERVFAIL:
        return LOC_HR_SERVFAIL;
    case KMS_EDNS_REFUSED:
        return LOC_HR_REFUSED;
    case KMS_EDNS_FORMERR:
        return LOC_HR_FORMERR;
    case KMS_EDNS_NOTIMP:
        return LOC_HR_NOTIMP;
    case KMS_ETIMEOUT:
    case KMS_ECONNREFUSED:
    case KMS_ECLOSED:
        return LOC_HR_TIMEOUT;
    default:
        return LOC_HR_INVALID_DATA;
    }
}

const char *loc_hr_text(uint32_t hr)
{
    switch (hr) {
    case LOC_HR_OK:
        return "KMS host found";
    case LOC_HR_NXDOMAIN:
        return "DNS name does not exist";
    case LOC_HR_NO_RECORDS:
        return "no records found for the given DNS query";
    case LOC_HR_SERVFAIL:
        return "DNS server failure";
    case LOC_HR_REFUSED:
        return "DNS server refused the query";
    case LOC_HR_FORMERR:
        return "DNS server could not interpret the query";
    case LOC_HR_NOTIMP:
        return "DNS server does not support the query";
    case LOC_HR_TIMEOUT:
        return "DNS server did not answer (timeout)";
    case LOC_HR_INVALID_DATA:
        return "malformed DNS answer";
    case LOC_HR_RPC_UNAVAIL:
        return "the RPC server is unavailable";
    case LOC_HR_NO_HOST:
        return "no Key Management Service (KMS) host could be contacted";
    case LOC_HR_COUNT_LOW:
        return "the count reported by the KMS host is insufficient";
    }
    return "unknown outcome";
}

int loc_hr_exit(uint32_t hr)
{
    switch (hr) {
    case LOC_HR_OK:
        return LOC_EXIT_OK;
    case LOC_HR_NXDOMAIN:
        return 10;
    case LOC_HR_NO_RECORDS:
        return 11;
    case LOC_HR_SERVFAIL:
        return 12;
    case LOC_HR_REFUSED:
        return 13;
    case LOC_HR_TIMEOUT:
        return 14;
    case LOC_HR_NO_HOST:
        return 15;
    case LOC_HR_COUNT_LOW:
        return 16;
    case LOC_HR_RPC_UNAVAIL:
        return 17;
    default:
        return 18;
    }
}
