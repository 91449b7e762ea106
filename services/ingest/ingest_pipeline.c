/* ingest_pipeline: the consumer thread. It takes messages from the readings topic into a
 * batch, and when the batch is full or its linger time is up, settles it: readings into the
 * store in one unordered bulk write (run by the writer thread while the next batch fills),
 * rejected messages onto the dead-letter topic. Offsets are committed only for a settled
 * batch (with kafka transactions, in the transaction that also commits the batch's dead
 * letters; otherwise marked done for the consumer to commit), and batches are settled in
 * order, so a crash replays rather than loses.
 *
 * When the store (or Kafka, for dead letters) fails, the batch is held and retried with capped
 * exponential backoff while consumption is paused, so memory stays bounded by two batches; the
 * failure is reported to the health module, which turns /readyz 503 naming the dependency.
 * The first retry that succeeds resumes consumption. */
#include "ingest.h"
#include "ingest_pipeline.h"
#include "ingest_store.h"
#include "ingest_dlq.h"
#include "ingest_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INGEST_IDLE_POLL_MS  100 /* how often an idle pipeline looks at its stop flag */
#define INGEST_BUSY_POLL_MS  5   /* ... and at the writer, while a write runs */
#define INGEST_DLQ_WAIT_MS   10000
#define INGEST_RETRY_BASE_MS 100

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int stopping(const ingest_pipeline *p)
{
    return atomic_load(&p->stop);
}

static void set_last_error(ingest_pipeline *p, const char *err)
{
    pthread_mutex_lock(&p->lock);
    snprintf(p->last_error, sizeof(p->last_error), "%s", err);
    p->last_error_ms = gg_time_wall_ms();
    pthread_mutex_unlock(&p->lock);
}

static ingest_batch *other_batch(ingest_pipeline *p, const ingest_batch *b)
{
    return b == &p->batches[0] ? &p->batches[1] : &p->batches[0];
}

/* ---- settling a batch -------------------------------------------------------------------- */

static int ensure_indexes(ingest_ctx *ctx, char *err, size_t errlen)
{
    ingest_pipeline *p = &ctx->pipe;
    int rc = ingest_store_ensure_indexes(ctx, err, errlen);
    if (rc == 1)
        gg_error(&ctx->svc.log, "the store refused the readings index; going on without it",
                 "{s:s}", "error", err);
    else if (rc == 0)
        gg_info(&ctx->svc.log, "readings index ensured", "{s:s, s:s}", "database",
                ctx->cfg.mongo_db, "collection", ctx->cfg.mongo_collection);
    p->indexes_ok = rc >= 0;
    if (rc < 0)
        gg_health_report(ctx->dep_mongo, false, err);
    return rc >= 0 ? 0 : -1;
}

/* The dead-letter half of settling, after the store's half returned src. Reports each
 * dependency touched; returns 0 when the batch is settled. */
static int finish_settle(ingest_ctx *ctx, ingest_batch *b, int src, const char *serr,
                         int dlq_wait_ms, char *err, size_t errlen)
{
    char derr[256] = "";
    int drc = 0;
    if (ctx->pipe.txn) {
        /* The transaction commits the batch's offsets, so the store must have every reading. */
        if (src == 0 && (drc = ingest_dlq_commit(ctx, b, dlq_wait_ms, derr, sizeof(derr))) != 0)
            gg_health_report(ctx->dep_kafka, false, derr);
    } else if (ingest_batch_count(b, INGEST_ENTRY_DLQ) > 0) {
        drc = ingest_dlq_send(ctx, b, dlq_wait_ms, derr, sizeof(derr));
        if (drc != 0)
            gg_health_report(ctx->dep_kafka, false, derr);
    }
    if (src != 0)
        snprintf(err, errlen, "mongodb: %s", serr);
    else if (drc != 0 && ctx->pipe.txn)
        snprintf(err, errlen, "%s", derr);
    else if (drc != 0)
        snprintf(err, errlen, "kafka dead-letter topic: %s", derr);
    return src == 0 && drc == 0 ? 0 : -1;
}

