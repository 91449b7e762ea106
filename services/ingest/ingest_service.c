/* ingest_service: ingest's part of the service lifecycle (see gg_service.h): what it builds
 * before serving, the pipeline it runs, and the order it stops in. */
#include "ingest_service.h"

#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "ingest_store.h"
#include "ingest_pipeline.h"
#include "ingest_metrics.h"
#include "ingest_http.h"
#include "ingest_conf.h"

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

static int ingest_setup(void *ud)
{
    ingest_ctx *ctx = ud;
    char err[512];
    ctx->dlq_topic = dlq_topic_of(&ctx->cfg);
    if (!ctx->dlq_topic)
        return -1;
    if (ingest_store_init(ctx, err, sizeof(err)) != 0) {
        gg_error(&ctx->svc.log, "bad MongoDB settings", "{s:s}", "error", err);
        return -1;
    }
    /* The producer sends a request body's readings (POST /v1/readings) or a batch's dead
     * letters at once; a few such sends may wait on the broker together (gg_kafka_sizing). */
    const gg_kafka_sizing sizing = {
        .record_bytes = ctx->cfg.kafka.record_bytes,
        .batch = ctx->cfg.batch_size,
        .prefetch = ctx->cfg.kafka.prefetch_batches,
        .send_bytes = ctx->cfg.base.max_body + ctx->cfg.batch_size * ctx->cfg.kafka.record_bytes,
    };
    gg_kafka_conf kconf = {
        .brokers = ctx->cfg.kafka.brokers,
        .topic = ctx->cfg.kafka.topic,
        .client_id = "gridgate-ingest",
        .props = ctx->kafka_props.items,
        .nprops = ctx->kafka_props.count,
        .sizing = &sizing,
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
    return ingest_http_mount(ctx);
}

static int ingest_run(void *ud)
{
    return ingest_pipeline_start(ud);
}

/* Once no request is in progress (they may still produce), the pipeline settles its batches,
 * commits and leaves the group while the health probes stop. Its deadline leaves room for
 * closing the store's connections, which can take a server selection timeout when the store is
 * gone, and never less than a quarter of the shutdown time. */
static void ingest_drained(void *ud)
{
    ingest_ctx *ctx = ud;
    int64_t end = gg_service_deadline_ms(&ctx->svc);
    int64_t floor = end - ctx->cfg.base.shutdown_timeout_ms + ctx->cfg.base.shutdown_timeout_ms / 4;
    int64_t deadline = end - ctx->store_timeout_ms - 250;
    ingest_pipeline_request_stop(ctx, deadline > floor ? deadline : floor);
}

static void ingest_teardown(void *ud)
{
    ingest_ctx *ctx = ud;
    ingest_pipeline_stop(ctx);
    if (ctx->producer) {
        int64_t left = gg_service_deadline_ms(&ctx->svc) - gg_time_mono_ms();
        gg_kafka_producer_flush(ctx->producer, left > 0 ? (int)left : 0);
        gg_kafka_producer_destroy(ctx->producer);
    }
    ingest_store_destroy(ctx);
    free(ctx->dlq_topic);
}

/* GET /openapi.json, generated from services/ingest/openapi.json at build time. */
extern const unsigned char ingest_openapi[];

const gg_service_def ingest_service = {
    .name = "ingest",
    .spec = &ingest_spec,
    .openapi = ingest_openapi,
    .process_init = mongoc_init,
    .process_cleanup = mongoc_cleanup,
    .setup = ingest_setup,
    .run = ingest_run,
    .drained = ingest_drained,
    .teardown = ingest_teardown,
};
