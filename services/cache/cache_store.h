/* cache_store: the in-process copy of every station's latest readings, from which the HTTP
 * workers answer without a Redis round trip.
 *
 * Redis stays the source of truth; the sync thread (cache_sync.c) is the only writer here. It
 * loads a complete table from Redis (cache_table_*, then cache_store_replace) after it has
 * subscribed to the update channel, and applies each update published by the Lua step
 * (cache_store_apply) with the same newer-wins order, so an update that crosses a reload is
 * neither lost nor able to move a value back. While the subscription is down the store is
 * marked incoherent and every lookup says so: callers then read Redis instead, never a copy
 * that may have missed updates.
 *
 * Each value carries its document and ETag, built once when it arrives, so a lookup is a hash
 * probe and one copy under a read lock. The lock prefers writers, so a stream of lookups cannot
 * hold an update back. */
#ifndef CACHE_STORE_H
#define CACHE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "cache_body.h"
#include "cache_doc.h"
#include "gg_buf.h"
#include "cache_etag.h"
#include "cache_ids.h"

typedef struct cache_table cache_table;

cache_store *cache_store_new(void);
void cache_store_free(cache_store *s);

/* A table being filled by a full reload; not visible to lookups until cache_store_replace. */
cache_table *cache_table_new(void);
void cache_table_free(cache_table *t);
/* Adds a document; 1 stored, 0 when the table already holds a newer reading for the station
 * and aspect, -1 when doc is not a reading document or memory ran out. */
int cache_table_put(cache_table *t, const char *doc, size_t len);

/* Makes t the contents (taking it over; the old contents are freed) and marks the store
 * coherent. */
void cache_store_replace(cache_store *s, cache_table *t);
/* Applies one published document: 1 replaced or added, 0 not newer, -1 bad document. */
int cache_store_apply(cache_store *s, const char *doc, size_t len);
/* The same with the fields cache_doc_parse read from doc. */
int cache_store_apply_parsed(cache_store *s, const char *doc, size_t len,
                             const cache_doc_info *info);
/* The subscription is gone: lookups answer CACHE_LOOKUP_INCOHERENT until the next replace. */
void cache_store_set_incoherent(cache_store *s);
bool cache_store_coherent(cache_store *s);
size_t cache_store_stations(cache_store *s);

typedef enum cache_lookup {
    CACHE_LOOKUP_HIT,          /* *body (malloc'd) and etag set */
    CACHE_LOOKUP_NOT_MODIFIED, /* if_none_match matched etag; no body */
    CACHE_LOOKUP_NO_STATION,   /* the station has no reading at all */
    CACHE_LOOKUP_NO_VALUE,     /* the station is known but has no reading of this aspect */
    CACHE_LOOKUP_INCOHERENT,   /* the copy cannot be trusted now: read Redis */
    CACHE_LOOKUP_NO_MEMORY
} cache_lookup;

cache_lookup cache_store_latest(cache_store *s, const char *id, size_t idlen, gg_aspect aspect,
                                const char *if_none_match, char etag[CACHE_ETAG_LEN], char **body,
                                size_t *len);

/* The body of GET /v1/latest (cache_body.h) for ids. False when incoherent. */
bool cache_store_many(cache_store *s, const cache_id *ids, size_t n, gg_aspect aspect, gg_buf *out);
/* The body of GET /v1/stations, stations in cache_id_cmp order. False when incoherent. */
bool cache_store_list(cache_store *s, const cache_page *page, gg_buf *out);

#endif
