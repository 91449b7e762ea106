/* cache_reads: answers read from Redis (see cache_reads.h). */
#include "cache_reads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_body.h"
#include "cache_keys.h"
#include "cache_pool.h"

#define LIST_SCAN_COUNT  1000
#define LIST_SCAN_ROUNDS 1000000

/* A pooled connection for one answer. */
typedef struct reader {
    cache_ctx *ctx;
    cache_pool_slot *slot;
    redisContext *c;
    char *err;
    size_t errlen;
} reader;

static cache_read reader_open(reader *r, cache_ctx *ctx, char *err, size_t errlen)
{
    r->ctx = ctx;
    r->err = err;
    r->errlen = errlen;
    r->c = cache_pool_get(ctx->pool, &r->slot, err, errlen);
    if (!r->c) {
        gg_counter_add(ctx->stats.redis_read_failures, 1);
        gg_health_report(ctx->dep_redis, false, err);
        return CACHE_READ_UNAVAILABLE;
    }
    return CACHE_READ_OK;
}

/* Reads the next pipelined reply; NULL after an I/O error (reported, connection dropped). */
static redisReply *reader_reply(reader *r)
{
    redisReply *rep = NULL;
    if (redisGetReply(r->c, (void **)&rep) != REDIS_OK) {
        snprintf(r->err, r->errlen, "redis: %s", r->c->errstr);
        gg_counter_add(r->ctx->stats.redis_read_failures, 1);
        gg_health_report(r->ctx->dep_redis, false, r->err);
        return NULL;
    }
    return rep;
}

static void reader_close(reader *r, cache_read rc)
{
    cache_pool_put(r->slot, rc == CACHE_READ_UNAVAILABLE);
    if (rc == CACHE_READ_OK || rc == CACHE_READ_NOT_FOUND)
        gg_counter_add(r->ctx->stats.lookups_redis, 1);
}

static cache_read bad_reply(reader *r, const redisReply *rep)
{
    snprintf(r->err, r->errlen, "redis: %s",
             rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply type");
    gg_counter_add(r->ctx->stats.redis_read_failures, 1);
    return CACHE_READ_BAD_REPLY;
}

cache_read cache_read_latest(cache_ctx *ctx, const char *id, gg_aspect aspect, gg_buf *out,
                             char *err, size_t errlen)
{
    reader r;
    cache_read rc = reader_open(&r, ctx, err, errlen);
    if (rc != CACHE_READ_OK)
        return rc;
    char key[CACHE_KEY_MAX];
    cache_key_latest(key, ctx->cfg.redis_prefix, id, aspect);
    redisAppendCommand(r.c, "GET %s", key);
    redisReply *rep = reader_reply(&r);
    if (!rep)
        rc = CACHE_READ_UNAVAILABLE;
    else if (rep->type == REDIS_REPLY_NIL)
        rc = CACHE_READ_NOT_FOUND;
    else if (rep->type != REDIS_REPLY_STRING)
        rc = bad_reply(&r, rep);
    else
        gg_buf_append(out, rep->str, rep->len);
    freeReplyObject(rep);
    reader_close(&r, rc);
    return rc;
}

/* GETs the latest key of each id in one pipelined round; docs[i] is the reply or NULL. */
static cache_read get_latest_many(reader *r, const cache_id *ids, size_t n, gg_aspect aspect,
                                  redisReply **reps)
{
    char key[CACHE_KEY_MAX], id[GG_RECORD_STATION_MAX + 1];
    for (size_t i = 0; i < n; i++) {
        memcpy(id, ids[i].s, ids[i].len);
        id[ids[i].len] = '\0';
        size_t klen = cache_key_latest(key, r->ctx->cfg.redis_prefix, id, aspect);
        const char *argv[] = {"GET", key};
        size_t lens[] = {3, klen};
        redisAppendCommandArgv(r->c, 2, argv, lens);
    }
    cache_read rc = CACHE_READ_OK;
    for (size_t i = 0; i < n; i++) {
        reps[i] = rc == CACHE_READ_UNAVAILABLE ? NULL : reader_reply(r);
        if (!reps[i])
            rc = CACHE_READ_UNAVAILABLE;
        else if (rc == CACHE_READ_OK && reps[i]->type != REDIS_REPLY_STRING &&
                 reps[i]->type != REDIS_REPLY_NIL)
            rc = bad_reply(r, reps[i]);
    }
    return rc;
}

static void free_replies(redisReply **reps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        freeReplyObject(reps[i]);
    free(reps);
}

static const char *doc_of(const redisReply *rep, size_t *len)
{
    *len = rep->type == REDIS_REPLY_STRING ? rep->len : 0;
    return rep->type == REDIS_REPLY_STRING ? rep->str : NULL;
}

cache_read cache_read_many(cache_ctx *ctx, const cache_id *ids, size_t n, gg_aspect aspect,
                           gg_buf *out, char *err, size_t errlen)
{
    reader r;
    cache_read rc = reader_open(&r, ctx, err, errlen);
    if (rc != CACHE_READ_OK)
        return rc;
    redisReply **reps = calloc(n ? n : 1, sizeof(*reps));
    rc = reps ? get_latest_many(&r, ids, n, aspect, reps) : CACHE_READ_BAD_REPLY;
    if (rc == CACHE_READ_OK) {
        cache_body_many_open(out, aspect);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *doc = doc_of(reps[i], &len);
            cache_body_many_item(out, i, ids[i].s, ids[i].len, doc, len);
        }
        cache_body_many_close(out);
    }
    if (reps)
        free_replies(reps, n);
    reader_close(&r, rc);
    return rc;
}

