/* cache_reads: answers read from Redis itself, through the worker's pooled connection: the
 * recent readings of a station (not held in process), and every lookup while the in-process
 * copy is not coherent. Each answer costs one round trip (a pipeline where it needs several
 * keys); the station listing also scans the index first. A failure is reported to the health
 * registry at once, so /readyz turns 503 with the request. */
#ifndef CACHE_READS_H
#define CACHE_READS_H

#include <stddef.h>

#include "cache.h"
#include "cache_body.h"
#include "gg_buf.h"
#include "cache_ids.h"

typedef enum cache_read {
    CACHE_READ_OK,
    CACHE_READ_NOT_FOUND,   /* nothing stored under the key(s) */
    CACHE_READ_UNAVAILABLE, /* Redis cannot be reached: 503 */
    CACHE_READ_BAD_REPLY    /* Redis answered with an error or an unexpected type: 502 */
} cache_read;

/* The document itself into out. */
cache_read cache_read_latest(cache_ctx *ctx, const char *id, gg_aspect aspect, gg_buf *out,
                             char *err, size_t errlen);
/* The GET /v1/latest body (cache_body.h) into out. */
cache_read cache_read_many(cache_ctx *ctx, const cache_id *ids, size_t n, gg_aspect aspect,
                           gg_buf *out, char *err, size_t errlen);
/* The GET /v1/stations body into out. */
cache_read cache_read_list(cache_ctx *ctx, const cache_page *page, gg_buf *out, char *err,
                           size_t errlen);
/* The newest limit readings of the station, oldest first, as the recent body; NOT_FOUND when
 * the station has none. */
cache_read cache_read_recent(cache_ctx *ctx, const char *id, long limit, gg_buf *out, char *err,
                             size_t errlen);

#endif
