/* cache_store: the in-process copy of the latest readings (see cache_store.h). */
#include "cache_store.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_body.h"
#include "cache_doc.h"

#define ASPECTS 2 /* real_time, edge_prediction: the values of gg_aspect */

/* One reading as served: immutable once built, replaced as a whole. */
typedef struct cache_val {
    cache_doc_info info;
    char etag[CACHE_ETAG_LEN];
    size_t len;
    char doc[]; /* NUL-terminated */
} cache_val;

typedef struct cache_entry {
    struct cache_entry *next;
    uint32_t hash;
    size_t idlen;
    cache_val *val[ASPECTS];
    char id[GG_RECORD_STATION_MAX + 1];
} cache_entry;

struct cache_table {
    cache_entry **buckets;
    size_t mask; /* buckets - 1, a power of two minus one */
    size_t count;
};

struct cache_store {
    pthread_rwlock_t lock;
    cache_table *table;
    bool coherent;
};

static uint32_t id_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* ---- values -------------------------------------------------------------------------------- */

/* info: the document's fields when the caller parsed it already, else NULL. */
static cache_val *val_new(const char *doc, size_t len, const cache_doc_info *info)
{
    cache_val *v = malloc(sizeof(*v) + len + 1);
    if (!v)
        return NULL;
    if (info)
        v->info = *info;
    else if (cache_doc_parse(doc, len, &v->info) != 0) {
        free(v);
        return NULL;
    }
    memcpy(v->doc, doc, len);
    v->doc[len] = '\0';
    v->len = len;
    cache_etag_make(v->etag, doc, len);
    return v;
}

static bool val_newer(const cache_val *a, const cache_val *b)
{
    return !b || cache_doc_order(&a->info, a->doc, a->len, &b->info, b->doc, b->len) > 0;
}

/* ---- tables -------------------------------------------------------------------------------- */

cache_table *cache_table_new(void)
{
    cache_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->buckets = calloc(64, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->mask = 63;
    return t;
}

void cache_table_free(cache_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        for (cache_entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            for (int a = 0; a < ASPECTS; a++)
                free(e->val[a]);
            free(e);
        }
    }
    free(t->buckets);
    free(t);
}

static cache_entry *table_find(const cache_table *t, const char *id, size_t idlen, uint32_t h)
{
    for (cache_entry *e = t->buckets[h & t->mask]; e; e = e->next) {
        if (e->hash == h && e->idlen == idlen && memcmp(e->id, id, idlen) == 0)
            return e;
    }
    return NULL;
}

/* Doubles the bucket array when the table is fuller than one entry per bucket; on failure the
 * table just stays denser. */
static void table_grow(cache_table *t)
{
    if (t->count <= t->mask + 1)
        return;
    size_t n = (t->mask + 1) * 2;
    cache_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        for (cache_entry *e = t->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = n - 1;
}

/* Puts v (taken over) into t. Returns the value it displaced (for the caller to free after
 * unlocking), v itself when v is not newer, or NULL when v went in over nothing. *stored tells
 * which happened; -1 when out of memory (v freed). */
static cache_val *table_swap_in(cache_table *t, cache_val *v, int *stored)
{
    const char *id = v->info.station_id;
    size_t idlen = strlen(id);
    uint32_t h = id_hash(id, idlen);
    cache_entry *e = table_find(t, id, idlen, h);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e) {
            free(v);
            *stored = -1;
            return NULL;
        }
        e->hash = h;
        e->idlen = idlen;
        memcpy(e->id, id, idlen + 1);
        e->next = t->buckets[h & t->mask];
        t->buckets[h & t->mask] = e;
        t->count++;
        table_grow(t);
    }
    cache_val **slot = &e->val[v->info.aspect];
    if (!val_newer(v, *slot)) {
        *stored = 0;
        return v;
    }
    cache_val *old = *slot;
    *slot = v;
    *stored = 1;
    return old;
}

int cache_table_put(cache_table *t, const char *doc, size_t len)
{
    cache_val *v = val_new(doc, len, NULL);
    if (!v)
        return -1;
    int stored;
    free(table_swap_in(t, v, &stored));
    return stored;
}

/* ---- the store ----------------------------------------------------------------------------- */

cache_store *cache_store_new(void)
{
    cache_store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->table = cache_table_new();
    if (!s->table) {
        free(s);
        return NULL;
    }
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return s;
}

