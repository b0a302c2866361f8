/* SPDX-License-Identifier: MIT */
/* Fuzz target: the four state file parsers (inventory, ledger, settings, published), with and
 * without the checksum check; whatever parses must format and parse back identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/wire.h"
#include "kms/core/state.h"

static void same_or_abort(kms_wr_t *a, kms_wr_t *b)
{
    if (a->err || b->err || a->len != b->len || memcmp(a->buf, b->buf, a->len) != 0)
        abort();
    kms_wr_free(a);
    kms_wr_free(b);
}

static void inventory(const char *t, size_t n, unsigned flags)
{
    kms_inv_t inv, back;
    kms_wr_t a, b;
    char err[256];

    kms_inv_init(&inv);
    kms_inv_init(&back);
    if (kms_state_parse_inventory(t, n, "f", flags, &inv, err, sizeof err) == 0) {
        kms_wr_init(&a);
        kms_wr_init(&b);
        kms_state_format_inventory(&inv, &a);
        if (kms_state_parse_inventory((char *)a.buf, a.len, "f", 0, &back, err, sizeof err))
            abort();
        kms_state_format_inventory(&back, &b);
        same_or_abort(&a, &b);
    }
    kms_inv_clear(&inv);
    kms_inv_clear(&back);
}

static void ledger(const char *t, size_t n, unsigned flags)
{
    kms_ledger_t *l = kms_ledger_new(), *back = kms_ledger_new();
    kms_wr_t a, b;
    char err[256];

    if (l && back && kms_state_parse_ledger(t, n, "f", flags, l, err, sizeof err) == 0) {
        kms_wr_init(&a);
        kms_wr_init(&b);
        kms_state_format_ledger(l, &a);
        if (kms_state_parse_ledger((char *)a.buf, a.len, "f", 0, back, err, sizeof err))
            abort();
        kms_state_format_ledger(back, &b);
        same_or_abort(&a, &b);
    }
    kms_ledger_free(l);
    kms_ledger_free(back);
}

static void settings(const char *t, size_t n, unsigned flags)
{
    kms_overrides_t o, back;
    kms_wr_t a, b;
    char err[256];

    memset(&o, 0, sizeof o);
    memset(&back, 0, sizeof back);
    if (kms_state_parse_settings(t, n, "f", flags, &o, err, sizeof err) == 0) {
        kms_wr_init(&a);
        kms_wr_init(&b);
        kms_state_format_settings(&o, &a);
        if (kms_state_parse_settings((char *)a.buf, a.len, "f", 0, &back, err, sizeof err))
            abort();
        kms_state_format_settings(&back, &b);
        same_or_abort(&a, &b);
    }
    kms_overrides_free(&o);
    kms_overrides_free(&back);
}

static void published(const char *t, size_t n, unsigned flags)
{
    kms_published_t p = {NULL, 0}, back = {NULL, 0};
    kms_wr_t a, b;
    char err[256];

    if (kms_state_parse_published(t, n, "f", flags, &p, err, sizeof err) == 0) {
        kms_wr_init(&a);
        kms_wr_init(&b);
        kms_state_format_published(&p, &a);
        if (kms_state_parse_published((char *)a.buf, a.len, "f", 0, &back, err, sizeof err))
            abort();
        kms_state_format_published(&back, &b);
        same_or_abort(&a, &b);
    }
    kms_published_free(&p);
    kms_published_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;

    for (unsigned flags = 0; flags <= KMS_STATE_NO_CRC; flags++) {
        inventory(t, size, flags);
        ledger(t, size, flags);
        settings(t, size, flags);
        published(t, size, flags);
    }
    return 0;
}
