/* Unit tests of the stream fan-out (cache_hub): who gets which update, the event text, reads
 * split anywhere, the per-stream bound that cuts a slow client and only it, the cap on streams,
 * heartbeats, the resume preface, and a many-thread run (meant for the TSan build) in which
 * readers, a publisher, heartbeats and opening and closing streams overlap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_hub.h"
#include "gg_time.h"

/* A document as the Lua step publishes it. */
static size_t doc(char *buf, const char *station, const char *aspect, long long us, int m)
{
    return (size_t)snprintf(buf, 256,
                            "{\"station_id\":\"%s\",\"temporal_aspect\":\"%s\",\"modality\":%d,"
                            "\"unit\":\"MW\",\"created_at_us\":%lld}",
                            station, aspect, m, us);
}

static int publish(cache_hub *h, const char *station, const char *aspect, long long us, int m)
{
    char b[256];
    size_t n = doc(b, station, aspect, us, m);
    return cache_hub_publish(h, b, n);
}

typedef struct fake_sink {
    atomic_int wakes, ends, aborts;
} fake_sink;

static void fake_wake(void *s)
{
    atomic_fetch_add(&((fake_sink *)s)->wakes, 1);
}

static void fake_end(void *s, bool abort)
{
    fake_sink *f = s;
    atomic_fetch_add(&f->ends, 1);
    if (abort)
        atomic_fetch_add(&f->aborts, 1);
}

static cache_hub *hub(size_t max_streams, size_t queue_max)
{
    cache_hub_config cfg = {max_streams, queue_max, 1000};
    cache_hub *h = cache_hub_new(&cfg, NULL);
    assert_non_null(h);
    return h;
}

/* A stream of the given ids ("1,2" or NULL for all), attached to sink. */
static cache_hub_client *open_stream(cache_hub *h, const char *ids, gg_aspect a, fake_sink *sink)
{
    cache_id list[16];
    int n = 0;
    char why[100];
    if (ids)
        assert_true((n = cache_ids_parse(ids, list, 16, why, sizeof(why))) > 0);
    bool full;
    cache_hub_client *c = cache_hub_open(h, list, (size_t)n, a, &full);
    assert_non_null(c);
    assert_false(full);
    cache_hub_attach(c, &(cache_hub_sink){fake_wake, fake_end, sink});
    return c;
}

/* Everything pending, NUL-terminated, read in pieces of step bytes. */
static char *read_all(cache_hub_client *c, size_t step)
{
    static char out[1 << 16];
    size_t len = 0, n;
    while ((n = cache_hub_read(c, out + len, step)) != 0 && n != (size_t)-1)
        len += n;
    out[len] = '\0';
    return out;
}

static void test_updates_go_to_streams_that_follow_them(void **state)
{
    (void)state;
    cache_hub *h = hub(10, 10);
    fake_sink s1 = {0}, s2 = {0}, s3 = {0};
    cache_hub_client *c1 = open_stream(h, "1,3", GG_ASPECT_REAL_TIME, &s1);
    cache_hub_client *c2 = open_stream(h, NULL, GG_ASPECT_REAL_TIME, &s2);
    cache_hub_client *c3 = open_stream(h, "1", GG_ASPECT_EDGE_PREDICTION, &s3);
    assert_int_equal(publish(h, "1", "real_time", 100, 7), 2);
    assert_int_equal(publish(h, "2", "real_time", 101, 8), 1);
    assert_int_equal(publish(h, "1", "edge_prediction", 102, 9), 1);
    assert_int_equal(publish(h, "3", "real_time", 103, 10), 2);
    assert_int_equal(cache_hub_publish(h, "not json", 8), -1);

    char *got = read_all(c1, 4096);
    assert_non_null(strstr(got, "id: 100\ndata: {\"station_id\":\"1\""));
    assert_non_null(strstr(got, "id: 103\ndata: {\"station_id\":\"3\""));
    assert_null(strstr(got, "\"station_id\":\"2\""));
    assert_null(strstr(got, "edge_prediction"));
    assert_true(strstr(got, "id: 100") < strstr(got, "id: 103"));
    got = read_all(c2, 4096);
    assert_non_null(strstr(got, "id: 101"));
    assert_non_null(strstr(got, "id: 103"));
    got = read_all(c3, 4096);
    assert_string_equal(got, "id: 102\ndata: {\"station_id\":\"1\",\"temporal_aspect\":"
                             "\"edge_prediction\",\"modality\":9,\"unit\":\"MW\","
                             "\"created_at_us\":102}\n\n");
    assert_int_equal(atomic_load(&s1.wakes), 2);
    assert_int_equal(cache_hub_read(c1, got, 100), 0); /* drained: the caller parks */
    cache_hub_close(c1);
    cache_hub_close(c2);
    cache_hub_close(c3);
    assert_int_equal(cache_hub_streams(h), 0);
    cache_hub_free(h);
}

