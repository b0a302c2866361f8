/* SPDX-License-Identifier: MIT */
/*
 * keyfile.c - BIND key file parser (see keyfile.h).
 *
 * A small tokenizer over a bounded buffer: words, quoted strings, and the
 * punctuation { } ; with comments skipped.  Every index is checked against
 * the length; no token may exceed its destination.
 */
#include "dns/keyfile.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/fsutil.h"
#include "dns/name.h"

#define TOKLEN 1024

enum { T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_SEMI, T_ERR };

typedef struct {
    const char *s;
    size_t len;
    size_t pos;
    int line;
    char tok[TOKLEN];
    int tline;
    char *err;
    size_t errlen;
} lexer_t;

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt,
                                                         ...)
{
    if (!err || errlen == 0 || err[0])
        return; /* keep the first, most precise reason */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Skip blanks and comments; returns 0, or T_ERR for an unterminated comment. */
static int skip_space(lexer_t *lx)
{
    while (lx->pos < lx->len) {
        char c = lx->s[lx->pos];
        if (c == '\n') {
            lx->line++;
            lx->pos++;
        } else if (isspace((unsigned char)c)) {
            lx->pos++;
        } else if (c == '#' || (c == '/' && lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '/')) {
            while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
                lx->pos++;
        } else if (c == '/' && lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '*') {
            int start = lx->line;
            lx->pos += 2;
            for (;;) {
                if (lx->pos + 1 >= lx->len) {
                    seterr(lx->err, lx->errlen, "line %d: unterminated comment", start);
                    return T_ERR;
                }
                if (lx->s[lx->pos] == '*' && lx->s[lx->pos + 1] == '/') {
                    lx->pos += 2;
                    break;
                }
                if (lx->s[lx->pos] == '\n')
                    lx->line++;
                lx->pos++;
            }
        } else {
            break;
        }
    }
    return 0;
}

static int next(lexer_t *lx)
{
    lx->tok[0] = '\0';
    if (skip_space(lx) == T_ERR)
        return T_ERR;
    lx->tline = lx->line;
    if (lx->pos >= lx->len)
        return T_EOF;
    char c = lx->s[lx->pos];
    if (c == '{' || c == '}' || c == ';') {
        lx->pos++;
        lx->tok[0] = c;
        lx->tok[1] = '\0';
        return c == '{' ? T_LBRACE : c == '}' ? T_RBRACE : T_SEMI;
    }
    size_t n = 0;
    if (c == '"') {
        lx->pos++;
        for (;;) {
            if (lx->pos >= lx->len || lx->s[lx->pos] == '\n') {
                seterr(lx->err, lx->errlen, "line %d: unterminated string", lx->tline);
                return T_ERR;
            }
            c = lx->s[lx->pos++];
            if (c == '"')
                break;
            if (c == '\\' && lx->pos < lx->len && lx->s[lx->pos] != '\n')
                c = lx->s[lx->pos++];
            if (c == '\0' || n + 1 >= TOKLEN) {
                seterr(lx->err, lx->errlen, "line %d: bad or overlong string", lx->tline);
                return T_ERR;
            }
            lx->tok[n++] = c;
        }
        lx->tok[n] = '\0';
        return T_STRING;
    }
    while (lx->pos < lx->len) {
        c = lx->s[lx->pos];
        if (isspace((unsigned char)c) || c == '{' || c == '}' || c == ';' || c == '"' || c == '#')
            break;
        if (c == '/' && lx->pos + 1 < lx->len &&
            (lx->s[lx->pos + 1] == '/' || lx->s[lx->pos + 1] == '*'))
            break;
        if (c == '\0' || !isprint((unsigned char)c) || n + 1 >= TOKLEN) {
            seterr(lx->err, lx->errlen, "line %d: unexpected character or overlong word", lx->line);
            return T_ERR;
        }
        lx->tok[n++] = c;
        lx->pos++;
    }
    lx->tok[n] = '\0';
    return T_WORD;
}

/* Skip the rest of a statement whose first token was already read. */
static int skip_statement(lexer_t *lx)
{
    int depth = 0;
    for (;;) {
        int t = next(lx);
        if (t == T_ERR)
            return -1;
        if (t == T_EOF) {
            seterr(lx->err, lx->errlen, "line %d: statement not terminated by ';'", lx->tline);
            return -1;
        }
        if (t == T_LBRACE)
            depth++;
        else if (t == T_RBRACE && --depth < 0) {
            seterr(lx->err, lx->errlen, "line %d: unbalanced '}'", lx->tline);
            return -1;
        } else if (t == T_SEMI && depth == 0)
            return 0;
    }
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Validate base64 (RFC 4648, padded); returns the decoded length or -1. */
static long b64_decoded_len(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0)
        return -1;
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') {
            if (i < n - 2)
                return -1;
            pad++;
            continue;
        }
        if (pad || b64val((unsigned char)s[i]) < 0)
            return -1;
    }
    /* the last quantum's unused bits must be zero (canonical encoding) */
    if (pad == 1 && (b64val((unsigned char)s[n - 2]) & 0x3))
        return -1;
    if (pad == 2 && (b64val((unsigned char)s[n - 3]) & 0xf))
        return -1;
    return (long)(n / 4 * 3 - pad);
}

