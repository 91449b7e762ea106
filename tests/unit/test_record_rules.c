/* Unit tests of gg_record's field rules: every rejection reason is reachable and each bad message
 * gets exactly its reason, a message and a zeroed record; plus the exact created_at conversion
 * and the small public helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "record_messages.h"

typedef struct reject_case {
    const char *name;
    const char *key;
    size_t keylen;
    const char *value;
    size_t valuelen;
    size_t max_bytes;
    gg_record_reason want;
} reject_case;

static const reject_case reject_cases[] = {
    {"reject_value_null", S("3"), NULL, 0, 0, GG_RECORD_EMPTY_VALUE},
    {"reject_value_zero_length", S("3"), S(""), 0, GG_RECORD_EMPTY_VALUE},
    {"reject_value_over_max_bytes", S("3"), S(BASE), 64, GG_RECORD_VALUE_TOO_LARGE},
    {"reject_nul_raw_trailing", S("3"), S(BASE "\0"), 0, GG_RECORD_NUL_BYTE},
    {"reject_nul_raw_in_string", S("3"), S(PAY_UNIT("\"unit\": \"M\0W\"")), 0, GG_RECORD_NUL_BYTE},
    {"reject_nul_escaped_in_string", S("3"), S(PAY_UNIT("\"unit\": \"M\\u0000W\"")), 0,
     GG_RECORD_NUL_BYTE},
    {"reject_nul_escaped_in_key", S("3"), S(ENV_SV("\"a\\u0000b\": 1")), 0, GG_RECORD_NUL_BYTE},
    {"reject_nul_in_payload_string", S("3"), S(ENV_P("\"{\\\"unit\\\": \\\"\\\\u0000\\\"}\"")), 0,
     GG_RECORD_NUL_BYTE},
    {"reject_utf8_lone_byte", S("3"), S(PAY_UNIT("\"unit\": \"\xff\"")), 0, GG_RECORD_INVALID_UTF8},
    {"reject_utf8_latin1", S("3"),
     S(PAY_UNIT("\"unit\": \"M\xe9"
                "W\"")),
     0, GG_RECORD_INVALID_UTF8},
    {"reject_utf8_overlong", S("3"), S(PAY_UNIT("\"unit\": \"\xc0\xaf\"")), 0,
     GG_RECORD_INVALID_UTF8},
    {"reject_utf8_surrogate", S("3"), S(PAY_UNIT("\"unit\": \"\xed\xa0\x80\"")), 0,
     GG_RECORD_INVALID_UTF8},
    {"reject_utf8_cut_sequence", S("3"), S(PAY_UNIT("\"unit\": \"\xe2\x82\"")), 0,
     GG_RECORD_INVALID_UTF8},
    {"reject_utf8_after_object", S("3"), S(BASE "\xff"), 0, GG_RECORD_INVALID_UTF8},
    {"reject_json_truncated", S("3"), S("{\"payload\": "), 0, GG_RECORD_MALFORMED_JSON},
    {"reject_json_garbage", S("3"), S("not json"), 0, GG_RECORD_MALFORMED_JSON},
    {"reject_json_whitespace_only", S("3"), S("  \n "), 0, GG_RECORD_MALFORMED_JSON},
    {"reject_json_trailing_text", S("3"), S(BASE " x"), 0, GG_RECORD_MALFORMED_JSON},
    {"reject_json_two_objects", S("3"), S("{} {}"), 0, GG_RECORD_MALFORMED_JSON},
    {"reject_json_single_quotes", S("3"), S("{'payload': 1}"), 0, GG_RECORD_MALFORMED_JSON},
    {"reject_json_nan", S("3"), S(PAY_MOD("\"modality\": NaN")), 0, GG_RECORD_MALFORMED_JSON},
    {"reject_dup_envelope_key", S("3"), S(OBJ4(F_PAY, F_CAT, F_CAT, F_SV)), 0,
     GG_RECORD_DUPLICATE_KEY},
    {"reject_dup_payload_object_key", S("3"), S(PAY_UNIT(F_MOD)), 0, GG_RECORD_DUPLICATE_KEY},
    {"reject_dup_payload_string_key", S("3"),
     S(ENV_P("\"{\\\"modality\\\": 1, \\\"modality\\\": 2}\"")), 0, GG_RECORD_DUPLICATE_KEY},
    {"reject_number_real_overflow", S("3"), S(PAY_MOD("\"modality\": 1e999")), 0,
     GG_RECORD_NUMBER_OUT_OF_RANGE},
    {"reject_number_integer_overflow", S("3"), S(PAY_SID("\"sensor_id\": 99999999999999999999")), 0,
     GG_RECORD_NUMBER_OUT_OF_RANGE},
    {"reject_number_overflow_in_payload_string", S("3"), S(ENV_P("\"{\\\"modality\\\": -1e400}\"")),
     0, GG_RECORD_NUMBER_OUT_OF_RANGE},
    {"reject_value_array", S("3"), S("[1, 2]"), 0, GG_RECORD_VALUE_NOT_OBJECT},
    {"reject_value_string", S("3"), S("\"text\""), 0, GG_RECORD_VALUE_NOT_OBJECT},
    {"reject_value_number", S("3"), S("42"), 0, GG_RECORD_VALUE_NOT_OBJECT},
    {"reject_value_null_literal", S("3"), S("null"), 0, GG_RECORD_VALUE_NOT_OBJECT},
    {"reject_schema_version_string", S("3"), S(ENV_SV("\"schema_version\": \"1\"")), 0,
     GG_RECORD_SCHEMA_VERSION_BAD_TYPE},
    {"reject_schema_version_real", S("3"), S(ENV_SV("\"schema_version\": 1.0")), 0,
     GG_RECORD_SCHEMA_VERSION_BAD_TYPE},
    {"reject_schema_version_2", S("3"), S(ENV_SV("\"schema_version\": 2")), 0,
     GG_RECORD_SCHEMA_VERSION_UNSUPPORTED},
    {"reject_schema_version_0", S("3"), S(ENV_SV("\"schema_version\": 0")), 0,
     GG_RECORD_SCHEMA_VERSION_UNSUPPORTED},
    {"reject_schema_version_2_before_fields", S("3"), S("{\"schema_version\": 2}"), 0,
     GG_RECORD_SCHEMA_VERSION_UNSUPPORTED},
    {"reject_payload_absent", S("3"), S(OBJ4("\"x1\": 0", F_CID, F_CAT, F_SV)), 0,
     GG_RECORD_PAYLOAD_MISSING},
    {"reject_payload_null", S("3"), S(ENV_P("null")), 0, GG_RECORD_PAYLOAD_MISSING},
    {"reject_payload_number", S("3"), S(ENV_P("42")), 0, GG_RECORD_PAYLOAD_BAD_TYPE},
    {"reject_payload_array", S("3"), S(ENV_P("[" PAYLOAD "]")), 0, GG_RECORD_PAYLOAD_BAD_TYPE},
    {"reject_payload_boolean", S("3"), S(ENV_P("true")), 0, GG_RECORD_PAYLOAD_BAD_TYPE},
    {"reject_payload_string_not_json", S("3"), S(ENV_P("\"{not json\"")), 0,
     GG_RECORD_PAYLOAD_BAD_JSON},
    {"reject_payload_string_empty", S("3"), S(ENV_P("\"\"")), 0, GG_RECORD_PAYLOAD_BAD_JSON},
    {"reject_payload_string_truncated", S("3"), S(ENV_P("\"{\\\"sensor_id\\\": 3\"")), 0,
     GG_RECORD_PAYLOAD_BAD_JSON},
    {"reject_payload_string_trailing", S("3"), S(ENV_P("\"{} x\"")), 0, GG_RECORD_PAYLOAD_BAD_JSON},
    {"reject_payload_string_array", S("3"), S(ENV_P("\"[1, 2]\"")), 0,
     GG_RECORD_PAYLOAD_NOT_OBJECT},
    {"reject_payload_string_number", S("3"), S(ENV_P("\"42\"")), 0, GG_RECORD_PAYLOAD_NOT_OBJECT},
    {"reject_payload_triple_encoded", S("3"), S(ENV_P("\"\\\"{}\\\"\"")), 0,
     GG_RECORD_PAYLOAD_NOT_OBJECT},
    {"reject_key_slash", S("a/b"), S(BASE), 0, GG_RECORD_KEY_INVALID},
    {"reject_key_dotdot", S(".."), S(BASE), 0, GG_RECORD_KEY_INVALID},
    {"reject_key_dot", S("."), S(BASE), 0, GG_RECORD_KEY_INVALID},
    {"reject_key_too_long", S(ID65), S(BASE), 0, GG_RECORD_KEY_INVALID},
    {"reject_key_with_nul", S("3\0"), S(BASE), 0, GG_RECORD_KEY_INVALID},
    {"reject_key_with_space", S("3 "), S(BASE), 0, GG_RECORD_KEY_INVALID},
    {"reject_key_non_ascii", S("\xc3\xa9"), S(BASE), 0, GG_RECORD_KEY_INVALID},
    {"reject_key_differs", S("4"), S(BASE), 0, GG_RECORD_KEY_MISMATCH},
    {"reject_key_leading_zero", S("03"), S(BASE), 0, GG_RECORD_KEY_MISMATCH},
    {"reject_key_case_differs", S("s1"), S(PAY_SID("\"sensor_id\": \"S1\"")), 0,
     GG_RECORD_KEY_MISMATCH},
    {"reject_key_differs_string_form", S("4"), S(BASE_STRING), 0, GG_RECORD_KEY_MISMATCH},
    {"reject_sensor_id_absent_no_key", NULL, 0, S(PAY_SID("\"x1\": 0")), 0,
     GG_RECORD_SENSOR_ID_MISSING},
    {"reject_sensor_id_null_empty_key", S(""), S(PAY_SID("\"sensor_id\": null")), 0,
     GG_RECORD_SENSOR_ID_MISSING},
    {"reject_sensor_id_real", S("3"), S(PAY_SID("\"sensor_id\": 3.0")), 0,
     GG_RECORD_SENSOR_ID_BAD_TYPE},
    {"reject_sensor_id_boolean", S("3"), S(PAY_SID("\"sensor_id\": true")), 0,
     GG_RECORD_SENSOR_ID_BAD_TYPE},
    {"reject_sensor_id_array", S("3"), S(PAY_SID("\"sensor_id\": [3]")), 0,
     GG_RECORD_SENSOR_ID_BAD_TYPE},
    {"reject_sensor_id_object", NULL, 0, S(PAY_SID("\"sensor_id\": {\"id\": 3}")), 0,
     GG_RECORD_SENSOR_ID_BAD_TYPE},
    {"reject_sensor_id_negative", S("3"), S(PAY_SID("\"sensor_id\": -1")), 0,
     GG_RECORD_SENSOR_ID_INVALID},
    {"reject_sensor_id_empty_string", NULL, 0, S(PAY_SID("\"sensor_id\": \"\"")), 0,
     GG_RECORD_SENSOR_ID_INVALID},
    {"reject_sensor_id_space", NULL, 0, S(PAY_SID("\"sensor_id\": \"a b\"")), 0,
     GG_RECORD_SENSOR_ID_INVALID},
    {"reject_sensor_id_slash", NULL, 0, S(PAY_SID("\"sensor_id\": \"a/b\"")), 0,
     GG_RECORD_SENSOR_ID_INVALID},
    {"reject_sensor_id_dotdot", NULL, 0, S(PAY_SID("\"sensor_id\": \"..\"")), 0,
     GG_RECORD_SENSOR_ID_INVALID},
    {"reject_sensor_id_too_long", NULL, 0, S(PAY_SID("\"sensor_id\": \"" ID65 "\"")), 0,
     GG_RECORD_SENSOR_ID_INVALID},
    {"reject_sensor_id_non_ascii", NULL, 0, S(PAY_SID("\"sensor_id\": \"st\\u00e9\"")), 0,
     GG_RECORD_SENSOR_ID_INVALID},
    {"reject_modality_absent", S("3"), S(PAY_MOD("\"x1\": 0")), 0, GG_RECORD_MODALITY_MISSING},
    {"reject_modality_null", S("3"), S(PAY_MOD("\"modality\": null")), 0,
     GG_RECORD_MODALITY_MISSING},
    {"reject_modality_string", S("3"), S(PAY_MOD("\"modality\": \"421\"")), 0,
     GG_RECORD_MODALITY_BAD_TYPE},
    {"reject_modality_boolean", S("3"), S(PAY_MOD("\"modality\": false")), 0,
     GG_RECORD_MODALITY_BAD_TYPE},
    {"reject_modality_array", S("3"), S(PAY_MOD("\"modality\": [421]")), 0,
     GG_RECORD_MODALITY_BAD_TYPE},
    {"reject_unit_number", S("3"), S(PAY_UNIT("\"unit\": 1")), 0, GG_RECORD_UNIT_BAD_TYPE},
    {"reject_unit_array", S("3"), S(PAY_UNIT("\"unit\": [\"MW\"]")), 0, GG_RECORD_UNIT_BAD_TYPE},
    {"reject_unit_too_long", S("3"), S(PAY_UNIT("\"unit\": \"ABCDEFGHIJKLMNOPQ\"")), 0,
     GG_RECORD_UNIT_INVALID},
    {"reject_unit_newline", S("3"), S(PAY_UNIT("\"unit\": \"M\\nW\"")), 0, GG_RECORD_UNIT_INVALID},
    {"reject_unit_delete_char", S("3"), S(PAY_UNIT("\"unit\": \"\\u007f\"")), 0,
     GG_RECORD_UNIT_INVALID},
    {"reject_aspect_absent", S("3"), S(PAY_ASP("\"x1\": 0")), 0, GG_RECORD_ASPECT_MISSING},
    {"reject_aspect_null", S("3"), S(PAY_ASP("\"temporal_aspect\": null")), 0,
     GG_RECORD_ASPECT_MISSING},
    {"reject_aspect_number", S("3"), S(PAY_ASP("\"temporal_aspect\": 1")), 0,
     GG_RECORD_ASPECT_BAD_TYPE},
    {"reject_aspect_upper_case", S("3"), S(PAY_ASP("\"temporal_aspect\": \"REAL_TIME\"")), 0,
     GG_RECORD_ASPECT_INVALID},
    {"reject_aspect_unknown", S("3"), S(PAY_ASP("\"temporal_aspect\": \"forecast\"")), 0,
     GG_RECORD_ASPECT_INVALID},
    {"reject_aspect_empty", S("3"), S(PAY_ASP("\"temporal_aspect\": \"\"")), 0,
     GG_RECORD_ASPECT_INVALID},
    {"reject_aspect_padded", S("3"), S(PAY_ASP("\"temporal_aspect\": \" real_time\"")), 0,
     GG_RECORD_ASPECT_INVALID},
    {"reject_created_at_absent", S("3"), S(ENV_CAT("\"x1\": 0")), 0, GG_RECORD_CREATED_AT_MISSING},
    {"reject_created_at_null", S("3"), S(ENV_CAT("\"created_at\": null")), 0,
     GG_RECORD_CREATED_AT_MISSING},
    {"reject_created_at_string", S("3"), S(ENV_CAT("\"created_at\": \"1764000000.001471\"")), 0,
     GG_RECORD_CREATED_AT_BAD_TYPE},
    {"reject_created_at_boolean", S("3"), S(ENV_CAT("\"created_at\": true")), 0,
     GG_RECORD_CREATED_AT_BAD_TYPE},
    {"reject_created_at_zero", S("3"), S(ENV_CAT("\"created_at\": 0")), 0,
     GG_RECORD_CREATED_AT_OUT_OF_RANGE},
    {"reject_created_at_negative", S("3"), S(ENV_CAT("\"created_at\": -1.5")), 0,
     GG_RECORD_CREATED_AT_OUT_OF_RANGE},
    {"reject_created_at_below_a_microsecond", S("3"), S(ENV_CAT("\"created_at\": 1e-7")), 0,
     GG_RECORD_CREATED_AT_OUT_OF_RANGE},
    {"reject_created_at_year_2200", S("3"), S(ENV_CAT("\"created_at\": 7258118400")), 0,
     GG_RECORD_CREATED_AT_OUT_OF_RANGE},
    {"reject_created_at_milliseconds", S("3"), S(ENV_CAT("\"created_at\": 1764000000001")), 0,
     GG_RECORD_CREATED_AT_OUT_OF_RANGE},
    {"reject_created_at_huge_real", S("3"), S(ENV_CAT("\"created_at\": 1e300")), 0,
     GG_RECORD_CREATED_AT_OUT_OF_RANGE},
    {"reject_correlation_id_number", S("3"), S(ENV_CID("\"correlation_id\": 123")), 0,
     GG_RECORD_CORRELATION_ID_BAD_TYPE},
    {"reject_correlation_id_object", S("3"), S(ENV_CID("\"correlation_id\": {}")), 0,
     GG_RECORD_CORRELATION_ID_BAD_TYPE},
    {"reject_correlation_id_empty", S("3"), S(ENV_CID("\"correlation_id\": \"\"")), 0,
     GG_RECORD_CORRELATION_ID_INVALID},
    {"reject_correlation_id_words", S("3"), S(ENV_CID("\"correlation_id\": \"not-a-uuid\"")), 0,
     GG_RECORD_CORRELATION_ID_INVALID},
    {"reject_correlation_id_no_dashes", S("3"),
     S(ENV_CID("\"correlation_id\": \"906f764e4cc54d3b9d3e2f1a8b0f9c11\"")), 0,
     GG_RECORD_CORRELATION_ID_INVALID},
    {"reject_correlation_id_non_hex", S("3"),
     S(ENV_CID("\"correlation_id\": \"906f764e-4cc5-4d3b-9d3e-2f1a8b0f9c1g\"")), 0,
     GG_RECORD_CORRELATION_ID_INVALID},
    {"reject_correlation_id_braced", S("3"),
     S(ENV_CID("\"correlation_id\": \"{906f764e-4cc5-4d3b-9d3e-2f1a8b0f9c11}\"")), 0,
     GG_RECORD_CORRELATION_ID_INVALID},
    {"reject_correlation_id_dash_moved", S("3"),
     S(ENV_CID("\"correlation_id\": \"906f764-e4cc5-4d3b-9d3e-2f1a8b0f9c11\"")), 0,
     GG_RECORD_CORRELATION_ID_INVALID},
    {"reject_correlation_id_too_long", S("3"), S(ENV_CID("\"correlation_id\": \"" UUID "0\"")), 0,
     GG_RECORD_CORRELATION_ID_INVALID},
};

#define REJECT_CASES (sizeof(reject_cases) / sizeof(reject_cases[0]))

static void test_reject(void **state)
{
    const reject_case *c = *state;
    char msg[MSG_LEN];
    gg_record rec, zero;
    gg_record_reason r;

    memset(&rec, 0xa5, sizeof(rec));
    memset(&zero, 0, sizeof(zero));
    r = gg_record_parse(c->key, c->keylen, c->value, c->valuelen, c->max_bytes, &rec, msg,
                        sizeof(msg));
    if (r != c->want)
        print_error("%s: got %s (%s), want %s\n", c->name, gg_record_reason_code(r), msg,
                    gg_record_reason_code(c->want));
    assert_int_equal(r, c->want);
    assert_true(msg[0] != '\0');
    assert_memory_equal(&rec, &zero, sizeof(rec));
}

static void test_every_reason_has_a_case(void **state)
{
    (void)state;
    for (int r = GG_RECORD_OK + 1; r < GG_RECORD_REASON_COUNT; r++) {
        size_t hits = 0;
        for (size_t i = 0; i < REJECT_CASES; i++)
            hits += reject_cases[i].want == (gg_record_reason)r;
        if (hits == 0)
            print_error("no case for %s\n", gg_record_reason_code((gg_record_reason)r));
        assert_true(hits > 0);
    }
}

static void test_reason_codes_distinct_snake_case(void **state)
{
    (void)state;
    for (int a = 0; a < GG_RECORD_REASON_COUNT; a++) {
        const char *code = gg_record_reason_code((gg_record_reason)a);
        assert_non_null(code);
        assert_true(code[0] >= 'a' && code[0] <= 'z');
        assert_int_equal(strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(code));
        assert_string_not_equal(code, "unknown");
        for (int b = 0; b < a; b++)
            assert_string_not_equal(code, gg_record_reason_code((gg_record_reason)b));
    }
    assert_string_equal(gg_record_reason_code(GG_RECORD_OK), "ok");
    assert_string_equal(gg_record_reason_code(GG_RECORD_REASON_COUNT), "unknown");
    assert_string_equal(gg_record_reason_code((gg_record_reason)-1), "unknown");
}

/* ---- the first failing check wins, in the documented order ---- */

