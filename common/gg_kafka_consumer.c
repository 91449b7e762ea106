/* gg_kafka_consumer: consumer-group member with manual offset storage, rebalance handling and
 * pause/resume (see gg_kafka.h). */
#include "gg_kafka_int.h"
#include "gg_time.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gg_kafka_consumer {
    gg_kafka_base base; /* first: it is the handle's opaque */
    rd_kafka_t *rk;
    gg_kafka_revoke_fn on_revoke;
    void *revoke_opaque;
    gg_kafka_lag lag;

    /* lock guards everything below. It is never held across a call that waits for the poll
     * thread, so any thread may take it. */
    pthread_mutex_t lock;
    rd_kafka_topic_partition_list_t *assignment; /* as last set by the rebalance callback */
    /* Highest offset stored per partition: librdkafka has no getter for stored offsets, and
     * this is what keeps gg_kafka_consumer_done() from moving backwards. */
    rd_kafka_topic_partition_list_t *marks;
    int paused;

    gg_kafka_waker *waker; /* NULL unless sized queues on librdkafka before 2.2 */
    size_t wake_every;     /* records taken between pokes: the sizing's batch */
    size_t since_wake;     /* records taken since the last poke (poll thread only) */
};

/* ---- assignment bookkeeping (called with c->lock held) ----------------------------------- */

static void list_remove(rd_kafka_topic_partition_list_t *list,
                        const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++)
        rd_kafka_topic_partition_list_del(list, parts->elems[i].topic, parts->elems[i].partition);
}

static void list_add(rd_kafka_topic_partition_list_t *list,
                     const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (!rd_kafka_topic_partition_list_find(list, p->topic, p->partition))
            rd_kafka_topic_partition_list_add(list, p->topic, p->partition);
    }
}

/* Newly assigned partitions take on the consumer's pause state: librdkafka starts them
 * fetching, and a store outage does not end because the group rebalanced. */
static void pause_if_paused(gg_kafka_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    if (!c->paused || parts->cnt == 0)
        return;
    rd_kafka_resp_err_t err = rd_kafka_pause_partitions(c->rk, parts);
    if (err)
        gg_kafka_base_error(&c->base, "kafka pause failed", err, rd_kafka_err2str(err));
}

/* Partitions given up while paused would carry librdkafka's pause flag into a later
 * assignment, made when this consumer may long have resumed. Their fetchers are stopped by
 * now, so resuming only clears the flag. Marks go too: a later owner starts from the committed
 * offset. all: parts is the whole assignment. */
