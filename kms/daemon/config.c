/*
 * config.c - kmsd.conf: libinih does the INI syntax, this file the keys.
 *
 * Debian's libinih is built without INI_HANDLER_LINENO and with a 200-byte
 * line buffer, so the file is fed through our own reader callback: it counts
 * the lines (the handler reports errors at ctx->line), rejects a line that
 * would not fit the buffer (inih would silently split it), and checks section
 * headers itself, since inih never tells the handler about an empty section.
 * Every key goes through kms_config_set(), the same validator the command
 * line uses.
 */
#include "kms/daemon/config.h"

#include "base/addr.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/hostname.h"
#include "base/log.h"
#include "rpc/conn.h"
#include "publisher/domains.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CFG_MAX_FILE     (1u << 20)
#define MIN_INTERVAL_MIN 15u
#define MAX_INTERVAL_MIN 43200u
#define MAX_LISTEN       64

/* ---- domains --------------------------------------------------------------- */

void kms_config_free_domains(kms_pub_domain_t *d, size_t n)
{
    if (!d)
        return;
    for (size_t i = 0; i < n; i++)
        free(d[i].name);
    free(d);
}

int kms_config_copy_domains(const kms_pub_domain_t *d, size_t n, kms_pub_domain_t **out)
{
    kms_pub_domain_t *c = n ? calloc(n, sizeof *c) : NULL;

    *out = NULL;
    if (n && !c)
        return KMS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        c[i] = d[i];
        if (!(c[i].name = strdup(d[i].name))) {
            kms_config_free_domains(c, i);
            return KMS_ENOMEM;
        }
    }
    *out = c;
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = 0;
    return s;
}

int kms_config_parse_domains(const char *list, kms_pub_domain_t **out, size_t *n, char *err,
                             size_t errlen)
{
    pub_domain_list_t l = {0};
    kms_pub_domain_t *d;
    int r;

    *out = NULL;
    *n = 0;
    if ((r = pub_domains_parse(list, &l, err, errlen)) < 0) {
        pub_domain_list_free(&l);
        return r == KMS_ENOMEM ? r : KMS_EINVAL;
    }
    if (!(d = calloc(l.n, sizeof *d))) {
        pub_domain_list_free(&l);
        return KMS_ENOMEM;
    }
    for (size_t i = 0; i < l.n; i++) {
        d[i].name = (char *)l.v[i].name; /* taken over from the list */
        d[i].has_prio = l.v[i].priority >= 0;
        d[i].priority = (uint16_t)(d[i].has_prio ? l.v[i].priority : 0);
        d[i].weight = (uint16_t)(d[i].has_prio ? l.v[i].weight : 0);
    }
    free(l.v);
    *out = d;
    *n = l.n;
    return 0;
}

char *kms_config_format_domains(const kms_pub_domain_t *d, size_t n)
{
    size_t cap = 1;
    char *s, *p;

    for (size_t i = 0; i < n; i++)
        cap += strlen(d[i].name) + 16;
    s = p = malloc(cap);
    if (!s)
        return NULL;
    *p = 0;
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%s%s", i ? ", " : "", d[i].name);
        if (d[i].has_prio)
            p += sprintf(p, " %u %u", d[i].priority, d[i].weight);
    }
    return s;
}

/* The domain part of a host name ("kms1.corp.test" -> "corp.test"); none for a bare label. */
static int default_domains(kms_config_t *cfg)
{
    const char *dot = cfg->target ? strchr(cfg->target, '.') : NULL;
    kms_pub_domain_t *d;
    size_t n;

    kms_config_free_domains(cfg->domains, cfg->n_domains);
    cfg->domains = NULL;
    cfg->n_domains = 0;
    if (!dot || kms_config_parse_domains(dot + 1, &d, &n, NULL, 0) < 0)
        return 0;
    cfg->domains = d;
    cfg->n_domains = n;
    return 0;
}

/* ---- defaults, copy, free -------------------------------------------------- */

