/* SPDX-License-Identifier: MIT */
/*
 * kms_publish.h - internal to the kms-publish program: what its main
 * (kms_publish_main.c: usage, options, publish, unpublish, show) and its
 * sweep subcommand (kms_publish_sweep.c) share.
 */
#ifndef KMS_FLEET_KMS_PUBLISH_H
#define KMS_FLEET_KMS_PUBLISH_H

#include "dns/keyfile.h"
#include "fleet/sweep.h"
#include "publisher/domains.h"
#include "publisher/publisher.h"

/**
 * How updates are signed (the checks and the key of --key, --gss,
 * --allow-unsigned) into @p opt; @p key receives a loaded key (the caller
 * wipes it).  @p updates 0: only queries are sent, which are never signed;
 * @p no_key: the line when updates need a key and none is given.
 * 0, or -1 after one line on stderr.
 */
int kp_setup_signing(pub_options_t *opt, const char *key_file, const char *key_name,
                     kms_tsig_key_t *key, int updates, const char *no_key);

/**
 * `kms-publish sweep` with the options main() parsed: reads and saves the
 * state file @p state_file, prints one line per record (or JSON).
 * @return the exit code: 0 the sweep ran, 1 a domain could not be read or
 *         a withdrawal failed, 2 usage or configuration.
 */
int kp_sweep(pub_options_t *opt, fleet_sweep_options_t *sw, pub_domain_list_t *doms,
             const char *key_file, const char *key_name, const char *state_file, int json,
             int target_given);

#endif