static void forget_partitions(gg_kafka_consumer *c, rd_kafka_topic_partition_list_t *parts, int all)
{
    pthread_mutex_lock(&c->lock);
    if (c->paused && parts->cnt > 0)
        rd_kafka_resume_partitions(c->rk, parts);
    if (all) {
        rd_kafka_topic_partition_list_destroy(c->assignment);
        rd_kafka_topic_partition_list_destroy(c->marks);
        c->assignment = rd_kafka_topic_partition_list_new(0);
        c->marks = rd_kafka_topic_partition_list_new(0);
    } else {
        list_remove(c->assignment, parts);
        list_remove(c->marks, parts);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- rebalance ---------------------------------------------------------------------------- */

static int cooperative(gg_kafka_consumer *c)
{
    return strcmp(rd_kafka_rebalance_protocol(c->rk), "COOPERATIVE") == 0;
}

static void report_assign_error(gg_kafka_consumer *c, const char *what, rd_kafka_error_t *error,
                                rd_kafka_resp_err_t err)
{
    if (error) {
        gg_kafka_base_error(&c->base, what, rd_kafka_error_code(error),
                            rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (err) {
        gg_kafka_base_error(&c->base, what, err, rd_kafka_err2str(err));
    }
}

static void assign_partitions(gg_kafka_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    int coop = cooperative(c);
    if (coop)
        report_assign_error(c, "kafka incremental assign failed",
                            rd_kafka_incremental_assign(c->rk, parts), 0);
    else
        report_assign_error(c, "kafka assign failed", NULL, rd_kafka_assign(c->rk, parts));

    pthread_mutex_lock(&c->lock);
    if (!coop) {
        rd_kafka_topic_partition_list_destroy(c->assignment);
        c->assignment = rd_kafka_topic_partition_list_new(parts->cnt);
    }
    list_add(c->assignment, parts);
    pause_if_paused(c, parts);
    int paused = c->paused;
    pthread_mutex_unlock(&c->lock);

    gg_info(c->base.log, "kafka partitions assigned", "{s:i, s:s, s:b}", "count", parts->cnt,
            "protocol", coop ? "cooperative" : "eager", "paused", paused);
}

/* Hook first (the service flushes and marks), then commit those marks while the partitions
 * are still ours, then let them go. */
static void revoke_partitions(gg_kafka_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    int coop = cooperative(c);
    int lost = rd_kafka_assignment_lost(c->rk);
    gg_info(c->base.log, "kafka partitions revoked", "{s:i, s:b}", "count", parts->cnt, "lost",
            lost);
    if (c->on_revoke)
        c->on_revoke(c, parts, lost, c->revoke_opaque);
    if (!lost)
        gg_kafka_consumer_commit(c);

    if (coop)
        report_assign_error(c, "kafka incremental unassign failed",
                            rd_kafka_incremental_unassign(c->rk, parts), 0);
    else
        report_assign_error(c, "kafka unassign failed", NULL, rd_kafka_assign(c->rk, NULL));

    forget_partitions(c, parts, !coop);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    gg_kafka_consumer *c = opaque;
    (void)rk;
    switch (err) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        assign_partitions(c, parts);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        revoke_partitions(c, parts);
        break;
    default:
        /* librdkafka's contract: on any other rebalance error, drop the assignment to get back
         * in sync with the group. */
        gg_kafka_base_error(&c->base, "kafka rebalance failed", err, rd_kafka_err2str(err));
        report_assign_error(c, "kafka unassign failed", NULL, rd_kafka_assign(c->rk, NULL));
        pthread_mutex_lock(&c->lock);
        rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_copy(c->assignment);
        pthread_mutex_unlock(&c->lock);
        forget_partitions(c, all, 1);
        rd_kafka_topic_partition_list_destroy(all);
        break;
    }
}

static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    gg_kafka_consumer *c = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    if (err) {
        gg_kafka_base_error(&c->base, "kafka offset commit failed", err, rd_kafka_err2str(err));
        return;
    }
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &offsets->elems[i];
        if (p->err)
            gg_kafka_base_error(&c->base, "kafka offset commit failed", p->err,
                                rd_kafka_err2str(p->err));
        else
            gg_debug(c->base.log, "kafka offset committed", "{s:s, s:i, s:I}", "topic", p->topic,
                     "partition", (int)p->partition, "offset", (json_int_t)p->offset);
    }
}

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    gg_kafka_consumer *c = opaque;
    (void)rk;
    gg_kafka_lag_update(&c->lag, json, len, c->base.log);
    return 0; /* librdkafka frees json */
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static rd_kafka_conf_t *consumer_conf(gg_kafka_consumer *c, const gg_kafka_conf *conf, char *err,
                                      size_t errlen)
{
    char stats[16];
    int interval = conf->stats_interval_ms == 0  ? GG_KAFKA_STATS_INTERVAL_MS
                   : conf->stats_interval_ms < 0 ? 0
                                                 : conf->stats_interval_ms;
    snprintf(stats, sizeof(stats), "%d", interval);
    const gg_prop defaults[] = {
        {"group.id", conf->group_id},      {"enable.auto.commit", "true"},
        {"auto.offset.reset", "earliest"}, {"enable.partition.eof", "false"},
        {"statistics.interval.ms", stats}, {GG_KAFKA_FORCED_PROP, "false"},
    };
    if (gg_kafka_conf_forbid_forced(conf, err, errlen) < 0)
        return NULL;
    rd_kafka_conf_t *rc =
        gg_kafka_conf_build(conf, GG_KAFKA_CONSUMER, defaults, sizeof(defaults) / sizeof(*defaults),
                            &c->base, err, errlen);
    if (!rc)
        return NULL;
    rd_kafka_conf_set_rebalance_cb(rc, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(rc, offset_commit_cb);
    rd_kafka_conf_set_stats_cb(rc, stats_cb);
    return rc;
}

static rd_kafka_resp_err_t subscribe(gg_kafka_consumer *c, const char *topics)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    char *copy = strdup(topics), *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        rd_kafka_topic_partition_list_add(list, t, RD_KAFKA_PARTITION_UA);
    free(copy);
    rd_kafka_resp_err_t err =
        list->cnt ? rd_kafka_subscribe(c->rk, list) : RD_KAFKA_RESP_ERR__INVALID_ARG;
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

static void consumer_free(gg_kafka_consumer *c)
{
    gg_kafka_waker_stop(c->waker);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    rd_kafka_topic_partition_list_destroy(c->assignment);
    rd_kafka_topic_partition_list_destroy(c->marks);
    pthread_mutex_destroy(&c->lock);
    gg_kafka_lag_destroy(&c->lag);
    gg_kafka_base_destroy(&c->base);
    free(c);
}

gg_kafka_consumer *gg_kafka_consumer_new(const gg_kafka_conf *conf, gg_log *log,
                                         gg_kafka_revoke_fn on_revoke, void *revoke_opaque,
                                         char *err, size_t errlen)
{
    if (!conf || !conf->group_id || !*conf->group_id || !conf->topic || !*conf->topic) {
        gg_kafka_errf(err, errlen, "kafka consumer needs a group id and a topic");
        return NULL;
    }
    gg_kafka_consumer *c = calloc(1, sizeof(*c));
    if (!c) {
        gg_kafka_errf(err, errlen, "out of memory");
        return NULL;
    }
    gg_kafka_base_init(&c->base, log);
    gg_kafka_lag_init(&c->lag);
    pthread_mutex_init(&c->lock, NULL);
    c->on_revoke = on_revoke;
    c->revoke_opaque = revoke_opaque;
    c->assignment = rd_kafka_topic_partition_list_new(0);
    c->marks = rd_kafka_topic_partition_list_new(0);

    char why[512];
    rd_kafka_conf_t *rc = consumer_conf(c, conf, err, errlen);
    if (!rc)
        goto fail;
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rc, why, sizeof(why));
    if (!c->rk) {
        rd_kafka_conf_destroy(rc); /* only consumed on success */
        gg_kafka_errf(err, errlen, "kafka consumer: %s", why);
        goto fail;
    }
    /* One queue for everything (rebalances, statistics, errors, commits), served by
     * gg_kafka_consumer_poll(): all callbacks then run on the poll thread. */
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_resp_err_t e = subscribe(c, conf->topic);
    if (e) {
        gg_kafka_errf(err, errlen, "kafka subscribe to \"%s\": %s", conf->topic,
                      rd_kafka_err2str(e));
        goto fail;
    }
    if (conf->sizing && gg_kafka_waker_needed()) {
        c->waker = gg_kafka_waker_start(gg_kafka_wake_leader, c->rk);
        c->wake_every = conf->sizing->batch > 0 ? (size_t)conf->sizing->batch : 1;
    }
    gg_info(log, "kafka consumer started", "{s:s, s:s, s:s}", "group", conf->group_id, "topic",
            conf->topic, "client", rd_kafka_name(c->rk));
    return c;
fail:
    consumer_free(c);
    return NULL;
}

rd_kafka_resp_err_t gg_kafka_consumer_close(gg_kafka_consumer *c)
{
    if (!c)
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    gg_kafka_waker_stop(c->waker); /* no more requests while the group is left */
    c->waker = NULL;
    rd_kafka_resp_err_t err = gg_kafka_consumer_commit(c);
    /* Leaving the group runs the revoke path (hook, commit, unassign) on this thread. */
    rd_kafka_resp_err_t cerr = rd_kafka_consumer_close(c->rk);
    if (cerr)
        gg_kafka_base_error(&c->base, "kafka consumer close failed", cerr, rd_kafka_err2str(cerr));
    gg_info(c->base.log, "kafka consumer closed", NULL);
    consumer_free(c);
    return err ? err : cerr;
}

/* ---- consuming ---------------------------------------------------------------------------- */

static void consumer_error(gg_kafka_consumer *c, const rd_kafka_message_t *m)
{
    char text[512];
    if (m->rkt)
        snprintf(text, sizeof(text), "%s [%d]: %s", rd_kafka_topic_name(m->rkt), (int)m->partition,
                 rd_kafka_message_errstr(m));
    else
        snprintf(text, sizeof(text), "%s", rd_kafka_message_errstr(m));
    gg_kafka_base_error(&c->base, "kafka consumer error", m->err, text);
}

/* A message that arrives while the consumer is paused came from a partition whose pause did
 * not hold: librdkafka can start a partition assigned by a rebalance fetching after the
 * callback paused it. Such a partition is paused again and rewound to the message, which is
 * dropped and fetched again after the resume: a paused consumer hands out nothing, and
 * nothing is skipped. Returns 1 when m was held back (and destroyed). */
static int hold_back(gg_kafka_consumer *c, rd_kafka_message_t *m)
{
    pthread_mutex_lock(&c->lock);
    int paused = c->paused;
    if (paused) {
        rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(one, rd_kafka_topic_name(m->rkt), m->partition)->offset =
            m->offset;
        rd_kafka_resp_err_t err = rd_kafka_pause_partitions(c->rk, one);
        rd_kafka_error_t *error = err ? NULL : rd_kafka_seek_partitions(c->rk, one, 0);
        if (err || error)
            report_assign_error(c, "kafka pause of a late partition failed", error, err);
        rd_kafka_topic_partition_list_destroy(one);
        gg_debug(c->base.log, "kafka message held back while paused", "{s:s, s:i, s:I}", "topic",
                 rd_kafka_topic_name(m->rkt), "partition", (int)m->partition, "offset",
                 (json_int_t)m->offset);
    }
    pthread_mutex_unlock(&c->lock);
    if (paused)
        rd_kafka_message_destroy(m);
    return paused;
}

size_t gg_kafka_consumer_poll(gg_kafka_consumer *c, rd_kafka_message_t **msgs, size_t max,
                              int timeout_ms)
{
    size_t n = 0;
    int64_t deadline = timeout_ms < 0 ? 0 : gg_time_mono_ms() + timeout_ms;
    while (n < max) {
        int wait = 0;
        if (n == 0) {
            int64_t left = deadline - gg_time_mono_ms();
            wait = timeout_ms < 0 ? -1 : left > 0 ? (int)left : 0;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, wait);
        if (!m) {
            if (wait == 0)
                break;
            continue; /* woke up for a callback: keep waiting out the timeout */
        }
        if (m->err) {
            consumer_error(c, m);
            rd_kafka_message_destroy(m);
            continue;
        }
        if (hold_back(c, m))
            continue;
        msgs[n++] = m;
    }
    /* A batch's worth taken since the last poke: the queue has room the fetcher may not see
     * (gg_kafka_waker.c). */
    c->since_wake += n;
    if (c->waker && n > 0 && c->since_wake >= c->wake_every) {
        c->since_wake = 0;
        gg_kafka_waker_poke(c->waker, rd_kafka_topic_name(msgs[n - 1]->rkt),
                            msgs[n - 1]->partition);
    }
    return n;
}

void gg_kafka_consumer_serve(gg_kafka_consumer *c, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!m)
        return;
    if (m->err) {
        consumer_error(c, m);
        rd_kafka_message_destroy(m);
        return;
    }
    if (hold_back(c, m))
        return;
    /* Not paused: the message goes back to its partition's fetch position and comes again. */
    rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset;
    report_assign_error(c, "kafka rewind failed", rd_kafka_seek_partitions(c->rk, one, 0), 0);
    rd_kafka_topic_partition_list_destroy(one);
    rd_kafka_message_destroy(m);
}

