/* SPDX-License-Identifier: MIT */
/*
 * config.c - kmsd.conf: the table of keys, their types, and the INI file.
 *
 * libinih does the INI syntax.  Debian's libinih is built without
 * INI_HANDLER_LINENO and with a 200-byte line buffer, so the file is fed
 * through our own reader callback: it counts the lines (the handler reports
 * errors at ctx->line), rejects a line that would not fit the buffer (inih
 * would silently split it), and checks section headers itself, since inih
 * never tells the handler about an empty section.  Every key goes through
 * set_key(), the same setter the command line uses.
 */
#include "kms/daemon/config.h"

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/hostname.h"
#include "base/log.h"
#include "dns/name.h"
#include "kms/daemon/listen.h"
#include "publisher/publisher.h"
#include "rpc/conn.h"

#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_MAX_FILE (1u << 20)

#define F(field) offsetof(kms_config_t, field), sizeof(((kms_config_t *)0)->field)

/* kms_config_t.set and the loader's seen have a bit per key */
_Static_assert(KMS_CFG_NKEYS <= 64, "a key's bit must fit in uint64_t");

/* The table.  Order = kms_cfg_id_t. */
static const kms_config_key_t keys[KMS_CFG_NKEYS] = {
    {KMS_CFG_LISTEN, "host", "listen", KMS_CFG_T_LISTEN, "0.0.0.0, [::]", 0, 0, F(listen),
     KMS_CFG_RESTART | KMS_CFG_MULTILINE},
    {KMS_CFG_STATE_DIR, "host", "state_dir", KMS_CFG_T_PATH, "/var/lib/kmsd", 0, 0, F(state_dir),
     KMS_CFG_RESTART},
    {KMS_CFG_CONTROL_SOCKET, "host", "control_socket", KMS_CFG_T_SOCKPATH, NULL, 0, 0,
     F(control_socket), KMS_CFG_RESTART},
    {KMS_CFG_ACTIVATION_INTERVAL, "host", "activation_interval", KMS_CFG_T_MINUTES, "120", 15,
     43200, F(activation_interval), 0},
    {KMS_CFG_RENEWAL_INTERVAL, "host", "renewal_interval", KMS_CFG_T_MINUTES, "10080", 15, 43200,
     F(renewal_interval), 0},
    {KMS_CFG_MAX_CONNECTIONS, "host", "max_connections", KMS_CFG_T_UINT, "4096", 1, 1000000,
     F(max_connections), 0},
    {KMS_CFG_IDLE_TIMEOUT, "host", "idle_timeout", KMS_CFG_T_SECONDS, "30", 1, 86400,
     F(idle_timeout), 0},
    /* max_pdu bounds one PDU (frag_length, 16 bits), not a reassembled request. */
    {KMS_CFG_MAX_PDU, "host", "max_pdu", KMS_CFG_T_UINT, "65535", 1024, KMS_RPC_MAX_PDU, F(max_pdu),
     0},
    {KMS_CFG_LEDGER_FLUSH, "host", "ledger_flush", KMS_CFG_T_SECONDS, "5", 1, 86400,
     F(ledger_flush), 0},
    {KMS_CFG_LOG_LEVEL, "host", "log_level", KMS_CFG_T_LOGLEVEL, "info", 0, 0, F(log_level), 0},
    {KMS_CFG_METRICS_FILE, "host", "metrics_file", KMS_CFG_T_FILE, "", 0, 0, F(metrics_file),
     KMS_CFG_EMPTY},
    {KMS_CFG_METRICS_INTERVAL, "host", "metrics_interval", KMS_CFG_T_SECONDS, "15", 1, 3600,
     F(metrics_interval), 0},
    {KMS_CFG_PUBLISH, "dns", "publish", KMS_CFG_T_BOOL, "yes", 0, 0, F(publish), 0},
    {KMS_CFG_DOMAINS, "dns", "domains", KMS_CFG_T_DOMAINS, NULL, 0, 0, F(domains),
     KMS_CFG_MULTILINE},
    {KMS_CFG_TARGET, "dns", "target", KMS_CFG_T_HOSTNAME, NULL, 0, 0, F(target), 0},
    {KMS_CFG_PRIORITY, "dns", "priority", KMS_CFG_T_UINT, "0", 0, 65535, F(priority), 0},
    {KMS_CFG_WEIGHT, "dns", "weight", KMS_CFG_T_UINT, "0", 0, 65535, F(weight), 0},
    {KMS_CFG_TTL, "dns", "ttl", KMS_CFG_T_SECONDS, "3600", 0, 2147483647, F(ttl), 0},
    {KMS_CFG_SERVER, "dns", "server", KMS_CFG_T_ADDRESS, "", 0, 0, F(server), KMS_CFG_EMPTY},
    {KMS_CFG_KEY_FILE, "dns", "key_file", KMS_CFG_T_FILE, "", 0, 0, F(key_file), KMS_CFG_EMPTY},
    {KMS_CFG_ALLOW_UNSIGNED, "dns", "allow_unsigned", KMS_CFG_T_BOOL, "no", 0, 0, F(allow_unsigned),
     0},
    {KMS_CFG_REFRESH, "dns", "refresh", KMS_CFG_T_SECONDS, "24h", 1, 366ull * 86400, F(refresh), 0},
    {KMS_CFG_CHECK, "dns", "check", KMS_CFG_T_SECONDS, "5m", 0, 366ull * 86400, F(check), 0},
    {KMS_CFG_VERIFY, "dns", "verify", KMS_CFG_T_BOOL, "no", 0, 0, F(verify), 0},
    {KMS_CFG_VERIFY_TIMEOUT, "dns", "verify_timeout", KMS_CFG_T_SECONDS, "30", 1, 3600,
     F(verify_timeout), 0},
    {KMS_CFG_GSS_TSIG, "dns", "gss_tsig", KMS_CFG_T_BOOL, "no", 0, 0, F(gss_tsig), 0},
    {KMS_CFG_KEYTAB, "dns", "keytab", KMS_CFG_T_FILE, "", 0, 0, F(keytab), KMS_CFG_EMPTY},
    {KMS_CFG_PRINCIPAL, "dns", "principal", KMS_CFG_T_STRING, "", 0, 0, F(principal),
     KMS_CFG_EMPTY},
    {KMS_CFG_SERVER_PRINCIPAL, "dns", "server_principal", KMS_CFG_T_STRING, "", 0, 0,
     F(server_principal), KMS_CFG_EMPTY},
    {KMS_CFG_GSS_ALGORITHM, "dns", "gss_algorithm", KMS_CFG_T_GSSALG, "auto", 0, 0,
     F(gss_algorithm), 0},
    {KMS_CFG_TLS, "dns", "tls", KMS_CFG_T_BOOL, "no", 0, 0, F(tls), 0},
    {KMS_CFG_TLS_CA_FILE, "dns", "tls_ca_file", KMS_CFG_T_FILE, "", 0, 0, F(tls_ca_file),
     KMS_CFG_EMPTY},
    {KMS_CFG_TLS_NAME, "dns", "tls_name", KMS_CFG_T_STRING, "", 0, 0, F(tls_name), KMS_CFG_EMPTY},
    {KMS_CFG_TLS_CERT_FILE, "dns", "tls_cert_file", KMS_CFG_T_FILE, "", 0, 0, F(tls_cert_file),
     KMS_CFG_EMPTY},
    {KMS_CFG_TLS_KEY_FILE, "dns", "tls_key_file", KMS_CFG_T_FILE, "", 0, 0, F(tls_key_file),
     KMS_CFG_EMPTY},
};

