/* The fixture of the gg_kafka unit tests: librdkafka's in-process mock cluster with a seeding
 * producer, and the helpers the test files use (topics, producing, consumers, committed
 * offsets, watermarks). Included by test_kafka_consumer.c, test_kafka_producer.c and
 * test_kafka_txn.c only. */
#ifndef TEST_KAFKA_MOCK_H
#define TEST_KAFKA_MOCK_H

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
static const gg_prop group_props[] = {
    {"session.timeout.ms", "4000"},
    {"heartbeat.interval.ms", "1000"},
};

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int suite_setup(void **state)
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

static inline int suite_teardown(void **state)
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

static inline void make_topic(suite *s, const char *topic, int partitions)
{
    assert_int_equal(rd_kafka_mock_topic_create(s->mc, topic, partitions, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Produces values "v<from>".."v<from+n-1>" with matching keys and waits for all of them. */
static inline void produce(suite *s, const char *topic, int from, int n)
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

static inline gg_kafka_consumer *consumer(suite *s, const char *group, const char *topic,
                                          const gg_prop *extra, size_t nextra, int stats_ms,
                                          gg_kafka_revoke_fn hook, void *opaque)
{
    gg_prop props[8];
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
static inline size_t consume(gg_kafka_consumer *c, rd_kafka_message_t **out, size_t want,
                             int timeout_ms)
{
    size_t n = 0;
    int64_t end = now_ms() + timeout_ms;
    while (n < want && now_ms() < end)
        n += gg_kafka_consumer_poll(c, out + n, want - n, 100);
    return n;
}

static inline void destroy_msgs(rd_kafka_message_t **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
}

static inline int value_index(const rd_kafka_message_t *m)
{
    char buf[16] = "";
    memcpy(buf, m->payload, m->len < sizeof(buf) - 1 ? m->len : sizeof(buf) - 1);
    return buf[0] == 'v' ? atoi(buf + 1) : -1;
}

/* The committed offset as rk's group sees it. */
static inline int64_t committed_on(rd_kafka_t *rk, const char *topic, int32_t partition)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic, partition);
    assert_int_equal(rd_kafka_committed(rk, list, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t offset = list->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(list);
    return offset;
}

/* The same through a fresh, unsubscribed client: what the group has really stored. */
static inline int64_t committed(suite *s, const char *group, const char *topic, int32_t partition)
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

static inline int64_t high_watermark(rd_kafka_t *rk, const char *topic, int32_t partition)
{
    int64_t lo = -1, hi = -1;
    assert_int_equal(rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, WAIT_MS),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    return hi;
}

#endif
