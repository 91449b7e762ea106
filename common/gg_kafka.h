/* gg_kafka: the one way gridgate talks to Kafka, a thin layer over librdkafka.
 *
 * Consumer: a consumer-group member with manual offset storage. librdkafka never stores an
 * offset by itself (enable.auto.offset.store=false); the service marks a message done once its
 * side effect is durable (written to MongoDB, Redis ...) and only then may the offset be
 * committed, by librdkafka's auto-commit timer or by gg_kafka_consumer_commit(). A crash
 * therefore replays work instead of losing it. On a rebalance the service gets a hook to flush
 * its in-flight batch before the partitions go away, and the marks it makes there are committed
 * before the partitions are released, so the next owner neither loses nor repeats them. Pause
 * and resume stop fetching during store outages without leaving the group, and stay in force
 * across rebalances. Lag statistics come from librdkafka's statistics callback.
 *
 * Producer: idempotent (enable.idempotence=true, acks=all), with an internal poller thread that
 * serves delivery reports. gg_kafka_producer_send() is fire-and-forget with an optional
 * delivery callback; gg_kafka_producer_send_sync() and _send_batch() block until Kafka has
 * acknowledged, so an HTTP endpoint can answer 202 only for data that is really stored.
 *
 * Transactions: gg_kafka_txn commits produced records together with a consumer's offsets
 * (exactly-once towards read_committed readers), fenced by the consumer's group generation.
 *
 * librdkafka's own log lines go through gg_log, with matching levels.
 *
 * Threads:
 *   - gg_kafka_consumer_poll(), _serve() and _close() belong to one thread, the poll thread. The
 * revoke hook and the statistics parsing run on it, inside those calls.
 *   - gg_kafka_consumer_done(), _commit(), _pause(), _resume(), _paused(), _assignment_json(),
 *     _lag_json(), _total_lag() and _last_error() may be called from any thread.
 *   - Every gg_kafka_producer_* call may come from any thread, except _destroy(), which must be
 *     the last call. The delivery callback runs on the producer's poller thread or on a thread
 *     inside gg_kafka_producer_flush()/_destroy(): it must be thread-safe and must not call
 *     _send_sync()/_send_batch(), which would wait for itself.
 *   - gg_kafka_txn_* calls belong to one thread, which may be the consumer's poll thread (also
 *     inside the revoke hook).
 *   - gg_kafka_probe() may be called from any thread on either kind of handle. */
#ifndef GG_KAFKA_H
#define GG_KAFKA_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "gg_config.h" /* gg_prop */
#include "gg_log.h"

#define GG_KAFKA_STATS_INTERVAL_MS 5000

/* What librdkafka's queues are sized from, instead of its defaults, which are made for any
 * message size and any rate: a consumer prefetches up to 100,000 messages or 64 MB, a
 * producer queues up to 1 GB. A gridgate service takes records of a few hundred bytes in
 * batches, so it needs a few batches ahead and nothing more (docs/ARCHITECTURE.md, "Memory").
 * Consumer, with the batch B, the record R and P batches ahead (per partition: librdkafka 2.0
 * applies both queue bounds to each partition's queue):
 *   queued.min.messages         P * B          records kept fetched ahead
 *   queued.max.messages.kbytes  P * B * R      the same in bytes, whichever bound comes first
 *   fetch.max.bytes             P * B * R      one fetch response may refill the queue (a larger
 *   max.partition.fetch.bytes   min(P,4)*B*R   record still comes, alone: Kafka always returns
 *   message.max.bytes           P * B * R      the first); librdkafka wants fetch.max.bytes at
 *                                              least message.max.bytes
 * A partition whose queue is over a bound is not fetched again until the broker thread next
 * wakes, up to a second later in librdkafka 2.0, so P batches must last about that long at the
 * service's rate: 10 by default (docs/ARCHITECTURE.md, "Memory").
 * Producer: queue.buffering.max.kbytes = P * send_bytes, P times the most one call sends.
 * Every value is kept inside librdkafka's range; conf->props still override each of them. */
typedef struct gg_kafka_sizing {
    long record_bytes; /* typical record (GRIDGATE_KAFKA_RECORD_BYTES) */
    long batch;        /* records taken per poll or written per batch */
    long prefetch;     /* batches fetched ahead (GRIDGATE_KAFKA_PREFETCH_BATCHES) */
    long send_bytes;   /* producer: the most one call sends at once (a request body, a batch) */
} gg_kafka_sizing;

