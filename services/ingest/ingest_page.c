/* ingest_page: one page of a station's readings (see ingest_page.h). */
#include "ingest_page.h"

#include <stdlib.h>
#include <string.h>

void ingest_page_init(ingest_page *p, size_t limit, const ingest_cursor *cursor)
{
    memset(p, 0, sizeof(*p));
    p->limit = limit;
    if (cursor) {
        p->has_cursor = 1;
        p->cursor = *cursor;
    }
}

static int newer_first(const void *a, const void *b)
{
    const ingest_page_item *x = a, *y = b;
    if (x->us != y->us)
        return x->us > y->us ? -1 : 1;
    return -strcmp(x->id, y->id);
}

/* Strictly after the cursor in page order, i.e. older than the last item already given out. */
static int after_cursor(const ingest_page *p, const ingest_page_item *it)
{
    if (!p->has_cursor)
        return 1;
    return it->us < p->cursor.created_at_us ||
           (it->us == p->cursor.created_at_us && strcmp(it->id, p->cursor.id) < 0);
}

static void item_free(ingest_page_item *it)
{
    free(it->id);
    json_decref(it->reading);
}

/* Orders the current millisecond and keeps what lies after the cursor. */
static void close_group(ingest_page *p)
{
    size_t g = p->group_start;
    if (p->n - g > 1)
        qsort(p->items + g, p->n - g, sizeof(*p->items), newer_first);
    size_t kept = g;
    for (size_t i = g; i < p->n; i++) {
        if (after_cursor(p, &p->items[i]))
            p->items[kept++] = p->items[i];
        else
            item_free(&p->items[i]);
    }
    p->n = p->group_start = kept;
}

static int64_t ms_of(int64_t us)
{
    return us >= 0 ? us / 1000 : -((-us + 999) / 1000);
}

int ingest_page_offer(ingest_page *p, int64_t us, const char *id, json_t *reading)
{
    int64_t ms = ms_of(us);
    if (p->n > p->group_start && ms != p->group_ms) {
        close_group(p);
        /* This document is older than every one kept, hence after the cursor too: if the page
         * is full, it proves that more follow. */
        if (p->n >= p->limit) {
            p->more = 1;
            json_decref(reading);
            return 1;
        }
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        ingest_page_item *grown = realloc(p->items, cap * sizeof(*grown));
        if (!grown) {
            json_decref(reading);
            return -1;
        }
        p->items = grown;
        p->cap = cap;
    }
    char *copy = strdup(id);
    if (!copy) {
        json_decref(reading);
        return -1;
    }
    p->items[p->n++] = (ingest_page_item){us, copy, reading};
    p->group_ms = ms;
    return 0;
}

void ingest_page_finish(ingest_page *p)
{
    close_group(p);
    if (p->n > p->limit) {
        p->more = 1;
        for (size_t i = p->limit; i < p->n; i++)
            item_free(&p->items[i]);
        p->n = p->group_start = p->limit;
    }
}

const char *ingest_page_next_cursor(const ingest_page *p, char *buf, size_t len)
{
    if (!p->more || p->n == 0)
        return NULL;
    ingest_cursor c = {.created_at_us = p->items[p->n - 1].us};
    if (strlen(p->items[p->n - 1].id) >= sizeof(c.id))
        return NULL;
    strcpy(c.id, p->items[p->n - 1].id);
    return ingest_cursor_encode(&c, buf, len) == 0 ? buf : NULL;
}

json_t *ingest_page_readings(const ingest_page *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < p->n && i < p->limit; i++)
        json_array_append(arr, p->items[i].reading);
    return arr;
}

void ingest_page_free(ingest_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        item_free(&p->items[i]);
    free(p->items);
    memset(p, 0, sizeof(*p));
}