void cache_store_free(cache_store *s)
{
    if (!s)
        return;
    cache_table_free(s->table);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

void cache_store_replace(cache_store *s, cache_table *t)
{
    pthread_rwlock_wrlock(&s->lock);
    cache_table *old = s->table;
    s->table = t;
    s->coherent = true;
    pthread_rwlock_unlock(&s->lock);
    cache_table_free(old);
}

int cache_store_apply(cache_store *s, const char *doc, size_t len)
{
    return cache_store_apply_parsed(s, doc, len, NULL);
}

int cache_store_apply_parsed(cache_store *s, const char *doc, size_t len,
                             const cache_doc_info *info)
{
    cache_val *v = val_new(doc, len, info); /* parsed before the lock: readers never wait on it */
    if (!v)
        return -1;
    int stored;
    pthread_rwlock_wrlock(&s->lock);
    cache_val *out = table_swap_in(s->table, v, &stored);
    pthread_rwlock_unlock(&s->lock);
    free(out);
    return stored;
}

void cache_store_set_incoherent(cache_store *s)
{
    pthread_rwlock_wrlock(&s->lock);
    s->coherent = false;
    pthread_rwlock_unlock(&s->lock);
}

bool cache_store_coherent(cache_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    bool c = s->coherent;
    pthread_rwlock_unlock(&s->lock);
    return c;
}

size_t cache_store_stations(cache_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->table->count;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

cache_lookup cache_store_latest(cache_store *s, const char *id, size_t idlen, gg_aspect aspect,
                                const char *if_none_match, char etag[CACHE_ETAG_LEN], char **body,
                                size_t *len)
{
    uint32_t h = id_hash(id, idlen);
    cache_lookup rc;
    pthread_rwlock_rdlock(&s->lock);
    const cache_entry *e = s->coherent ? table_find(s->table, id, idlen, h) : NULL;
    const cache_val *v = e ? e->val[aspect] : NULL;
    if (!s->coherent) {
        rc = CACHE_LOOKUP_INCOHERENT;
    } else if (!v) {
        rc = e ? CACHE_LOOKUP_NO_VALUE : CACHE_LOOKUP_NO_STATION;
    } else {
        memcpy(etag, v->etag, CACHE_ETAG_LEN);
        if (cache_etag_matches(if_none_match, v->etag)) {
            rc = CACHE_LOOKUP_NOT_MODIFIED;
        } else if ((*body = malloc(v->len + 1))) {
            memcpy(*body, v->doc, v->len + 1);
            *len = v->len;
            rc = CACHE_LOOKUP_HIT;
        } else {
            rc = CACHE_LOOKUP_NO_MEMORY;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

bool cache_store_many(cache_store *s, const cache_id *ids, size_t n, gg_aspect aspect, gg_buf *out)
{
    pthread_rwlock_rdlock(&s->lock);
    bool ok = s->coherent;
    if (ok) {
        cache_body_many_open(out, aspect);
        for (size_t i = 0; i < n; i++) {
            const cache_entry *e =
                table_find(s->table, ids[i].s, ids[i].len, id_hash(ids[i].s, ids[i].len));
            const cache_val *v = e ? e->val[aspect] : NULL;
            cache_body_many_item(out, i, ids[i].s, ids[i].len, v ? v->doc : NULL, v ? v->len : 0);
        }
        cache_body_many_close(out);
    }
    pthread_rwlock_unlock(&s->lock);
    return ok;
}

static int entry_cmp(const void *a, const void *b)
{
    const cache_entry *x = *(const cache_entry *const *)a, *y = *(const cache_entry *const *)b;
    return cache_id_cmp(x->id, x->idlen, y->id, y->idlen);
}

static const char *entry_id(const void *all, size_t i, size_t *len)
{
    const cache_entry *e = ((const cache_entry *const *)all)[i];
    *len = e->idlen;
    return e->id;
}

bool cache_store_list(cache_store *s, const cache_page *page, gg_buf *out)
{
    pthread_rwlock_rdlock(&s->lock);
    bool ok = s->coherent;
    const cache_table *t = s->table;
    const cache_entry **all = ok ? malloc((t->count + 1) * sizeof(*all)) : NULL;
    if (all) {
        size_t n = 0, start, end;
        for (size_t i = 0; i <= t->mask; i++) {
            for (const cache_entry *e = t->buckets[i]; e; e = e->next)
                all[n++] = e;
        }
        qsort(all, n, sizeof(*all), entry_cmp);
        bool more = cache_page_slice(page, n, entry_id, all, &start, &end);
        cache_body_list_open(out, end - start);
        for (size_t i = start; i < end; i++) {
            const cache_val *v = all[i]->val[GG_ASPECT_REAL_TIME];
            cache_body_list_item(out, i - start, all[i]->id, all[i]->idlen, v ? v->doc : NULL,
                                 v ? v->len : 0);
        }
        cache_body_list_close(out, more ? all[end - 1]->id : NULL, more ? all[end - 1]->idlen : 0);
        free(all);
    } else if (ok) {
        out->failed = true;
    }
    pthread_rwlock_unlock(&s->lock);
    return ok;
}
