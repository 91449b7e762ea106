/* gg_kafka_producer: idempotent producer with fire-and-forget and wait-for-acknowledgement sends
 * (see gg_kafka.h).
 *
 * Every message carries a slot as its librdkafka opaque. A slot of an asynchronous send holds the
 * caller's msg_opaque; the slots of a synchronous send or batch belong to a waiter that the
 * sending thread sleeps on. The waiter is reference counted, because a send that times out
 * returns while its messages are still in flight and their delivery reports must still find
 * live memory. */
#include "gg_kafka_int.h"
#include "gg_time.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gg_kafka_wait gg_kafka_wait;

typedef struct gg_kafka_slot {
    gg_kafka_wait *wait; /* NULL for an asynchronous send */
    void *msg_opaque;
    rd_kafka_resp_err_t err; /* RD_KAFKA_RESP_ERR__IN_PROGRESS until the report */
} gg_kafka_slot;

struct gg_kafka_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t pending; /* messages queued and not yet reported */
    size_t refs;    /* the sender plus one per pending message */
    gg_kafka_slot slots[];
};

struct gg_kafka_producer {
    gg_kafka_base base; /* first: it is the handle's opaque */
    rd_kafka_t *rk;
    char *topic; /* default topic, may be NULL */
    gg_kafka_dr_fn dr;
    void *dr_opaque;
    rd_kafka_queue_t *mainq; /* what rd_kafka_poll() serves; yielded to stop the poller */
    pthread_t poller;
    int poller_running;
    atomic_int stop;
};

/* ---- waiters ------------------------------------------------------------------------------ */

static gg_kafka_wait *wait_new(size_t n)
{
    gg_kafka_wait *w = calloc(1, sizeof(*w) + n * sizeof(gg_kafka_slot));
    if (!w)
        return NULL;
    gg_time_cond_init(&w->cond); /* deadlines must not jump with the wall clock */
    pthread_mutex_init(&w->lock, NULL);
    w->refs = 1;
    for (size_t i = 0; i < n; i++) {
        w->slots[i].wait = w;
        w->slots[i].err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    }
    return w;
}

/* Drops one reference; called with w->lock held, which it releases. */
static void wait_unref_unlock(gg_kafka_wait *w)
{
    int last = --w->refs == 0;
    pthread_mutex_unlock(&w->lock);
    if (last) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
    }
}

static void wait_report(gg_kafka_slot *slot, rd_kafka_resp_err_t err)
{
    gg_kafka_wait *w = slot->wait;
    pthread_mutex_lock(&w->lock);
    slot->err = err;
    if (--w->pending == 0)
        pthread_cond_broadcast(&w->cond);
    wait_unref_unlock(w);
}

/* Returns 0 when every report arrived, ETIMEDOUT otherwise. */
static int wait_all(gg_kafka_wait *w, int timeout_ms)
{
    struct timespec deadline;
    gg_time_deadline(&deadline, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&w->lock);
    while (w->pending > 0 && rc != ETIMEDOUT) {
        if (timeout_ms < 0)
            rc = pthread_cond_wait(&w->cond, &w->lock);
        else
            rc = pthread_cond_timedwait(&w->cond, &w->lock, &deadline);
    }
    rc = w->pending > 0 ? ETIMEDOUT : 0;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* ---- callbacks and poller ----------------------------------------------------------------- */

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    gg_kafka_producer *p = opaque;
    gg_kafka_slot *slot = msg->_private;
    (void)rk;
    if (!slot)
        return;
    if (slot->wait) {
        wait_report(slot, msg->err);
        return;
    }
    if (p->dr)
        p->dr(msg, slot->msg_opaque, p->dr_opaque);
    free(slot);
}

static void *poller_main(void *arg)
{
    gg_kafka_producer *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 1000);
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void producer_free(gg_kafka_producer *p)
{
    if (p->mainq)
        rd_kafka_queue_destroy(p->mainq);
    if (p->rk)
        rd_kafka_destroy(p->rk);
    free(p->topic);
    gg_kafka_base_destroy(&p->base);
    free(p);
}

