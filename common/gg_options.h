/* gg_options: the settings every service shares, named once so that the three binaries, the
 * Helm chart and the docs agree. A service's settings struct embeds gg_base_settings (and
 * gg_kafka_settings when it consumes the readings topic) and its option table starts with the
 * matching GG_OPTS_* rows. */
#ifndef GG_OPTIONS_H
#define GG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "gg_config.h"
#include "gg_log.h"

typedef struct gg_base_settings {
    char *listen;
    gg_log_level log_level;
    long http_threads;
    long max_body;
    char *cors_origin;
    long probe_interval_ms;
    long shutdown_timeout_ms;
    long max_connections;
    long max_header_bytes;
    long idle_timeout_s;
    long backend_threads;
    long route_concurrency;
} gg_base_settings;

typedef struct gg_kafka_settings {
    char *brokers;
    char *topic;
    char *group;
    long record_bytes;     /* typical record of the topic: librdkafka's queues are sized from it */
    long prefetch_batches; /* poll batches the consumer keeps fetched ahead */
} gg_kafka_settings;

/* The head of the settings struct of every service that consumes the readings topic: its
 * settings begin with these two members, in this order (each service asserts it), so that one
 * validator, gg_conf_validate_kafka, serves them all. */
typedef struct gg_kafka_service_settings {
    gg_base_settings base;
    gg_kafka_settings kafka;
} gg_kafka_service_settings;

/* The spec's validate of a service with Kafka (settings begins with gg_kafka_service_settings):
 * the brokers and the pass-through properties as librdkafka takes them (gg_conf_check_kafka).
 * In gg_conf_kafka.c, which only the services that link librdkafka pull in. */
int gg_conf_validate_kafka(const void *settings, const gg_conf_props *kafka_props, char *why,
                           size_t whylen);

/* Table rows read better one option per line than in the formatter's layout. */
// clang-format off
#define GG_OPTS_BASE(type, field, listen_def)                                                     \
    {"listen", GG_CONF_STR, offsetof(type, field.listen), listen_def,                            \
     "address the HTTP server binds, host:port", 0, 0, gg_conf_check_hostport, GG_CONF_REQUIRED}, \
    {"log-level", GG_CONF_LOGLEVEL, offsetof(type, field.log_level), "info",                     \
     "debug, info, warn or error", 0, 0, NULL, 0},                                               \
    {"http-threads", GG_CONF_INT, offsetof(type, field.http_threads), "2",                       \
     "HTTP worker threads (one per core is fastest)", 1, 64, NULL, 0},                           \
    {"max-body", GG_CONF_INT, offsetof(type, field.max_body), "1048576",                         \
     "largest accepted request body in bytes", 1024, 64 * 1024 * 1024, NULL, 0},                 \
    {"cors-origin", GG_CONF_STR, offsetof(type, field.cors_origin), NULL,                        \
     "Access-Control-Allow-Origin for browser dashboards; unset disables CORS", 0, 0, NULL, 0},  \
    {"probe-interval-ms", GG_CONF_INT, offsetof(type, field.probe_interval_ms), "5000",          \
     "how often healthy dependencies are probed", 100, 600000, NULL, 0},                         \
    {"shutdown-timeout-ms", GG_CONF_INT, offsetof(type, field.shutdown_timeout_ms), "10000",     \
     "upper bound for finishing in-flight work on SIGTERM", 100, 600000, NULL, 0},              \
    {"max-connections", GG_CONF_INT, offsetof(type, field.max_connections), "1024",              \
     "open HTTP connections; further ones wait until one closes", 4, 65536, NULL, 0},            \
    {"max-header-bytes", GG_CONF_INT, offsetof(type, field.max_header_bytes), "32768",           \
     "per-connection buffer for request line and headers; larger headers get 431", 4096,        \
     1048576, NULL, 0},                                                                          \
    {"idle-timeout-s", GG_CONF_INT, offsetof(type, field.idle_timeout_s), "60",                  \
     "a connection silent this long, also mid-request, is closed", 1, 3600, NULL, 0},            \
    {"backend-threads", GG_CONF_INT, offsetof(type, field.backend_threads), "8",                 \
     "threads that run requests waiting on a backend, off the HTTP threads", 1, 256, NULL, 0},   \
    {"route-concurrency", GG_CONF_INT, offsetof(type, field.route_concurrency), "32",            \
     "requests per backend-bound route in progress at once; more get 503", 1, 10000, NULL, 0}

#define GG_OPTS_KAFKA(type, field, group_def)                                                     \
    {"kafka-brokers", GG_CONF_STR, offsetof(type, field.brokers), "localhost:9092",              \
     "Kafka bootstrap servers, host:port[,host:port]", 0, 0, gg_conf_check_broker_list,          \
     GG_CONF_REQUIRED},                                                                          \
    {"kafka-topic", GG_CONF_STR, offsetof(type, field.topic), "INGESTION",                       \
     "topic the station readings arrive on", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},    \
    {"kafka-group", GG_CONF_STR, offsetof(type, field.group), group_def,                         \
     "consumer group; replicas in one group share the partitions", 0, 0, gg_conf_check_nonempty, \
     GG_CONF_REQUIRED},                                                                          \
    {"kafka-record-bytes", GG_CONF_INT, offsetof(type, field.record_bytes), "512",              \
     "typical size of one record of the topic; the consumer's fetch sizes and queue bounds are " \
     "computed from it and the batch size", 64, 1048576, NULL, 0},                               \
    {"kafka-prefetch-batches", GG_CONF_INT, offsetof(type, field.prefetch_batches), "10",       \
     "batches the consumer keeps fetched ahead of the one in progress", 1, 100, NULL, 0}
// clang-format on

#endif
