/* SPDX-License-Identifier: MIT */
/*
 * report.h - a discovery result for people (text, --explain) and programs
 * (--json: one object).
 *
 * JSON shape:
 *   { "outcome": "0x8007232B", "outcome_text": "...", "exit": 10,
 *     "queries": N, "seed": S, "cache": "off|empty|hit|corrupt",
 *     "domains": [ {"name", "query", "source", "result", "outcome", "records"} ],
 *     "hosts": [ {"target", "port", "priority", "weight", "source",
 *                 "addresses": [...], "addresses_from", "why",
 *                 "probe": {"result", "outcome", "address", "ms"}} ],
 *     "answered": "target:port" | null }
 */
#ifndef KMS_RESOLVER_REPORT_H
#define KMS_RESOLVER_REPORT_H

#include <stdio.h>

#include "resolver/locate.h"

/** Print the text listing (with reasons when @p explain) to @p f. */
void loc_report_text(FILE *f, const loc_result_t *r, int explain);

/** The JSON text (one line + newline), malloc'd; NULL on ENOMEM. */
char *loc_report_json(const loc_result_t *r, int explain);

/** "0x8007232B" into @p buf (11 bytes). */
char *loc_hr_format(uint32_t hr, char *buf);

#endif
