/* cache_rebuild: restores Redis from the readings topic after Redis lost its data (a restart
 * without persistence, FLUSHALL), when started with --rebuild / GRIDGATE_REBUILD=1.
 *
 * A consumer in a throw-away group (<group>.rebuild.<random>, offsets never stored or
 * committed) reads every partition from the earliest retained offset and applies each reading
 * through the same update step as normal consumption. The step is idempotent and newer-wins,
 * so replaying readings that Redis still has, or that the normal group applies at the same
 * time, changes nothing. The replay ends once every partition has reached the end offset it had
 * when the rebuild began; the service then goes on with its own group, which continues from
 * its committed offsets. */
#ifndef CACHE_REBUILD_H
#define CACHE_REBUILD_H

#include <stdatomic.h>
#include <stddef.h>

#include "cache.h"
#include "cache_feed.h"

/* Creates the replay consumer; NULL with the reason in err on bad Kafka settings. */
cache_feed *cache_rebuild_feed(cache_ctx *ctx, atomic_bool *stop, char *err, size_t errlen);

/* Replays until caught up (0) or until *stop (-1). Frees feed. */
int cache_rebuild_run(cache_ctx *ctx, cache_feed *feed, atomic_bool *stop);

#endif
