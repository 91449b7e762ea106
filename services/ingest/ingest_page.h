/* ingest_page: one page of a station's readings, newest first, assembled without any I/O.
 *
 * The store hands documents over in the order of the {station_id: 1, created_at: -1} index, by
 * millisecond; readings within one millisecond come in no particular order. The page therefore
 * takes each millisecond's readings whole, orders them by (created_at_us, _id) descending,
 * drops those at or before the cursor, and stops reading as soon as it holds a full page plus
 * the knowledge that more exist. So the index alone serves the query, in MongoDB's sense: no
 * sort of the whole time range, however long a station's history. */
#ifndef INGEST_PAGE_H
#define INGEST_PAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest_cursor.h"

typedef struct ingest_page_item {
    int64_t us;
    char *id;
    json_t *reading;
} ingest_page_item;

typedef struct ingest_page {
    size_t limit;
    int has_cursor;
    ingest_cursor cursor;
    ingest_page_item *items; /* [0, group_start) final order; the rest: the current millisecond */
    size_t n, cap, group_start;
    int64_t group_ms;
    int more; /* readings exist past the last item of the page */
} ingest_page;

/* cursor may be NULL (first page). */
void ingest_page_init(ingest_page *p, size_t limit, const ingest_cursor *cursor);
/* Offers the next document of the store's order; takes reading. Returns 1 when the page is
 * complete and nothing more need be read, 0 to go on, -1 when out of memory. */
int ingest_page_offer(ingest_page *p, int64_t us, const char *id, json_t *reading);
/* Call when the store has no more documents: settles the last millisecond. */
void ingest_page_finish(ingest_page *p);
/* The cursor of the page's last item when more readings follow, else NULL; buf receives it. */
const char *ingest_page_next_cursor(const ingest_page *p, char *buf, size_t len);
/* The page's readings as a JSON array (new reference); the page keeps its own. */
json_t *ingest_page_readings(const ingest_page *p);
void ingest_page_free(ingest_page *p);

#endif
