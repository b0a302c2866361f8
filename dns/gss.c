/* SPDX-License-Identifier: MIT */
/*
 * gss.c - MIT GSS-API behind dns/gss.h.
 *
 * MIT specifics relied on (krb5 1.20, Debian 12): gss_acquire_cred_from()
 * with a "client_keytab" and a MEMORY "ccache" gets initial credentials
 * from the keytab on first use and again when they near their end; SPNEGO
 * credentials must be acquired for the SPNEGO mechanism, or SPNEGO falls
 * back to the default ccache.  SPNEGO hides why Kerberos failed ("cannot
 * find mechanisms to negotiate"), so a failed step is done once more with
 * the Kerberos mechanism alone, whose error code says what to do
 * (diagnose()).
 */
#include "dns/gss.h"

#include <errno.h>
#include <fcntl.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"

struct kms_gss_creds {
    gss_cred_id_t cred;
    char principal[256]; /* as the credentials name it */
    char want[256];      /* as asked for ("" for the cache's default) */
    char keytab[512];    /* "" for a ticket cache */
    char ccache[64];     /* the private MEMORY cache of keytab credentials */
    int64_t expiry;
};

struct kms_gss_ctx {
    gss_ctx_id_t ctx;
    gss_cred_id_t cred;           /* not owned */
    const kms_gss_creds_t *creds; /* not owned: for diagnose() */
    gss_name_t target;
    char server[256];
    int64_t expiry;
};

static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};
static gss_OID_set_desc spnego_set = {1, &spnego_oid};

static gss_OID_desc krb5_oid = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
static gss_OID_set_desc krb5_set = {1, &krb5_oid};

#define CTX_FLAGS (GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_INTEG_FLAG)

/* ---- errors --------------------------------------------------------------- */

/* GSS-API's own words for @p code (major or a mechanism's minor). */
static void gss_words(OM_uint32 code, int type, char *out, size_t outlen)
{
    OM_uint32 minor, ctx = 0;
    gss_buffer_desc b = GSS_C_EMPTY_BUFFER;

    out[0] = '\0';
    if (gss_display_status(&minor, code, type, GSS_C_NO_OID, &ctx, &b) == GSS_S_COMPLETE) {
        snprintf(out, outlen, "%.*s", (int)b.length, (const char *)b.value);
        gss_release_buffer(&minor, &b);
    }
}

/*
 * One line for a failed call: what went wrong and what to do.  @p what
 * names the step ("getting a ticket for DNS/ns1.kms.test@KMS.TEST").
 */
