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

/* EVALSHA, the digest, the key count, four keys, the recent size and the channel. */
#define GROUP_FIXED 9

/* Working arrays of one batch, kept from batch to batch: a poll batch is at most a few hundred
 * readings, and allocating them anew for every batch and station group only churned the heap.
 * They grow to the largest batch seen and are freed with the writer. */
typedef struct writer_scratch {
    size_t cap;        /* readings each array has room for */
    bool *refused;     /* [cap] the station cap refuses reading i */
    const char **ids;  /* [cap] station ids of the valid readings, for the admission */
    bool *sub;         /* [cap] the admission's verdict on ids */
    size_t *idx;       /* [cap + 1] the order of the readings sent */
    size_t *tmp;       /* [cap + 1] merge space of that order */
    size_t *starts;    /* [cap + 2] where each station group starts in idx */
    const char **argv; /* [GROUP_FIXED + 4 * cap] one group's script call */
    size_t *lens;      /* [GROUP_FIXED + 4 * cap] */
    char (*us)[24];    /* [cap] created_at of a group's readings, as text */
} writer_scratch;

/* The batch's readings to send (valid, admitted), grouped by station in their batch order: one
 * script call per group. */
typedef struct batch_order {
    size_t *idx;    /* item indexes, sorted by (station, position) */
    size_t n;       /* how many */
    size_t *starts; /* group g is idx[starts[g]..starts[g + 1]) */
    size_t groups;
} batch_order;

struct cache_writer {
    const cache_ctx *ctx;
    redisContext *c;
    char sha[CACHE_SHA_LEN];
    char size[24]; /* GRIDGATE_RECENT_SIZE as text, an argument of every call */
    cache_admit *admit;
    writer_scratch s;
    /* Between cache_writer_send and cache_writer_receive: the batch whose commands are on the
     * connection, and what the admission refused of it. */
    bool sent;
    batch_order o;
    size_t refused;
};

static void scratch_free(writer_scratch *s)
{
    free(s->refused);
    free(s->ids);
    free(s->sub);
    free(s->idx);
    free(s->tmp);
    free(s->starts);
    free(s->argv);
    free(s->lens);
    free(s->us);
    memset(s, 0, sizeof(*s));
}

/* Grows every array to room for n readings; 0, or -1 out of memory (the arrays it did grow
 * stay, larger, and cap keeps its old value, so a later call grows them again). */
static int scratch_reserve(writer_scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n)
        cap *= 2;
    void *p;
#define GROW(field, count)                                                                         \
    do {                                                                                           \
        if (!(p = realloc(s->field, (count) * sizeof(*s->field))))                                 \
            return -1;                                                                             \
        s->field = p;                                                                              \
    } while (0)
    GROW(refused, cap);
    GROW(ids, cap);
    GROW(sub, cap);
    GROW(idx, cap + 1);
    GROW(tmp, cap + 1);
    GROW(starts, cap + 2);
    GROW(argv, GROUP_FIXED + 4 * cap);
    GROW(lens, GROUP_FIXED + 4 * cap);
    GROW(us, cap);
#undef GROW
    s->cap = cap;
    return 0;
}

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
    scratch_free(&w->s);
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

/* Sorts idx[0..n) by (station, position) with an insertion-merge: qsort takes no context, and
 * batches are at most a poll's worth of items. */
static int by_station(const cache_item *items, size_t x, size_t y)
{
    int c = strcmp(items[x].rec.station_id, items[y].rec.station_id);
    return c ? c : (x < y ? -1 : x > y);
}

static void merge_sort(const cache_item *items, size_t *idx, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(items, idx, tmp, h);
    merge_sort(items, idx + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = by_station(items, idx[i], idx[j]) <= 0 ? idx[i++] : idx[j++];
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof(*idx));
}

/* In the writer's scratch arrays, which hold n readings (scratch_reserve). */
static void order_batch(writer_scratch *s, const cache_item *items, size_t n, batch_order *o)
{
    memset(o, 0, sizeof(*o));
    o->idx = s->idx;
    o->starts = s->starts;
    for (size_t i = 0; i < n; i++)
        if (items[i].doclen && !s->refused[i])
            o->idx[o->n++] = i;
    merge_sort(items, o->idx, s->tmp, o->n);
    for (size_t k = 0; k < o->n; k++)
        if (k == 0 ||
            strcmp(items[o->idx[k]].rec.station_id, items[o->idx[k - 1]].rec.station_id) != 0)
            o->starts[o->groups++] = k;
    o->starts[o->groups] = o->n;
}

