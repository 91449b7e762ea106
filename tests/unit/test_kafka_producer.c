/* Unit tests of gg_kafka's settings checks, readiness probe and producer against librdkafka's
 * in-process mock cluster: refused properties are named, the probe, and the synchronous, batch
 * and asynchronous sends. */
#include "kafka_mock.h"

/* The consumer, and unless consumer_only also the producer, refuse name=value and say why. */
static void expect_rejected(suite *s, const char *name, const char *value, int consumer_only)
{
    gg_prop props[] = {{name, value}};
    gg_kafka_conf conf = {
        .brokers = s->brokers, .group_id = "g-bad", .topic = "t-bad", .props = props, .nprops = 1};
    char err[512] = "";
    assert_null(gg_kafka_consumer_new(&conf, &s->log, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, name));
    err[0] = '\0';
    if (!consumer_only) {
        assert_null(gg_kafka_producer_new(&conf, &s->log, NULL, NULL, err, sizeof(err)));
        assert_non_null(strstr(err, name));
    }
}

static void test_bad_property_is_named(void **state)
{
    suite *s = *state;
    expect_rejected(s, "no.such.property", "1", 0);
    expect_rejected(s, "session.timeout.ms", "soon", 0);
    /* Turning automatic offset storage on would commit work nobody finished. */
    expect_rejected(s, "enable.auto.offset.store", "true", 1);

    gg_kafka_conf no_group = {.brokers = s->brokers, .topic = "t-bad"};
    char err[512] = "";
    assert_null(gg_kafka_consumer_new(&no_group, &s->log, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "group"));
}

/* The value librdkafka has for name on the handle rk. */
static void expect_conf(rd_kafka_t *rk, const char *name, const char *want)
{
    char got[64] = "";
    size_t len = sizeof(got);
    assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), name, got, &len), RD_KAFKA_CONF_OK);
    assert_string_equal(got, want);
}

/* The queues are sized from the record, the batch and the batches ahead, not left at
 * librdkafka's defaults (a 64 MB prefetch, a 1 GB producer queue); a pass-through property
 * still wins over the computed one. */