static int set_str(char **dst, const char *val)
{
    char *c = val ? strdup(val) : NULL;

    if (val && !c)
        return KMS_ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

static void free_listen(kms_config_t *cfg)
{
    for (size_t i = 0; i < cfg->n_listen; i++)
        free(cfg->listen[i]);
    free(cfg->listen);
    cfg->listen = NULL;
    cfg->n_listen = 0;
}

void kms_config_free(kms_config_t *cfg)
{
    if (!cfg)
        return;
    free_listen(cfg);
    free(cfg->state_dir);
    free(cfg->control_socket);
    free(cfg->log_level);
    kms_config_free_domains(cfg->domains, cfg->n_domains);
    free(cfg->target);
    free(cfg->server);
    free(cfg->key_file);
    free(cfg->key_file_origin);
    memset(cfg, 0, sizeof *cfg);
}

int kms_config_defaults(kms_config_t *cfg)
{
    char fqdn[256], host[256];

    memset(cfg, 0, sizeof *cfg);
    cfg->listen = calloc(2, sizeof *cfg->listen);
    if (!cfg->listen)
        goto fail;
    cfg->listen[0] = strdup("0.0.0.0:1688");
    cfg->listen[1] = strdup("[::]:1688");
    cfg->n_listen = 2;
    cfg->state_dir = strdup("/var/lib/kmsd");
    cfg->control_socket = strdup("/var/lib/kmsd/kmsd.sock");
    cfg->log_level = strdup("info");
    cfg->activation_interval = 120;
    cfg->renewal_interval = 10080;
    cfg->max_connections = 4096;
    cfg->idle_timeout = 30;
    cfg->max_pdu = KMS_RPC_MAX_PDU;
    cfg->ledger_flush = 5;
    cfg->publish = 1;
    cfg->ttl = 3600;
    cfg->refresh = 86400;
    /* A target that is not a valid name (odd hostname) is left for the user to set. */
    kms_host_fqdn(0, host, sizeof host);
    if (kms_dname_display(host, KMS_DNAME_HOST, fqdn, sizeof fqdn) == 0)
        cfg->target = strdup(fqdn);
    else
        cfg->target = strdup(host);
    if (!cfg->listen[0] || !cfg->listen[1] || !cfg->state_dir || !cfg->control_socket ||
        !cfg->log_level || !cfg->target)
        goto fail;
    default_domains(cfg);
    return 0;

fail:
    kms_config_free(cfg);
    return KMS_ENOMEM;
}

int kms_config_copy(kms_config_t *dst, const kms_config_t *src)
{
    *dst = *src;
    dst->listen = NULL;
    dst->n_listen = 0;
    dst->state_dir = dst->control_socket = dst->log_level = NULL;
    dst->domains = NULL;
    dst->n_domains = 0;
    dst->target = dst->server = dst->key_file = dst->key_file_origin = NULL;
    if (src->n_listen) {
        dst->listen = calloc(src->n_listen, sizeof *dst->listen);
        if (!dst->listen)
            goto fail;
        for (size_t i = 0; i < src->n_listen; i++) {
            if (!(dst->listen[i] = strdup(src->listen[i])))
                goto fail;
            dst->n_listen = i + 1;
        }
    }
    if (kms_config_copy_domains(src->domains, src->n_domains, &dst->domains))
        goto fail;
    dst->n_domains = src->n_domains;
    if (set_str(&dst->state_dir, src->state_dir) ||
        set_str(&dst->control_socket, src->control_socket) ||
        set_str(&dst->log_level, src->log_level) || set_str(&dst->target, src->target) ||
        set_str(&dst->server, src->server) || set_str(&dst->key_file, src->key_file) ||
        set_str(&dst->key_file_origin, src->key_file_origin))
        goto fail;
    return 0;

fail:
    kms_config_free(dst);
    return KMS_ENOMEM;
}

/* ---- one key --------------------------------------------------------------- */

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

/* "0.0.0.0:1688, [::]:1688" or "1688" (all addresses). */
static int parse_listen(kms_config_t *cfg, const char *v, char *why, size_t whylen)
{
    char *copy = strdup(v), *save = NULL, *item;
    char **list = NULL;
    size_t n = 0;
    int r = KMS_EINVAL;

    if (!copy)
        return KMS_ENOMEM;
    save = copy;
    while ((item = strsep(&save, ",")) != NULL) {
        struct sockaddr_storage ss;
        char buf[KMS_ADDRSTRLEN];
        uint16_t port;
        const char *add[2];
        size_t nadd = 0;
        char a4[32], a6[32];

        item = trim(item);
        if (!*item && !save && n)
            break; /* a trailing comma (the list continues on the next line) */
        if (!*item) {
            kms_seterr(why, whylen, "empty entry in address list");
            goto fail;
        }
        if (strspn(item, "0123456789") == strlen(item)) {
            if (kms_port_parse(item, &port) < 0) {
                kms_seterr(why, whylen, "'%s' is not a port (1..65535)", item);
                goto fail;
            }
            snprintf(a4, sizeof a4, "0.0.0.0:%u", port);
            snprintf(a6, sizeof a6, "[::]:%u", port);
            add[nadd++] = a4;
            add[nadd++] = a6;
        } else {
            if (kms_addr_parse(item, 0, &ss) < 0) {
                kms_seterr(why, whylen, "'%s' is not a numeric address[:port]", item);
                goto fail;
            }
            /* Without a port the address keeps none: kmsd listens there on
             * the host's port (sprt, default 1688), read at start. */
            add[nadd++] = kms_addr_format((struct sockaddr *)&ss, buf);
            if (kms_addr_port((struct sockaddr *)&ss) == 0)
                buf[strlen(buf) - 2] = '\0'; /* drop ":0" */
        }
        for (size_t k = 0; k < nadd; k++) {
            char **nl;

            for (size_t i = 0; i < n; i++) {
                if (strcmp(list[i], add[k]) == 0) {
                    kms_seterr(why, whylen, "address %s listed twice", add[k]);
                    goto fail;
                }
            }
            if (n == MAX_LISTEN) {
                kms_seterr(why, whylen, "more than %u addresses", MAX_LISTEN);
                goto fail;
            }
            nl = realloc(list, (n + 1) * sizeof *list);
            if (!nl || !(nl[n] = strdup(add[k]))) {
                if (nl)
                    list = nl;
                r = KMS_ENOMEM;
                goto fail;
            }
            list = nl;
            n++;
        }
    }
    if (n == 0) {
        kms_seterr(why, whylen, "no address given");
        goto fail;
    }
    free_listen(cfg);
    cfg->listen = list;
    cfg->n_listen = n;
    free(copy);
    return 0;

fail:
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
    free(copy);
    return r;
}

/* Slmgr interval: bare number = minutes; must be whole minutes in 15..43200. */
static int parse_interval(const char *v, uint32_t *minutes, char *why, size_t whylen)
{
    uint64_t s;
    int r = kms_duration_parse(v, 60, &s);

    if (r == KMS_EINVAL) {
        kms_seterr(why, whylen, "'%s' is not a duration (minutes, or a number with s/m/h/d)", v);
        return r;
    }
    if (r < 0 || s % 60 || s / 60 < MIN_INTERVAL_MIN || s / 60 > MAX_INTERVAL_MIN) {
        kms_seterr(why, whylen, "'%s' out of range (whole minutes, 15 minutes to 30 days)", v);
        return KMS_ERANGE;
    }
    *minutes = (uint32_t)(s / 60);
    return 0;
}

static int parse_seconds(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *why,
                         size_t whylen)
{
    int r = kms_duration_parse(v, 1, out);

    if (r == KMS_EINVAL) {
        kms_seterr(why, whylen, "'%s' is not a duration (seconds, or a number with s/m/h/d)", v);
        return r;
    }
    if (r < 0 || *out < min || *out > max) {
        kms_seterr(why, whylen, "'%s' out of range (%llu..%llu seconds)", v,
                   (unsigned long long)min, (unsigned long long)max);
        return KMS_ERANGE;
    }
    return 0;
}

static int parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *why,
                      size_t whylen)
{
    int r = kms_uint_parse(v, min, max, out);

    if (r == KMS_EINVAL)
        kms_seterr(why, whylen, "'%s' is not a number", v);
    else if (r < 0)
        kms_seterr(why, whylen, "'%s' out of range (%llu..%llu)", v, (unsigned long long)min,
                   (unsigned long long)max);
    return r;
}

