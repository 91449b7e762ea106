/* Unit tests of the whole analytics service (HTTP API, job store, tracker, results) against the
 * in-process fake of WebHCat and WebHDFS in test_analytics_fake.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "gg_buf.h"
#include "test_analytics_svc.h"

/* --- tests -------------------------------------------------------------------------------- */

static void test_wordcount_cache_and_record(void **state)
{
    fake *f = *state;
    fput(f, "/in/a.txt", "Alice and the queen\n");
    fput(f, "/in/sub/b.txt", "alice\n");
    svc *s = svc_start(f);
    svc_await_loaded(s);
    const char *req = "{\"path\": \"/in\", \"words\": [\"Alice\", \"dodo\"], \"top\": 2}";
    long st;
    json_t *j = call(s, "POST", "/v1/wordcount", req, &st);
    assert_int_equal(st, 202);
    char id[32];
    snprintf(id, sizeof(id), "%s", str(j, "id"));
    assert_int_equal(fjobs(f), 1);
    assert_non_null(strstr(f->jobs[0].execute, "LOCATION '/in';"));
    assert_non_null(strstr(f->jobs[0].statusdir, id));
    json_decref(j);
    ffinish(f, 0, "SUCCEEDED", 0, "top\talice\t2\ntop\tand\t1\nword\talice\t2\n", "");
    j = await_state(s, id, "succeeded");
    json_t *words = json_object_get(json_object_get(j, "result"), "words");
    assert_int_equal(json_integer_value(json_object_get(words, "alice")), 2);
    assert_int_equal(json_integer_value(json_object_get(words, "dodo")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 3);
    json_decref(j);
    /* The same question over the same files: the earlier job, at once. */
    j = call(s, "POST", "/v1/wordcount", req, &st);
    assert_int_equal(st, 200);
    assert_string_equal(str(j, "id"), id);
    assert_true(json_is_true(json_object_get(j, "cached")));
    json_decref(j);
    assert_int_equal(fjobs(f), 1);
    /* The record in HDFS comes to say the same (it is written just after the change). */
    char path[128];
    snprintf(path, sizeof(path), "/jobs/%s/job.json", id);
    bool written = false;
    for (int i = 0; i < 1000 && !written; i++) {
        pthread_mutex_lock(&f->lock);
        ffile *x = ffind(f, path);
        json_t *rec = x ? json_loads(x->data, 0, NULL) : NULL;
        pthread_mutex_unlock(&f->lock);
        written = str(rec, "state") && strcmp(str(rec, "state"), "succeeded") == 0;
        json_decref(rec);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(written);
    /* A file below the directory changes: a new job. */
    fput(f, "/in/sub/b.txt", "alice alice\n");
    j = call(s, "POST", "/v1/wordcount", req, &st);
    assert_int_equal(st, 202);
    assert_false(json_is_true(json_object_get(j, "cached")));
    assert_int_equal(fjobs(f), 2);
    json_decref(j);
    svc_stop(s);
}

typedef struct waiter {
    svc *s;
    const char *path;
    long status;
    json_t *body;
} waiter;

static void *wait_call(void *arg)
{
    waiter *w = arg;
    CURL *own = curl_easy_init();
    svc view = w->s[0]; /* same server, own connection */
    view.curl = own;
    w->body = call(&view, "POST", w->path, "{\"hiveql\": \"SELECT 1\"}", &w->status);
    curl_easy_cleanup(own);
    return NULL;
}

static void test_wait_parks_and_answers(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    size_t before = fjobs(f);
    waiter w = {s, "/v1/queries?wait=30", 0, NULL};
    pthread_t t;
    pthread_create(&t, NULL, wait_call, &w);
    for (int i = 0; i < 1000 && fjobs(f) == before; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(fjobs(f), before + 1);
    ffinish(f, before, "SUCCEEDED", 0, "1\n", "");
    pthread_join(t, NULL);
    assert_int_equal(w.status, 200);
    assert_string_equal(str(w.body, "state"), "succeeded");
    json_decref(w.body);
    /* A job that does not end in time: 202 with its state. */
    w = (waiter){s, "/v1/queries?wait=1", 0, NULL};
    wait_call(&w);
    assert_int_equal(w.status, 202);
    assert_string_equal(str(w.body, "state"), "running");
    json_decref(w.body);
    svc_stop(s);
}

/* Starts POST path in a thread of its own and returns once WebHCat has the job (index *job). */
static void start_waiting(fake *f, waiter *w, pthread_t *t, size_t *job)
{
    *job = fjobs(f);
    pthread_create(t, NULL, wait_call, w);
    for (int i = 0; i < 1000 && fjobs(f) == *job; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(fjobs(f), *job + 1);
}

/* A caller that waited (a CI step: curl -f ...?wait=) must see a job that failed or was killed
 * as an error status, with the job itself in the problem. */
static void test_wait_on_a_failed_or_killed_job_is_an_error(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    waiter w = {s, "/v1/queries?wait=30", 0, NULL};
    pthread_t t;
    size_t n;
    start_waiting(f, &w, &t, &n);
    ffinish(f, n, "SUCCEEDED", 64, "", "FAILED: SemanticException bad\n");
    pthread_join(t, NULL);
    assert_int_equal(w.status, 422);
    assert_string_equal(str(w.body, "type"), "urn:gridgate:problem:job-failed");
    json_t *job = json_object_get(w.body, "job");
    assert_string_equal(str(job, "state"), "failed");
    assert_non_null(strstr(str(job, "error"), "SemanticException"));
    json_decref(w.body);

    w = (waiter){s, "/v1/queries?wait=30", 0, NULL};
    start_waiting(f, &w, &t, &n);
    char id[32], path[96];
    const char *dir = strstr(f->jobs[n].statusdir, "/jobs/") + 6; /* /jobs/<id>/status */
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(dir, "/"), dir);
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    json_decref(await_state(s, id, "running"));
    long st;
    json_decref(call(s, "DELETE", path, NULL, &st));
    assert_int_equal(st, 202);
    pthread_join(t, NULL);
    assert_int_equal(w.status, 409);
    assert_string_equal(str(w.body, "type"), "urn:gridgate:problem:job-killed");
    assert_string_equal(str(json_object_get(w.body, "job"), "state"), "killed");
    assert_string_equal(str(json_object_get(w.body, "job"), "id"), id);
    json_decref(w.body);
    /* Without ?wait the caller asked for no verdict: the job as it stands, 202. */
    json_t *j = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 2\"}", &st);
    assert_int_equal(st, 202);
    json_decref(j);
    svc_stop(s);
}

/* A raw query that ends in a SELECT: rows from the result files (several, read as one stream,
 * in the escaped format), column names from DESCRIBE's JSON line whatever frames stdout has;
 * a script ending in anything else: the printed lines. */
static void test_raw_query_rows_keep_their_shape(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    long st;
    size_t n = fjobs(f);
    json_t *a = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 1, 'a\\\\tb', NULL\"}", &st);
    assert_int_equal(st, 202);
    assert_non_null(strstr(f->jobs[n].execute, "INSERT OVERWRITE DIRECTORY '/jobs/"));
    assert_non_null(strstr(f->jobs[n].execute, "DESCRIBE gridgate_q_"));
    ffinish_files(f, n, "SUCCEEDED", 0, "1\ta\\\tb\t\\N\n2\tl1\\nl2\t\n3\t\\\\N\tz\n",
                  "+------+\n| json_output |\n"
                  "| {\"columns\":[{\"name\":\"_c0\",\"type\":\"int\"},{\"name\":\"_c1\","
                  "\"type\":\"string\"},{\"name\":\"_c2\",\"type\":\"void\"}]} |\n+------+\n",
                  "", 2);
    json_t *j = await_state(s, str(a, "id"), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(j, "rows_total")), 3);
    json_t *cols = json_object_get(j, "columns");
    assert_int_equal(json_array_size(cols), 3);
    assert_string_equal(str(json_array_get(cols, 2), "name"), "_c2");
    assert_string_equal(str(json_array_get(cols, 0), "type"), "int");
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 3);
    assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 0), 1)), "a\tb");
    assert_true(json_is_null(json_array_get(json_array_get(rows, 0), 2)));
    assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 1)), "l1\nl2");
    assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 2), 1)), "\\N");
    json_decref(j);
    /* A page that starts in the second file. */
    char path[128];
    snprintf(path, sizeof(path), "/v1/jobs/%s?offset=2&limit=5", str(a, "id"));
    j = call(s, "GET", path, NULL, &st);
    assert_int_equal(st, 200);
    rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 0), 0)), "3");
    assert_true(json_is_null(json_object_get(j, "next_offset")));
    json_decref(j);
    json_decref(a);
    /* SHOW TABLES is no query: Hive's printed lines, and no columns. */
    a = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SHOW TABLES\"}", &st);
    assert_null(strstr(f->jobs[n + 1].execute, "INSERT"));
    ffinish(f, n + 1, "SUCCEEDED", 0, "t1\nt2\n", "");
    j = await_state(s, str(a, "id"), "succeeded");
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 2);
    assert_true(json_is_null(json_object_get(j, "columns")));
    json_decref(j);
    json_decref(a);
    svc_stop(s);
}