/* Strings are copied by librdkafka when the handle is made; the struct need not outlive it. */
typedef struct gg_kafka_conf {
    const char *brokers;   /* bootstrap.servers */
    const char *group_id;  /* consumer group (consumer only, required there) */
    const char *topic;     /* consumer: comma-separated subscription (a "^" prefix makes a regex);
                              producer: default topic when a send names none */
    const char *client_id; /* client.id, shows up in broker logs and quotas; NULL = default */
    int stats_interval_ms; /* consumer lag statistics period: 0 = GG_KAFKA_STATS_INTERVAL_MS,
                              negative = off */
    /* Pass-through librdkafka properties, applied last so they override every default above
     * (security.protocol, sasl.*, ssl.*, session.timeout.ms ...). */
    const gg_prop *props;
    size_t nprops;
    const gg_kafka_sizing *sizing; /* NULL: librdkafka's default queue bounds */
} gg_kafka_conf;

/* Checks conf's brokers and pass-through properties as the consumer and the producer would set
 * them (librdkafka's rd_kafka_conf_set, and the consumer's forced property), without making a
 * client: nothing starts, nothing connects. Returns 0, or -1 naming the rejected property and
 * librdkafka's reason in err. */
int gg_kafka_conf_check(const gg_kafka_conf *conf, char *err, size_t errlen);

/* ---- consumer ---------------------------------------------------------------------------- */

typedef struct gg_kafka_consumer gg_kafka_consumer;

/* Called on the poll thread before partitions are taken away, so that the service can flush its
 * in-flight batch and mark what it wrote done; those marks are then committed synchronously
 * before the partitions are released. lost is non-zero when the group has already given the
 * partitions to someone else (session timeout): nothing is committed then, since the commit
 * would be rejected and the new owner replays from the last committed offset anyway. */
typedef void (*gg_kafka_revoke_fn)(gg_kafka_consumer *c,
                                   const rd_kafka_topic_partition_list_t *partitions, int lost,
                                   void *opaque);

/* Creates the consumer and subscribes to conf->topic. Defaults: auto.offset.reset=earliest,
 * enable.partition.eof=false, enable.auto.commit=true (commits stored offsets only),
 * statistics.interval.ms from conf. enable.auto.offset.store is always false and cannot be
 * overridden. On error returns NULL and writes a message naming the cause (for a rejected
 * property: its name) to err. log may be NULL; it must outlive the consumer. */
gg_kafka_consumer *gg_kafka_consumer_new(const gg_kafka_conf *conf, gg_log *log,
                                         gg_kafka_revoke_fn on_revoke, void *revoke_opaque,
                                         char *err, size_t errlen);

/* Waits up to timeout_ms (negative: forever) for a first message, then takes whatever else is
 * already fetched, up to max. Returns the number of messages stored in msgs; the caller
 * destroys each with rd_kafka_message_destroy(). Consumer errors are never returned: they are
 * logged and kept for gg_kafka_consumer_last_error(). Rebalances and statistics are handled
 * inside this call. */
size_t gg_kafka_consumer_poll(gg_kafka_consumer *c, rd_kafka_message_t **msgs, size_t max,
                              int timeout_ms);

/* Serves the consumer's callbacks (rebalances, statistics, errors) for up to timeout_ms without
 * taking a message, for a caller with no room for one: the group must still be able to take
 * partitions away, and a replaced member to rejoin. A message that arrives anyway is put back
 * and comes again. */
void gg_kafka_consumer_serve(gg_kafka_consumer *c, int timeout_ms);

/* Marks msg, and with it everything before it in its partition, done: its offset + 1 becomes
 * eligible for commit. A mark below an earlier one of the same partition is ignored, so the
 * committed position never moves backwards. Returns RD_KAFKA_RESP_ERR_NO_ERROR when stored or
 * already covered, RD_KAFKA_RESP_ERR__STATE when the partition is no longer assigned. */
rd_kafka_resp_err_t gg_kafka_consumer_done(gg_kafka_consumer *c, const rd_kafka_message_t *msg);

/* Commits the offsets marked done synchronously. Having nothing new to commit is success. */
rd_kafka_resp_err_t gg_kafka_consumer_commit(gg_kafka_consumer *c);

