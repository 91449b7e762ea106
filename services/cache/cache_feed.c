/* cache_feed: Kafka to Redis, batch by batch (see cache_feed.h). */
#include "cache_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_writer.h"
#include "gg_backoff.h"

#define FEED_CAP       1024 /* messages held at most: a batch plus what arrives while retrying */
#define FEED_POLL_MAX  500  /* messages per poll: one pipelined round */
#define FEED_MAX_BYTES (1024 * 1024)

struct cache_feed {
    cache_ctx *ctx;
    gg_kafka_consumer *kc;
    cache_writer *writer;
    bool mark_done;
    atomic_bool *stop;
    gg_backoff backoff;
    bool failing;            /* Redis refused the last attempt */
    int64_t limit_logged_ms; /* monotonic; when the station cap was last logged */
    size_t limit_unlogged;   /* readings refused by the cap since then */
    size_t n;
    size_t inflight; /* items[0..inflight) sent to Redis, replies not yet read */
    int64_t sent_ms; /* monotonic; when they were sent */
    long finished;   /* messages finished so far, for cache_feed_step's count */
    cache_item *items;
    rd_kafka_message_t *msgs[FEED_CAP];
    char err[256];
};

static void parse_into(cache_feed *f, rd_kafka_message_t *m)
{
    cache_item *it = &f->items[f->n++];
    it->msg = m;
    it->doclen = 0;
    gg_record_reason why =
        gg_record_parse(m->key, m->key_len, m->payload, m->len, FEED_MAX_BYTES, &it->rec, NULL, 0);
    if (why != GG_RECORD_OK) {
        cache_stats_rejected(f->ctx->svc.metrics, why);
        return;
    }
    it->doclen = cache_doc_format(&it->rec, it->doc, sizeof(it->doc));
}

/* Polls up to want messages (fewer when items has less room) and parses them. */
static void poll_upto(cache_feed *f, size_t want, int timeout_ms)
{
    size_t room = FEED_CAP - f->n;
    if (room > want)
        room = want;
    if (room == 0)
        return;
    size_t got = gg_kafka_consumer_poll(f->kc, f->msgs, room, timeout_ms);
    for (size_t i = 0; i < got; i++)
        parse_into(f, f->msgs[i]);
}

static void poll_into(cache_feed *f, int timeout_ms)
{
    poll_upto(f, FEED_POLL_MAX, timeout_ms);
}

/* Marks (when the feed commits) and releases items[0..k), and moves the rest to the front. */
static void finish_first(cache_feed *f, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        if (f->mark_done)
            gg_kafka_consumer_done(f->kc, f->items[i].msg);
        rd_kafka_message_destroy(f->items[i].msg);
    }
    memmove(f->items, f->items + k, (f->n - k) * sizeof(*f->items));
    f->n -= k;
    f->finished += (long)k;
}

static void finish(cache_feed *f)
{
    finish_first(f, f->n);
}

/* Counts readings the station cap dropped; logs it at once, then at most once a minute. */
static void station_limit(cache_feed *f, size_t refused)
{
    gg_counter_add(f->ctx->stats.station_limit, refused);
    f->limit_unlogged += refused;
    int64_t now = gg_time_mono_ms();
    if (f->limit_logged_ms && now - f->limit_logged_ms < 60000)
        return;
    gg_warn(&f->ctx->svc.log,
            "station limit reached: readings of new stations are dropped (GRIDGATE_MAX_STATIONS)",
            "{s:I, s:I}", "max_stations", (json_int_t)f->ctx->cfg.max_stations, "dropped",
            (json_int_t)f->limit_unlogged);
    f->limit_logged_ms = now;
    f->limit_unlogged = 0;
}

static void count_applied(cache_feed *f, const cache_apply_result *res, int64_t t0)
{
    cache_stats *st = &f->ctx->stats;
    gg_histogram_observe(st->batch_seconds, (double)(gg_time_mono_ms() - t0) / 1000.0);
    gg_counter_add(st->readings, res->applied);
    gg_counter_add(st->latest_updates, res->latest_updates);
    gg_counter_add(st->ignored, res->ignored);
    if (res->refused)
        station_limit(f, res->refused);
}