static void test_failure_kill_and_busy_webhcat(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    long st;
    size_t n = fjobs(f);
    json_t *a = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT x\"}", &st);
    json_t *b = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT y\"}", &st);
    assert_int_equal(st, 202);
    ffinish(f, n, "SUCCEEDED", 17, "", "noise\nFAILED: SemanticException x\n");
    json_t *j = await_state(s, str(a, "id"), "failed");
    assert_non_null(strstr(str(j, "error"), "SemanticException"));
    json_decref(j);
    char path[96];
    snprintf(path, sizeof(path), "/v1/jobs/%s", str(b, "id"));
    /* The tracker must have seen b running before WebHCat turns busy, or b stays queued. */
    json_decref(await_state(s, str(b, "id"), "running"));
    /* WebHCat busy: new work is refused with 503, the job already submitted is not given up. */
    fake_set(f, &f->busy, true);
    j = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT z\"}", &st);
    assert_int_equal(st, 503);
    assert_string_equal(str(j, "type"), "urn:gridgate:problem:webhcat-unavailable");
    json_decref(j);
    j = call(s, "DELETE", path, NULL, &st);
    assert_int_equal(st, 503);
    json_decref(j);
    j = await_state(s, str(b, "id"), "running");
    json_decref(j);
    fake_set(f, &f->busy, false);
    j = call(s, "DELETE", path, NULL, &st);
    assert_int_equal(st, 202);
    json_decref(j);
    json_decref(await_state(s, str(b, "id"), "killed"));
    j = call(s, "DELETE", path, NULL, &st);
    assert_int_equal(st, 409);
    json_decref(j);
    json_decref(a);
    json_decref(b);
    svc_stop(s);
}

