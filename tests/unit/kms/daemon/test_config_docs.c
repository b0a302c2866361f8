/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for kms/daemon/config's documentation: the key table
 * (kms_config_keys()) against docs/configuration.md, kmsd(1) and
 * docs/kmsd.conf.example.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/daemon/config.h"

/* ---- the docs name the table's keys ------------------------------------------
 *
 * docs/configuration.md (its "## [section]" tables), the CONFIGURATION
 * section of docs/kmsd.1 (".TP" then ".B [section] key") and
 * docs/kmsd.conf.example ("key =" or ";key =") must each name exactly the
 * keys of kms_config_keys(), once each, with the table's default where it
 * has one, and say START_ONLY for exactly the keys flagged KMS_CFG_RESTART.
 * Each disagreement is printed as "FILE:LINE: [section] key: what"; the
 * test fails after reading the whole file, so one run lists them all.
 */

#define DOC_LINE   4096 /* longest line a doc may have */
#define DOC_NAME   64   /* buffer of a section or key name (the %63 of the sscanf formats) */
#define START_ONLY "taken at start only"

typedef struct {
    const char *name; /* as printed: "docs/kmsd.1" */
    FILE *f;
    unsigned line;
    char buf[DOC_LINE];
    unsigned seen[KMS_CFG_NKEYS]; /* line where each key was named, 0: not yet */
    int problems;
} doc_t;

/* Open @p name under $KMSDNS_SRC (the test is skipped without it). */
static void doc_open(doc_t *d, const char *name)
{
    const char *src = getenv("KMSDNS_SRC");
    char path[512];

    if (!src)
        skip();
    memset(d, 0, sizeof *d);
    d->name = name;
    snprintf(path, sizeof path, "%s/%s", src, name);
    d->f = fopen(path, "r");
    if (!d->f)
        fail_msg("%s: cannot open", path);
}

/* The next line into d->buf, without its newline; 0 at the end. */
static int doc_next(doc_t *d)
{
    size_t n;

    if (!fgets(d->buf, sizeof d->buf, d->f))
        return 0;
    d->line++;
    n = strlen(d->buf);
    if (n > 0 && d->buf[n - 1] == '\n') {
        d->buf[n - 1] = 0;
    } else if (!feof(d->f)) {
        fclose(d->f);
        fail_msg("%s:%u: line longer than %d bytes", d->name, d->line, DOC_LINE - 2);
    }
    return 1;
}

/* Print one disagreement about [@p section] @p key at @p line (0: the file as a whole). */
static void problem(doc_t *d, unsigned line, const char *section, const char *key, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));
static void problem(doc_t *d, unsigned line, const char *section, const char *key, const char *fmt,
                    ...)
{
    char what[512], at[16] = "";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(at, sizeof at, ":%u", line);
    print_error("%s%s: [%s] %s: %s\n", d->name, at, section, key, what);
    d->problems++;
}

/* The row of [@p section] @p key named at the current line, or NULL after
 * reporting a key the table lacks or one named twice. */
static const kms_config_key_t *doc_key(doc_t *d, const char *section, const char *key)
{
    const kms_config_key_t *k = kms_config_key(section, key);

    if (!k) {
        const kms_config_key_t *keys;
        size_t n, i;

        keys = kms_config_keys(&n);
        for (i = 0; i < n && strcmp(keys[i].name, key) != 0; i++)
            ;
        if (i < n)
            problem(d, d->line, section, key, "a key of [%s], not of [%s]", keys[i].section,
                    section);
        else
            problem(d, d->line, section, key, "not a key of the table (kms/daemon/config.c)");
        return NULL;
    }
    if (d->seen[k->id]) {
        problem(d, d->line, section, key, "named twice (first at line %u)", d->seen[k->id]);
        return NULL;
    }
    d->seen[k->id] = d->line;
    return k;
}

/* Does the doc say START_ONLY (@p says) for exactly the KMS_CFG_RESTART keys? */
static void check_start_only(doc_t *d, unsigned line, const kms_config_key_t *k, int says)
{
    if ((k->flags & KMS_CFG_RESTART) && !says)
        problem(d, line, k->section, k->name,
                "taken at start only (KMS_CFG_RESTART) but not documented as \"" START_ONLY "\"");
    else if (!(k->flags & KMS_CFG_RESTART) && says)
        problem(d, line, k->section, k->name,
                "documented as \"" START_ONLY "\" but the table does not flag it KMS_CFG_RESTART");
}