const kms_config_key_t *kms_config_keys(size_t *n)
{
    *n = KMS_CFG_NKEYS;
    return keys;
}

const kms_config_key_t *kms_config_key(const char *section, const char *name)
{
    for (size_t i = 0; i < KMS_CFG_NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int known_section(const char *s, size_t n)
{
    for (size_t i = 0; i < KMS_CFG_NKEYS; i++)
        if (strlen(keys[i].section) == n && memcmp(keys[i].section, s, n) == 0)
            return 1;
    return 0;
}

/* ---- values of each type ---------------------------------------------------- */

static void *field(kms_config_t *cfg, const kms_config_key_t *k)
{
    return (char *)cfg + k->off;
}

static const void *cfield(const kms_config_t *cfg, const kms_config_key_t *k)
{
    return (const char *)cfg + k->off;
}

static void store_uint(void *p, size_t size, uint64_t v)
{
    if (size == 2)
        *(uint16_t *)p = (uint16_t)v;
    else if (size == 4)
        *(uint32_t *)p = (uint32_t)v;
    else
        *(uint64_t *)p = v;
}

static uint64_t load_uint(const void *p, size_t size)
{
    return size == 2   ? *(const uint16_t *)p
           : size == 4 ? *(const uint32_t *)p
                       : *(const uint64_t *)p;
}

static int set_str(char **dst, const char *val)
{
    char *c = val ? strdup(val) : NULL;

    if (val && !c)
        return KMS_ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    }
    return KMS_EINVAL;
}

/* Release what key @p k holds in @p cfg and zero it. */
static void clear_value(kms_config_t *cfg, const kms_config_key_t *k)
{
    void *p = field(cfg, k);

    switch (k->type) {
    case KMS_CFG_T_LISTEN:
        free(cfg->listen);
        cfg->listen = NULL;
        cfg->n_listen = 0;
        break;
    case KMS_CFG_T_DOMAINS:
        pub_domain_list_free(p);
        break;
    case KMS_CFG_T_PATH:
    case KMS_CFG_T_SOCKPATH:
    case KMS_CFG_T_LOGLEVEL:
    case KMS_CFG_T_HOSTNAME:
    case KMS_CFG_T_FILE:
    case KMS_CFG_T_STRING:
    case KMS_CFG_T_GSSALG:
        free(*(char **)p);
        *(char **)p = NULL;
        break;
    default:
        memset(p, 0, k->size);
        break;
    }
}

/*
 * Parse @p v as a value of @p k into @p cfg (the old value replaced only on
 * success).  0; KMS_EINVAL or KMS_ERANGE with @p why; KMS_ENOMEM.
 */
static int parse_value(kms_config_t *cfg, const kms_config_key_t *k, const char *v, char *why,
                       size_t whylen)
{
    void *p = field(cfg, k);
    uint64_t u;
    int r, b;

    switch (k->type) {
    case KMS_CFG_T_LISTEN: {
        struct sockaddr_storage *l;
        size_t n;

        if ((r = kms_listen_parse(v, &l, &n, why, whylen)) < 0)
            return r;
        free(cfg->listen);
        cfg->listen = l;
        cfg->n_listen = n;
        return 0;
    }
    case KMS_CFG_T_PATH:
        if (v[0] != '/') {
            kms_seterr(why, whylen, "'%s' is not an absolute path", v);
            return KMS_EINVAL;
        }
        return set_str(p, v);
    case KMS_CFG_T_SOCKPATH:
        if (v[0] != '/' || strlen(v) >= 108) {
            kms_seterr(why, whylen, "'%s' must be an absolute path shorter than 108 bytes", v);
            return KMS_EINVAL;
        }
        return set_str(p, v);
    case KMS_CFG_T_MINUTES:
        /* slmgr's intervals: a bare number is minutes; whole minutes only */
        r = kms_duration_parse(v, 60, &u);
        if (r == KMS_EINVAL) {
            kms_seterr(why, whylen, "'%s' is not a duration (minutes, or a number with s/m/h/d)",
                       v);
            return r;
        }
        if (r < 0 || u % 60 || u / 60 < k->min || u / 60 > k->max) {
            kms_seterr(why, whylen, "'%s' out of range (whole minutes, 15 minutes to 30 days)", v);
            return KMS_ERANGE;
        }
        store_uint(p, k->size, u / 60);
        return 0;
    case KMS_CFG_T_SECONDS:
        r = kms_duration_parse(v, 1, &u);
        if (r == KMS_EINVAL) {
            kms_seterr(why, whylen, "'%s' is not a duration (seconds, or a number with s/m/h/d)",
                       v);
            return r;
        }
        if (r < 0 || u < k->min || u > k->max) {
            kms_seterr(why, whylen, "'%s' out of range (%llu..%llu seconds)", v,
                       (unsigned long long)k->min, (unsigned long long)k->max);
            return KMS_ERANGE;
        }
        store_uint(p, k->size, u);
        return 0;
    case KMS_CFG_T_UINT:
        r = kms_uint_parse(v, k->min, k->max, &u);
        if (r == KMS_EINVAL)
            kms_seterr(why, whylen, "'%s' is not a number", v);
        else if (r < 0)
            kms_seterr(why, whylen, "'%s' out of range (%llu..%llu)", v, (unsigned long long)k->min,
                       (unsigned long long)k->max);
        else
            store_uint(p, k->size, u);
        return r;
    case KMS_CFG_T_BOOL:
        if (parse_bool(v, &b) < 0) {
            kms_seterr(why, whylen, "'%s' is not yes/no (true/false, on/off, 1/0)", v);
            return KMS_EINVAL;
        }
        *(int *)p = b;
        return 0;
    case KMS_CFG_T_LOGLEVEL:
        if (kms_log_level_parse(v) < 0) {
            kms_seterr(why, whylen, "'%s' is not one of error, warning, info, debug", v);
            return KMS_EINVAL;
        }
        return set_str(p, v);
    case KMS_CFG_T_DOMAINS: {
        pub_domain_list_t l = {0};

        if ((r = pub_domains_parse(v, &l, why, whylen)) < 0) {
            pub_domain_list_free(&l);
            return r == KMS_ENOMEM ? r : KMS_EINVAL;
        }
        pub_domain_list_free(p);
        *(pub_domain_list_t *)p = l;
        return 0;
    }
    case KMS_CFG_T_HOSTNAME: {
        char name[KMS_DNS_NAMELEN];

        if (kms_dname_display(v, KMS_DNAME_HOST, name, sizeof name) < 0) {
            kms_seterr(why, whylen, "'%s' is not a valid host name", v);
            return KMS_EINVAL;
        }
        return set_str(p, name);
    }
    case KMS_CFG_T_ADDRESS: {
        struct sockaddr_storage ss;

        memset(&ss, 0, sizeof ss);
        /* port 0 (none given) until kms_config_finish(): 53, or 853 with tls */
        if (*v && (r = kms_addr_parse(v, 0, &ss)) < 0) {
            kms_seterr(why, whylen, "'%s' is not a numeric address[:port]", v);
            return r;
        }
        memcpy(p, &ss, sizeof ss);
        return 0;
    }
    case KMS_CFG_T_FILE:
        return set_str(p, *v ? v : NULL);
    case KMS_CFG_T_STRING:
        if (strpbrk(v, " \t")) {
            kms_seterr(why, whylen, "'%s' has a space in it", v);
            return KMS_EINVAL;
        }
        return set_str(p, *v ? v : NULL);
    case KMS_CFG_T_GSSALG: {
        pub_gss_alg_t alg;
        if (pub_gss_alg_parse(v, &alg) < 0) {
            kms_seterr(why, whylen, "'%s': use auto, gss-tsig or gss.microsoft.com", v);
            return KMS_EINVAL;
        }
        return set_str(p, v);
    }
    }
    return KMS_EINVAL;
}

char *kms_config_format(const kms_config_t *cfg, kms_cfg_id_t id, char *buf, size_t len)
{
    const kms_config_key_t *k = &keys[id];
    const void *p = cfield(cfg, k);
    size_t off = 0;

    if (len)
        buf[0] = '\0';
    switch (k->type) {
    case KMS_CFG_T_LISTEN:
        for (size_t i = 0; i < cfg->n_listen && off < len; i++) {
            char a[KMS_ADDRSTRLEN];

            off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
                                    kms_listen_format(&cfg->listen[i], a));
        }
        break;
    case KMS_CFG_T_DOMAINS: {
        char *s = pub_domains_format(p);

        snprintf(buf, len, "%s", s ? s : "");
        free(s);
        break;
    }
    case KMS_CFG_T_ADDRESS:
        if (((const struct sockaddr_storage *)p)->ss_family) {
            char a[KMS_ADDRSTRLEN];

            snprintf(buf, len, "%s", kms_addr_format(p, a));
        }
        break;
    case KMS_CFG_T_BOOL:
        snprintf(buf, len, "%s", *(const int *)p ? "yes" : "no");
        break;
    case KMS_CFG_T_MINUTES:
    case KMS_CFG_T_SECONDS:
    case KMS_CFG_T_UINT:
        snprintf(buf, len, "%llu", (unsigned long long)load_uint(p, k->size));
        break;
    default:
        snprintf(buf, len, "%s", *(char *const *)p ? *(char *const *)p : "");
        break;
    }
    return buf;
}

