/* SPDX-License-Identifier: MIT */
/*
 * config.h - kmsd's configuration: the INI file (libinih) and the
 * command-line overrides, driven by one table of keys.
 *
 * Every key is one row of the table in config.c: section, name, type,
 * default (written as it would be in the file), range, and whether a
 * SIGHUP can change it.  The table alone drives parsing (file and --set go
 * through the same setter), the defaults, copying and freeing, what a
 * reload keeps, and the test that holds docs/configuration.md and kmsd(1)
 * to the same list of keys.  Adding a key is adding a row and a field.
 *
 * Lifecycle of a configuration:
 *
 *     kms_config_defaults(&cfg);                  // the table's defaults
 *     kms_config_load(&cfg, path, err, errlen);   // the file over them
 *     kms_config_set(&cfg, "host", "idle_timeout", "10", "--set", ...);
 *     kms_config_finish(&cfg, err, errlen);       // derived values
 *     ...
 *     kms_config_free(&cfg);
 *
 * kms_config_finish() fills what follows from other keys when they were
 * not given: control_socket from state_dir, target from this host's FQDN
 * (a lookup bounded to 2 s, done only then), domains from the target's
 * domain, the server's port when it gave none (53, 853 with tls).  Errors
 * name file, line and key:
 * "kmsd.conf:7: [host] idle_timeout: 'x' is not a duration (...)".  Every
 * key is documented in docs/configuration.md and kmsd(1).
 */
#ifndef KMS_DAEMON_CONFIG_H
#define KMS_DAEMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kms/core/host.h"
#include "publisher/domains.h"

#define KMS_CONFIG_ERRLEN 512

/** The keys, in table order (config.c).  A key's bit in kms_config_t.set
 *  is 1ull << its id. */
typedef enum {
    KMS_CFG_LISTEN,
    KMS_CFG_STATE_DIR,
    KMS_CFG_CONTROL_SOCKET,
    KMS_CFG_ACTIVATION_INTERVAL,
    KMS_CFG_RENEWAL_INTERVAL,
    KMS_CFG_MAX_CONNECTIONS,
    KMS_CFG_IDLE_TIMEOUT,
    KMS_CFG_MAX_PDU,
    KMS_CFG_LEDGER_FLUSH,
    KMS_CFG_LOG_LEVEL,
    KMS_CFG_METRICS_FILE,
    KMS_CFG_METRICS_INTERVAL,
    KMS_CFG_PUBLISH,
    KMS_CFG_DOMAINS,
    KMS_CFG_TARGET,
    KMS_CFG_PRIORITY,
    KMS_CFG_WEIGHT,
    KMS_CFG_TTL,
    KMS_CFG_SERVER,
    KMS_CFG_KEY_FILE,
    KMS_CFG_ALLOW_UNSIGNED,
    KMS_CFG_REFRESH,
    KMS_CFG_CHECK,
    KMS_CFG_VERIFY,
    KMS_CFG_VERIFY_TIMEOUT,
    KMS_CFG_GSS_TSIG,
    KMS_CFG_KEYTAB,
    KMS_CFG_PRINCIPAL,
    KMS_CFG_SERVER_PRINCIPAL,
    KMS_CFG_GSS_ALGORITHM,
    KMS_CFG_TLS,
    KMS_CFG_TLS_CA_FILE,
    KMS_CFG_TLS_NAME,
    KMS_CFG_TLS_CERT_FILE,
    KMS_CFG_TLS_KEY_FILE,
    KMS_CFG_NKEYS
} kms_cfg_id_t;

