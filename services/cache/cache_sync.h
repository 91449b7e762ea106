/* cache_sync: the thread that keeps the in-process copy (cache_store.h) coherent with Redis.
 *
 * It holds two connections. The subscriber listens on the update channel, where the Lua step
 * publishes every new latest reading, and on __redis__:invalidate. The query connection turns
 * on RESP2 client-side caching in broadcast mode for the station index key, redirected to the
 * subscriber: Redis then announces a FLUSHALL/FLUSHDB (a null invalidation) and any change of
 * the index, which the update channel alone would never reveal.
 *
 * Order of a (re)connect: subscribe, then load every station's latest readings through the
 * query connection, then mark the copy coherent. Updates published during the load wait in the
 * socket and are applied afterwards with newer-wins, so none is lost. A flush, or an index
 * that lost stations (the index defines which stations are known), triggers a full reload.
 * Deleting single keys by hand is not tracked: the cache owns its prefix. A lost connection, an
 * unanswered PING (sent after a second of silence) or any protocol surprise marks the copy
 * incoherent at once, so lookups go to Redis (or answer 503) instead of serving what may be stale,
 * and the thread reconnects with backoff (100 ms growing to 1 s). */
#ifndef CACHE_SYNC_H
#define CACHE_SYNC_H

#include <stddef.h>

#include "cache.h"

cache_sync *cache_sync_start(cache_ctx *ctx, char *err, size_t errlen);
/* Stops the thread (within about 100 ms) and frees it. */
void cache_sync_stop(cache_sync *s);

#endif