/* Appends the script call of group g and the SADD of its station to the index, its arguments
 * in the writer's scratch arrays (a group has at most the batch's readings). */
static void append_group(cache_writer *w, const cache_item *items, const batch_order *o, size_t g)
{
    const char *prefix = w->ctx->cfg.redis_prefix;
    size_t from = o->starts[g], count = o->starts[g + 1] - from;
    const char *station = items[o->idx[from]].rec.station_id;
    size_t a = 0;
    const char **argv = w->s.argv;
    size_t *lens = w->s.lens;
    char(*us)[24] = w->s.us;
    char keys[4][CACHE_KEY_MAX];
#define ARG(p, l) (argv[a] = (p), lens[a++] = (l))
    ARG("EVALSHA", 7);
    ARG(w->sha, CACHE_SHA_LEN - 1);
    ARG("4", 1);
    ARG(keys[0], cache_key_latest(keys[0], prefix, station, GG_ASPECT_REAL_TIME));
    ARG(keys[1], cache_key_latest(keys[1], prefix, station, GG_ASPECT_EDGE_PREDICTION));
    ARG(keys[2], cache_key_recent(keys[2], prefix, station));
    ARG(keys[3], cache_key_recent_ids(keys[3], prefix, station));
    ARG(w->size, strlen(w->size));
    ARG(w->ctx->channel, strlen(w->ctx->channel));
    for (size_t k = 0; k < count; k++) {
        const cache_item *it = &items[o->idx[from + k]];
        const char *cid = it->rec.has_correlation_id ? it->rec.correlation_id : "";
        ARG(it->rec.aspect == GG_ASPECT_REAL_TIME ? "1" : "2", 1);
        ARG(us[k], (size_t)snprintf(us[k], sizeof(us[k]), "%" PRId64, it->rec.created_at_us));
        ARG(cid, strlen(cid));
        ARG(it->doc, it->doclen);
    }
#undef ARG
    redisAppendCommandArgv(w->c, (int)a, argv, lens);
    const char *sadd[] = {"SADD", w->ctx->index_key, station};
    size_t slens[] = {4, strlen(w->ctx->index_key), strlen(station)};
    redisAppendCommandArgv(w->c, 3, sadd, slens);
}

/* Checks one script reply for a group of count readings; counts their outcomes. */
static bool script_outcome(const redisReply *r, size_t count, cache_apply_result *res)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * count)
        return false;
    for (size_t k = 0; k < r->elements; k++)
        if (r->element[k]->type != REDIS_REPLY_INTEGER)
            return false;
    for (size_t k = 0; k < count; k++) {
        long long changed = r->element[2 * k]->integer, added = r->element[2 * k + 1]->integer;
        res->latest_updates += changed ? 1 : 0;
        res->ignored += (!changed && !added) ? 1 : 0;
        res->applied++;
    }
    return true;
}

/* Writes every command of the batch to the socket; 0, or -1 after an I/O error (the
 * connection dropped). */
static int send_all(cache_writer *w, const cache_item *items, const batch_order *o, char *err,
                    size_t errlen)
{
    for (size_t g = 0; g < o->groups; g++)
        append_group(w, items, o, g);
    int done = 0;
    while (!done) {
        if (redisBufferWrite(w->c, &done) != REDIS_OK) {
            snprintf(err, errlen, "%s", w->c->errstr);
            drop(w);
            return -1;
        }
    }
    return 0;
}

/* Reads the replies of a batch sent by send_all: 0 all acknowledged, 1 the server lacks the
 * script, -1 error (I/O errors drop the connection; error replies leave it usable, every reply
 * having been read). */
