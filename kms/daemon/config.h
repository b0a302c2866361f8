/*
 * config.h - kmsd's configuration: INI file (libinih) plus command-line
 * overrides.
 *
 * kms_config_defaults() fills the built-in defaults; kms_config_load() reads
 * a file over them; kms_config_set() applies one "section.key=value" the same
 * way the file would (the command line uses it, so both share one validator).
 * Unknown sections or keys and bad values are errors whose message names the
 * file, the line and the key:  "kmsd.conf:7: [host] idle_timeout: 'x' is not
 * a duration".  Every key is documented in docs/configuration.md.
 */
#ifndef KMS_CONFIG_H
#define KMS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define KMS_CONFIG_ERRLEN 512

typedef struct {
    char *name;   /* "corp.test": lower-case, no trailing dot (owned) */
    int has_prio; /* priority and weight were given for this domain */
    uint16_t priority, weight;
} kms_pub_domain_t;

/* Bits of kms_config_t.set: which keys the file or command line gave. */
enum {
    KMS_CFG_SET_ACT_INTERVAL = 1u << 0,
    KMS_CFG_SET_REN_INTERVAL = 1u << 1,
    KMS_CFG_SET_PUBLISH = 1u << 2,
    KMS_CFG_SET_DOMAINS = 1u << 3,
    KMS_CFG_SET_PRIORITY = 1u << 4,
    KMS_CFG_SET_WEIGHT = 1u << 5,
    KMS_CFG_SET_LISTEN = 1u << 6,
    KMS_CFG_SET_CONTROL = 1u << 7, /* control_socket given (else it follows state_dir) */
    KMS_CFG_SET_TARGET = 1u << 8,
};

typedef struct {
    /* [host] */
    char **listen; /* "0.0.0.0:1688", "[::]:1688", "1688" (owned) */
    size_t n_listen;
    char *state_dir;              /* default /var/lib/kmsd */
    char *control_socket;         /* default <state_dir>/kmsd.sock */
    uint32_t activation_interval; /* minutes, 15..43200, default 120 */
    uint32_t renewal_interval;    /* minutes, 15..43200, default 10080 */
    uint32_t max_connections;     /* default 4096 */
    uint32_t idle_timeout;        /* seconds, default 30 */
    uint32_t max_pdu;             /* bytes, default KMS_RPC_MAX_PDU */
    uint32_t ledger_flush;        /* seconds between ledger writes, default 5 */
    char *log_level;              /* error|warning|info|debug, default info */
    /* [dns] */
    int publish;               /* default 1 */
    kms_pub_domain_t *domains; /* default: the domain of target */
    size_t n_domains;
    char *target;              /* default: this host's FQDN */
    uint16_t priority, weight; /* defaults 0, 0 */
    uint32_t ttl;              /* seconds, default 3600 */
    char *server;              /* "127.0.0.1:5300"; NULL: SOA MNAME of the zone */
    char *key_file;            /* BIND key file; NULL: unsigned (needs allow_unsigned) */
    char *key_file_origin;     /* where key_file was given, for errors found when the
                                  file is read: "kmsd.conf:12" or "--set"; NULL: never */
    int allow_unsigned;        /* default 0 */
    uint64_t refresh;          /* seconds, default 24h, >= 1 */
    unsigned set;              /* KMS_CFG_SET_* */
} kms_config_t;

/** Fill built-in defaults (allocates; release with kms_config_free()). 0 or KMS_ENOMEM. */
int kms_config_defaults(kms_config_t *cfg);

/** Read @p path over what @p cfg holds.  On error, @p err (KMS_CONFIG_ERRLEN
 *  bytes) gets one line naming file, line and key; returns KMS_ECONFIG,
 *  KMS_ENOENT (file missing) or KMS_ENOMEM. */
int kms_config_load(kms_config_t *cfg, const char *path, char *err, size_t errlen);

/** Apply one setting as the file would ("host", "idle_timeout", "30"); @p origin
 *  names where it came from in error messages ("--idle-timeout"). */
int kms_config_set(kms_config_t *cfg, const char *section, const char *key, const char *value,
                   const char *origin, char *err, size_t errlen);

/** Read INI text (@p len bytes, need not be NUL-terminated) over what @p cfg
 *  holds, as kms_config_load() does for a file; @p name stands for the file
 *  name in error messages.  KMS_ECONFIG or KMS_ENOMEM. */
int kms_config_load_string(kms_config_t *cfg, const char *text, size_t len, const char *name,
                           char *err, size_t errlen);

/** Deep copy of @p src into @p dst (which is overwritten, not freed).
 *  0 or KMS_ENOMEM (then @p dst is zeroed). Free @p dst with kms_config_free(). */
int kms_config_copy(kms_config_t *dst, const kms_config_t *src);

/** Format a domain list back as "kms.test, corp.test 10 50" (malloc'd; NULL on ENOMEM). */
char *kms_config_format_domains(const kms_pub_domain_t *d, size_t n);

/** Release everything @p cfg owns; leaves it zeroed.  NULL is a no-op. */
void kms_config_free(kms_config_t *cfg);

/** Parse a DnsDomainPublishList ("kms.test, corp.test 10 50") with pub_domains_parse() (the one
 *  parser of that syntax) into kmsd's form.  0, KMS_EINVAL with @p err, or KMS_ENOMEM. */
int kms_config_parse_domains(const char *list, kms_pub_domain_t **out, size_t *n, char *err,
                             size_t errlen);
void kms_config_free_domains(kms_pub_domain_t *d, size_t n);
/** Deep-copy a domain list into *@p out (caller frees with kms_config_free_domains). */
int kms_config_copy_domains(const kms_pub_domain_t *d, size_t n, kms_pub_domain_t **out);

#endif
