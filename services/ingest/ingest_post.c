/* ingest_post: POST /v1/readings, how curl users and small producers feed the pipeline.
 *
 * The body is one reading or an array of them, each in the shape the read endpoints answer
 * with or in the Kafka wire format (what producers already send). Each is checked with the
 * same parser the consumer uses, so what is accepted here is never dead-lettered later; good
 * ones are produced to the readings topic keyed by station id, and the answer (202) waits
 * until Kafka has acknowledged them. A reading without a correlation id gets a fresh one,
 * returned in the answer, so every accepted reading can be fetched by id; a client that may
 * resend a body after a timeout sends its own ids, which is what makes the resend harmless. */
#include "ingest_post.h"

#include "ingest.h"
#include "ingest_http.h"
#include "ingest_cursor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define INGEST_POST_WAIT_MS 10000

/* A random (version 4) UUID, lower-case. */
static int uuid_v4(char out[GG_RECORD_UUID_LEN + 1])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, GG_RECORD_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

/* Copies member name of from into to, when from has it. */
static void copy_member(json_t *to, const char *to_name, const json_t *from, const char *name)
{
    json_t *v = json_object_get(from, name);
    if (v)
        json_object_set(to, to_name, v);
}

/* An item in the shape the read endpoints answer with ({station_id, temporal_aspect, modality,
 * unit, created_at: RFC 3339, correlation_id}, so a reading read back can be posted as is) as
 * the wire envelope the record parser judges; members only the store adds (created_at_us,
 * kafka, ingested_at, schema_version) are ignored. NULL with out's reason set when created_at
 * is not an RFC 3339 time. Items that have a payload are envelopes already: returned as is. */
static json_t *as_envelope(json_t *item, ingest_post_item *out)
{
    if (!json_is_object(item) || json_object_get(item, "payload"))
        return json_incref(item);
    json_t *payload = json_object(), *env = json_object();
    copy_member(payload, "sensor_id", item, "station_id");
    copy_member(payload, "modality", item, "modality");
    copy_member(payload, "unit", item, "unit");
    copy_member(payload, "temporal_aspect", item, "temporal_aspect");
    json_object_set_new(env, "payload", payload);
    copy_member(env, "correlation_id", item, "correlation_id");
    const json_t *at = json_object_get(item, "created_at");
    int64_t us;
    if (json_is_string(at) && ingest_time_parse(json_string_value(at), &us) == 0) {
        /* A double holds every microsecond the parser accepts (see gg_record.h). */
        json_object_set_new(env, "created_at", json_real((double)us / 1e6));
    } else if (at) {
        out->reason = GG_RECORD_CREATED_AT_BAD_TYPE;
        snprintf(out->why, sizeof(out->why), "created_at must be an RFC 3339 time");
        json_decref(env);
        return NULL;
    }
    json_object_set_new(env, "schema_version", json_integer(1));
    return env;
}

void ingest_post_check(json_t *given, size_t max_bytes, ingest_post_item *out)
{
    json_t *item = as_envelope(given, out);
    if (!item)
        return;
    char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(item);
    if (!text) {
        out->reason = GG_RECORD_MALFORMED_JSON;
        snprintf(out->why, sizeof(out->why), "item cannot be serialised");
        return;
    }
    out->reason = gg_record_parse(NULL, 0, text, strlen(text), max_bytes, &out->rec, out->why,
                                  sizeof(out->why));
    free(text);
    if (out->reason != GG_RECORD_OK)
        return;
    if (!out->rec.has_correlation_id && uuid_v4(out->rec.correlation_id) == 0)
        out->rec.has_correlation_id = 1;
    json_t *env = gg_record_to_json(&out->rec);
    out->value = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (!out->value) {
        out->reason = GG_RECORD_MALFORMED_JSON;
        snprintf(out->why, sizeof(out->why), "reading cannot be serialised");
    }
}

static json_t *item_result(size_t index, const ingest_post_item *it, const gg_kafka_record *rec)
{
    if (it->reason != GG_RECORD_OK)
        return json_pack("{s:I, s:s, s:s, s:s}", "index", (json_int_t)index, "status", "rejected",
                         "reason", gg_record_reason_code((gg_record_reason)it->reason), "message",
                         it->why);
    if (rec->err)
        return json_pack("{s:I, s:s, s:s, s:s}", "index", (json_int_t)index, "status", "failed",
                         "reason", "kafka_unavailable", "message", rd_kafka_err2str(rec->err));
    return json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index, "status", "accepted",
                     "correlation_id", it->rec.correlation_id);
}

