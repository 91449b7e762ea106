/* Unit tests of the jobs that WebHCat accepted and no record describes: a replica that stopped
 * after answering a submission and before its record reached HDFS, found again by the next one
 * in WebHCat's job list; and a job whose launcher started but that WebHCat never lists, given up
 * after the grace period. The fake of test_analytics_fake.h plays WebHCat and WebHDFS. */
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

static bool has_file(fake *f, const char *path)
{
    pthread_mutex_lock(&f->lock);
    bool found = ffind(f, path) != NULL;
    pthread_mutex_unlock(&f->lock);
    return found;
}

/* One string member of the job's record in the fake's HDFS, or "". */
static void record_field(fake *f, const char *id, const char *name, char *out, size_t outlen)
{
    char path[96];
    snprintf(path, sizeof(path), "/jobs/%s/job.json", id);
    pthread_mutex_lock(&f->lock);
    ffile *x = ffind(f, path);
    json_t *rec = x ? json_loads(x->data, 0, NULL) : NULL;
    pthread_mutex_unlock(&f->lock);
    snprintf(out, outlen, "%s", str(rec, name) ? str(rec, name) : "");
    json_decref(rec);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quick(analytics_settings *c)
{
    c->poll_interval_ms = 50;
    c->backend_timeout_ms = 500;
}

/* HDFS refuses every file in the jobs directory while replica A answers a word count and stops:
 * the answer is a 202 all the same (the record is written after it), and nothing of the job is in
 * HDFS when A is gone. Replica B, started afterwards, finds the job in WebHCat's list by its
 * statusdir, rebuilds it from the submission's note (a word count with its parameters), records
 * it under its own lease and finishes it with the word count's result. */
static void test_unrecorded_job_of_a_stopped_replica_is_recovered(void **state)
{
    fake *f = *state;
    fput(f, "/in/a.txt", "Alice and the queen\n");
    svc *a = svc_start_cfg(f, NULL, "adm", false, quick);
    svc_await_loaded(a);
    fake_set(f, &f->create_refuse, true);
    const char *req = "{\"path\": \"/in\", \"words\": [\"Alice\"], \"top\": 2}";
    long st;
    json_t *j = call(a, "POST", "/v1/wordcount", req, &st);
    assert_int_equal(st, 202);
    char id[32], path[96];
    snprintf(id, sizeof(id), "%s", str(j, "id"));
    json_decref(j);
    svc_stop(a);
    snprintf(path, sizeof(path), "/jobs/%s/job.json", id);
    assert_false(has_file(f, path));
    snprintf(path, sizeof(path), "/jobs/%s/owner.1", id);
    assert_false(has_file(f, path));
    fake_set(f, &f->create_refuse, false);

    svc *b = svc_start_cfg(f, NULL, "adm", false, quick);
    svc_await_loaded(b);
    json_decref(await_state(b, id, "running"));
    assert_int_equal(fjobs(f), 1); /* found again, not submitted again */
    ffinish(f, 0, "SUCCEEDED", 0, "top\talice\t1\ntop\tand\t1\nword\talice\t1\n", "");
    j = await_state(b, id, "succeeded");
    assert_string_equal(str(j, "kind"), "wordcount");
    json_t *words = json_object_get(json_object_get(j, "result"), "words");
    assert_int_equal(json_integer_value(json_object_get(words, "alice")), 1);
    json_decref(j);
    assert_true(has_file(f, path)); /* B took owner.1 */
    char rec[32] = "";
    struct timespec t0 = {0, 0};
    while (strcmp(rec, "succeeded") != 0 && before_deadline(&t0)) {
        record_field(f, id, "state", rec, sizeof(rec));
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_string_equal(rec, "succeeded");
    /* The HiveQL recovered from WebHCat's userargs is the job's own, without the launcher-retry
     * guard the submission wrapped around it: a job submitted again would nest two guards. */
    char hiveql[4096] = "";
    record_field(f, id, "hiveql", hiveql, sizeof(hiveql));
    assert_non_null(strstr(hiveql, "SELECT"));
    assert_null(strstr(hiveql, "gridgate_once"));
    /* The repeat is answered from the recovered job: its fingerprint came back with it. */
    j = call(b, "POST", "/v1/wordcount", req, &st);
    assert_int_equal(st, 200);
    assert_string_equal(str(j, "id"), id);
    json_decref(j);
    svc_stop(b);
}

static void short_grace(analytics_settings *c)
{
    quick(c);
    c->submit_timeout_ms = 200;
    c->unlisted_grace_ms = 1500;
}

/* A record left without WebHCat's id whose launcher started (statusdir/stderr exists) but that
 * WebHCat never lists: followed for the grace period from its creation, then failed with the
 * reason, instead of being looked for in every listing for ever. */
static void test_launched_job_never_listed_fails_after_the_grace(void **state)
{
    fake *f = *state;
    const char *id = "20250101-000000-0000000d";
    char rec[512];
    snprintf(rec, sizeof(rec),
             "{\"version\": 1, \"id\": \"%s\", \"kind\": \"query\", \"state\": \"queued\", "
             "\"webhcat_id\": \"\", \"hiveql\": \"SELECT 4\", \"created_ms\": %lld}",
             id, (long long)wall_ms());
    fput(f, "/jobs/20250101-000000-0000000d/job.json", rec);
    fput(f, "/jobs/20250101-000000-0000000d/status/stderr", "Query ID = y\n");
    fake_set(f, &f->list_hide, 1000000);
    svc *s = svc_start_cfg(f, NULL, "adm", false, short_grace);
    svc_await_loaded(s);
    json_t *j = await_state(s, id, "failed");
    assert_non_null(strstr(str(j, "error"), "GRIDGATE_UNLISTED_GRACE_MS"));
    assert_non_null(strstr(str(j, "error"), "launcher started"));
    json_decref(j);
    svc_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unrecorded_job_of_a_stopped_replica_is_recovered,
                                        fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_launched_job_never_listed_fails_after_the_grace,
                                        fake_setup, fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
