/* cache_http: the dashboard API.
 *
 *   GET /v1/stations                               every station with its latest real_time
 *   GET /v1/stations/{id}/latest?aspect=...        one station's latest reading of an aspect
 *   GET /v1/stations/{id}/recent?limit=n           its newest n readings, oldest first
 *   GET /v1/latest?stations=1,2,3&aspect=...       many stations, one request
 *
 * Latest readings come from the in-process copy (cache_store.h) while it is coherent, else
 * from Redis in one round trip; recent readings always from Redis. Every 200 carries an ETag
 * (If-None-Match answers 304) and "Cache-Control: no-cache", so browsers and proxies may keep
 * a body but must ask again each time, which costs a 304 when nothing changed. Errors are
 * problem+json: 400 naming the bad parameter, 404 for a station without readings, 503 with
 * Retry-After while Redis cannot be reached, 502 when it answers nonsense. */
#ifndef CACHE_HTTP_H
#define CACHE_HTTP_H

#include "cache.h"

/* Adds the routes to the service's HTTP server. Returns 0, or -1. */
int cache_http_mount(cache_ctx *ctx);

#endif
