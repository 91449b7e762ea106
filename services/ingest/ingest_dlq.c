/* ingest_dlq: rejected messages go to the dead-letter topic with their original key and value
 * and headers that say why and where they came from, so that an operator can fix and replay
 * them. The pipeline moves on only after Kafka acknowledged the copy: a message is never
 * skipped without a trace.
 *
 * With kafka transactions (the default) a batch's dead letters and the offsets past the batch
 * commit in one transaction: a crash either replays the batch with no copy of its dead letters
 * visible, or does not replay it, so read_committed readers see each dead letter once. Without
 * them the copies are acknowledged first and the offsets committed later by the consumer, and a
 * crash in between repeats them. */
#include "ingest.h"
#include "ingest_dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
    rd_kafka_header_add(h, name, -1, value, -1);
}

static rd_kafka_headers_t *dlq_headers(const ingest_entry *e)
{
    char num[32];
    const rd_kafka_message_t *m = e->msg;
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    add_header(h, "gridgate.reason", ingest_reason_code(e->reason));
    add_header(h, "gridgate.message", e->why);
    add_header(h, "gridgate.source.topic", rd_kafka_topic_name(m->rkt));
    snprintf(num, sizeof(num), "%" PRId32, m->partition);
    add_header(h, "gridgate.source.partition", num);
    snprintf(num, sizeof(num), "%" PRId64, m->offset);
    add_header(h, "gridgate.source.offset", num);
    if (e->omit_value) {
        snprintf(num, sizeof(num), "%zu", m->len);
        add_header(h, "gridgate.value_omitted", num);
    }
    return h;
}

/* Kafka refuses a value larger than its message size limit for good; the copy then goes
 * without it (its size in a header), which still records that the message existed. */
static int too_large(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

static void settle(ingest_ctx *ctx, ingest_entry *e, rd_kafka_resp_err_t err)
{
    const rd_kafka_message_t *m = e->msg;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        e->state = INGEST_ENTRY_DONE;
        gg_counter_add(ctx->m.dead_lettered[e->reason], 1);
        gg_warn(&ctx->svc.log, "message dead-lettered", "{s:s, s:s, s:s, s:i, s:I}", "reason",
                ingest_reason_code(e->reason), "detail", e->why, "topic",
                rd_kafka_topic_name(m->rkt), "partition", (int)m->partition, "offset",
                (json_int_t)m->offset);
        return;
    }
    gg_counter_add(ctx->m.dlq_retries, 1);
    if (too_large(err) && !e->omit_value)
        e->omit_value = 1;
}

/* The batch's dead-letter copies, in recs and their entries in slot (room for every entry).
 * Returns how many. */
static size_t build(ingest_ctx *ctx, ingest_batch *b, gg_kafka_record *recs, ingest_entry **slot)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        ingest_entry *e = &b->entries[i];
        if (e->state != INGEST_ENTRY_DLQ)
            continue;
        const rd_kafka_message_t *m = e->msg;
        recs[k] = (gg_kafka_record){.topic = ctx->dlq_topic,
                                    .key = m->key,
                                    .keylen = m->key ? m->key_len : 0,
                                    .value = e->omit_value ? NULL : m->payload,
                                    .vlen = e->omit_value || !m->payload ? 0 : m->len,
                                    .headers = dlq_headers(e)};
        slot[k++] = e;
    }
    return k;
}

/* The records of a batch's dead letters and the entries they settle; at least one of each, so
 * that a batch without dead letters still gets arrays to hand on. */
static int alloc_records(size_t n, gg_kafka_record **recs, ingest_entry ***slot, char *err,
                         size_t errlen)
{
    *recs = calloc(n ? n : 1, sizeof(**recs));
    *slot = calloc(n ? n : 1, sizeof(**slot));
    if (*recs && *slot)
        return 0;
    free(*recs);
    free(*slot);
    snprintf(err, errlen, "out of memory");
    return -1;
}