static int set_host_key(kms_config_t *cfg, const char *key, const char *v, char *why, size_t whylen)
{
    uint64_t u;
    int r;

    if (strcmp(key, "listen") == 0) {
        if ((r = parse_listen(cfg, v, why, whylen)) == 0)
            cfg->set |= KMS_CFG_SET_LISTEN;
        return r;
    }
    if (strcmp(key, "state_dir") == 0) {
        if (v[0] != '/') {
            kms_seterr(why, whylen, "'%s' is not an absolute path", v);
            return KMS_EINVAL;
        }
        if (set_str(&cfg->state_dir, v))
            return KMS_ENOMEM;
        if (!(cfg->set & KMS_CFG_SET_CONTROL)) {
            char *p = kms_path_join(v, "kmsd.sock");

            if (!p)
                return KMS_ENOMEM;
            free(cfg->control_socket);
            cfg->control_socket = p;
        }
        return 0;
    }
    if (strcmp(key, "control_socket") == 0) {
        if (v[0] != '/' || strlen(v) >= 108) {
            kms_seterr(why, whylen, "'%s' must be an absolute path shorter than 108 bytes", v);
            return KMS_EINVAL;
        }
        cfg->set |= KMS_CFG_SET_CONTROL;
        return set_str(&cfg->control_socket, v);
    }
    if (strcmp(key, "activation_interval") == 0 || strcmp(key, "renewal_interval") == 0) {
        int act = key[0] == 'a';

        if ((r = parse_interval(v, act ? &cfg->activation_interval : &cfg->renewal_interval, why,
                                whylen)) == 0)
            cfg->set |= act ? KMS_CFG_SET_ACT_INTERVAL : KMS_CFG_SET_REN_INTERVAL;
        return r;
    }
    if (strcmp(key, "max_connections") == 0) {
        if ((r = parse_uint(v, 1, 1000000, &u, why, whylen)) == 0)
            cfg->max_connections = (uint32_t)u;
        return r;
    }
    if (strcmp(key, "idle_timeout") == 0) {
        if ((r = parse_seconds(v, 1, 86400, &u, why, whylen)) == 0)
            cfg->idle_timeout = (uint32_t)u;
        return r;
    }
    if (strcmp(key, "max_pdu") == 0) {
        /* max_pdu bounds one PDU (frag_length, 16 bits), not a reassembled request. */
        if ((r = parse_uint(v, 1024, KMS_RPC_MAX_PDU, &u, why, whylen)) == 0)
            cfg->max_pdu = (uint32_t)u;
        return r;
    }
    if (strcmp(key, "ledger_flush") == 0) {
        if ((r = parse_seconds(v, 1, 86400, &u, why, whylen)) == 0)
            cfg->ledger_flush = (uint32_t)u;
        return r;
    }
    if (strcmp(key, "log_level") == 0) {
        if (kms_log_level_parse(v) < 0) {
            kms_seterr(why, whylen, "'%s' is not one of error, warning, info, debug", v);
            return KMS_EINVAL;
        }
        return set_str(&cfg->log_level, v);
    }
    return KMS_ENOENT;
}

