/* cache_stats: the service's own metric series (see cache.h). */
#include "cache.h"

#include <stdio.h>

void cache_stats_init(cache_stats *st, gg_metrics *m)
{
    size_t nb;
    const double *b = gg_metrics_latency_buckets(&nb);
    st->readings =
        gg_metrics_counter(m, "readings_applied_total", "Valid readings applied to Redis", NULL);
    st->latest_updates = gg_metrics_counter(m, "latest_updates_total",
                                            "Readings that became a station's latest", NULL);
    st->ignored = gg_metrics_counter(
        m, "readings_ignored_total",
        "Readings with no effect: duplicates, or older than latest and recent", NULL);
    st->batch_failures = gg_metrics_counter(m, "redis_batch_failures_total",
                                            "Poll batches Redis did not take; retried", NULL);
    st->batch_seconds = gg_metrics_histogram(
        m, "redis_batch_duration_seconds", "One pipelined Redis round per poll batch", NULL, b, nb);
    st->paused = gg_metrics_gauge(m, "consumer_paused",
                                  "1 while consumption waits for Redis to come back", NULL);
    st->rebuild_running =
        gg_metrics_gauge(m, "rebuild_running", "1 while the topic is replayed into Redis", NULL);
    st->rebuild_readings =
        gg_metrics_counter(m, "rebuild_readings_total", "Messages replayed by the rebuild", NULL);
    st->local_stations =
        gg_metrics_gauge(m, "local_stations", "Stations in the in-process copy of Redis", NULL);
    st->local_coherent =
        gg_metrics_gauge(m, "local_coherent",
                         "1 while the in-process copy follows Redis, else reads go to Redis", NULL);
    st->local_refreshes =
        gg_metrics_counter(m, "local_refreshes_total", "Full reloads of the in-process copy", NULL);
    st->local_updates = gg_metrics_counter(m, "local_updates_total",
                                           "Updates applied to the in-process copy", NULL);
    st->lookups_memory =
        gg_metrics_counter(m, "lookups_total", "Answers by source", "source=\"memory\"");
    st->lookups_redis =
        gg_metrics_counter(m, "lookups_total", "Answers by source", "source=\"redis\"");
    st->redis_read_failures =
        gg_metrics_counter(m, "redis_read_failures_total", "Reads from Redis that failed", NULL);
    st->station_limit = gg_metrics_counter(m, "readings_rejected_total",
                                           "Messages that are not valid readings, by reason",
                                           "reason=\"station_limit\"");
    st->streams_open = gg_metrics_gauge(m, "streams_open", "GET /v1/stream connections open", NULL);
    st->stream_events =
        gg_metrics_counter(m, "stream_events_total", "Events queued to open streams", NULL);
    st->streams_cut = gg_metrics_counter(m, "streams_cut_total",
                                         "Streams cut because their client did not keep up", NULL);
    st->streams_refused = gg_metrics_counter(m, "streams_refused_total",
                                             "Streams refused at GRIDGATE_STREAM_MAX", NULL);
}

void cache_stats_rejected(gg_metrics *m, gg_record_reason reason)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "reason=\"%s\"", gg_record_reason_code(reason));
    gg_counter_add(gg_metrics_counter(m, "readings_rejected_total",
                                      "Messages that are not valid readings, by reason", labels),
                   1);
}
