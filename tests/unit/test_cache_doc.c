/* Unit tests of the stored reading document and the newer-wins order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cache_doc.h"

static gg_record parse(const char *key, const char *value)
{
    gg_record r;
    char msg[256];
    gg_record_reason why =
        gg_record_parse(key, key ? strlen(key) : 0, value, strlen(value), 0, &r, msg, sizeof(msg));
    if (why != GG_RECORD_OK)
        fail_msg("test reading refused: %s", msg);
    return r;
}

static size_t format(const gg_record *r, char *doc)
{
    size_t n = cache_doc_format(r, doc, CACHE_DOC_MAX);
    assert_true(n > 0);
    assert_int_equal(n, strlen(doc));
    return n;
}

static void test_document_fields(void **state)
{
    (void)state;
    gg_record r =
        parse("3", "{\"payload\": \"{\\\"sensor_id\\\": 3, \\\"modality\\\": 421, "
                   "\\\"unit\\\": \\\"MW\\\", \\\"temporal_aspect\\\": \\\"real_time\\\"}\", "
                   "\"correlation_id\": \"906F764E-4cc5-4d3b-9d3e-2f1a8b0f9c11\", "
                   "\"created_at\": 1694902173.122458, \"schema_version\": 1}");
    char doc[CACHE_DOC_MAX];
    format(&r, doc);
    assert_string_equal(doc, "{\"station_id\":\"3\",\"temporal_aspect\":\"real_time\","
                             "\"modality\":421,\"unit\":\"MW\","
                             "\"created_at\":\"2023-09-16T22:09:33.122458Z\","
                             "\"created_at_us\":1694902173122458,"
                             "\"correlation_id\":\"906f764e-4cc5-4d3b-9d3e-2f1a8b0f9c11\"}");
    cache_doc_info info;
    assert_int_equal(cache_doc_parse(doc, strlen(doc), &info), 0);
    assert_string_equal(info.station_id, "3");
    assert_int_equal(info.aspect, GG_ASPECT_REAL_TIME);
    assert_int_equal(info.created_at_us, INT64_C(1694902173122458));
    assert_string_equal(info.correlation_id, "906f764e-4cc5-4d3b-9d3e-2f1a8b0f9c11");
}

static void test_numbers_round_trip_shortest(void **state)
{
    (void)state;
    const char *values[] = {"0.1", "-2.5e-07", "1e+300", "123456789.123", "-0.0", "3.0"};
    const char *expect[] = {"0.1", "-2.5e-07", "1e+300", "123456789.123", "-0", "3"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char value[400], doc[CACHE_DOC_MAX];
        snprintf(value, sizeof(value),
                 "{\"payload\": {\"sensor_id\": \"s-1\", \"modality\": %s, "
                 "\"temporal_aspect\": \"edge_prediction\"}, \"created_at\": 1764000000}",
                 values[i]);
        gg_record r = parse(NULL, value);
        format(&r, doc);
        json_t *j = json_loads(doc, 0, NULL);
        assert_non_null(j);
        assert_true(json_number_value(json_object_get(j, "modality")) == r.modality);
        char want[64];
        snprintf(want, sizeof(want), "\"modality\":%s,", expect[i]);
        assert_non_null(strstr(doc, want));
        /* No correlation id: the field is left out, not null. */
        assert_null(json_object_get(j, "correlation_id"));
        assert_string_equal(json_string_value(json_object_get(j, "unit")), "");
        json_decref(j);
    }
}

static void test_unit_is_escaped(void **state)
{
    (void)state;
    gg_record r = parse("9", "{\"payload\": {\"sensor_id\": 9, \"modality\": 1, \"unit\": "
                             "\"k\\\"W\\\\h\", \"temporal_aspect\": \"real_time\"}, "
                             "\"created_at\": 1764000000.5}");
    char doc[CACHE_DOC_MAX];
    format(&r, doc);
    json_t *j = json_loads(doc, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "unit")), "k\"W\\h");
    assert_string_equal(json_string_value(json_object_get(j, "station_id")), "9");
    json_decref(j);
}

static void test_longest_reading_fits(void **state)
{
    (void)state;
    char id[GG_RECORD_STATION_MAX + 1], value[1024], doc[CACHE_DOC_MAX];
    memset(id, 'x', GG_RECORD_STATION_MAX);
    id[GG_RECORD_STATION_MAX] = '\0';
    snprintf(value, sizeof(value),
             "{\"payload\": {\"sensor_id\": \"%s\", \"modality\": -1.2345678901234567e-300, "
             "\"unit\": \"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\", "
             "\"temporal_aspect\": \"edge_prediction\"}, \"created_at\": 7258118399.999999, "
             "\"correlation_id\": \"906f764e-4cc5-4d3b-9d3e-2f1a8b0f9c11\"}",
             id);
    gg_record r = parse(NULL, value);
    size_t n = format(&r, doc);
    assert_true(n < CACHE_DOC_MAX);
    assert_int_equal(cache_doc_format(&r, doc, n), 0); /* too small a buffer: refused, not cut */
}

