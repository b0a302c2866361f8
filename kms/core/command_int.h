/* SPDX-License-Identifier: MIT */
/*
 * command_int.h - internal to kms/core: a command being run, the helpers
 * every verb file uses, and the verbs the table in command.c points at.
 * The verbs live by subject: verbs_product.c (dli, ipk, upk, ato),
 * verbs_setting.c (sprt, sai, sri, sdns, cdns, sprio, sweight, sdomains,
 * decommission), verbs_status.c (status).
 *
 * Every verb that changes persisted state builds the new state on a copy,
 * writes the file, and only then swaps the copy in and answers OK: a failed
 * write leaves both the file and the running host as they were.
 */
#ifndef KMS_CORE_COMMAND_INT_H
#define KMS_CORE_COMMAND_INT_H

#include "base/json.h"
#include "kms/core/command.h"
#include "kms/core/host_int.h"

struct kms_cmd {
    kms_host_t *h;
    char **tok; /* arguments after the verb, --json removed */
    int ntok;
    int json;
    kms_cmd_result_t *res;
};

/** Append one payload line. */
#define cmd_line(c, ...) kms_cmd_result_line((c)->res, __VA_ARGS__)
/** Fail the command with @p code and a message; returns @p code. */
#define cmd_fail(c, code, ...) kms_cmd_result_fail((c)->res, (code), __VA_ARGS__)

/** Fail the command with its verb's usage (the table's), KMS_EINVAL. */
int cmd_usage(kms_cmd_t *c);

/** Append @p j (taken; NULL: out of memory) as one compact JSON line. */
int cmd_json(kms_cmd_t *c, kms_json_t *j);

/** One "product ..." line as dli shows it. */
void cmd_product_line(kms_cmd_t *c, const kms_product_t *p);
/** A product as a JSON object (NULL on ENOMEM). */
kms_json_t *cmd_product_json(const kms_product_t *p);

/** Persist @p next as the settings file and make it the host's (taken
 *  either way).  0, or the error set on the command. */
int cmd_save_overrides(kms_cmd_t *c, kms_overrides_t *next);

int cmd_verb_status(kms_cmd_t *c);
int cmd_verb_metrics(kms_cmd_t *c);
int cmd_verb_dli(kms_cmd_t *c);
int cmd_verb_ipk(kms_cmd_t *c);
int cmd_verb_upk(kms_cmd_t *c);
int cmd_verb_ato(kms_cmd_t *c);
int cmd_verb_sprt(kms_cmd_t *c);
int cmd_verb_sai(kms_cmd_t *c);
int cmd_verb_sri(kms_cmd_t *c);
int cmd_verb_sdns(kms_cmd_t *c);
int cmd_verb_cdns(kms_cmd_t *c);
int cmd_verb_sprio(kms_cmd_t *c);
int cmd_verb_sweight(kms_cmd_t *c);
int cmd_verb_sdomains(kms_cmd_t *c);
int cmd_verb_decommission(kms_cmd_t *c);
int cmd_verb_recommission(kms_cmd_t *c);

#endif
