/* Unit tests of gg_metrics: values, identity of series, exposition text, escaping, and exact sums
 * under concurrent updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_metrics.h"

#define THREADS         4
#define ADDS_PER_THREAD 100000

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The sample line for series (without the value), or NULL. */
static const char *find_sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return line + n + 1;
        if (!nl)
            break;
        line = nl + 1;
    }
    return NULL;
}

static double sample_value(const char *text, const char *series)
{
    const char *v = find_sample(text, series);
    assert_non_null(v);
    return strtod(v, NULL);
}

static void test_counter(void **state)
{
    (void)state;
    gg_metrics *m = gg_metrics_new("gridgate_test");
    gg_counter *c = gg_metrics_counter(m, "requests_total", "Requests served", "code=\"200\"");
    assert_non_null(c);
    assert_int_equal(gg_counter_value(c), 0);
    gg_counter_add(c, 2);
    gg_counter_add(c, 40);
    assert_int_equal(gg_counter_value(c), 42);
    gg_counter *plain = gg_metrics_counter(m, "restarts_total", "Restarts", NULL);
    gg_counter_add(plain, 1);

    char *text = gg_metrics_render(m, NULL);
    assert_non_null(text);
    assert_int_equal(sample_value(text, "gridgate_test_requests_total{code=\"200\"}"), 42);
    assert_int_equal(sample_value(text, "gridgate_test_restarts_total"), 1);
    assert_non_null(strstr(text, "# TYPE gridgate_test_requests_total counter\n"));
    free(text);
    gg_metrics_free(m);
}

static void test_gauge(void **state)
{
    (void)state;
    gg_metrics *m = gg_metrics_new("");
    gg_gauge *g = gg_metrics_gauge(m, "queue_depth", "Items waiting", "queue=\"a\"");
    assert_non_null(g);
    gg_gauge_set(g, 10);
    gg_gauge_add(g, -2.5);
    assert_true(gg_gauge_value(g) == 7.5);
    gg_gauge *h = gg_metrics_gauge(m, "ratio", "A ratio", NULL);
    gg_gauge_set(h, 0.1);

    size_t len = 0;
    char *text = gg_metrics_render(m, &len);
    assert_int_equal(len, strlen(text));
    assert_non_null(strstr(text, "queue_depth{queue=\"a\"} 7.5\n"));
    assert_non_null(strstr(text, "\nratio 0.1\n")); /* shortest form that reads back */
    assert_non_null(strstr(text, "# TYPE queue_depth gauge\n"));
    free(text);
    gg_metrics_free(m);
}

static void test_histogram_cumulative_buckets(void **state)
{
    (void)state;
    static const double bounds[] = {0.1, 1, 10};
    static const double obs[] = {0.05, 0.1, 0.5, 1, 2, 20, 30};
    gg_metrics *m = gg_metrics_new("gg");
    gg_histogram *h =
        gg_metrics_histogram(m, "latency_seconds", "Latency", "route=\"/x\"", bounds, 3);
    assert_non_null(h);
    double sum = 0;
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
        gg_histogram_observe(h, obs[i]);
        sum += obs[i];
    }
    gg_histogram_observe(h, NAN); /* dropped */
    assert_int_equal(gg_histogram_count(h), 7);
    assert_true(gg_histogram_sum(h) > sum - 1e-9 && gg_histogram_sum(h) < sum + 1e-9);

    char *text = gg_metrics_render(m, NULL);
    /* "le" is inclusive: 0.1 falls in the 0.1 bucket, 1 in the 1 bucket. */
    assert_int_equal(sample_value(text, "gg_latency_seconds_bucket{route=\"/x\",le=\"0.1\"}"), 2);
    assert_int_equal(sample_value(text, "gg_latency_seconds_bucket{route=\"/x\",le=\"1\"}"), 4);
    assert_int_equal(sample_value(text, "gg_latency_seconds_bucket{route=\"/x\",le=\"10\"}"), 5);
    assert_int_equal(sample_value(text, "gg_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"}"), 7);
    assert_int_equal(sample_value(text, "gg_latency_seconds_count{route=\"/x\"}"), 7);
    double rsum = sample_value(text, "gg_latency_seconds_sum{route=\"/x\"}");
    assert_true(rsum > sum - 1e-9 && rsum < sum + 1e-9);
    assert_non_null(strstr(text, "# TYPE gg_latency_seconds histogram\n"));
    free(text);

    gg_histogram *bare = gg_metrics_histogram(m, "batch_seconds", "Batches", NULL, bounds, 3);
    gg_histogram_observe(bare, 5);
    text = gg_metrics_render(m, NULL);
    assert_int_equal(sample_value(text, "gg_batch_seconds_bucket{le=\"10\"}"), 1);
    assert_int_equal(sample_value(text, "gg_batch_seconds_count"), 1);
    free(text);
    gg_metrics_free(m);
}