typedef struct {
    /* [host] */
    struct sockaddr_storage *listen; /**< port 0: the host's port (kms/daemon/listen.h) */
    size_t n_listen;
    char *state_dir;
    char *control_socket;         /**< "" until finished: <state_dir>/kmsd.sock */
    uint32_t activation_interval; /**< minutes */
    uint32_t renewal_interval;    /**< minutes */
    uint32_t max_connections;
    uint32_t idle_timeout; /**< seconds */
    uint32_t max_pdu;      /**< bytes of one PDU */
    uint32_t ledger_flush; /**< seconds */
    char *log_level;
    char *metrics_file;        /**< NULL: none */
    uint32_t metrics_interval; /**< seconds */
    /* [dns] */
    int publish;
    pub_domain_list_t domains; /**< empty until finished: the target's domain */
    char *target;              /**< NULL until finished: this host's FQDN */
    uint16_t priority, weight;
    uint32_t ttl;                   /**< seconds */
    struct sockaddr_storage server; /**< ss_family 0: none (the SOA MNAME) */
    char *key_file;                 /**< NULL: none */
    int allow_unsigned;
    uint64_t refresh;        /**< seconds */
    uint64_t check;          /**< seconds; 0: no check between refreshes */
    int verify;              /**< wait until every name server serves the change */
    uint32_t verify_timeout; /**< seconds */
    int gss_tsig;            /**< sign with Kerberos (GSS-TSIG) */
    char *keytab;            /**< NULL: the default keytab (KRB5_KTNAME) */
    char *principal;         /**< NULL: host/<target> */
    char *server_principal;  /**< NULL: DNS/<the zone's primary> */
    char *gss_algorithm;     /**< "auto", "gss-tsig", "gss.microsoft.com" */
    int tls;                 /**< updates and the primary's queries over DNS-over-TLS */
    char *tls_ca_file;       /**< NULL: the system store */
    char *tls_name;          /**< NULL: the primary's name, or the [dns] server address */
    char *tls_cert_file;     /**< client certificate; NULL: none */
    char *tls_key_file;      /**< its key; NULL: in tls_cert_file */
    /* bookkeeping */
    uint64_t set;                /**< keys the file or the command line gave (1ull << id) */
    char *origin[KMS_CFG_NKEYS]; /**< where each given key came from: "kmsd.conf:12", "--set" */
} kms_config_t;

/** The value types of the table. */
typedef enum {
    KMS_CFG_T_LISTEN,   /**< address list (listen.h) */
    KMS_CFG_T_PATH,     /**< absolute path */
    KMS_CFG_T_SOCKPATH, /**< absolute path shorter than 108 bytes (a Unix socket) */
    KMS_CFG_T_MINUTES,  /**< duration, bare number = minutes, whole minutes */
    KMS_CFG_T_SECONDS,  /**< duration, bare number = seconds */
    KMS_CFG_T_UINT,     /**< whole number */
    KMS_CFG_T_BOOL,     /**< yes/no, true/false, on/off, 1/0 */
    KMS_CFG_T_LOGLEVEL, /**< error, warning, info, debug */
    KMS_CFG_T_DOMAINS,  /**< DnsDomainPublishList (publisher/domains.h) */
    KMS_CFG_T_HOSTNAME, /**< a host name (dns/name.h, host syntax) */
    KMS_CFG_T_ADDRESS,  /**< numeric address[:port]; empty: none.  Without a port, port 0
                             until kms_config_finish() (53, or 853 with [dns] tls) */
    KMS_CFG_T_FILE,     /**< a path; empty: none */
    KMS_CFG_T_STRING,   /**< text without spaces; empty: none */
    KMS_CFG_T_GSSALG,   /**< auto, gss-tsig, gss.microsoft.com */
} kms_cfg_type_t;

/* Flags of a table row. */
enum {
    KMS_CFG_RESTART = 1u << 0,   /**< taken at start only: a reload keeps the running value */
    KMS_CFG_EMPTY = 1u << 1,     /**< an empty value is allowed (and means "none") */
    KMS_CFG_MULTILINE = 1u << 2, /**< may continue on indented lines (a list) */
};