static void test_queues_sized(void **state)
{
    suite *s = *state;
    const gg_kafka_sizing sizing = {
        .record_bytes = 512, .batch = 500, .prefetch = 4, .send_bytes = 1 << 20};
    gg_prop props[] = {{"max.partition.fetch.bytes", "100000"}};
    gg_kafka_conf conf = {.brokers = s->brokers,
                          .group_id = "g-sized",
                          .topic = "t-sized",
                          .props = props,
                          .nprops = 1,
                          .sizing = &sizing};
    char err[512] = "";
    gg_kafka_consumer *c = gg_kafka_consumer_new(&conf, &s->log, NULL, NULL, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    rd_kafka_t *rk = gg_kafka_consumer_handle(c);
    expect_conf(rk, "queued.min.messages", "2000");         /* 4 batches of 500 */
    expect_conf(rk, "queued.max.messages.kbytes", "1000");  /* the same at 512 bytes each */
    expect_conf(rk, "fetch.max.bytes", "1024000");          /* one response may refill the queue */
    expect_conf(rk, "max.partition.fetch.bytes", "100000"); /* the pass-through property */
    gg_kafka_consumer_close(c);

    gg_kafka_producer *p = gg_kafka_producer_new(&conf, &s->log, NULL, NULL, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    expect_conf(gg_kafka_producer_handle(p), "queue.buffering.max.kbytes", "4096");
    gg_kafka_producer_destroy(p);
}

/* ---- probe and producer ------------------------------------------------------------------- */

static gg_kafka_producer *dead_producer(gg_log *log)
{
    static const gg_prop quick[] = {{"reconnect.backoff.ms", "50"}};
    gg_kafka_conf conf = {.brokers = "127.0.0.1:1", .topic = "t-dead", .props = quick, .nprops = 1};
    char err[512] = "";
    gg_kafka_producer *p = gg_kafka_producer_new(&conf, log, NULL, NULL, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    return p;
}

static void test_probe(void **state)
{
    suite *s = *state;
    char err[512] = "";
    assert_int_equal(gg_kafka_probe(gg_kafka_producer_handle(s->producer), 5000, err, sizeof(err)),
                     0);
    gg_kafka_consumer *c = consumer(s, "g-probe", "t-probe", NULL, 0, -1, NULL, NULL);
    assert_int_equal(gg_kafka_probe(gg_kafka_consumer_handle(c), 5000, err, sizeof(err)), 0);
    assert_int_equal(gg_kafka_consumer_close(c), RD_KAFKA_RESP_ERR_NO_ERROR);

    /* Nothing listens on port 1: the probe must give up by its deadline, the error must be
     * kept for the status endpoint, and librdkafka's complaint must come out through gg_log. */
    FILE *out = tmpfile();
    gg_log log;
    gg_log_init(&log, "test_kafka", GG_LOG_DEBUG, out);
    gg_kafka_producer *p = dead_producer(&log);
    int64_t t0 = now_ms();
    err[0] = '\0';
    assert_int_equal(gg_kafka_probe(gg_kafka_producer_handle(p), 500, err, sizeof(err)), -1);
    assert_in_range(now_ms() - t0, 0, 2000);
    assert_true(strlen(err) > 0);

    char last[256] = "";
    int64_t at = 0, end = now_ms() + WAIT_MS;
    while (!gg_kafka_producer_last_error(p, last, sizeof(last), &at) && now_ms() < end)
        gg_kafka_probe(gg_kafka_producer_handle(p), 100, err, sizeof(err));
    assert_true(strlen(last) > 0);
    assert_true(at > 0);
    gg_kafka_producer_destroy(p);

    fflush(out);
    rewind(out);
    char line[2048];
    int routed = 0;
    while (fgets(line, sizeof(line), out))
        routed |= strstr(line, "\"facility\"") != NULL;
    assert_true(routed);
    fclose(out);
    gg_log_destroy(&log);
}

static void test_send_sync_times_out(void **state)
{
    suite *s = *state;
    gg_kafka_producer *p = dead_producer(&s->log);
    char err[256] = "";
    int64_t t0 = now_ms();
    assert_int_equal(
        gg_kafka_producer_send_sync(p, NULL, "k", 1, "v", 1, NULL, 300, err, sizeof(err)),
        RD_KAFKA_RESP_ERR__TIMED_OUT);
    assert_in_range(now_ms() - t0, 250, 5000);
    assert_true(strlen(err) > 0);
    /* The message is still queued: destroying fails it, and its report must find live memory. */
    gg_kafka_producer_destroy(p);
}

enum { THREADS = 4, PER_THREAD = 8 };

typedef struct sender {
    gg_kafka_producer *p;
    int id;
    int ok;
    char err[256];
} sender;

static void *send_sync_thread(void *arg)
{
    sender *t = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char value[32];
        int len = snprintf(value, sizeof(value), "thread%d-%d", t->id, i);
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "sender", -1, value, len);
        if (gg_kafka_producer_send_sync(t->p, "t-sync", value, (size_t)len, value, (size_t)len, h,
                                        WAIT_MS, t->err, sizeof(t->err)) == 0)
            t->ok++;
    }
    return NULL;
}

static void test_send_sync_concurrent(void **state)
{
    suite *s = *state;
    make_topic(s, "t-sync", 1);
    sender t[THREADS];
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i] = (sender){.p = s->producer, .id = i};
        assert_int_equal(pthread_create(&tid[i], NULL, send_sync_thread, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        if (t[i].ok != PER_THREAD)
            fail_msg("thread %d: %d of %d acknowledged: %s", i, t[i].ok, PER_THREAD, t[i].err);
    }
    /* Acknowledged means stored: the broker's end offset already counts every message. */
    assert_int_equal(high_watermark(gg_kafka_producer_handle(s->producer), "t-sync", 0),
                     THREADS * PER_THREAD);
}

typedef struct dr_state {
    pthread_mutex_t lock;
    int reports[5];
    int failed;
} dr_state;

static void count_dr(const rd_kafka_message_t *msg, void *msg_opaque, void *opaque)
{
    dr_state *d = opaque;
    int *slot = msg_opaque;
    pthread_mutex_lock(&d->lock);
    (*slot)++;
    if (msg->err)
        d->failed++;
    pthread_mutex_unlock(&d->lock);
}

static void test_send_batch_and_async(void **state)
{
    suite *s = *state;
    enum { B = 16, A = 5 };
    make_topic(s, "t-batch", 1);
    dr_state d = {.failed = 0};
    pthread_mutex_init(&d.lock, NULL);
    gg_kafka_conf conf = {.brokers = s->brokers, .topic = "t-batch"};
    char err[256] = "";
    gg_kafka_producer *p = gg_kafka_producer_new(&conf, &s->log, count_dr, &d, err, sizeof(err));
    assert_non_null(p);

    gg_kafka_record recs[B];
    for (int i = 0; i < B; i++) {
        recs[i] = (gg_kafka_record){.value = "batch", .vlen = 5, .err = RD_KAFKA_RESP_ERR__FAIL};
        recs[i].headers = rd_kafka_headers_new(1);
        rd_kafka_header_add(recs[i].headers, "n", 1, &i, sizeof(i));
    }
    assert_int_equal(gg_kafka_producer_send_batch(p, recs, B, WAIT_MS, err, sizeof(err)), 0);
    for (int i = 0; i < B; i++) {
        assert_int_equal(recs[i].err, RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_null(recs[i].headers);
    }

    for (int i = 0; i < A; i++)
        assert_int_equal(gg_kafka_producer_send(p, NULL, NULL, 0, "async", 5, NULL, &d.reports[i]),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    /* A rejected send (no topic given, none by default) still takes its headers; the
     * sanitizer build checks that they are freed. */
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "x", 1, "y", 1);
    assert_int_equal(gg_kafka_producer_send(s->producer, NULL, NULL, 0, "x", 1, h, NULL),
                     RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);

    assert_int_equal(gg_kafka_producer_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    pthread_mutex_lock(&d.lock);
    for (int i = 0; i < A; i++)
        assert_int_equal(d.reports[i], 1);
    assert_int_equal(d.failed, 0);
    pthread_mutex_unlock(&d.lock);
    assert_int_equal(high_watermark(gg_kafka_producer_handle(p), "t-batch", 0), B + A);
    gg_kafka_producer_destroy(p);
    pthread_mutex_destroy(&d.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_property_is_named),
        cmocka_unit_test(test_queues_sized),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_send_sync_times_out),
        cmocka_unit_test(test_send_sync_concurrent),
        cmocka_unit_test(test_send_batch_and_async),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
