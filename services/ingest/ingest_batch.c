/* ingest_batch: the messages held between Kafka and the store (see ingest_batch.h). */
#include "ingest_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ingest_batch_init(ingest_batch *b, size_t cap, size_t max_message_bytes)
{
    memset(b, 0, sizeof(*b));
    b->entries = calloc(cap ? cap : 1, sizeof(*b->entries));
    if (!b->entries)
        return -1;
    b->cap = cap ? cap : 1;
    b->max_message_bytes = max_message_bytes;
    b->destroy = rd_kafka_message_destroy;
    return 0;
}

void ingest_batch_free(ingest_batch *b)
{
    if (!b->entries)
        return;
    ingest_batch_clear(b);
    free(b->entries);
    b->entries = NULL;
    b->cap = 0;
}

int ingest_batch_add(ingest_batch *b, rd_kafka_message_t *msg, int64_t now_ms)
{
    if (b->n == b->cap)
        return -1;
    ingest_entry *e = &b->entries[b->n];
    memset(e, 0, sizeof(*e));
    e->msg = msg;
    e->reason = gg_record_parse(msg->key, msg->key ? msg->key_len : 0, msg->payload,
                                msg->payload ? msg->len : 0, b->max_message_bytes, &e->rec, e->why,
                                sizeof(e->why));
    e->state = e->reason == GG_RECORD_OK ? INGEST_ENTRY_STORE : INGEST_ENTRY_DLQ;
    if (b->n++ == 0)
        b->first_ms = now_ms;
    return e->reason;
}

void ingest_batch_reject(ingest_entry *e, const char *why)
{
    e->state = INGEST_ENTRY_DLQ;
    e->reason = INGEST_REASON_STORE_REJECTED;
    snprintf(e->why, sizeof(e->why), "%s", why && *why ? why : "refused by the store");
}

size_t ingest_batch_count(const ingest_batch *b, ingest_entry_state state)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        n += b->entries[i].state == state;
    return n;
}

int ingest_batch_settled(const ingest_batch *b)
{
    return ingest_batch_count(b, INGEST_ENTRY_DONE) == b->n;
}

static int same_partition(const rd_kafka_message_t *a, const rd_kafka_message_t *b)
{
    return a->partition == b->partition &&
           (a->rkt == b->rkt ||
            strcmp(rd_kafka_topic_name(a->rkt), rd_kafka_topic_name(b->rkt)) == 0);
}

size_t ingest_batch_last_per_partition(const ingest_batch *b, const rd_kafka_message_t **out,
                                       size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = b->entries[i].msg;
        size_t j = 0;
        while (j < n && !same_partition(out[j], m))
            j++;
        if (j < n) {
            if (m->offset > out[j]->offset)
                out[j] = m;
        } else if (n < max) {
            out[n++] = m;
        }
    }
    return n;
}

void ingest_batch_clear(ingest_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->destroy(b->entries[i].msg);
    b->n = 0;
    b->first_ms = 0;
}

static int in_list(const rd_kafka_message_t *m, const rd_kafka_topic_partition_list_t *parts)
{
    return rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition) !=
           NULL;
}

static int covered(const rd_kafka_message_t *m, const rd_kafka_topic_partition_list_t *committed)
{
    const rd_kafka_topic_partition_t *c =
        rd_kafka_topic_partition_list_find(committed, rd_kafka_topic_name(m->rkt), m->partition);
    return c && c->offset >= 0 && m->offset < c->offset;
}

/* Frees the entries whose message matches, keeping the order of the rest. */
static size_t drop_if(ingest_batch *b,
                      int (*match)(const rd_kafka_message_t *,
                                   const rd_kafka_topic_partition_list_t *),
                      const rd_kafka_topic_partition_list_t *list)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (match(b->entries[i].msg, list)) {
            b->destroy(b->entries[i].msg);
            dropped++;
        } else {
            b->entries[kept++] = b->entries[i];
        }
    }
    b->n = kept;
    if (kept == 0)
        b->first_ms = 0;
    return dropped;
}

size_t ingest_batch_drop_partitions(ingest_batch *b, const rd_kafka_topic_partition_list_t *parts)
{
    return drop_if(b, in_list, parts);
}

size_t ingest_batch_drop_committed(ingest_batch *b,
                                   const rd_kafka_topic_partition_list_t *committed)
{
    return drop_if(b, covered, committed);
}

ingest_origin ingest_entry_origin(const ingest_entry *e)
{
    ingest_origin o = {rd_kafka_topic_name(e->msg->rkt), e->msg->partition, e->msg->offset};
    return o;
}