int kms_tsig_algorithm_map(const char *name, const char **sign_name)
{
    static const struct {
        const char *user;
        const char *sign; /* the name on the wire */
    } map[] = {
        {"hmac-sha256", "hmac-sha256"},
        {"hmac-sha512", "hmac-sha512"},
        {"hmac-sha1", "hmac-sha1"},
        {"hmac-md5", "hmac-md5.sig-alg.reg.int"},
        {"hmac-md5.sig-alg.reg.int", "hmac-md5.sig-alg.reg.int"},
        {"hmac-sha384", "hmac-sha384"},
        {"hmac-sha224", "hmac-sha224"},
    };
    char buf[40];
    size_t n = name ? strlen(name) : 0;
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n == 0 || n >= sizeof buf)
        return KMS_EALGORITHM;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[n] = '\0';
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(buf, map[i].user) == 0) {
            if (!map[i].sign)
                return KMS_EALGORITHM;
            if (sign_name)
                *sign_name = map[i].sign;
            return 0;
        }
    }
    return KMS_EALGORITHM;
}

/* A key name in canonical form ("kms-publisher."): a DNS name (dns/name.h)
 * of any printable characters, as named.conf takes them. */
static int norm_name(const char *in, char *out, size_t outlen)
{
    return kms_dname_canon(in, KMS_DNAME_TEXT, out, outlen) < 0 ? -1 : 0;
}

/* Parse the body of `key NAME { ... };` after NAME; fills @p k. */
static int parse_key_body(lexer_t *lx, kms_tsig_key_t *k, int *have_secret)
{
    int t = next(lx);
    if (t != T_LBRACE) {
        seterr(lx->err, lx->errlen, "line %d: expected '{' after the key name", lx->tline);
        return KMS_EKEYFILE;
    }
    for (;;) {
        t = next(lx);
        if (t == T_ERR)
            return KMS_EKEYFILE;
        if (t == T_RBRACE)
            break;
        if (t != T_WORD) {
            seterr(lx->err, lx->errlen, "line %d: expected 'algorithm' or 'secret'", lx->tline);
            return KMS_EKEYFILE;
        }
        /* Words of the file are not echoed (a misplaced secret would be):
         * only the two keywords and algorithm names, which hold no secret. */
        const char *kw = strcmp(lx->tok, "algorithm") == 0 ? "algorithm"
                         : strcmp(lx->tok, "secret") == 0  ? "secret"
                                                           : NULL;
        int kwline = lx->tline;
        if (!kw) {
            seterr(lx->err, lx->errlen,
                   "line %d: unknown key option (a key holds 'algorithm' and 'secret')", kwline);
            return KMS_EKEYFILE;
        }
        t = next(lx);
        if (t != T_WORD && t != T_STRING) {
            seterr(lx->err, lx->errlen, "line %d: '%s' needs a value", kwline, kw);
            return KMS_EKEYFILE;
        }
        if (strcmp(kw, "algorithm") == 0) {
            if (kms_tsig_algorithm_map(lx->tok, &k->sign_algorithm) < 0) {
                /* "hmac-..." or "gss-tsig" is a name (base64 has no '-') */
                int named =
                    strncasecmp(lx->tok, "hmac-", 5) == 0 || strcasecmp(lx->tok, "gss-tsig") == 0;
                if (strcasecmp(lx->tok, "gss-tsig") == 0)
                    seterr(lx->err, lx->errlen,
                           "line %d: a gss-tsig key is negotiated, not read from a file "
                           "(Kerberos: kms-publish --gss, kmsd [dns] gss_tsig = yes)",
                           kwline);
                else
                    seterr(lx->err, lx->errlen,
                           "line %d: TSIG algorithm %s%.40s%sis not supported (use hmac-sha256, "
                           "hmac-sha224, hmac-sha384, hmac-sha512, hmac-sha1 or hmac-md5)",
                           kwline, named ? "'" : "", named ? lx->tok : "", named ? "' " : "");
                return KMS_EALGORITHM;
            }
            size_t i = 0;
            for (; lx->tok[i] && i + 1 < sizeof k->algorithm; i++)
                k->algorithm[i] = (char)tolower((unsigned char)lx->tok[i]);
            k->algorithm[i] = '\0';
        } else if (strcmp(kw, "secret") == 0) {
            long n = b64_decoded_len(lx->tok);
            if (n <= 0 || strlen(lx->tok) >= sizeof k->secret) {
                seterr(lx->err, lx->errlen, "line %d: secret is not valid base64", kwline);
                return KMS_EKEYFILE;
            }
            memcpy(k->secret, lx->tok, strlen(lx->tok) + 1);
            k->secret_len = (size_t)n;
            *have_secret = 1;
        }
        if (next(lx) != T_SEMI) {
            seterr(lx->err, lx->errlen, "line %d: expected ';' after %s", kwline, kw);
            return KMS_EKEYFILE;
        }
    }
    if (next(lx) != T_SEMI) {
        seterr(lx->err, lx->errlen, "line %d: expected ';' after the key's '}'", lx->tline);
        return KMS_EKEYFILE;
    }
    return 0;
}

