/* Integration test of the cache's update step (Lua in the real Redis of the local stack): the
 * batch writer applies readings in shuffled order with duplicates and equal event times, and
 * the outcome must be the one the newer-wins rule defines, whatever the order. Each test works
 * under its own random key prefix and deletes its keys afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cache.h"
#include "cache_body.h"
#include "cache_doc.h"
#include "cache_pool.h"
#include "cache_reads.h"
#include "cache_store.h"
#include "cache_redis.h"
#include "cache_writer.h"
#include "stack_env.h"

#define RECENT 20

typedef struct fixture {
    cache_ctx ctx;
    cache_writer *w;
    redisContext *c; /* for checking what the step left in Redis */
    char prefix[40];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    uint64_t r;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -1;
    snprintf(f->prefix, sizeof(f->prefix), "ggtest%016" PRIx64 ":", r);
    f->ctx.cfg.redis_prefix = f->prefix;
    f->ctx.cfg.recent_size = RECENT;
    f->ctx.cfg.redis_timeout_ms = 5000;
    if (gg_conf_parse_redis_url(stack_env_need("GRIDGATE_REDIS_URL"), &f->ctx.redis) != 0)
        return -1;
    cache_key_index(f->ctx.index_key, f->prefix);
    cache_key_channel(f->ctx.channel, f->prefix);
    char err[256];
    f->c = cache_redis_open(&f->ctx, err, sizeof(err));
    f->w = cache_writer_new(&f->ctx);
    if (!f->c || !f->w) {
        fprintf(stderr, "redis: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    /* Bounded: SCAN visits every key once per full iteration, and stops at cursor 0. */
    char cursor[32] = "0";
    for (int round = 0; round < 100000; round++) {
        redisReply *r = redisCommand(f->c, "SCAN %s MATCH %s* COUNT 1000", cursor, f->prefix);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->element[1]->elements; i++)
            freeReplyObject(redisCommand(f->c, "DEL %s", r->element[1]->element[i]->str));
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    cache_writer_free(f->w);
    redisFree(f->c);
    free(f);
    return 0;
}

static void make_item(cache_item *it, const char *station, gg_aspect aspect, int64_t us,
                      int modality, const char *cid)
{
    memset(it, 0, sizeof(*it));
    gg_record *r = &it->rec;
    snprintf(r->station_id, sizeof(r->station_id), "%s", station);
    r->aspect = aspect;
    r->created_at_us = us;
    r->modality = modality;
    snprintf(r->unit, sizeof(r->unit), "MW");
    r->schema_version = 1;
    if (cid) {
        snprintf(r->correlation_id, sizeof(r->correlation_id), "%s", cid);
        r->has_correlation_id = 1;
    }
    it->doclen = cache_doc_format(r, it->doc, sizeof(it->doc));
    assert_true(it->doclen > 0);
}

/* A correlation id per (station, seq); buf is sized as gg_record's field, so the copy into it
 * provably fits. */
static void cid_of(char buf[static GG_RECORD_UUID_LEN + 1], unsigned station, unsigned seq)
{
    snprintf(buf, GG_RECORD_UUID_LEN + 1, "%08x-0000-4000-8000-%012x", station, seq);
}

static void apply_all(fixture *f, cache_item *items, size_t n, cache_apply_result *res)
{
    char err[256] = "";
    if (cache_writer_apply(f->w, items, n, res, err, sizeof(err)) != 0)
        fail_msg("apply failed: %s", err);
}

static redisReply *cmd(fixture *f, const char *fmt, const char *key)
{
    redisReply *r = redisCommand(f->c, fmt, key);
    assert_non_null(r);
    return r;
}

static int64_t latest_us(fixture *f, const char *station, gg_aspect a, char *doc_out)
{
    char key[CACHE_KEY_MAX];
    cache_key_latest(key, f->prefix, station, a);
    redisReply *r = cmd(f, "GET %s", key);
    int64_t us = -1;
    if (r->type == REDIS_REPLY_STRING) {
        cache_doc_info info;
        assert_int_equal(cache_doc_parse(r->str, r->len, &info), 0);
        us = info.created_at_us;
        if (doc_out)
            memcpy(doc_out, r->str, r->len + 1);
    }
    freeReplyObject(r);
    return us;
}

/* Deterministic shuffle (xorshift), so a failure can be replayed. */
static void shuffle(cache_item *items, size_t n, uint64_t seed)
{
    for (size_t i = n - 1; i > 0; i--) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        size_t j = (size_t)(seed % (i + 1));
        cache_item t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}

static void test_shuffled_duplicates_converge(void **state)
{
    fixture *f = *state;
    enum { STATIONS = 3, STEPS = 60, N = STATIONS * STEPS * 2 };
    cache_item *items = calloc(N, sizeof(*items));
    size_t n = 0;
    for (unsigned s = 1; s <= STATIONS; s++) {
        char st[8];
        snprintf(st, sizeof(st), "%u", s);
        for (unsigned k = 0; k < STEPS; k++) {
            char cid[GG_RECORD_UUID_LEN + 1];
            cid_of(cid, s, k);
            gg_aspect a = k % 5 == 0 ? GG_ASPECT_EDGE_PREDICTION : GG_ASPECT_REAL_TIME;
            make_item(&items[n++], st, a, 1000000 + k * 1000 + s, (int)(k * 10 + s), cid);
            items[n] = items[n - 1]; /* every reading twice */
            n++;
        }
    }
    shuffle(items, n, 0x9e3779b97f4a7c15ULL);
    /* Three uneven batches, as poll batches would come. */
    cache_apply_result res, total = {0};
    size_t cuts[] = {0, 101, 250, n};
    for (int b = 0; b < 3; b++) {
        apply_all(f, items + cuts[b], cuts[b + 1] - cuts[b], &res);
        total.applied += res.applied;
        total.ignored += res.ignored;
    }
    assert_int_equal(total.applied, N);
    assert_true(total.ignored >= N / 2); /* at least every second copy changes nothing */

    for (unsigned s = 1; s <= STATIONS; s++) {
        char st[8], key[CACHE_KEY_MAX];
        snprintf(st, sizeof(st), "%u", s);
        /* Newest real_time is step 59, newest edge_prediction step 55. */
        assert_int_equal(latest_us(f, st, GG_ASPECT_REAL_TIME, NULL), 1000000 + 59 * 1000 + s);
        assert_int_equal(latest_us(f, st, GG_ASPECT_EDGE_PREDICTION, NULL),
                         1000000 + 55 * 1000 + s);
        cache_key_recent(key, f->prefix, st);
        redisReply *r = redisCommand(f->c, "ZRANGE %s 0 -1 WITHSCORES", key);
        assert_int_equal(r->elements, 2 * RECENT); /* capped, duplicates entered once */
        for (size_t i = 0; i < RECENT; i++) {
            int64_t want = 1000000 + (STEPS - RECENT + (int64_t)i) * 1000 + s;
            assert_int_equal(strtoll(r->element[2 * i + 1]->str, NULL, 10), want);
            cache_doc_info info;
            assert_int_equal(cache_doc_parse(r->element[2 * i]->str, r->element[2 * i]->len, &info),
                             0);
            assert_int_equal(info.created_at_us, want);
        }
        freeReplyObject(r);
        /* The id hash holds exactly the ids still listed. */
        cache_key_recent_ids(key, f->prefix, st);
        r = cmd(f, "HLEN %s", key);
        assert_int_equal(r->integer, RECENT);
        freeReplyObject(r);
    }
    redisReply *r = cmd(f, "SCARD %s", f->ctx.index_key);
    assert_int_equal(r->integer, STATIONS);
    freeReplyObject(r);
    free(items);
}

/* Applies a and b in both orders under two station names; both must end with the same doc. */
static void both_orders_agree(fixture *f, cache_item *a, cache_item *b, const char *winner)
{
    cache_apply_result res;
    cache_item pair[2];
    char doc1[CACHE_DOC_MAX], doc2[CACHE_DOC_MAX];
    const char *names[2] = {"tie-ab", "tie-ba"};
    for (int order = 0; order < 2; order++) {
        pair[0] = order ? *b : *a;
        pair[1] = order ? *a : *b;
        for (int i = 0; i < 2; i++) { /* rename to this order's station */
            snprintf(pair[i].rec.station_id, sizeof(pair[i].rec.station_id), "%s", names[order]);
            pair[i].doclen = cache_doc_format(&pair[i].rec, pair[i].doc, sizeof(pair[i].doc));
        }
        apply_all(f, &pair[0], 1, &res);
        apply_all(f, &pair[1], 1, &res);
    }
    latest_us(f, names[0], a->rec.aspect, doc1);
    latest_us(f, names[1], a->rec.aspect, doc2);
    assert_non_null(strstr(doc1, winner));
    assert_non_null(strstr(doc2, winner));
    for (int i = 0; i < 2; i++) {
        char key[CACHE_KEY_MAX];
        cache_key_latest(key, f->prefix, names[i], a->rec.aspect);
        freeReplyObject(cmd(f, "DEL %s", key));
        cache_key_recent(key, f->prefix, names[i]);
        freeReplyObject(cmd(f, "DEL %s", key));
        cache_key_recent_ids(key, f->prefix, names[i]);
        freeReplyObject(cmd(f, "DEL %s", key));
    }
}

static void test_ties_are_broken_the_same_way_in_any_order(void **state)
{
    fixture *f = *state;
    cache_item a, b;
    /* Equal time, different ids: the greater id wins. */
    make_item(&a, "x", GG_ASPECT_REAL_TIME, 5000, 1, "0000000a-0000-4000-8000-000000000000");
    make_item(&b, "x", GG_ASPECT_REAL_TIME, 5000, 2, "0000000b-0000-4000-8000-000000000000");
    both_orders_agree(f, &a, &b, "\"modality\":2,");
    /* Equal time and id (a resend that changed content): the greater document wins. */
    make_item(&a, "x", GG_ASPECT_REAL_TIME, 5000, 3, "0000000c-0000-4000-8000-000000000000");
    make_item(&b, "x", GG_ASPECT_REAL_TIME, 5000, 4, "0000000c-0000-4000-8000-000000000000");
    both_orders_agree(f, &a, &b, "\"modality\":4,");
    /* Equal time, one without an id: any id beats none. */
    make_item(&a, "x", GG_ASPECT_REAL_TIME, 5000, 9, NULL);
    make_item(&b, "x", GG_ASPECT_REAL_TIME, 5000, 5, "00000000-0000-4000-8000-000000000000");
    both_orders_agree(f, &a, &b, "\"modality\":5,");
}

static void test_resend_with_new_content_is_listed_once(void **state)
{
    fixture *f = *state;
    cache_item it[3];
    cache_apply_result res;
    const char *cid = "11111111-0000-4000-8000-000000000000";
    make_item(&it[0], "r", GG_ASPECT_REAL_TIME, 7000, 1, cid);
    make_item(&it[1], "r", GG_ASPECT_REAL_TIME, 7001, 2, cid); /* same id, restamped */
    make_item(&it[2], "r", GG_ASPECT_REAL_TIME, 7000, 1, cid); /* the first again, late */
    apply_all(f, it, 3, &res);
    char key[CACHE_KEY_MAX];
    cache_key_recent(key, f->prefix, "r");
    redisReply *r = cmd(f, "ZRANGE %s 0 -1", key);
    assert_int_equal(r->elements, 1);
    assert_non_null(strstr(r->element[0]->str, "\"created_at_us\":7001"));
    freeReplyObject(r);
    assert_int_equal(res.ignored, 1);
}

/* The next message on sub holds exactly the documents want[0..n), in order: one message per
 * script call (cache_script.h). */
static void expect_published(redisContext *sub, const char **want, size_t n)
{
    redisReply *r = NULL;
    assert_int_equal(redisGetReply(sub, (void **)&r), REDIS_OK);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[0]->str, "message");
    const redisReply *msg = r->element[2];
    size_t off = 0, len, got = 0;
    const char *doc;
    while (cache_doc_next_published(msg->str, msg->len, &off, &doc, &len)) {
        assert_true(got < n);
        assert_int_equal(len, strlen(want[got]));
        assert_memory_equal(doc, want[got], len);
        got++;
    }
    assert_int_equal(got, n);
    freeReplyObject(r);
}

