/* ingest_batch: the messages the pipeline holds between Kafka and the store, without any I/O.
 *
 * Every consumed message becomes one entry: a parsed reading bound for the store, or a rejected
 * message bound for the dead-letter topic. An entry is settled once the store acknowledged its
 * document (or reported it a duplicate) or Kafka acknowledged its dead-letter copy. Only when
 * every entry is settled are offsets marked done, at the last message of each partition, so a
 * crash at any point replays messages instead of losing them. The batch owns the messages
 * (their bytes are what a dead-letter copy repeats) until it is cleared. */
#ifndef INGEST_BATCH_H
#define INGEST_BATCH_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "gg_record.h"
#include "ingest_doc.h"

typedef enum ingest_entry_state {
    INGEST_ENTRY_STORE, /* a reading waiting for the store */
    INGEST_ENTRY_DLQ,   /* a rejected message waiting for the dead-letter topic */
    INGEST_ENTRY_DONE
} ingest_entry_state;

typedef struct ingest_entry {
    rd_kafka_message_t *msg;
    ingest_entry_state state;
    int reason;     /* GG_RECORD_OK for a reading, else the dead-letter reason */
    int attempts;   /* store writes that included this entry */
    int omit_value; /* the dead-letter topic refused the original value as too large */
    gg_record rec;
    char why[200]; /* the parser's or the store's explanation of a rejection */
} ingest_entry;

typedef struct ingest_batch {
    ingest_entry *entries;
    size_t n, cap;
    size_t max_message_bytes;
    int64_t first_ms; /* monotonic arrival of the oldest entry, for the linger deadline */
    /* How messages are freed: rd_kafka_message_destroy, replaceable for tests. */
    void (*destroy)(rd_kafka_message_t *msg);
} ingest_batch;

/* cap: most entries ever held. Returns 0, or -1 when out of memory. */
int ingest_batch_init(ingest_batch *b, size_t cap, size_t max_message_bytes);
void ingest_batch_free(ingest_batch *b);

/* Parses msg into a new entry and takes ownership of it. Returns the entry's reason
 * (GG_RECORD_OK for a reading), or -1 when the batch is full (msg is not taken then). */
int ingest_batch_add(ingest_batch *b, rd_kafka_message_t *msg, int64_t now_ms);

/* Turns a reading the store refused for good into a dead-letter entry. */
void ingest_batch_reject(ingest_entry *e, const char *why);

size_t ingest_batch_count(const ingest_batch *b, ingest_entry_state state);
/* 1 when every entry is settled (an empty batch is). */
int ingest_batch_settled(const ingest_batch *b);

/* Puts into out (room for max) the message with the highest offset of each partition in the
 * batch; marking those done covers the whole batch. Returns how many it put. */
size_t ingest_batch_last_per_partition(const ingest_batch *b, const rd_kafka_message_t **out,
                                       size_t max);

/* Frees every message and empties the batch. */
void ingest_batch_clear(ingest_batch *b);

/* Frees the entries of the given partitions, settled or not, keeping the order of the rest:
 * what the group took away is replayed by the next owner from its committed offset. Returns
 * how many entries went. */
size_t ingest_batch_drop_partitions(ingest_batch *b, const rd_kafka_topic_partition_list_t *parts);

/* Frees the entries below their partition's offset in committed (topic, partition, next offset
 * to read; a negative offset covers nothing), keeping the order of the rest: a commit whose
 * outcome was unknown, or another owner, settled them. Returns how many entries went. */
size_t ingest_batch_drop_committed(ingest_batch *b,
                                   const rd_kafka_topic_partition_list_t *committed);

/* The origin (topic, partition, offset) of an entry's message. */
ingest_origin ingest_entry_origin(const ingest_entry *e);

#endif
