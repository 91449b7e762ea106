/* gg_kafka's consumer against the real broker: with queues sized to one batch it drains a
 * backlog as fast as it polls.
 *
 * librdkafka before 2.2 stops fetching a partition whose prefetch queue is over its bound and
 * looks again when its broker thread next wakes, up to a second later; a consumer that drains
 * its queue in milliseconds then waited out the rest of that second at every refill: 2,363 of
 * 8,000 records came in the first 4 s, against all of them in 0.3-0.7 s with the fetcher woken
 * (gg_kafka_waker.c).
 * librdkafka's in-process mock cluster does not show it (something there wakes the thread), so
 * this runs against the stack's broker. The deadline is far above what draining takes and far
 * below what the waits add up to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gg_kafka.h"
#include "gg_log.h"
#include "stack_env.h"

enum { N = 8000, B = 100, DRAIN_MS = 4000, WAIT_MS = 60000 };

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void produce(const char *brokers, const char *topic, gg_log *log, int n)
{
    /* Small record batches, as a producer at a live rate writes them: Kafka returns at least
     * one whole record batch per fetch, so large ones would fill the queue in one go. */
    const gg_prop props[] = {{"batch.num.messages", "20"}};
    gg_kafka_conf conf = {
        .brokers = brokers, .topic = topic, .client_id = "test-drain", .props = props, .nprops = 1};
    char err[512] = "";
    gg_kafka_producer *p = gg_kafka_producer_new(&conf, log, NULL, NULL, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    static gg_kafka_record recs[N];
    static char vals[N][64];
    for (int i = 0; i < n; i++) {
        int len = snprintf(vals[i], sizeof(vals[i]), "{\"n\":%d,\"pad\":\"0123456789abcdef\"}", i);
        recs[i] = (gg_kafka_record){.value = vals[i], .vlen = (size_t)len};
    }
    assert_int_equal(gg_kafka_producer_send_batch(p, recs, (size_t)n, WAIT_MS, err, sizeof(err)),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    gg_kafka_producer_destroy(p);
}

/* A fresh topic named prefix-<random> holding n records, and a consumer of it in a group of its
 * own with queues sized to batches of B, prefetch of them ahead. */
static gg_kafka_consumer *sized_consumer(const char *prefix, int n, long prefetch, gg_log *log,
                                         char *topic, size_t topiclen)
{
    const char *brokers = stack_env_need("GRIDGATE_KAFKA_BROKERS");
    unsigned char r[4];
    assert_int_equal(getrandom(r, sizeof(r), 0), (ssize_t)sizeof(r));
    snprintf(topic, topiclen, "%s-%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3]);
    produce(brokers, topic, log, n);
    const gg_kafka_sizing sizing = {.record_bytes = 64, .batch = B, .prefetch = prefetch};
    gg_kafka_conf conf = {.brokers = brokers,
                          .group_id = topic,
                          .topic = topic,
                          .client_id = "test-drain",
                          .stats_interval_ms = -1,
                          .sizing = &sizing};
    char err[512] = "";
    gg_kafka_consumer *c = gg_kafka_consumer_new(&conf, log, NULL, NULL, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    return c;
}

static void test_sized_queue_drains_without_backoff(void **state)
{
    (void)state;
    gg_log log;
    gg_log_init(&log, "test-drain", GG_LOG_WARN, stderr);
    char topic[64];
    gg_kafka_consumer *c = sized_consumer("gg-drain", N, 1, &log, topic, sizeof(topic));
    rd_kafka_message_t *msgs[B];
    size_t got = 0;
    /* The clock starts at the first message: joining the group takes its own time. */
    int64_t end = now_ms() + WAIT_MS, first_ms = 0;
    while (got < N && now_ms() < end) {
        size_t n = gg_kafka_consumer_poll(c, msgs, B, 100);
        if (n && !first_ms) {
            first_ms = now_ms();
            end = first_ms + DRAIN_MS;
        }
        got += n;
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
    }
    fprintf(stderr, "drained %zu of %d in %lld ms\n", got, N, (long long)(now_ms() - first_ms));
    assert_int_equal(got, N);
    gg_kafka_consumer_close(c);
    gg_log_destroy(&log);
}

/* At a live rate the fetcher needs no waking: its queue never reaches its bound. A consumer
 * that takes one record per poll (as gridgate-ingest does) once counted every such poll as a
 * full one and sent a request per 10 ms at any rate; now it sends one per batch taken. */
static void test_live_rate_sends_no_wakes(void **state)
{
    (void)state;
    gg_log log;
    gg_log_init(&log, "test-drain", GG_LOG_WARN, stderr);
    char topic[64];
    gg_kafka_consumer *c = sized_consumer("gg-live", 60, 10, &log, topic, sizeof(topic));
    size_t got = 0;
    int64_t end = now_ms() + WAIT_MS;
    while (got < 60 && now_ms() < end) {
        rd_kafka_message_t *m;
        if (gg_kafka_consumer_poll(c, &m, 1, 100) == 1) {
            got++;
            rd_kafka_message_destroy(m);
        }
    }
    assert_int_equal(got, 60);
    /* A request would follow a poke within the waker's gap. */
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    assert_int_equal(gg_kafka_consumer_wakes(c), 0);
    gg_kafka_consumer_close(c);
    gg_log_destroy(&log);
}

int main(void)
{
    if (stack_env_load() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sized_queue_drains_without_backoff),
        cmocka_unit_test(test_live_rate_sends_no_wakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