/* One synchronous attempt at settling b: the store first, since it may turn a reading into a
 * dead letter, then the dead-letter topic. */
static int flush_once(ingest_ctx *ctx, ingest_batch *b, int dlq_wait_ms, char *err, size_t errlen)
{
    ingest_pipeline *p = &ctx->pipe;
    char serr[256] = "";
    int src = 0;
    if (ingest_batch_count(b, INGEST_ENTRY_STORE) > 0) {
        src = p->indexes_ok ? 0 : ensure_indexes(ctx, serr, sizeof(serr));
        if (src == 0)
            src = ingest_store_write(ctx, b, serr, sizeof(serr));
        gg_health_report(ctx->dep_mongo, src == 0, serr);
    }
    return finish_settle(ctx, b, src, serr, dlq_wait_ms, err, errlen);
}

/* Marks the last message of each partition done (covering the whole settled batch) and frees
 * the batch. A partition revoked meanwhile refuses the mark; its next owner replays it. With
 * kafka transactions the offsets are committed already, with the batch's dead letters. */
static void mark_done(ingest_ctx *ctx, ingest_batch *b)
{
    ingest_pipeline *p = &ctx->pipe;
    size_t n = p->txn ? 0 : ingest_batch_last_per_partition(b, p->marks, b->cap);
    for (size_t i = 0; i < n; i++)
        gg_kafka_consumer_done(p->consumer, p->marks[i]);
    ingest_batch_clear(b);
}

static int settle_sync(ingest_ctx *ctx, ingest_batch *b, int dlq_wait_ms, char *err, size_t errlen)
{
    if (flush_once(ctx, b, dlq_wait_ms, err, errlen) != 0)
        return -1;
    mark_done(ctx, b);
    return 0;
}

static void begin_outage(ingest_ctx *ctx, ingest_batch *b, const char *err)
{
    ingest_pipeline *p = &ctx->pipe;
    gg_counter_add(ctx->m.store_retries, 1);
    set_last_error(p, err);
    if (p->held) {
        gg_debug(&ctx->svc.log, "batch retry failed", "{s:s, s:i, s:i}", "error", err, "entries",
                 (int)b->n, "failures", (int)p->backoff.attempt);
        return;
    }
    p->held = b;
    gg_kafka_consumer_pause(p->consumer);
    gg_gauge_set(ctx->m.paused, 1);
    gg_warn(&ctx->svc.log, "batch not settled; consumption paused, retrying", "{s:s, s:i}", "error",
            err, "entries", (int)b->n);
}

static void end_outage(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    gg_backoff_reset(&p->backoff);
    if (!p->held)
        return;
    p->held = NULL;
    gg_kafka_consumer_resume(p->consumer);
    gg_gauge_set(ctx->m.paused, 0);
    gg_info(&ctx->svc.log, "batch settled; consumption resumed", NULL);
}

/* Settles the batch the writer was working on, once its write has run (job NULL: it had
 * nothing for the store). */
static void complete_inflight(ingest_ctx *ctx, ingest_write *job)
{
    ingest_pipeline *p = &ctx->pipe;
    ingest_batch *b = p->inflight;
    char serr[256] = "", err[300];
    int src = 0;
    p->inflight = NULL;
    p->inflight_job = NULL;
    if (job) {
        src = ingest_store_end(job, serr, sizeof(serr));
        gg_health_report(ctx->dep_mongo, src == 0, serr);
    }
    if (finish_settle(ctx, b, src, serr, INGEST_DLQ_WAIT_MS, err, sizeof(err)) == 0) {
        mark_done(ctx, b);
        gg_backoff_reset(&p->backoff);
    } else {
        begin_outage(ctx, b, err);
    }
}

static void wait_inflight(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    if (p->inflight)
        complete_inflight(ctx, p->inflight_job ? ingest_writer_collect(&p->writer, -1) : NULL);
}

