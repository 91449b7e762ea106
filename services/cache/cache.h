/* cache: the service that keeps every station's latest and recent readings in Redis and serves
 * them to dashboards. This header holds the service's context: all its mutable state lives here
 * or in the module objects it points to.
 *
 * Threads: the consumer thread (cache_consumer.c) applies readings from Kafka to Redis; the
 * sync thread (cache_sync.c) keeps the in-process copy of the latest readings coherent with
 * Redis; libmicrohttpd's workers answer requests (cache_http.c) from that copy, or from Redis
 * through a small connection pool (cache_pool.c) when the copy cannot be trusted; the sync
 * thread also hands every update to the open event streams (cache_hub.c), whose heartbeat
 * thread keeps quiet ones alive; the health thread probes Redis and Kafka. */
#ifndef CACHE_H
#define CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cache_keys.h"
#include "gg_time.h"
#include "gg_config.h"
#include "gg_kafka.h"
#include "gg_metrics.h"
#include "gg_options.h"
#include "gg_record.h"
#include "gg_service.h"

typedef struct cache_settings {
    gg_base_settings base;
    gg_kafka_settings kafka;
    char *redis_url;
    long redis_timeout_ms;
    char *redis_prefix;
    long recent_size;
    long max_stations; /* 0: no cap */
    bool rebuild;
    long stream_max;         /* open GET /v1/stream at most, per replica */
    long stream_queue;       /* events queued per stream before a slow client is cut */
    long stream_heartbeat_s; /* a quiet stream gets a comment line this often */
} cache_settings;

/* Metric series looked up once at start, so hot paths update them without a lookup. */
typedef struct cache_stats {
    gg_counter *readings;         /* valid readings applied to Redis */
    gg_counter *latest_updates;   /* readings that became a station's latest */
    gg_counter *ignored;          /* readings with no effect: duplicates, too old */
    gg_counter *batch_failures;   /* batches Redis did not take (retried) */
    gg_histogram *batch_seconds;  /* one pipelined round per poll batch */
    gg_gauge *paused;             /* 1 while consumption waits for Redis */
    gg_gauge *rebuild_running;    /* 1 while replaying the topic */
    gg_counter *rebuild_readings; /* readings replayed by the rebuild */
    gg_gauge *local_stations;     /* stations in the in-process copy */
    gg_gauge *local_coherent;     /* 1 while the copy follows Redis */
    gg_counter *local_refreshes;  /* full reloads of the copy */
    gg_counter *local_updates;    /* updates applied from the channel */
    gg_counter *lookups_memory;   /* answers from the copy */
    gg_counter *lookups_redis;    /* answers read from Redis */
    gg_counter *redis_read_failures;
    gg_counter *station_limit;   /* readings of new stations past the cap, dropped */
    gg_gauge *streams_open;      /* GET /v1/stream connections open */
    gg_counter *stream_events;   /* events queued to streams */
    gg_counter *streams_cut;     /* streams cut: their client did not keep up */
    gg_counter *streams_refused; /* streams refused at GRIDGATE_STREAM_MAX */
} cache_stats;

typedef struct cache_store cache_store;
typedef struct cache_pool cache_pool;
typedef struct cache_sync cache_sync;
typedef struct cache_consumer cache_consumer;
typedef struct cache_hub cache_hub;

typedef struct cache_ctx {
    gg_service svc;
    cache_settings cfg;
    gg_conf_props kafka_props;
    gg_conf_redis_url redis;
    gg_kafka_producer *kafka_probe_handle; /* metadata-only handle for the readiness probe */
    gg_dep *dep_redis;
    gg_dep *dep_kafka;
    cache_stats stats;
    char index_key[CACHE_KEY_MAX];
    char channel[CACHE_KEY_MAX];
    cache_store *store;
    cache_pool *pool;
    cache_sync *sync;
    cache_consumer *consumer;
    cache_hub *hub; /* the streams of GET /v1/stream, fed by the sync thread */
} cache_ctx;

/* cache_stats.c */
void cache_stats_init(cache_stats *st, gg_metrics *m);
/* Counts a message the record parser refused, by reason. */
void cache_stats_rejected(gg_metrics *m, gg_record_reason reason);

/* Sleeps ms, in slices, returning early (true) once *stop is set. */
static inline bool cache_sleep(long ms, atomic_bool *stop)
{
    while (ms > 0 && !atomic_load(stop)) {
        long slice = ms < 50 ? ms : 50;
        struct timespec ts = {0, slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return atomic_load(stop);
}

#endif