rd_kafka_resp_err_t gg_kafka_consumer_done(gg_kafka_consumer *c, const rd_kafka_message_t *msg)
{
    if (!msg || msg->err || !msg->rkt)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    const char *topic = rd_kafka_topic_name(msg->rkt);
    int64_t next = msg->offset + 1; /* Kafka commits the next offset to read */
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

    /* Held across the store so that two threads marking the same partition cannot store out of
     * order. */
    pthread_mutex_lock(&c->lock);
    rd_kafka_topic_partition_t *mark =
        rd_kafka_topic_partition_list_find(c->marks, topic, msg->partition);
    if (!mark || mark->offset < next) {
        rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(one, topic, msg->partition)->offset = next;
        err = rd_kafka_offsets_store(c->rk, one);
        if (!err)
            err = one->elems[0].err;
        rd_kafka_topic_partition_list_destroy(one);
        if (!err) {
            if (!mark)
                mark = rd_kafka_topic_partition_list_add(c->marks, topic, msg->partition);
            mark->offset = next;
        }
    }
    pthread_mutex_unlock(&c->lock);

    if (err)
        gg_debug(c->base.log, "kafka offset not stored", "{s:s, s:i, s:I, s:s}", "topic", topic,
                 "partition", (int)msg->partition, "offset", (json_int_t)msg->offset, "error",
                 rd_kafka_err2str(err));
    return err;
}

