/* ingest_dlq: rejected messages go to the dead-letter topic with their original key and value
 * and headers that say why and where they came from, so that an operator can fix and replay
 * them. The pipeline moves on only after Kafka acknowledged the copy: a message is never
 * skipped without a trace. */
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

int ingest_dlq_send(ingest_ctx *ctx, ingest_batch *b, int timeout_ms, char *err, size_t errlen)
{
    size_t pending = ingest_batch_count(b, INGEST_ENTRY_DLQ);
    if (pending == 0)
        return 0;
    gg_kafka_record *recs = calloc(pending, sizeof(*recs));
    ingest_entry **slot = calloc(pending, sizeof(*slot));
    if (!recs || !slot) {
        free(recs);
        free(slot);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < b->n && k < pending; i++) {
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
    gg_kafka_producer_send_batch(ctx->producer, recs, k, timeout_ms, err, errlen);
    for (size_t i = 0; i < k; i++)
        settle(ctx, slot[i], recs[i].err);
    free(recs);
    free(slot);
    return ingest_batch_count(b, INGEST_ENTRY_DLQ) == 0 ? 0 : -1;
}
