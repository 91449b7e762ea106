/* cache: the service that keeps every station's latest and recent readings in Redis and serves
 * them to dashboards. This header holds the service's context: all its mutable state lives here. */
#ifndef CACHE_H
#define CACHE_H

#include "gg_config.h"
#include "gg_kafka.h"
#include "gg_options.h"
#include "gg_service.h"

typedef struct cache_settings {
    gg_base_settings base;
    gg_kafka_settings kafka;
    char *redis_url;
    long redis_timeout_ms;
} cache_settings;

typedef struct cache_ctx {
    gg_service svc;
    cache_settings cfg;
    gg_conf_props kafka_props;
    gg_conf_redis_url redis;
    gg_kafka_producer *kafka_probe_handle; /* metadata-only handle for the readiness probe */
    gg_dep *dep_redis;
    gg_dep *dep_kafka;
} cache_ctx;

/* cache_redis.c */
int cache_redis_probe(void *ud, char *err, size_t errlen);

#endif