/** One row of the table. */
typedef struct {
    kms_cfg_id_t id;
    const char *section; /**< "host" or "dns" */
    const char *name;
    kms_cfg_type_t type;
    const char *def;   /**< the default as written in the file; NULL: derived (finish) */
    uint64_t min, max; /**< range of numbers and durations (minutes for T_MINUTES) */
    size_t off;        /**< the field in kms_config_t */
    size_t size;       /**< its size (numbers: 2, 4 or 8 bytes) */
    unsigned flags;    /**< KMS_CFG_* */
} kms_config_key_t;

/** The table: @p n gets its length (KMS_CFG_NKEYS). */
const kms_config_key_t *kms_config_keys(size_t *n);

/** The row of [@p section] @p name, or NULL. */
const kms_config_key_t *kms_config_key(const char *section, const char *name);

/** The table's defaults into @p cfg (overwritten; release with
 *  kms_config_free()).  0 or KMS_ENOMEM.  Derived keys stay unset until
 *  kms_config_finish(). */
int kms_config_defaults(kms_config_t *cfg);

/** Read @p path over what @p cfg holds.  On error, @p err (KMS_CONFIG_ERRLEN
 *  bytes) gets one line naming file, line and key; returns KMS_ECONFIG,
 *  KMS_ENOENT (file missing) or KMS_ENOMEM. */
int kms_config_load(kms_config_t *cfg, const char *path, char *err, size_t errlen);

/** Read INI text (@p len bytes, need not be NUL-terminated) over what @p cfg
 *  holds, as kms_config_load() does for a file; @p name stands for the file
 *  name in error messages.  KMS_ECONFIG or KMS_ENOMEM. */
int kms_config_load_string(kms_config_t *cfg, const char *text, size_t len, const char *name,
                           char *err, size_t errlen);

/** Apply one setting as the file would ("host", "idle_timeout", "30"); @p origin
 *  names where it came from in error messages ("--idle-timeout"; NULL: "--set"). */
int kms_config_set(kms_config_t *cfg, const char *section, const char *key, const char *value,
                   const char *origin, char *err, size_t errlen);

/** Fill the derived keys not given (see the top of this file).  0 or KMS_ENOMEM. */
int kms_config_finish(kms_config_t *cfg, char *err, size_t errlen);

/** The control socket of @p cfg: control_socket when given, else
 *  <state_dir>/kmsd.sock; malloc'd (the caller frees it), NULL on ENOMEM. */
char *kms_config_control_socket(const kms_config_t *cfg);

/** Was key @p id given in the file or on the command line? */
int kms_config_given(const kms_config_t *cfg, kms_cfg_id_t id);

/** Where key @p id was given ("kmsd.conf:12", "--set"), or NULL. */
const char *kms_config_origin(const kms_config_t *cfg, kms_cfg_id_t id);

/** Does the value of key @p id differ between @p a and @p b? */
int kms_config_differs(const kms_config_t *a, const kms_config_t *b, kms_cfg_id_t id);

/** Give @p dst the value (and given-ness) that @p src has for key @p id.
 *  0 or KMS_ENOMEM. */
int kms_config_take(kms_config_t *dst, const kms_config_t *src, kms_cfg_id_t id);

/** The value of key @p id as the file would say it, into @p buf. */
char *kms_config_format(const kms_config_t *cfg, kms_cfg_id_t id, char *buf, size_t len);

/** Deep copy of @p src into @p dst (which is overwritten, not freed).
 *  0 or KMS_ENOMEM (then @p dst is zeroed). Free @p dst with kms_config_free(). */
int kms_config_copy(kms_config_t *dst, const kms_config_t *src);

/** Release everything @p cfg owns; leaves it zeroed.  NULL is a no-op. */
void kms_config_free(kms_config_t *cfg);

/**
 * The host core's base settings from @p cfg (kms/core/host.h): the values
 * verbs may override.  The port is the first listen address's, or 1688
 * when it has none.  The domain list is borrowed from @p cfg.
 */
void kms_config_host_settings(const kms_config_t *cfg, kms_settings_t *out);

#endif
