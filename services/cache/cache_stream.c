/* cache_stream: GET /v1/stream (see cache_stream.h). */
#include "cache_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_doc.h"
#include "cache_hub.h"
#include "cache_ids.h"
#include "cache_keys.h"
#include "cache_pool.h"
#include "cache_reads.h"
#include "cache_store.h"
#include "gg_buf.h"

#define STREAM_TYPE  "text/event-stream"
#define STREAM_RETRY "retry: 2000\n\n"

/* ---- parameters ----------------------------------------------------------------------------- */

typedef struct stream_params {
    cache_id *ids; /* malloc'd; NULL (n 0): every station */
    int n;
    gg_aspect aspect;
    int64_t since; /* Last-Event-ID, -1 when absent */
} stream_params;

/* Parses the query and Last-Event-ID; false after answering 400. */
static bool parse_params(gg_http_req *req, stream_params *p)
{
    *p = (stream_params){NULL, 0, GG_ASPECT_REAL_TIME, -1};
    const char *list = gg_http_query(req, "stations");
    char why[160];
    if (list) {
        if (!(p->ids = malloc(CACHE_IDS_MAX * sizeof(*p->ids)))) {
            gg_http_reply_problem(req, 500, "internal", "out of memory");
            return false;
        }
        if ((p->n = cache_ids_parse(list, p->ids, CACHE_IDS_MAX, why, sizeof(why))) < 0) {
            free(p->ids);
            gg_http_reply_problemf(req, 400, "invalid-parameter",
                                   "query parameter 'stations' must be a comma-separated list of "
                                   "station ids: %s",
                                   why);
            return false;
        }
    }
    const char *a = gg_http_query(req, "aspect");
    if (a && gg_aspect_parse(a, &p->aspect) != 0) {
        free(p->ids);
        gg_http_reply_problem(req, 400, "invalid-parameter",
                              "query parameter 'aspect' must be real_time or edge_prediction");
        return false;
    }
    const char *last = gg_http_header(req, "Last-Event-ID");
    if (last && *last) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(last, &end, 10);
        if (errno || *end || v < 0 || last[0] < '0' || last[0] > '9') {
            free(p->ids);
            gg_http_reply_problem(req, 400, "invalid-parameter",
                                  "header 'Last-Event-ID' must be the id of an event of this "
                                  "stream (created_at_us of a reading)");
            return false;
        }
        p->since = (int64_t)v;
    }
    return true;
}

/* ---- replay from the recent lists ----------------------------------------------------------- */

typedef struct replayed {
    int64_t us;
    size_t seq; /* order of reading: keeps the sort stable */
    const char *doc;
    size_t len;
} replayed;

static int replayed_cmp(const void *a, const void *b)
{
    const replayed *x = a, *y = b;
    if (x->us != y->us)
        return x->us < y->us ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

typedef struct replay {
    redisReply *index; /* SMEMBERS reply when every station is followed */
    redisReply **reps; /* one ZRANGEBYSCORE reply per station */
    size_t nreps;
    replayed *items;
    size_t nitems;
    cache_hub_floor *floors;
    char (*names)[GG_RECORD_STATION_MAX + 1];
    size_t nfloors;
} replay;

static void replay_free(replay *r)
{
    for (size_t i = 0; r->reps && i < r->nreps; i++)
        freeReplyObject(r->reps[i]);
    free(r->reps);
    freeReplyObject(r->index);
    free(r->items);
    free(r->floors);
    free(r->names);
}

/* Every station of the index, as ids pointing into r->index. */
static int all_stations(redisContext *c, cache_ctx *ctx, replay *r, cache_id **ids, size_t *n,
                        char *err, size_t errlen)
{
    r->index = redisCommand(c, "SMEMBERS %s", ctx->index_key);
    if (!r->index || r->index->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "SMEMBERS: %s", !r->index ? c->errstr : "unexpected reply");
        return -1;
    }
    *ids = malloc((r->index->elements ? r->index->elements : 1) * sizeof(**ids));
    if (!*ids) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *n = 0;
    for (size_t i = 0; i < r->index->elements; i++) {
        const redisReply *e = r->index->element[i];
        if (e->type == REDIS_REPLY_STRING && gg_record_station_id_valid(e->str, e->len))
            (*ids)[(*n)++] = (cache_id){e->str, e->len};
    }
    return 0;
}