/* Copy the value of key @p k from @p src into @p dst (replacing it). */
static int copy_value(kms_config_t *dst, const kms_config_t *src, const kms_config_key_t *k)
{
    void *d = field(dst, k);
    const void *s = cfield(src, k);

    switch (k->type) {
    case KMS_CFG_T_LISTEN: {
        struct sockaddr_storage *l = NULL;

        if (src->n_listen && !(l = malloc(src->n_listen * sizeof *l)))
            return KMS_ENOMEM;
        if (l)
            memcpy(l, src->listen, src->n_listen * sizeof *l);
        free(dst->listen);
        dst->listen = l;
        dst->n_listen = src->n_listen;
        return 0;
    }
    case KMS_CFG_T_DOMAINS:
        return pub_domains_copy(d, s);
    case KMS_CFG_T_PATH:
    case KMS_CFG_T_SOCKPATH:
    case KMS_CFG_T_LOGLEVEL:
    case KMS_CFG_T_HOSTNAME:
    case KMS_CFG_T_FILE:
    case KMS_CFG_T_STRING:
    case KMS_CFG_T_GSSALG:
        return set_str(d, *(char *const *)s);
    default:
        memcpy(d, s, k->size);
        return 0;
    }
}

int kms_config_differs(const kms_config_t *a, const kms_config_t *b, kms_cfg_id_t id)
{
    char va[4096], vb[4096];

    /* Every key's text form is whole for the lists kmsd takes (64 addresses
     * fit), and the others are short. */
    return strcmp(kms_config_format(a, id, va, sizeof va),
                  kms_config_format(b, id, vb, sizeof vb)) != 0;
}