static int set_dns_key(kms_config_t *cfg, const char *key, const char *v, char *why, size_t whylen)
{
    uint64_t u;
    int r, b;

    if (strcmp(key, "publish") == 0 || strcmp(key, "allow_unsigned") == 0) {
        if (parse_bool(v, &b) < 0) {
            kms_seterr(why, whylen, "'%s' is not yes/no (true/false, on/off, 1/0)", v);
            return KMS_EINVAL;
        }
        if (key[0] == 'p') {
            cfg->publish = b;
            cfg->set |= KMS_CFG_SET_PUBLISH;
        } else {
            cfg->allow_unsigned = b;
        }
        return 0;
    }
    if (strcmp(key, "domains") == 0) {
        kms_pub_domain_t *d;
        size_t n;

        if ((r = kms_config_parse_domains(v, &d, &n, why, whylen)) < 0)
            return r;
        kms_config_free_domains(cfg->domains, cfg->n_domains);
        cfg->domains = d;
        cfg->n_domains = n;
        cfg->set |= KMS_CFG_SET_DOMAINS;
        return 0;
    }
    if (strcmp(key, "target") == 0) {
        char name[256];

        if (kms_dname_display(v, KMS_DNAME_HOST, name, sizeof name) < 0) {
            kms_seterr(why, whylen, "'%s' is not a valid host name", v);
            return KMS_EINVAL;
        }
        if (set_str(&cfg->target, name))
            return KMS_ENOMEM;
        cfg->set |= KMS_CFG_SET_TARGET;
        if (!(cfg->set & KMS_CFG_SET_DOMAINS))
            return default_domains(cfg);
        return 0;
    }
    if (strcmp(key, "priority") == 0 || strcmp(key, "weight") == 0) {
        if ((r = parse_uint(v, 0, 65535, &u, why, whylen)) < 0)
            return r;
        if (key[0] == 'p') {
            cfg->priority = (uint16_t)u;
            cfg->set |= KMS_CFG_SET_PRIORITY;
        } else {
            cfg->weight = (uint16_t)u;
            cfg->set |= KMS_CFG_SET_WEIGHT;
        }
        return 0;
    }
    if (strcmp(key, "ttl") == 0) {
        if ((r = parse_seconds(v, 0, 2147483647, &u, why, whylen)) == 0)
            cfg->ttl = (uint32_t)u;
        return r;
    }
    if (strcmp(key, "server") == 0) {
        struct sockaddr_storage ss;
        char buf[KMS_ADDRSTRLEN];

        if (!*v)
            return set_str(&cfg->server, NULL);
        if ((r = kms_addr_parse(v, 53, &ss)) < 0) {
            kms_seterr(why, whylen, "'%s' is not a numeric address[:port]", v);
            return r;
        }
        return set_str(&cfg->server, kms_addr_format((struct sockaddr *)&ss, buf));
    }
    if (strcmp(key, "key_file") == 0)
        return set_str(&cfg->key_file, *v ? v : NULL);
    if (strcmp(key, "refresh") == 0) {
        if ((r = parse_seconds(v, 1, 366ull * 86400, &u, why, whylen)) == 0)
            cfg->refresh = u;
        return r;
    }
    return KMS_ENOENT;
}