/* Report the keys @p d never named, close it, and fail if it disagreed anywhere. */
static void doc_close(doc_t *d, const char *where)
{
    const kms_config_key_t *keys;
    size_t n;

    keys = kms_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (!d->seen[keys[i].id])
            problem(d, 0, keys[i].section, keys[i].name, "missing from %s", where);
    fclose(d->f);
    if (d->problems)
        fail_msg("%s disagrees with the key table of kms/daemon/config.c in %d place(s), above",
                 d->name, d->problems);
}

/* Copy @p len bytes of @p s into @p out (@p size bytes) as a string; 0 if too long. */
static int copy_span(char *out, size_t size, const char *s, size_t len)
{
    if (len >= size)
        return 0;
    memcpy(out, s, len);
    out[len] = 0;
    return 1;
}

/* Split a table row "| a | b | c |" in place into at most @p max trimmed cells. */
static size_t split_row(char *row, char **cell, size_t max)
{
    size_t n = 0;
    char *p = strchr(row, '|');

    while (p && n < max) {
        char *start = p + 1, *end;

        p = strchr(start, '|');
        if (!p)
            break;
        *p = 0;
        while (*start == ' ')
            start++;
        end = start + strlen(start);
        while (end > start && end[-1] == ' ')
            *--end = 0;
        cell[n++] = start;
    }
    return n;
}

/* configuration.md's default cell: `value` (then any words) or "empty" (then any words). */
static void check_md_default(doc_t *d, const kms_config_key_t *k, const char *cell)
{
    char got[256];
    const char *close;

    if (!k->def) /* derived: described in words */
        return;
    if (cell[0] == '`' && (close = strchr(cell + 1, '`')) != NULL) {
        if (!copy_span(got, sizeof got, cell + 1, (size_t)(close - cell - 1))) {
            problem(d, d->line, k->section, k->name, "default longer than %zu bytes", sizeof got);
            return;
        }
    } else if (strncmp(cell, "empty", 5) == 0 && (cell[5] == 0 || strchr(" :(", cell[5]))) {
        got[0] = 0;
    } else {
        problem(d, d->line, k->section, k->name,
                "default \"%.60s\" is neither `value` nor \"empty\"; the table says \"%s\"", cell,
                k->def);
        return;
    }
    if (strcmp(got, k->def) != 0)
        problem(d, d->line, k->section, k->name, "default \"%s\", the table says \"%s\"", got,
                k->def);
}

static void configuration_md_documents_every_key(void **state)
{
    doc_t d;
    char section[DOC_NAME] = ""; /* "": outside a "## [section]" */

    doc_open(&d, "docs/configuration.md");
    while (doc_next(&d)) {
        char *cell[4], key[DOC_NAME];
        const kms_config_key_t *k;
        int end = -1, says;
        size_t n;

        if (strncmp(d.buf, "## ", 3) == 0) {
            if (sscanf(d.buf, "## [%63[a-z_]]%n", section, &end) != 1 || end < 0 || d.buf[end])
                section[0] = 0;
            continue;
        }
        if (!section[0] || strncmp(d.buf, "| `", 3) != 0)
            continue;
        says = strstr(d.buf, START_ONLY) != NULL;
        n = split_row(d.buf, cell, 4);
        if (n < 1 || strlen(cell[0]) < 3 || cell[0][strlen(cell[0]) - 1] != '`' ||
            !copy_span(key, sizeof key, cell[0] + 1, strlen(cell[0]) - 2)) {
            problem(&d, d.line, section, "?", "a row whose first cell is not `key`");
            continue;
        }
        if (!(k = doc_key(&d, section, key)))
            continue;
        if (n < 4) {
            problem(&d, d.line, section, key, "not a row \"| `key` | type | default | notes |\"");
            continue;
        }
        check_md_default(&d, k, cell[2]);
        check_start_only(&d, d.line, k, says);
    }
    doc_close(&d, "the table of its section");
}