/* ---- the configuration ------------------------------------------------------- */

void kms_config_free(kms_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < KMS_CFG_NKEYS; i++) {
        clear_value(cfg, &keys[i]);
        free(cfg->origin[i]);
    }
    memset(cfg, 0, sizeof *cfg);
}

int kms_config_defaults(kms_config_t *cfg)
{
    char why[KMS_CONFIG_ERRLEN];

    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < KMS_CFG_NKEYS; i++) {
        /* the defaults parse as a file would say them: one source of truth */
        if (keys[i].def && parse_value(cfg, &keys[i], keys[i].def, why, sizeof why) < 0) {
            kms_config_free(cfg);
            return KMS_ENOMEM; /* a default that does not parse is caught by the unit test */
        }
    }
    return 0;
}

int kms_config_copy(kms_config_t *dst, const kms_config_t *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < KMS_CFG_NKEYS; i++) {
        if (copy_value(dst, src, &keys[i]) < 0 || set_str(&dst->origin[i], src->origin[i]) < 0) {
            kms_config_free(dst);
            return KMS_ENOMEM;
        }
    }
    dst->set = src->set;
    return 0;
}

int kms_config_take(kms_config_t *dst, const kms_config_t *src, kms_cfg_id_t id)
{
    int r = copy_value(dst, src, &keys[id]);

    if (r == 0)
        r = set_str(&dst->origin[id], src->origin[id]);
    if (r == 0)
        dst->set = (dst->set & ~(1ull << id)) | (src->set & (1ull << id));
    return r;
}