rd_kafka_resp_err_t gg_kafka_consumer_commit(gg_kafka_consumer *c)
{
    /* NULL offsets: commit what has been stored for the current assignment. */
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, NULL, 0);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err)
        gg_kafka_base_error(&c->base, "kafka offset commit failed", err, rd_kafka_err2str(err));
    return err;
}

/* ---- pause / resume ----------------------------------------------------------------------- */

static void set_paused(gg_kafka_consumer *c, int paused)
{
    pthread_mutex_lock(&c->lock);
    if (c->paused != paused && c->assignment->cnt > 0) {
        rd_kafka_resp_err_t err = paused ? rd_kafka_pause_partitions(c->rk, c->assignment)
                                         : rd_kafka_resume_partitions(c->rk, c->assignment);
        if (err)
            gg_kafka_base_error(&c->base, paused ? "kafka pause failed" : "kafka resume failed",
                                err, rd_kafka_err2str(err));
    }
    if (c->paused != paused)
        gg_info(c->base.log, paused ? "kafka consumption paused" : "kafka consumption resumed",
                "{s:i}", "partitions", c->assignment->cnt);
    c->paused = paused;
    pthread_mutex_unlock(&c->lock);
}

void gg_kafka_consumer_pause(gg_kafka_consumer *c)
{
    set_paused(c, 1);
}

