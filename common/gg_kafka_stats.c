/* gg_kafka_stats: per-partition consumer lag taken from librdkafka's statistics JSON (see
 * gg_kafka.h). librdkafka already computes lag from the high watermark and the committed
 * offset; this only picks the numbers out and keeps them for status endpoints. */
#include "gg_kafka_int.h"

void gg_kafka_lag_init(gg_kafka_lag *l)
{
    pthread_mutex_init(&l->lock, NULL);
    l->partitions = json_array();
    l->total = 0;
}

void gg_kafka_lag_destroy(gg_kafka_lag *l)
{
    json_decref(l->partitions);
    l->partitions = NULL;
    pthread_mutex_destroy(&l->lock);
}

static json_int_t int_field(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* librdkafka lists every partition of the topics it knows about, plus an internal "-1" one for
 * messages not yet partitioned; only the ones this consumer fetches ("desired") carry lag. */
static void add_topic(json_t *out, int64_t *total, const char *topic, json_t *t)
{
    const char *key;
    json_t *p;
    json_object_foreach(json_object_get(t, "partitions"), key, p)
    {
        json_int_t partition = int_field(p, "partition");
        if (partition < 0 || !json_is_true(json_object_get(p, "desired")))
            continue;
        json_int_t lag = int_field(p, "consumer_lag");
        json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:I, s:I}", "topic", topic,
                                             "partition", partition, "lag", lag, "committed_offset",
                                             int_field(p, "committed_offset"), "high_watermark",
                                             int_field(p, "hi_offset")));
        if (lag > 0)
            *total += lag;
    }
}

int gg_kafka_lag_update(gg_kafka_lag *l, const char *json, size_t len, gg_log *log)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        gg_warn(log, "unparsable kafka statistics", "{s:s, s:i}", "error", jerr.text, "line",
                jerr.line);
        return -1;
    }
    json_t *parts = json_array();
    int64_t total = 0;
    const char *topic;
    json_t *t;
    json_object_foreach(json_object_get(root, "topics"), topic, t)
    {
        add_topic(parts, &total, topic, t);
    }
    json_decref(root);

    pthread_mutex_lock(&l->lock);
    json_t *old = l->partitions;
    l->partitions = parts;
    l->total = total;
    pthread_mutex_unlock(&l->lock);
    json_decref(old);
    return 0;
}

json_t *gg_kafka_lag_json(gg_kafka_lag *l)
{
    pthread_mutex_lock(&l->lock);
    /* A copy: the caller may hold on to it while the next report replaces ours. */
    json_t *copy = json_deep_copy(l->partitions);
    pthread_mutex_unlock(&l->lock);
    return copy;
}

int64_t gg_kafka_lag_total(gg_kafka_lag *l)
{
    pthread_mutex_lock(&l->lock);
    int64_t total = l->total;
    pthread_mutex_unlock(&l->lock);
    return total;
}
