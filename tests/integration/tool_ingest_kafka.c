/* tool_ingest_kafka: the Kafka side of the ingest tests and benchmark, independent of the
 * service under test.
 *
 *   tool_ingest_kafka produce BROKERS TOPIC FILE
 *       FILE holds one message per line as JSON: {"k": text | null, "v": text | null} or with
 *       "kx"/"vx" holding the bytes in hex (for NUL bytes and invalid UTF-8). Waits for every
 *       acknowledgement; prints {"produced": n, "failed": n}.
 *   tool_ingest_kafka synth BROKERS TOPIC COUNT SEED [STATIONS [RATE [SAVE]]]
 *       Produces COUNT valid readings i = 0..COUNT-1: key and sensor_id (i % STATIONS) + 1,
 *       correlation_id "SEED-0000-4000-8000-i" (SEED 8 hex digits, i 12 hex digits), created_at
 *       the wall clock at produce time, modality (i * 7919) % 1201 - 600, every fifth an
 *       edge_prediction. RATE > 0 paces the sends (readings/s). SAVE writes "KEY<TAB>VALUE"
 *       lines of what was sent. Prints {"produced": n, "failed": n, "seconds": s}.
 *   tool_ingest_kafka consume BROKERS TOPIC
 *       Prints every committed message (isolation.level=read_committed: records of aborted or
 *       still open transactions are not shown) from the start of each partition to its current
 *       end, one JSON line each: {"partition", "offset", "kx", "vx", "headers": {name: text}};
 *       a null key or value is null.
 *   tool_ingest_kafka committed BROKERS GROUP TOPIC
 *       Prints {"committed": sum of the group's committed offsets, "end": sum of the high
 *       watermarks} over the topic's partitions.
 */
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gg_kafka.h"

#define TIMEOUT_MS     30000
#define MAX_PARTITIONS 1024

static atomic_long failed_count;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_delivery(const rd_kafka_message_t *msg, void *msg_opaque, void *opaque)
{
    (void)msg_opaque;
    (void)opaque;
    if (msg->err)
        atomic_fetch_add(&failed_count, 1);
}

static gg_kafka_producer *producer(const char *brokers, const char *topic)
{
    char err[512];
    gg_kafka_conf conf = {.brokers = brokers, .topic = topic, .client_id = "tool-ingest"};
    gg_kafka_producer *p = gg_kafka_producer_new(&conf, NULL, on_delivery, NULL, err, sizeof(err));
    if (!p)
        fprintf(stderr, "producer: %s\n", err);
    return p;
}

/* Queues one message, waiting while the local queue is full. */
static int send_one(gg_kafka_producer *p, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    for (int i = 0; i < 100000; i++) {
        rd_kafka_resp_err_t e = gg_kafka_producer_send(p, NULL, key, klen, val, vlen, NULL, NULL);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return e ? -1 : 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int finish(gg_kafka_producer *p, long sent, double t0)
{
    int rc = gg_kafka_producer_flush(p, TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : 1;
    double secs = now_s() - t0;
    gg_kafka_producer_destroy(p);
    long failed = atomic_load(&failed_count);
    printf("{\"produced\": %ld, \"failed\": %ld, \"seconds\": %.3f}\n", sent - failed, failed,
           secs);
    return rc || failed ? 1 : 0;
}

/* ---- produce ------------------------------------------------------------------------------ */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Fetches field name (text) or name+"x" (hex) into a malloc'd buffer; *present = 0 for null. */
static unsigned char *field_bytes(json_t *o, const char *name, size_t *len, int *present)
{
    char hexname[8];
    snprintf(hexname, sizeof(hexname), "%sx", name);
    json_t *t = json_object_get(o, name), *h = json_object_get(o, hexname);
    *present = 0;
    *len = 0;
    if (json_is_string(t)) {
        *len = json_string_length(t);
        unsigned char *b = malloc(*len + 1);
        memcpy(b, json_string_value(t), *len);
        *present = 1;
        return b;
    }
    if (!json_is_string(h))
        return NULL;
    const char *s = json_string_value(h);
    size_t n = strlen(s) / 2;
    unsigned char *b = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(hexval(s[2 * i]) * 16 + hexval(s[2 * i + 1]));
    *len = n;
    *present = 1;
    return b;
}

static int cmd_produce(const char *brokers, const char *topic, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    gg_kafka_producer *p = producer(brokers, topic);
    if (!p)
        return 1;
    char *line = NULL;
    size_t cap = 0;
    long sent = 0;
    double t0 = now_s();
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *o = json_loads(line, JSON_ALLOW_NUL, &jerr);
        if (!json_is_object(o)) {
            fprintf(stderr, "bad line %ld: %s\n", sent + 1, jerr.text);
            json_decref(o);
            continue;
        }
        size_t klen, vlen;
        int hask, hasv;
        unsigned char *k = field_bytes(o, "k", &klen, &hask);
        unsigned char *v = field_bytes(o, "v", &vlen, &hasv);
        if (send_one(p, hask ? k : NULL, klen, hasv ? v : NULL, vlen) == 0)
            sent++;
        else
            atomic_fetch_add(&failed_count, 1);
        free(k);
        free(v);
        json_decref(o);
    }
    free(line);
    fclose(f);
    return finish(p, sent, t0);
}

/* ---- synth -------------------------------------------------------------------------------- */

static int cmd_synth(int argc, char **argv)
{
    const char *brokers = argv[2], *topic = argv[3];
    long count = atol(argv[4]);
    unsigned long seed = strtoul(argv[5], NULL, 16);
    long stations = argc > 6 ? atol(argv[6]) : 6;
    double rate = argc > 7 ? atof(argv[7]) : 0;
    FILE *save = argc > 8 ? fopen(argv[8], "w") : NULL;
    gg_kafka_producer *p = producer(brokers, topic);
    if (!p || stations < 1)
        return 1;
    long sent = 0;
    double t0 = now_s();
    for (long i = 0; i < count; i++) {
        if (rate > 0) {
            double due = t0 + (double)i / rate, wait = due - now_s();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        char key[24], val[400];
        long station = i % stations + 1;
        snprintf(key, sizeof(key), "%ld", station);
        int n =
            snprintf(val, sizeof(val),
                     "{\"payload\": \"{\\\"sensor_id\\\": %ld, \\\"modality\\\": %ld, "
                     "\\\"unit\\\": \\\"MW\\\", \\\"temporal_aspect\\\": \\\"%s\\\"}\", "
                     "\"correlation_id\": \"%08lx-0000-4000-8000-%012lx\", "
                     "\"created_at\": %.6f, \"schema_version\": 1}",
                     station, (i * 7919) % 1201 - 600, i % 5 == 0 ? "edge_prediction" : "real_time",
                     seed, (unsigned long)i, now_s());
        if (send_one(p, key, strlen(key), val, (size_t)n) == 0)
            sent++;
        else
            atomic_fetch_add(&failed_count, 1);
        if (save)
            fprintf(save, "%s\t%s\n", key, val);
    }
    if (save)
        fclose(save);
    return finish(p, sent, t0);
}

/* ---- consume and committed ---------------------------------------------------------------- */

static rd_kafka_t *consumer(const char *brokers, const char *group)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk)
        fprintf(stderr, "consumer: %s\n", err);
    return rk;
}

static int partitions_of(rd_kafka_t *rk, const char *topic, rd_kafka_topic_partition_list_t *out)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, TIMEOUT_MS);
    rd_kafka_topic_destroy(t);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "metadata of %s: %s\n", topic,
                rd_kafka_err2str(e               ? e
                                 : md->topic_cnt ? md->topics[0].err
                                                 : e));
        if (!e)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(out, topic, md->topics[0].partitions[i].id);
    rd_kafka_metadata_destroy(md);
    return 0;
}