/* Collects, per station, the readings of the aspect above since, each newer than the one before
 * it (what the update channel would have carried), and the station's floor. */
static int collect(replay *r, const cache_id *ids, gg_aspect aspect)
{
    size_t total = 0;
    for (size_t i = 0; i < r->nreps; i++)
        total += r->reps[i]->elements;
    r->items = malloc((total ? total : 1) * sizeof(*r->items));
    r->floors = calloc(r->nreps ? r->nreps : 1, sizeof(*r->floors));
    r->names = calloc(r->nreps ? r->nreps : 1, sizeof(*r->names));
    if (!r->items || !r->floors || !r->names)
        return -1;
    for (size_t i = 0; i < r->nreps; i++) {
        cache_doc_info last, info;
        const char *ldoc = NULL;
        size_t llen = 0;
        for (size_t j = 0; j < r->reps[i]->elements; j++) {
            const redisReply *e = r->reps[i]->element[j];
            if (e->type != REDIS_REPLY_STRING || cache_doc_parse(e->str, e->len, &info) != 0 ||
                info.aspect != aspect ||
                (ldoc && cache_doc_order(&info, e->str, e->len, &last, ldoc, llen) <= 0))
                continue;
            r->items[r->nitems] = (replayed){info.created_at_us, r->nitems, e->str, e->len};
            r->nitems++;
            last = info;
            ldoc = e->str;
            llen = e->len;
        }
        if (ldoc) {
            size_t f = r->nfloors++;
            memcpy(r->names[f], ids[i].s, ids[i].len);
            r->floors[f] = (cache_hub_floor){r->names[f], aspect, last.created_at_us};
        }
    }
    return 0;
}

/* Reads the replay into out (after the retry line) and its floors into r. */
static cache_read read_replay(cache_ctx *ctx, const stream_params *p, size_t max, replay *r,
                              gg_buf *out, char *err, size_t errlen)
{
    cache_pool_slot *slot;
    redisContext *c = cache_pool_get(ctx->pool, &slot, err, errlen);
    if (!c)
        return CACHE_READ_UNAVAILABLE;
    cache_id *ids = p->ids, *all = NULL;
    size_t n = (size_t)p->n;
    cache_read rc = CACHE_READ_OK;
    if (!ids && all_stations(c, ctx, r, &all, &n, err, errlen) != 0)
        rc = c->err ? CACHE_READ_UNAVAILABLE : CACHE_READ_BAD_REPLY;
    if (!ids)
        ids = all;
    if (rc == CACHE_READ_OK && !(r->reps = calloc(n ? n : 1, sizeof(*r->reps))))
        rc = CACHE_READ_BAD_REPLY;
    char key[CACHE_KEY_MAX], id[GG_RECORD_STATION_MAX + 1];
    for (size_t i = 0; rc == CACHE_READ_OK && i < n; i++) {
        memcpy(id, ids[i].s, ids[i].len);
        id[ids[i].len] = '\0';
        size_t klen = cache_key_recent(key, ctx->cfg.redis_prefix, id);
        redisAppendCommand(c, "ZRANGEBYSCORE %b (%lld +inf", key, klen, (long long)p->since);
    }
    for (size_t i = 0; rc == CACHE_READ_OK && i < n; i++, r->nreps++) {
        if (redisGetReply(c, (void **)&r->reps[i]) != REDIS_OK) {
            snprintf(err, errlen, "redis: %s", c->errstr);
            rc = CACHE_READ_UNAVAILABLE;
        } else if (r->reps[i]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "redis: %s",
                     r->reps[i]->type == REDIS_REPLY_ERROR ? r->reps[i]->str : "unexpected reply");
            rc = CACHE_READ_BAD_REPLY;
        }
    }
    cache_pool_put(slot, rc == CACHE_READ_UNAVAILABLE);
    if (rc == CACHE_READ_OK && collect(r, ids, p->aspect) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = CACHE_READ_BAD_REPLY;
    }
    if (rc == CACHE_READ_OK) {
        qsort(r->items, r->nitems, sizeof(*r->items), replayed_cmp);
        size_t from = r->nitems > max ? r->nitems - max : 0;
        char ev[CACHE_DOC_MAX + 64];
        for (size_t i = from; i < r->nitems; i++) {
            size_t len = cache_hub_format(r->items[i].doc, r->items[i].len, ev, sizeof(ev));
            gg_buf_append(out, ev, len);
        }
    }
    free(all);
    return rc;
}

