/* SPDX-License-Identifier: MIT */
/*
 * ledger.c - per counted ID client pools (see ledger.h for the rules and costs).
 */
#include "kms/core/ledger.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

#define HASH_SLOTS 256 /* > 2 x KMS_LEDGER_MAX_CAP: short probe runs */
#define NIL        (-1)

typedef struct {
    kms_guid_t client;
    int64_t last_seen;
    int16_t prev, next; /* toward more / less recently seen */
} entry_t;

typedef struct {
    kms_guid_t counted;
    uint32_t cap, n;
    int16_t head, tail;       /* most / least recently seen */
    int16_t hash[HASH_SLOTS]; /* entry index + 1; 0 = empty */
    int64_t last_activity;
    entry_t e[KMS_LEDGER_MAX_CAP];
} pool_t;

struct kms_ledger {
    pool_t **pools; /* sorted by counted ID (memcmp) */
    size_t n, cap;
};

static unsigned hash_of(const kms_guid_t *g)
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < 16; i++)
        h = (h ^ g->b[i]) * 16777619u;
    return h & (HASH_SLOTS - 1);
}

/* Hash slot holding @p client, or the empty slot where it would go. */
static unsigned slot_of(const pool_t *p, const kms_guid_t *client)
{
    unsigned s = hash_of(client);

    while (p->hash[s] && !kms_guid_eq(&p->e[p->hash[s] - 1].client, client))
        s = (s + 1) & (HASH_SLOTS - 1);
    return s;
}

/* Delete hash slot @p s, shifting later members of the probe run back (Knuth 6.4 R). */
static void hash_del(pool_t *p, unsigned s)
{
    unsigned j = s;

    p->hash[s] = 0;
    for (;;) {
        unsigned k;

        j = (j + 1) & (HASH_SLOTS - 1);
        if (!p->hash[j])
            return;
        k = hash_of(&p->e[p->hash[j] - 1].client);
        /* Move j back to s unless its home k lies cyclically in (s, j]. */
        if ((s < j) ? (s < k && k <= j) : (s < k || k <= j))
            continue;
        p->hash[s] = p->hash[j];
        p->hash[j] = 0;
        s = j;
    }
}

static void list_unlink(pool_t *p, int16_t i)
{
    entry_t *e = &p->e[i];

    if (e->prev != NIL)
        p->e[e->prev].next = e->next;
    else
        p->head = e->next;
    if (e->next != NIL)
        p->e[e->next].prev = e->prev;
    else
        p->tail = e->prev;
    e->prev = e->next = NIL;
}

static void list_push_head(pool_t *p, int16_t i)
{
    entry_t *e = &p->e[i];

    e->prev = NIL;
    e->next = p->head;
    if (p->head != NIL)
        p->e[p->head].prev = i;
    p->head = i;
    if (p->tail == NIL)
        p->tail = i;
}

/* Remove entry @p i; the last entry moves into its place to keep e[] dense. */
static void entry_remove(pool_t *p, int16_t i)
{
    int16_t last = (int16_t)(p->n - 1);

    hash_del(p, slot_of(p, &p->e[i].client));
    list_unlink(p, i);
    if (i != last) {
        entry_t *m = &p->e[last];

        p->hash[slot_of(p, &m->client)] = (int16_t)(i + 1);
        if (m->prev != NIL)
            p->e[m->prev].next = i;
        else
            p->head = i;
        if (m->next != NIL)
            p->e[m->next].prev = i;
        else
            p->tail = i;
        p->e[i] = *m;
    }
    p->n--;
}

static void pool_expire(pool_t *p, int64_t now)
{
    while (p->tail != NIL && p->e[p->tail].last_seen <= now - KMS_LEDGER_WINDOW)
        entry_remove(p, p->tail);
}

/* Add or refresh @p client as the most recent entry. */
static int pool_touch(pool_t *p, const kms_guid_t *client, int64_t when, int evict)
{
    unsigned s = slot_of(p, client);
    int16_t i;

    if (p->hash[s]) {
        i = (int16_t)(p->hash[s] - 1);
        list_unlink(p, i);
        p->e[i].last_seen = when;
        list_push_head(p, i);
        return 1;
    }
    if (p->n >= p->cap) {
        if (!evict || p->tail == NIL)
            return KMS_ETOOBIG;
        entry_remove(p, p->tail);
        s = slot_of(p, client);
    }
    i = (int16_t)p->n++;
    p->e[i].client = *client;
    p->e[i].last_seen = when;
    p->e[i].prev = p->e[i].next = NIL;
    p->hash[s] = (int16_t)(i + 1);
    list_push_head(p, i);
    return 0;
}

kms_ledger_t *kms_ledger_new(void)
{
    return calloc(1, sizeof(kms_ledger_t));
}

void kms_ledger_free(kms_ledger_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->pools[i]);
    free(l->pools);
    free(l);
}

