/* Unit tests of the analytics service against what a production WebHCat (or a gateway in front
 * of it) does and the kind stand-in does not: HTML error pages of a proxy, gateway errors on
 * submission, a success without an exit value, slow and failing kills, listings that are slow or
 * late. The fake of test_analytics_fake.h plays each of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "test_analytics_svc.h"

/* --- tests -------------------------------------------------------------------------------- */

static int fget(fake *f, const int *field)
{
    pthread_mutex_lock(&f->lock);
    int v = *field;
    pthread_mutex_unlock(&f->lock);
    return v;
}

/* Waits until the fake has counted at least n of something (calls it answered). */
static void await_count(fake *f, const int *counter, int n)
{
    struct timespec t0 = {0, 0};
    while (before_deadline(&t0)) {
        if (fget(f, counter) >= n)
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("the fake never counted %d calls", n);
}

static json_t *get_job(svc *s, const char *id)
{
    char path[96];
    long st;
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    json_t *j = call(s, "GET", path, NULL, &st);
    assert_int_equal(st, 200);
    return j;
}

static void quick_polls(analytics_settings *c)
{
    c->poll_interval_ms = 50;
    c->backend_timeout_ms = 500;
    c->submit_timeout_ms = 2500;
}

/* POST /v1/queries with hiveql, which must be accepted (202); then, unless until is NULL, waits
 * until the job shows that state. Returns the answer (the caller owns it). */
static json_t *submit_query(svc *s, const char *hiveql, const char *until)
{
    char body[256];
    long st;
    snprintf(body, sizeof(body), "{\"hiveql\": \"%s\"}", hiveql);
    json_t *a = call(s, "POST", "/v1/queries", body, &st);
    assert_int_equal(st, 202);
    if (until)
        json_decref(await_state(s, str(a, "id"), until));
    return a;
}

/* Only WebHCat's own 400 {"error": "Could not find job ..."} means the job is gone. An HTML 404
 * or 400 (a proxy, a wrong base URL) or 502 leaves the job running, and the job is asked about
 * less and less often while they last. */
static void test_proxy_errors_never_end_a_job(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    json_t *a = submit_query(s, "SELECT 1", "running");
    static const unsigned pages[] = {404, 400, 502};
    for (size_t k = 0; k < 3; k++) {
        int before = fget(f, &f->status_calls);
        fake_set(f, &f->status_html, pages[k]);
        await_count(f, &f->status_calls, before + 3);
        json_t *j = get_job(s, str(a, "id"));
        assert_string_equal(str(j, "state"), "running");
        json_decref(j);
    }
    pthread_mutex_lock(&f->lock);
    int n = f->status_calls;
    int64_t gap = f->status_at[n - 1] - f->status_at[n - 2];
    pthread_mutex_unlock(&f->lock);
    assert_true(gap >= 4 * 50); /* backed off from the 50 ms interval */
    fake_set(f, &f->status_html, 0);
    ffinish(f, 0, "SUCCEEDED", 0, "1\n", "");
    json_decref(await_state(s, str(a, "id"), "succeeded"));
    /* WebHCat's own answer for a job it no longer has: settled by statusdir/exit. */
    json_t *b = submit_query(s, "SELECT 2", "running");
    char path[300];
    pthread_mutex_lock(&f->lock);
    snprintf(path, sizeof(path), "%s/exit", f->jobs[1].statusdir);
    fput_locked(f, path, "0\n", 2);
    snprintf(path, sizeof(path), "%s/stdout", f->jobs[1].statusdir);
    fput_locked(f, path, "2\n", 2);
    snprintf(f->jobs[1].id, sizeof(f->jobs[1].id), "job_1700000000000_8888");
    pthread_mutex_unlock(&f->lock);
    json_decref(await_state(s, str(b, "id"), "succeeded"));
    json_decref(a);
    json_decref(b);
    svc_stop(s);
}

/* SUCCEEDED with "exitValue": null (WebHCat's job state store was cleaned up) is decided by
 * statusdir/exit, not taken as success. */
static void test_success_without_exit_value_reads_the_exit_file(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    fake_set(f, &f->null_exit, true);
    json_t *ids[3];
    for (int i = 0; i < 3; i++) {
        char q[32];
        snprintf(q, sizeof(q), "SELECT %d", i);
        ids[i] = submit_query(s, q, NULL);
    }
    ffinish(f, 0, "SUCCEEDED", 17, "", "FAILED: SemanticException [Error 10001]\n");
    ffinish(f, 1, "SUCCEEDED", 0, "5\n", "");
    pthread_mutex_lock(&f->lock);
    snprintf(f->jobs[2].state, sizeof(f->jobs[2].state), "SUCCEEDED"); /* no statusdir files */
    pthread_mutex_unlock(&f->lock);
    json_t *j = await_state(s, str(ids[0], "id"), "failed");
    assert_non_null(strstr(str(j, "error"), "status 17"));
    assert_non_null(strstr(str(j, "error"), "SemanticException"));
    json_decref(j);
    j = await_state(s, str(ids[1], "id"), "succeeded");
    assert_string_equal(
        json_string_value(json_array_get(json_array_get(json_object_get(j, "rows"), 0), 0)), "5");
    json_decref(j);
    j = await_state(s, str(ids[2], "id"), "failed");
    assert_non_null(strstr(str(j, "error"), "no exit status"));
    json_decref(j);
    for (int i = 0; i < 3; i++)
        json_decref(ids[i]);
    svc_stop(s);
}

/* A 502 or 504 of a gateway, or a 500 that is not WebHCat's JSON, may come after WebHCat queued
 * the job: the job is kept, found by its statusdir, and runs once. WebHCat's own JSON 500 is a
 * refusal. */
static void test_gateway_errors_on_submit_leave_it_unconfirmed(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    static const unsigned statuses[] = {502, 504, 500};
    for (size_t i = 0; i < 3; i++) {
        long st;
        fake_set(f, &f->submit_fail, statuses[i]);
        json_t *a = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 1\"}", &st);
        fake_set(f, &f->submit_fail, 0);
        assert_int_equal(st, 202);
        /* Accepted; the tracker may already have found it by its statusdir. */
        assert_true(strcmp(str(a, "state"), "queued") == 0 ||
                    strcmp(str(a, "state"), "running") == 0);
        assert_int_equal(fjobs(f), i + 1);
        json_decref(await_state(s, str(a, "id"), "running"));
        ffinish(f, i, "SUCCEEDED", 0, "1\n", "");
        json_t *j = await_state(s, str(a, "id"), "succeeded");
        assert_string_equal(str(j, "webhcat_job"), f->jobs[i].id);
        json_decref(j);
        json_decref(a);
    }
    assert_int_equal(fjobs(f), 3); /* each ran once */
    long st;
    fake_set(f, &f->submit_fail_json, true);
    fake_set(f, &f->submit_fail, 500);
    json_t *p = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 1\"}", &st);
    assert_int_equal(st, 502);
    json_decref(p);
    svc_stop(s);
}