/* ---- the stream ----------------------------------------------------------------------------- */

static size_t stream_read(void *ud, char *buf, size_t max)
{
    return cache_hub_read(ud, buf, max);
}

static void stream_close(void *ud)
{
    cache_hub_close(ud);
}

static void sink_wake(void *sink)
{
    gg_http_stream_wake(sink);
}

static void sink_end(void *sink, bool abort)
{
    gg_http_stream_end(sink, abort);
}

static void reply_full(gg_http_req *req, cache_ctx *ctx)
{
    gg_http_add_header(req, "Retry-After", "5");
    gg_http_reply_problemf(req, 503, "too-many-streams",
                           "%ld streams are open on this replica, the most it serves",
                           ctx->cfg.stream_max);
}

/* Opens the stream: the hub queues from here on, the replay (if any) is read after, so no
 * update falls between the two. */
static void start_stream(gg_http_req *req, cache_ctx *ctx, stream_params *p)
{
    bool full;
    cache_hub_client *cl = cache_hub_open(ctx->hub, p->ids, (size_t)p->n, p->aspect, &full);
    if (!cl) {
        if (full)
            reply_full(req, ctx);
        else
            gg_http_reply_problem(req, 500, "internal", "out of memory");
        return;
    }
    gg_buf pre;
    gg_buf_init(&pre);
    gg_buf_puts(&pre, STREAM_RETRY);
    replay r = {0};
    if (p->since >= 0) {
        char err[256];
        cache_read rc =
            read_replay(ctx, p, (size_t)ctx->cfg.stream_queue, &r, &pre, err, sizeof(err));
        if (rc != CACHE_READ_OK) {
            replay_free(&r);
            gg_buf_free(&pre);
            cache_hub_close(cl);
            if (rc == CACHE_READ_UNAVAILABLE) {
                gg_health_report(ctx->dep_redis, false, err);
                gg_http_add_header(req, "Retry-After", "1");
                gg_http_reply_problemf(req, 503, "redis-unavailable",
                                       "cannot read the readings to resume from: %s", err);
            } else {
                gg_http_reply_problemf(req, 502, "redis-error",
                                       "cannot read the readings to resume from: %s", err);
            }
            return;
        }
    }
    size_t len;
    char *text = gg_buf_take(&pre, &len);
    gg_http_stream *st = text ? gg_http_stream_new(req, stream_read, stream_close, cl) : NULL;
    if (!st) {
        free(text);
        replay_free(&r);
        cache_hub_close(cl);
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        return;
    }
    cache_hub_preface(cl, text, len, r.floors, r.nfloors);
    replay_free(&r);
    cache_hub_attach(cl, &(cache_hub_sink){sink_wake, sink_end, st});
    /* nginx reads this header and passes the stream on unbuffered, whatever its settings. */
    gg_http_add_header(req, "X-Accel-Buffering", "no");
    gg_http_reply_stream(req, 200, STREAM_TYPE, st);
}

/* On the backend pool: a resume reads Redis first. */
static void stream_offloaded(gg_http_req *req, void *ud)
{
    stream_params p;
    if (!parse_params(req, &p))
        return;
    start_stream(req, ud, &p);
    free(p.ids);
}

static void handle_stream(gg_http_req *req, void *ud)
{
    cache_ctx *ctx = ud;
    stream_params p;
    if (!parse_params(req, &p))
        return;
    if (!cache_store_coherent(ctx->store)) {
        free(p.ids);
        gg_http_add_header(req, "Retry-After", "1");
        gg_http_reply_problem(req, 503, "redis-unavailable",
                              "this replica does not follow the cache store's updates now");
        return;
    }
    if (p.since >= 0) {
        free(p.ids);
        gg_http_offload(req, stream_offloaded, ctx);
        return;
    }
    start_stream(req, ctx, &p);
    free(p.ids);
}

int cache_stream_mount(cache_ctx *ctx)
{
    return gg_http_route_query(ctx->svc.http, "GET", "/v1/stream", "stations aspect", 0,
                               handle_stream, ctx);
}
