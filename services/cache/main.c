/* gridgate-cache: latest and recent readings per station in Redis, served over HTTP. */
#include <stdio.h>
#include <stdlib.h>

#include "cache.h"
#include "cache_consumer.h"
#include "cache_http.h"
#include "cache_keys.h"
#include "cache_pool.h"
#include "cache_redis.h"
#include "cache_store.h"
#include "cache_sync.h"

static const gg_conf_opt cache_opts[] = {
    GG_OPTS_BASE(cache_settings, base, "0.0.0.0:8082"),
    GG_OPTS_KAFKA(cache_settings, kafka, "gridgate-cache"),
    {"redis-url", GG_CONF_STR, offsetof(cache_settings, redis_url), "redis://localhost:6379/0",
     "Redis server, redis://[:password@]host:port/db", 0, 0, gg_conf_check_redis_url,
     GG_CONF_REQUIRED | GG_CONF_SECRET},
    {"redis-timeout-ms", GG_CONF_INT, offsetof(cache_settings, redis_timeout_ms), "1000",
     "connect and command timeout towards Redis", 10, 60000, NULL, 0},
    {"redis-prefix", GG_CONF_STR, offsetof(cache_settings, redis_prefix),
     "gg:", "prefix of every Redis key and channel of the cache (A-Z a-z 0-9 : . _ -)", 0, 0,
     cache_prefix_check, 0},
    {"recent-size", GG_CONF_INT, offsetof(cache_settings, recent_size), "100",
     "recent readings kept per station", 1, 100000, NULL, 0},
    {"rebuild", GG_CONF_BOOL, offsetof(cache_settings, rebuild), "false",
     "at start, replay the topic from its earliest offset into Redis, then consume as usual", 0, 0,
     NULL, 0},
};
#define CACHE_NOPTS (sizeof(cache_opts) / sizeof(cache_opts[0]))

/* What the start would reject after the table: the Kafka properties, as librdkafka takes them. */
static int cache_validate(const void *settings, const gg_conf_props *props, char *why, size_t len)
{
    const cache_settings *cfg = settings;
    return gg_conf_check_kafka(cfg->kafka.brokers, props, why, len);
}

static const gg_conf_spec cache_spec = {
    "gridgate-cache", "Keeps the latest readings of every station in Redis and serves them.",
    cache_opts, CACHE_NOPTS, cache_validate};

static int cache_start(cache_ctx *ctx)
{
    char err[512];
    if (gg_service_init(&ctx->svc, "cache", &ctx->cfg.base) != 0)
        return -1;
    gg_info(&ctx->svc.log, "starting", "{s:s, s:o, s:o}", "version", GG_VERSION, "settings",
            gg_conf_describe(cache_opts, CACHE_NOPTS, &ctx->cfg), "kafka_props",
            gg_conf_describe_props(&ctx->kafka_props));
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
    if (!ctx->store || !ctx->pool || cache_http_mount(ctx) != 0)
        return -1;
    if (!(ctx->consumer = cache_consumer_start(ctx, err, sizeof(err)))) {
        gg_error(&ctx->svc.log, "cannot start consuming", "{s:s}", "error", err);
        return -1;
    }
    if (!(ctx->sync = cache_sync_start(ctx, err, sizeof(err)))) {
        gg_error(&ctx->svc.log, "cannot start the local copy", "{s:s}", "error", err);
        return -1;
    }
    return gg_service_start(&ctx->svc);
}

static void cache_stop(cache_ctx *ctx)
{
    gg_service_drain(&ctx->svc);
    cache_consumer_stop(ctx->consumer);
    cache_sync_stop(ctx->sync);
    gg_health_stop(ctx->svc.health);
    cache_pool_free(ctx->pool);
    cache_store_free(ctx->store);
    if (ctx->kafka_probe_handle)
        gg_kafka_producer_destroy(ctx->kafka_probe_handle);
    gg_service_destroy(&ctx->svc);
}

int main(int argc, char **argv)
{
    cache_ctx ctx = {0};
    gg_service_signals_init(&ctx.svc);
    int rc = gg_conf_startup(&cache_spec, &ctx.cfg, &ctx.kafka_props, argc, argv, NULL, NULL, NULL);
    if (rc != GG_CONF_OK)
        return gg_conf_exit_status(rc);
    int status = 0;
    if (cache_start(&ctx) == 0)
        gg_service_wait(&ctx.svc, 0, NULL, NULL);
    else
        status = 1;
    cache_stop(&ctx);
    gg_conf_free(cache_opts, CACHE_NOPTS, &ctx.cfg, &ctx.kafka_props);
    return status;
}