int kms_config_given(const kms_config_t *cfg, kms_cfg_id_t id)
{
    return (int)((cfg->set >> id) & 1u);
}

const char *kms_config_origin(const kms_config_t *cfg, kms_cfg_id_t id)
{
    return cfg->origin[id];
}

/* The domain part of a host name ("kms1.corp.test" -> "corp.test"); none for a bare label. */
static int target_domains(kms_config_t *cfg)
{
    const char *dot = cfg->target ? strchr(cfg->target, '.') : NULL;
    pub_domain_list_t l = {0};

    pub_domain_list_free(&cfg->domains);
    if (dot && pub_domains_parse(dot + 1, &l, NULL, 0) == KMS_ENOMEM)
        return KMS_ENOMEM;
    cfg->domains = l;
    return 0;
}

char *kms_config_control_socket(const kms_config_t *cfg)
{
    if (kms_config_given(cfg, KMS_CFG_CONTROL_SOCKET))
        return strdup(cfg->control_socket);
    return kms_path_join(cfg->state_dir, "kmsd.sock");
}

int kms_config_finish(kms_config_t *cfg, char *err, size_t errlen)
{
    char *sock = kms_config_control_socket(cfg);

    if (!sock)
        goto nomem;
    free(cfg->control_socket);
    cfg->control_socket = sock;
    if (!kms_config_given(cfg, KMS_CFG_TARGET)) {
        char host[KMS_DNS_NAMELEN], fqdn[KMS_DNS_NAMELEN];

        /* A host name that is not a valid DNS name is left for the user to fix. */
        kms_host_fqdn(0, host, sizeof host);
        if (kms_dname_display(host, KMS_DNAME_HOST, fqdn, sizeof fqdn) < 0)
            snprintf(fqdn, sizeof fqdn, "%s", host);
        if (set_str(&cfg->target, fqdn) < 0)
            goto nomem;
    }
    if (!kms_config_given(cfg, KMS_CFG_DOMAINS) && target_domains(cfg) < 0)
        goto nomem;
    if (cfg->server.ss_family && kms_addr_port((struct sockaddr *)&cfg->server) == 0)
        kms_addr_set_port((struct sockaddr *)&cfg->server, cfg->tls ? 853 : 53);
    if (cfg->gss_tsig && cfg->key_file) {
        kms_seterr(err, errlen,
                   "%s: [dns] gss_tsig = yes and %s: [dns] key_file = %s: sign either with "
                   "Kerberos or with a TSIG key (remove one)",
                   cfg->origin[KMS_CFG_GSS_TSIG] ? cfg->origin[KMS_CFG_GSS_TSIG] : "kmsd.conf",
                   cfg->origin[KMS_CFG_KEY_FILE] ? cfg->origin[KMS_CFG_KEY_FILE] : "kmsd.conf",
                   cfg->key_file);
        return KMS_ECONFIG;
    }
    return 0;
nomem:
    kms_seterr(err, errlen, "out of memory");
    return KMS_ENOMEM;
}

