/* ingest_query: the REST reads of stored readings: one station's readings newest first with
 * time range and cursor, and one reading by correlation id. Both go through the client pool
 * the pipeline shares, and answer 503 naming the store when it cannot be reached. */
#include "ingest.h"
#include "ingest_http.h"
#include "ingest_page.h"

#include <ctype.h>
#include <string.h>

#define INGEST_PAGE_DEFAULT 100
#define INGEST_PAGE_MAX     1000

static int64_t floor_ms(int64_t us)
{
    return us >= 0 ? us / 1000 : -((-us + 999) / 1000);
}

/* Failures to reach the store are outages (503, reported to the health module); anything the
 * store answered is a bug or a limit of the store (502, as every service answers a dependency's
 * error). */
static void reply_store_error(ingest_ctx *ctx, gg_http_req *req, const bson_error_t *e)
{
    if (e->domain == MONGOC_ERROR_SERVER || e->domain == MONGOC_ERROR_QUERY) {
        gg_error(&ctx->svc.log, "store query failed", "{s:s, s:i}", "error", e->message, "code",
                 (int)e->code);
        gg_http_reply_problemf(req, 502, "mongodb-error", "mongodb refused the query: %s",
                               e->message);
        return;
    }
    gg_health_report(ctx->dep_mongo, false, e->message);
    gg_http_add_header(req, "Retry-After", "1");
    gg_http_reply_problemf(req, 503, "mongodb-unavailable", "mongodb is unavailable: %s",
                           e->message);
}

typedef struct station_query {
    const char *station;
    int64_t from_us, to_us; /* [from, to) */
    int has_from, has_to;
    int has_cursor;
    ingest_cursor cursor;
    long limit;
} station_query;

static int time_param(gg_http_req *req, const char *name, int64_t *us, int *has)
{
    const char *v = gg_http_query(req, name);
    *has = v != NULL;
    if (!v || ingest_time_parse(v, us) == 0)
        return 0;
    gg_http_reply_problemf(req, 400, "invalid-parameter",
                           "query parameter '%s' must be an RFC 3339 time or seconds since the "
                           "epoch",
                           name);
    return -1;
}

static int read_params(gg_http_req *req, station_query *q)
{
    memset(q, 0, sizeof(*q));
    q->station = gg_http_query(req, "station");
    if (!q->station || !gg_record_station_id_valid(q->station, strlen(q->station))) {
        gg_http_reply_problemf(req, 400, "invalid-parameter",
                               "query parameter 'station' must be a station id: 1-%d characters "
                               "of A-Z a-z 0-9 . _ -",
                               GG_RECORD_STATION_MAX);
        return -1;
    }
    if (!gg_http_query_long(req, "limit", 1, INGEST_PAGE_MAX, INGEST_PAGE_DEFAULT, &q->limit) ||
        time_param(req, "from", &q->from_us, &q->has_from) != 0 ||
        time_param(req, "to", &q->to_us, &q->has_to) != 0)
        return -1;
    const char *cursor = gg_http_query(req, "cursor");
    if (cursor && ingest_cursor_decode(cursor, &q->cursor) != 0) {
        gg_http_reply_problem(req, 400, "invalid-parameter",
                              "query parameter 'cursor' is not a cursor this service gave out");
        return -1;
    }
    q->has_cursor = cursor != NULL;
    return 0;
}

/* {station_id, created_at: {$gte, $lte}, created_at_us: {$gte, $lte | $lt}}: the date bounds
 * let the index narrow the scan, the microsecond bounds make the range exact. */
static bson_t *station_filter(const station_query *q)
{
    bson_t *f = bson_new(), ms, us;
    BSON_APPEND_UTF8(f, "station_id", q->station);
    int has_upper = q->has_to || q->has_cursor;
    int64_t upper_us = INT64_MAX; /* inclusive */
    if (q->has_to)
        upper_us = q->to_us - 1;
    if (q->has_cursor && q->cursor.created_at_us < upper_us)
        upper_us = q->cursor.created_at_us;
    if (!q->has_from && !has_upper)
        return f;
    BSON_APPEND_DOCUMENT_BEGIN(f, "created_at", &ms);
    if (q->has_from)
        BSON_APPEND_DATE_TIME(&ms, "$gte", floor_ms(q->from_us));
    if (has_upper)
        BSON_APPEND_DATE_TIME(&ms, "$lte", floor_ms(upper_us));
    bson_append_document_end(f, &ms);
    BSON_APPEND_DOCUMENT_BEGIN(f, "created_at_us", &us);
    if (q->has_from)
        BSON_APPEND_INT64(&us, "$gte", q->from_us);
    if (has_upper)
        BSON_APPEND_INT64(&us, "$lte", upper_us);
    bson_append_document_end(f, &us);
    return f;
}

