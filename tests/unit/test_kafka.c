/* Unit tests of gg_kafka against librdkafka's in-process mock cluster: consumer groups with
 * manual offset storage, rebalance hook, pause/resume, lag statistics, the readiness probe and
 * the producer's synchronous, batch and asynchronous sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gg_kafka.h"
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h, which gg_kafka.h brings */

#define WAIT_MS 15000 /* upper bound for anything that should happen within a few seconds */

typedef struct suite {
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    char brokers[256];
    FILE *logf;
    gg_log log;
    gg_kafka_producer *producer; /* seeds topics */
} suite;

/* The mock group coordinator holds a first JoinGroup for 3 s and drops members silent for
 * session.timeout.ms, so sessions must outlast that; after a member leaves it waits
 * session.timeout.ms - 1 s for the others, which the restart test goes through. */
static const gg_kafka_prop group_props[] = {
    {"session.timeout.ms", "4000"},
    {"heartbeat.interval.ms", "1000"},
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int suite_setup(void **state)
{
    suite *s = calloc(1, sizeof(*s));
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    s->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!s->mock_rk)
        return -1;
    s->mc = rd_kafka_mock_cluster_new(s->mock_rk, 1);
    if (!s->mc)
        return -1;
    snprintf(s->brokers, sizeof(s->brokers), "%s", rd_kafka_mock_cluster_bootstraps(s->mc));
    /* GG_TEST_VERBOSE shows the wrapper's log lines; otherwise they go to a scratch file. */
    s->logf = getenv("GG_TEST_VERBOSE") ? stderr : tmpfile();
    gg_log_init(&s->log, "test_kafka", getenv("GG_TEST_VERBOSE") ? GG_LOG_DEBUG : GG_LOG_INFO,
                s->logf);
    gg_kafka_conf pc = {.brokers = s->brokers, .client_id = "test-seed"};
    s->producer = gg_kafka_producer_new(&pc, &s->log, NULL, NULL, err, sizeof(err));
    if (!s->producer)
        return -1;
    *state = s;
    return 0;
}

