/* Unit tests of the in-process copy: newer-wins updates, reloads, ETags and 304s, coherence,
 * and the list bodies it shares with the Redis read path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_body.h"
#include "cache_store.h"

/* A document as the Lua step stores it. */
static const char *doc(char *buf, const char *station, const char *aspect, long long us, int m)
{
    snprintf(buf, 256,
             "{\"station_id\":\"%s\",\"temporal_aspect\":\"%s\",\"modality\":%d,\"unit\":\"MW\","
             "\"created_at_us\":%lld}",
             station, aspect, m, us);
    return buf;
}

static int apply(cache_store *s, const char *station, const char *aspect, long long us, int m)
{
    char b[256];
    doc(b, station, aspect, us, m);
    return cache_store_apply(s, b, strlen(b));
}

/* The modality of the latest reading, or a sentinel for each kind of miss. */
static int latest_modality(cache_store *s, const char *id, gg_aspect a)
{
    char etag[CACHE_ETAG_LEN], *body = NULL;
    size_t len = 0;
    cache_lookup rc = cache_store_latest(s, id, strlen(id), a, NULL, etag, &body, &len);
    if (rc != CACHE_LOOKUP_HIT)
        return -1000 - (int)rc;
    json_t *j = json_loadb(body, len, 0, NULL);
    assert_non_null(j);
    int m = (int)json_integer_value(json_object_get(j, "modality"));
    json_decref(j);
    free(body);
    return m;
}

static cache_store *coherent_store(void)
{
    cache_store *s = cache_store_new();
    assert_non_null(s);
    assert_false(cache_store_coherent(s));
    cache_store_replace(s, cache_table_new());
    assert_true(cache_store_coherent(s));
    return s;
}

static void test_newer_wins_in_any_order(void **state)
{
    (void)state;
    cache_store *s = coherent_store();
    assert_int_equal(apply(s, "1", "real_time", 200, 2), 1);
    assert_int_equal(apply(s, "1", "real_time", 100, 1), 0);      /* late: ignored */
    assert_int_equal(apply(s, "1", "real_time", 200, 2), 0);      /* duplicate: ignored */
    assert_int_equal(apply(s, "1", "edge_prediction", 50, 7), 1); /* aspects are apart */
    assert_int_equal(latest_modality(s, "1", GG_ASPECT_REAL_TIME), 2);
    assert_int_equal(latest_modality(s, "1", GG_ASPECT_EDGE_PREDICTION), 7);
    assert_int_equal(apply(s, "1", "real_time", 300, 3), 1);
    assert_int_equal(latest_modality(s, "1", GG_ASPECT_REAL_TIME), 3);
    assert_int_equal(latest_modality(s, "2", GG_ASPECT_REAL_TIME), -1000 - CACHE_LOOKUP_NO_STATION);
    assert_int_equal(apply(s, "2", "edge_prediction", 1, 1), 1);
    assert_int_equal(latest_modality(s, "2", GG_ASPECT_REAL_TIME), -1000 - CACHE_LOOKUP_NO_VALUE);
    assert_int_equal(cache_store_stations(s), 2);
    assert_int_equal(cache_store_apply(s, "not json", 8), -1);
    cache_store_free(s);
}

static void test_many_stations_grow_the_table(void **state)
{
    (void)state;
    cache_store *s = coherent_store();
    char id[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "%d", i);
        assert_int_equal(apply(s, id, "real_time", 1000 + i, i % 600), 1);
    }
    assert_int_equal(cache_store_stations(s), 5000);
    for (int i = 0; i < 5000; i += 97) {
        snprintf(id, sizeof(id), "%d", i);
        assert_int_equal(latest_modality(s, id, GG_ASPECT_REAL_TIME), i % 600);
    }
    cache_store_free(s);
}

static void test_etag_and_not_modified(void **state)
{
    (void)state;
    cache_store *s = coherent_store();
    apply(s, "5", "real_time", 10, 1);
    char etag[CACHE_ETAG_LEN], again[CACHE_ETAG_LEN], *body = NULL;
    size_t len;
    assert_int_equal(cache_store_latest(s, "5", 1, GG_ASPECT_REAL_TIME, NULL, etag, &body, &len),
                     CACHE_LOOKUP_HIT);
    char want[CACHE_ETAG_LEN];
    cache_etag_make(want, body, len); /* the tag is the body's, as on the Redis path */
    assert_string_equal(etag, want);
    free(body);
    body = NULL;
    assert_int_equal(cache_store_latest(s, "5", 1, GG_ASPECT_REAL_TIME, etag, again, &body, &len),
                     CACHE_LOOKUP_NOT_MODIFIED);
    assert_null(body);
    apply(s, "5", "real_time", 11, 2);
    assert_int_equal(cache_store_latest(s, "5", 1, GG_ASPECT_REAL_TIME, etag, again, &body, &len),
                     CACHE_LOOKUP_HIT);
    assert_string_not_equal(again, etag);
    free(body);
    cache_store_free(s);
}