/* Stops (resumes) fetching for the whole assignment, including partitions assigned later. The
 * consumer stays in the group meanwhile; keep calling gg_kafka_consumer_poll(), which hands out
 * no message while paused: one fetched anyway is held back and comes again after the resume. */
void gg_kafka_consumer_pause(gg_kafka_consumer *c);
void gg_kafka_consumer_resume(gg_kafka_consumer *c);
int gg_kafka_consumer_paused(gg_kafka_consumer *c);

/* New references the caller must json_decref().
 * assignment: [{"topic": s, "partition": i}, ...]
 * lag: [{"topic": s, "partition": i, "lag": i, "committed_offset": i, "high_watermark": i}, ...]
 *      from the last statistics report; -1 where librdkafka does not know a value yet. */
json_t *gg_kafka_consumer_assignment_json(gg_kafka_consumer *c);
json_t *gg_kafka_consumer_lag_json(gg_kafka_consumer *c);
/* Sum of the known per-partition lags of the last statistics report (0 before the first). */
int64_t gg_kafka_consumer_total_lag(gg_kafka_consumer *c);

/* Copies the text of the last consumer error to buf and its wall-clock time (ms since the epoch)
 * to *at_ms (if not NULL). Returns 1 when there has been an error, 0 otherwise. */
int gg_kafka_consumer_last_error(gg_kafka_consumer *c, char *buf, size_t len, int64_t *at_ms);

rd_kafka_t *gg_kafka_consumer_handle(gg_kafka_consumer *c);

/* Requests made to wake the fetcher (librdkafka before 2.2 with sized queues; 0 otherwise). */
uint64_t gg_kafka_consumer_wakes(gg_kafka_consumer *c);

/* Commits the offsets marked done, leaves the group (the revoke hook runs once more, on this
 * thread) and frees the consumer. Returns the first error met; the consumer is freed anyway. */
rd_kafka_resp_err_t gg_kafka_consumer_close(gg_kafka_consumer *c);

/* ---- producer ---------------------------------------------------------------------------- */

typedef struct gg_kafka_producer gg_kafka_producer;

/* Delivery report of a gg_kafka_producer_send() message: msg->err tells the outcome, msg_opaque
 * is what was given to the send (msg->_private belongs to gg_kafka), opaque the one given to
 * gg_kafka_producer_new(). */
typedef void (*gg_kafka_dr_fn)(const rd_kafka_message_t *msg, void *msg_opaque, void *opaque);

/* Defaults: enable.idempotence=true, acks=all, linger.ms=5; conf->props override them. dr may
 * be NULL. On error returns NULL with a message naming the cause in err. */
gg_kafka_producer *gg_kafka_producer_new(const gg_kafka_conf *conf, gg_log *log, gg_kafka_dr_fn dr,
                                         void *dr_opaque, char *err, size_t errlen);

/* Queues one message (key and value are copied). topic NULL means conf->topic. headers (may be
 * NULL) are owned by the producer from here on, also when the call fails. Returns
 * RD_KAFKA_RESP_ERR__QUEUE_FULL when the local queue is full: back off and retry. */
rd_kafka_resp_err_t gg_kafka_producer_send(gg_kafka_producer *p, const char *topic, const void *key,
                                           size_t keylen, const void *value, size_t vlen,
                                           rd_kafka_headers_t *headers, void *msg_opaque);

/* Like gg_kafka_producer_send() but returns only when Kafka has acknowledged the message or
 * failed it, or after timeout_ms (negative: until librdkafka's message.timeout.ms). On
 * RD_KAFKA_RESP_ERR__TIMED_OUT the message may still be delivered later. */
rd_kafka_resp_err_t gg_kafka_producer_send_sync(gg_kafka_producer *p, const char *topic,
                                                const void *key, size_t keylen, const void *value,
                                                size_t vlen, rd_kafka_headers_t *headers,
                                                int timeout_ms, char *err, size_t errlen);

typedef struct gg_kafka_record {
    const char *topic; /* NULL = conf->topic */
    const void *key;
    size_t keylen;
    const void *value;
    size_t vlen;
    rd_kafka_headers_t *headers; /* taken over (set to NULL) by gg_kafka_producer_send_batch */
    rd_kafka_resp_err_t err;     /* out: this record's outcome */
} gg_kafka_record;

/* Sends n records and waits for all their delivery reports, at most timeout_ms in all. Each
 * record's err tells its own outcome (RD_KAFKA_RESP_ERR__TIMED_OUT if still unacknowledged).
 * Returns the first failure in record order, or RD_KAFKA_RESP_ERR_NO_ERROR. */
