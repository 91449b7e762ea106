/* cache_body: the JSON bodies that list several readings, built the same way whether the
 * readings come from the in-process copy or from Redis. Documents (cache_doc.h) are copied in
 * as they are, never re-encoded.
 *
 *   GET /v1/latest:                {"aspect":"real_time","latest":{"1":{...},"9":null}}
 *   GET /v1/stations:              {"count":2,"stations":[{"station_id":"1","latest":{...}},
 *                                                         {"station_id":"2","latest":null}]}
 *   GET /v1/stations/{id}/recent:  {"station_id":"1","count":2,"readings":[{...},{...}]} */
#ifndef CACHE_BODY_H
#define CACHE_BODY_H

#include <stddef.h>

#include "cache_buf.h"
#include "gg_record.h"

void cache_body_many_open(cache_buf *b, gg_aspect aspect);
/* doc NULL writes null. i counts the items written before this one. */
void cache_body_many_item(cache_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen);
void cache_body_many_close(cache_buf *b);

void cache_body_list_open(cache_buf *b, size_t count);
void cache_body_list_item(cache_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen);
void cache_body_list_close(cache_buf *b);

void cache_body_recent_open(cache_buf *b, const char *id, size_t count);
void cache_body_recent_item(cache_buf *b, size_t i, const char *doc, size_t doclen);
void cache_body_recent_close(cache_buf *b);

#endif