static int gss_fail(OM_uint32 major, OM_uint32 minor, const char *what, const char *principal,
                    const char *server, char *err, size_t errlen)
{
    char words[200];

    switch ((krb5_error_code)minor) {
    case KRB5_FCC_NOFILE:
    case KRB5_CC_NOTFOUND: {
        char cc[200] = "";
        krb5_context k = NULL;
        if (krb5_init_context(&k) == 0) {
            const char *n = krb5_cc_default_name(k);
            snprintf(cc, sizeof cc, " in %s", n ? n : "the default cache");
            krb5_free_context(k);
        }
        kms_seterr(err, errlen,
                   "no Kerberos ticket%s%s%s: run kinit%s%s, or use a keytab (--keytab FILE)",
                   principal && *principal ? " for " : "", principal ? principal : "", cc,
                   principal && *principal ? " " : "", principal ? principal : "");
        return KMS_EKRB_NOCREDS;
    }
    case KRB5KRB_AP_ERR_TKT_EXPIRED:
    case KRB5KDC_ERR_TGT_REVOKED:
        kms_seterr(err, errlen,
                   "Kerberos ticket%s%s expired: run kinit again (kmsd renews "
                   "from its keytab by itself)",
                   principal && *principal ? " of " : "", principal ? principal : "");
        return KMS_EKRB_EXPIRED;
    case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
        kms_seterr(err, errlen,
                   "%s: the KDC does not know server principal %s (give the DNS server's "
                   "principal: --server-principal / server_principal)",
                   what, server ? server : "?");
        return KMS_EKRB_SPN;
    case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
        kms_seterr(err, errlen, "%s: the KDC does not know principal %s", what,
                   principal ? principal : "?");
        return KMS_EKRB_KEYTAB;
    case KRB5_KDC_UNREACH:
    case KRB5_REALM_CANT_RESOLVE:
    case KRB5_REALM_UNKNOWN:
        kms_seterr(err, errlen,
                   "%s: cannot reach a KDC (is it running? krb5.conf [realms] kdc = ...)", what);
        return KMS_EKRB_KDC;
    case KRB5KRB_AP_ERR_SKEW:
        kms_seterr(err, errlen,
                   "%s: clock skew too great (Kerberos allows 5 minutes): fix the time on this "
                   "host or the KDC",
                   what);
        return KMS_EKRB_SKEW;
    case KRB5KDC_ERR_PREAUTH_FAILED:
    case KRB5KRB_AP_ERR_BAD_INTEGRITY:
        kms_seterr(err, errlen,
                   "%s: the KDC refused our key for %s (the keytab is older than the account's "
                   "password or key version)",
                   what, principal ? principal : "?");
        return KMS_EKRB_KEYTAB;
    default:
        break;
    }
    if (major == GSS_S_CREDENTIALS_EXPIRED) {
        kms_seterr(err, errlen, "Kerberos credentials%s%s expired: run kinit again",
                   principal && *principal ? " of " : "", principal ? principal : "");
        return KMS_EKRB_EXPIRED;
    }
    if (minor)
        gss_words(minor, GSS_C_MECH_CODE, words, sizeof words);
    else
        gss_words(major, GSS_C_GSS_CODE, words, sizeof words);
    kms_seterr(err, errlen, "%s: %s", what, words[0] ? words : "GSS-API failure");
    return KMS_EKRB;
}

/* ---- credentials ---------------------------------------------------------- */

/* Destroy the in-memory cache @p name (our tickets go with it). */
static void ccache_destroy(const char *name)
{
    krb5_context k = NULL;
    krb5_ccache cc = NULL;

    if (!name[0] || krb5_init_context(&k))
        return;
    if (krb5_cc_resolve(k, name, &cc) == 0)
        krb5_cc_destroy(k, cc);
    krb5_free_context(k);
}

static int import_name(const char *s, gss_name_t *out)
{
    OM_uint32 minor;
    gss_buffer_desc b = {strlen(s), (void *)s};
    return gss_import_name(&minor, &b, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, out) == GSS_S_COMPLETE
               ? 0
               : KMS_EINVAL;
}

static void display_name(gss_name_t n, char *out, size_t outlen)
{
    OM_uint32 minor;
    gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
    out[0] = '\0';
    if (gss_display_name(&minor, n, &b, NULL) == GSS_S_COMPLETE) {
        snprintf(out, outlen, "%.*s", (int)b.length, (const char *)b.value);
        gss_release_buffer(&minor, &b);
    }
}

/* The keytab can be opened and holds a key for @p principal. */
static int keytab_check(const char *kt, const char *principal, char *err, size_t errlen)
{
    krb5_context k = NULL;
    krb5_keytab t = NULL;
    krb5_principal p = NULL;
    krb5_keytab_entry e;
    const char *path = strncmp(kt, "FILE:", 5) == 0 ? kt + 5 : kt;
    int rc = 0, fd;

    if (strchr(kt, ':') == NULL || strncmp(kt, "FILE:", 5) == 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int e2 = errno;
            kms_seterr(err, errlen, "keytab %s cannot be read: %s%s", path, strerror(e2),
                       e2 == EACCES ? " (run as the user who owns it, or chmod/chown it)" : "");
            return KMS_EKRB_KEYTAB;
        }
        close(fd);
    }
    if (krb5_init_context(&k))
        return KMS_ENOMEM;
    if (krb5_kt_resolve(k, kt, &t) || krb5_parse_name(k, principal, &p)) {
        kms_seterr(err, errlen, "keytab %s or principal %s is not valid", kt, principal);
        rc = KMS_EKRB_KEYTAB;
    } else if (krb5_kt_get_entry(k, t, p, 0, 0, &e) != 0) {
        char *full = NULL;
        krb5_unparse_name(k, p, &full);
        kms_seterr(err, errlen,
                   "keytab %s holds no key for %s (klist -k %s lists what it holds; set the "
                   "principal to one of them)",
                   path, full ? full : principal, path);
        krb5_free_unparsed_name(k, full);
        rc = KMS_EKRB_KEYTAB;
    } else {
        krb5_free_keytab_entry_contents(k, &e);
    }
    if (p)
        krb5_free_principal(k, p);
    if (t)
        krb5_kt_close(k, t);
    krb5_free_context(k);
    return rc;
}

