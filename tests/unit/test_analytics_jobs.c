/* Unit tests of the analytics job model: WebHCat status mapping, records, the API view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "analytics_job.h"

static analytics_remote_state map(const char *answer)
{
    json_t *j = json_loads(answer, 0, NULL);
    assert_non_null(j);
    analytics_remote_state rs;
    assert_int_equal(analytics_job_map_remote(j, &rs), 0);
    json_decref(j);
    return rs;
}

static void test_state_strings(void **state)
{
    (void)state;
    static const struct {
        const char *state;
        analytics_job_state want;
    } cases[] = {{"PREP", AJ_QUEUED},
                 {"RUNNING", AJ_RUNNING},
                 {"SUCCEEDED", AJ_SUCCEEDED},
                 {"FAILED", AJ_FAILED},
                 {"KILLED", AJ_KILLED}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char answer[256];
        snprintf(answer, sizeof(answer),
                 "{\"status\": {\"state\": \"%s\", \"runState\": 1}, \"exitValue\": null}",
                 cases[i].state);
        assert_int_equal(map(answer).state, cases[i].want); /* state wins over runState */
    }
}

static void test_run_state_numbers(void **state)
{
    (void)state;
    static const analytics_job_state want[] = {AJ_RUNNING, AJ_SUCCEEDED, AJ_FAILED, AJ_QUEUED,
                                               AJ_KILLED};
    for (int rs = 1; rs <= 5; rs++) {
        char answer[128];
        snprintf(answer, sizeof(answer), "{\"status\": {\"runState\": %d}}", rs);
        assert_int_equal(map(answer).state, want[rs - 1]);
    }
    json_t *j = json_loads("{\"status\": {\"runState\": 9}}", 0, NULL);
    analytics_remote_state r;
    assert_int_equal(analytics_job_map_remote(j, &r), -1);
    json_decref(j);
    j = json_loads("{\"id\": \"job_1_1\"}", 0, NULL);
    assert_int_equal(analytics_job_map_remote(j, &r), -1);
    json_decref(j);
}

static void test_exit_value_and_details(void **state)
{
    (void)state;
    analytics_remote_state rs =
        map("{\"status\": {\"state\": \"SUCCEEDED\", \"startTime\": 1700000000123, "
            "\"failureInfo\": \"NA\"}, \"exitValue\": 0, \"percentComplete\": \"map 100% "
            "reduce 100%\", \"completed\": \"done\"}");
    assert_int_equal(rs.state, AJ_SUCCEEDED);
    assert_int_equal(rs.exit_value, 0);
    assert_int_equal(rs.progress, 100);
    assert_true(rs.started_ms == 1700000000123LL);
    assert_string_equal(rs.failure, "");
    /* The controller job succeeded but hive itself failed. */
    rs = map("{\"status\": {\"state\": \"SUCCEEDED\"}, \"exitValue\": 64}");
    assert_int_equal(rs.state, AJ_FAILED);
    assert_int_equal(rs.exit_value, 64);
    assert_non_null(strstr(rs.failure, "64"));
    rs = map("{\"status\": {\"state\": \"FAILED\", \"failureInfo\": \"task failed\"}}");
    assert_int_equal(rs.state, AJ_FAILED);
    assert_string_equal(rs.failure, "task failed");
    rs = map("{\"status\": {\"state\": \"RUNNING\"}, \"percentComplete\": \"75% complete\"}");
    assert_int_equal(rs.progress, 75);
}

static void test_percent(void **state)
{
    (void)state;
    assert_int_equal(analytics_job_parse_percent("75% complete"), 75);
    assert_int_equal(analytics_job_parse_percent("map 100% reduce 50%"), 75);
    assert_int_equal(analytics_job_parse_percent("map 0% reduce 0%"), 0);
    assert_int_equal(analytics_job_parse_percent(NULL), -1);
    assert_int_equal(analytics_job_parse_percent("none"), -1);
    assert_int_equal(analytics_job_parse_percent("250%"), -1);
}

static void test_record_roundtrip(void **state)
{
    (void)state;
    analytics_job *j = analytics_job_new(AJ_WORDCOUNT, "20250131-235959-0a1b2c3d");
    j->state = AJ_SUCCEEDED;
    snprintf(j->webhcat_id, sizeof(j->webhcat_id), "job_1700000000000_0007");
    j->hiveql = strdup("SELECT 1;");
    j->params = json_pack("{s:s, s:[s], s:i, s:b}", "path", "/d", "words", "alice", "top", 3,
                          "case_sensitive", 0);
    snprintf(j->fingerprint, sizeof(j->fingerprint), "0123456789abcdef");
    j->created_ms = 1700000000000;
    j->finished_ms = 1700000005000;
    j->exit_value = 0;
    j->rows_total = 4;
    j->progress = 100;
    j->result = json_pack("{s:[], s:{s:i}}", "top", "words", "alice", 3);
    json_t *rec = analytics_job_record(j);
    char why[64];
    analytics_job *k = analytics_job_from_record(rec, why, sizeof(why));
    assert_non_null(k);
    assert_string_equal(k->id, j->id);
    assert_int_equal(k->kind, AJ_WORDCOUNT);
    assert_int_equal(k->state, AJ_SUCCEEDED);
    assert_string_equal(k->webhcat_id, j->webhcat_id);
    assert_string_equal(k->hiveql, "SELECT 1;");
    assert_string_equal(k->fingerprint, "0123456789abcdef");
    assert_true(k->finished_ms == j->finished_ms);
    assert_int_equal(k->rows_total, 4);
    assert_true(json_equal(k->params, j->params));
    assert_true(json_equal(k->result, j->result));
    assert_false(k->dirty);
    json_t *view = analytics_job_view(k);
    assert_string_equal(json_string_value(json_object_get(view, "state")), "succeeded");
    assert_string_equal(json_string_value(json_object_get(view, "finished_at")),
                        "2023-11-14T22:13:25.000Z");
    assert_true(json_is_null(json_object_get(view, "started_at")));
    assert_int_equal(json_integer_value(json_object_get(view, "rows_total")), 4);
    json_decref(view);
    json_decref(rec);
    analytics_job_free(k);
    analytics_job_free(j);
    /* Records this service did not write are refused. */
    static const char *const bad[] = {
        "{}", "{\"version\": 2}",
        "{\"version\": 1, \"id\": \"x\", \"kind\": \"query\", \"state\": \"queued\", "
        "\"webhcat_id\": \"\", \"hiveql\": \"\"}",
        "{\"version\": 1, \"id\": \"20250131-235959-0a1b2c3d\", \"kind\": \"x\", \"state\": "
        "\"queued\", \"webhcat_id\": \"\", \"hiveql\": \"\"}",
        "{\"version\": 1, \"id\": \"20250131-235959-0a1b2c3d\", \"kind\": \"query\", \"state\": "
        "\"done\", \"webhcat_id\": \"\", \"hiveql\": \"\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rec = json_loads(bad[i], 0, NULL);
        assert_null(analytics_job_from_record(rec, why, sizeof(why)));
        json_decref(rec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_strings),          cmocka_unit_test(test_run_state_numbers),
        cmocka_unit_test(test_exit_value_and_details), cmocka_unit_test(test_percent),
        cmocka_unit_test(test_record_roundtrip),
    };
    return cmocka_run_group_tests_name("analytics_jobs", tests, NULL, NULL);
}