static void test_reads_split_events_anywhere(void **state)
{
    (void)state;
    cache_hub *h = hub(10, 10);
    fake_sink s = {0};
    cache_hub_client *c = open_stream(h, "7", GG_ASPECT_REAL_TIME, &s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(publish(h, "7", "real_time", 1000 + i, i), 1);
    char whole[4096];
    strcpy(whole, read_all(c, 4096));
    for (int i = 0; i < 5; i++)
        assert_int_equal(publish(h, "7", "real_time", 1000 + i, i), 1);
    assert_string_equal(read_all(c, 7), whole); /* 7-byte reads give the same bytes */
    cache_hub_close(c);
    cache_hub_free(h);
}

static void test_a_slow_stream_is_cut_and_only_it(void **state)
{
    (void)state;
    cache_hub_metrics m = {0};
    gg_metrics *reg = gg_metrics_new("test");
    m.cut = gg_metrics_counter(reg, "streams_cut_total", "cut", NULL);
    cache_hub_config cfg = {10, 3, 1000};
    cache_hub *h = cache_hub_new(&cfg, &m);
    fake_sink slow = {0}, fast = {0};
    cache_hub_client *cs = open_stream(h, "1", GG_ASPECT_REAL_TIME, &slow);
    cache_hub_client *cf = open_stream(h, "1", GG_ASPECT_REAL_TIME, &fast);
    for (int i = 0; i < 10; i++) {
        publish(h, "1", "real_time", 10 + i, i);
        char *got = read_all(cf, 4096); /* the fast one keeps up */
        char want[32];
        snprintf(want, sizeof(want), "id: %d\n", 10 + i);
        assert_non_null(strstr(got, want));
    }
    /* Three queued, the fourth cut it: aborted once, nothing more queued, the end read. */
    assert_int_equal(atomic_load(&slow.aborts), 1);
    assert_int_equal(atomic_load(&fast.ends), 0);
    char buf[64];
    assert_int_equal(cache_hub_read(cs, buf, sizeof(buf)), (size_t)-1);
    assert_int_equal(gg_counter_value(m.cut), 1);
    assert_int_equal(cache_hub_streams(h), 2); /* until the server closes it */
    cache_hub_close(cs);
    cache_hub_close(cf);
    cache_hub_free(h);
    gg_metrics_free(reg);
}

static void test_the_cap_refuses_more_streams(void **state)
{
    (void)state;
    cache_hub *h = hub(2, 4);
    fake_sink s = {0};
    cache_hub_client *a = open_stream(h, "1", GG_ASPECT_REAL_TIME, &s);
    cache_hub_client *b = open_stream(h, NULL, GG_ASPECT_REAL_TIME, &s);
    bool full = false;
    assert_null(cache_hub_open(h, NULL, 0, GG_ASPECT_REAL_TIME, &full));
    assert_true(full);
    cache_hub_close(a);
    cache_hub_client *c = cache_hub_open(h, NULL, 0, GG_ASPECT_REAL_TIME, &full);
    assert_non_null(c); /* a closed stream frees its place */
    cache_hub_close(b);
    cache_hub_close(c);
    cache_hub_free(h);
}

static void test_quiet_streams_get_heartbeats(void **state)
{
    (void)state;
    cache_hub *h = hub(4, 4); /* heartbeat 1000 ms */
    fake_sink s = {0};
    cache_hub_client *c = open_stream(h, "1", GG_ASPECT_REAL_TIME, &s);
    int64_t now = gg_time_mono_ms();
    cache_hub_beat(h, now + 10); /* not quiet long enough */
    char buf[64];
    assert_int_equal(cache_hub_read(c, buf, sizeof(buf)), 0);
    cache_hub_beat(h, now + 5000);
    assert_true(atomic_load(&s.wakes) >= 1);
    assert_int_equal(cache_hub_read(c, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, ":\n\n", 3);
    assert_int_equal(cache_hub_read(c, buf, sizeof(buf)), 0);
    cache_hub_close(c);
    cache_hub_free(h);
}

static void test_the_preface_comes_first_without_what_it_holds(void **state)
{
    (void)state;
    cache_hub *h = hub(4, 8);
    fake_sink s = {0};
    cache_id ids[1] = {{"5", 1}};
    bool full;
    cache_hub_client *c = cache_hub_open(h, ids, 1, GG_ASPECT_REAL_TIME, &full);
    /* Updates arrive while the replay is read: 200 is in the replay too, 300 is not. */
    publish(h, "5", "real_time", 200, 1);
    publish(h, "5", "real_time", 300, 2);
    char *pre = strdup("retry: 2000\n\nid: 100\ndata: x\n\nid: 200\ndata: y\n\n");
    cache_hub_floor fl[1] = {{"5", GG_ASPECT_REAL_TIME, 200}};
    cache_hub_preface(c, pre, strlen(pre), fl, 1);
    cache_hub_attach(c, &(cache_hub_sink){fake_wake, fake_end, &s});
    assert_true(atomic_load(&s.wakes) >= 1);
    char *got = read_all(c, 5);
    assert_non_null(
        strstr(got, "retry: 2000\n\nid: 100\ndata: x\n\nid: 200\ndata: y\n\nid: 300\n"));
    assert_null(strstr(strstr(got, "id: 300"), "id: 200"));
    cache_hub_close(c);
    cache_hub_free(h);
}

static void test_end_all_ends_cleanly(void **state)
{
    (void)state;
    cache_hub *h = hub(4, 8);
    fake_sink s = {0};
    cache_hub_client *c = open_stream(h, NULL, GG_ASPECT_REAL_TIME, &s);
    publish(h, "1", "real_time", 1, 1);
    cache_hub_end_all(h);
    assert_int_equal(atomic_load(&s.ends), 1);
    assert_int_equal(atomic_load(&s.aborts), 0);
    char buf[64];
    assert_int_equal(cache_hub_read(c, buf, sizeof(buf)), (size_t)-1);
    assert_int_equal(publish(h, "1", "real_time", 2, 1), 0);
    cache_hub_close(c);
    cache_hub_free(h);
}

/* ---- many threads --------------------------------------------------------------------------- */

#define STRESS_READERS 6
#define STRESS_EVENTS  3000

typedef struct reader_arg {
    cache_hub *h;
    cache_hub_client *c;
    fake_sink sink;
    long got; /* events read, checked in order */
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *a = p;
    char buf[300], line[64];
    size_t ll = 0;
    long next = 1;
    while (next <= STRESS_EVENTS) {
        size_t n = cache_hub_read(a->c, buf, (size_t)(1 + next % 250)); /* odd sizes */
        if (n == (size_t)-1)
            break;
        if (n == 0)
            sched_yield(); /* a real reader parks here until woken */
        for (size_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (ll < sizeof(line) - 1)
                    line[ll++] = buf[i];
                continue;
            }
            line[ll] = '\0';
            if (strncmp(line, "id: ", 4) == 0) {
                if (atol(line + 4) != next)
                    return (void *)1; /* out of order or lost */
                next++;
            }
            ll = 0;
        }
    }
    a->got = next - 1;
    return NULL;
}

static void *publisher_main(void *p)
{
    cache_hub *h = p;
    for (long i = 1; i <= STRESS_EVENTS; i++)
        publish(h, i % 2 ? "1" : "2", "real_time", i, (int)i);
    return NULL;
}

/* Streams that come and go, each cut or not, while the others run. */
static void *churn_main(void *p)
{
    cache_hub *h = p;
    for (int i = 0; i < 300; i++) {
        bool full;
        fake_sink s = {0};
        cache_hub_client *c = cache_hub_open(h, NULL, 0, GG_ASPECT_REAL_TIME, &full);
        if (!c)
            continue;
        cache_hub_attach(c, &(cache_hub_sink){fake_wake, fake_end, &s});
        char buf[100];
        cache_hub_read(c, buf, sizeof(buf));
        cache_hub_beat(h, gg_time_mono_ms() + 100000);
        cache_hub_close(c);
    }
    return NULL;
}

static void test_threads_overlap_without_loss(void **state)
{
    (void)state;
    cache_hub *h = hub(STRESS_READERS + 4, STRESS_EVENTS + 1);
    reader_arg r[STRESS_READERS];
    pthread_t rt[STRESS_READERS], pub, churn;
    for (int i = 0; i < STRESS_READERS; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].h = h;
        r[i].c = open_stream(h, i % 2 ? NULL : "1,2", GG_ASPECT_REAL_TIME, &r[i].sink);
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &r[i]), 0);
    }
    assert_int_equal(pthread_create(&churn, NULL, churn_main, h), 0);
    assert_int_equal(pthread_create(&pub, NULL, publisher_main, h), 0);
    pthread_join(pub, NULL);
    pthread_join(churn, NULL);
    for (int i = 0; i < STRESS_READERS; i++) {
        void *rc;
        pthread_join(rt[i], &rc);
        assert_null(rc);
        assert_int_equal(r[i].got, STRESS_EVENTS);
        cache_hub_close(r[i].c);
    }
    assert_int_equal(cache_hub_streams(h), 0);
    cache_hub_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_updates_go_to_streams_that_follow_them),
        cmocka_unit_test(test_reads_split_events_anywhere),
        cmocka_unit_test(test_a_slow_stream_is_cut_and_only_it),
        cmocka_unit_test(test_the_cap_refuses_more_streams),
        cmocka_unit_test(test_quiet_streams_get_heartbeats),
        cmocka_unit_test(test_the_preface_comes_first_without_what_it_holds),
        cmocka_unit_test(test_end_all_ends_cleanly),
        cmocka_unit_test(test_threads_overlap_without_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