static int apply(cache_feed *f)
{
    cache_apply_result res;
    int64_t t0 = gg_time_mono_ms();
    if (cache_writer_apply(f->writer, f->items, f->n, &res, f->err, sizeof(f->err)) != 0) {
        gg_counter_add(f->ctx->stats.batch_failures, 1);
        return -1;
    }
    count_applied(f, &res, t0);
    return 0;
}

/* Reads Redis's answer to the batch in flight; on success finishes it. 0, or -1 with the
 * batch left at the front of items for the retry. */
static int settle(cache_feed *f)
{
    size_t k = f->inflight;
    if (k == 0)
        return 0;
    f->inflight = 0;
    cache_apply_result res;
    if (cache_writer_receive(f->writer, f->items, &res, f->err, sizeof(f->err)) != 0) {
        gg_counter_add(f->ctx->stats.batch_failures, 1);
        return -1;
    }
    count_applied(f, &res, f->sent_ms);
    finish_first(f, k);
    return 0;
}

/* The batch goes to Redis, and the next one is polled and parsed while Redis works on it: the
 * parsing, not Redis, is most of a reading's cost. 0 when the batch was applied. */
static int apply_pipelined(cache_feed *f)
{
    size_t k = f->n;
    f->sent_ms = gg_time_mono_ms();
    if (cache_writer_send(f->writer, f->items, k, f->err, sizeof(f->err)) != 0) {
        gg_counter_add(f->ctx->stats.batch_failures, 1);
        return -1;
    }
    f->inflight = k;
    if (f->n < FEED_CAP)
        poll_into(f, 0); /* a revocation here settles the batch first (on_revoke) */
    return settle(f);
}

static void recovered(cache_feed *f)
{
    if (!f->failing)
        return;
    f->failing = false;
    gg_backoff_reset(&f->backoff);
    gg_kafka_consumer_resume(f->kc);
    gg_gauge_set(f->ctx->stats.paused, 0);
    gg_health_report(f->ctx->dep_redis, true, NULL);
    gg_info(&f->ctx->svc.log, "redis takes readings again", NULL);
}

static void failed(cache_feed *f)
{
    if (!f->failing)
        gg_warn(&f->ctx->svc.log, "redis refused a batch; pausing consumption and retrying",
                "{s:s, s:I}", "error", f->err, "messages", (json_int_t)f->n);
    f->failing = true;
    gg_kafka_consumer_pause(f->kc);
    gg_gauge_set(f->ctx->stats.paused, 1);
    gg_health_report(f->ctx->dep_redis, false, f->err);
}

/* Waits out one backoff delay while still serving the consumer (rebalances, and messages
 * fetched before the pause took effect, which join the batch). */
static void wait_polling(cache_feed *f)
{
    int64_t until = gg_time_mono_ms() + gg_backoff_next(&f->backoff);
    for (int64_t now = gg_time_mono_ms(); now < until && !atomic_load(f->stop);
         now = gg_time_mono_ms()) {
        long left = (long)(until - now);
        int slice = left < 100 ? (int)left : 100;
        if (f->n < FEED_CAP)
            poll_into(f, slice);
        else
            cache_sleep(slice, f->stop);
    }
}

long cache_feed_step(cache_feed *f, int poll_ms)
{
    long before = f->finished;
    if (f->n == 0)
        poll_into(f, poll_ms);
    else if (f->n <
             FEED_POLL_MAX) /* what the last step parsed: fill the batch from what is ready */
        poll_upto(f, FEED_POLL_MAX - f->n, 0);
    if (f->n > 0 && !f->failing) {
        if (apply_pipelined(f) == 0)
            return f->finished - before;
        if (f->n == 0) /* revoked and dropped meanwhile */
            return f->finished - before;
        failed(f);
        if (atomic_load(f->stop))
            return -1;
        wait_polling(f);
    }
    /* Failing: the whole held batch, synchronously, until Redis takes it. */
    while (f->n > 0) {
        if (apply(f) == 0) {
            finish(f);
            recovered(f);
            return f->finished - before;
        }
        failed(f);
        if (atomic_load(f->stop))
            return -1;
        wait_polling(f);
    }
    return f->finished - before;
}