/* Builds the bulk write of the filling batch ahead of time, while the writer still runs the
 * previous one: the store then waits only for the hand-over, not for 500 documents to be
 * encoded. NULL when there is nothing to build (or no memory; submit then tries again). */
static ingest_write *prepare(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    if (!p->inflight_job || !p->indexes_ok ||
        ingest_batch_count(p->filling, INGEST_ENTRY_STORE) == 0)
        return NULL;
    return ingest_store_begin(ctx, p->filling);
}

/* Hands the filling batch (with its write, when prepared) to the writer; the other batch,
 * settled, starts filling. */
static void submit(ingest_ctx *ctx, ingest_write *job)
{
    ingest_pipeline *p = &ctx->pipe;
    ingest_batch *b = p->filling;
    char err[256] = "";
    p->filling = other_batch(p, b);
    p->inflight = b;
    if (ingest_batch_count(b, INGEST_ENTRY_STORE) == 0) {
        complete_inflight(ctx, NULL);
        return;
    }
    if (!job && (p->indexes_ok || ensure_indexes(ctx, err, sizeof(err)) == 0))
        job = ingest_store_begin(ctx, b);
    if (!job) {
        char why[300];
        snprintf(why, sizeof(why), "mongodb: %s", err[0] ? err : "out of memory");
        p->inflight = NULL;
        begin_outage(ctx, b, why);
        return;
    }
    p->inflight_job = job;
    ingest_writer_submit(&p->writer, job);
}

/* ---- the loop ---------------------------------------------------------------------------- */

/* Takes one message if one comes within wait_ms. One at a time on purpose: a rebalance served
 * inside a poll must never leave messages of revoked partitions in hand (see on_revoke). */
static int take_one(ingest_ctx *ctx, int wait_ms)
{
    ingest_pipeline *p = &ctx->pipe;
    ingest_batch *b = p->filling;
    rd_kafka_message_t *m = NULL;
    if (b->n == b->cap || gg_kafka_consumer_poll(p->consumer, &m, 1, wait_ms) == 0)
        return 0;
    gg_counter_add(ctx->m.consumed, 1);
    ingest_batch_add(p->filling, m, gg_time_mono_ms());
    return 1;
}

/* Fills the batch up to its size: waits for the next message up to the linger deadline (or the
 * idle period, or briefly while a write runs), then takes only what has already arrived. */
static void fill(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    const ingest_batch *b = p->filling;
    int64_t wait = p->inflight ? INGEST_BUSY_POLL_MS : INGEST_IDLE_POLL_MS;
    if (b->n > 0) {
        int64_t left = b->first_ms + ctx->cfg.batch_linger_ms - gg_time_mono_ms();
        wait = left < 0 ? 0 : left < wait ? left : wait;
    }
    if (b->n >= b->cap || !take_one(ctx, (int)wait))
        return;
    while (b->n < b->cap && take_one(ctx, 0))
        ;
}

static int due(const ingest_ctx *ctx)
{
    const ingest_batch *b = ctx->pipe.filling;
    return b->n >= b->cap ||
           (b->n > 0 && gg_time_mono_ms() - b->first_ms >= ctx->cfg.batch_linger_ms);
}

/* Waits out one backoff delay while still serving the consumer: rebalances run inside its polls
 * (a paused consumer hands out no messages). Also with a full batch in hand: a member the group
 * dropped (its session timed out while the broker was away) must get its partitions revoked and
 * rejoin, or its transactions are refused for good as coming from an unknown member. */
static void backoff_wait(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    int64_t until = gg_time_mono_ms() + gg_backoff_next(&p->backoff);
    for (int64_t left; !stopping(p) && (left = until - gg_time_mono_ms()) > 0;) {
        int step = left > INGEST_IDLE_POLL_MS ? INGEST_IDLE_POLL_MS : (int)left;
        if (p->filling->n == p->filling->cap)
            gg_kafka_consumer_serve(p->consumer, step);
        else
            take_one(ctx, step);
    }
}

