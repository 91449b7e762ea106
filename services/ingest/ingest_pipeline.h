/* ingest_pipeline: the consumer thread: Kafka to batches to the store, offsets committed only for
 * what is stored or dead-lettered. */
#ifndef INGEST_PIPELINE_H
#define INGEST_PIPELINE_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include "gg_backoff.h"
#include "gg_kafka.h"
#include "ingest_batch.h"
#include "ingest_writer.h"

typedef struct ingest_ctx ingest_ctx;

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
    /* With kafka transactions: commits each batch's dead letters and offsets together. The
     * outcome of its last commit is unknown while txn_unknown is set: the committed offsets
     * tell which of the oldest batch's entries are settled before it is tried again. */
    gg_kafka_txn *txn;
    int txn_unknown;
    char txn_id[192];
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

int ingest_pipeline_init(ingest_ctx *ctx, char *err, size_t errlen);
int ingest_pipeline_start(ingest_ctx *ctx);
/* Asks the thread to stop polling, settle what it holds (retrying until deadline_ms, monotonic),
 * commit and leave the group; returns at once. */
void ingest_pipeline_request_stop(ingest_ctx *ctx, int64_t deadline_ms);
/* Waits for the thread (asking it to stop now if not asked yet) and frees the pipeline. */
void ingest_pipeline_stop(ingest_ctx *ctx);
/* {"paused", "assignment", "lag", "last_error"}: the pipeline's part of /v1/ingest/status. */
json_t *ingest_pipeline_status(ingest_ctx *ctx);

#endif