/*
 * SPNEGO failed: the same credentials, and a context with @p server when
 * given, with the Kerberos mechanism alone, for its error code.  Returns
 * that failure's KMS_EKRB_* and line, or 0 when Kerberos alone succeeds.
 */
static int diagnose(const kms_gss_creds_t *c, gss_name_t want, gss_name_t server,
                    const char *server_str, char *err, size_t errlen)
{
    OM_uint32 major, minor, m2;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
    char what[320];
    int rc = 0;

    if (c->keytab[0]) {
        char cc[80];
        snprintf(cc, sizeof cc, "%s-diag", c->ccache);
        gss_key_value_element_desc el[2] = {{"client_keytab", c->keytab}, {"ccache", cc}};
        gss_key_value_set_desc store = {2, el};
        major = gss_acquire_cred_from(&minor, want, GSS_C_INDEFINITE, &krb5_set, GSS_C_INITIATE,
                                      &store, &cred, NULL, NULL);
    } else {
        major = gss_acquire_cred(&minor, want, GSS_C_INDEFINITE, &krb5_set, GSS_C_INITIATE, &cred,
                                 NULL, NULL);
    }
    if (GSS_ERROR(major))
        return gss_fail(major, minor, "getting Kerberos credentials", c->want, NULL, err, errlen);
    if (server != GSS_C_NO_NAME) {
        major =
            gss_init_sec_context(&minor, cred, &ctx, server, &krb5_oid, CTX_FLAGS, 0,
                                 GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &ob, NULL, NULL);
        gss_release_buffer(&m2, &ob);
        if (ctx != GSS_C_NO_CONTEXT)
            gss_delete_sec_context(&m2, &ctx, GSS_C_NO_BUFFER);
        if (GSS_ERROR(major)) {
            snprintf(what, sizeof what, "getting a ticket for %s", server_str);
            rc = gss_fail(major, minor, what, c->principal[0] ? c->principal : c->want, server_str,
                          err, errlen);
        }
    }
    gss_release_cred(&m2, &cred);
    if (c->keytab[0]) {
        char cc[80];
        snprintf(cc, sizeof cc, "%s-diag", c->ccache);
        ccache_destroy(cc);
    }
    return rc;
}

/*
 * The ticket cache (KRB5CCNAME) holds a ticket-granting ticket that has
 * not ended: read with libkrb5, so that an empty or expired cache is said
 * plainly (GSS-API's answer for an expired cache is vaguer, and leaks).
 */
