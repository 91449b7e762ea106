/* gridgate-ingest: Kafka readings to MongoDB documents, and stored readings over REST. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"

/* "majority", 1..50 members, or a tag set name. 0 would be unacknowledged: offsets would be
 * committed for writes nobody confirmed. */
static int check_write_concern(const char *value, char *why, size_t whylen)
{
    char *end = NULL;
    long n = strtol(value, &end, 10);
    int numeric = end != value && *end == '\0';
    if (!*value || (numeric && (n < 1 || n > 50))) {
        snprintf(why, whylen,
                 "must be majority, a number of members from 1 to 50, or a tag set "
                 "name; unacknowledged writes would lose readings");
        return -1;
    }
    return 0;
}

// clang-format off
static const gg_conf_opt ingest_opts[] = {
    GG_OPTS_BASE(ingest_settings, base, "0.0.0.0:8081"),
    GG_OPTS_KAFKA(ingest_settings, kafka, "gridgate-ingest"),
    {"mongo-uri", GG_CONF_STR, offsetof(ingest_settings, mongo_uri), "mongodb://localhost:27017/",
     "MongoDB connection string", 0, 0, gg_conf_check_mongo_uri, GG_CONF_REQUIRED | GG_CONF_SECRET},
    {"mongo-db", GG_CONF_STR, offsetof(ingest_settings, mongo_db), "gridgate",
     "database of the readings collection", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"mongo-collection", GG_CONF_STR, offsetof(ingest_settings, mongo_collection), "readings",
     "collection the readings are stored in", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"mongo-write-concern", GG_CONF_STR, offsetof(ingest_settings, mongo_write_concern), "majority",
     "write concern of the bulk writes: majority, a number of members, or a tag set name; offsets "
     "are committed only after it is met", 0, 0, check_write_concern, GG_CONF_REQUIRED},
    {"mongo-write-timeout-ms", GG_CONF_INT, offsetof(ingest_settings, mongo_write_timeout_ms),
     "10000", "how long the store may take to meet the write concern (0: no limit)", 0, 600000,
     NULL, 0},
    {"batch-size", GG_CONF_INT, offsetof(ingest_settings, batch_size), "500",
     "most readings per bulk write", 1, 10000, NULL, 0},
    {"batch-linger-ms", GG_CONF_INT, offsetof(ingest_settings, batch_linger_ms), "50",
     "longest wait for a batch to fill before it is written anyway", 0, 60000, NULL, 0},
    {"max-message-bytes", GG_CONF_INT, offsetof(ingest_settings, max_message_bytes), "65536",
     "larger messages are dead-lettered as value_too_large without being parsed", 256,
     64 * 1024 * 1024, NULL, 0},
    {"retry-max-ms", GG_CONF_INT, offsetof(ingest_settings, retry_max_ms), "5000",
     "longest pause between retries of a failed batch", 100, 600000, NULL, 0},
    {"dlq-topic", GG_CONF_STR, offsetof(ingest_settings, dlq_topic), NULL,
     "dead-letter topic for rejected messages; unset means <kafka-topic>.dlq", 0, 0, NULL, 0},
    {"api-token", GG_CONF_STR, offsetof(ingest_settings, api_token), NULL,
     "bearer token for POST /v1/readings; unset disables that endpoint", 0, 0, NULL,
     GG_CONF_SECRET},
};
// clang-format on
#define INGEST_NOPTS (sizeof(ingest_opts) / sizeof(ingest_opts[0]))

/* What the start would reject after the table: the Kafka properties, as librdkafka takes them. */
static int ingest_validate(const void *settings, const gg_conf_props *props, char *why, size_t len)
{
    const ingest_settings *cfg = settings;
    return gg_conf_check_kafka(cfg->kafka.brokers, props, why, len);
}

static const gg_conf_spec ingest_spec = {
    "gridgate-ingest", "Consumes station readings from Kafka and stores them in MongoDB.",
    ingest_opts, INGEST_NOPTS, ingest_validate};

