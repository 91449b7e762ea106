/* cache_sync: subscriber thread of the in-process copy (see cache_sync.h). */
#include "cache_sync.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_doc.h"
#include "cache_hub.h"
#include "cache_keys.h"
#include "cache_redis.h"
#include "cache_store.h"
#include "gg_backoff.h"

#define SYNC_IDLE_PING_MS  1000
#define SYNC_POLL_MS       100
#define SYNC_SCAN_COUNT    500
#define SYNC_SCAN_ROUNDS   1000000 /* bound on SSCAN rounds: far more than any index needs */
#define INVALIDATE_CHANNEL "__redis__:invalidate"

struct cache_sync {
    cache_ctx *ctx;
    pthread_t thread;
    atomic_bool stop;
    redisContext *sub, *query;
    gg_backoff backoff;
    bool tracking_warned;
    bool want_reload, want_count;
    int64_t last_rx_ms, ping_sent_ms; /* ping_sent_ms 0: no PING outstanding */
    char err[256];
};

/* ---- full reload ---------------------------------------------------------------------------- */

/* GETs both latest keys of each station in one pipelined round and adds what exists. */
static int load_stations(cache_sync *s, cache_table *t, const redisReply *ids)
{
    const char *prefix = s->ctx->cfg.redis_prefix;
    char key[CACHE_KEY_MAX];
    size_t sent = 0;
    for (size_t i = 0; i < ids->elements; i++) {
        const redisReply *id = ids->element[i];
        if (id->type != REDIS_REPLY_STRING || !gg_record_station_id_valid(id->str, id->len))
            continue; /* not ours to interpret: ids are validated before they become keys */
        for (int a = 0; a < 2; a++) {
            cache_key_latest(key, prefix, id->str, (gg_aspect)a);
            redisAppendCommand(s->query, "GET %s", key);
            sent++;
        }
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = NULL;
        if (redisGetReply(s->query, (void **)&r) != REDIS_OK) {
            snprintf(s->err, sizeof(s->err), "reload: %s", s->query->errstr);
            return -1;
        }
        if (r->type == REDIS_REPLY_STRING)
            cache_table_put(t, r->str, r->len);
        freeReplyObject(r);
    }
    return 0;
}