void kms_config_host_settings(const kms_config_t *cfg, kms_settings_t *out)
{
    memset(out, 0, sizeof *out);
    out->port = cfg->n_listen ? kms_addr_port((const struct sockaddr *)&cfg->listen[0]) : 0;
    if (out->port == 0)
        out->port = 1688;
    out->activation_interval = cfg->activation_interval;
    out->renewal_interval = cfg->renewal_interval;
    out->publish = cfg->publish;
    out->priority = cfg->priority;
    out->weight = cfg->weight;
    out->domains = &cfg->domains;
}

/* ---- one key ----------------------------------------------------------------- */

static int set_key(kms_config_t *cfg, const char *section, const char *name, const char *value,
                   const char *origin, char *why, size_t whylen)
{
    const kms_config_key_t *k;
    int r;

    if (!known_section(section, strlen(section))) {
        kms_seterr(why, whylen, "unknown section (expected [host] or [dns])");
        return KMS_ECONFIG;
    }
    if (!(k = kms_config_key(section, name))) {
        kms_seterr(why, whylen, "unknown key");
        return KMS_ECONFIG;
    }
    if (!*value && !(k->flags & KMS_CFG_EMPTY)) {
        kms_seterr(why, whylen, "empty value");
        return KMS_ECONFIG;
    }
    why[0] = '\0';
    r = parse_value(cfg, k, value, why, whylen);
    if (r == 0 && set_str(&cfg->origin[k->id], origin) < 0)
        r = KMS_ENOMEM;
    if (r == KMS_ENOMEM) {
        kms_seterr(why, whylen, "out of memory");
        return r;
    }
    if (r < 0) {
        if (!why[0])
            kms_seterr(why, whylen, "bad value '%s'", value);
        return KMS_ECONFIG;
    }
    cfg->set |= 1ull << k->id;
    return 0;
}

