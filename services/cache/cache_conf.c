/* cache_conf: the cache's settings (see cache_conf.h). */
#include "cache_conf.h"

#include <stddef.h>
#include <stdio.h>

#include "cache.h"
#include "cache_keys.h"

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
    {"max-stations", GG_CONF_INT, offsetof(cache_settings, max_stations), "20000",
     "most stations kept; readings of further new stations are dropped (0: no limit)", 0, 10000000,
     NULL, 0},
    {"rebuild", GG_CONF_BOOL, offsetof(cache_settings, rebuild), "false",
     "at start, replay the topic from its earliest offset into Redis, then consume as usual", 0, 0,
     NULL, 0},
    {"stream-max", GG_CONF_INT, offsetof(cache_settings, stream_max), "512",
     "open GET /v1/stream connections per replica; more get 503 (keep below max-connections)", 0,
     65536, NULL, 0},
    {"stream-queue", GG_CONF_INT, offsetof(cache_settings, stream_queue), "1024",
     "events queued per stream; a client that falls this far behind is disconnected", 1, 1000000,
     NULL, 0},
    {"stream-heartbeat-s", GG_CONF_INT, offsetof(cache_settings, stream_heartbeat_s), "15",
     "a quiet stream gets a comment line this often, so proxies keep it open", 1, 3600, NULL, 0},
};
#define CACHE_NOPTS (sizeof(cache_opts) / sizeof(cache_opts[0]))

/* gg_conf_validate_kafka finds the Kafka settings where gg_kafka_service_settings has them. */
_Static_assert(offsetof(cache_settings, base) == offsetof(gg_kafka_service_settings, base) &&
                   offsetof(cache_settings, kafka) == offsetof(gg_kafka_service_settings, kafka),
               "cache_settings must begin with gg_kafka_service_settings");

/* What the start would reject after the table: the stream cap against the connection limit,
 * then the Kafka properties, as librdkafka takes them. */
static int cache_validate(const void *settings, const gg_conf_props *props, char *why, size_t len)
{
    const cache_settings *cfg = settings;
    /* Streams hold their connections: at the connection limit no lookup would get through. */
    if (cfg->stream_max >= cfg->base.max_connections) {
        snprintf(why, len,
                 "GRIDGATE_STREAM_MAX (%ld) must be below GRIDGATE_MAX_CONNECTIONS (%ld): open "
                 "streams hold connections, and lookups need some too",
                 cfg->stream_max, cfg->base.max_connections);
        return -1;
    }
    return gg_conf_validate_kafka(settings, props, why, len);
}

const gg_conf_spec cache_spec = {
    "gridgate-cache", "Keeps the latest readings of every station in Redis and serves them.",
    cache_opts, CACHE_NOPTS, cache_validate};