static int reload(cache_sync *s)
{
    int64_t t0 = gg_time_mono_ms();
    cache_table *t = cache_table_new();
    if (!t) {
        snprintf(s->err, sizeof(s->err), "reload: out of memory");
        return -1;
    }
    char cursor[32] = "0";
    for (long round = 0; round < SYNC_SCAN_ROUNDS; round++) {
        redisReply *r = redisCommand(s->query, "SSCAN %s %s COUNT %d", s->ctx->index_key, cursor,
                                     SYNC_SCAN_COUNT);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(s->err, sizeof(s->err), "reload: SSCAN: %s",
                     !r ? s->query->errstr
                        : (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply"));
            freeReplyObject(r);
            cache_table_free(t);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        int rc = load_stations(s, t, r->element[1]);
        freeReplyObject(r);
        if (rc != 0) {
            cache_table_free(t);
            return -1;
        }
        if (strcmp(cursor, "0") == 0)
            break;
    }
    cache_store_replace(s->ctx->store, t);
    size_t n = cache_store_stations(s->ctx->store);
    cache_stats *st = &s->ctx->stats;
    gg_counter_add(st->local_refreshes, 1);
    gg_gauge_set(st->local_stations, (double)n);
    gg_gauge_set(st->local_coherent, 1);
    gg_info(&s->ctx->svc.log, "local copy loaded from redis", "{s:I, s:I}", "stations",
            (json_int_t)n, "ms", (json_int_t)(gg_time_mono_ms() - t0));
    s->want_reload = s->want_count = false;
    return 0;
}

/* The index changed. Usually a new station: the Lua step publishes its reading before the
 * index is written, so the copy has it or has it queued in the socket, and an index larger
 * than the copy says nothing. An index smaller than the copy means stations were removed (the
 * index deleted or rewritten): only a reload can tell which. */
static int check_count(cache_sync *s)
{
    s->want_count = false;
    redisReply *r = redisCommand(s->query, "SCARD %s", s->ctx->index_key);
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        snprintf(s->err, sizeof(s->err), "SCARD: %s",
                 !r ? s->query->errstr
                    : (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply"));
        freeReplyObject(r);
        return -1;
    }
    size_t have = cache_store_stations(s->ctx->store);
    if (r->integer >= 0 && (size_t)r->integer < have) {
        gg_info(&s->ctx->svc.log, "station index lost members, reloading local copy", "{s:I, s:I}",
                "index", (json_int_t)r->integer, "local", (json_int_t)have);
        s->want_reload = true;
    }
    freeReplyObject(r);
    return 0;
}

/* ---- connecting ----------------------------------------------------------------------------- */

static void disconnect(cache_sync *s)
{
    cache_store_set_incoherent(s->ctx->store);
    /* Updates may be missed from here on: streams end, and their clients resume from Redis. */
    cache_hub_end_all(s->ctx->hub);
    gg_gauge_set(s->ctx->stats.local_coherent, 0);
    redisFree(s->sub);
    redisFree(s->query);
    s->sub = s->query = NULL;
}

/* Asks Redis to announce flushes and index changes to the subscriber. A server without
 * CLIENT TRACKING (before 6.0, or a proxy that hides it) still gets a coherent copy except
 * after a flush without restart: worth a warning, not an outage. */
static void enable_tracking(cache_sync *s, long long sub_id)
{
    char err[256];
    if (cache_redis_check(s->query, err, sizeof(err),
                          "CLIENT TRACKING on REDIRECT %lld BCAST PREFIX %s", sub_id,
                          s->ctx->index_key) == 0)
        return;
    if (!s->tracking_warned)
        gg_warn(&s->ctx->svc.log, "redis refused CLIENT TRACKING; flushes will not be noticed",
                "{s:s}", "error", err);
    s->tracking_warned = true;
}

static void on_message(cache_sync *s, const redisReply *r);

static bool is_subscribe_ack(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
           r->element[0]->type == REDIS_REPLY_STRING &&
           strcmp(r->element[0]->str, "subscribe") == 0;
}

static int subscribe(cache_sync *s)
{
    redisReply *r = redisCommand(s->sub, "CLIENT ID");
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        snprintf(s->err, sizeof(s->err), "CLIENT ID: %s",
                 !r ? s->sub->errstr : (r->type == REDIS_REPLY_ERROR ? r->str : "bad reply"));
        freeReplyObject(r);
        return -1;
    }
    long long id = r->integer;
    freeReplyObject(r);
    enable_tracking(s, id);
    redisAppendCommand(s->sub, "SUBSCRIBE %s %s", s->ctx->channel, INVALIDATE_CHANNEL);
    /* A message on the first channel may come before the second channel's acknowledgement: it
     * is handled like any other (the reload that follows supersedes it anyway). The bound only
     * guards against a server that never acknowledges. */
    for (int acks = 0, seen = 0; acks < 2; seen++) {
        r = NULL;
        if (seen > 100000 || redisGetReply(s->sub, (void **)&r) != REDIS_OK ||
            r->type == REDIS_REPLY_ERROR) {
            snprintf(s->err, sizeof(s->err), "SUBSCRIBE: %s",
                     !r ? s->sub->errstr : (r->type == REDIS_REPLY_ERROR ? r->str : "no ack"));
            freeReplyObject(r);
            return -1;
        }
        if (is_subscribe_ack(r))
            acks++;
        else
            on_message(s, r);
        freeReplyObject(r);
    }
    return 0;
}

static int connect_and_load(cache_sync *s)
{
    s->sub = cache_redis_open(s->ctx, s->err, sizeof(s->err));
    if (!s->sub)
        return -1;
    s->query = cache_redis_open(s->ctx, s->err, sizeof(s->err));
    if (!s->query || subscribe(s) != 0 || reload(s) != 0)
        return -1;
    s->last_rx_ms = gg_time_mono_ms();
    s->ping_sent_ms = 0;
    return 0;
}

/* ---- following the channel ------------------------------------------------------------------ */

/* One message holds the accepted newer readings of one script call, in order. Every one of them
 * goes to the copy and, with streams true, to the streams too (also those the copy already
 * holds from a reload), each parsed once. */
static size_t apply_every_document(cache_sync *s, const char *msg, size_t msglen, bool streams)
{
    size_t off = 0, len, updated = 0;
    const char *doc;
    cache_doc_info info;
    while (cache_doc_next_published(msg, msglen, &off, &doc, &len)) {
        if (cache_doc_parse(doc, len, &info) != 0)
            continue;
        if (streams)
            cache_hub_publish_parsed(s->ctx->hub, doc, len, &info);
        if (cache_store_apply_parsed(s->ctx->store, doc, len, &info) > 0)
            updated++;
    }
    return updated;
}

/* Without streams only the copy wants them, and of one station's readings in one message only
 * the last of each aspect can stay (each was newer than the one before it): read from the end
 * until both aspects are found. A message that mixes stations (no writer of this version sends
 * one) is applied whole; the copy's newer-wins decides. */
static size_t documents_to_copy(cache_sync *s, const char *msg, size_t msglen)
{
    size_t end = msglen, len, updated = 0;
    const char *doc;
    char station[sizeof(((cache_doc_info *)0)->station_id)] = "";
    cache_doc_info info;
    bool seen[2] = {false, false};
    while (!(seen[0] && seen[1]) && cache_doc_prev_published(msg, &end, &doc, &len)) {
        if (cache_doc_parse(doc, len, &info) != 0)
            continue;
        if (!*station)
            memcpy(station, info.station_id, sizeof(station));
        else if (strcmp(station, info.station_id) != 0)
            return updated + apply_every_document(s, msg, msglen, false);
        int a = info.aspect == GG_ASPECT_EDGE_PREDICTION;
        if (seen[a])
            continue;
        seen[a] = true;
        if (cache_store_apply_parsed(s->ctx->store, doc, len, &info) > 0)
            updated++;
    }
    return updated;
}

static void on_documents(cache_sync *s, const char *msg, size_t msglen)
{
    size_t updated = cache_hub_streams(s->ctx->hub) ? apply_every_document(s, msg, msglen, true)
                                                    : documents_to_copy(s, msg, msglen);
    if (updated) {
        gg_counter_add(s->ctx->stats.local_updates, updated);
        gg_gauge_set(s->ctx->stats.local_stations, (double)cache_store_stations(s->ctx->store));
    }
}

static void on_message(cache_sync *s, const redisReply *r)
{
    s->last_rx_ms = gg_time_mono_ms();
    s->ping_sent_ms = 0; /* any traffic proves the connection, including the PONG */
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0)
        return;
    const redisReply *chan = r->element[1], *payload = r->element[2];
    if (chan->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(chan->str, s->ctx->channel) == 0 && payload->type == REDIS_REPLY_STRING) {
        on_documents(s, payload->str, payload->len);
    } else if (strcmp(chan->str, INVALIDATE_CHANNEL) == 0) {
        if (payload->type == REDIS_REPLY_NIL) {
            gg_info(&s->ctx->svc.log, "redis was flushed, reloading local copy", NULL);
            s->want_reload = true;
        } else {
            s->want_count = true;
        }
    }
}

/* Handles every reply already read; -1 when the connection failed. */
static int drain(cache_sync *s)
{
    for (;;) {
        redisReply *r = NULL;
        if (redisGetReplyFromReader(s->sub, (void **)&r) != REDIS_OK) {
            snprintf(s->err, sizeof(s->err), "subscription: %s", s->sub->errstr);
            return -1;
        }
        if (!r)
            return 0;
        on_message(s, r);
        freeReplyObject(r);
    }
}

static int send_ping(cache_sync *s)
{
    int done = 0;
    redisAppendCommand(s->sub, "PING");
    while (!done) {
        if (redisBufferWrite(s->sub, &done) != REDIS_OK) {
            snprintf(s->err, sizeof(s->err), "subscription: %s", s->sub->errstr);
            return -1;
        }
    }
    s->ping_sent_ms = gg_time_mono_ms();
    return 0;
}

static int keepalive(cache_sync *s)
{
    int64_t now = gg_time_mono_ms();
    if (s->ping_sent_ms && now - s->ping_sent_ms > 2 * s->ctx->cfg.redis_timeout_ms) {
        snprintf(s->err, sizeof(s->err), "subscription: no answer to PING");
        return -1;
    }
    if (!s->ping_sent_ms && now - s->last_rx_ms >= SYNC_IDLE_PING_MS)
        return send_ping(s);
    return 0;
}

static int follow(cache_sync *s)
{
    while (!atomic_load(&s->stop)) {
        if (drain(s) != 0)
            return -1;
        if (s->want_reload ? reload(s) != 0 : s->want_count && check_count(s) != 0)
            return -1;
        if (keepalive(s) != 0)
            return -1;
        struct pollfd pfd = {.fd = s->sub->fd, .events = POLLIN};
        int n = poll(&pfd, 1, SYNC_POLL_MS);
        if (n < 0 && errno != EINTR) {
            snprintf(s->err, sizeof(s->err), "poll: %s", strerror(errno));
            return -1;
        }
        if (n > 0 && redisBufferRead(s->sub) != REDIS_OK) {
            snprintf(s->err, sizeof(s->err), "subscription: %s", s->sub->errstr);
            return -1;
        }
    }
    return 0;
}

static bool connection_failed(const cache_sync *s)
{
    return !s->sub || !s->query || s->sub->err || s->query->err;
}

static void *sync_main(void *arg)
{
    cache_sync *s = arg;
    bool warned = false;
    while (!atomic_load(&s->stop)) {
        if (connect_and_load(s) == 0) {
            gg_backoff_reset(&s->backoff);
            gg_health_report(s->ctx->dep_redis, true, NULL);
            warned = false;
            if (follow(s) == 0)
                break; /* stopping */
        }
        bool dropped = connection_failed(s);
        disconnect(s); /* first: from here on lookups read Redis */
        /* Loud once per outage; the retries meanwhile only at debug level. */
        if (!warned)
            gg_warn(&s->ctx->svc.log, "local copy is not following redis; reads go to redis",
                    "{s:s}", "error", s->err);
        else
            gg_debug(&s->ctx->svc.log, "local copy still not following redis", "{s:s}", "error",
                     s->err);
        warned = true;
        /* A dropped connection is Redis down; a refused command (an ACL without SUBSCRIBE)
         * is not: lookups then keep going to Redis, which still answers them. */
        if (dropped)
            gg_health_report(s->ctx->dep_redis, false, s->err);
        cache_sleep(gg_backoff_next(&s->backoff), &s->stop);
    }
    disconnect(s);
    return NULL;
}

cache_sync *cache_sync_start(cache_ctx *ctx, char *err, size_t errlen)
{
    cache_sync *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->ctx = ctx;
    atomic_init(&s->stop, false);
    gg_backoff_init(&s->backoff, 100, 1000);
    int rc = pthread_create(&s->thread, NULL, sync_main, s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the sync thread: %s", strerror(rc));
        free(s);
        return NULL;
    }
    return s;
}

void cache_sync_stop(cache_sync *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    free(s);
}