static void test_restart_reload_and_recovery(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    long st;
    size_t n = fjobs(f);
    json_t *a = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT a\"}", &st);
    assert_int_equal(st, 202);
    svc_stop(s);
    /* Two records a crash during submission left: one WebHCat has (found by statusdir), one it
     * never got. */
    const char *lost[] = {"20250101-000000-0000000a", "20250101-000000-0000000b"};
    for (int i = 0; i < 2; i++) {
        char path[96], rec[256];
        snprintf(path, sizeof(path), "/jobs/%s/job.json", lost[i]);
        snprintf(rec, sizeof(rec),
                 "{\"version\": 1, \"id\": \"%s\", \"kind\": \"query\", \"state\": \"queued\", "
                 "\"webhcat_id\": \"\", \"hiveql\": \"SELECT %d\"}",
                 lost[i], i);
        fput(f, path, rec);
    }
    pthread_mutex_lock(&f->lock);
    fjob *orphan = &f->jobs[f->njobs++];
    snprintf(orphan->id, sizeof(orphan->id), "job_1700000000000_9999");
    snprintf(orphan->state, sizeof(orphan->state), "RUNNING");
    snprintf(orphan->statusdir, sizeof(orphan->statusdir), "/jobs/%s/status", lost[0]);
    orphan->exit = -1;
    pthread_mutex_unlock(&f->lock);
    s = svc_start(f);
    svc_await_loaded(s);
    json_decref(await_state(s, str(a, "id"), "running"));
    ffinish(f, n, "SUCCEEDED", 0, "42\n", "");
    ffinish(f, n + 1, "SUCCEEDED", 0, "7\n", "");
    json_t *j = await_state(s, str(a, "id"), "succeeded");
    assert_string_equal(
        json_string_value(json_array_get(json_array_get(json_object_get(j, "rows"), 0), 0)), "42");
    json_decref(j);
    j = await_state(s, lost[0], "succeeded");
    assert_string_equal(str(j, "webhcat_job"), "job_1700000000000_9999");
    json_decref(j);
    j = await_state(s, lost[1], "failed");
    assert_non_null(strstr(str(j, "error"), "submitting"));
    json_decref(j);
    json_decref(a);
    svc_stop(s);
}

