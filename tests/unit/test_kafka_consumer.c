/* Unit tests of gg_kafka's consumer against librdkafka's in-process mock cluster: consumer
 * groups with manual offset storage, restart at the marked offsets, pause/resume, lag
 * statistics and the rebalance hook. */
#include "kafka_mock.h"

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
    static const gg_prop coop[] = {{"partition.assignment.strategy", "cooperative-sticky"}};
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

/* A partition whose pause did not hold (librdkafka lifted it underneath) delivers nothing while
 * the consumer is paused, and after the resume every message comes exactly once. */
static void test_pause_that_did_not_hold(void **state)
{
    suite *s = *state;
    enum { N = 30 };
    make_topic(s, "t-lift", 1);
    gg_kafka_consumer *c = consumer(s, "g-lift", "t-lift", NULL, 0, -1, NULL, NULL);
    produce(s, "t-lift", 0, 1);
    rd_kafka_message_t *msgs[N];
    assert_int_equal(consume(c, msgs, 1, WAIT_MS), 1);
    destroy_msgs(msgs, 1);

    gg_kafka_consumer_pause(c);
    rd_kafka_topic_partition_list_t *all = NULL;
    assert_int_equal(rd_kafka_assignment(gg_kafka_consumer_handle(c), &all),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_resume_partitions(gg_kafka_consumer_handle(c), all),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(all);
    produce(s, "t-lift", 1, N);
    assert_int_equal(drain_for(c, 1500), 0);

    gg_kafka_consumer_resume(c);
    assert_int_equal(consume(c, msgs, N, WAIT_MS), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(value_index(msgs[i]), i + 1);
    destroy_msgs(msgs, N);
    assert_int_equal(drain_for(c, 500), 0);
    assert_int_equal(gg_kafka_consumer_close(c), RD_KAFKA_RESP_ERR_NO_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consume_all_and_lag),
        cmocka_unit_test(test_restart_at_done),
        cmocka_unit_test(test_done_is_monotonic),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_pause_that_did_not_hold),
        cmocka_unit_test(test_revoke_hook_marks_are_committed),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
