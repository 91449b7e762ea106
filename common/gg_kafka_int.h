/* gg_kafka_int: what the gg_kafka_*.c files share and nobody else should see: the part common to
 * consumer and producer (log sink, last error), configuration building, and the lag table fed
 * by librdkafka's statistics. */
#ifndef GG_KAFKA_INT_H
#define GG_KAFKA_INT_H

#include <pthread.h>

#include "gg_kafka.h"

/* First member of both gg_kafka_consumer and gg_kafka_producer, and the handle's opaque, so
 * that the log and error callbacks can find it from the rd_kafka_t alone. */
typedef struct gg_kafka_base {
    gg_log *log;
    pthread_mutex_t lock; /* guards last_error; callbacks set it from librdkafka threads */
    char last_error[256];
    int64_t last_error_ms;
} gg_kafka_base;

void gg_kafka_base_init(gg_kafka_base *b, gg_log *log);
void gg_kafka_base_destroy(gg_kafka_base *b);
/* Logs a warning and keeps text as the last error. */
void gg_kafka_base_error(gg_kafka_base *b, const char *what, rd_kafka_resp_err_t code,
                         const char *text);
int gg_kafka_base_last_error(gg_kafka_base *b, char *buf, size_t len, int64_t *at_ms);

void gg_kafka_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum gg_kafka_role { GG_KAFKA_CHECK, GG_KAFKA_CONSUMER, GG_KAFKA_PRODUCER } gg_kafka_role;

/* Builds a configuration: brokers and client id from conf, then defaults, then the queue bounds
 * of conf->sizing for role, then conf->props, with gg_log routing and base as opaque. Returns
 * NULL with the offending property named in err. */
rd_kafka_conf_t *gg_kafka_conf_build(const gg_kafka_conf *conf, gg_kafka_role role,
                                     const gg_prop *defaults, size_t ndefaults, gg_kafka_base *base,
                                     char *err, size_t errlen);

/* The consumer sets it false on every handle and refuses it among conf->props: turning it on
 * would commit messages nobody marked done. */
#define GG_KAFKA_FORCED_PROP "enable.auto.offset.store"

/* 0, or -1 with a message in err when conf->props names GG_KAFKA_FORCED_PROP. */
int gg_kafka_conf_forbid_forced(const gg_kafka_conf *conf, char *err, size_t errlen);

/* Per-partition lag from the last statistics report, replaced whole on every report. */
typedef struct gg_kafka_lag {
    pthread_mutex_t lock;
    json_t *partitions; /* array, see gg_kafka_consumer_lag_json() */
    int64_t total;
} gg_kafka_lag;

void gg_kafka_lag_init(gg_kafka_lag *l);
void gg_kafka_lag_destroy(gg_kafka_lag *l);
/* Parses one statistics JSON document. Returns 0, or -1 when it is not valid JSON. */
int gg_kafka_lag_update(gg_kafka_lag *l, const char *json, size_t len, gg_log *log);
json_t *gg_kafka_lag_json(gg_kafka_lag *l);
int64_t gg_kafka_lag_total(gg_kafka_lag *l);

/* librdkafka from this version on backs off a full prefetch queue for fetch.queue.backoff.ms
 * (gg_kafka_conf.c sets it); before it, for up to a second, unless a gg_kafka_waker wakes the
 * fetcher. */
#define GG_KAFKA_FETCH_QUEUE_BACKOFF_VERSION 0x020200ff
#define GG_KAFKA_FETCH_QUEUE_BACKOFF_MS      10

/* Wakes the broker thread of a partition's leader, on a thread of its own, so that a consumer
 * draining a sized prefetch queue does not wait for librdkafka's one-second backoff (see
 * gg_kafka_waker.c). */
typedef struct gg_kafka_waker gg_kafka_waker;

/* True when the linked librdkafka lacks fetch.queue.backoff.ms. */
int gg_kafka_waker_needed(void);
/* What the waker does per poke, on its thread: gg_kafka_wake_leader with the rd_kafka_t as
 * opaque (a ListOffsets request to the partition's leader); tests give their own. */
typedef void (*gg_kafka_wake_fn)(void *opaque, const char *topic, int32_t partition);
void gg_kafka_wake_leader(void *rk, const char *topic, int32_t partition);
/* NULL when out of resources: the consumer then works as without it, only slower. */
gg_kafka_waker *gg_kafka_waker_start(gg_kafka_wake_fn fn, void *opaque);
/* After a batch's worth of records was taken; any thread; never waits for the broker. */
void gg_kafka_waker_poke(gg_kafka_waker *w, const char *topic, int32_t partition);
/* Requests made so far. */
uint64_t gg_kafka_waker_sent(gg_kafka_waker *w);
/* Stops and frees it; waits for a request in flight (at most half a second). Before the handle
 * is destroyed. */
void gg_kafka_waker_stop(gg_kafka_waker *w);

#endif