static void test_pages_start_near_their_rows(void **state)
{
    fake *f = *state;
    gg_buf out = {0};
    for (int i = 0; i < 10000; i++)
        gg_buf_printf(&out, "%d\tx\n", i);
    svc *s = svc_start(f);
    svc_await_loaded(s);
    long st;
    size_t n = fjobs(f);
    json_t *a = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT big\"}", &st);
    ffinish(f, n, "SUCCEEDED", 0, gg_buf_str(&out), "");
    json_t *j = await_state(s, str(a, "id"), "succeeded");
    assert_int_equal(json_integer_value(json_object_get(j, "rows_total")), 10000);
    json_decref(j);
    int opens = f->offset_opens;
    char path[128];
    snprintf(path, sizeof(path), "/v1/jobs/%s?offset=9990&limit=5", str(a, "id"));
    j = call(s, "GET", path, NULL, &st);
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 5);
    assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 0), 0)), "9990");
    assert_int_equal(json_integer_value(json_object_get(j, "next_offset")), 9995);
    assert_true(f->offset_opens > opens); /* read from a remembered offset, not from byte 0 */
    json_decref(j);
    json_decref(a);
    gg_buf_free(&out);
    svc_stop(s);
}

static void test_unconfirmed_submission_is_found_again(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    long st;
    fake_set(f, &f->slow_submit_ms, 1500); /* longer than the submission may take */
    json_t *a = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT slow\"}", &st);
    fake_set(f, &f->slow_submit_ms, 0);
    assert_int_equal(st, 202);
    assert_string_equal(str(a, "state"), "queued");
    assert_true(json_is_null(json_object_get(a, "webhcat_job")));
    assert_int_equal(fjobs(f), 1); /* WebHCat did queue it */
    json_decref(await_state(s, str(a, "id"), "running"));
    ffinish(f, 0, "SUCCEEDED", 0, "1\n", "");
    json_t *j = await_state(s, str(a, "id"), "succeeded");
    assert_string_equal(str(j, "webhcat_job"), f->jobs[0].id);
    assert_int_equal(fjobs(f), 1); /* and it ran once */
    json_decref(j);
    json_decref(a);
    svc_stop(s);
}

/* /readyz turns ready only once the job records are loaded: a slow LISTSTATUS of the jobs
 * directory (a busy NameNode) must not let a request right after readiness meet 503 "job records
 * are not loaded yet". The load is then reported at once, not after a probe interval. */
static void test_ready_only_once_records_are_loaded(void **state)
{
    fake *f = *state;
    fake_set(f, &f->slow_list_ms, 1500);
    svc *s = svc_start(f);
    struct timespec t0 = {0, 0};
    long st = 0;
    while (before_deadline(&t0)) {
        json_decref(call(s, "GET", "/readyz", NULL, &st));
        if (st == 200)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st, 200);
    json_t *j = call(s, "GET", "/v1/jobs", NULL, &st);
    assert_int_equal(st, 200);
    json_decref(j);
    j = call(s, "GET", "/readyz", NULL, &st);
    assert_string_equal(str(json_object_get(json_object_get(j, "dependencies"), "jobs"), "status"),
                        "up");
    json_decref(j);
    fake_set(f, &f->slow_list_ms, 0);
    svc_stop(s);
}

/* Whether replica s holds the lease of job id (looked at in its store). */
static bool holds(svc *s, const char *id)
{
    analytics_store_lock(s->ctx.store);
    analytics_job *j = analytics_store_find(s->ctx.store, id);
    bool owned = j && j->owned;
    analytics_store_unlock(s->ctx.store);
    return owned;
}

