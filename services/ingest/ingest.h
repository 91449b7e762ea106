/* ingest: the service that stores every station reading from Kafka as a typed MongoDB document.
 * This header holds the service's context: all of its mutable state lives here. The pure parts
 * (documents, cursors, batches, pages) have their own headers so that unit tests can use them
 * without a broker or a store. */
#ifndef INGEST_H
#define INGEST_H

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>

#include "gg_backoff.h"
#include "gg_config.h"
#include "gg_kafka.h"
#include "gg_options.h"
#include "gg_service.h"
#include "gg_time.h"
#include "ingest_batch.h"
#include "ingest_doc.h"

typedef struct ingest_ctx ingest_ctx;
typedef struct ingest_write ingest_write; /* one prepared bulk write, see ingest_store_begin */

typedef struct ingest_settings {
    gg_base_settings base;
    gg_kafka_settings kafka;
    char *mongo_uri;
    char *mongo_db;
    char *mongo_collection;
    char *mongo_write_concern; /* "majority", a number of members >= 1, or a tag set name */
    long mongo_write_timeout_ms;
    long batch_size;
    long batch_linger_ms;
    long max_message_bytes;
    long retry_max_ms;
    char *dlq_topic; /* NULL: "<topic>.dlq" */
    char *api_token;
} ingest_settings;

/* The service's own metrics; pointers into the registry of svc.metrics. */
typedef struct ingest_metrics {
    gg_counter *consumed;
    gg_counter *stored;
    gg_counter *duplicates;
    gg_counter *dead_lettered[INGEST_REASON_COUNT];
    gg_counter *store_retries;
    gg_counter *dlq_retries;
    gg_counter *posted_accepted;
    gg_counter *posted_rejected;
    gg_histogram *batch_seconds;     /* one bulk write, store round trip included */
    gg_histogram *batch_docs;        /* documents per bulk write */
    gg_histogram *produce_to_stored; /* Kafka message timestamp to store acknowledgement */
    gg_gauge *lag;
    gg_gauge *paused;
} ingest_metrics;

/* The writer thread: runs one bulk write at a time for the pipeline, so that the store works
 * on one batch while the pipeline consumes and parses the next. It touches nothing but the
 * write it was handed. */
typedef struct ingest_writer {
    pthread_t thread;
    int running;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    ingest_write *job; /* handed over, not yet collected */
    int finished;      /* job has run */
    int stop;
} ingest_writer;

/* The consumer thread. Only that thread touches the batches and polls the consumer; the HTTP
 * threads read the consumer's thread-safe status calls and last_error under lock.
 * Two batches at most: the older one being written (inflight) or waiting for a retry (held),
 * and the newer one taking messages (filling). The older one is always settled and marked
 * before the newer one is written, so marks never pass an unsettled message. */
typedef struct ingest_pipeline {
    pthread_t thread;
    int running;
    atomic_int stop;
    atomic_llong stop_deadline_ms; /* monotonic; 0 while running */
    gg_kafka_consumer *consumer;
    ingest_batch batches[2];
    ingest_batch *filling;
    ingest_batch *inflight;
    ingest_write *inflight_job; /* NULL when the inflight batch has nothing for the store */
    ingest_batch *held;         /* non-NULL: outage, consumption paused */
    ingest_writer writer;
    const rd_kafka_message_t **marks; /* scratch: the last message of each partition */
    gg_backoff backoff;
    int indexes_ok;
    int64_t next_index_try_ms; /* monotonic */
    pthread_mutex_t lock;
    char last_error[320];
    int64_t last_error_ms; /* wall clock, 0 when none */
} ingest_pipeline;

struct ingest_ctx {
    gg_service svc;
    ingest_settings cfg;
    gg_conf_props kafka_props;
    char *dlq_topic; /* effective dead-letter topic */
    mongoc_client_pool_t *pool;
    mongoc_write_concern_t *write_concern;
    int32_t store_timeout_ms;    /* how long a write to an unreachable store takes to fail */
    gg_kafka_producer *producer; /* POST /v1/readings and the dead-letter topic */
    gg_dep *dep_mongo;
    gg_dep *dep_kafka;
    ingest_metrics m;
    ingest_pipeline pipe;
};