static json_t *kill_job(svc *s, const char *id, long *st)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    return call(s, "DELETE", path, NULL, st);
}

/* A DELETE that outlasts the usual backend timeout, one that answers 500 after killing, and one
 * that fails without killing: each kill stays requested and is confirmed by the job's status. */
static void test_slow_and_failing_kills_are_confirmed_by_status(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    long st;
    json_t *ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = submit_query(s, "SELECT 1", "running");
    fake_set(f, &f->slow_kill_ms, 1000); /* twice the backend timeout */
    json_t *k = kill_job(s, str(ids[0], "id"), &st);
    assert_int_equal(st, 202);
    json_decref(k);
    fake_set(f, &f->slow_kill_ms, 0);
    fake_set(f, &f->kill_fail, true);
    k = kill_job(s, str(ids[1], "id"), &st);
    assert_int_equal(st, 202);
    json_decref(k);
    fake_set(f, &f->kill_fail, false);
    fake_set(f, &f->kill_refuse, 1);
    k = kill_job(s, str(ids[2], "id"), &st);
    assert_int_equal(st, 202);
    assert_true(json_is_true(json_object_get(k, "kill_requested")));
    json_decref(k);
    for (int i = 0; i < 3; i++) {
        json_t *j = await_state(s, str(ids[i], "id"), "killed");
        assert_string_equal(str(j, "error"), "killed on request");
        json_decref(j);
        json_decref(ids[i]);
    }
    assert_true(fget(f, &f->delete_calls) >= 4); /* the refused one was sent again */
    svc_stop(s);
}