/* Two replicas over one jobs directory: a job submitted through A is answered by B at once (its
 * record read from HDFS), only A tracks it, and when A is gone B takes it over, finishes it and
 * answers the repeat of the word count from it. */
static void test_replicas_share_jobs_and_take_over(void **state)
{
    fake *f = *state;
    fput(f, "/in/a.txt", "Alice and the queen\n");
    svc *a = svc_start(f), *b = svc_start(f);
    svc_await_loaded(a);
    svc_await_loaded(b);
    const char *req = "{\"path\": \"/in\", \"top\": 1}";
    long st;
    json_t *j = call(a, "POST", "/v1/wordcount", req, &st);
    assert_int_equal(st, 202);
    char id[32], path[96];
    snprintf(id, sizeof(id), "%s", str(j, "id"));
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    j = call(b, "GET", path, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(str(j, "id"), id);
    json_decref(j);
    assert_true(holds(a, id));
    assert_false(holds(b, id));
    svc_stop(a); /* its lease lapses: B must take the job over */
    struct timespec t0 = {0, 0};
    while (!holds(b, id) && before_deadline(&t0)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(holds(b, id));
    pthread_mutex_lock(&f->lock);
    char owner[96];
    snprintf(owner, sizeof(owner), "/jobs/%s/owner.2", id);
    assert_non_null(ffind(f, owner));
    pthread_mutex_unlock(&f->lock);
    ffinish(f, 0, "SUCCEEDED", 0, "top\talice\t1\n", "");
    j = await_state(b, id, "succeeded");
    json_t *top = json_object_get(json_object_get(j, "result"), "top");
    assert_int_equal(json_array_size(top), 1);
    json_decref(j);
    j = call(b, "POST", "/v1/wordcount", req, &st);
    assert_int_equal(st, 200);
    assert_string_equal(str(j, "id"), id);
    json_decref(j);
    assert_int_equal(fjobs(f), 1);
    svc_stop(b);
}

/* The status of one call (body dropped). */
static long status_as(svc *s, const char *token, const char *method, const char *path,
                      const char *body)
{
    long st;
    json_decref(call_as(s, token, method, path, body, &st, NULL));
    return st;
}

/* No token / API token / admin token (and a wrong one) x every route and job kind; input only
 * below the roots and never the jobs directory; closed when no token is configured. */
static void test_access_matrix(void **state)
{
    fake *f = *state;
    fput(f, "/in/a.txt", "Alice\n");
    svc *s = svc_start_with(f, "api", "adm", false);
    svc_await_loaded(s);
    const char *wc = "{\"path\": \"/in\"}", *q = "{\"hiveql\": \"SELECT 'secret'\"}";
    const char *who[] = {NULL, "wrong", "api", "adm"};
    long st;
    /* Word counts: API and admin. */
    long want_wc[] = {401, 401, 202, 200};
    char wc_id[32] = "", q_id[32] = "", path[96], qpath[96];
    for (int i = 0; i < 4; i++) {
        json_t *j = call_as(s, who[i], "POST", "/v1/wordcount", wc, &st, NULL);
        assert_int_equal(st, want_wc[i]);
        if (st == 202)
            snprintf(wc_id, sizeof(wc_id), "%s", str(j, "id"));
        json_decref(j);
        if (i == 2) /* the repeat is answered at once from the finished job */
            ffinish(f, 0, "SUCCEEDED", 0, "top\talice\t1\n", "");
        if (i == 2)
            json_decref(await_state(s, wc_id, "succeeded"));
    }
    /* Raw HiveQL: admin only (an API token is recognised but not enough). */
    long want_q[] = {401, 401, 403, 202};
    for (int i = 0; i < 4; i++) {
        json_t *j = call_as(s, who[i], "POST", "/v1/queries", q, &st, NULL);
        assert_int_equal(st, want_q[i]);
        if (st == 202)
            snprintf(q_id, sizeof(q_id), "%s", str(j, "id"));
        json_decref(j);
    }
    snprintf(path, sizeof(path), "/v1/jobs/%s", wc_id);
    snprintf(qpath, sizeof(qpath), "/v1/jobs/%s", q_id);
    long want_read_wc[] = {401, 401, 200, 200}, want_read_q[] = {401, 401, 404, 200};
    long want_kill[] = {401, 401, 403, 202};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(status_as(s, who[i], "GET", path, NULL), want_read_wc[i]);
        assert_int_equal(status_as(s, who[i], "GET", qpath, NULL), want_read_q[i]);
        char *raw = NULL;
        json_t *list = call_as(s, who[i], "GET", "/v1/jobs", NULL, &st, &raw);
        assert_int_equal(st, i < 2 ? 401 : 200);
        if (i >= 2)
            assert_int_equal(json_integer_value(json_object_get(list, "total")), i == 2 ? 1 : 2);
        assert_true((strstr(raw, q_id) != NULL) == (i == 3)); /* the query: admin only */
        assert_null(strstr(raw, "secret"));
        free(raw);
        json_decref(list);
        json_decref(call_as(s, who[i], "GET", "/v1/jobs?kind=query", NULL, &st, &raw));
        assert_true((strstr(raw, q_id) != NULL) == (i == 3));
        free(raw);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(status_as(s, who[i], "DELETE", qpath, NULL), want_kill[i]);
    /* Input: below the roots only, never the jobs directory or a directory holding it. */
    /* The jobs directory is refused even where a root holds it. */
    free(s->ctx.cfg.input_roots);
    s->ctx.cfg.input_roots = strdup("/in,/jobs");
    const char *refused[] = {"{\"path\": \"/other\"}", "{\"path\": \"/jobs\"}",
                             "{\"path\": \"/jobs/20250101-000000-0000000a/result\"}",
                             "{\"path\": \"/inx\"}"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        json_t *j = call_as(s, "adm", "POST", "/v1/wordcount", refused[i], &st, NULL);
        if (st != 403)
            fail_msg("%s: %ld", refused[i], st);
        assert_string_equal(str(j, "field"), "path");
        json_decref(j);
    }
    svc_stop(s);
    /* Nothing configured: closed (admin routes switched off). */
    s = svc_start_with(f, NULL, NULL, false);
    svc_await_loaded(s);
    assert_int_equal(status_as(s, NULL, "POST", "/v1/wordcount", wc), 401);
    assert_int_equal(status_as(s, NULL, "GET", "/v1/jobs", NULL), 401);
    assert_int_equal(status_as(s, NULL, "GET", path, NULL), 401);
    assert_int_equal(status_as(s, NULL, "POST", "/v1/queries", q), 403);
    assert_int_equal(status_as(s, NULL, "DELETE", qpath, NULL), 403);
    svc_stop(s);
    /* Opened explicitly: the API scope without a token, still no raw query. */
    s = svc_start_with(f, NULL, NULL, true);
    svc_await_loaded(s);
    assert_int_equal(status_as(s, NULL, "POST", "/v1/wordcount", wc), 200);
    assert_int_equal(status_as(s, NULL, "GET", path, NULL), 200);
    assert_int_equal(status_as(s, NULL, "GET", qpath, NULL), 404);
    assert_int_equal(status_as(s, NULL, "POST", "/v1/queries", q), 403);
    svc_stop(s);
}

typedef struct submitter {
    svc *s;
    long status;
} submitter;

static void *submit_query(void *arg)
{
    submitter *w = arg;
    CURL *own = curl_easy_init(); /* a connection of its own */
    svc view = *w->s;
    view.curl = own;
    json_decref(call(&view, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 1\"}", &w->status));
    curl_easy_cleanup(own);
    return NULL;
}

/* Submissions that hang at WebHCat hold no HTTP thread: with the test's two HTTP threads and four
 * submissions each taking 2 s, /healthz still answers at once. */
static void test_probes_answer_while_submissions_hang(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    fake_set(f, &f->slow_submit_ms, 2000);
    s->ctx.cfg.submit_timeout_ms = 5000;
    submitter w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (submitter){s, 0};
        pthread_create(&t[i], NULL, submit_query, &w[i]);
    }
    while (fjobs(f) < 2) { /* two submissions are at WebHCat */
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long st;
    json_decref(call(s, "GET", "/healthz", NULL, &st));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_int_equal(st, 200);
    if (ms > 500)
        fail_msg("/healthz took %ld ms behind hanging submissions", ms);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].status, 202);
    }
    fake_set(f, &f->slow_submit_ms, 0);
    svc_stop(s);
}

