/* cache_ids: station id lists as they come in query strings, and the order the cache lists
 * stations in. */
#ifndef CACHE_IDS_H
#define CACHE_IDS_H

#include <stddef.h>

#define CACHE_IDS_MAX 1000 /* stations per GET /v1/latest */

typedef struct cache_id {
    const char *s; /* points into the parsed text, not NUL-terminated */
    size_t len;
} cache_id;

/* Parses "1,2,3": ids separated by commas, blanks around them ignored, each valid per
 * gg_record_station_id_valid(); repeats are dropped, first occurrence kept. Returns the number
 * of ids (>= 1), or -1 with a reason in why (empty list, empty or invalid item, more than max).
 * ids must hold max entries. */
int cache_ids_parse(const char *text, cache_id *ids, size_t max, char *why, size_t whylen);

/* Station order for listings: ids made of digits by numeric value (so 2 before 10, and ties
 * such as 7 and 007 by their text), then every other id by bytes. A total order. */
int cache_id_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