static void slow_kills(analytics_settings *c)
{
    quick_polls(c);
    c->submit_timeout_ms = 3000; /* bounds a DELETE */
}

/* A DELETE the tracker sends again waits for WebHCat (YARN's kill and a Beeline "kill query",
 * seconds): meanwhile the other jobs are polled as usual, and one that ends is seen to end. */
static void test_a_slow_kill_does_not_hold_up_other_jobs(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, slow_kills);
    svc_await_loaded(s);
    json_t *a = submit_query(s, "SELECT 1", "running");
    json_t *b = submit_query(s, "SELECT 2", "running");
    fake_set(f, &f->kill_refuse, 1); /* the first DELETE fails: the tracker sends it again */
    long st;
    json_t *k = kill_job(s, str(a, "id"), &st);
    assert_int_equal(st, 202);
    json_decref(k);
    fake_set(f, &f->slow_kill_ms, 4000); /* longer than the DELETE may take */
    await_count(f, &f->delete_calls, 2); /* the one sent again is in flight */
    ffinish(f, 1, "SUCCEEDED", 0, "2\n", "");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_decref(await_state(s, str(b, "id"), "succeeded"));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (ms >= 1500) /* polled every 50 ms; the DELETE takes 3 s */
        fail_msg("the end of another job was seen %lld ms late", (long long)ms);
    fake_set(f, &f->slow_kill_ms, 0);
    json_decref(await_state(s, str(a, "id"), "killed"));
    json_decref(a);
    json_decref(b);
    svc_stop(s);
}

static void with_jdbc_url(analytics_settings *c)
{
    quick_polls(c);
    c->hive_jdbc_url = strdup("jdbc:hive2://hs2.example:10000/default;transportMode=binary");
}

/* Hive 4's bin/hive runs Beeline, which needs a connection: with GRIDGATE_HIVE_JDBC_URL set,
 * every job carries Beeline's -u URL -n user as `arg` parameters (before -e on the command
 * line); without it, none (Hive 3's command line refuses -u). */
static void test_beeline_connection_arguments_follow_the_setting(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, with_jdbc_url);
    svc_await_loaded(s);
    json_decref(submit_query(s, "SELECT 1", NULL));
    pthread_mutex_lock(&f->lock);
    const char *form = f->jobs[0].form;
    assert_non_null(strstr(form, "&arg=-u&arg=jdbc%3Ahive2%3A%2F%2Fhs2.example%3A10000%2Fdefault%"
                                 "3BtransportMode%3Dbinary&arg=-n&arg=gridgate"));
    pthread_mutex_unlock(&f->lock);
    svc_stop(s);
    s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    json_decref(submit_query(s, "SELECT 2", NULL));
    pthread_mutex_lock(&f->lock);
    assert_null(strstr(f->jobs[1].form, "arg="));
    pthread_mutex_unlock(&f->lock);
    svc_stop(s);
}

/* Hadoop may run a failed launcher again from the first statement: each job creates a guard view
 * named after its statusdir before the caller's statements and drops it after them, so that a
 * second launch stops there. */
static void test_every_job_is_guarded_against_a_second_launch(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    json_decref(submit_query(s, "INSERT INTO t VALUES (1) -- once", NULL));
    pthread_mutex_lock(&f->lock);
    char *x = strdup(f->jobs[0].execute);
    pthread_mutex_unlock(&f->lock);
    const char *create = strstr(x, "\nCREATE VIEW default.gridgate_once_");
    const char *insert = strstr(x, "INSERT INTO t VALUES (1) -- once\n;\n");
    const char *drop = strstr(x, "DROP VIEW default.gridgate_once_");
    assert_true(create && insert && drop && create < insert && insert < drop);
    assert_memory_equal(create + 13, drop + 10, 8 + 14 + 16); /* the same view */
    free(x);
    svc_stop(s);
}

/* A submission whose answer was lost is looked for in a listing that is slower than the usual
 * backend timeout and does not show the job at first (WebHCat still staging it): it is found. */