/* Retention by count: of four finished jobs the two newest stay; the others leave memory and
 * HDFS (their record with the rest of their directory). */
static void test_retention_keeps_the_newest(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    s->ctx.cfg.retention_count = 2;
    svc_await_loaded(s);
    char ids[4][32];
    long st;
    for (int i = 0; i < 4; i++) {
        json_t *j = call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 1\"}", &st);
        assert_int_equal(st, 202);
        snprintf(ids[i], sizeof(ids[i]), "%s", str(j, "id"));
        json_decref(j);
        struct timespec ts = {1, 100 * 1000 * 1000}; /* ids order by their second */
        if (i < 3)
            nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < 4; i++)
        ffinish(f, i, "SUCCEEDED", 0, "1\n", "");
    json_decref(await_state(s, ids[3], "succeeded"));
    struct timespec t0 = {0, 0};
    long total = -1;
    while (before_deadline(&t0)) {
        json_t *list = call(s, "GET", "/v1/jobs", NULL, &st);
        total = json_integer_value(json_object_get(list, "total"));
        json_decref(list);
        if (total == 2)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(total, 2);
    for (int i = 0; i < 4; i++) {
        char path[192];
        snprintf(path, sizeof(path), "/v1/jobs/%s", ids[i]);
        json_decref(call(s, "GET", path, NULL, &st));
        assert_int_equal(st, i < 2 ? 404 : 200);
        snprintf(path, sizeof(path), "/jobs/%s/job.json", ids[i]);
        pthread_mutex_lock(&f->lock);
        bool kept = ffind(f, path) != NULL;
        pthread_mutex_unlock(&f->lock);
        assert_true(kept == (i >= 2));
    }
    svc_stop(s);
}

