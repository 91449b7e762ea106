/* ingest: the service that stores every station reading from Kafka as a typed MongoDB document.
 * This header holds the service's context: all of its mutable state lives here. */
#ifndef INGEST_H
#define INGEST_H

#include <mongoc/mongoc.h>

#include "gg_config.h"
#include "gg_kafka.h"
#include "gg_options.h"
#include "gg_service.h"

typedef struct ingest_settings {
    gg_base_settings base;
    gg_kafka_settings kafka;
    char *mongo_uri;
    char *mongo_db;
    char *mongo_collection;
    char *api_token;
} ingest_settings;

typedef struct ingest_ctx {
    gg_service svc;
    ingest_settings cfg;
    gg_conf_props kafka_props;
    mongoc_client_pool_t *pool;
    gg_kafka_producer *producer; /* also the handle the Kafka probe asks for metadata */
    gg_dep *dep_mongo;
    gg_dep *dep_kafka;
} ingest_ctx;

/* ingest_store.c: the MongoDB side. */
int ingest_store_init(ingest_ctx *ctx, char *err, size_t errlen);
void ingest_store_destroy(ingest_ctx *ctx);
int ingest_store_probe(void *ud, char *err, size_t errlen);

#endif