gg_kafka_producer *gg_kafka_producer_new(const gg_kafka_conf *conf, gg_log *log, gg_kafka_dr_fn dr,
                                         void *dr_opaque, char *err, size_t errlen)
{
    static const gg_prop defaults[] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        /* Small: REST callers wait for the acknowledgement, but a few ms still batch bursts. */
        {"linger.ms", "5"},
    };
    if (!conf) {
        gg_kafka_errf(err, errlen, "kafka producer needs a configuration");
        return NULL;
    }
    gg_kafka_producer *p = calloc(1, sizeof(*p));
    if (!p) {
        gg_kafka_errf(err, errlen, "out of memory");
        return NULL;
    }
    gg_kafka_base_init(&p->base, log);
    p->dr = dr;
    p->dr_opaque = dr_opaque;
    if (conf->topic && *conf->topic)
        p->topic = strdup(conf->topic);

    char why[512];
    rd_kafka_conf_t *rc =
        gg_kafka_conf_build(conf, GG_KAFKA_PRODUCER, defaults, sizeof(defaults) / sizeof(*defaults),
                            &p->base, err, errlen);
    if (!rc)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(rc, dr_msg_cb);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, why, sizeof(why));
    if (!p->rk) {
        rd_kafka_conf_destroy(rc); /* only consumed on success */
        gg_kafka_errf(err, errlen, "kafka producer: %s", why);
        goto fail;
    }
    p->mainq = rd_kafka_queue_get_main(p->rk);
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        gg_kafka_errf(err, errlen, "kafka producer: cannot start the poller thread");
        goto fail;
    }
    pthread_setname_np(p->poller, "gg-kafka-dr");
    p->poller_running = 1;
    gg_info(log, "kafka producer started", "{s:s}", "client", rd_kafka_name(p->rk));
    return p;
fail:
    producer_free(p);
    return NULL;
}