static void retry_held(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    char err[300];
    backoff_wait(ctx);
    if (stopping(p))
        return;
    if (p->held->n == 0 || settle_sync(ctx, p->held, INGEST_DLQ_WAIT_MS, err, sizeof(err)) == 0)
        end_outage(ctx); /* settled, or a rebalance took the whole batch away */
    else
        begin_outage(ctx, p->held, err);
}

static void step(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    char err[256];
    fill(ctx);
    if (p->inflight && p->inflight_job) {
        ingest_write *job = ingest_writer_collect(&p->writer, 0);
        if (job)
            complete_inflight(ctx, job);
    }
    if (due(ctx)) {
        ingest_write *next = prepare(ctx);
        wait_inflight(ctx);
        if (!p->held)
            submit(ctx, next);
        else if (next)
            ingest_store_cancel(next); /* the batch waits behind the held one */
    } else if (p->filling->n == 0 && !p->inflight && !p->indexes_ok &&
               gg_time_mono_ms() >= p->next_index_try_ms) {
        if (ensure_indexes(ctx, err, sizeof(err)) != 0)
            p->next_index_try_ms = gg_time_mono_ms() + ctx->cfg.retry_max_ms;
    }
}

/* At shutdown: settle what is held, oldest first, retrying while the deadline leaves room for
 * an attempt against an unreachable store; what is still unsettled then is dropped unmarked and
 * replayed after the restart. */
static void drain(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    int64_t deadline = atomic_load(&p->stop_deadline_ms);
    ingest_batch *order[2];
    char err[300] = "no time left for an attempt";
    wait_inflight(ctx);
    order[0] = p->held;
    order[1] = p->filling;
    for (int i = 0; i < 2; i++) {
        ingest_batch *b = order[i];
        while (b && b->n > 0) {
            int64_t left = deadline - gg_time_mono_ms();
            if (left < ctx->store_timeout_ms) {
                gg_warn(&ctx->svc.log,
                        "shutdown deadline reached; unsettled messages will be redelivered",
                        "{s:s, s:i}", "error", err, "entries",
                        (int)(p->batches[0].n + p->batches[1].n));
                ingest_batch_clear(&p->batches[0]);
                ingest_batch_clear(&p->batches[1]);
                return;
            }
            int wait = left > INGEST_DLQ_WAIT_MS ? INGEST_DLQ_WAIT_MS : (int)left;
            if (settle_sync(ctx, b, wait, err, sizeof(err)) == 0)
                break;
            int64_t delay = gg_backoff_next(&p->backoff);
            sleep_ms(delay < deadline - gg_time_mono_ms() ? delay : 0);
        }
    }
}

static void *pipeline_main(void *arg)
{
    ingest_ctx *ctx = arg;
    ingest_pipeline *p = &ctx->pipe;
    char err[256];
    if (ensure_indexes(ctx, err, sizeof(err)) != 0)
        p->next_index_try_ms = gg_time_mono_ms() + INGEST_RETRY_BASE_MS;
    while (!stopping(p)) {
        gg_gauge_set(ctx->m.lag, (double)gg_kafka_consumer_total_lag(p->consumer));
        if (p->held)
            retry_held(ctx);
        else
            step(ctx);
    }
    drain(ctx);
    rd_kafka_resp_err_t cerr = gg_kafka_consumer_close(p->consumer);
    p->consumer = NULL;
    gg_info(&ctx->svc.log, "pipeline stopped", "{s:s}", "commit",
            cerr ? rd_kafka_err2str(cerr) : "ok");
    return NULL;
}

/* ---- rebalances -------------------------------------------------------------------------- */

/* Before partitions go, the batches are settled once, oldest first, so that their offsets can
 * be committed. When that fails (or the partitions are already lost), the revoked partitions'
 * entries are dropped unmarked, from the failed batch and every newer one, and the next owner
 * replays them from the committed offset. */