static void test_first_failure_in_order(void **state)
{
    gg_record rec;
    char msg[MSG_LEN];

    (void)state;
    /* schema_version before payload */
    assert_int_equal(parse_text("3", "{\"schema_version\": 2, \"payload\": 1}", &rec, msg),
                     GG_RECORD_SCHEMA_VERSION_UNSUPPORTED);
    /* key before sensor_id's type */
    assert_int_equal(parse_text("a/b", PAY_SID("\"sensor_id\": true"), &rec, msg),
                     GG_RECORD_KEY_INVALID);
    /* payload fields before envelope fields */
    assert_int_equal(parse_text("3",
                                OBJ4("\"payload\": " OBJ4(F_SID, "\"x1\": 0", F_UNIT, F_ASP), F_CID,
                                     "\"created_at\": \"now\"", F_SV),
                                &rec, msg),
                     GG_RECORD_MODALITY_MISSING);
    /* size before content */
    assert_int_equal(gg_record_parse("3", 1, "\xff\xff\xff", 3, 2, &rec, msg, sizeof(msg)),
                     GG_RECORD_VALUE_TOO_LARGE);
}

/* ---- messages ---- */

static void test_message_text(void **state)
{
    gg_record rec;
    char msg[MSG_LEN], small[8];
    const char *bad = PAY_MOD("\"modality\": \"421\"");

    (void)state;
    assert_int_equal(parse_text("3", bad, &rec, msg), GG_RECORD_MODALITY_BAD_TYPE);
    assert_string_equal(msg, "payload.modality must be a number, got string");
    assert_int_equal(gg_record_parse("3", 1, bad, strlen(bad), 0, &rec, small, sizeof(small)),
                     GG_RECORD_MODALITY_BAD_TYPE);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, msg, sizeof(small) - 1);
    assert_int_equal(gg_record_parse("3", 1, bad, strlen(bad), 0, &rec, NULL, 0),
                     GG_RECORD_MODALITY_BAD_TYPE);
    assert_int_equal(parse_text("4", BASE, &rec, msg), GG_RECORD_KEY_MISMATCH);
    assert_non_null(strstr(msg, "\"4\""));
    assert_non_null(strstr(msg, "\"3\""));
}