static int ccache_check(const char *want, char *err, size_t errlen)
{
    krb5_context k = NULL;
    krb5_ccache cc = NULL;
    krb5_principal p = NULL;
    krb5_cc_cursor cur;
    krb5_creds cr;
    char *name = NULL;
    int rc = 0, found = 0;
    krb5_timestamp end = 0;

    if (krb5_init_context(&k))
        return KMS_ENOMEM;
    if (krb5_cc_default(k, &cc) || krb5_cc_get_principal(k, cc, &p)) {
        rc = gss_fail(GSS_S_NO_CRED, (OM_uint32)KRB5_FCC_NOFILE, "", want, NULL, err, errlen);
        goto out;
    }
    krb5_unparse_name(k, p, &name);
    if (krb5_cc_start_seq_get(k, cc, &cur) == 0) {
        while (krb5_cc_next_cred(k, cc, &cur, &cr) == 0) {
            if (!krb5_is_config_principal(k, cr.server) && cr.server->length == 2 &&
                cr.server->data[0].length == 6 &&
                memcmp(cr.server->data[0].data, "krbtgt", 6) == 0) {
                found = 1;
                if ((uint32_t)cr.times.endtime > (uint32_t)end)
                    end = cr.times.endtime;
            }
            krb5_free_cred_contents(k, &cr);
        }
        krb5_cc_end_seq_get(k, cc, &cur);
    }
    if (!found) {
        rc = gss_fail(GSS_S_NO_CRED, (OM_uint32)KRB5_FCC_NOFILE, "", name ? name : want, NULL, err,
                      errlen);
    } else if ((int64_t)(uint32_t)end <= (int64_t)time(NULL)) {
        time_t t = (time_t)(uint32_t)end;
        char when[40];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
        kms_seterr(err, errlen, "the Kerberos ticket of %s expired at %s: run kinit %s again",
                   name ? name : "?", when, name ? name : "");
        rc = KMS_EKRB_EXPIRED;
    }
out:
    krb5_free_unparsed_name(k, name);
    if (p)
        krb5_free_principal(k, p);
    if (cc)
        krb5_cc_close(k, cc);
    krb5_free_context(k);
    return rc;
}

static int creds_get(kms_gss_creds_t *c, char *err, size_t errlen)
{
    OM_uint32 major, minor, life = 0;
    gss_name_t want = GSS_C_NO_NAME, have = GSS_C_NO_NAME;
    int rc;

    if (c->want[0] && import_name(c->want, &want) < 0) {
        kms_seterr(err, errlen, "principal '%s' is not a valid Kerberos name", c->want);
        return KMS_EKRB;
    }
    if (!c->keytab[0] && (rc = ccache_check(c->want, err, errlen)) < 0)
        goto out;
    if (c->keytab[0]) {
        gss_key_value_element_desc el[2] = {{"client_keytab", c->keytab}, {"ccache", c->ccache}};
        gss_key_value_set_desc store = {2, el};
        major = gss_acquire_cred_from(&minor, want, GSS_C_INDEFINITE, &spnego_set, GSS_C_INITIATE,
                                      &store, &c->cred, NULL, NULL);
    } else {
        major = gss_acquire_cred(&minor, want, GSS_C_INDEFINITE, &spnego_set, GSS_C_INITIATE,
                                 &c->cred, NULL, NULL);
    }
    if (GSS_ERROR(major)) {
        rc = gss_fail(major, minor, "getting Kerberos credentials", c->want, NULL, err, errlen);
        int d = diagnose(c, want, GSS_C_NO_NAME, NULL, err, errlen);
        rc = d < 0 ? d : rc;
        goto out;
    }
    major = gss_inquire_cred(&minor, c->cred, &have, &life, NULL, NULL);
    if (GSS_ERROR(major) && !c->keytab[0]) {
        rc = gss_fail(major, minor, "reading Kerberos credentials", c->want, NULL, err, errlen);
        goto out;
    }
    if (have != GSS_C_NO_NAME)
        display_name(have, c->principal, sizeof c->principal);
    if (!c->principal[0])
        snprintf(c->principal, sizeof c->principal, "%s", c->want);
    if (!c->keytab[0] && life == 0) {
        rc = gss_fail(GSS_S_CREDENTIALS_EXPIRED, 0, "", c->principal, NULL, err, errlen);
        goto out;
    }
    c->expiry = life == 0 || life == GSS_C_INDEFINITE ? 0 : (int64_t)time(NULL) + life;
    rc = 0;
out:
    gss_release_name(&minor, &want);
    gss_release_name(&minor, &have);
    if (rc < 0 && c->cred != GSS_C_NO_CREDENTIAL)
        gss_release_cred(&minor, &c->cred);
    return rc;
}

