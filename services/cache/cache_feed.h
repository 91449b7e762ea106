/* cache_feed: one Kafka consumer feeding readings into Redis, batch by batch.
 *
 * A step polls a batch, parses every message (gg_record_parse; refused messages are counted by
 * reason and skipped: the ingest service owns the dead-letter topic), applies the readings in
 * one pipelined round (cache_writer.h) and only then marks the batch's offsets done, so a crash
 * or an outage replays readings and never loses one. While Redis works on a batch the step
 * polls and parses the next one (it is sent by the next step): parsing is most of a reading's
 * cost, and the two then overlap. When Redis fails, the same batch is
 * retried with backoff (100 ms growing to 1 s) while consumption is paused and Redis is
 * reported down; the next successful round resumes it.
 *
 * While a batch waits for Redis the feed keeps polling (so the group does not drop it) and
 * appends whatever still arrives. If its partitions are revoked meanwhile, the batch gets one
 * more try and otherwise the revoked part is dropped unmarked: the next owner reads it again. */
#ifndef CACHE_FEED_H
#define CACHE_FEED_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache.h"

typedef struct cache_feed cache_feed;

typedef struct cache_feed_conf {
    const char *group;    /* consumer group */
    bool mark_done;       /* false: never store offsets (a throw-away replay group) */
    atomic_bool *stop;    /* set when the service stops */
    const gg_prop *extra; /* properties on top of the service's */
    size_t nextra;
} cache_feed_conf;

cache_feed *cache_feed_new(cache_ctx *ctx, const cache_feed_conf *conf, char *err, size_t errlen);
/* Gives a pending batch one last chance, then closes the consumer (committing marks). */
void cache_feed_free(cache_feed *f);

/* Polls up to poll_ms and applies what came. Returns the number of messages finished, or -1
 * when the service is stopping and a batch is left unapplied. */
long cache_feed_step(cache_feed *f, int poll_ms);
/* Messages polled and not yet applied (the next step sends them first). */
size_t cache_feed_pending(const cache_feed *f);

rd_kafka_t *cache_feed_handle(cache_feed *f);

#endif