static int suite_teardown(void **state)
{
    suite *s = *state;
    gg_kafka_producer_destroy(s->producer);
    rd_kafka_mock_cluster_destroy(s->mc);
    rd_kafka_destroy(s->mock_rk);
    gg_log_destroy(&s->log);
    if (s->logf != stderr)
        fclose(s->logf);
    free(s);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void make_topic(suite *s, const char *topic, int partitions)
{
    assert_int_equal(rd_kafka_mock_topic_create(s->mc, topic, partitions, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Produces values "v<from>".."v<from+n-1>" with matching keys and waits for all of them. */
static void produce(suite *s, const char *topic, int from, int n)
{
    gg_kafka_record *recs = calloc((size_t)n, sizeof(*recs));
    char(*bufs)[2][16] = calloc((size_t)n, sizeof(*bufs));
    for (int i = 0; i < n; i++) {
        snprintf(bufs[i][0], sizeof(bufs[i][0]), "k%d", from + i);
        snprintf(bufs[i][1], sizeof(bufs[i][1]), "v%d", from + i);
        recs[i] = (gg_kafka_record){.topic = topic,
                                    .key = bufs[i][0],
                                    .keylen = strlen(bufs[i][0]),
                                    .value = bufs[i][1],
                                    .vlen = strlen(bufs[i][1])};
    }
    char err[256] = "";
    assert_int_equal(
        gg_kafka_producer_send_batch(s->producer, recs, (size_t)n, WAIT_MS, err, sizeof(err)),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    free(bufs);
    free(recs);
}

static gg_kafka_consumer *consumer(suite *s, const char *group, const char *topic,
                                   const gg_kafka_prop *extra, size_t nextra, int stats_ms,
                                   gg_kafka_revoke_fn hook, void *opaque)
{
    gg_kafka_prop props[8];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(group_props) / sizeof(*group_props); i++)
        props[n++] = group_props[i];
    for (size_t i = 0; i < nextra; i++)
        props[n++] = extra[i];
    gg_kafka_conf conf = {.brokers = s->brokers,
                          .group_id = group,
                          .topic = topic,
                          .client_id = "test",
                          .stats_interval_ms = stats_ms,
                          .props = props,
                          .nprops = n};
    char err[512] = "";
    gg_kafka_consumer *c = gg_kafka_consumer_new(&conf, &s->log, hook, opaque, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    return c;
}

/* Polls until want messages arrived or timeout_ms passed; returns how many arrived. */
static size_t consume(gg_kafka_consumer *c, rd_kafka_message_t **out, size_t want, int timeout_ms)
{
    size_t n = 0;
    int64_t end = now_ms() + timeout_ms;
    while (n < want && now_ms() < end)
        n += gg_kafka_consumer_poll(c, out + n, want - n, 100);
    return n;
}

static void destroy_msgs(rd_kafka_message_t **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
}

static int value_index(const rd_kafka_message_t *m)
{
    char buf[16] = "";
    memcpy(buf, m->payload, m->len < sizeof(buf) - 1 ? m->len : sizeof(buf) - 1);
    return buf[0] == 'v' ? atoi(buf + 1) : -1;
}

/* The committed offset as rk's group sees it. */
static int64_t committed_on(rd_kafka_t *rk, const char *topic, int32_t partition)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic, partition);
    assert_int_equal(rd_kafka_committed(rk, list, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t offset = list->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(list);
    return offset;
}

/* The same through a fresh, unsubscribed client: what the group has really stored. */
static int64_t committed(suite *s, const char *group, const char *topic, int32_t partition)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", s->brokers, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    assert_non_null(rk);
    int64_t offset = committed_on(rk, topic, partition);
    rd_kafka_destroy(rk);
    return offset;
}

static int64_t high_watermark(rd_kafka_t *rk, const char *topic, int32_t partition)
{
    int64_t lo = -1, hi = -1;
    assert_int_equal(rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, WAIT_MS),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    return hi;
}

/* ---- consumer ----------------------------------------------------------------------------- */

/* A partition with messages has had its first one committed; an empty one has nothing. */
static int lag_entry_matches(json_t *e, const char *topic, int64_t count)
{
    if (strcmp(json_string_value(json_object_get(e, "topic")), topic) != 0 ||
        json_integer_value(json_object_get(e, "high_watermark")) != count)
        return 0;
    return count == 0 || (json_integer_value(json_object_get(e, "committed_offset")) == 1 &&
                          json_integer_value(json_object_get(e, "lag")) == count - 1);
}

/* Everything produced arrives, the assignment names every partition, and the lag statistics
 * eventually match what was marked done. */
static void test_consume_all_and_lag(void **state)
{
    suite *s = *state;
    enum { N = 60, P = 3 };
    make_topic(s, "t-all", P);
    produce(s, "t-all", 0, N);
    gg_kafka_consumer *c = consumer(s, "g-all", "t-all", NULL, 0, 100, NULL, NULL);

    rd_kafka_message_t *msgs[N];
    assert_int_equal(consume(c, msgs, N, WAIT_MS), N);
    int seen[N] = {0};
    int64_t count[P] = {0};
    const rd_kafka_message_t *first[P] = {NULL};
    for (int i = 0; i < N; i++) {
        int v = value_index(msgs[i]);
        assert_in_range(v, 0, N - 1);
        seen[v]++;
        count[msgs[i]->partition]++;
        if (!first[msgs[i]->partition])
            first[msgs[i]->partition] = msgs[i];
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);

    json_t *assignment = gg_kafka_consumer_assignment_json(c);
    assert_int_equal(json_array_size(assignment), P);
    json_decref(assignment);

    /* Only each partition's first message is done, so each lags by its count minus one. */
    int64_t want_total = 0;
    for (int p = 0; p < P; p++) {
        if (first[p]) {
            assert_int_equal(gg_kafka_consumer_done(c, first[p]), RD_KAFKA_RESP_ERR_NO_ERROR);
            want_total += count[p] - 1;
        }
    }
    destroy_msgs(msgs, N);
    assert_int_equal(gg_kafka_consumer_commit(c), RD_KAFKA_RESP_ERR_NO_ERROR);

    int64_t end = now_ms() + WAIT_MS;
    int matched = 0;
    while (!matched && now_ms() < end) {
        rd_kafka_message_t *none[1];
        assert_int_equal(gg_kafka_consumer_poll(c, none, 1, 100), 0);
        json_t *lag = gg_kafka_consumer_lag_json(c);
        size_t i;
        json_t *e;
        matched = json_array_size(lag) == P;
        json_array_foreach(lag, i, e)
        {
            int p = (int)json_integer_value(json_object_get(e, "partition"));
            matched = matched && p >= 0 && p < P && lag_entry_matches(e, "t-all", count[p]);
        }
        json_decref(lag);
    }
    assert_true(matched);
    assert_int_equal(gg_kafka_consumer_total_lag(c), want_total);
    assert_int_equal(gg_kafka_consumer_close(c), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Only offsets marked done are committed: a successor in the group starts right after them. */
static void test_restart_at_done(void **state)
{
    suite *s = *state;
    enum { N = 30, K = 12 };
    make_topic(s, "t-restart", 1);
    produce(s, "t-restart", 0, N);

    gg_kafka_consumer *a = consumer(s, "g-restart", "t-restart", NULL, 0, -1, NULL, NULL);
    rd_kafka_message_t *msgs[N];
    assert_int_equal(consume(a, msgs, N, WAIT_MS), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(value_index(msgs[i]), (int)msgs[i]->offset);
    for (int i = 0; i < K; i++)
        assert_int_equal(gg_kafka_consumer_done(a, msgs[i]), RD_KAFKA_RESP_ERR_NO_ERROR);
    destroy_msgs(msgs, N);
    assert_int_equal(gg_kafka_consumer_commit(a), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(gg_kafka_consumer_close(a), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed(s, "g-restart", "t-restart", 0), K);

    gg_kafka_consumer *b = consumer(s, "g-restart", "t-restart", NULL, 0, -1, NULL, NULL);
    assert_int_equal(consume(b, msgs, N - K, WAIT_MS), N - K);
    assert_int_equal(msgs[0]->offset, K);
    assert_int_equal(value_index(msgs[0]), K);
    assert_int_equal(msgs[N - K - 1]->offset, N - 1);
    destroy_msgs(msgs, N - K);
    /* b marked nothing, so closing it must not move the group's position. */
    assert_int_equal(gg_kafka_consumer_close(b), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed(s, "g-restart", "t-restart", 0), K);
}

/* A mark below an earlier one is ignored: the committed position never moves backwards. */
static void test_done_is_monotonic(void **state)
{
    suite *s = *state;
    enum { N = 10 };
    make_topic(s, "t-mono", 1);
    produce(s, "t-mono", 0, N);
    gg_kafka_consumer *c = consumer(s, "g-mono", "t-mono", NULL, 0, -1, NULL, NULL);
    rd_kafka_message_t *msgs[N];
    assert_int_equal(consume(c, msgs, N, WAIT_MS), N);

    rd_kafka_t *rk = gg_kafka_consumer_handle(c);
    int64_t high = msgs[8]->offset + 1;
    /* A late, lower mark before the commit must not pull the stored offset back... */
    assert_int_equal(gg_kafka_consumer_done(c, msgs[6]), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(gg_kafka_consumer_done(c, msgs[3]), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(gg_kafka_consumer_commit(c), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed_on(rk, "t-mono", 0), msgs[6]->offset + 1);
    assert_int_equal(gg_kafka_consumer_done(c, msgs[8]), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(gg_kafka_consumer_commit(c), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed_on(rk, "t-mono", 0), high);
    /* ...nor one after a commit. */
    assert_int_equal(gg_kafka_consumer_done(c, msgs[5]), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(gg_kafka_consumer_commit(c), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed_on(rk, "t-mono", 0), high);

    assert_int_equal(gg_kafka_consumer_done(c, NULL), RD_KAFKA_RESP_ERR__INVALID_ARG);
    destroy_msgs(msgs, N);
    assert_int_equal(gg_kafka_consumer_close(c), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(committed(s, "g-mono", "t-mono", 0), high);
}

/* Polls for window_ms and returns how many messages arrived (destroying them): absence can
 * only be shown over a bounded window. */
static size_t drain_for(gg_kafka_consumer *c, int window_ms)
{
    size_t got = 0;
    int64_t end = now_ms() + window_ms;
    while (now_ms() < end) {
        rd_kafka_message_t *msgs[16];
        size_t n = gg_kafka_consumer_poll(c, msgs, 16, 50);
        destroy_msgs(msgs, n);
        got += n;
    }
    return got;
}

/* Paused before the group assigns anything: the new partitions must stay paused. Then the
 * same for a live assignment. Cooperative protocol, so the incremental paths run too. */
static void test_pause_resume(void **state)
{
    suite *s = *state;
    enum { N = 20, M = 10, P = 2 };
    static const gg_kafka_prop coop[] = {{"partition.assignment.strategy", "cooperative-sticky"}};
    make_topic(s, "t-pause", P);
    gg_kafka_consumer *c = consumer(s, "g-pause", "t-pause", coop, 1, -1, NULL, NULL);
    gg_kafka_consumer_pause(c);
    assert_true(gg_kafka_consumer_paused(c));
    produce(s, "t-pause", 0, N);

    size_t got = 0;
    int64_t end = now_ms() + WAIT_MS;
    json_t *assignment = NULL;
    while (json_array_size(assignment) < P && now_ms() < end) {
        json_decref(assignment);
        got += drain_for(c, 100);
        assignment = gg_kafka_consumer_assignment_json(c);
    }
    assert_int_equal(json_array_size(assignment), P);
    json_decref(assignment);
    assert_string_equal(rd_kafka_rebalance_protocol(gg_kafka_consumer_handle(c)), "COOPERATIVE");
    got += drain_for(c, 1000);
    assert_int_equal(got, 0);

    gg_kafka_consumer_resume(c);
    assert_false(gg_kafka_consumer_paused(c));
    rd_kafka_message_t *msgs[N];
    assert_int_equal(consume(c, msgs, N, WAIT_MS), N);
    destroy_msgs(msgs, N);

    gg_kafka_consumer_pause(c);
    produce(s, "t-pause", N, M);
    assert_int_equal(drain_for(c, 1000), 0);
    gg_kafka_consumer_resume(c);
    assert_int_equal(consume(c, msgs, M, WAIT_MS), M);
    for (int i = 0; i < M; i++)
        assert_in_range(value_index(msgs[i]), N, N + M - 1);
    destroy_msgs(msgs, M);
    assert_int_equal(gg_kafka_consumer_close(c), RD_KAFKA_RESP_ERR_NO_ERROR);
}

typedef struct hook_state {
    rd_kafka_message_t *held[32]; /* the service's in-flight batch */
    size_t nheld;
    int calls;
    int partitions;
    int lost;
    rd_kafka_resp_err_t mark_err;
} hook_state;

/* What a service does on revoke: finish the batch, mark it done, let go of it. */
static void flush_batch_hook(gg_kafka_consumer *c, const rd_kafka_topic_partition_list_t *parts,
                             int lost, void *opaque)
{
    hook_state *h = opaque;
    h->calls++;
    h->partitions = parts->cnt;
    h->lost = lost;
    for (size_t i = 0; i < h->nheld; i++) {
        rd_kafka_resp_err_t err = gg_kafka_consumer_done(c, h->held[i]);
        if (err)
            h->mark_err = err;
        rd_kafka_message_destroy(h->held[i]);
    }
    h->nheld = 0;
}

static void test_revoke_hook_marks_are_committed(void **state)
{
    suite *s = *state;
    enum { N = 15 };
    make_topic(s, "t-revoke", 1);
    produce(s, "t-revoke", 0, N);
    hook_state h = {.mark_err = RD_KAFKA_RESP_ERR_NO_ERROR};
    gg_kafka_consumer *c = consumer(s, "g-revoke", "t-revoke", NULL, 0, -1, flush_batch_hook, &h);
    h.nheld = consume(c, h.held, N, WAIT_MS);
    assert_int_equal(h.nheld, N);
    assert_int_equal(h.calls, 0);

    /* Leaving the group revokes the partition: the hook's marks must reach the group. */
    assert_int_equal(gg_kafka_consumer_close(c), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.partitions, 1);
    assert_int_equal(h.lost, 0);
    assert_int_equal(h.mark_err, RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(h.nheld, 0);
    assert_int_equal(committed(s, "g-revoke", "t-revoke", 0), N);
}

/* The consumer, and unless consumer_only also the producer, refuse name=value and say why. */
static void expect_rejected(suite *s, const char *name, const char *value, int consumer_only)
{
    gg_kafka_prop props[] = {{name, value}};
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

/* ---- probe and producer ------------------------------------------------------------------- */

static gg_kafka_producer *dead_producer(gg_log *log)
{
    static const gg_kafka_prop quick[] = {{"reconnect.backoff.ms", "50"}};
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
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_send_sync_times_out),
        cmocka_unit_test(test_send_sync_concurrent),
        cmocka_unit_test(test_send_batch_and_async),
        cmocka_unit_test(test_consume_all_and_lag),
        cmocka_unit_test(test_restart_at_done),
        cmocka_unit_test(test_done_is_monotonic),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_revoke_hook_marks_are_committed),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