rd_kafka_resp_err_t gg_kafka_producer_send_batch(gg_kafka_producer *p, gg_kafka_record *recs,
                                                 size_t n, int timeout_ms, char *err,
                                                 size_t errlen);

/* Waits until every queued message has been delivered or failed, at most timeout_ms. */
rd_kafka_resp_err_t gg_kafka_producer_flush(gg_kafka_producer *p, int timeout_ms);

int gg_kafka_producer_last_error(gg_kafka_producer *p, char *buf, size_t len, int64_t *at_ms);

rd_kafka_t *gg_kafka_producer_handle(gg_kafka_producer *p);

/* Fails whatever is still queued (delivery reports with a purge error), then frees the
 * producer. Call gg_kafka_producer_flush() first to give queued messages their chance. */
void gg_kafka_producer_destroy(gg_kafka_producer *p);

/* ---- transactions -------------------------------------------------------------------------- */

/* A transactional producer that commits records together with a consumer's offsets: both become
 * visible to read_committed readers at once, or neither does. It belongs to one thread (the
 * consumer's poll thread); its records must not be sent through any other producer call. */
typedef struct gg_kafka_txn gg_kafka_txn;

typedef enum gg_kafka_txn_result {
    GG_KAFKA_TXN_COMMITTED, /* the records and the offsets are committed */
    GG_KAFKA_TXN_ABORTED,   /* neither is: the caller may try again */
    /* The commit was asked for and its outcome is not known: the records and the offsets are
     * either both committed or both not. The consumer's committed offsets tell which. */
    GG_KAFKA_TXN_UNKNOWN
} gg_kafka_txn_result;

/* transactional_id must be unique among the producers writing to the cluster at a time (two
 * sharing one fence each other). conf's strings and props must outlive the producer: after a
 * fatal error it is made again from them. Defaults as gg_kafka_producer_new(), plus
 * transaction.timeout.ms=15000; conf->props may override that, not the id. NULL with the cause
 * in err when a property is refused. */
gg_kafka_txn *gg_kafka_txn_new(const gg_kafka_conf *conf, const char *transactional_id, gg_log *log,
                               char *err, size_t errlen);

/* One transaction: sends the n records (each record's err tells its own outcome, as in
 * gg_kafka_producer_send_batch(); a record refused makes the transaction abort), adds offsets
 * (the next offset to read per partition; NULL or empty: none) with consumer's group metadata,
 * and commits, within timeout_ms in all. The group metadata fences a consumer that the group
 * has replaced (the transaction aborts then). Errors are described in err. */
gg_kafka_txn_result gg_kafka_txn_commit(gg_kafka_txn *t, gg_kafka_record *recs, size_t n,
                                        const rd_kafka_topic_partition_list_t *offsets,
                                        gg_kafka_consumer *consumer, int timeout_ms, char *err,
                                        size_t errlen);

/* Makes the producer ready for transactions (init_transactions), if it is not: that also
 * settles, one way or the other, a transaction that an earlier producer with the same id left
 * open. gg_kafka_txn_commit() does it by itself; after GG_KAFKA_TXN_UNKNOWN, call it before
 * reading the committed offsets, which wait for that transaction. Returns 0 when ready, else -1
 * with the cause in err. */
int gg_kafka_txn_init(gg_kafka_txn *t, int timeout_ms, char *err, size_t errlen);

/* Frees the producer; a transaction left open is aborted by the coordinator after its timeout. */
void gg_kafka_txn_destroy(gg_kafka_txn *t);

/* ---- shared ------------------------------------------------------------------------------ */

/* Readiness probe: one metadata round trip on an existing consumer or producer handle. Returns 0
 * when a broker answered within timeout_ms, -1 with the reason in err otherwise. */
int gg_kafka_probe(rd_kafka_t *rk, int timeout_ms, char *err, size_t errlen);
/* The same as a gg_health probe (gg_health_add(h, "kafka", gg_kafka_producer_probe, producer)):
 * ud is a gg_kafka_producer, the answer is awaited GG_KAFKA_PROBE_TIMEOUT_MS at most. */
#define GG_KAFKA_PROBE_TIMEOUT_MS 2000
int gg_kafka_producer_probe(void *ud, char *err, size_t errlen);

#endif