static int set_key(kms_config_t *cfg, const char *section, const char *key, const char *value,
                   char *why, size_t whylen)
{
    int r;

    if (strcmp(section, "host") != 0 && strcmp(section, "dns") != 0) {
        kms_seterr(why, whylen, "unknown section (expected [host] or [dns])");
        return KMS_ECONFIG;
    }
    if (!*value && strcmp(key, "server") != 0 && strcmp(key, "key_file") != 0) {
        kms_seterr(why, whylen, "empty value");
        return KMS_ECONFIG;
    }
    why[0] = 0;
    r = section[0] == 'h' ? set_host_key(cfg, key, value, why, whylen)
                          : set_dns_key(cfg, key, value, why, whylen);
    if (r == KMS_ENOENT) {
        kms_seterr(why, whylen, "unknown key");
        return KMS_ECONFIG;
    }
    if (r == KMS_ENOMEM) {
        kms_seterr(why, whylen, "out of memory");
        return r;
    }
    if (r < 0) {
        if (!why[0])
            kms_seterr(why, whylen, "bad value '%s'", value);
        return KMS_ECONFIG;
    }
    return 0;
}

/* Remember where a key that is checked later (key_file, read when the
 * configuration is applied) was given, so that error can name it too. */
static int note_origin(kms_config_t *cfg, const char *section, const char *key, const char *origin)
{
    if (strcmp(section, "dns") != 0 || strcmp(key, "key_file") != 0)
        return 0;
    return set_str(&cfg->key_file_origin, origin);
}

int kms_config_set(kms_config_t *cfg, const char *section, const char *key, const char *value,
                   const char *origin, char *err, size_t errlen)
{
    char why[KMS_CONFIG_ERRLEN];
    int r = set_key(cfg, section, key, value, why, sizeof why);

    if (r == 0 && (r = note_origin(cfg, section, key, origin ? origin : "--set")) < 0)
        kms_seterr(why, sizeof why, "out of memory");
    if (r < 0)
        kms_seterr(err, errlen, "%s: [%s] %s: %s", origin ? origin : "--set", section, key, why);
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
    char **seen; /* "section\nkey" of keys already given in this file */
    size_t n_seen;
    int cont;      /* the line just read is an indented continuation line */
    int have_prev; /* a key was given since the last section header (inih prev_name) */
    char *acc;     /* value of the last key so far (continued domains/listen) */
} load_ctx_t;