static void on_revoke(gg_kafka_consumer *c, const rd_kafka_topic_partition_list_t *parts, int lost,
                      void *opaque)
{
    ingest_ctx *ctx = opaque;
    ingest_pipeline *p = &ctx->pipe;
    char err[300];
    (void)c;
    wait_inflight(ctx);
    ingest_batch *order[2] = {p->held, p->filling};
    int settled = !lost;
    size_t dropped = 0;
    for (int i = 0; i < 2; i++) {
        ingest_batch *b = order[i];
        if (!b || b->n == 0)
            continue;
        if (settled && settle_sync(ctx, b, INGEST_DLQ_WAIT_MS, err, sizeof(err)) == 0)
            continue;
        settled = 0;
        dropped += ingest_batch_drop_partitions(b, parts);
    }
    if (dropped > 0)
        gg_warn(&ctx->svc.log, "unsettled messages of revoked partitions left to their next owner",
                "{s:i, s:b}", "entries", (int)dropped, "lost", lost);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

/* The transactional id of this process. Unique per process (host name, pid, random), not stable
 * across restarts: zombie fencing does not rest on it but on the group generation the offsets
 * carry (KIP-447), which fences a replica that the group has replaced. What a stable id would
 * add is that a restart aborts its predecessor's open transaction at once; here the
 * coordinator aborts it after transaction.timeout.ms, and until then read_committed readers of
 * its partitions of the dead-letter topic, and the next owner of the consumed partitions whose
 * offsets it had sent, wait. A stable id would need one identity per replica that no two live
 * processes ever share, which a Deployment's pods (or replicas started by hand) do not give. */
static void make_txn_id(ingest_ctx *ctx, char *buf, size_t len)
{
    char host[64] = "host";
    uint32_t nonce = 0;
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    if (getentropy(&nonce, sizeof(nonce)) != 0)
        nonce = (uint32_t)gg_time_wall_ms() ^ (uint32_t)gg_time_mono_ms();
    snprintf(buf, len, "%s.%s.%ld.%08x", ctx->cfg.kafka.group, host, (long)getpid(), nonce);
}

/* The consumer commits nothing by itself (the transactions do), and the transactional producer
 * takes the same pass-through properties. */
static int transactional_init(ingest_ctx *ctx, gg_kafka_conf *kconf, char *err, size_t errlen)
{
    ingest_pipeline *p = &ctx->pipe;
    size_t n = ctx->kafka_props.count;
    gg_prop *props = calloc(n + 1, sizeof(*props));
    if (!props) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (n)
        memcpy(props, ctx->kafka_props.items, n * sizeof(*props));
    props[n] = (gg_prop){"enable.auto.commit", "false"};
    kconf->props = props;
    kconf->nprops = n + 1;
    p->consumer = gg_kafka_consumer_new(kconf, &ctx->svc.log, on_revoke, ctx, err, errlen);
    free(props);
    if (!p->consumer)
        return -1;
    make_txn_id(ctx, p->txn_id, sizeof(p->txn_id));
    kconf->group_id = NULL;
    kconf->topic = ctx->dlq_topic;
    kconf->props = ctx->kafka_props.items;
    kconf->nprops = n;
    p->txn = gg_kafka_txn_new(kconf, p->txn_id, &ctx->svc.log, err, errlen);
    if (p->txn)
        gg_info(&ctx->svc.log, "dead letters and offsets commit in kafka transactions", "{s:s}",
                "transactional_id", p->txn_id);
    return p->txn ? 0 : -1;
}

int ingest_pipeline_init(ingest_ctx *ctx, char *err, size_t errlen)
{
    ingest_pipeline *p = &ctx->pipe;
    size_t cap = (size_t)ctx->cfg.batch_size;
    pthread_mutex_init(&p->lock, NULL);
    gg_backoff_init(&p->backoff, INGEST_RETRY_BASE_MS, (uint32_t)ctx->cfg.retry_max_ms);
    p->marks = calloc(cap, sizeof(*p->marks));
    if (!p->marks ||
        ingest_batch_init(&p->batches[0], cap, (size_t)ctx->cfg.max_message_bytes) != 0 ||
        ingest_batch_init(&p->batches[1], cap, (size_t)ctx->cfg.max_message_bytes) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->filling = &p->batches[0];
    /* Batches of the bulk writes, a few of them fetched ahead (gg_kafka_sizing). */
    const gg_kafka_sizing sizing = {.record_bytes = ctx->cfg.kafka.record_bytes,
                                    .batch = ctx->cfg.batch_size,
                                    .prefetch = ctx->cfg.kafka.prefetch_batches};
    gg_kafka_conf kconf = {
        .brokers = ctx->cfg.kafka.brokers,
        .group_id = ctx->cfg.kafka.group,
        .topic = ctx->cfg.kafka.topic,
        .client_id = "gridgate-ingest",
        .props = ctx->kafka_props.items,
        .nprops = ctx->kafka_props.count,
        .sizing = &sizing,
    };
    if (ctx->cfg.kafka_transactions)
        return transactional_init(ctx, &kconf, err, errlen);
    p->consumer = gg_kafka_consumer_new(&kconf, &ctx->svc.log, on_revoke, ctx, err, errlen);
    return p->consumer ? 0 : -1;
}

int ingest_pipeline_start(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    if (ingest_writer_start(&p->writer) != 0 ||
        pthread_create(&p->thread, NULL, pipeline_main, ctx) != 0)
        return -1;
    pthread_setname_np(p->thread, "ingest-pipeline");
    p->running = 1;
    return 0;
}

void ingest_pipeline_request_stop(ingest_ctx *ctx, int64_t deadline_ms)
{
    ingest_pipeline *p = &ctx->pipe;
    atomic_store(&p->stop_deadline_ms, deadline_ms);
    atomic_store(&p->stop, 1);
}

void ingest_pipeline_stop(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    if (p->running) {
        if (!atomic_load(&p->stop))
            ingest_pipeline_request_stop(ctx, gg_time_mono_ms());
        pthread_join(p->thread, NULL);
        p->running = 0;
    }
    ingest_writer_stop(&p->writer);
    if (p->consumer) /* made, but the thread never ran */
        gg_kafka_consumer_close(p->consumer);
    p->consumer = NULL;
    gg_kafka_txn_destroy(p->txn);
    p->txn = NULL;
    ingest_batch_free(&p->batches[0]);
    ingest_batch_free(&p->batches[1]);
    free(p->marks);
    p->marks = NULL;
    pthread_mutex_destroy(&p->lock);
}

json_t *ingest_pipeline_status(ingest_ctx *ctx)
{
    ingest_pipeline *p = &ctx->pipe;
    gg_kafka_consumer *c = p->consumer;
    char kerr[256] = "", at[GG_TIME_BUFLEN];
    int64_t kerr_ms = 0;
    json_t *last = json_null();
    if (c)
        gg_kafka_consumer_last_error(c, kerr, sizeof(kerr), &kerr_ms);
    pthread_mutex_lock(&p->lock);
    /* The newer of the pipeline's own error and the consumer's. */
    const char *msg = p->last_error_ms >= kerr_ms ? p->last_error : kerr;
    int64_t msg_ms = p->last_error_ms >= kerr_ms ? p->last_error_ms : kerr_ms;
    if (msg_ms > 0 && gg_time_format_ms(msg_ms, at, sizeof(at)) == 0)
        last = json_pack("{s:s, s:s}", "message", msg, "at", at);
    pthread_mutex_unlock(&p->lock);
    return json_pack("{s:b, s:o, s:o, s:I, s:o}", "paused", c ? gg_kafka_consumer_paused(c) : 0,
                     "assignment", c ? gg_kafka_consumer_assignment_json(c) : json_array(), "lag",
                     c ? gg_kafka_consumer_lag_json(c) : json_array(), "total_lag",
                     (json_int_t)(c ? gg_kafka_consumer_total_lag(c) : 0), "last_error", last);
}