static void test_updates_are_published_and_script_reloads(void **state)
{
    fixture *f = *state;
    char err[256];
    redisContext *sub = cache_redis_open(&f->ctx, err, sizeof(err));
    assert_non_null(sub);
    redisReply *r = redisCommand(sub, "SUBSCRIBE %s", f->ctx.channel);
    assert_non_null(r);
    freeReplyObject(r);
    /* The server forgets scripts (as after a restart): the writer must load it again. */
    freeReplyObject(redisCommand(f->c, "SCRIPT FLUSH"));
    cache_item it[3];
    cache_apply_result res;
    make_item(&it[0], "p", GG_ASPECT_REAL_TIME, 100, 1, NULL);
    make_item(&it[1], "p", GG_ASPECT_REAL_TIME, 50, 2, NULL); /* older: not published */
    make_item(&it[2], "p", GG_ASPECT_EDGE_PREDICTION, 60, 3, NULL);
    apply_all(f, it, 3, &res);
    assert_int_equal(res.latest_updates, 2);
    const char *expect[] = {it[0].doc, it[2].doc};
    expect_published(sub, expect, 2);
    redisFree(sub);
}

/* Every reading that was newer when its turn came is published, in order, also when a later one
 * of the same batch replaces it: the event streams carry each accepted update, not only the last
 * of a batch (all of them in the call's one message). */
