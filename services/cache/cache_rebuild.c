/* cache_rebuild: replay of the readings topic into Redis (see cache_rebuild.h). */
#include "cache_rebuild.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gg_backoff.h"

#define REBUILD_META_TIMEOUT_MS 5000
#define REBUILD_POLL_MS         200

cache_feed *cache_rebuild_feed(cache_ctx *ctx, atomic_bool *stop, char *err, size_t errlen)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)ctx;
    char group[300];
    snprintf(group, sizeof(group), "%s.rebuild.%016" PRIx64, ctx->cfg.kafka.group, r);
    static const gg_prop extra[] = {{"enable.auto.commit", "false"},
                                    {"auto.offset.reset", "earliest"}};
    cache_feed_conf conf = {.group = group,
                            .mark_done = false,
                            .stop = stop,
                            .extra = extra,
                            .nextra = sizeof(extra) / sizeof(extra[0])};
    return cache_feed_new(ctx, &conf, err, errlen);
}

/* The end offset of every partition of the topic, now: what the replay must reach. NULL while
 * Kafka cannot tell (err says why); an empty list when the topic does not exist. */
static rd_kafka_topic_partition_list_t *end_offsets(rd_kafka_t *rk, const char *topic, char *err,
                                                    size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        rkt ? rd_kafka_metadata(rk, 0, rkt, &md, REBUILD_META_TIMEOUT_MS) : RD_KAFKA_RESP_ERR__FAIL;
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (e) {
        snprintf(err, errlen, "metadata: %s", rd_kafka_err2str(e));
        return NULL;
    }
    rd_kafka_topic_partition_list_t *ends = rd_kafka_topic_partition_list_new(8);
    const struct rd_kafka_metadata_topic *t = md->topic_cnt == 1 ? &md->topics[0] : NULL;
    if (t && t->err && t->err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        snprintf(err, errlen, "metadata of %s: %s", topic, rd_kafka_err2str(t->err));
        goto fail;
    }
    for (int i = 0; t && !t->err && i < t->partition_cnt; i++) {
        int64_t lo = 0, hi = 0;
        int32_t p = t->partitions[i].id;
        e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, REBUILD_META_TIMEOUT_MS);
        if (e) {
            snprintf(err, errlen, "end offset of %s [%d]: %s", topic, (int)p, rd_kafka_err2str(e));
            goto fail;
        }
        if (hi > lo) /* empty partitions need no replay */
            rd_kafka_topic_partition_list_add(ends, topic, p)->offset = hi;
    }
    rd_kafka_metadata_destroy(md);
    return ends;
fail:
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(ends);
    return NULL;
}

/* True once the consumer's position in every partition has reached its end offset. */
static bool caught_up(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *ends)
{
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(ends);
    for (int i = 0; i < pos->cnt; i++)
        pos->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    bool done = rd_kafka_position(rk, pos) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; done && i < pos->cnt; i++)
        done = pos->elems[i].offset >= 0 && pos->elems[i].offset >= ends->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(pos);
    return done;
}

static int64_t total(const rd_kafka_topic_partition_list_t *ends)
{
    int64_t n = 0;
    for (int i = 0; i < ends->cnt; i++)
        n += ends->elems[i].offset;
    return n;
}

int cache_rebuild_run(cache_ctx *ctx, cache_feed *feed, atomic_bool *stop)
{
    gg_log *log = &ctx->svc.log;
    rd_kafka_t *rk = cache_feed_handle(feed);
    char err[256];
    gg_backoff b;
    gg_backoff_init(&b, 200, 5000);
    gg_gauge_set(ctx->stats.rebuild_running, 1);
    rd_kafka_topic_partition_list_t *ends = NULL;
    while (!atomic_load(stop) &&
           !(ends = end_offsets(rk, ctx->cfg.kafka.topic, err, sizeof(err)))) {
        gg_warn(log, "rebuild waits for kafka", "{s:s}", "error", err);
        cache_sleep(gg_backoff_next(&b), stop);
    }
    int64_t t0 = gg_time_mono_ms(), replayed = 0;
    int rc = -1;
    if (ends) {
        gg_info(log, "rebuild started: replaying the topic into redis", "{s:s, s:i, s:I}", "topic",
                ctx->cfg.kafka.topic, "partitions", ends->cnt, "up_to_offsets",
                (json_int_t)total(ends));
        /* Bounded by the end offsets: each step moves a position forward or waits on Kafka. The
         * position counts what was polled, so what is polled but not yet applied (a step
         * parses the next batch while Redis takes one) keeps the loop going too. */
        while (!atomic_load(stop) && (!caught_up(rk, ends) || cache_feed_pending(feed))) {
            long n = cache_feed_step(feed, REBUILD_POLL_MS);
            if (n > 0) {
                replayed += n;
                gg_counter_add(ctx->stats.rebuild_readings, (uint64_t)n);
            }
        }
        if (!atomic_load(stop)) {
            rc = 0;
            gg_info(log, "rebuild finished", "{s:I, s:I}", "messages", (json_int_t)replayed, "ms",
                    (json_int_t)(gg_time_mono_ms() - t0));
        }
        rd_kafka_topic_partition_list_destroy(ends);
    }
    cache_feed_free(feed);
    gg_gauge_set(ctx->stats.rebuild_running, 0);
    return rc;
}