/* ingest_store.c: the MongoDB side. */
int ingest_store_init(ingest_ctx *ctx, char *err, size_t errlen);
void ingest_store_destroy(ingest_ctx *ctx);
int ingest_store_probe(void *ud, char *err, size_t errlen);
/* Creates the {station_id: 1, created_at: -1} index if missing. Returns 0; 1 when the store
 * refused it for good (logged, ingest goes on without it); -1 on a transient failure. */
int ingest_store_ensure_indexes(ingest_ctx *ctx, char *err, size_t errlen);
/* Inserts the batch's pending documents in one unordered bulk write and settles every entry it
 * can (stored, duplicate, or rejected for good and bound for the dead-letter topic). Returns 0
 * when none is left pending, -1 when the write must be retried (err says why). */
int ingest_store_write(ingest_ctx *ctx, ingest_batch *b, char *err, size_t errlen);
/* The same in three steps, so that the write itself can run on the writer thread while the
 * pipeline goes on consuming: begin (pipeline thread) builds the bulk operation from the
 * batch, run (any one thread) executes it, end (pipeline thread) settles the entries, frees
 * the write and returns like ingest_store_write. begin returns NULL when out of memory. */
ingest_write *ingest_store_begin(ingest_ctx *ctx, ingest_batch *b);
void ingest_store_run(ingest_write *w);
int ingest_store_end(ingest_write *w, char *err, size_t errlen);
/* Drops a write that was begun but never run, as if it had not been begun. */
void ingest_store_cancel(ingest_write *w);

/* ingest_dlq.c: the dead-letter topic. Sends the batch's entries that are bound for it and
 * waits up to timeout_ms for Kafka's acknowledgement. Returns 0 when none is left pending,
 * else -1. */
int ingest_dlq_send(ingest_ctx *ctx, ingest_batch *b, int timeout_ms, char *err, size_t errlen);

/* ingest_pipeline.c: the consumer thread. */
int ingest_pipeline_init(ingest_ctx *ctx, char *err, size_t errlen);
int ingest_pipeline_start(ingest_ctx *ctx);
/* Asks the thread to stop polling, settle what it holds (retrying until deadline_ms, monotonic),
 * commit and leave the group; returns at once. */
void ingest_pipeline_request_stop(ingest_ctx *ctx, int64_t deadline_ms);
/* Waits for the thread (asking it to stop now if not asked yet) and frees the pipeline. */
void ingest_pipeline_stop(ingest_ctx *ctx);
/* {"paused", "assignment", "lag", "last_error"}: the pipeline's part of /v1/ingest/status. */
json_t *ingest_pipeline_status(ingest_ctx *ctx);

/* ingest_writer.c */
int ingest_writer_start(ingest_writer *w);
void ingest_writer_stop(ingest_writer *w);
void ingest_writer_submit(ingest_writer *w, ingest_write *job);
/* The submitted write once it has run (the writer is then free), waiting up to timeout_ms
 * (negative: as long as it takes); NULL while it is still running or when none was submitted. */
ingest_write *ingest_writer_collect(ingest_writer *w, int timeout_ms);

/* ingest_metrics.c */
void ingest_metrics_init(ingest_ctx *ctx);
json_t *ingest_metrics_counters(const ingest_ctx *ctx);

/* ingest_http.c: the REST routes (reads and status). */
int ingest_http_mount(ingest_ctx *ctx);
/* ingest_post.c: POST /v1/readings. */
void ingest_post_readings(gg_http_req *req, void *ud);
/* ingest_query.c: reads from the store for the REST routes. */
void ingest_query_station(gg_http_req *req, void *ud);
void ingest_query_reading(gg_http_req *req, void *ud);

#endif
