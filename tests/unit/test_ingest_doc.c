/* Unit tests of ingest_doc: the document of a reading has exactly the documented fields and
 * BSON types, its _id follows the idempotency rule, and the REST shape renders it back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_doc.h"

#define SAMPLE_VALUE                                                                               \
    "{\"payload\": \"{\\\"sensor_id\\\": 3, \\\"modality\\\": -494, \\\"unit\\\": \\\"MW\\\", "    \
    "\\\"temporal_aspect\\\": \\\"edge_prediction\\\"}\", \"correlation_id\": "                    \
    "\"5F2DD97F-1CFB-40F6-A827-688DE6A16A3B\", \"created_at\": 1764000000.003235, "                \
    "\"schema_version\": 1}"
#define NO_ID_VALUE                                                                                \
    "{\"payload\": {\"sensor_id\": \"st-9\", \"modality\": 0.25, \"temporal_aspect\": "            \
    "\"real_time\"}, \"created_at\": 1764000000}"

static gg_record parse(const char *key, const char *value)
{
    gg_record r;
    char msg[256];
    gg_record_reason reason =
        gg_record_parse(key, key ? strlen(key) : 0, value, strlen(value), 0, &r, msg, sizeof(msg));
    if (reason != GG_RECORD_OK)
        print_error("parse failed: %s\n", msg);
    assert_int_equal(reason, GG_RECORD_OK);
    return r;
}

/* Finds a (dotted) field and checks its type. */
static void find(const bson_t *doc, const char *path, bson_type_t type, bson_iter_t *out)
{
    bson_iter_t it;
    assert_true(bson_iter_init(&it, doc));
    if (!bson_iter_find_descendant(&it, path, out))
        fail_msg("field %s missing", path);
    if (bson_iter_type(out) != type)
        fail_msg("field %s has BSON type 0x%02x, want 0x%02x", path, bson_iter_type(out), type);
}

static void test_document_fields_and_types(void **state)
{
    (void)state;
    gg_record r = parse("3", SAMPLE_VALUE);
    ingest_origin o = {"INGESTION", 2, 41};
    bson_t doc = BSON_INITIALIZER;
    bson_iter_t it;
    assert_true(ingest_doc_build(&doc, &r, &o, 1764000001234));

    find(&doc, "_id", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), "5f2dd97f-1cfb-40f6-a827-688de6a16a3b");
    find(&doc, "station_id", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), "3");
    find(&doc, "modality", BSON_TYPE_DOUBLE, &it);
    assert_true(bson_iter_double(&it) == -494.0);
    find(&doc, "unit", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), "MW");
    find(&doc, "temporal_aspect", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), "edge_prediction");
    find(&doc, "created_at", BSON_TYPE_DATE_TIME, &it);
    assert_int_equal(bson_iter_date_time(&it), INT64_C(1764000000003));
    find(&doc, "created_at_us", BSON_TYPE_INT64, &it);
    assert_int_equal(bson_iter_int64(&it), INT64_C(1764000000003235));
    find(&doc, "correlation_id", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), "5f2dd97f-1cfb-40f6-a827-688de6a16a3b");
    find(&doc, "schema_version", BSON_TYPE_INT32, &it);
    assert_int_equal(bson_iter_int32(&it), 1);
    find(&doc, "kafka.topic", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), "INGESTION");
    find(&doc, "kafka.partition", BSON_TYPE_INT32, &it);
    assert_int_equal(bson_iter_int32(&it), 2);
    find(&doc, "kafka.offset", BSON_TYPE_INT64, &it);
    assert_int_equal(bson_iter_int64(&it), 41);
    find(&doc, "ingested_at", BSON_TYPE_DATE_TIME, &it);
    assert_int_equal(bson_iter_date_time(&it), INT64_C(1764000001234));
    /* Exactly those eleven top-level fields: the payload is stored parsed, never as text. */
    assert_int_equal(bson_count_keys(&doc), 11);
    bson_destroy(&doc);
}

static void test_id_falls_back_to_kafka_position(void **state)
{
    (void)state;
    gg_record r = parse(NULL, NO_ID_VALUE);
    ingest_origin o = {"readings.eu", 11, INT64_C(9007199254740993)};
    char id[INGEST_ID_MAX + 1];
    ingest_doc_id(&r, &o, id, sizeof(id));
    assert_string_equal(id, "readings.eu/11/9007199254740993");

    bson_t doc = BSON_INITIALIZER;
    bson_iter_t it;
    assert_true(ingest_doc_build(&doc, &r, &o, 0));
    find(&doc, "_id", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), id);
    find(&doc, "correlation_id", BSON_TYPE_NULL, &it);
    find(&doc, "unit", BSON_TYPE_UTF8, &it);
    assert_string_equal(bson_iter_utf8(&it, NULL), "");
    find(&doc, "modality", BSON_TYPE_DOUBLE, &it);
    assert_true(bson_iter_double(&it) == 0.25);
    bson_destroy(&doc);
}

static void test_same_reading_same_id(void **state)
{
    (void)state;
    /* A resend arrives at another offset (even another topic): the id must not change. */
    gg_record a = parse("3", SAMPLE_VALUE), b = parse(NULL, SAMPLE_VALUE);
    ingest_origin oa = {"INGESTION", 0, 1}, ob = {"INGESTION", 3, 99};
    char ida[INGEST_ID_MAX + 1], idb[INGEST_ID_MAX + 1];
    ingest_doc_id(&a, &oa, ida, sizeof(ida));
    ingest_doc_id(&b, &ob, idb, sizeof(idb));
    assert_string_equal(ida, idb);
}

