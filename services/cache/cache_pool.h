/* cache_pool: the Redis connections of the backend threads (gg_http_offload), for the reads that
 * do not come from the in-process copy.
 *
 * One slot per backend thread: a thread starts at the slot its id hashes to and takes the first
 * free one, so with as many slots as workers a request practically never waits for another.
 * A slot connects on first use and again after a failure; after a failed connect it waits
 * with backoff (50 ms growing to 500 ms) before the next try, answering at once meanwhile, so
 * a dead Redis costs a request nothing but the answer 503. */
#ifndef CACHE_POOL_H
#define CACHE_POOL_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache.h"

typedef struct cache_pool_slot cache_pool_slot;

cache_pool *cache_pool_new(const cache_ctx *ctx, size_t slots);
void cache_pool_free(cache_pool *p);

/* A connected context, held exclusively until cache_pool_put. NULL with the reason in err when
 * Redis cannot be reached now (nothing to put back then). */
redisContext *cache_pool_get(cache_pool *p, cache_pool_slot **slot, char *err, size_t errlen);
/* Returns the slot; broken drops the connection (after an I/O or protocol error). */
void cache_pool_put(cache_pool_slot *slot, bool broken);

#endif