static void test_recovery_waits_for_a_slow_and_late_listing(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    fake_set(f, &f->slow_jobs_ms, 800); /* longer than the backend timeout */
    fake_set(f, &f->list_hide, 2);
    fake_set(f, &f->submit_fail, 504);
    json_t *a = submit_query(s, "SELECT 1", NULL);
    fake_set(f, &f->submit_fail, 0);
    json_decref(await_state(s, str(a, "id"), "running"));
    assert_int_equal(fjobs(f), 1);
    ffinish(f, 0, "SUCCEEDED", 0, "1\n", "");
    json_decref(await_state(s, str(a, "id"), "succeeded"));
    json_decref(a);
    svc_stop(s);
}

/* A record left by a crash during submission whose job WebHCat never lists, though its launcher
 * started (statusdir/stderr exists): followed by its statusdir until the exit status appears,
 * not failed. */
static void test_unlisted_job_with_a_launched_statusdir_is_followed(void **state)
{
    fake *f = *state;
    const char *id = "20250101-000000-0000000c";
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char rec[512]; /* made 10 s ago: past twice the submission timeout, within the grace */
    snprintf(rec, sizeof(rec),
             "{\"version\": 1, \"id\": \"%s\", \"kind\": \"query\", \"state\": \"queued\", "
             "\"webhcat_id\": \"\", \"hiveql\": \"SELECT 3\", \"created_ms\": %lld}",
             id, (long long)now.tv_sec * 1000 - 10000);
    fput(f, "/jobs/20250101-000000-0000000c/job.json", rec);
    fput(f, "/jobs/20250101-000000-0000000c/status/stderr", "Query ID = x\n");
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    int before = fget(f, &f->list_calls);
    await_count(f, &f->list_calls, before + 3);
    json_t *j = get_job(s, id);
    assert_string_equal(str(j, "state"), "queued");
    json_decref(j);
    fput(f, "/jobs/20250101-000000-0000000c/status/stdout", "3\n");
    fput(f, "/jobs/20250101-000000-0000000c/status/exit", "0\n");
    j = await_state(s, id, "succeeded");
    assert_string_equal(
        json_string_value(json_array_get(json_array_get(json_object_get(j, "rows"), 0), 0)), "3");
    json_decref(j);
    svc_stop(s);
}

/* Rows printed to stdout (a last statement that is not a query) can lose their tail when the
 * launcher stops copying stdout 10 s after hive exited, with exit 0 all the same: fewer rows than
 * Hive says it fetched ("Fetched: N row(s)", or Beeline's "N rows selected") fail the job
 * rather than pass as a short result. */
static void test_stdout_shorter_than_hive_fetched_fails(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, quick_polls);
    svc_await_loaded(s);
    json_t *ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = submit_query(s, "SHOW FUNCTIONS", NULL);
    ffinish(f, 0, "SUCCEEDED", 0, "abs\nacos\n",
            "OK\nTime taken: 0.2 seconds, Fetched: 289 row(s)\n");
    ffinish(f, 1, "SUCCEEDED", 0, "abs\nacos\n", "2 rows selected (0.2 seconds)\n");
    ffinish(f, 2, "SUCCEEDED", 0, "| abs |\n| acos |\n| asin |\n",
            "INFO  : OK\n3,017 rows selected (0.2 seconds)\n");
    json_t *j = await_state(s, str(ids[0], "id"), "failed");
    assert_non_null(strstr(str(j, "error"), "289"));
    json_decref(j);
    j = await_state(s, str(ids[1], "id"), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(j, "rows_total")), 2);
    json_decref(j);
    j = await_state(s, str(ids[2], "id"), "failed");
    assert_non_null(strstr(str(j, "error"), "3017"));
    json_decref(j);
    for (int i = 0; i < 3; i++)
        json_decref(ids[i]);
    svc_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_proxy_errors_never_end_a_job, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_success_without_exit_value_reads_the_exit_file,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_gateway_errors_on_submit_leave_it_unconfirmed,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_slow_and_failing_kills_are_confirmed_by_status,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_a_slow_kill_does_not_hold_up_other_jobs, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_beeline_connection_arguments_follow_the_setting,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_every_job_is_guarded_against_a_second_launch,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_waits_for_a_slow_and_late_listing, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_unlisted_job_with_a_launched_statusdir_is_followed,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_stdout_shorter_than_hive_fetched_fails, fake_setup,
                                        fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