static void test_incoherent_store_answers_nothing(void **state)
{
    (void)state;
    cache_store *s = coherent_store();
    apply(s, "1", "real_time", 10, 1);
    cache_store_set_incoherent(s);
    assert_int_equal(latest_modality(s, "1", GG_ASPECT_REAL_TIME), -1000 - CACHE_LOOKUP_INCOHERENT);
    gg_buf b;
    gg_buf_init(&b);
    cache_id ids[] = {{"1", 1}};
    assert_false(cache_store_many(s, ids, 1, GG_ASPECT_REAL_TIME, &b));
    assert_false(cache_store_list(s, &(cache_page){10, NULL, 0}, &b));
    assert_int_equal(b.len, 0);
    /* A reload brings it back, with exactly what the reload found. */
    cache_table *t = cache_table_new();
    char d[256];
    doc(d, "2", "real_time", 5, 9);
    assert_int_equal(cache_table_put(t, d, strlen(d)), 1);
    doc(d, "2", "real_time", 4, 8);
    assert_int_equal(cache_table_put(t, d, strlen(d)), 0);
    cache_store_replace(s, t);
    assert_int_equal(latest_modality(s, "2", GG_ASPECT_REAL_TIME), 9);
    assert_int_equal(latest_modality(s, "1", GG_ASPECT_REAL_TIME), -1000 - CACHE_LOOKUP_NO_STATION);
    gg_buf_free(&b);
    cache_store_free(s);
}

static void test_list_and_many_bodies(void **state)
{
    (void)state;
    cache_store *s = coherent_store();
    apply(s, "10", "real_time", 10, 10);
    apply(s, "2", "real_time", 20, 2);
    apply(s, "s-1", "edge_prediction", 30, 31);
    gg_buf b;
    gg_buf_init(&b);
    assert_true(cache_store_list(s, &(cache_page){1000, NULL, 0}, &b));
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
    json_t *st = json_object_get(j, "stations");
    assert_int_equal(json_array_size(st), 3);
    const char *order[] = {"2", "10", "s-1"};
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(st, i), "station_id")),
                            order[i]);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(st, 1), "latest"), "modality")),
                     10);
    assert_true(json_is_null(json_object_get(json_array_get(st, 2), "latest")));
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);

    /* Paged: two stations, then what follows the cursor (the last id given out), once each. */
    gg_buf_reset(&b);
    assert_true(cache_store_list(s, &(cache_page){2, NULL, 0}, &b));
    assert_non_null(strstr(b.data, "\"count\":2,"));
    assert_non_null(strstr(b.data, "\"next_cursor\":\"10\"}"));
    gg_buf_reset(&b);
    assert_true(cache_store_list(s, &(cache_page){2, "10", 2}, &b));
    assert_non_null(strstr(b.data, "{\"count\":1,\"stations\":[{\"station_id\":\"s-1\""));
    assert_non_null(strstr(b.data, "\"next_cursor\":null}"));
    /* A cursor between stations (one gone meanwhile) resumes after it. */
    gg_buf_reset(&b);
    assert_true(cache_store_list(s, &(cache_page){5, "3", 1}, &b));
    assert_non_null(strstr(b.data, "{\"count\":2,\"stations\":[{\"station_id\":\"10\""));

    gg_buf_reset(&b);
    cache_id ids[] = {{"s-1", 3}, {"404", 3}};
    assert_true(cache_store_many(s, ids, 2, GG_ASPECT_EDGE_PREDICTION, &b));
    j = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "aspect")), "edge_prediction");
    json_t *latest = json_object_get(j, "latest");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(latest, "s-1"), "modality")), 31);
    assert_true(json_is_null(json_object_get(latest, "404")));
    json_decref(j);
    gg_buf_free(&b);
    cache_store_free(s);
}

static void test_recent_body_and_buffer(void **state)
{
    (void)state;
    gg_buf b;
    gg_buf_init(&b);
    cache_body_recent_open(&b, "7", 2);
    cache_body_recent_item(&b, 0, "{\"a\":1}", 7);
    cache_body_recent_item(&b, 1, "{\"a\":2}", 7);
    cache_body_recent_close(&b);
    assert_string_equal(b.data,
                        "{\"station_id\":\"7\",\"count\":2,\"readings\":[{\"a\":1},{\"a\":2}]}");
    gg_buf_reset(&b);
    gg_buf_json_str(&b, "q\"\\\n", 4);
    assert_string_equal(b.data, "\"q\\\"\\\\\\u000a\"");
    size_t len;
    char *taken = gg_buf_take(&b, &len);
    assert_int_equal(len, strlen(taken));
    free(taken);
    taken = gg_buf_take(&b, &len); /* empty buffer: an empty string, not NULL */
    assert_non_null(taken);
    assert_int_equal(len, 0);
    free(taken);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newer_wins_in_any_order),
        cmocka_unit_test(test_many_stations_grow_the_table),
        cmocka_unit_test(test_etag_and_not_modified),
        cmocka_unit_test(test_incoherent_store_answers_nothing),
        cmocka_unit_test(test_list_and_many_bodies),
        cmocka_unit_test(test_recent_body_and_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