static void test_each_newer_reading_of_a_batch_is_published(void **state)
{
    fixture *f = *state;
    char err[256];
    redisContext *sub = cache_redis_open(&f->ctx, err, sizeof(err));
    assert_non_null(sub);
    freeReplyObject(redisCommand(sub, "SUBSCRIBE %s", f->ctx.channel));
    cache_item it[4];
    cache_apply_result res;
    make_item(&it[0], "q", GG_ASPECT_REAL_TIME, 100, 1, NULL);
    make_item(&it[1], "q", GG_ASPECT_REAL_TIME, 200, 2, NULL);
    make_item(&it[2], "q", GG_ASPECT_REAL_TIME, 150, 3, NULL); /* older than 200: not published */
    make_item(&it[3], "q", GG_ASPECT_REAL_TIME, 300, 4, NULL);
    apply_all(f, it, 4, &res);
    assert_int_equal(res.latest_updates, 3);
    const char *expect[] = {it[0].doc, it[1].doc, it[3].doc};
    expect_published(sub, expect, 3);
    redisFree(sub);
}

/* The same readings answered from the in-process copy and from Redis (the path taken while the
 * copy is not coherent) give the same bytes, hence the same ETags. */
static void test_redis_reads_match_memory(void **state)
{
    fixture *f = *state;
    cache_item it[5];
    cache_apply_result res;
    make_item(&it[0], "10", GG_ASPECT_REAL_TIME, 100, 1, "00000001-0000-4000-8000-000000000000");
    make_item(&it[1], "2", GG_ASPECT_REAL_TIME, 200, 2, NULL);
    make_item(&it[2], "2", GG_ASPECT_EDGE_PREDICTION, 300, 3, NULL);
    make_item(&it[3], "s-9", GG_ASPECT_EDGE_PREDICTION, 400, 4, NULL);
    make_item(&it[4], "2", GG_ASPECT_REAL_TIME, 150, 5, NULL);
    apply_all(f, it, 5, &res);

    cache_store *store = cache_store_new();
    cache_table *t = cache_table_new();
    for (int i = 0; i < 5; i++)
        cache_table_put(t, it[i].doc, it[i].doclen);
    cache_store_replace(store, t);
    f->ctx.store = store;
    f->ctx.pool = cache_pool_new(&f->ctx, 1);

    char err[256];
    gg_buf mem, red;
    gg_buf_init(&mem);
    gg_buf_init(&red);
    const cache_page all = {1000, NULL, 0}, first = {2, NULL, 0}, second = {2, "2", 1};
    assert_true(cache_store_list(store, &all, &mem));
    assert_int_equal(cache_read_list(&f->ctx, &all, &red, err, sizeof(err)), CACHE_READ_OK);
    assert_string_equal(red.data, mem.data);
    assert_non_null(strstr(mem.data, "\"count\":3"));
    assert_non_null(strstr(mem.data, "\"next_cursor\":null"));
    /* Pages: the same slices from memory and from Redis, each station once. */
    gg_buf_reset(&mem);
    gg_buf_reset(&red);
    assert_true(cache_store_list(store, &first, &mem));
    assert_int_equal(cache_read_list(&f->ctx, &first, &red, err, sizeof(err)), CACHE_READ_OK);
    assert_string_equal(red.data, mem.data);
    assert_non_null(strstr(mem.data, "\"count\":2"));
    assert_non_null(strstr(mem.data, "\"next_cursor\":\"10\""));
    gg_buf_reset(&mem);
    gg_buf_reset(&red);
    assert_true(cache_store_list(store, &second, &mem));
    assert_int_equal(cache_read_list(&f->ctx, &second, &red, err, sizeof(err)), CACHE_READ_OK);
    assert_string_equal(red.data, mem.data);
    assert_non_null(strstr(mem.data, "\"count\":2,\"stations\":[{\"station_id\":\"10\""));

    cache_id ids[] = {{"s-9", 3}, {"2", 1}, {"77", 2}};
    gg_buf_reset(&mem);
    gg_buf_reset(&red);
    assert_true(cache_store_many(store, ids, 3, GG_ASPECT_EDGE_PREDICTION, &mem));
    assert_int_equal(
        cache_read_many(&f->ctx, ids, 3, GG_ASPECT_EDGE_PREDICTION, &red, err, sizeof(err)),
        CACHE_READ_OK);
    assert_string_equal(red.data, mem.data);

    char etag[CACHE_ETAG_LEN], *body = NULL;
    size_t len;
    assert_int_equal(
        cache_store_latest(store, "2", 1, GG_ASPECT_REAL_TIME, NULL, etag, &body, &len),
        CACHE_LOOKUP_HIT);
    gg_buf_reset(&red);
    assert_int_equal(cache_read_latest(&f->ctx, "2", GG_ASPECT_REAL_TIME, &red, err, sizeof(err)),
                     CACHE_READ_OK);
    assert_string_equal(red.data, body);
    assert_non_null(strstr(body, "\"modality\":2,"));
    free(body);
    gg_buf_reset(&red);
    assert_int_equal(cache_read_latest(&f->ctx, "77", GG_ASPECT_REAL_TIME, &red, err, sizeof(err)),
                     CACHE_READ_NOT_FOUND);

    /* Recent: all three of station 2, oldest first; a limit keeps the newest. */
    gg_buf_reset(&red);
    assert_int_equal(cache_read_recent(&f->ctx, "2", 100, &red, err, sizeof(err)), CACHE_READ_OK);
    const char *p1 = strstr(red.data, "\"created_at_us\":150"),
               *p2 = strstr(red.data, "\"created_at_us\":200"),
               *p3 = strstr(red.data, "\"created_at_us\":300");
    assert_true(p1 && p2 && p3 && p1 < p2 && p2 < p3);
    gg_buf_reset(&red);
    assert_int_equal(cache_read_recent(&f->ctx, "2", 1, &red, err, sizeof(err)), CACHE_READ_OK);
    assert_non_null(strstr(red.data, "\"count\":1"));
    assert_non_null(strstr(red.data, "\"created_at_us\":300"));
    gg_buf_reset(&red);
    assert_int_equal(cache_read_recent(&f->ctx, "77", 5, &red, err, sizeof(err)),
                     CACHE_READ_NOT_FOUND);

    gg_buf_free(&mem);
    gg_buf_free(&red);
    cache_pool_free(f->ctx.pool);
    cache_store_free(store);
}