static char *dlq_topic_of(const ingest_settings *cfg)
{
    if (cfg->dlq_topic && *cfg->dlq_topic)
        return strdup(cfg->dlq_topic);
    size_t len = strlen(cfg->kafka.topic) + sizeof(".dlq");
    char *t = malloc(len);
    if (t)
        snprintf(t, len, "%s.dlq", cfg->kafka.topic);
    return t;
}

static int ingest_start(ingest_ctx *ctx)
{
    char err[512];
    if (gg_service_init(&ctx->svc, "ingest", &ctx->cfg.base) != 0)
        return -1;
    gg_info(&ctx->svc.log, "starting", "{s:s, s:o, s:o}", "version", GG_VERSION, "settings",
            gg_conf_describe(ingest_opts, INGEST_NOPTS, &ctx->cfg), "kafka_props",
            gg_conf_describe_props(&ctx->kafka_props));
    ctx->dlq_topic = dlq_topic_of(&ctx->cfg);
    if (!ctx->dlq_topic)
        return -1;
    if (ingest_store_init(ctx, err, sizeof(err)) != 0) {
        gg_error(&ctx->svc.log, "bad MongoDB settings", "{s:s}", "error", err);
        return -1;
    }
    gg_kafka_conf kconf = {
        .brokers = ctx->cfg.kafka.brokers,
        .topic = ctx->cfg.kafka.topic,
        .client_id = "gridgate-ingest",
        .props = ctx->kafka_props.items,
        .nprops = ctx->kafka_props.count,
    };
    ctx->producer = gg_kafka_producer_new(&kconf, &ctx->svc.log, NULL, NULL, err, sizeof(err));
    if (!ctx->producer || ingest_pipeline_init(ctx, err, sizeof(err)) != 0) {
        gg_error(&ctx->svc.log, "bad Kafka settings", "{s:s}", "error", err);
        return -1;
    }
    ingest_metrics_init(ctx);
    ctx->dep_mongo = gg_health_add(ctx->svc.health, "mongodb", ingest_store_probe, ctx);
    ctx->dep_kafka =
        gg_health_add(ctx->svc.health, "kafka", gg_kafka_producer_probe, ctx->producer);
    if (ingest_http_mount(ctx) != 0 || gg_service_start(&ctx->svc) != 0)
        return -1;
    return ingest_pipeline_start(ctx);
}

/* HTTP first, so that requests in flight finish while the producer still exists; then the
 * pipeline settles its batches, commits and leaves the group, while the health probes stop;
 * then the rest. The pipeline's deadline leaves room for closing the store's connections,
 * which can take a server selection timeout when the store is gone. */
static void ingest_stop(ingest_ctx *ctx)
{
    int64_t end = gg_time_mono_ms() + ctx->cfg.base.shutdown_timeout_ms;
    int64_t floor = gg_time_mono_ms() + ctx->cfg.base.shutdown_timeout_ms / 4;
    int64_t deadline = end - ctx->store_timeout_ms - 250;
    gg_service_drain(&ctx->svc);
    ingest_pipeline_request_stop(ctx, deadline > floor ? deadline : floor);
    gg_health_stop(ctx->svc.health);
    ingest_pipeline_stop(ctx);
    if (ctx->producer) {
        int64_t left = end - gg_time_mono_ms();
        gg_kafka_producer_flush(ctx->producer, left > 0 ? (int)left : 0);
        gg_kafka_producer_destroy(ctx->producer);
    }
    ingest_store_destroy(ctx);
    free(ctx->dlq_topic);
    gg_service_destroy(&ctx->svc);
}

int main(int argc, char **argv)
{
    ingest_ctx ctx = {0};
    gg_service_signals_init(&ctx.svc);
    int rc =
        gg_conf_startup(&ingest_spec, &ctx.cfg, &ctx.kafka_props, argc, argv, NULL, NULL, NULL);
    if (rc != GG_CONF_OK)
        return gg_conf_exit_status(rc);
    mongoc_init();
    int status = 0;
    if (ingest_start(&ctx) == 0)
        gg_service_wait(&ctx.svc, 0, NULL, NULL);
    else
        status = 1;
    ingest_stop(&ctx);
    gg_conf_free(ingest_opts, INGEST_NOPTS, &ctx.cfg, &ctx.kafka_props);
    mongoc_cleanup();
    return status;
}