static void test_same_object_for_same_labels(void **state)
{
    (void)state;
    size_t nb;
    const double *b = gg_metrics_latency_buckets(&nb);
    gg_metrics *m = gg_metrics_new("gg");
    gg_counter *a = gg_metrics_counter(m, "hits_total", "Hits", "k=\"1\"");
    assert_ptr_equal(a, gg_metrics_counter(m, "hits_total", "other help", "k=\"1\""));
    assert_ptr_not_equal(a, gg_metrics_counter(m, "hits_total", "Hits", "k=\"2\""));
    assert_ptr_equal(gg_metrics_counter(m, "up_total", "Up", NULL),
                     gg_metrics_counter(m, "up_total", "Up", ""));
    gg_histogram *h = gg_metrics_histogram(m, "d_seconds", "D", "r=\"a\"", b, nb);
    assert_ptr_equal(h, gg_metrics_histogram(m, "d_seconds", "D", "r=\"a\"", b, nb));

    /* Refusals: another type under a taken name, other buckets, broken names and labels. */
    assert_null(gg_metrics_gauge(m, "hits_total", "Hits", "k=\"1\""));
    assert_null(gg_metrics_gauge(m, "hits_total", "Hits", "k=\"3\""));
    assert_null(gg_metrics_histogram(m, "d_seconds", "D", "r=\"b\"", b, nb - 1));
    assert_null(gg_metrics_histogram(m, "e_seconds", "E", "le=\"1\"", b, nb));
    static const double unsorted[] = {1, 0.5};
    assert_null(gg_metrics_histogram(m, "f_seconds", "F", NULL, unsorted, 2));
    assert_null(gg_metrics_counter(m, "bad-name", "x", NULL));
    assert_null(gg_metrics_counter(m, "9lives", "x", NULL));
    static const char *const bad_labels[] = {"k=1",        "k=\"1",     "k=\"1\",",        "=\"1\"",
                                             "k=\"a\nb\"", "k=\"\\x\"", "k=\"1\" j=\"2\"", NULL};
    for (size_t i = 0; bad_labels[i]; i++)
        assert_null(gg_metrics_counter(m, "ok_total", "x", bad_labels[i]));
    assert_non_null(gg_metrics_counter(m, "ok_total", "x", "a=\"\\\"q\\\"\",b_2=\"\\n\\\\\""));

    /* Updates on a refused series are harmless. */
    gg_counter_add(NULL, 1);
    gg_gauge_set(NULL, 1);
    gg_gauge_add(NULL, 1);
    gg_histogram_observe(NULL, 1);
    assert_int_equal(gg_counter_value(NULL), 0);
    assert_int_equal(gg_histogram_count(NULL), 0);
    assert_null(gg_metrics_new("bad prefix"));
    gg_metrics_free(m);
}

