/* Unit tests of gg_log (JSON lines) and gg_backoff (capped exponential growth with jitter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_backoff.h"
#include "gg_log.h"

static void test_log_line_is_json_with_fields(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    gg_log log;
    gg_log_init(&log, "ingest", GG_LOG_INFO, out);
    gg_info(&log, "stored", "{s:i, s:s}", "count", 3, "station", "7");
    fflush(out);
    json_error_t err;
    json_t *j = json_loads(buf, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "service")), "ingest");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "stored");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
    assert_string_equal(json_string_value(json_object_get(j, "station")), "7");
    const char *t = json_string_value(json_object_get(j, "time"));
    assert_non_null(t);
    assert_int_equal(strlen(t), 27); /* 2026-01-02T03:04:05.123456Z */
    assert_int_equal(buf[len - 1], '\n');
    json_decref(j);
    gg_log_destroy(&log);
    fclose(out);
    free(buf);
}

static void test_log_level_filters(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    gg_log log;
    gg_log_init(&log, "cache", GG_LOG_WARN, out);
    gg_info(&log, "hidden", NULL);
    gg_error(&log, "shown", NULL);
    fflush(out);
    assert_null(strstr(buf, "hidden"));
    assert_non_null(strstr(buf, "shown"));
    gg_log_destroy(&log);
    fclose(out);
    free(buf);
}

static void test_log_escapes_and_survives_bad_format(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    gg_log log;
    gg_log_init(&log, "x", GG_LOG_DEBUG, out);
    gg_debug(&log, "quote \" and\nnewline", "{s:s}", "k", "v\"");
    gg_debug(&log, "bad format still logs", "{s:", "k");
    fflush(out);
    char *second = strchr(buf, '\n');
    assert_non_null(second);
    *second = '\0';
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "quote \" and\nnewline");
    json_decref(j);
    assert_non_null(strstr(second + 1, "bad format still logs"));
    gg_log_destroy(&log);
    fclose(out);
    free(buf);
}

static void test_log_level_parse(void **state)
{
    (void)state;
    gg_log_level l;
    assert_int_equal(gg_log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, GG_LOG_DEBUG);
    assert_int_equal(gg_log_level_parse("warning", &l), 0);
    assert_int_equal(l, GG_LOG_WARN);
    assert_int_equal(gg_log_level_parse("loud", &l), -1);
    assert_string_equal(gg_log_level_name(GG_LOG_ERROR), "error");
}

static void test_backoff_grows_and_caps(void **state)
{
    (void)state;
    gg_backoff b;
    gg_backoff_init(&b, 100, 2000);
    uint32_t ceiling = 100;
    for (int i = 0; i < 20; i++) {
        uint32_t d = gg_backoff_next(&b);
        assert_true(d >= ceiling / 2);
        assert_true(d <= ceiling);
        ceiling = ceiling * 2 > 2000 ? 2000 : ceiling * 2;
    }
}

static void test_backoff_reset(void **state)
{
    (void)state;
    gg_backoff b;
    gg_backoff_init(&b, 50, 10000);
    for (int i = 0; i < 10; i++)
        gg_backoff_next(&b);
    gg_backoff_reset(&b);
    assert_true(gg_backoff_next(&b) <= 50);
}

static void test_backoff_jitter_varies(void **state)
{
    (void)state;
    gg_backoff b;
    gg_backoff_init(&b, 10000, 10000);
    uint32_t first = gg_backoff_next(&b);
    int differs = 0;
    for (int i = 0; i < 50; i++)
        differs |= gg_backoff_next(&b) != first;
    assert_true(differs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_line_is_json_with_fields),
        cmocka_unit_test(test_log_level_filters),
        cmocka_unit_test(test_log_escapes_and_survives_bad_format),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_backoff_grows_and_caps),
        cmocka_unit_test(test_backoff_reset),
        cmocka_unit_test(test_backoff_jitter_varies),
    };
    return cmocka_run_group_tests_name("gg_log_backoff", tests, NULL, NULL);
}