static void test_parse_refuses_foreign_text(void **state)
{
    (void)state;
    cache_doc_info info;
    const char *bad[] = {
        "",
        "null",
        "[]",
        "{\"station_id\":\"1\"}",
        "{\"station_id\":\"a/b\",\"temporal_aspect\":\"real_time\",\"created_at_us\":1}",
        "{\"station_id\":\"1\",\"temporal_aspect\":\"soon\",\"created_at_us\":1}",
        "{\"station_id\":\"1\",\"temporal_aspect\":\"real_time\",\"created_at_us\":1.5}",
        "{\"station_id\":\"1\",\"temporal_aspect\":\"real_time\",\"created_at_us\":1,"
        "\"correlation_id\":7}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cache_doc_parse(bad[i], strlen(bad[i]), &info), -1);
}

static int order(const char *a, const char *b)
{
    cache_doc_info ia, ib;
    assert_int_equal(cache_doc_parse(a, strlen(a), &ia), 0);
    assert_int_equal(cache_doc_parse(b, strlen(b), &ib), 0);
    return cache_doc_order(&ia, a, strlen(a), &ib, b, strlen(b));
}

static void test_newer_wins_order(void **state)
{
    (void)state;
#define DOC(us, cid, m)                                                                            \
    "{\"station_id\":\"1\",\"temporal_aspect\":\"real_time\",\"modality\":" m                      \
    ",\"created_at_us\":" us cid "}"
    const char *old = DOC("100", "", "5");
    const char *newer = DOC("101", "", "1");
    assert_true(order(newer, old) > 0);
    assert_true(order(old, newer) < 0);
    assert_true(order(old, old) == 0);
    /* Same time: the correlation id decides, and any id beats none. */
    const char *a = DOC("100", ",\"correlation_id\":\"0000000a-0000-0000-0000-000000000000\"", "1");
    const char *b = DOC("100", ",\"correlation_id\":\"0000000b-0000-0000-0000-000000000000\"", "0");
    assert_true(order(b, a) > 0);
    assert_true(order(a, old) > 0);
    /* Same time and id: the document bytes decide ("6" > "5"). */
    const char *c = DOC("100", "", "6");
    assert_true(order(c, old) > 0);
    assert_true(order(old, c) < 0);
#undef DOC
}

/* The update channel's message: documents joined by '\n', read back in order; a message of one
 * document (earlier versions) is that document; empty pieces are no documents. */
static void test_published_message_splits_in_order(void **state)
{
    (void)state;
    const char msg[] = "{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}";
    const char *want[] = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"};
    size_t off = 0, len, n = 0;
    const char *doc;
    while (cache_doc_next_published(msg, sizeof(msg) - 1, &off, &doc, &len)) {
        assert_true(n < 3);
        assert_int_equal(len, strlen(want[n]));
        assert_memory_equal(doc, want[n], len);
        n++;
    }
    assert_int_equal(n, 3);
    off = 0;
    assert_int_equal(cache_doc_next_published("{\"x\":1}", 7, &off, &doc, &len), 1);
    assert_int_equal(len, 7);
    assert_int_equal(cache_doc_next_published("{\"x\":1}", 7, &off, &doc, &len), 0);
    /* From the end: the same documents in reverse. */
    size_t end = sizeof(msg) - 1;
    while (cache_doc_prev_published(msg, &end, &doc, &len)) {
        assert_true(n > 0);
        n--;
        assert_int_equal(len, strlen(want[n]));
        assert_memory_equal(doc, want[n], len);
    }
    assert_int_equal(n, 0);
    end = 7;
    assert_int_equal(cache_doc_prev_published("{\"x\":1}", &end, &doc, &len), 1);
    assert_int_equal(len, 7);
    assert_int_equal(cache_doc_prev_published("{\"x\":1}", &end, &doc, &len), 0);
    end = 2;
    assert_int_equal(cache_doc_prev_published("\n\n", &end, &doc, &len), 0);
    off = 0;
    assert_int_equal(cache_doc_next_published("\n\n", 2, &off, &doc, &len), 0);
    off = 0;
    assert_int_equal(cache_doc_next_published("", 0, &off, &doc, &len), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_fields),
        cmocka_unit_test(test_numbers_round_trip_shortest),
        cmocka_unit_test(test_unit_is_escaped),
        cmocka_unit_test(test_longest_reading_fits),
        cmocka_unit_test(test_parse_refuses_foreign_text),
        cmocka_unit_test(test_newer_wins_order),
        cmocka_unit_test(test_published_message_splits_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