/* Feeds the cursor's documents to the page until it is complete. Returns 0, or -1 with e set. */
static int fill_page(mongoc_cursor_t *cur, ingest_page *page, bson_error_t *e)
{
    const bson_t *doc;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        int64_t us;
        const char *id;
        if (!bson_iter_init_find(&it, doc, "created_at_us") || !BSON_ITER_HOLDS_INT64(&it))
            continue; /* not a reading this service wrote */
        us = bson_iter_int64(&it);
        if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it))
            continue;
        id = bson_iter_utf8(&it, NULL);
        int rc = ingest_page_offer(page, us, id, ingest_doc_to_json(doc));
        if (rc != 0) {
            if (rc < 0)
                bson_set_error(e, MONGOC_ERROR_CLIENT, 0, "out of memory");
            return rc < 0 ? -1 : 0;
        }
    }
    return mongoc_cursor_error(cur, e) ? -1 : 0;
}

static json_t *page_body(const station_query *q, ingest_page *page)
{
    char next[INGEST_CURSOR_BUFLEN];
    const char *cursor = ingest_page_next_cursor(page, next, sizeof(next));
    json_t *readings = ingest_page_readings(page);
    return json_pack("{s:s, s:I, s:o, s:o}", "station_id", q->station, "count",
                     (json_int_t)json_array_size(readings), "readings", readings, "next_cursor",
                     cursor ? json_string(cursor) : json_null());
}

void ingest_query_station(gg_http_req *req, void *ud)
{
    ingest_ctx *ctx = ud;
    station_query q;
    if (read_params(req, &q) != 0)
        return;
    if (q.has_from && q.has_to && q.from_us >= q.to_us) {
        gg_http_reply_problem(req, 400, "invalid-parameter", "'from' must be before 'to'");
        return;
    }
    bson_t *filter = station_filter(&q);
    /* A page needs limit + 1 documents plus the rest of the last millisecond. */
    bson_t *opts = BCON_NEW("sort", "{", "created_at", BCON_INT32(-1), "}", "batchSize",
                            BCON_INT64(q.limit + 16));
    ingest_page page;
    ingest_page_init(&page, (size_t)q.limit, q.has_cursor ? &q.cursor : NULL);
    mongoc_client_t *client = mongoc_client_pool_pop(ctx->pool);
    mongoc_collection_t *coll =
        mongoc_client_get_collection(client, ctx->cfg.mongo_db, ctx->cfg.mongo_collection);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    bson_error_t e;
    int rc = fill_page(cur, &page, &e);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(ctx->pool, client);
    bson_destroy(filter);
    bson_destroy(opts);
    if (rc == 0) {
        ingest_page_finish(&page);
        gg_http_reply_json(req, 200, page_body(&q, &page));
    } else {
        reply_store_error(ctx, req, &e);
    }
    ingest_page_free(&page);
}

/* Canonical lower-case UUID text, or -1. */
static int uuid_lower(const char *s, char out[GG_RECORD_UUID_LEN + 1])
{
    if (strlen(s) != GG_RECORD_UUID_LEN)
        return -1;
    for (int i = 0; i < GG_RECORD_UUID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return -1;
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[GG_RECORD_UUID_LEN] = '\0';
    return 0;
}

void ingest_query_reading(gg_http_req *req, void *ud)
{
    ingest_ctx *ctx = ud;
    char id[GG_RECORD_UUID_LEN + 1];
    const char *given = gg_http_param(req, "correlation_id");
    if (!given || uuid_lower(given, id) != 0) {
        gg_http_reply_problem(req, 400, "invalid-parameter",
                              "path parameter 'correlation_id' must be a UUID: 8-4-4-4-12 "
                              "hexadecimal digits");
        return;
    }
    bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_client_t *client = mongoc_client_pool_pop(ctx->pool);
    mongoc_collection_t *coll =
        mongoc_client_get_collection(client, ctx->cfg.mongo_db, ctx->cfg.mongo_collection);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    json_t *reading = mongoc_cursor_next(cur, &doc) ? ingest_doc_to_json(doc) : NULL;
    if (reading)
        gg_http_reply_json(req, 200, reading);
    else if (mongoc_cursor_error(cur, &e))
        reply_store_error(ctx, req, &e);
    else
        gg_http_reply_problemf(req, 404, "not-found", "no reading with correlation id %s", id);
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(ctx->pool, client);
    bson_destroy(filter);
    bson_destroy(opts);
}
