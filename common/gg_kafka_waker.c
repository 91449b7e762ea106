/* gg_kafka_waker: wakes a consumer's fetcher on librdkafka before 2.2 (see gg_kafka_int.h).
 *
 * Before 2.2, a partition whose prefetch queue is over queued.min.messages or
 * queued.max.messages.kbytes leaves its broker thread's fetch list, and that thread looks again
 * only when something wakes it: a request or response on its connection, or its one-second
 * timeout. A consumer that drains its queue faster than that waits out the rest of the second,
 * so the sized queues (gg_kafka_sizing) capped a service at about P x B readings per second per
 * partition: gridgate-cache applied a backlog at 8,200 readings/s instead of 58,000. librdkafka
 * 2.2 added fetch.queue.backoff.ms for exactly this (gg_kafka_conf.c sets it there, and no
 * waker runs). Here a request to the partition's leader does the waking: ListOffsets, through
 * rd_kafka_query_watermark_offsets(), is cheap for the broker and goes out on the leader's
 * connection, whose thread then decides again which partitions to fetch.
 *
 * The consumer pokes the waker each time it has taken a batch's worth of records since the
 * last poke (gg_kafka_sizing's batch): by then the queue has room for a batch, and the fetcher
 * may be the one sleeping. At full speed that is a poke every few milliseconds; at a live feed's
 * rate one every few seconds. The waker runs one request at a time, at least
 * GG_KAFKA_WAKE_GAP_MS apart, on its own thread so that the consumer never waits for the
 * broker. */
#include "gg_kafka_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gg_time.h"

#define GG_KAFKA_WAKE_GAP_MS GG_KAFKA_FETCH_QUEUE_BACKOFF_MS
#define GG_KAFKA_WAKE_TIMEOUT_MS                                                                   \
    500 /* a request that long is answered late; the next poke retries */

struct gg_kafka_waker {
    gg_kafka_wake_fn fn;
    void *opaque;
    pthread_t thread;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;
    bool want, stop;
    bool idle; /* waiting for a poke: the only time a poke needs to signal */
    char topic[256];
    int32_t partition;
    uint64_t sent; /* requests made, for the tests */
};

static void waker_sleep_gap(gg_kafka_waker *w)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += GG_KAFKA_WAKE_GAP_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&w->lock);
}

static void *waker_main(void *arg)
{
    gg_kafka_waker *w = arg;
    char topic[sizeof(w->topic)];
    for (;;) {
        pthread_mutex_lock(&w->lock);
        w->idle = true;
        while (!w->want && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        w->idle = false;
        if (w->stop) {
            pthread_mutex_unlock(&w->lock);
            return NULL;
        }
        w->want = false;
        memcpy(topic, w->topic, sizeof(topic));
        int32_t partition = w->partition;
        w->sent++;
        pthread_mutex_unlock(&w->lock);
        w->fn(w->opaque, topic, partition);
        waker_sleep_gap(w);
    }
}

int gg_kafka_waker_needed(void)
{
    return rd_kafka_version() < GG_KAFKA_FETCH_QUEUE_BACKOFF_VERSION;
}

void gg_kafka_wake_leader(void *rk, const char *topic, int32_t partition)
{
    /* The answer does not matter: an error (a partition just revoked, a broker away) means the
     * next poke tries again. */
    int64_t lo, hi;
    rd_kafka_query_watermark_offsets(rk, topic, partition, &lo, &hi, GG_KAFKA_WAKE_TIMEOUT_MS);
}

gg_kafka_waker *gg_kafka_waker_start(gg_kafka_wake_fn fn, void *opaque)
{
    gg_kafka_waker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->fn = fn;
    w->opaque = opaque;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, waker_main, w) != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

void gg_kafka_waker_poke(gg_kafka_waker *w, const char *topic, int32_t partition)
{
    if (!w || !topic)
        return;
    pthread_mutex_lock(&w->lock);
    snprintf(w->topic, sizeof(w->topic), "%s", topic);
    w->partition = partition;
    w->want = true;
    /* During a request or the gap after it the poke is only noted: waking the thread then would
     * cost a context switch for nothing. */
    if (w->idle)
        pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

uint64_t gg_kafka_waker_sent(gg_kafka_waker *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    uint64_t n = w->sent;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void gg_kafka_waker_stop(gg_kafka_waker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