/* Produces the good items and answers. */
static void produce_and_reply(ingest_ctx *ctx, gg_http_req *req, ingest_post_item *items, size_t n)
{
    size_t good = 0, ok = 0;
    gg_kafka_record *recs = calloc(n, sizeof(*recs));
    json_t *results = json_array();
    if (!recs || !results) {
        free(recs);
        json_decref(results);
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].reason != GG_RECORD_OK)
            continue;
        items[i].slot = good;
        recs[good++] = (gg_kafka_record){.key = items[i].rec.station_id,
                                         .keylen = strlen(items[i].rec.station_id),
                                         .value = items[i].value,
                                         .vlen = strlen(items[i].value)};
    }
    char err[256] = "";
    if (good > 0)
        gg_kafka_producer_send_batch(ctx->producer, recs, good, INGEST_POST_WAIT_MS, err,
                                     sizeof(err));
    static const gg_kafka_record none = {0};
    for (size_t i = 0; i < n; i++) {
        const gg_kafka_record *r = items[i].reason == GG_RECORD_OK ? &recs[items[i].slot] : &none;
        ok += items[i].reason == GG_RECORD_OK && r->err == RD_KAFKA_RESP_ERR_NO_ERROR;
        json_array_append_new(results, item_result(i, &items[i], r));
    }
    free(recs);
    gg_counter_add(ctx->m.posted_accepted, ok);
    gg_counter_add(ctx->m.posted_rejected, n - good);
    if (good == 0) {
        gg_http_reply_problem_with(req, 400, "invalid-body", "no item is a valid reading",
                                   json_pack("{s:o}", "items", results));
    } else if (ok == 0) {
        gg_health_report(ctx->dep_kafka, false, err);
        gg_http_add_header(req, "Retry-After", "1");
        gg_http_reply_problem_with(req, 503, "kafka-unavailable",
                                   "Kafka did not acknowledge the readings; nothing was accepted",
                                   json_pack("{s:o}", "items", results));
    } else {
        gg_http_reply_json(req, 202,
                           json_pack("{s:I, s:I, s:I, s:o}", "accepted", (json_int_t)ok, "rejected",
                                     (json_int_t)(n - good), "failed", (json_int_t)(good - ok),
                                     "items", results));
    }
}

json_t *ingest_post_items(const char *body, size_t len, const char **slug, char *why, size_t whylen)
{
    json_error_t jerr;
    /* \u0000 is valid JSON: the item holding it is refused by the record parser (nul_byte),
     * like the same reading from Kafka, rather than the whole body as "not JSON". */
    json_t *root =
        json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        *slug = "invalid-json";
        snprintf(why, whylen, "the body is not JSON: %s (line %d)", jerr.text, jerr.line);
        return NULL;
    }
    if (json_is_object(root)) {
        json_t *arr = json_array();
        json_array_append_new(arr, root);
        return arr;
    }
    if (json_is_array(root) && json_array_size(root) > 0 &&
        json_array_size(root) <= INGEST_POST_MAX_ITEMS)
        return root;
    json_decref(root);
    *slug = "invalid-body";
    snprintf(why, whylen, "the body must be a reading or an array of 1 to %d readings",
             INGEST_POST_MAX_ITEMS);
    return NULL;
}

/* The body as an array of items (new reference), or NULL after answering 400. */
static json_t *body_items(gg_http_req *req)
{
    size_t len;
    const char *body = gg_http_body(req, &len);
    const char *slug = "invalid-body";
    char why[256];
    json_t *arr = ingest_post_items(body, len, &slug, why, sizeof(why));
    if (!arr)
        gg_http_reply_problem(req, 400, slug, why);
    return arr;
}

void ingest_post_readings(gg_http_req *req, void *ud)
{
    ingest_ctx *ctx = ud;
    if (!ctx->cfg.api_token || !*ctx->cfg.api_token) {
        gg_http_reply_problem(req, 403, "forbidden",
                              "writing readings is disabled: no API token is configured");
        return;
    }
    if (!gg_http_bearer_ok(req, ctx->cfg.api_token)) {
        gg_http_add_header(req, "WWW-Authenticate", "Bearer");
        gg_http_reply_problem(req, 401, "unauthorized", "a valid bearer token is required");
        return;
    }
    if (!gg_http_is_json_type(gg_http_header(req, "Content-Type"))) {
        gg_http_reply_problem(req, 415, "unsupported-media-type",
                              "the body must be application/json");
        return;
    }
    json_t *arr = body_items(req);
    if (!arr)
        return;
    size_t n = json_array_size(arr);
    ingest_post_item *items = calloc(n, sizeof(*items));
    if (!items) {
        json_decref(arr);
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        ingest_post_check(json_array_get(arr, i), (size_t)ctx->cfg.max_message_bytes, &items[i]);
    json_decref(arr);
    produce_and_reply(ctx, req, items, n);
    for (size_t i = 0; i < n; i++)
        free(items[i].value);
    free(items);
}
