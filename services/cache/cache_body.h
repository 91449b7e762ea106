/* cache_body: the JSON bodies that list several readings, built the same way whether the
 * readings come from the in-process copy or from Redis. Documents (cache_doc.h) are copied in
 * as they are, never re-encoded.
 *
 *   GET /v1/latest:                {"aspect":"real_time","latest":{"1":{...},"9":null}}
 *   GET /v1/stations:              {"count":2,"stations":[{"station_id":"1","latest":{...}},
 *                                                         {"station_id":"2","latest":null}],
 *                                   "next_cursor":"2"}
 *   GET /v1/stations/{id}/recent:  {"station_id":"1","count":2,"readings":[{...},{...}]} */
#ifndef CACHE_BODY_H
#define CACHE_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "gg_buf.h"
#include "gg_record.h"

void cache_body_many_open(gg_buf *b, gg_aspect aspect);
/* doc NULL writes null. i counts the items written before this one. */
void cache_body_many_item(gg_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen);
void cache_body_many_close(gg_buf *b);

/* One page of the station listing: at most limit stations after the station named by the
 * cursor (none: from the first), in cache_id_cmp order. The cursor a page gives out is its last
 * station id, so a station added meanwhile shows on a later page if it sorts after the cursor,
 * and none is shown twice. */
typedef struct cache_page {
    size_t limit;
    const char *after; /* NULL on the first page */
    size_t afterlen;
} cache_page;

/* The part [*start, *end) of n ids in listing order that the page shows; id(i) is the i-th id.
 * Returns true when more ids follow the page. */
bool cache_page_slice(const cache_page *p, size_t n,
                      const char *(*id)(const void *, size_t, size_t *), const void *ids,
                      size_t *start, size_t *end);

void cache_body_list_open(gg_buf *b, size_t count);
void cache_body_list_item(gg_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen);
/* next: the cursor of the next page (its last station id), NULL on the last page. */
void cache_body_list_close(gg_buf *b, const char *next, size_t nextlen);

void cache_body_recent_open(gg_buf *b, const char *id, size_t count);
void cache_body_recent_item(gg_buf *b, size_t i, const char *doc, size_t doclen);
void cache_body_recent_close(gg_buf *b);

#endif
