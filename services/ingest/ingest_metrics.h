/* ingest_metrics: ingest's own metric series, looked up once at start. */
#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

#include <jansson.h>
#include "gg_metrics.h"
#include "ingest_doc.h"

typedef struct ingest_ctx ingest_ctx;

/* The service's own metrics; pointers into the registry of svc.metrics. */
typedef struct ingest_metrics {
    gg_counter *consumed;
    gg_counter *stored;
    gg_counter *duplicates;
    gg_counter *dead_lettered[INGEST_REASON_COUNT];
    gg_counter *store_retries;
    gg_counter *dlq_retries;
    gg_counter *posted_accepted;
    gg_counter *posted_rejected;
    gg_histogram *batch_seconds;     /* one bulk write, store round trip included */
    gg_histogram *batch_docs;        /* documents per bulk write */
    gg_histogram *produce_to_stored; /* Kafka message timestamp to store acknowledgement */
    gg_gauge *lag;
    gg_gauge *paused;
} ingest_metrics;

void ingest_metrics_init(ingest_ctx *ctx);
json_t *ingest_metrics_counters(const ingest_ctx *ctx);

#endif
