/* cache_consumer: the thread that feeds Redis from the readings topic: first the rebuild when
 * asked for (cache_rebuild.h), then the service's own consumer group (cache_feed.h) until the
 * service stops. */
#ifndef CACHE_CONSUMER_H
#define CACHE_CONSUMER_H

#include <stddef.h>

#include "cache.h"

/* Creates the first consumer here, so bad Kafka settings fail the start, then starts the
 * thread. NULL with the reason in err. */
cache_consumer *cache_consumer_start(cache_ctx *ctx, char *err, size_t errlen);
/* Stops consuming: the batch in hand is applied if Redis takes it, marked offsets are
 * committed, the group is left. */
void cache_consumer_stop(cache_consumer *c);

#endif