/* Index of the pool for @p counted, or -(insertion point) - 1. */
static long pool_search(const kms_ledger_t *l, const kms_guid_t *counted)
{
    size_t lo = 0, hi = l->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(l->pools[mid]->counted.b, counted->b, 16);

        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static pool_t *pool_get(kms_ledger_t *l, const kms_guid_t *counted, int create)
{
    long at = pool_search(l, counted);
    size_t ins;
    pool_t *p;

    if (at >= 0)
        return l->pools[at];
    if (!create)
        return NULL;
    if (l->n >= KMS_LEDGER_MAX_POOLS) {
        /* Full: the pool with the oldest activity makes room. */
        size_t old = 0;

        for (size_t i = 1; i < l->n; i++) {
            if (l->pools[i]->last_activity < l->pools[old]->last_activity)
                old = i;
        }
        free(l->pools[old]);
        memmove(&l->pools[old], &l->pools[old + 1], (l->n - old - 1) * sizeof *l->pools);
        l->n--;
        at = pool_search(l, counted);
    }
    ins = (size_t)(-at - 1);
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        pool_t **np = realloc(l->pools, nc * sizeof *np);

        if (!np)
            return NULL;
        l->pools = np;
        l->cap = nc;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->counted = *counted;
    p->head = p->tail = NIL;
    p->cap = 2;
    memmove(&l->pools[ins + 1], &l->pools[ins], (l->n - ins) * sizeof *l->pools);
    l->pools[ins] = p;
    l->n++;
    return p;
}

int kms_ledger_record(kms_ledger_t *l, const kms_guid_t *counted, const kms_guid_t *client,
                      uint32_t required, int64_t now, uint32_t *count)
{
    pool_t *p = pool_get(l, counted, 1);
    uint32_t want;

    *count = 0;
    if (!p)
        return KMS_ENOMEM;
    if (required < 1)
        required = 1;
    if (required > KMS_LEDGER_MAX_REQUIRED)
        required = KMS_LEDGER_MAX_REQUIRED;
    want = 2 * required;
    if (want > p->cap)
        p->cap = want; /* never shrinks */
    pool_expire(p, now);
    pool_touch(p, client, now, 1);
    p->last_activity = now;
    *count = p->n;
    return 0;
}

static uint32_t live(const pool_t *p, int64_t now)
{
    uint32_t c = 0;

    for (uint32_t i = 0; i < p->n; i++)
        c += p->e[i].last_seen > now - KMS_LEDGER_WINDOW;
    return c;
}

uint32_t kms_ledger_count(const kms_ledger_t *l, const kms_guid_t *counted, int64_t now)
{
    long at = pool_search(l, counted);

    return at < 0 ? 0 : live(l->pools[at], now);
}

int kms_ledger_has_pool(const kms_ledger_t *l, const kms_guid_t *counted)
{
    return pool_search(l, counted) >= 0;
}

size_t kms_ledger_npools(const kms_ledger_t *l)
{
    return l->n;
}

int kms_ledger_pool(const kms_ledger_t *l, size_t i, kms_guid_t *counted, uint32_t *cap,
                    uint32_t *count, int64_t now)
{
    if (i >= l->n)
        return KMS_ENOENT;
    *counted = l->pools[i]->counted;
    *cap = l->pools[i]->cap;
    *count = live(l->pools[i], now);
    return 0;
}

int kms_ledger_visit(const kms_ledger_t *l, size_t i, kms_ledger_visit_fn fn, void *ud)
{
    const pool_t *p;

    if (i >= l->n)
        return KMS_ENOENT;
    p = l->pools[i];
    for (int16_t k = p->tail; k != NIL; k = p->e[k].prev) {
        int r = fn(ud, &p->e[k].client, p->e[k].last_seen);

        if (r)
            return r;
    }
    return 0;
}

int kms_ledger_restore_pool(kms_ledger_t *l, const kms_guid_t *counted, uint32_t cap)
{
    pool_t *p;

    if (cap < 2 || cap > KMS_LEDGER_MAX_CAP)
        return KMS_ERANGE;
    p = pool_get(l, counted, 1);
    if (!p)
        return KMS_ENOMEM;
    if (cap > p->cap)
        p->cap = cap;
    return 0;
}

int kms_ledger_restore_client(kms_ledger_t *l, const kms_guid_t *counted, const kms_guid_t *client,
                              int64_t last_seen)
{
    pool_t *p = pool_get(l, counted, 0);
    int r;

    if (!p)
        return KMS_ENOENT;
    if (p->hash[slot_of(p, client)])
        return KMS_EEXIST;
    r = pool_touch(p, client, last_seen, 0);
    if (r < 0)
        return r;
    if (last_seen > p->last_activity)
        p->last_activity = last_seen;
    return 0;
}