static bool in_list(const rd_kafka_topic_partition_list_t *parts, const rd_kafka_message_t *m)
{
    return rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition) !=
           NULL;
}

static void on_revoke(gg_kafka_consumer *c, const rd_kafka_topic_partition_list_t *parts, int lost,
                      void *opaque)
{
    cache_feed *f = opaque;
    (void)c;
    /* A batch in flight is answered first: its replies are next on the connection. */
    if (f->inflight)
        settle(f);
    if (f->n == 0)
        return;
    if (apply(f) == 0) {
        finish(f); /* marks of lost partitions are refused, harmlessly */
        recovered(f);
        return;
    }
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (in_list(parts, f->items[i].msg)) {
            rd_kafka_message_destroy(f->items[i].msg);
            dropped++;
        } else {
            memmove(&f->items[kept++], &f->items[i], sizeof(f->items[i]));
        }
    }
    f->n = kept;
    gg_warn(&f->ctx->svc.log,
            "partitions revoked while redis is down; their readings are left "
            "to the next owner",
            "{s:I, s:b}", "messages", (json_int_t)dropped, "lost", lost);
}

cache_feed *cache_feed_new(cache_ctx *ctx, const cache_feed_conf *conf, char *err, size_t errlen)
{
    cache_feed *f = calloc(1, sizeof(*f));
    gg_prop *props = calloc(ctx->kafka_props.count + conf->nextra + 1, sizeof(*props));
    if (!f || !props || !(f->items = calloc(FEED_CAP, sizeof(*f->items)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    f->ctx = ctx;
    f->mark_done = conf->mark_done;
    f->stop = conf->stop;
    gg_backoff_init(&f->backoff, 100, 1000);
    size_t np = 0;
    for (size_t i = 0; i < ctx->kafka_props.count; i++)
        props[np++] = ctx->kafka_props.items[i];
    for (size_t i = 0; i < conf->nextra; i++)
        props[np++] = conf->extra[i];
    /* Poll batches, a few of them fetched ahead (gg_kafka_sizing). */
    const gg_kafka_sizing sizing = {.record_bytes = ctx->cfg.kafka.record_bytes,
                                    .batch = FEED_POLL_MAX,
                                    .prefetch = ctx->cfg.kafka.prefetch_batches};
    gg_kafka_conf kconf = {
        .brokers = ctx->cfg.kafka.brokers,
        .group_id = conf->group,
        .topic = ctx->cfg.kafka.topic,
        .client_id = "gridgate-cache",
        .props = props,
        .nprops = np,
        .sizing = &sizing,
    };
    f->writer = cache_writer_new(ctx);
    if (!f->writer) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    f->kc = gg_kafka_consumer_new(&kconf, &ctx->svc.log, on_revoke, f, err, errlen);
    if (!f->kc)
        goto fail;
    free(props);
    return f;
fail:
    free(props);
    if (f) {
        cache_writer_free(f->writer);
        free(f->items);
    }
    free(f);
    return NULL;
}

void cache_feed_free(cache_feed *f)
{
    if (!f)
        return;
    if (f->n > 0 && apply(f) == 0)
        finish(f);
    for (size_t i = 0; i < f->n; i++) /* unapplied: left for a replay, never marked */
        rd_kafka_message_destroy(f->items[i].msg);
    f->n = 0;
    gg_kafka_consumer_close(f->kc);
    gg_gauge_set(f->ctx->stats.paused, 0);
    cache_writer_free(f->writer);
    free(f->items);
    free(f);
}

size_t cache_feed_pending(const cache_feed *f)
{
    return f->n;
}

rd_kafka_t *cache_feed_handle(cache_feed *f)
{
    return gg_kafka_consumer_handle(f->kc);
}
