/* Unit tests of ingest_batch: messages become readings or dead letters with the parser's
 * reason, the offsets marked done cover exactly the batch, and a revoke drops only the revoked
 * partitions. Messages are built by hand on topic handles of a broker-less librdkafka client. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_batch.h"

#define GOOD                                                                                       \
    "{\"payload\": {\"sensor_id\": 3, \"modality\": 1, \"temporal_aspect\": \"real_time\"}, "      \
    "\"created_at\": 1764000000}"

typedef struct fixture {
    rd_kafka_t *rk;
    rd_kafka_topic_t *t, *u;
    int destroyed;
} fixture;

static fixture *fx; /* set up per test; the destroy hook below counts through it */

static void count_destroy(rd_kafka_message_t *m)
{
    fx->destroyed++;
    free(m->payload);
    free(m->key);
    free(m);
}

static int setup(void **state)
{
    char err[256];
    fx = calloc(1, sizeof(*fx));
    fx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof(err));
    assert_non_null(fx->rk);
    fx->t = rd_kafka_topic_new(fx->rk, "readings", NULL);
    fx->u = rd_kafka_topic_new(fx->rk, "other", NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rd_kafka_topic_destroy(fx->t);
    rd_kafka_topic_destroy(fx->u);
    rd_kafka_destroy(fx->rk);
    free(fx);
    fx = NULL;
    return 0;
}

static rd_kafka_message_t *msg(rd_kafka_topic_t *t, int32_t partition, int64_t offset,
                               const char *key, const char *value)
{
    rd_kafka_message_t *m = calloc(1, sizeof(*m));
    m->rkt = t;
    m->partition = partition;
    m->offset = offset;
    if (key) {
        m->key = strdup(key);
        m->key_len = strlen(key);
    }
    if (value) {
        m->payload = strdup(value);
        m->len = strlen(value);
    }
    return m;
}

static ingest_batch make_batch(size_t cap, size_t max_bytes)
{
    ingest_batch b;
    assert_int_equal(ingest_batch_init(&b, cap, max_bytes), 0);
    b.destroy = count_destroy;
    return b;
}

static void test_messages_become_entries(void **state)
{
    (void)state;
    ingest_batch b = make_batch(8, 200);
    char big[300];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(ingest_batch_add(&b, msg(fx->t, 0, 10, "3", GOOD), 1000), GG_RECORD_OK);
    assert_int_equal(ingest_batch_add(&b, msg(fx->t, 0, 11, "3", "{\"payload\": "), 1005),
                     GG_RECORD_MALFORMED_JSON);
    assert_int_equal(ingest_batch_add(&b, msg(fx->t, 1, 4, "4", GOOD), 1010),
                     GG_RECORD_KEY_MISMATCH);
    assert_int_equal(ingest_batch_add(&b, msg(fx->t, 1, 5, NULL, big), 1020),
                     GG_RECORD_VALUE_TOO_LARGE);
    assert_int_equal(ingest_batch_add(&b, msg(fx->t, 1, 6, NULL, NULL), 1030),
                     GG_RECORD_EMPTY_VALUE);
    assert_int_equal(b.n, 5);
    assert_int_equal(b.first_ms, 1000); /* the linger clock starts with the first entry */
    assert_int_equal(ingest_batch_count(&b, INGEST_ENTRY_STORE), 1);
    assert_int_equal(ingest_batch_count(&b, INGEST_ENTRY_DLQ), 4);
    assert_string_equal(b.entries[0].rec.station_id, "3");
    assert_true(b.entries[1].why[0] != '\0'); /* the parser's explanation is kept */
    assert_false(ingest_batch_settled(&b));

    ingest_batch_reject(&b.entries[0], "store error 121: Document failed validation");
    assert_int_equal(b.entries[0].state, INGEST_ENTRY_DLQ);
    assert_int_equal(b.entries[0].reason, INGEST_REASON_STORE_REJECTED);
    assert_string_equal(b.entries[0].why, "store error 121: Document failed validation");
    for (size_t i = 0; i < b.n; i++)
        b.entries[i].state = INGEST_ENTRY_DONE;
    assert_true(ingest_batch_settled(&b));

    ingest_batch_free(&b);
    assert_int_equal(fx->destroyed, 5);
}

