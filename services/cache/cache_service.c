/* cache_service: the cache's part of the service lifecycle (see gg_service.h): what it builds
 * before serving, and how it takes it down. */
#include "cache_service.h"

#include <stdlib.h>

#include "cache.h"
#include "cache_board.h"
#include "cache_conf.h"
#include "cache_consumer.h"
#include "cache_http.h"
#include "cache_hub.h"
#include "cache_keys.h"
#include "cache_pool.h"
#include "cache_redis.h"
#include "cache_store.h"
#include "cache_stream.h"
#include "cache_sync.h"

static int cache_setup(void *ud)
{
    cache_ctx *ctx = ud;
    char err[512];
    if (gg_conf_parse_redis_url(ctx->cfg.redis_url, &ctx->redis) != 0)
        return -1;
    const char *prefix = ctx->cfg.redis_prefix ? ctx->cfg.redis_prefix : "";
    if (!ctx->cfg.redis_prefix && !(ctx->cfg.redis_prefix = calloc(1, 1)))
        return -1;
    cache_key_index(ctx->index_key, prefix);
    cache_key_channel(ctx->channel, prefix);
    cache_stats_init(&ctx->stats, ctx->svc.metrics);
    gg_kafka_conf kconf = {
        .brokers = ctx->cfg.kafka.brokers,
        .client_id = "gridgate-cache",
        .props = ctx->kafka_props.items,
        .nprops = ctx->kafka_props.count,
    };
    ctx->kafka_probe_handle =
        gg_kafka_producer_new(&kconf, &ctx->svc.log, NULL, NULL, err, sizeof(err));
    if (!ctx->kafka_probe_handle) {
        gg_error(&ctx->svc.log, "bad Kafka settings", "{s:s}", "error", err);
        return -1;
    }
    ctx->dep_redis = gg_health_add(ctx->svc.health, "redis", cache_redis_probe, ctx);
    ctx->dep_kafka =
        gg_health_add(ctx->svc.health, "kafka", gg_kafka_producer_probe, ctx->kafka_probe_handle);
    /* Without Kafka the values stop advancing but stay right: keep serving them. */
    gg_health_set_optional(ctx->dep_kafka);
    ctx->store = cache_store_new();
    ctx->pool = cache_pool_new(ctx, (size_t)ctx->cfg.base.backend_threads);
    cache_hub_config hc = {(size_t)ctx->cfg.stream_max, (size_t)ctx->cfg.stream_queue,
                           ctx->cfg.stream_heartbeat_s * 1000};
    cache_hub_metrics hm = {ctx->stats.streams_open, ctx->stats.stream_events,
                            ctx->stats.streams_cut, ctx->stats.streams_refused};
    ctx->hub = cache_hub_new(&hc, &hm);
    if (!ctx->store || !ctx->pool || !ctx->hub || cache_http_mount(ctx) != 0 ||
        cache_stream_mount(ctx) != 0)
        return -1;
    return cache_board_mount(ctx->svc.http);
}

/* Consuming and the local copy start once the probes and the routes serve. */
static int cache_run(void *ud)
{
    cache_ctx *ctx = ud;
    char err[512];
    if (!(ctx->consumer = cache_consumer_start(ctx, err, sizeof(err)))) {
        gg_error(&ctx->svc.log, "cannot start consuming", "{s:s}", "error", err);
        return -1;
    }
    if (!(ctx->sync = cache_sync_start(ctx, err, sizeof(err)))) {
        gg_error(&ctx->svc.log, "cannot start the local copy", "{s:s}", "error", err);
        return -1;
    }
    return 0;
}

static void cache_teardown(void *ud)
{
    cache_ctx *ctx = ud;
    cache_consumer_stop(ctx->consumer);
    cache_sync_stop(ctx->sync);
    cache_hub_free(ctx->hub); /* after the HTTP server: its streams are closed by now */
    cache_pool_free(ctx->pool);
    cache_store_free(ctx->store);
    if (ctx->kafka_probe_handle)
        gg_kafka_producer_destroy(ctx->kafka_probe_handle);
}

/* GET /openapi.json, generated from services/cache/openapi.json at build time. */
extern const unsigned char cache_openapi[];

const gg_service_def cache_service = {
    .name = "cache",
    .spec = &cache_spec,
    .openapi = cache_openapi,
    .setup = cache_setup,
    .run = cache_run,
    .teardown = cache_teardown,
};
