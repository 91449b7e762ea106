/* Unit tests of what the analytics service costs as finished jobs pile up: the tracker's passes
 * and the list's pages look at the unfinished jobs and the page, not at every job kept, and
 * memory stays flat while jobs are submitted and finish (retention removes the oldest). */
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
/* The fake serves several executables: not each one uses all of it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test_analytics_churn.h"
#pragma GCC diagnostic pop

#define FINISHED 10000 /* finished jobs kept beside the few running ones */

static void keep_every_job(analytics_settings *c)
{
    c->retention_count = 1000000;
}

/* n finished jobs (word counts and raw queries, succeeded and failed), older than any job
 * submitted now, as records loaded at start would be. */
static void add_finished(analytics_store *store, size_t n)
{
    analytics_store_lock(store);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "20200101-000000-%08zx", i);
        analytics_job *j = analytics_job_new(i % 2 ? AJ_QUERY : AJ_WORDCOUNT, id);
        assert_non_null(j);
        j->state = i % 3 ? AJ_SUCCEEDED : AJ_FAILED;
        j->created_ms = j->finished_ms = gg_time_wall_ms();
        assert_int_equal(analytics_store_add(store, j), 0);
    }
    analytics_store_unlock(store);
}

typedef struct polls_wait {
    fake *f;
    size_t until;
} polls_wait;

static bool polled(void *arg)
{
    polls_wait *w = arg;
    pthread_mutex_lock(&w->f->lock);
    bool done = w->f->polls >= w->until;
    pthread_mutex_unlock(&w->f->lock);
    return done;
}

/* Three running jobs among 10,000 finished ones: while the tracker polls the three several times
 * over, it looks at no finished job (one look at each would be 10,000). */
static void test_tracker_passes_skip_finished_jobs(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, keep_every_job);
    svc_await_loaded(s);
    long st;
    for (int i = 0; i < 3; i++) {
        json_decref(call(s, "POST", "/v1/queries", "{\"hiveql\": \"SELECT 1\"}", &st));
        assert_int_equal(st, 202);
    }
    add_finished(s->ctx.store, FINISHED);
    pthread_mutex_lock(&f->lock);
    polls_wait w = {f, f->polls + 12}; /* each running job four more times */
    pthread_mutex_unlock(&f->lock);
    uint64_t before = analytics_store_visits(s->ctx.store);
    assert_true(churn_await(polled, &w, 30000));
    uint64_t walked = analytics_store_visits(s->ctx.store) - before;
    if (walked >= FINISHED)
        fail_msg("the tracker looked at %llu jobs while polling 3 running jobs 12 times",
                 (unsigned long long)walked);
    assert_int_equal(churn_jobs(s), FINISHED + 3);
    /* A page of the list looks at its jobs, not at every job kept. */
    before = analytics_store_visits(s->ctx.store);
    json_t *list = call(s, "GET", "/v1/jobs?limit=10&state=succeeded", NULL, &st);
    walked = analytics_store_visits(s->ctx.store) - before;
    assert_int_equal(st, 200);
    assert_int_equal(json_array_size(json_object_get(list, "jobs")), 10);
    assert_int_equal(json_integer_value(json_object_get(list, "total")),
                     FINISHED - (FINISHED + 2) / 3);
    json_decref(list);
    if (walked >= FINISHED)
        fail_msg("a page of 10 jobs looked at %llu jobs", (unsigned long long)walked);
    svc_stop(s);
}

static analytics_job *running(analytics_store *store, int n)
{
    char id[32];
    snprintf(id, sizeof(id), "20300101-000000-%08x", n);
    analytics_job *j = analytics_job_new(AJ_QUERY, id);
    j->state = AJ_RUNNING;
    j->owned = true;
    assert_int_equal(analytics_store_add(store, j), 0);
    return j;
}

/* One page of the list (the store's lock held), and in *cost the jobs it looked at. */
static size_t page_of(analytics_store *store, analytics_store_filter f, const char *cursor,
                      size_t offset, size_t n, analytics_job **out, size_t *total, bool *more,
                      uint64_t *cost)
{
    analytics_store_unlock(store);
    uint64_t before = analytics_store_visits(store);
    analytics_store_lock(store);
    size_t got = analytics_store_page(store, &f, cursor, offset, n, out, total, more);
    analytics_store_unlock(store);
    *cost = analytics_store_visits(store) - before;
    analytics_store_lock(store);
    return got;
}

/* The store's active list holds the unfinished jobs (and finished ones until their record is
 * written); a page of the list costs the page; removals keep every other job findable. */