void gg_kafka_producer_destroy(gg_kafka_producer *p)
{
    if (!p)
        return;
    if (p->poller_running) {
        atomic_store(&p->stop, 1);
        /* Sticky: also wakes a poller that has not entered rd_kafka_poll() yet. */
        rd_kafka_queue_yield(p->mainq);
        pthread_join(p->poller, NULL);
    }
    /* Fail what is left so that every slot gets its delivery report (and is freed) before the
     * handle goes away; the purge reports are immediate. */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (rd_kafka_flush(p->rk, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        gg_warn(p->base.log, "kafka producer destroyed with undelivered messages", "{s:i}", "count",
                rd_kafka_outq_len(p->rk));
    gg_info(p->base.log, "kafka producer stopped", NULL);
    producer_free(p);
}

rd_kafka_resp_err_t gg_kafka_producer_flush(gg_kafka_producer *p, int timeout_ms)
{
    return rd_kafka_flush(p->rk, timeout_ms);
}

int gg_kafka_producer_last_error(gg_kafka_producer *p, char *buf, size_t len, int64_t *at_ms)
{
    return gg_kafka_base_last_error(&p->base, buf, len, at_ms);
}

rd_kafka_t *gg_kafka_producer_handle(gg_kafka_producer *p)
{
    return p->rk;
}

/* ---- sending ------------------------------------------------------------------------------ */

static rd_kafka_resp_err_t produce(gg_kafka_producer *p, const char *topic, const void *key,
                                   size_t keylen, const void *value, size_t vlen,
                                   rd_kafka_headers_t *headers, gg_kafka_slot *slot)
{
    if (!topic)
        topic = p->topic;
    if (!topic) {
        if (headers)
            rd_kafka_headers_destroy(headers);
        return RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    }
    rd_kafka_vu_t vu[6];
    size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[n++].u.cstr = topic;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
    vu[n].vtype = RD_KAFKA_VTYPE_KEY;
    vu[n].u.mem.ptr = (void *)key;
    vu[n++].u.mem.size = key ? keylen : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[n].u.mem.ptr = (void *)value;
    vu[n++].u.mem.size = value ? vlen : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[n++].u.ptr = slot;
    if (headers) {
        vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vu[n++].u.headers = headers;
    }
    rd_kafka_error_t *error = rd_kafka_produceva(p->rk, vu, n);
    if (!error)
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t err = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    if (headers) /* librdkafka takes the headers only on success */
        rd_kafka_headers_destroy(headers);
    return err;
}

rd_kafka_resp_err_t gg_kafka_producer_send(gg_kafka_producer *p, const char *topic, const void *key,
                                           size_t keylen, const void *value, size_t vlen,
                                           rd_kafka_headers_t *headers, void *msg_opaque)
{
    gg_kafka_slot *slot = calloc(1, sizeof(*slot));
    if (!slot) {
        if (headers)
            rd_kafka_headers_destroy(headers);
        return RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE;
    }
    slot->msg_opaque = msg_opaque;
    rd_kafka_resp_err_t err = produce(p, topic, key, keylen, value, vlen, headers, slot);
    if (err)
        free(slot);
    return err;
}

/* Queues every record under the waiter; records that fail to queue get their error at once. */
static void queue_batch(gg_kafka_producer *p, gg_kafka_wait *w, gg_kafka_record *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        gg_kafka_slot *slot = &w->slots[i];
        rd_kafka_headers_t *headers = recs[i].headers;
        recs[i].headers = NULL;
        /* Counted before queueing: the report may arrive before produce() returns. */
        pthread_mutex_lock(&w->lock);
        w->pending++;
        w->refs++;
        pthread_mutex_unlock(&w->lock);
        rd_kafka_resp_err_t err = produce(p, recs[i].topic, recs[i].key, recs[i].keylen,
                                          recs[i].value, recs[i].vlen, headers, slot);
        if (err) {
            pthread_mutex_lock(&w->lock);
            slot->err = err;
            w->pending--;
            w->refs--;
            pthread_mutex_unlock(&w->lock);
        }
    }
}

rd_kafka_resp_err_t gg_kafka_producer_send_batch(gg_kafka_producer *p, gg_kafka_record *recs,
                                                 size_t n, int timeout_ms, char *err, size_t errlen)
{
    gg_kafka_wait *w = wait_new(n);
    if (!w) {
        for (size_t i = 0; i < n; i++) {
            if (recs[i].headers)
                rd_kafka_headers_destroy(recs[i].headers);
            recs[i].headers = NULL;
            recs[i].err = RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE;
        }
        gg_kafka_errf(err, errlen, "out of memory");
        return RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE;
    }
    queue_batch(p, w, recs, n);
    wait_all(w, timeout_ms);

    rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = w->slots[i].err;
        if (e == RD_KAFKA_RESP_ERR__IN_PROGRESS)
            e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        recs[i].err = e;
        if (e && !first) {
            first = e;
            gg_kafka_errf(err, errlen, "kafka record %zu of %zu: %s", i + 1, n,
                          rd_kafka_err2str(e));
        }
    }
    wait_unref_unlock(w);
    return first;
}

rd_kafka_resp_err_t gg_kafka_producer_send_sync(gg_kafka_producer *p, const char *topic,
                                                const void *key, size_t keylen, const void *value,
                                                size_t vlen, rd_kafka_headers_t *headers,
                                                int timeout_ms, char *err, size_t errlen)
{
    gg_kafka_record rec = {.topic = topic,
                           .key = key,
                           .keylen = keylen,
                           .value = value,
                           .vlen = vlen,
                           .headers = headers};
    rd_kafka_resp_err_t e = gg_kafka_producer_send_batch(p, &rec, 1, timeout_ms, NULL, 0);
    if (e)
        gg_kafka_errf(err, errlen, "kafka delivery: %s", rd_kafka_err2str(e));
    return e;
}

int gg_kafka_producer_probe(void *ud, char *err, size_t errlen)
{
    return gg_kafka_probe(gg_kafka_producer_handle(ud), GG_KAFKA_PROBE_TIMEOUT_MS, err, errlen);
}
