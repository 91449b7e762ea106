/* ingest_http: the REST routes of the ingest service. Reads of stored readings live in
 * ingest_query.c and the write endpoint in ingest_post.c; this file mounts them and serves
 * GET /v1/ingest/status. */
#include "ingest.h"
#include "ingest_http.h"
#include "ingest_pipeline.h"
#include "ingest_metrics.h"

static void handle_status(gg_http_req *req, void *ud)
{
    ingest_ctx *ctx = ud;
    json_t *pipeline = ingest_pipeline_status(ctx);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:I, s:I}, s:o}", "topic", ctx->cfg.kafka.topic,
                  "group", ctx->cfg.kafka.group, "dlq_topic", ctx->dlq_topic, "store", "database",
                  ctx->cfg.mongo_db, "collection", ctx->cfg.mongo_collection, "batch", "size",
                  (json_int_t)ctx->cfg.batch_size, "linger_ms",
                  (json_int_t)ctx->cfg.batch_linger_ms, "counters", ingest_metrics_counters(ctx));
    if (body && pipeline)
        json_object_update(body, pipeline);
    json_decref(pipeline);
    gg_http_add_header(req, "Cache-Control", "no-store");
    gg_http_reply_json(req, 200, body);
}

int ingest_http_mount(ingest_ctx *ctx)
{
    gg_http_server *s = ctx->svc.http;
    /* The three readings routes wait on MongoDB or on Kafka's acknowledgements: they run on the
     * backend pool (GG_HTTP_BLOCKING), so the probes and the status route never queue behind
     * them. */
    if (gg_http_route_query(s, "GET", "/v1/readings", "station from to limit cursor",
                            GG_HTTP_BLOCKING, ingest_query_station, ctx) != 0 ||
        gg_http_route(s, "GET", "/v1/readings/{correlation_id}", GG_HTTP_BLOCKING,
                      ingest_query_reading, ctx) != 0 ||
        gg_http_route(s, "POST", "/v1/readings", GG_HTTP_RAW_BODY | GG_HTTP_BLOCKING,
                      ingest_post_readings, ctx) != 0 ||
        gg_http_route(s, "GET", "/v1/ingest/status", 0, handle_status, ctx) != 0)
        return -1;
    return 0;
}