static int read_replies(cache_writer *w, const batch_order *o, cache_apply_result *res, char *err,
                        size_t errlen)
{
    cache_apply_result got = {0};
    bool noscript = false, failed = false;
    for (size_t i = 0; i < o->groups * 2; i++) {
        redisReply *r = NULL;
        if (redisGetReply(w->c, (void **)&r) != REDIS_OK) {
            snprintf(err, errlen, "%s", w->c->errstr);
            drop(w);
            return -1;
        }
        bool is_script = i % 2 == 0;
        size_t count = o->starts[i / 2 + 1] - o->starts[i / 2];
        if (is_script && cache_script_is_noscript(r)) {
            noscript = true;
        } else if (r->type == REDIS_REPLY_ERROR) {
            if (!failed)
                snprintf(err, errlen, "%s", r->str);
            failed = true;
        } else if (is_script && !script_outcome(r, count, &got)) {
            if (!failed)
                snprintf(err, errlen, "unexpected reply to the update step");
            failed = true;
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
static long admit(cache_writer *w, const cache_item *items, size_t n, char *err, size_t errlen)
{
    const char **ids = w->s.ids;
    bool *sub = w->s.sub, *refused = w->s.refused;
    long rc;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].doclen)
            ids[m++] = items[i].rec.station_id;
    rc = cache_admit_check(w->admit, w->c, w->ctx->index_key, ids, m, sub, err, errlen);
    if (rc < 0) {
        drop(w); /* replies may be left unread */
        return rc;
    }
    for (size_t i = 0, k = 0; i < n; i++)
        refused[i] = items[i].doclen ? sub[k++] : false;
    return rc;
}

static int apply_admitted(cache_writer *w, const cache_item *items, size_t n,
                          cache_apply_result *res, char *err, size_t errlen);
static int apply_ordered(cache_writer *w, const cache_item *items, batch_order o,
                         cache_apply_result *res, char *err, size_t errlen);

/* Connects, sizes the scratch arrays and runs the admission: 1 with the refused count in
 * *refused, 0 when the batch holds no reading to send, -1 on error. */
static int prepare(cache_writer *w, const cache_item *items, size_t n, size_t *refused, char *err,
                   size_t errlen)
{
    size_t valid = 0;
    for (size_t i = 0; i < n; i++)
        valid += items[i].doclen ? 1 : 0;
    if (valid == 0)
        return 0;
    if (!w->c && writer_connect(w, err, errlen) != 0)
        return -1;
    if (scratch_reserve(&w->s, n) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    long nrefused = admit(w, items, n, err, errlen);
    if (nrefused < 0)
        return -1;
    *refused = (size_t)nrefused;
    return 1;
}

int cache_writer_apply(cache_writer *w, const cache_item *items, size_t n, cache_apply_result *res,
                       char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    size_t refused = 0;
    int rc = prepare(w, items, n, &refused, err, errlen);
    if (rc <= 0)
        return rc;
    res->refused = refused;
    return apply_admitted(w, items, n, res, err, errlen);
}

int cache_writer_send(cache_writer *w, const cache_item *items, size_t n, char *err, size_t errlen)
{
    w->sent = false;
    w->refused = 0;
    memset(&w->o, 0, sizeof(w->o));
    int rc = prepare(w, items, n, &w->refused, err, errlen);
    if (rc <= 0)
        return rc;
    order_batch(&w->s, items, n, &w->o);
    if (send_all(w, items, &w->o, err, errlen) != 0)
        return -1;
    w->sent = true;
    return 0;
}

int cache_writer_receive(cache_writer *w, const cache_item *items, cache_apply_result *res,
                         char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    res->refused = w->refused;
    if (!w->sent)
        return 0;
    w->sent = false;
    int rc = read_replies(w, &w->o, res, err, errlen);
    if (rc != 1)
        return rc;
    /* The server lost the script (a restart, SCRIPT FLUSH): load it and send again, as
     * cache_writer_apply does. */
    if (cache_script_load(w->c, w->sha, err, errlen) != 0) {
        drop(w);
        return -1;
    }
    return apply_ordered(w, items, w->o, res, err, errlen);
}

static int apply_admitted(cache_writer *w, const cache_item *items, size_t n,
                          cache_apply_result *res, char *err, size_t errlen)
{
    batch_order o;
    order_batch(&w->s, items, n, &o);
    return apply_ordered(w, items, o, res, err, errlen);
}

static int apply_ordered(cache_writer *w, const cache_item *items, batch_order o,
                         cache_apply_result *res, char *err, size_t errlen)
{
    /* A restarted server forgets the script: load it again and resend the (idempotent) batch.
     * Twice in a row would mean something flushes scripts continually. */
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = send_all(w, items, &o, err, errlen);
        if (rc == 0)
            rc = read_replies(w, &o, res, err, errlen);
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
