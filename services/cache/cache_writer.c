/* cache_writer: pipelined batches of the update step (see cache_writer.h). */
#include "cache_writer.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_admit.h"
#include "cache_keys.h"
#include "cache_redis.h"
#include "cache_script.h"

struct cache_writer {
    const cache_ctx *ctx;
    redisContext *c;
    char sha[CACHE_SHA_LEN];
    char size[24]; /* GRIDGATE_RECENT_SIZE as text, an argument of every call */
    cache_admit *admit;
};

cache_writer *cache_writer_new(const cache_ctx *ctx)
{
    cache_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->ctx = ctx;
    snprintf(w->size, sizeof(w->size), "%ld", ctx->cfg.recent_size);
    if (!(w->admit = cache_admit_new(ctx->cfg.max_stations))) {
        free(w);
        return NULL;
    }
    return w;
}

void cache_writer_free(cache_writer *w)
{
    if (!w)
        return;
    redisFree(w->c);
    cache_admit_free(w->admit);
    free(w);
}

static void drop(cache_writer *w)
{
    redisFree(w->c);
    w->c = NULL;
}

static int writer_connect(cache_writer *w, char *err, size_t errlen)
{
    w->c = cache_redis_open(w->ctx, err, errlen);
    if (!w->c)
        return -1;
    if (cache_script_load(w->c, w->sha, err, errlen) != 0) {
        drop(w);
        return -1;
    }
    return 0;
}

static void append_item(cache_writer *w, const cache_item *it)
{
    const char *prefix = w->ctx->cfg.redis_prefix;
    const gg_record *r = &it->rec;
    char klatest[CACHE_KEY_MAX], krecent[CACHE_KEY_MAX], kids[CACHE_KEY_MAX], us[24];
    size_t l1 = cache_key_latest(klatest, prefix, r->station_id, r->aspect);
    size_t l2 = cache_key_recent(krecent, prefix, r->station_id);
    size_t l3 = cache_key_recent_ids(kids, prefix, r->station_id);
    size_t lus = (size_t)snprintf(us, sizeof(us), "%" PRId64, r->created_at_us);
    const char *cid = r->has_correlation_id ? r->correlation_id : "";
    const char *argv[] = {"EVALSHA", w->sha, "3",     klatest, krecent,        kids,
                          us,        cid,    it->doc, w->size, w->ctx->channel};
    size_t lens[] = {7,
                     CACHE_SHA_LEN - 1,
                     1,
                     l1,
                     l2,
                     l3,
                     lus,
                     strlen(cid),
                     it->doclen,
                     strlen(w->size),
                     strlen(w->ctx->channel)};
    redisAppendCommandArgv(w->c, 11, argv, lens);
    const char *sadd[] = {"SADD", w->ctx->index_key, r->station_id};
    size_t slens[] = {4, strlen(w->ctx->index_key), strlen(r->station_id)};
    redisAppendCommandArgv(w->c, 3, sadd, slens);
}

/* Checks one EVALSHA reply; counts its outcome. */
static void script_outcome(const redisReply *r, cache_apply_result *res)
{
    long long changed = r->element[0]->integer, added = r->element[1]->integer;
    res->latest_updates += changed ? 1 : 0;
    res->ignored += (!changed && !added) ? 1 : 0;
}

static bool script_reply_ok(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
           r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER;
}

/* One round: 0 all acknowledged, 1 the server lacks the script, -1 error (I/O errors drop the
 * connection; error replies leave it usable, every reply having been read). */
static int round_trip(cache_writer *w, const cache_item *items, size_t n, const bool *refused,
                      cache_apply_result *res, char *err, size_t errlen)
{
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].doclen && !refused[i]) {
            append_item(w, &items[i]);
            sent++;
        }
    }
    cache_apply_result got = {0};
    bool noscript = false, failed = false;
    for (size_t i = 0; i < sent * 2; i++) {
        redisReply *r = NULL;
        if (redisGetReply(w->c, (void **)&r) != REDIS_OK) {
            snprintf(err, errlen, "%s", w->c->errstr);
            drop(w);
            return -1;
        }
        bool is_script = i % 2 == 0;
        if (is_script && cache_script_is_noscript(r)) {
            noscript = true;
        } else if (r->type == REDIS_REPLY_ERROR) {
            if (!failed)
                snprintf(err, errlen, "%s", r->str);
            failed = true;
        } else if (is_script && !script_reply_ok(r)) {
            if (!failed)
                snprintf(err, errlen, "unexpected reply to the update step");
            failed = true;
        } else if (is_script) {
            script_outcome(r, &got);
            got.applied++;
        }
        freeReplyObject(r);
    }
    if (failed)
        return -1;
    if (noscript)
        return 1;
    got.refused = res->refused;
    *res = got;
    return 0;
}

/* Which of the batch's readings the station cap refuses (cache_admit.h); -1 when Redis failed. */
static long admit(cache_writer *w, const cache_item *items, size_t n, bool *refused, char *err,
                  size_t errlen)
{
    const char **ids = calloc(n, sizeof(*ids));
    bool *sub = calloc(n, sizeof(*sub));
    long rc = -1;
    if (!ids || !sub) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].doclen)
            ids[m++] = items[i].rec.station_id;
    rc = cache_admit_check(w->admit, w->c, w->ctx->index_key, ids, m, sub, err, errlen);
    if (rc < 0) {
        drop(w); /* replies may be left unread */
        goto done;
    }
    for (size_t i = 0, k = 0; i < n; i++)
        refused[i] = items[i].doclen ? sub[k++] : false;
done:
    free(ids);
    free(sub);
    return rc;
}

static int apply_admitted(cache_writer *w, const cache_item *items, size_t n, const bool *refused,
                          cache_apply_result *res, char *err, size_t errlen);

int cache_writer_apply(cache_writer *w, const cache_item *items, size_t n, cache_apply_result *res,
                       char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    size_t valid = 0;
    for (size_t i = 0; i < n; i++)
        valid += items[i].doclen ? 1 : 0;
    if (valid == 0)
        return 0;
    if (!w->c && writer_connect(w, err, errlen) != 0)
        return -1;
    bool *refused = calloc(n, sizeof(*refused));
    long nrefused = refused ? admit(w, items, n, refused, err, errlen) : -1;
    if (nrefused < 0) {
        if (!refused)
            snprintf(err, errlen, "out of memory");
        free(refused);
        return -1;
    }
    res->refused = (size_t)nrefused;
    int rc = apply_admitted(w, items, n, refused, res, err, errlen);
    free(refused);
    return rc;
}

static int apply_admitted(cache_writer *w, const cache_item *items, size_t n, const bool *refused,
                          cache_apply_result *res, char *err, size_t errlen)
{
    /* A restarted server forgets the script: load it again and resend the (idempotent) batch.
     * Twice in a row would mean something flushes scripts continually. */
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = round_trip(w, items, n, refused, res, err, errlen);
        if (rc <= 0)
            return rc;
        if (cache_script_load(w->c, w->sha, err, errlen) != 0) {
            drop(w);
            return -1;
        }
    }
    snprintf(err, errlen, "the update script disappears from redis again and again");
    return -1;
}