int kms_config_set(kms_config_t *cfg, const char *section, const char *key, const char *value,
                   const char *origin, char *err, size_t errlen)
{
    char why[KMS_CONFIG_ERRLEN];
    int r;

    origin = origin ? origin : "--set";
    r = set_key(cfg, section, key, value, origin, why, sizeof why);
    if (r < 0)
        kms_seterr(err, errlen, "%s: [%s] %s: %s", origin, section, key, why);
    return r;
}

/* ---- the file ------------------------------------------------------------------ */

typedef struct {
    kms_config_t *cfg;
    const char *name;
    const char *text;
    size_t len, pos;
    unsigned line;
    int err; /* first error (KMS_E*), reported in msg */
    char *msg;
    size_t msglen;
    uint64_t seen;                /* keys already given in this file */
    const kms_config_key_t *last; /* the key of the last key line */
    int cont;                     /* the line just read is an indented continuation line */
    int have_prev; /* a key was given since the last section header (inih prev_name) */
    char *acc;     /* value of the last key so far (continued domains/listen) */
} load_ctx_t;

static void ctx_error(load_ctx_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ctx_error(load_ctx_t *c, int code, const char *fmt, ...)
{
    va_list ap;

    if (c->err)
        return;
    c->err = code;
    va_start(ap, fmt);
    kms_vseterr_at(c->msg, c->msglen, c->name, c->line, fmt, ap);
    va_end(ap);
}

/* Check a "[section]" line ourselves: inih never reports an empty section. */
static void check_section_line(load_ctx_t *c, const char *line, size_t n)
{
    size_t i = 0, j;

    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == n || line[i] != '[' || (i > 0 && c->have_prev))
        return; /* not a section, or an indented continuation line */
    c->have_prev = 0;
    for (j = i + 1; j < n && line[j] != ']'; j++)
        ;
    if (j == n)
        return; /* inih reports the syntax error */
    if (!known_section(line + i + 1, j - i - 1))
        ctx_error(c, KMS_ECONFIG, "[%.*s]: unknown section (expected [host] or [dns])",
                  (int)(j - i - 1 > 64 ? 64 : j - i - 1), line + i + 1);
}

static char *reader(char *str, int num, void *stream)
{
    load_ctx_t *c = stream;
    size_t n = 0, take, i = 0;

    if (c->err || c->pos >= c->len || num < 2)
        return NULL;
    while (c->pos + n < c->len && c->text[c->pos + n] != '\n')
        n++;
    take = n + (c->pos + n < c->len); /* with the newline */
    c->line++;
    if (take > (size_t)num - 1) {
        ctx_error(c, KMS_ECONFIG, "line longer than %d characters", num - 2);
        return NULL;
    }
    if (memchr(c->text + c->pos, 0, n)) {
        ctx_error(c, KMS_ECONFIG, "NUL byte in line");
        return NULL;
    }
    check_section_line(c, c->text + c->pos, n);
    /* libinih (INI_ALLOW_MULTILINE) passes an indented non-comment line as
     * more value for the previous key. */
    while (i < n && (c->text[c->pos + i] == ' ' || c->text[c->pos + i] == '\t'))
        i++;
    c->cont = i > 0 && i < n && c->text[c->pos + i] != ';' && c->text[c->pos + i] != '#' &&
              c->text[c->pos + i] != '\r';
    memcpy(str, c->text + c->pos, take);
    str[take] = 0;
    c->pos += take;
    return c->err ? NULL : str;
}

