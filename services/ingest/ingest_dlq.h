/* ingest_dlq: the dead-letter topic, where messages that can never be stored go with their reason.
 */
#ifndef INGEST_DLQ_H
#define INGEST_DLQ_H

#include <stddef.h>
#include "ingest_batch.h"

typedef struct ingest_ctx ingest_ctx;

/* Sends the batch's entries that are bound for it and
 * waits up to timeout_ms for Kafka's acknowledgement. Returns 0 when none is left pending,
 * else -1. */
int ingest_dlq_send(ingest_ctx *ctx, ingest_batch *b, int timeout_ms, char *err, size_t errlen);

/* Exactly-once: sends the batch's dead letters and commits the offsets past every entry of the
 * batch in one Kafka transaction, within timeout_ms. The batch's readings must be stored
 * before. Returns 0 when committed (every entry settled), else -1 with the cause in err; the
 * batch is then to be tried again as it is. */
int ingest_dlq_commit(ingest_ctx *ctx, ingest_batch *b, int timeout_ms, char *err, size_t errlen);

#endif
