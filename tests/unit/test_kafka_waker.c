/* Stress test of gg_kafka_waker, the piece of gg_kafka that a consumer's poll thread and a
 * thread of its own share: several threads poke it as fast as they can while its thread makes
 * requests (a stand-in that takes a millisecond, as a broker round trip does), and it is stopped
 * in the middle of that. Runs under TSan too, which librdkafka's own threads do not allow (see
 * tests/run), hence the stand-in. Requests stay one at a time and spaced, however many pokes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "gg_kafka_int.h"

enum { POKERS = 4, POKES = 20000, WAIT_MS = 15000 };

typedef struct requests {
    atomic_int in_flight, most_in_flight;
    atomic_uint count;
    atomic_int bad_topic;
} requests;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void request(void *opaque, const char *topic, int32_t partition)
{
    requests *r = opaque;
    int now = atomic_fetch_add(&r->in_flight, 1) + 1;
    if (now > atomic_load(&r->most_in_flight))
        atomic_store(&r->most_in_flight, now);
    if (strcmp(topic, "t-wake") != 0 || partition < 0 || partition > 1)
        atomic_store(&r->bad_topic, 1);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    atomic_fetch_add(&r->count, 1);
    atomic_fetch_sub(&r->in_flight, 1);
}

static void *poke_loop(void *arg)
{
    for (int i = 0; i < POKES; i++)
        gg_kafka_waker_poke(arg, "t-wake", i % 2);
    return NULL;
}

static void run_pokers(gg_kafka_waker *w)
{
    pthread_t t[POKERS];
    for (int i = 0; i < POKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, poke_loop, w), 0);
    for (int i = 0; i < POKERS; i++)
        pthread_join(t[i], NULL);
}

static void test_pokes_from_many_threads(void **state)
{
    (void)state;
    requests r = {0};
    gg_kafka_waker *w = gg_kafka_waker_start(request, &r);
    assert_non_null(w);
    int64_t t0 = now_ms();
    run_pokers(w);
    /* The last poke is served: a request follows within a gap and a request's time. */
    uint64_t before = gg_kafka_waker_sent(w);
    gg_kafka_waker_poke(w, "t-wake", 1);
    int64_t end = now_ms() + WAIT_MS;
    while (atomic_load(&r.count) <= before && now_ms() < end) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    int64_t elapsed = now_ms() - t0;
    gg_kafka_waker_stop(w);
    unsigned count = atomic_load(&r.count);
    assert_true(count > before);
    assert_int_equal(atomic_load(&r.most_in_flight), 1);
    assert_int_equal(atomic_load(&r.bad_topic), 0);
    /* One request at a time, at least the gap apart: never one per poke. */
    assert_true(count <= (unsigned)(elapsed / GG_KAFKA_FETCH_QUEUE_BACKOFF_MS + 2));
}

static void *stop_soon(void *arg)
{
    struct timespec ts = {0, 3000000};
    nanosleep(&ts, NULL);
    gg_kafka_waker_stop(arg);
    return NULL;
}

/* Stopping while a request is in flight ends cleanly and waits for it; the pokers stop first,
 * as the consumer stops polling before it closes. */
static void test_stop_while_busy(void **state)
{
    (void)state;
    requests r = {0};
    for (int round = 0; round < 50; round++) {
        gg_kafka_waker *w = gg_kafka_waker_start(request, &r);
        assert_non_null(w);
        run_pokers(w);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, stop_soon, w), 0);
        pthread_join(t, NULL);
        assert_int_equal(atomic_load(&r.in_flight), 0);
    }
    assert_true(atomic_load(&r.count) > 0);
    /* A NULL waker (not needed, or not started) takes pokes and a stop. */
    gg_kafka_waker_poke(NULL, "t-wake", 0);
    assert_int_equal(gg_kafka_waker_sent(NULL), 0);
    gg_kafka_waker_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pokes_from_many_threads),
        cmocka_unit_test(test_stop_while_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