int kms_keyfile_parse(const char *text, size_t len, const char *want, kms_tsig_key_t *out,
                      char *err, size_t errlen)
{
    lexer_t lx = {.s = text, .len = text ? len : 0, .line = 1, .err = err, .errlen = errlen};
    char wantn[KMS_TSIG_NAMELEN];
    int nkeys = 0, found = 0, rc;
    kms_tsig_key_t k;

    if (err && errlen)
        err[0] = '\0';
    memset(out, 0, sizeof *out);
    if (want && norm_name(want, wantn, sizeof wantn) < 0) {
        seterr(err, errlen, "bad key name '%.60s'", want);
        return KMS_EKEYFILE;
    }
    for (;;) {
        int t = next(&lx);
        if (t == T_EOF)
            break;
        if (t == T_ERR)
            goto fail_syntax;
        if (t != T_WORD) {
            /* the token itself only when it is punctuation (a string may be a secret) */
            seterr(err, errlen, "line %d: unexpected %s%s%s", lx.tline, t == T_STRING ? "" : "'",
                   t == T_STRING ? "quoted string" : lx.tok, t == T_STRING ? "" : "'");
            goto fail_syntax;
        }
        if (strcmp(lx.tok, "key") != 0) {
            if (skip_statement(&lx) < 0)
                goto fail_syntax;
            continue;
        }
        int kline = lx.tline;
        t = next(&lx);
        explicit_bzero(&k, sizeof k);
        if ((t != T_WORD && t != T_STRING) || norm_name(lx.tok, k.name, sizeof k.name) < 0) {
            seterr(err, errlen, "line %d: 'key' needs a valid name", kline);
            goto fail_syntax;
        }
        snprintf(k.algorithm, sizeof k.algorithm, "hmac-sha256");
        k.sign_algorithm = "hmac-sha256";
        int have_secret = 0;
        rc = parse_key_body(&lx, &k, &have_secret);
        if (rc < 0)
            goto fail;
        if (!have_secret) {
            seterr(err, errlen, "line %d: key \"%s\" has no secret", kline, k.name);
            goto fail_syntax;
        }
        nkeys++;
        if (want ? strcmp(k.name, wantn) == 0 : nkeys == 1) {
            *out = k;
            found = 1;
        }
    }
    if (nkeys == 0) {
        seterr(err, errlen, "no key statement found");
        goto fail_syntax;
    }
    if (!want && nkeys > 1) {
        seterr(err, errlen, "%d keys in the file: name the one to use", nkeys);
        goto fail_syntax;
    }
    if (!found) {
        seterr(err, errlen, "no key named \"%s\"", wantn);
        goto fail_syntax;
    }
    explicit_bzero(&k, sizeof k);
    explicit_bzero(lx.tok, sizeof lx.tok); /* the last token may be the secret */
    return 0;

fail_syntax:
    rc = KMS_EKEYFILE;
fail:
    explicit_bzero(&k, sizeof k);
    explicit_bzero(lx.tok, sizeof lx.tok);
    explicit_bzero(out, sizeof *out);
    return rc;
}

int kms_keyfile_load(const char *path, const char *want, kms_tsig_key_t *out, char *err,
                     size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    char why[200];
    struct stat st;
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (err && errlen)
        err[0] = '\0';
    int rc = kms_file_read(path, 64 * 1024, &text, &len);
    if (rc < 0) {
        seterr(err, errlen, "%s: %s", path, kms_strerror(rc));
        return rc;
    }
    rc = kms_keyfile_parse(text, len, want, out, why, sizeof why);
    if (rc < 0)
        seterr(err, errlen, "%s: %s", path, why);
    else if (stat(path, &st) == 0) /* for the caller's warning only */
        out->file_mode = (unsigned)(st.st_mode & 07777);
    explicit_bzero(text, len);
    free(text);
    return rc;
}

const char *kms_tsig_key_display(const kms_tsig_key_t *key, char *buf, size_t len)
{
    return kms_dname_shown(key->name, buf, len);
}