static int id_cmp(const void *a, const void *b)
{
    const cache_id *x = a, *y = b;
    return cache_id_cmp(x->s, x->len, y->s, y->len);
}

/* Every id of the index, by SSCAN (which does not block the server on a large set). The ids
 * point into the replies kept in *scans. */
static cache_read scan_index(reader *r, cache_id **ids, size_t *n, redisReply ***scans,
                             size_t *nscans)
{
    char cursor[32] = "0";
    size_t cap = 0;
    cache_read rc = CACHE_READ_OK;
    for (long round = 0; round < LIST_SCAN_ROUNDS && rc == CACHE_READ_OK; round++) {
        redisAppendCommand(r->c, "SSCAN %s %s COUNT %d", r->ctx->index_key, cursor,
                           LIST_SCAN_COUNT);
        redisReply *rep = reader_reply(r);
        if (!rep)
            return CACHE_READ_UNAVAILABLE;
        redisReply **grown = realloc(*scans, (*nscans + 1) * sizeof(*grown));
        if (!grown) {
            freeReplyObject(rep);
            return CACHE_READ_BAD_REPLY;
        }
        *scans = grown;
        (*scans)[(*nscans)++] = rep;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
            rep->element[0]->type != REDIS_REPLY_STRING ||
            rep->element[1]->type != REDIS_REPLY_ARRAY)
            return bad_reply(r, rep);
        const redisReply *members = rep->element[1];
        for (size_t i = 0; i < members->elements; i++) {
            const redisReply *m = members->element[i];
            if (m->type != REDIS_REPLY_STRING || !gg_record_station_id_valid(m->str, m->len))
                continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 256;
                cache_id *g = realloc(*ids, cap * sizeof(*g));
                if (!g)
                    return CACHE_READ_BAD_REPLY;
                *ids = g;
            }
            (*ids)[(*n)++] = (cache_id){m->str, m->len};
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    return rc;
}

static const char *listed_id(const void *ids, size_t i, size_t *len)
{
    const cache_id *id = &((const cache_id *)ids)[i];
    *len = id->len;
    return id->s;
}

cache_read cache_read_list(cache_ctx *ctx, const cache_page *page, gg_buf *out, char *err,
                           size_t errlen)
{
    reader r;
    cache_read rc = reader_open(&r, ctx, err, errlen);
    if (rc != CACHE_READ_OK)
        return rc;
    cache_id *ids = NULL;
    redisReply **scans = NULL, **reps = NULL;
    size_t n = 0, nscans = 0, start = 0, end = 0;
    bool more = false;
    rc = scan_index(&r, &ids, &n, &scans, &nscans);
    if (rc == CACHE_READ_OK) {
        qsort(ids, n, sizeof(*ids), id_cmp);
        /* SSCAN may return an id twice (when the set is rehashed mid-scan): keep one. */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (k == 0 || id_cmp(&ids[k - 1], &ids[i]) != 0)
                ids[k++] = ids[i];
        }
        n = k;
        /* Only the page's stations are fetched. */
        more = cache_page_slice(page, n, listed_id, ids, &start, &end);
        reps = calloc(end > start ? end - start : 1, sizeof(*reps));
        rc = reps ? get_latest_many(&r, ids + start, end - start, GG_ASPECT_REAL_TIME, reps)
                  : CACHE_READ_BAD_REPLY;
    }
    if (rc == CACHE_READ_OK) {
        cache_body_list_open(out, end - start);
        for (size_t i = start; i < end; i++) {
            size_t len;
            const char *doc = doc_of(reps[i - start], &len);
            cache_body_list_item(out, i - start, ids[i].s, ids[i].len, doc, len);
        }
        cache_body_list_close(out, more ? ids[end - 1].s : NULL, more ? ids[end - 1].len : 0);
    }
    if (reps)
        free_replies(reps, end - start);
    for (size_t i = 0; i < nscans; i++)
        freeReplyObject(scans[i]);
    free(scans);
    free(ids);
    reader_close(&r, rc);
    return rc;
}

cache_read cache_read_recent(cache_ctx *ctx, const char *id, long limit, gg_buf *out, char *err,
                             size_t errlen)
{
    reader r;
    cache_read rc = reader_open(&r, ctx, err, errlen);
    if (rc != CACHE_READ_OK)
        return rc;
    char key[CACHE_KEY_MAX];
    cache_key_recent(key, ctx->cfg.redis_prefix, id);
    /* The last limit members by score: the newest, in ascending event time. */
    redisAppendCommand(r.c, "ZRANGE %s %ld -1", key, -limit);
    redisReply *rep = reader_reply(&r);
    if (!rep)
        rc = CACHE_READ_UNAVAILABLE;
    else if (rep->type != REDIS_REPLY_ARRAY)
        rc = bad_reply(&r, rep);
    else if (rep->elements == 0)
        rc = CACHE_READ_NOT_FOUND;
    else {
        cache_body_recent_open(out, id, rep->elements);
        for (size_t i = 0; i < rep->elements; i++) {
            const redisReply *m = rep->element[i];
            if (m->type == REDIS_REPLY_STRING)
                cache_body_recent_item(out, i, m->str, m->len);
        }
        cache_body_recent_close(out);
    }
    freeReplyObject(rep);
    reader_close(&r, rc);
    return rc;
}