static void test_json_shape(void **state)
{
    (void)state;
    gg_record r = parse("3", SAMPLE_VALUE);
    ingest_origin o = {"INGESTION", 2, 41};
    bson_t doc = BSON_INITIALIZER;
    assert_true(ingest_doc_build(&doc, &r, &o, 1764000001234));
    json_t *j = ingest_doc_to_json(&doc);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 10);
    assert_string_equal(json_string_value(json_object_get(j, "station_id")), "3");
    /* A whole number is an integer, as the cache and the producers write it. */
    assert_true(json_is_integer(json_object_get(j, "modality")));
    assert_int_equal(json_integer_value(json_object_get(j, "modality")), -494);
    assert_string_equal(json_string_value(json_object_get(j, "unit")), "MW");
    assert_string_equal(json_string_value(json_object_get(j, "temporal_aspect")),
                        "edge_prediction");
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2025-11-24T16:00:00.003235Z");
    assert_int_equal(json_integer_value(json_object_get(j, "created_at_us")),
                     INT64_C(1764000000003235));
    assert_string_equal(json_string_value(json_object_get(j, "correlation_id")),
                        "5f2dd97f-1cfb-40f6-a827-688de6a16a3b");
    assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 1);
    json_t *k = json_object_get(j, "kafka");
    assert_string_equal(json_string_value(json_object_get(k, "topic")), "INGESTION");
    assert_int_equal(json_integer_value(json_object_get(k, "partition")), 2);
    assert_int_equal(json_integer_value(json_object_get(k, "offset")), 41);
    assert_string_equal(json_string_value(json_object_get(j, "ingested_at")),
                        "2025-11-24T16:00:01.234Z");
    /* The reading's members come first, in the order and text gridgate-cache serves them. */
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *cache_text = "{\"station_id\":\"3\",\"temporal_aspect\":\"edge_prediction\","
                             "\"modality\":-494,\"unit\":\"MW\","
                             "\"created_at\":\"2025-11-24T16:00:00.003235Z\","
                             "\"created_at_us\":1764000000003235,"
                             "\"correlation_id\":\"5f2dd97f-1cfb-40f6-a827-688de6a16a3b\"";
    assert_memory_equal(text, cache_text, strlen(cache_text));
    free(text);
    json_decref(j);
    bson_destroy(&doc);
}

static void test_json_of_foreign_document(void **state)
{
    (void)state;
    /* Something else wrote this: wrong types and missing fields render as null, never crash. */
    bson_t *doc = BCON_NEW("_id", BCON_INT32(7), "station_id", BCON_INT32(3), "modality",
                           BCON_UTF8("high"), "created_at", BCON_DATE_TIME(-1));
    json_t *j = ingest_doc_to_json(doc);
    assert_non_null(j);
    assert_true(json_is_integer(json_object_get(j, "station_id")));
    assert_string_equal(json_string_value(json_object_get(j, "modality")), "high");
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "1969-12-31T23:59:59.999Z");
    assert_true(json_is_null(json_object_get(j, "created_at_us")));
    assert_true(json_is_null(json_object_get(j, "unit")));
    assert_true(json_is_null(json_object_get(json_object_get(j, "kafka"), "topic")));
    json_decref(j);
    bson_destroy(doc);
}

static void test_time_formats_agree_with_libc(void **state)
{
    (void)state;
    char buf[GG_TIME_BUFLEN], want[64], small[10];
    srand(7);
    for (int i = 0; i < 2000; i++) {
        /* Anywhere from 1900 to 2200, any microsecond. */
        int64_t sec = (int64_t)(((uint64_t)rand() << 20 ^ (uint64_t)rand()) % 9467107200u) -
                      INT64_C(2208988800);
        int64_t frac = rand() % 1000000;
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + n, sizeof(want) - n, ".%06dZ", (int)frac);
        assert_int_equal(gg_time_format_us(sec * 1000000 + frac, buf, sizeof(buf)), 0);
        assert_string_equal(buf, want);
        snprintf(want + n, sizeof(want) - n, ".%03dZ", (int)(frac / 1000));
        assert_int_equal(gg_time_format_ms(sec * 1000 + frac / 1000, buf, sizeof(buf)), 0);
        assert_string_equal(buf, want);
    }
    assert_int_equal(gg_time_format_us(-1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
    assert_int_equal(gg_time_format_us(0, small, sizeof(small)), -1);
    assert_string_equal(small, "");
    /* Year 10000 has no RFC 3339 form. */
    assert_int_equal(gg_time_format_ms(INT64_C(253402300800000), buf, sizeof(buf)), -1);
}

static void test_reason_codes(void **state)
{
    (void)state;
    assert_string_equal(ingest_reason_code(INGEST_REASON_STORE_REJECTED), "store_rejected");
    for (int r = 0; r < GG_RECORD_REASON_COUNT; r++)
        assert_string_equal(ingest_reason_code(r), gg_record_reason_code((gg_record_reason)r));
    assert_string_equal(ingest_reason_code(INGEST_REASON_COUNT), "unknown");
    assert_string_equal(ingest_reason_code(-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_fields_and_types),
        cmocka_unit_test(test_id_falls_back_to_kafka_position),
        cmocka_unit_test(test_same_reading_same_id),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_json_of_foreign_document),
        cmocka_unit_test(test_time_formats_agree_with_libc),
        cmocka_unit_test(test_reason_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
