/* ingest_metrics: the ingest service's own series in the service's Prometheus registry, made
 * once at start so that the hot path only does atomic adds. */
#include "ingest.h"
#include "ingest_metrics.h"

#include <stdio.h>

/* Produce-to-stored latency spans milliseconds (a healthy pipeline) to minutes (an outage
 * being caught up), finer than the request-latency buckets where percentiles are read. */
static const double lag_buckets[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075,
                                     0.1,   0.15,  0.2,   0.3,  0.5,  0.75, 1,    1.5,
                                     2,     3,     5,     10,   30,   60,   120,  300};
static const double size_buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};

void ingest_metrics_init(ingest_ctx *ctx)
{
    gg_metrics *r = ctx->svc.metrics;
    ingest_metrics *m = &ctx->m;
    size_t nlat;
    const double *lat = gg_metrics_latency_buckets(&nlat);
    m->consumed =
        gg_metrics_counter(r, "consumed_total", "Messages taken from the readings topic", NULL);
    m->stored = gg_metrics_counter(r, "stored_total", "Readings written to the store", NULL);
    m->duplicates =
        gg_metrics_counter(r, "duplicates_total",
                           "Readings the store already had (redelivery or producer resend)", NULL);
    for (int i = 1; i < INGEST_REASON_COUNT; i++) {
        char labels[96];
        snprintf(labels, sizeof(labels), "reason=\"%s\"", ingest_reason_code(i));
        m->dead_lettered[i] = gg_metrics_counter(
            r, "dead_lettered_total", "Messages sent to the dead-letter topic, by reason", labels);
    }
    m->store_retries = gg_metrics_counter(r, "store_retries_total",
                                          "Batch writes that failed and were retried", NULL);
    m->dlq_retries = gg_metrics_counter(
        r, "dlq_retries_total", "Dead-letter copies Kafka did not acknowledge, sent again", NULL);
    m->posted_accepted = gg_metrics_counter(r, "posted_readings_total",
                                            "Readings received over POST /v1/readings, by outcome",
                                            "outcome=\"accepted\"");
    m->posted_rejected = gg_metrics_counter(r, "posted_readings_total",
                                            "Readings received over POST /v1/readings, by outcome",
                                            "outcome=\"rejected\"");
    m->batch_seconds = gg_metrics_histogram(
        r, "batch_write_seconds", "Duration of one bulk write to the store", NULL, lat, nlat);
    m->batch_docs =
        gg_metrics_histogram(r, "batch_documents", "Documents per bulk write", NULL, size_buckets,
                             sizeof(size_buckets) / sizeof(*size_buckets));
    m->produce_to_stored =
        gg_metrics_histogram(r, "produce_to_stored_seconds",
                             "From the Kafka message timestamp to the store's acknowledgement",
                             NULL, lag_buckets, sizeof(lag_buckets) / sizeof(*lag_buckets));
    m->lag = gg_metrics_gauge(
        r, "consumer_lag", "Messages behind the high watermarks of the assigned partitions", NULL);
    m->paused = gg_metrics_gauge(r, "consumption_paused",
                                 "1 while consumption waits for the store to come back", NULL);
}

json_t *ingest_metrics_counters(const ingest_ctx *ctx)
{
    const ingest_metrics *m = &ctx->m;
    json_t *by_reason = json_object();
    uint64_t dead = 0;
    for (int i = 1; i < INGEST_REASON_COUNT; i++) {
        uint64_t v = gg_counter_value(m->dead_lettered[i]);
        dead += v;
        if (v > 0)
            json_object_set_new(by_reason, ingest_reason_code(i), json_integer((json_int_t)v));
    }
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I}", "consumed",
                     (json_int_t)gg_counter_value(m->consumed), "stored",
                     (json_int_t)gg_counter_value(m->stored), "duplicates",
                     (json_int_t)gg_counter_value(m->duplicates), "dead_lettered", (json_int_t)dead,
                     "dead_lettered_by_reason", by_reason, "store_retries",
                     (json_int_t)gg_counter_value(m->store_retries));
}