/* GET /v1/jobs pages with a cursor: every job once, newest first, across pages. */
static void test_jobs_list_pages_with_a_cursor(void **state)
{
    fake *f = *state;
    svc *s = svc_start(f);
    svc_await_loaded(s);
    long st;
    for (int i = 0; i < 5; i++)
        json_decref(call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 1\"}", &st));
    char path[96] = "/v1/jobs?limit=2", seen[5][32], prev[32] = "~";
    size_t n = 0;
    for (int page = 0; page < 5; page++) {
        json_t *list = call(s, "GET", path, NULL, &st);
        assert_int_equal(st, 200);
        json_t *jobs = json_object_get(list, "jobs"), *j;
        size_t k;
        json_array_foreach(jobs, k, j)
        {
            assert_true(n < 5);
            assert_true(strcmp(str(j, "id"), prev) < 0); /* newest first, none twice */
            snprintf(prev, sizeof(prev), "%s", str(j, "id"));
            snprintf(seen[n++], sizeof(seen[0]), "%s", prev);
        }
        const char *next = str(list, "next_cursor");
        if (next)
            snprintf(path, sizeof(path), "/v1/jobs?limit=2&cursor=%s", next);
        json_decref(list);
        if (!next)
            break;
    }
    assert_int_equal(n, 5);
    json_decref(call(s, "GET", "/v1/jobs?cursor=nonsense", NULL, &st));
    assert_int_equal(st, 400);
    svc_stop(s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wordcount_cache_and_record, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_wait_parks_and_answers, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_wait_on_a_failed_or_killed_job_is_an_error, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_raw_query_rows_keep_their_shape, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_failure_kill_and_busy_webhcat, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_restart_reload_and_recovery, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_unconfirmed_submission_is_found_again, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_pages_start_near_their_rows, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_ready_only_once_records_are_loaded, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_replicas_share_jobs_and_take_over, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_access_matrix, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_probes_answer_while_submissions_hang, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_retention_keeps_the_newest, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_jobs_list_pages_with_a_cursor, fake_setup,
                                        fake_teardown),
    };
    int rc = cmocka_run_group_tests_name("analytics_service", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