/* @p keytab, or for "" the default keytab as MIT finds it (KRB5_KTNAME,
 * else krb5.conf, else /etc/krb5.keytab), into @p out ("" if none). */
static void keytab_name(const char *keytab, char *out, size_t outlen)
{
    out[0] = '\0';
    if (keytab[0]) {
        snprintf(out, outlen, "%s", keytab);
    } else {
        krb5_context k = NULL;
        if (krb5_init_context(&k) == 0) {
            krb5_kt_default_name(k, out, (int)outlen);
            krb5_free_context(k);
        }
    }
}

int kms_gss_keytab_check(const char *keytab, const char *principal, char *err, size_t errlen)
{
    char name[512];

    keytab_name(keytab ? keytab : "", name, sizeof name);
    if (!name[0] || !principal || !principal[0]) {
        kms_seterr(err, errlen, "no keytab or no principal");
        return KMS_EKRB_KEYTAB;
    }
    return keytab_check(name, principal, err, errlen);
}

int kms_gss_creds_acquire(const kms_gss_cred_opts_t *o, kms_gss_creds_t **out, char *err,
                          size_t errlen)
{
    kms_gss_creds_t *c;
    int rc;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return KMS_ENOMEM;
    c->cred = GSS_C_NO_CREDENTIAL;
    if (o->principal)
        snprintf(c->want, sizeof c->want, "%s", o->principal);
    if (o->keytab) {
        keytab_name(o->keytab, c->keytab, sizeof c->keytab);
        if (!c->keytab[0] || !c->want[0]) {
            kms_seterr(err, errlen, "a keytab needs a principal");
            free(c);
            return KMS_EKRB_KEYTAB;
        }
        snprintf(c->ccache, sizeof c->ccache, "MEMORY:kmsdns-%p", (void *)c);
        if ((rc = keytab_check(c->keytab, c->want, err, errlen)) < 0) {
            free(c);
            return rc;
        }
    }
    if ((rc = creds_get(c, err, errlen)) < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int kms_gss_creds_refresh(kms_gss_creds_t *c, int64_t margin, char *err, size_t errlen)
{
    OM_uint32 minor;
    int64_t now = (int64_t)time(NULL);

    if (c->expiry && c->expiry - margin > now)
        return 0;
    if (!c->keytab[0]) {
        if (c->expiry && c->expiry > now)
            return 0; /* nothing better to be had from a ticket cache */
        return gss_fail(GSS_S_CREDENTIALS_EXPIRED, 0, "", c->principal, NULL, err, errlen);
    }
    /* a new private cache: the next context gets a fresh TGT from the keytab;
     * the old one, and the tickets in it, go */
    gss_release_cred(&minor, &c->cred);
    c->cred = GSS_C_NO_CREDENTIAL;
    c->expiry = 0;
    ccache_destroy(c->ccache);
    snprintf(c->ccache, sizeof c->ccache, "MEMORY:kmsdns-%p-%lld", (void *)c, (long long)now);
    return creds_get(c, err, errlen);
}

int64_t kms_gss_creds_expiry(const kms_gss_creds_t *c)
{
    return c ? c->expiry : 0;
}

const char *kms_gss_creds_principal(const kms_gss_creds_t *c)
{
    return c ? c->principal : "";
}

const char *kms_gss_creds_keytab(const kms_gss_creds_t *c)
{
    return c && c->keytab[0] ? c->keytab : NULL;
}

void kms_gss_creds_free(kms_gss_creds_t *c)
{
    OM_uint32 minor;
    if (!c)
        return;
    if (c->cred != GSS_C_NO_CREDENTIAL)
        gss_release_cred(&minor, &c->cred);
    ccache_destroy(c->ccache); /* the private cache holds our tickets */
    free(c);
}

void kms_gss_default_realm(char *out, size_t outlen)
{
    krb5_context k = NULL;
    char *realm = NULL;

    out[0] = '\0';
    if (krb5_init_context(&k))
        return;
    if (krb5_get_default_realm(k, &realm) == 0) {
        snprintf(out, outlen, "%s", realm);
        krb5_free_default_realm(k, realm);
    }
    krb5_free_context(k);
}

/* ---- contexts ------------------------------------------------------------- */

static int64_t ctx_lifetime(kms_gss_ctx_t *x)
{
    OM_uint32 minor, life = 0;
    if (gss_inquire_context(&minor, x->ctx, NULL, NULL, &life, NULL, NULL, NULL, NULL) !=
            GSS_S_COMPLETE ||
        life == GSS_C_INDEFINITE)
        return 0;
    return (int64_t)time(NULL) + life;
}

/* One init_sec_context round; 1 complete, 0 continue, <0 error. */
static int ctx_round(kms_gss_ctx_t *x, const uint8_t *in, size_t inlen, uint8_t **token,
                     size_t *toklen, const char *principal, char *err, size_t errlen)
{
    OM_uint32 major, minor, flags = 0;
    gss_buffer_desc ib = {inlen, (void *)in}, ob = GSS_C_EMPTY_BUFFER;
    char what[320];

    *token = NULL;
    *toklen = 0;
    major = gss_init_sec_context(&minor, x->cred, &x->ctx, x->target, &spnego_oid, CTX_FLAGS, 0,
                                 GSS_C_NO_CHANNEL_BINDINGS, in ? &ib : GSS_C_NO_BUFFER, NULL, &ob,
                                 &flags, NULL);
    if (GSS_ERROR(major)) {
        gss_release_buffer(&minor, &ob);
        snprintf(what, sizeof what, in ? "accepting the answer of %s" : "getting a ticket for %s",
                 x->server);
        int rc = gss_fail(major, minor, what, principal, x->server, err, errlen);
        if (!in && x->creds) {
            gss_name_t want = GSS_C_NO_NAME; /* the same principal as the credentials */
            if (!x->creds->want[0] || import_name(x->creds->want, &want) == 0) {
                int d = diagnose(x->creds, want, x->target, x->server, err, errlen);
                rc = d < 0 ? d : rc;
            }
            gss_release_name(&minor, &want);
        }
        return rc;
    }
    if (ob.length) {
        *token = malloc(ob.length);
        if (!*token) {
            gss_release_buffer(&minor, &ob);
            return KMS_ENOMEM;
        }
        memcpy(*token, ob.value, ob.length);
        *toklen = ob.length;
    }
    gss_release_buffer(&minor, &ob);
    if (major & GSS_S_CONTINUE_NEEDED)
        return 0;
    if ((flags & (GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG)) !=
        (GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG)) {
        kms_gss_token_free(*token, *toklen);
        *token = NULL;
        kms_seterr(err, errlen, "the context with %s lacks mutual authentication or integrity",
                   x->server);
        return KMS_EKRB;
    }
    x->expiry = ctx_lifetime(x);
    return 1;
}

int kms_gss_ctx_start(kms_gss_creds_t *c, const char *server_principal, kms_gss_ctx_t **out,
                      uint8_t **token, size_t *toklen, char *err, size_t errlen)
{
    kms_gss_ctx_t *x;
    int rc;

    *out = NULL;
    x = calloc(1, sizeof *x);
    if (!x)
        return KMS_ENOMEM;
    x->ctx = GSS_C_NO_CONTEXT;
    x->cred = c->cred;
    x->creds = c;
    x->target = GSS_C_NO_NAME;
    if (import_name(server_principal, &x->target) < 0) {
        kms_seterr(err, errlen, "server principal '%s' is not a valid Kerberos name",
                   server_principal);
        kms_gss_ctx_free(x);
        return KMS_EKRB_SPN;
    }
    display_name(x->target, x->server, sizeof x->server);
    if (!strchr(x->server, '@')) {
        char realm[128];
        kms_gss_default_realm(realm, sizeof realm);
        if (realm[0]) /* as the KDC will be asked */
            snprintf(x->server + strlen(x->server), sizeof x->server - strlen(x->server), "@%s",
                     realm);
    }
    rc = ctx_round(x, NULL, 0, token, toklen, c->principal, err, errlen);
    if (rc < 0) {
        kms_gss_ctx_free(x);
        return rc;
    }
    if (rc == 1 && !*token) {
        kms_seterr(err, errlen,
                   "the context with %s needs no answer (mutual authentication "
                   "is off)",
                   x->server);
        kms_gss_ctx_free(x);
        return KMS_EKRB;
    }
    *out = x;
    return 0;
}

int kms_gss_ctx_step(kms_gss_ctx_t *x, const uint8_t *in, size_t inlen, uint8_t **token,
                     size_t *toklen, char *err, size_t errlen)
{
    return ctx_round(x, in, inlen, token, toklen, NULL, err, errlen);
}

int64_t kms_gss_ctx_expiry(const kms_gss_ctx_t *x)
{
    return x ? x->expiry : 0;
}

const char *kms_gss_ctx_server(const kms_gss_ctx_t *x)
{
    return x ? x->server : "";
}

void kms_gss_ctx_free(kms_gss_ctx_t *x)
{
    OM_uint32 minor;
    if (!x)
        return;
    if (x->ctx != GSS_C_NO_CONTEXT)
        gss_delete_sec_context(&minor, &x->ctx, GSS_C_NO_BUFFER);
    gss_release_name(&minor, &x->target);
    free(x);
}

void kms_gss_token_free(uint8_t *token, size_t len)
{
    if (!token)
        return;
    explicit_bzero(token, len);
    free(token);
}

/* ---- MICs ----------------------------------------------------------------- */

static int mic_sign(const kms_tsig_signer_t *s, const uint8_t *data, size_t len, uint8_t *mac,
                    size_t *maclen)
{
    const kms_gss_ctx_t *x = s->ctx;
    OM_uint32 major, minor;
    gss_buffer_desc in = {len, (void *)data}, mic = GSS_C_EMPTY_BUFFER;
    int rc = 0;

    major = gss_get_mic(&minor, x->ctx, GSS_C_QOP_DEFAULT, &in, &mic);
    if (GSS_ERROR(major))
        rc = major == GSS_S_CONTEXT_EXPIRED ? KMS_EKRB_EXPIRED : KMS_EKRB;
    else if (mic.length > KMS_TSIG_MAC_MAX)
        rc = KMS_EKRB;
    else {
        memcpy(mac, mic.value, mic.length);
        *maclen = mic.length;
    }
    gss_release_buffer(&minor, &mic);
    return rc;
}

static int mic_verify(const kms_tsig_signer_t *s, const uint8_t *data, size_t len,
                      const uint8_t *mac, size_t maclen)
{
    const kms_gss_ctx_t *x = s->ctx;
    OM_uint32 major, minor;
    gss_buffer_desc in = {len, (void *)data}, mic = {maclen, (void *)mac};

    major = gss_verify_mic(&minor, x->ctx, &in, &mic, NULL);
    if (GSS_ERROR(major) || (major & GSS_S_DUPLICATE_TOKEN))
        return KMS_ETSIG_VERIFY;
    return 0;
}

int kms_gss_signer(kms_gss_ctx_t *x, const char *keyname, const char *algorithm,
                   kms_tsig_signer_t *out)
{
    memset(out, 0, sizeof *out);
    if (kms_dname_canon(keyname, KMS_DNAME_ANY, out->name, sizeof out->name) < 0 ||
        kms_dname_canon(algorithm, KMS_DNAME_ANY, out->algorithm, sizeof out->algorithm) < 0)
        return KMS_EINVAL;
    out->sign = mic_sign;
    out->verify = mic_verify;
    out->ctx = x;
    return 0;
}
