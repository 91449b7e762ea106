/* Unit tests of gg_kafka_txn against librdkafka's in-process mock cluster: a commit of records
 * and consumed offsets, and what each kind of failure becomes: a refused record and a fenced
 * offset commit abort the transaction, a fatal error on the commit leaves its outcome unknown,
 * and in every case the next transaction goes through (on a producer made again after the
 * fatal one). The mock cluster keeps neither transaction markers nor transactional offsets, so
 * what a read_committed reader and the group see is left to the integration tests against the
 * real broker. */
#include "kafka_mock.h"

/* Kafka protocol ApiKeys, for the mock's error injection (librdkafka keeps its names private). */
#define API_PRODUCE           0
#define API_END_TXN           26
#define API_TXN_OFFSET_COMMIT 28

typedef struct txn_fixture {
    gg_kafka_consumer *c;
    gg_kafka_txn *t;
    rd_kafka_topic_partition_list_t *offsets;
} txn_fixture;

static void fixture_init(suite *s, txn_fixture *f)
{
    make_topic(s, "t-in", 1);
    make_topic(s, "t-dlq", 1);
    produce(s, "t-in", 0, 3);
    f->c = consumer(s, "g-txn", "t-in", NULL, 0, -1, NULL, NULL);
    rd_kafka_message_t *msgs[3];
    /* Taking the messages shows the consumer joined the group: its metadata is current. */
    assert_int_equal(consume(f->c, msgs, 3, WAIT_MS), 3);
    destroy_msgs(msgs, 3);
    gg_kafka_conf conf = {.brokers = s->brokers, .client_id = "test-txn"};
    char err[512] = "";
    f->t = gg_kafka_txn_new(&conf, "test-txn-1", &s->log, err, sizeof(err));
    if (!f->t)
        fail_msg("txn: %s", err);
    f->offsets = rd_kafka_topic_partition_list_new(1);
}

static void fixture_free(txn_fixture *f)
{
    rd_kafka_topic_partition_list_destroy(f->offsets);
    gg_kafka_txn_destroy(f->t);
    assert_int_equal(gg_kafka_consumer_close(f->c), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* One transaction of two dead-letter-like records and the offset `next` of t-in [0]. */
static gg_kafka_txn_result commit(txn_fixture *f, int64_t next, gg_kafka_record *recs, char *err,
                                  size_t errlen)
{
    rd_kafka_topic_partition_list_destroy(f->offsets);
    f->offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(f->offsets, "t-in", 0)->offset = next;
    for (int i = 0; i < 2; i++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "reason", -1, "test", -1);
        recs[i] = (gg_kafka_record){
            .topic = "t-dlq", .key = "k", .keylen = 1, .value = "bad", .vlen = 3, .headers = h};
    }
    err[0] = '\0';
    return gg_kafka_txn_commit(f->t, recs, 2, f->offsets, f->c, WAIT_MS, err, errlen);
}

/* After an aborted transaction whose records reached the broker, librdkafka may need one more
 * abort to bump the producer epoch; the pipeline retries the same way. */
static gg_kafka_txn_result commit_soon(txn_fixture *f, int64_t next, gg_kafka_record *recs,
                                       char *err, size_t errlen)
{
    gg_kafka_txn_result r = GG_KAFKA_TXN_ABORTED;
    for (int i = 0; i < 3 && r != GG_KAFKA_TXN_COMMITTED; i++)
        r = commit(f, next, recs, err, errlen);
    return r;
}

static void test_commit_then_failures(void **state)
{
    suite *s = *state;
    txn_fixture f;
    gg_kafka_record recs[2];
    char err[512];
    fixture_init(s, &f);

    /* Records and offsets committed. */
    assert_int_equal(commit(&f, 1, recs, err, sizeof(err)), GG_KAFKA_TXN_COMMITTED);
    assert_int_equal(recs[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(recs[1].err, RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_true(high_watermark(gg_kafka_consumer_handle(f.c), "t-dlq", 0) >= 2);

    /* The group coordinator refuses the offsets (a consumer the group replaced): abort. */
    rd_kafka_mock_push_request_errors(s->mc, API_TXN_OFFSET_COMMIT, 1,
                                      RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
    assert_int_equal(commit(&f, 2, recs, err, sizeof(err)), GG_KAFKA_TXN_ABORTED);
    assert_non_null(strstr(err, "send_offsets_to_transaction"));
    assert_int_equal(commit(&f, 2, recs, err, sizeof(err)), GG_KAFKA_TXN_COMMITTED);

    /* A record refused for good: the caller sees which, and the transaction aborts. */
    rd_kafka_mock_push_request_errors(s->mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    assert_int_equal(commit(&f, 3, recs, err, sizeof(err)), GG_KAFKA_TXN_ABORTED);
    assert_true(recs[0].err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
                recs[1].err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    assert_int_equal(commit_soon(&f, 3, recs, err, sizeof(err)), GG_KAFKA_TXN_COMMITTED);

    /* Fenced while committing: fatal for the handle, outcome unknown. A new handle with the
     * same id gets ready and commits. */
    rd_kafka_mock_push_request_errors(s->mc, API_END_TXN, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
    assert_int_equal(commit(&f, 3, recs, err, sizeof(err)), GG_KAFKA_TXN_UNKNOWN);
    assert_non_null(strstr(err, "commit_transaction"));
    assert_int_equal(gg_kafka_txn_init(f.t, WAIT_MS, err, sizeof(err)), 0);
    assert_int_equal(commit(&f, 3, recs, err, sizeof(err)), GG_KAFKA_TXN_COMMITTED);

    fixture_free(&f);
}

/* No broker: the transaction cannot start, nothing is sent, the records' headers are freed by
 * the caller (the sanitizer build checks), and the call keeps to its deadline. */
static void test_no_broker_aborts_in_time(void **state)
{
    suite *s = *state;
    static const gg_prop quick[] = {{"reconnect.backoff.ms", "50"}};
    gg_kafka_conf conf = {.brokers = "127.0.0.1:1", .props = quick, .nprops = 1};
    char err[512] = "";
    gg_kafka_txn *t = gg_kafka_txn_new(&conf, "test-txn-dead", &s->log, err, sizeof(err));
    assert_non_null(t);
    gg_kafka_consumer *c = consumer(s, "g-txn-dead", "t-in-dead", NULL, 0, -1, NULL, NULL);
    gg_kafka_record rec = {.topic = "t-dlq", .value = "x", .vlen = 1};
    int64_t t0 = now_ms();
    assert_int_equal(gg_kafka_txn_commit(t, &rec, 1, NULL, c, 1000, err, sizeof(err)),
                     GG_KAFKA_TXN_ABORTED);
    assert_true(now_ms() - t0 < 1000 + 3000);
    assert_non_null(strstr(err, "init_transactions"));
    assert_int_not_equal(rec.err, RD_KAFKA_RESP_ERR_NO_ERROR);
    gg_kafka_txn_destroy(t);
    gg_kafka_consumer_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_then_failures),
        cmocka_unit_test(test_no_broker_aborts_in_time),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