/* An indented line continuing the list of the last key: the whole list so far. */
static const char *continued(load_ctx_t *c, const char *section, const char *name,
                             const char *value)
{
    size_t al = c->acc ? strlen(c->acc) : 0;
    char *joined;

    if (!(c->last->flags & KMS_CFG_MULTILINE)) {
        ctx_error(c, KMS_ECONFIG,
                  "[%s] %s: indented continuation line (only domains and listen may "
                  "continue on indented lines)",
                  section, name);
        return NULL;
    }
    if (!(joined = malloc(al + strlen(value) + 3))) {
        ctx_error(c, KMS_ENOMEM, "out of memory");
        return NULL;
    }
    /* "a.test, b.test," + "c.test" or "a.test, b.test" + "c.test": both a list. */
    sprintf(joined, "%s%s%s", c->acc ? c->acc : "", al && c->acc[al - 1] == ',' ? " " : ", ",
            value);
    /* libinih leaves inline comments on continuation lines: cut " ; ..." here. */
    for (char *p = joined + al; *p; p++) {
        if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t')) {
            *p = 0;
            kms_trim(joined + al);
            break;
        }
    }
    free(c->acc);
    c->acc = joined;
    return joined;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    load_ctx_t *c = user;
    const kms_config_key_t *k = kms_config_key(section, name);
    char why[KMS_CONFIG_ERRLEN], origin[KMS_CONFIG_ERRLEN];
    int r;

    if (c->err)
        return 0;
    if (!*section) {
        ctx_error(c, KMS_ECONFIG, "%s: key outside a section ([host] or [dns])", name);
        return 0;
    }
    if (c->cont && k && k == c->last) {
        if (!(value = continued(c, section, name, value)))
            return 0;
    } else {
        if (k && (c->seen & (1ull << k->id))) {
            ctx_error(c, KMS_ECONFIG, "[%s] %s: duplicate key", section, name);
            return 0;
        }
        free(c->acc);
        if (!(c->acc = strdup(value))) {
            ctx_error(c, KMS_ENOMEM, "out of memory");
            return 0;
        }
    }
    c->have_prev = 1;
    snprintf(origin, sizeof origin, "%s:%u", c->name, c->line);
    r = set_key(c->cfg, section, name, value, origin, why, sizeof why);
    if (r < 0) {
        ctx_error(c, r == KMS_ENOMEM ? r : KMS_ECONFIG, "[%s] %s: %s", section, name, why);
        return 0;
    }
    c->seen |= 1ull << k->id;
    c->last = k;
    return 1;
}

int kms_config_load_string(kms_config_t *cfg, const char *text, size_t len, const char *name,
                           char *err, size_t errlen)
{
    load_ctx_t c;
    int r;

    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.name = name;
    c.text = text;
    c.len = len;
    c.msg = err;
    c.msglen = errlen;
    r = ini_parse_stream(reader, &c, handler, &c);
    if (!c.err && r > 0) {
        c.line = (unsigned)r;
        ctx_error(&c, KMS_ECONFIG, "syntax error (expected '[section]' or 'key = value')");
    } else if (!c.err && r < 0) {
        ctx_error(&c, KMS_ENOMEM, "out of memory");
    }
    free(c.acc);
    return c.err;
}

int kms_config_load(kms_config_t *cfg, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int r = kms_file_read(path, CFG_MAX_FILE, &text, &len);

    if (r < 0) {
        kms_seterr(err, errlen, "%s: %s", path, kms_strerror(r));
        return r == KMS_ENOENT || r == KMS_ENOMEM ? r : KMS_ECONFIG;
    }
    r = kms_config_load_string(cfg, text, len, path, err, errlen);
    free(text);
    return r;
}
