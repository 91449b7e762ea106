/* gridgate-ingest: Kafka readings to MongoDB documents, and stored readings over REST. */
#include <stdio.h>
#include <stdlib.h>

#include "ingest.h"

static const gg_conf_opt ingest_opts[] = {
    GG_OPTS_BASE(ingest_settings, base, "0.0.0.0:8081"),
    GG_OPTS_KAFKA(ingest_settings, kafka, "gridgate-ingest"),
    {"mongo-uri", GG_CONF_STR, offsetof(ingest_settings, mongo_uri), "mongodb://localhost:27017/",
     "MongoDB connection string", 0, 0, gg_conf_check_mongo_uri, GG_CONF_REQUIRED | GG_CONF_SECRET},
    {"mongo-db", GG_CONF_STR, offsetof(ingest_settings, mongo_db), "gridgate",
     "database of the readings collection", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"mongo-collection", GG_CONF_STR, offsetof(ingest_settings, mongo_collection), "readings",
     "collection the readings are stored in", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"api-token", GG_CONF_STR, offsetof(ingest_settings, api_token), NULL,
     "bearer token for POST /v1/readings; unset disables that endpoint", 0, 0, NULL,
     GG_CONF_SECRET},
};
#define INGEST_NOPTS (sizeof(ingest_opts) / sizeof(ingest_opts[0]))

static int kafka_probe(void *ud, char *err, size_t errlen)
{
    ingest_ctx *ctx = ud;
    return gg_kafka_probe(gg_kafka_producer_handle(ctx->producer), 2000, err, errlen);
}

static int ingest_start(ingest_ctx *ctx)
{
    char err[512];
    if (gg_service_init(&ctx->svc, "ingest", &ctx->cfg.base) != 0)
        return -1;
    gg_info(&ctx->svc.log, "starting", "{s:s, s:o, s:o}", "version", GG_VERSION, "settings",
            gg_conf_describe(ingest_opts, INGEST_NOPTS, &ctx->cfg), "kafka_props",
            gg_conf_describe_props(&ctx->kafka_props));
    if (ingest_store_init(ctx, err, sizeof(err)) != 0) {
        gg_error(&ctx->svc.log, "bad MongoDB settings", "{s:s}", "error", err);
        return -1;
    }
    gg_kafka_conf kconf = {
        .brokers = ctx->cfg.kafka.brokers,
        .client_id = "gridgate-ingest",
        .props = (const gg_kafka_prop *)ctx->kafka_props.items,
        .nprops = ctx->kafka_props.count,
    };
    ctx->producer = gg_kafka_producer_new(&kconf, &ctx->svc.log, NULL, NULL, err, sizeof(err));
    if (!ctx->producer) {
        gg_error(&ctx->svc.log, "bad Kafka settings", "{s:s}", "error", err);
        return -1;
    }
    ctx->dep_mongo = gg_health_add(ctx->svc.health, "mongodb", ingest_store_probe, ctx);
    ctx->dep_kafka = gg_health_add(ctx->svc.health, "kafka", kafka_probe, ctx);
    return gg_service_start(&ctx->svc);
}

static void ingest_stop(ingest_ctx *ctx)
{
    gg_service_drain(&ctx->svc);
    gg_health_stop(ctx->svc.health);
    if (ctx->producer) {
        gg_kafka_producer_flush(ctx->producer, (int)ctx->cfg.base.shutdown_timeout_ms);
        gg_kafka_producer_destroy(ctx->producer);
    }
    ingest_store_destroy(ctx);
    gg_service_destroy(&ctx->svc);
}

int main(int argc, char **argv)
{
    ingest_ctx ctx = {0};
    gg_service_signals_init(&ctx.svc);
    int rc = gg_conf_load(
        "gridgate-ingest", "Consumes station readings from Kafka and stores them in MongoDB.",
        ingest_opts, INGEST_NOPTS, &ctx.cfg, &ctx.kafka_props, argc, argv, NULL, stdout, stderr);
    if (rc != GG_CONF_OK)
        return rc == GG_CONF_EXIT_SUCCESS ? 0 : 2;
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