static void test_store_active_list_and_pages(void **state)
{
    (void)state;
    analytics_store *store = analytics_store_new(NULL, "/jobs", NULL);
    add_finished(store, FINISHED);
    analytics_store_lock(store);
    analytics_job *r[3] = {running(store, 0), running(store, 1), running(store, 2)};
    analytics_job *const *jobs;
    assert_int_equal(analytics_store_active(store, &jobs), 3);
    r[1]->state = AJ_SUCCEEDED; /* finished, record not written yet: still followed */
    r[1]->dirty = true;
    assert_int_equal(analytics_store_active(store, &jobs), 3);
    r[1]->dirty = false;
    assert_int_equal(analytics_store_active(store, &jobs), 2);
    assert_true(jobs[0] == r[0] && jobs[1] == r[2]);
    /* The newest page, then one from a cursor in the middle. */
    analytics_job *out[16];
    size_t total;
    bool more;
    uint64_t cost;
    analytics_store_filter any = {-1, -1, true};
    assert_int_equal(page_of(store, any, NULL, 0, 10, out, &total, &more, &cost), 10);
    assert_int_equal(total, FINISHED + 3);
    assert_true(more);
    assert_string_equal(out[0]->id, r[2]->id);
    assert_string_equal(out[3]->id, "20200101-000000-0000270f"); /* the newest finished */
    assert_true(cost <= 10 + 1 + 3);
    assert_int_equal(
        page_of(store, any, "20200101-000000-00001388", 2, 10, out, &total, &more, &cost), 10);
    assert_string_equal(out[0]->id, "20200101-000000-00001385");
    assert_string_equal(out[9]->id, "20200101-000000-0000137c");
    assert_true(more && cost <= 2 + 10 + 1 + 3);
    /* An unfinished state: the active jobs only. */
    analytics_store_filter run = {AJ_RUNNING, -1, true};
    assert_int_equal(page_of(store, run, NULL, 0, 10, out, &total, &more, &cost), 2);
    assert_true(total == 2 && !more && cost <= 2 * 3);
    assert_string_equal(out[0]->id, r[2]->id);
    /* Totals by kind and state, raw queries hidden: counted, not walked. */
    analytics_store_filter wc = {AJ_SUCCEEDED, AJ_WORDCOUNT, false};
    size_t want = 0;
    for (size_t i = 0; i < FINISHED; i++)
        want += i % 2 == 0 && i % 3 != 0;
    assert_int_equal(page_of(store, wc, NULL, 0, 1, out, &total, &more, &cost), 1);
    assert_int_equal(total, want);
    assert_true(out[0]->kind == AJ_WORDCOUNT && out[0]->state == AJ_SUCCEEDED && more);
    analytics_store_filter hidden = {-1, AJ_QUERY, false};
    assert_int_equal(page_of(store, hidden, NULL, 0, 1, out, &total, &more, &cost), 0);
    assert_int_equal(total, 0);
    /* Removals: every third finished job and a running one. */
    for (size_t i = 0; i < FINISHED; i += 3) {
        char id[32];
        snprintf(id, sizeof(id), "20200101-000000-%08zx", i);
        analytics_store_remove(store, id);
    }
    analytics_store_remove(store, r[0]->id);
    assert_int_equal(analytics_store_active(store, &jobs), 1);
    size_t left = 0;
    for (size_t i = 0; i < FINISHED; i++) {
        char id[32];
        snprintf(id, sizeof(id), "20200101-000000-%08zx", i);
        analytics_job *j = analytics_store_find(store, id);
        assert_true((j != NULL) == (i % 3 != 0));
        assert_true(!j || strcmp(j->id, id) == 0);
        left += j != NULL;
    }
    assert_int_equal(page_of(store, any, NULL, 0, 1, out, &total, &more, &cost), 1);
    assert_int_equal(total, left + 2);
    assert_int_equal(analytics_store_count(store), left + 2);
    analytics_store_unlock(store);
    analytics_store_free(store);
}

/* Sanitizers keep freed memory aside (ASan's quarantine) or shadow it: RSS says little there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_MEANINGFUL false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RSS_MEANINGFUL false
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL true
#endif

#define CHURN_RETAINED 200
#define CHURN_JOBS     (RSS_MEANINGFUL ? 2000 : 1000) /* sanitizers run it several times slower */

static void retain_few(analytics_settings *c)
{
    c->retention_count = CHURN_RETAINED;
    c->lease_ms = 1000; /* a sweep a second: jobs finish several times faster */
}

/* 2,000 jobs submitted and finished with 200 kept: the jobs in memory and the records in HDFS
 * stay at the retention count, and the process does not grow between the 1,000th and the
 * 2,000th job (bench/analytics/churn gives the figure over 10,000). */
static void test_memory_stays_flat_as_jobs_finish(void **state)
{
    fake *f = *state;
    svc *s = svc_start_cfg(f, NULL, "adm", false, retain_few);
    svc_await_loaded(s);
    static const size_t marks[] = {CHURN_JOBS / 4, CHURN_JOBS / 2, CHURN_JOBS};
    churn_mark m[3];
    assert_int_equal(churn_run(s, f, marks, 3, m), 0);
    for (size_t k = 0; k < 3; k++) {
        print_message("after %zu jobs: %lld ms, RSS %ld KiB, heap %ld KiB, %zu jobs in memory, "
                      "%zu records\n",
                      m[k].submitted, (long long)m[k].ms, m[k].rss_kib, m[k].heap_kib,
                      m[k].in_memory, m[k].records);
        assert_true(m[k].in_memory <= CHURN_RETAINED);
        assert_true(m[k].records <= CHURN_RETAINED);
    }
    /* RSS moves with thread stacks and malloc's arenas (the fake runs a thread a connection): a
     * generous bound. The heap in use is exact, bar what threads' caches hold: a job left behind
     * (its struct alone is over 500 bytes) would show. */
    if (RSS_MEANINGFUL && m[2].rss_kib - m[1].rss_kib > 8192)
        fail_msg("RSS grew by %ld KiB over %d finished jobs", m[2].rss_kib - m[1].rss_kib,
                 CHURN_JOBS / 2);
    if (RSS_MEANINGFUL && m[2].heap_kib - m[1].heap_kib > 512)
        fail_msg("the heap grew by %ld KiB over %d finished jobs", m[2].heap_kib - m[1].heap_kib,
                 CHURN_JOBS / 2);
    svc_stop(s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_active_list_and_pages),
        cmocka_unit_test_setup_teardown(test_tracker_passes_skip_finished_jobs, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_memory_stays_flat_as_jobs_finish, fake_setup,
                                        fake_teardown),
    };
    int rc = cmocka_run_group_tests_name("analytics_bounded", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