/* A Redis that cannot be reached gives UNAVAILABLE at once, not a hang or a crash. */
static void test_unreachable_redis_is_unavailable(void **state)
{
    fixture *f = *state;
    f->ctx.redis.port = 1; /* nothing listens on port 1 */
    f->ctx.pool = cache_pool_new(&f->ctx, 1);
    char err[256] = "";
    gg_buf b;
    gg_buf_init(&b);
    assert_int_equal(cache_read_latest(&f->ctx, "1", GG_ASPECT_REAL_TIME, &b, err, sizeof(err)),
                     CACHE_READ_UNAVAILABLE);
    assert_true(strlen(err) > 0);
    /* Within the backoff window the pool answers without trying. */
    assert_int_equal(cache_read_list(&f->ctx, &(cache_page){10, NULL, 0}, &b, err, sizeof(err)),
                     CACHE_READ_UNAVAILABLE);
    assert_non_null(strstr(err, "next connection attempt"));
    cache_item it;
    make_item(&it, "1", GG_ASPECT_REAL_TIME, 1, 1, NULL);
    cache_writer *w = cache_writer_new(&f->ctx);
    cache_apply_result res;
    assert_int_equal(cache_writer_apply(w, &it, 1, &res, err, sizeof(err)), -1);
    cache_writer_free(w);
    gg_buf_free(&b);
    cache_pool_free(f->ctx.pool);
}

int main(void)
{
    if (stack_env_load() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shuffled_duplicates_converge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ties_are_broken_the_same_way_in_any_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resend_with_new_content_is_listed_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_each_newer_reading_of_a_batch_is_published, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_updates_are_published_and_script_reloads, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redis_reads_match_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_redis_is_unavailable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