void gg_kafka_consumer_resume(gg_kafka_consumer *c)
{
    set_paused(c, 0);
}

int gg_kafka_consumer_paused(gg_kafka_consumer *c)
{
    pthread_mutex_lock(&c->lock);
    int paused = c->paused;
    pthread_mutex_unlock(&c->lock);
    return paused;
}

/* ---- status ------------------------------------------------------------------------------- */

json_t *gg_kafka_consumer_assignment_json(gg_kafka_consumer *c)
{
    json_t *out = json_array();
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->assignment->cnt; i++)
        json_array_append_new(out, json_pack("{s:s, s:i}", "topic", c->assignment->elems[i].topic,
                                             "partition", (int)c->assignment->elems[i].partition));
    pthread_mutex_unlock(&c->lock);
    return out;
}

json_t *gg_kafka_consumer_lag_json(gg_kafka_consumer *c)
{
    return gg_kafka_lag_json(&c->lag);
}

int64_t gg_kafka_consumer_total_lag(gg_kafka_consumer *c)
{
    return gg_kafka_lag_total(&c->lag);
}

int gg_kafka_consumer_last_error(gg_kafka_consumer *c, char *buf, size_t len, int64_t *at_ms)
{
    return gg_kafka_base_last_error(&c->base, buf, len, at_ms);
}

uint64_t gg_kafka_consumer_wakes(gg_kafka_consumer *c)
{
    return gg_kafka_waker_sent(c->waker);
}

rd_kafka_t *gg_kafka_consumer_handle(gg_kafka_consumer *c)
{
    return c->rk;
}