static void test_label_escape(void **state)
{
    (void)state;
    char buf[64];
    size_t n = gg_metrics_label_escape(buf, sizeof(buf), "a\\b\"c\nd");
    assert_string_equal(buf, "a\\\\b\\\"c\\nd");
    assert_int_equal(n, strlen(buf));
    assert_int_equal(gg_metrics_label_escape(buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "");

    /* Cut short: never half an escape, never half a UTF-8 character. */
    n = gg_metrics_label_escape(buf, 3, "a\"b");
    assert_int_equal(n, 4);
    assert_string_equal(buf, "a");
    n = gg_metrics_label_escape(buf, 4, "ab\xc3\xa9");
    assert_int_equal(n, 4);
    assert_string_equal(buf, "ab");
    assert_int_equal(gg_metrics_label_escape(NULL, 0, "xyz"), 3);

    /* An escaped value makes a series that renders back exactly. */
    char labels[128];
    gg_metrics_label_escape(buf, sizeof(buf), "/v1/\"odd\"\\path\n");
    snprintf(labels, sizeof(labels), "route=\"%s\"", buf);
    gg_metrics *m = gg_metrics_new("gg");
    gg_counter_add(gg_metrics_counter(m, "req_total", "Requests", labels), 5);
    char *text = gg_metrics_render(m, NULL);
    char series[160];
    snprintf(series, sizeof(series), "gg_req_total{%s}", labels);
    assert_int_equal(sample_value(text, series), 5);
    free(text);
    gg_metrics_free(m);
}

static void test_help_and_type_once_per_family(void **state)
{
    (void)state;
    static const double bounds[] = {1, 2};
    gg_metrics *m = gg_metrics_new("gg");
    for (int i = 0; i < 5; i++) {
        char labels[32];
        snprintf(labels, sizeof(labels), "shard=\"%d\"", i);
        gg_counter_add(gg_metrics_counter(m, "msgs_total", "Messages\nby shard \\ id", labels), 1);
        gg_histogram_observe(gg_metrics_histogram(m, "op_seconds", "Ops", labels, bounds, 2), 1);
    }
    gg_gauge_set(gg_metrics_gauge(m, "lag", "Lag", NULL), 3);
    char *text = gg_metrics_render(m, NULL);
    assert_int_equal(count_substr(text, "# HELP gg_msgs_total "), 1);
    assert_int_equal(count_substr(text, "# TYPE gg_msgs_total counter"), 1);
    assert_int_equal(count_substr(text, "# HELP gg_op_seconds "), 1);
    assert_int_equal(count_substr(text, "# TYPE gg_op_seconds histogram"), 1);
    assert_int_equal(count_substr(text, "# TYPE "), 3);
    assert_int_equal(count_substr(text, "gg_op_seconds_count{"), 5);
    assert_int_equal(count_substr(text, "gg_op_seconds_bucket{"), 15);
    assert_non_null(strstr(text, "# HELP gg_msgs_total Messages\\nby shard \\\\ id\n"));

    /* Families stay grouped, in registration order, each series right after its HELP/TYPE. */
    const char *msgs = strstr(text, "# HELP gg_msgs_total");
    const char *ops = strstr(text, "# HELP gg_op_seconds");
    const char *lag = strstr(text, "# HELP gg_lag");
    assert_true(msgs < ops && ops < lag);
    const char *last_msg = strstr(text, "gg_msgs_total{shard=\"4\"}");
    assert_true(last_msg > msgs && last_msg < ops);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    gg_metrics_free(m);
}

static void test_latency_buckets(void **state)
{
    (void)state;
    size_t n = 0;
    const double *b = gg_metrics_latency_buckets(&n);
    assert_true(n >= 10);
    assert_true(b[0] >= 0.00005 - 1e-12 && b[0] <= 0.00005 + 1e-12);
    assert_true(b[n - 1] >= 10 - 1e-9 && b[n - 1] <= 10 + 1e-9);
    for (size_t i = 1; i < n; i++)
        assert_true(b[i] > b[i - 1]);
    gg_metrics *m = gg_metrics_new("gg");
    assert_non_null(gg_metrics_histogram(m, "http_seconds", "HTTP", NULL, b, n));
    gg_metrics_free(m);
}

static void test_series_limit(void **state)
{
    (void)state;
    gg_metrics *m = gg_metrics_new("gg");
    char labels[32];
    gg_counter *first = NULL;
    for (int i = 0; i < GG_METRICS_MAX_SERIES; i++) {
        snprintf(labels, sizeof(labels), "id=\"%d\"", i);
        gg_counter *c = gg_metrics_counter(m, "ids_total", "Ids", labels);
        assert_non_null(c);
        first = first ? first : c;
    }
    assert_null(gg_metrics_counter(m, "ids_total", "Ids", "id=\"new\""));
    assert_ptr_equal(gg_metrics_counter(m, "ids_total", "Ids", "id=\"0\""), first);
    gg_metrics_free(m);
}

typedef struct worker_arg {
    gg_metrics *m;
    gg_counter *cached;
    gg_gauge *gauge;
    gg_histogram *hist;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < ADDS_PER_THREAD; i++) {
        gg_counter_add(a->cached, 1);
        gg_counter_add(gg_metrics_counter(a->m, "looked_up_total", "Looked up", "k=\"v\""), 2);
        gg_gauge_add(a->gauge, 1);
        gg_histogram_observe(a->hist, (double)(i % 3));
    }
    return NULL;
}

static void test_concurrent_updates_sum_exactly(void **state)
{
    (void)state;
    static const double bounds[] = {0.5, 1.5};
    gg_metrics *m = gg_metrics_new("gg");
    worker_arg arg = {m, gg_metrics_counter(m, "cached_total", "Cached", NULL),
                      gg_metrics_gauge(m, "level", "Level", NULL),
                      gg_metrics_histogram(m, "obs", "Obs", NULL, bounds, 2)};
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &arg), 0);
    /* Scrapes racing the writers must be well-formed too. */
    for (int i = 0; i < 20; i++) {
        char *text = gg_metrics_render(m, NULL);
        assert_non_null(text);
        free(text);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    const uint64_t total = (uint64_t)THREADS * ADDS_PER_THREAD;
    assert_int_equal(gg_counter_value(arg.cached), total);
    assert_int_equal(
        gg_counter_value(gg_metrics_counter(m, "looked_up_total", "Looked up", "k=\"v\"")),
        2 * total);
    assert_true(gg_gauge_value(arg.gauge) == (double)total);
    assert_int_equal(gg_histogram_count(arg.hist), total);
    double want_sum = 0;
    for (int i = 0; i < ADDS_PER_THREAD; i++)
        want_sum += (double)(i % 3);
    assert_true(gg_histogram_sum(arg.hist) == want_sum * THREADS);
    gg_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_histogram_cumulative_buckets),
        cmocka_unit_test(test_same_object_for_same_labels),
        cmocka_unit_test(test_label_escape),
        cmocka_unit_test(test_help_and_type_once_per_family),
        cmocka_unit_test(test_latency_buckets),
        cmocka_unit_test(test_series_limit),
        cmocka_unit_test(test_concurrent_updates_sum_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