int ingest_dlq_send(ingest_ctx *ctx, ingest_batch *b, int timeout_ms, char *err, size_t errlen)
{
    size_t pending = ingest_batch_count(b, INGEST_ENTRY_DLQ);
    if (pending == 0)
        return 0;
    gg_kafka_record *recs;
    ingest_entry **slot;
    if (alloc_records(pending, &recs, &slot, err, errlen) != 0)
        return -1;
    size_t k = build(ctx, b, recs, slot);
    gg_kafka_producer_send_batch(ctx->producer, recs, k, timeout_ms, err, errlen);
    for (size_t i = 0; i < k; i++)
        settle(ctx, slot[i], recs[i].err);
    free(recs);
    free(slot);
    return ingest_batch_count(b, INGEST_ENTRY_DLQ) == 0 ? 0 : -1;
}

/* The next offset to read past the batch, per partition. */
static rd_kafka_topic_partition_list_t *next_offsets(ingest_ctx *ctx, const ingest_batch *b)
{
    ingest_pipeline *p = &ctx->pipe;
    size_t n = ingest_batch_last_per_partition(b, p->marks, b->cap);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(p->marks[i]->rkt),
                                          p->marks[i]->partition)
            ->offset = p->marks[i]->offset + 1;
    return list;
}

/* After a commit of unknown outcome: whatever the group has committed (that commit, or a later
 * owner's) is settled and leaves the batch; the rest is tried again. The producer is made ready
 * first, which settles the open transaction that the committed offsets would wait for. */
static int reconcile(ingest_ctx *ctx, ingest_batch *b, int timeout_ms, char *err, size_t errlen)
{
    ingest_pipeline *p = &ctx->pipe;
    int64_t deadline = gg_time_mono_ms() + timeout_ms;
    if (gg_kafka_txn_init(p->txn, timeout_ms, err, errlen) != 0)
        return -1;
    rd_kafka_topic_partition_list_t *parts = next_offsets(ctx, b);
    int64_t left = deadline - gg_time_mono_ms();
    rd_kafka_resp_err_t e =
        rd_kafka_committed(gg_kafka_consumer_handle(p->consumer), parts, left > 0 ? (int)left : 0);
    for (int i = 0; !e && i < parts->cnt; i++)
        e = parts->elems[i].err;
    if (e) {
        snprintf(err, errlen, "kafka committed offsets: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(parts);
        return -1;
    }
    size_t dropped = ingest_batch_drop_committed(b, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    p->txn_unknown = 0;
    gg_info(&ctx->svc.log, "outcome of the last kafka transaction read from committed offsets",
            "{s:s, s:i, s:i}", "outcome", dropped > 0 ? "committed" : "not committed", "settled",
            (int)dropped, "retried", (int)b->n);
    return 0;
}

int ingest_dlq_commit(ingest_ctx *ctx, ingest_batch *b, int timeout_ms, char *err, size_t errlen)
{
    ingest_pipeline *p = &ctx->pipe;
    if (p->txn_unknown && reconcile(ctx, b, timeout_ms, err, errlen) != 0)
        return -1;
    if (b->n == 0)
        return 0;
    size_t pending = ingest_batch_count(b, INGEST_ENTRY_DLQ);
    gg_kafka_record *recs;
    ingest_entry **slot;
    if (alloc_records(pending, &recs, &slot, err, errlen) != 0)
        return -1;
    size_t k = build(ctx, b, recs, slot);
    rd_kafka_topic_partition_list_t *offsets = next_offsets(ctx, b);
    gg_kafka_txn_result r =
        gg_kafka_txn_commit(p->txn, recs, k, offsets, p->consumer, timeout_ms, err, errlen);
    rd_kafka_topic_partition_list_destroy(offsets);
    for (size_t i = 0; i < k; i++) {
        if (r == GG_KAFKA_TXN_COMMITTED)
            settle(ctx, slot[i], RD_KAFKA_RESP_ERR_NO_ERROR);
        else /* nothing of it is visible: every copy goes again, a too large one without value */
            settle(ctx, slot[i], recs[i].err ? recs[i].err : RD_KAFKA_RESP_ERR__STATE);
        if (recs[i].headers) /* not sent: the transaction ended before */
            rd_kafka_headers_destroy(recs[i].headers);
    }
    free(recs);
    free(slot);
    if (r == GG_KAFKA_TXN_UNKNOWN)
        p->txn_unknown = 1;
    return r == GG_KAFKA_TXN_COMMITTED ? 0 : -1;
}
