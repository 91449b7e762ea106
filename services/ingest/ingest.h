/* ingest: the service that stores every station reading from Kafka as a typed MongoDB document.
 * This header holds the service's context and settings: all of its mutable state lives here.
 * Each module has its header (ingest_store.h, ingest_pipeline.h, ...), its interface. */
#ifndef INGEST_H
#define INGEST_H

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "gg_backoff.h"
#include "gg_config.h"
#include "gg_kafka.h"
#include "gg_options.h"
#include "gg_service.h"
#include "gg_time.h"
#include "ingest_batch.h"
#include "ingest_doc.h"
#include "ingest_metrics.h"
#include "ingest_pipeline.h"

typedef struct ingest_ctx ingest_ctx;

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
    /* Each batch's dead letters and offsets in one Kafka transaction (exactly-once dead
     * letters); false: dead letters at least once, offsets committed by the consumer. */
    bool kafka_transactions;
} ingest_settings;

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

#endif