static void test_full_batch_refuses(void **state)
{
    (void)state;
    ingest_batch b = make_batch(2, 0);
    assert_int_equal(ingest_batch_add(&b, msg(fx->t, 0, 0, NULL, GOOD), 1), GG_RECORD_OK);
    assert_int_equal(ingest_batch_add(&b, msg(fx->t, 0, 1, NULL, GOOD), 1), GG_RECORD_OK);
    rd_kafka_message_t *extra = msg(fx->t, 0, 2, NULL, GOOD);
    assert_int_equal(ingest_batch_add(&b, extra, 1), -1);
    count_destroy(extra); /* not taken by the batch */
    ingest_batch_clear(&b);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.first_ms, 0);
    assert_int_equal(fx->destroyed, 3);
    ingest_batch_free(&b);
}

static void test_last_per_partition(void **state)
{
    (void)state;
    ingest_batch b = make_batch(16, 0);
    /* Offsets within a partition arrive in order from Kafka, but the function must not rely
     * on the order of the batch across partitions. */
    const struct {
        rd_kafka_topic_t **t;
        int32_t p;
        int64_t o;
    } in[] = {{&fx->t, 0, 5}, {&fx->t, 1, 7}, {&fx->u, 0, 100}, {&fx->t, 0, 6},
              {&fx->t, 1, 9}, {&fx->t, 0, 8}, {&fx->u, 0, 101}, {&fx->t, 2, 0}};
    for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++)
        ingest_batch_add(&b, msg(*in[i].t, in[i].p, in[i].o, NULL, GOOD), 1);
    const rd_kafka_message_t *last[16];
    size_t n = ingest_batch_last_per_partition(&b, last, 16);
    assert_int_equal(n, 4);
    int64_t seen[4] = {-1, -1, -1, -1}; /* readings/0, readings/1, readings/2, other/0 */
    for (size_t i = 0; i < n; i++) {
        int slot = last[i]->rkt == fx->u ? 3 : last[i]->partition;
        assert_int_equal(seen[slot], -1); /* each partition once */
        seen[slot] = last[i]->offset;
    }
    assert_int_equal(seen[0], 8);
    assert_int_equal(seen[1], 9);
    assert_int_equal(seen[2], 0);
    assert_int_equal(seen[3], 101);
    ingest_batch_free(&b);
}

static void test_drop_partitions(void **state)
{
    (void)state;
    ingest_batch b = make_batch(16, 0);
    for (int64_t o = 0; o < 6; o++)
        ingest_batch_add(&b, msg(fx->t, (int32_t)(o % 3), o, NULL, o == 4 ? "x" : GOOD), 100 + o);
    ingest_batch_add(&b, msg(fx->u, 1, 50, NULL, GOOD), 200);
    rd_kafka_topic_partition_list_t *gone = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(gone, "readings", 1);
    rd_kafka_topic_partition_list_add(gone, "readings", 2);
    assert_int_equal(ingest_batch_drop_partitions(&b, gone), 4); /* offsets 1, 2, 4, 5 */
    assert_int_equal(fx->destroyed, 4);
    assert_int_equal(b.n, 3);
    /* The rest keeps its order; "other" partition 1 shares a number, not a topic. */
    assert_int_equal(b.entries[0].msg->offset, 0);
    assert_int_equal(b.entries[1].msg->offset, 3);
    assert_int_equal(b.entries[2].msg->offset, 50);
    assert_int_equal(b.first_ms, 100);

    rd_kafka_topic_partition_list_add(gone, "readings", 0);
    rd_kafka_topic_partition_list_add(gone, "other", 1);
    assert_int_equal(ingest_batch_drop_partitions(&b, gone), 3);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.first_ms, 0);
    rd_kafka_topic_partition_list_destroy(gone);
    ingest_batch_free(&b);
}

static void test_origin(void **state)
{
    (void)state;
    ingest_batch b = make_batch(1, 0);
    ingest_batch_add(&b, msg(fx->u, 7, 123456789012, NULL, GOOD), 1);
    ingest_origin o = ingest_entry_origin(&b.entries[0]);
    assert_string_equal(o.topic, "other");
    assert_int_equal(o.partition, 7);
    assert_int_equal(o.offset, 123456789012);
    ingest_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_messages_become_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_batch_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_per_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