static void ctx_error(load_ctx_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ctx_error(load_ctx_t *c, int code, const char *fmt, ...)
{
    va_list ap;
    char why[KMS_CONFIG_ERRLEN];

    if (c->err)
        return;
    c->err = code;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    kms_seterr(c->msg, c->msglen, "%s:%u: %s", c->name, c->line, why);
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
    if (!((j - i - 1 == 4 && memcmp(line + i + 1, "host", 4) == 0) ||
          (j - i - 1 == 3 && memcmp(line + i + 1, "dns", 3) == 0)))
        ctx_error(c, KMS_ECONFIG, "[%.*s]: unknown section (expected [host] or [dns])",
                  (int)(j - i - 1 > 64 ? 64 : j - i - 1), line + i + 1);
}

static char *reader(char *str, int num, void *stream)
{
    load_ctx_t *c = stream;
    size_t n = 0, take;

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
    {
        /* libinih (INI_ALLOW_MULTILINE) passes an indented non-comment line as
         * more value for the previous key. */
        size_t i = 0;

        while (i < n && (c->text[c->pos + i] == ' ' || c->text[c->pos + i] == '\t'))
            i++;
        c->cont = i > 0 && i < n && c->text[c->pos + i] != ';' && c->text[c->pos + i] != '#' &&
                  c->text[c->pos + i] != '\r';
    }
    memcpy(str, c->text + c->pos, take);
    str[take] = 0;
    c->pos += take;
    return c->err ? NULL : str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    load_ctx_t *c = user;
    char why[KMS_CONFIG_ERRLEN];
    size_t sl = strlen(section), nl = strlen(name);
    char *id, **ns;
    int r;

    if (c->err)
        return 0;
    if (!*section) {
        ctx_error(c, KMS_ECONFIG, "%s: key outside a section ([host] or [dns])", name);
        return 0;
    }
    if (c->cont && c->n_seen && strncmp(c->seen[c->n_seen - 1], section, sl) == 0 &&
        c->seen[c->n_seen - 1][sl] == '\n' && strcmp(c->seen[c->n_seen - 1] + sl + 1, name) == 0) {
        /* A continuation line: only the two list keys may span lines. */
        size_t al = c->acc ? strlen(c->acc) : 0;
        char *joined;

        if (strcmp(name, "domains") != 0 && strcmp(name, "listen") != 0) {
            ctx_error(c, KMS_ECONFIG,
                      "[%s] %s: indented continuation line (only domains and listen may "
                      "continue on indented lines)",
                      section, name);
            return 0;
        }
        joined = malloc(al + strlen(value) + 3);
        if (!joined) {
            ctx_error(c, KMS_ENOMEM, "out of memory");
            return 0;
        }
        /* "a.test, b.test," + "c.test" or "a.test, b.test" + "c.test": both a list. */
        sprintf(joined, "%s%s%s", c->acc ? c->acc : "", al && c->acc[al - 1] == ',' ? " " : ", ",
                value);
        /* libinih leaves inline comments on continuation lines: cut " ; ..." here. */
        for (char *p = joined + al; *p; p++) {
            if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t')) {
                *p = 0;
                trim(joined + al);
                break;
            }
        }
        free(c->acc);
        c->acc = joined;
        value = joined;
        goto apply;
    }
    id = malloc(sl + nl + 2);
    if (!id) {
        ctx_error(c, KMS_ENOMEM, "out of memory");
        return 0;
    }
    sprintf(id, "%s\n%s", section, name);
    for (size_t i = 0; i < c->n_seen; i++) {
        if (strcmp(c->seen[i], id) == 0) {
            free(id);
            ctx_error(c, KMS_ECONFIG, "[%s] %s: duplicate key", section, name);
            return 0;
        }
    }
    ns = realloc(c->seen, (c->n_seen + 1) * sizeof *ns);
    if (!ns) {
        free(id);
        ctx_error(c, KMS_ENOMEM, "out of memory");
        return 0;
    }
    c->seen = ns;
    c->seen[c->n_seen++] = id;
    free(c->acc);
    if (!(c->acc = strdup(value))) {
        ctx_error(c, KMS_ENOMEM, "out of memory");
        return 0;
    }
apply:
    c->have_prev = 1;
    r = set_key(c->cfg, section, name, value, why, sizeof why);
    if (r < 0) {
        ctx_error(c, r == KMS_ENOMEM ? r : KMS_ECONFIG, "[%s] %s: %s", section, name, why);
        return 0;
    }
    {
        char origin[KMS_CONFIG_ERRLEN];

        snprintf(origin, sizeof origin, "%s:%u", c->name, c->line);
        if (note_origin(c->cfg, section, name, origin) < 0) {
            ctx_error(c, KMS_ENOMEM, "out of memory");
            return 0;
        }
    }
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
    for (size_t i = 0; i < c.n_seen; i++)
        free(c.seen[i]);
    free(c.acc);
    free(c.seen);
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
