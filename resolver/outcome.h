/* SPDX-License-Identifier: MIT */
/*
 * outcome.h - discovery outcomes as a Windows KMS client reports them.
 *
 * Every domain result and the final result carry an HRESULT a user knows
 * from slmgr and the event log, and kms-locate exits with a distinct code
 * for each (documented in `kms-locate --help` and the README):
 *
 *   HRESULT      meaning                                          exit
 *   0x00000000   a KMS host was found (and answered, with --probe)   0
 *   0x8007232B   DNS name does not exist (NXDOMAIN)                 10
 *   0x8007251D   no records (NODATA, or the SRV target ".")         11
 *   0x8007232A   DNS server failure (SERVFAIL)                      12
 *   0x8007232D   DNS query refused (REFUSED)                        13
 *   0x800705B4   DNS server did not answer (timeout/unreachable)    14
 *   0xC004F074   no KMS host could be contacted                     15
 *   0xC004F038   the host's count is below the client's threshold   16
 *   0x800706BA   RPC server unavailable: the manual host (--kms)    17
 *                did not answer (each failed host's probe shows it too)
 *   other        other DNS failure (FORMERR, NOTIMP, bad answer)    18
 *   usage error 2, internal error 1.
 */
#ifndef KMS_RESOLVER_OUTCOME_H
#define KMS_RESOLVER_OUTCOME_H

#include <stdint.h>

#define LOC_HR_OK           0x00000000u
#define LOC_HR_NXDOMAIN     0x8007232Bu /* DNS_ERROR_RCODE_NAME_ERROR (9003) */
#define LOC_HR_NO_RECORDS   0x8007251Du /* DNS_INFO_NO_RECORDS (9501) */
#define LOC_HR_SERVFAIL     0x8007232Au /* DNS_ERROR_RCODE_SERVER_FAILURE (9002) */
#define LOC_HR_REFUSED      0x8007232Du /* DNS_ERROR_RCODE_REFUSED (9005) */
#define LOC_HR_FORMERR      0x80072329u /* DNS_ERROR_RCODE_FORMAT_ERROR (9001) */
#define LOC_HR_NOTIMP       0x8007232Cu /* DNS_ERROR_RCODE_NOT_IMPLEMENTED (9004) */
#define LOC_HR_TIMEOUT      0x800705B4u /* ERROR_TIMEOUT (1460) */
#define LOC_HR_INVALID_DATA 0x8007000Du /* ERROR_INVALID_DATA: malformed answer */
#define LOC_HR_RPC_UNAVAIL  0x800706BAu /* RPC_S_SERVER_UNAVAILABLE (1722) */
#define LOC_HR_NO_HOST      0xC004F074u /* no KMS host could be contacted */
#define LOC_HR_COUNT_LOW    0xC004F038u /* count insufficient */

#define LOC_EXIT_OK       0
#define LOC_EXIT_INTERNAL 1
#define LOC_EXIT_USAGE    2

/** HRESULT for a DNS query status (KMS_E*; 0 gives LOC_HR_OK). */
uint32_t loc_hr_from_dns(int status);

/** One-line meaning of an HRESULT ("DNS name does not exist"). */
const char *loc_hr_text(uint32_t hr);

/** Exit code of kms-locate for a final HRESULT. */
int loc_hr_exit(uint32_t hr);

#endif