/* ---- the small public helpers ---- */

static void test_aspect_names(void **state)
{
    gg_aspect a;

    (void)state;
    for (int i = GG_ASPECT_REAL_TIME; i <= GG_ASPECT_EDGE_PREDICTION; i++) {
        const char *name = gg_aspect_name((gg_aspect)i);
        assert_non_null(name);
        assert_int_equal(gg_aspect_parse(name, &a), 0);
        assert_int_equal(a, i);
    }
    assert_string_equal(gg_aspect_name(GG_ASPECT_REAL_TIME), "real_time");
    assert_string_equal(gg_aspect_name(GG_ASPECT_EDGE_PREDICTION), "edge_prediction");
    assert_null(gg_aspect_name((gg_aspect)(GG_ASPECT_EDGE_PREDICTION + 1)));
    assert_int_equal(gg_aspect_parse("Real_Time", &a), -1);
    assert_int_equal(gg_aspect_parse("", &a), -1);
    assert_int_equal(gg_aspect_parse(NULL, &a), -1);
}

static void test_station_id_valid(void **state)
{
    static const char *const good[] = {"3", "0", "station-7", "a.b_c-D", "...", ".a", ID65 + 1};
    static const char *const bad[] = {"", ".", "..", "a b", "a/b", "a%2F", "a:b", "é", ID65};

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(gg_record_station_id_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(gg_record_station_id_valid(bad[i], strlen(bad[i])));
    /* the length decides, not a terminator */
    assert_true(gg_record_station_id_valid("12/", 2));
    assert_false(gg_record_station_id_valid("1\0"
                                            "2",
                                            3));
    assert_false(gg_record_station_id_valid(NULL, 0));
}

static void test_format_created_at(void **state)
{
    char buf[GG_RECORD_CREATED_AT_BUFLEN], tiny[4];

    (void)state;
    assert_int_equal(gg_record_format_created_at(INT64_C(1764000000001471), buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1764000000.001471");
    assert_int_equal(gg_record_format_created_at(INT64_C(1764000000000000), buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1764000000.000000");
    assert_int_equal(gg_record_format_created_at(-1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "-0.000001");
    assert_int_equal(gg_record_format_created_at(INT64_MIN, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "-9223372036854.775808");
    assert_int_equal(gg_record_format_created_at(INT64_C(1764000000001471), tiny, sizeof(tiny)),
                     -1);
    assert_string_equal(tiny, "");
    /* exactly enough room */
    assert_int_equal(gg_record_format_created_at(1, buf, strlen("0.000001") + 1), 0);
    assert_int_equal(gg_record_format_created_at(1, buf, strlen("0.000001")), -1);
    assert_int_equal(gg_record_format_created_at(1, NULL, 0), -1);
}

/* Decimal text of every magnitude in range parses to exactly its microsecond, including the
 * years past 2038 where a double holds only half-microsecond steps. */
static void test_created_at_text_exact(void **state)
{
    static const int64_t bases_s[] = {1, 999999999, 1764000000, 2147483648, 4102444800, 7258118399};
    uint64_t rng = 0x2545f4914f6cdd1du;
    char text[GG_RECORD_CREATED_AT_BUFLEN], value[512];
    gg_record rec;

    (void)state;
    for (size_t b = 0; b < sizeof(bases_s) / sizeof(bases_s[0]); b++) {
        for (int i = 0; i < 2000; i++) {
            int64_t us;

            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            us = bases_s[b] * 1000000 + (int64_t)(rng % 1000000);
            assert_int_equal(gg_record_format_created_at(us, text, sizeof(text)), 0);
            snprintf(value, sizeof(value), ENV_CAT("\"created_at\": %s"), text);
            assert_int_equal(parse_text("3", value, &rec, NULL), GG_RECORD_OK);
            assert_int_equal(rec.created_at_us, us);
        }
    }
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_every_reason_has_a_case),
        cmocka_unit_test(test_reason_codes_distinct_snake_case),
        cmocka_unit_test(test_first_failure_in_order),
        cmocka_unit_test(test_message_text),
        cmocka_unit_test(test_aspect_names),
        cmocka_unit_test(test_station_id_valid),
        cmocka_unit_test(test_format_created_at),
        cmocka_unit_test(test_created_at_text_exact),
    };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]), NALL = NFIXED + REJECT_CASES };
    struct CMUnitTest tests[NALL];

    /* one named case per table row, so a failure names the message that broke */
    memcpy(tests, fixed, sizeof(fixed));
    for (size_t i = 0; i < REJECT_CASES; i++) {
        tests[NFIXED + i] = (struct CMUnitTest){.name = reject_cases[i].name,
                                                .test_func = test_reject,
                                                .initial_state = (void *)&reject_cases[i]};
    }
    return cmocka_run_group_tests_name("gg_record_rules", tests, NULL, NULL);
}