/* One CONFIGURATION entry of kmsd.1 read whole: its default and START_ONLY. */
static void check_man_entry(doc_t *d, const kms_config_key_t *k, unsigned line, const char *text)
{
    char want[256];

    if (!strstr(text, "Default"))
        problem(d, line, k->section, k->name, "no \"Default ...\" in its description");
    if (k->def) {
        if (k->def[0])
            snprintf(want, sizeof want, "Default \\fB%s\\fR", k->def);
        else
            snprintf(want, sizeof want, "Default empty");
        if (!strstr(text, want))
            problem(d, line, k->section, k->name, "the description does not say \"%s\"", want);
    }
    check_start_only(d, line, k, strstr(text, START_ONLY) != NULL);
}

static void man_page_documents_every_key(void **state)
{
    doc_t d;
    const kms_config_key_t *k = NULL; /* the entry being read */
    char text[DOC_LINE];              /* its description, lines joined by spaces */
    size_t len = 0;
    unsigned at = 0; /* line of its ".B [section] key" */
    int in_section = 0, after_tp = 0;

    doc_open(&d, "docs/kmsd.1");
    while (doc_next(&d)) {
        const char *p = d.buf;
        int ends = strncmp(p, ".SH", 3) == 0 || strcmp(p, ".TP") == 0 || strcmp(p, ".PP") == 0 ||
                   strcmp(p, ".LP") == 0 || strcmp(p, ".P") == 0 || strncmp(p, ".SS", 3) == 0;

        if (k && (ends || !in_section)) {
            check_man_entry(&d, k, at, text);
            k = NULL;
        }
        if (strncmp(p, ".SH", 3) == 0) {
            in_section = strcmp(p, ".SH CONFIGURATION") == 0;
            after_tp = 0;
            continue;
        }
        if (!in_section || strncmp(p, ".\\\"", 3) == 0)
            continue;
        if (after_tp) {
            char section[DOC_NAME], key[DOC_NAME];
            int end = -1;

            after_tp = 0;
            if (sscanf(p, ".B [%63[a-z_]] %63[a-z_]%n", section, key, &end) != 2 || end < 0 ||
                p[end]) {
                problem(&d, d.line, "?", "?", "\".TP\" not followed by \".B [section] key\"");
                continue;
            }
            if ((k = doc_key(&d, section, key)) != NULL) {
                at = d.line;
                len = 0;
                text[0] = 0;
            }
            continue;
        }
        if (strcmp(p, ".TP") == 0) {
            after_tp = 1;
            continue;
        }
        if (!k || ends)
            continue;
        /* A text or font-macro line of the description: keep its words,
         * "\-" as "-", the font escapes as written. */
        if (*p == '.')
            p += strcspn(p, " ");
        while (*p == ' ')
            p++;
        if (len + strlen(p) + 2 > sizeof text) {
            problem(&d, d.line, k->section, k->name, "description longer than %zu bytes",
                    sizeof text);
            k = NULL;
            continue;
        }
        if (len)
            text[len++] = ' ';
        for (; *p; p++)
            if (!(p[0] == '\\' && p[1] == '-'))
                text[len++] = *p;
        text[len] = 0;
    }
    if (k)
        check_man_entry(&d, k, at, text);
    doc_close(&d, "the CONFIGURATION section");
}

static void example_file_names_every_key(void **state)
{
    doc_t d;
    char section[DOC_NAME] = "";

    doc_open(&d, "docs/kmsd.conf.example");
    while (doc_next(&d)) {
        const char *p = d.buf;
        char key[DOC_NAME], value[256];
        const kms_config_key_t *k;
        int end = -1, commented = 0;
        size_t n;

        if (*p == '[') {
            if (sscanf(p, "[%63[a-z_]]%n", section, &end) != 1 || end < 0)
                section[0] = 0;
            continue;
        }
        if (*p == ';')
            p++, commented = 1;
        /* "key =" or ";key ="; a comment in words has a space after the ';' */
        if (sscanf(p, "%63[a-z_] =%n", key, &end) != 1 || end < 0)
            continue;
        if (!(k = doc_key(&d, section, key)) || commented || !k->def)
            continue;
        /* Given, not commented out: the example shows the default. */
        p += end;
        while (*p == ' ')
            p++;
        n = strcspn(p, ";");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (!copy_span(value, sizeof value, p, n) || strcmp(value, k->def) != 0)
            problem(&d, d.line, k->section, k->name,
                    "value \"%.*s\", the table's default is \"%s\"", (int)n, p, k->def);
    }
    doc_close(&d, "the example");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(configuration_md_documents_every_key),
        cmocka_unit_test(man_page_documents_every_key),
        cmocka_unit_test(example_file_names_every_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