static void print_hex(const void *data, size_t len)
{
    if (!data) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (size_t i = 0; i < len; i++)
        printf("%02x", ((const unsigned char *)data)[i]);
    putchar('"');
}

static void print_message(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    json_t *headers = json_object();
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == 0; i++)
            json_object_set_new(headers, name, json_stringn(val ? val : "", val ? size : 0));
    }
    char *h = json_dumps(headers, JSON_COMPACT | JSON_SORT_KEYS);
    printf("{\"partition\": %" PRId32 ", \"offset\": %" PRId64 ", \"kx\": ", m->partition,
           m->offset);
    print_hex(m->key, m->key_len);
    fputs(", \"vx\": ", stdout);
    print_hex(m->payload, m->len);
    printf(", \"headers\": %s}\n", h ? h : "{}");
    free(h);
    json_decref(headers);
}

/* Reads each partition up to its end as a read_committed consumer sees it (the last stable
 * offset): transaction markers take offsets of their own, so the end is where librdkafka reports
 * it, not a count of messages between the watermarks. */
static int cmd_consume(const char *brokers, const char *topic)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "tool-ingest-consume", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", err);
        return 1;
    }
    if (partitions_of(rk, topic, parts) != 0)
        return 1;
    char at_end[MAX_PARTITIONS] = {0};
    int remaining = parts->cnt;
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].partition >= MAX_PARTITIONS)
            return 1;
        parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, parts);
    double deadline = now_s() + TIMEOUT_MS / 1000.0;
    while (remaining > 0 && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition < MAX_PARTITIONS && !at_end[m->partition]) {
                at_end[m->partition] = 1;
                remaining--;
            }
        } else if (!m->err) {
            print_message(m);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return remaining == 0 ? 0 : 1;
}

static int cmd_committed(const char *brokers, const char *group, const char *topic)
{
    rd_kafka_t *rk = consumer(brokers, group);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    if (!rk || partitions_of(rk, topic, parts) != 0 ||
        rd_kafka_committed(rk, parts, TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 1;
    int64_t committed = 0, end = 0;
    for (int i = 0; i < parts->cnt; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo, &hi,
                                             TIMEOUT_MS))
            return 1;
        end += hi;
        if (parts->elems[i].offset >= 0)
            committed += parts->elems[i].offset;
    }
    printf("{\"committed\": %" PRId64 ", \"end\": %" PRId64 "}\n", committed, end);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "produce") == 0)
        return cmd_produce(argv[2], argv[3], argv[4]);
    if (argc >= 6 && strcmp(argv[1], "synth") == 0)
        return cmd_synth(argc, argv);
    if (argc >= 4 && strcmp(argv[1], "consume") == 0)
        return cmd_consume(argv[2], argv[3]);
    if (argc >= 5 && strcmp(argv[1], "committed") == 0)
        return cmd_committed(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: see the comment at the top of tool_ingest_kafka.c\n");
    return 2;
}
