/* cache_http: route handlers of the dashboard API (see cache_http.h). */
#include "cache_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_buf.h"
#include "cache_etag.h"
#include "cache_ids.h"
#include "cache_reads.h"
#include "cache_store.h"

#define CACHE_CONTROL "no-cache"
#define JSON_TYPE     "application/json"
/* Stations per page of GET /v1/stations: the bounds of every paged list of the API. */
#define CACHE_PAGE_DEFAULT 100
#define CACHE_PAGE_MAX     1000

/* ---- parameters ----------------------------------------------------------------------------- */

static bool station_param(gg_http_req *req, const char **id)
{
    *id = gg_http_param(req, "id");
    if (*id && gg_record_station_id_valid(*id, strlen(*id)))
        return true;
    gg_http_reply_problemf(req, 400, "invalid-parameter",
                           "path parameter 'id' must be a station id: 1-%d characters of "
                           "A-Z a-z 0-9 . _ -",
                           GG_RECORD_STATION_MAX);
    return false;
}

static bool aspect_param(gg_http_req *req, gg_aspect *aspect)
{
    const char *v = gg_http_query(req, "aspect");
    *aspect = GG_ASPECT_REAL_TIME;
    if (!v || gg_aspect_parse(v, aspect) == 0)
        return true;
    gg_http_reply_problem(req, 400, "invalid-parameter",
                          "query parameter 'aspect' must be real_time or edge_prediction");
    return false;
}

/* ---- answers -------------------------------------------------------------------------------- */

static void reply_not_modified(gg_http_req *req, const char *etag)
{
    gg_http_add_header(req, "ETag", etag);
    gg_http_add_header(req, "Cache-Control", CACHE_CONTROL);
    gg_http_reply_empty(req, 304);
}

/* 200 with body (taken over) and its tag, or 304 when the client has that tag already. */
static void reply_tagged(gg_http_req *req, char *body, size_t len, const char *etag)
{
    if (cache_etag_matches(gg_http_header(req, "If-None-Match"), etag)) {
        free(body);
        reply_not_modified(req, etag);
        return;
    }
    gg_http_add_header(req, "ETag", etag);
    gg_http_add_header(req, "Cache-Control", CACHE_CONTROL);
    gg_http_reply_bytes(req, 200, JSON_TYPE, body, len);
}

/* Tags and sends an assembled body. */
static void reply_buf(gg_http_req *req, gg_buf *b)
{
    size_t len;
    char *body = gg_buf_take(b, &len);
    if (!body) {
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        return;
    }
    char etag[CACHE_ETAG_LEN];
    cache_etag_make(etag, body, len);
    reply_tagged(req, body, len, etag);
}

/* The answer for a failed Redis read, which also frees the unused body b; false (b untouched)
 * when rc is not a failure. */
static bool reply_read_failure(gg_http_req *req, cache_read rc, gg_buf *b, const char *err)
{
    if (rc == CACHE_READ_UNAVAILABLE || rc == CACHE_READ_BAD_REPLY)
        gg_buf_free(b);
    if (rc == CACHE_READ_UNAVAILABLE) {
        gg_http_add_header(req, "Retry-After", "1");
        gg_http_reply_problemf(req, 503, "redis-unavailable", "the cache store is unavailable: %s",
                               err);
        return true;
    }
    if (rc == CACHE_READ_BAD_REPLY) {
        gg_http_reply_problemf(req, 502, "redis-error", "the cache store failed: %s", err);
        return true;
    }
    return false;
}

static void reply_unknown_station(gg_http_req *req, const char *id)
{
    gg_http_reply_problemf(req, 404, "not-found", "station %s has no readings", id);
}

/* ---- GET /v1/stations/{id}/latest ------------------------------------------------------------ */

static void latest_from_redis(gg_http_req *req, cache_ctx *ctx, const char *id, gg_aspect aspect)
{
    char err[256];
    gg_buf b;
    gg_buf_init(&b);
    cache_read rc = cache_read_latest(ctx, id, aspect, &b, err, sizeof(err));
    if (reply_read_failure(req, rc, &b, err))
        return;
    if (rc == CACHE_READ_NOT_FOUND) {
        gg_buf_free(&b);
        gg_http_reply_problemf(req, 404, "not-found", "station %s has no %s reading", id,
                               gg_aspect_name(aspect));
    } else {
        reply_buf(req, &b);
    }
}

/* On the backend pool (gg_http_offload): the in-process copy was not coherent. */
static void latest_offloaded(gg_http_req *req, void *ud)
{
    const char *id;
    gg_aspect aspect;
    if (station_param(req, &id) && aspect_param(req, &aspect))
        latest_from_redis(req, ud, id, aspect);
}

static void handle_latest(gg_http_req *req, void *ud)
{
    cache_ctx *ctx = ud;
    const char *id;
    gg_aspect aspect;
    if (!station_param(req, &id) || !aspect_param(req, &aspect))
        return;
    char etag[CACHE_ETAG_LEN], *body = NULL;
    size_t len = 0;
    cache_lookup rc = cache_store_latest(ctx->store, id, strlen(id), aspect,
                                         gg_http_header(req, "If-None-Match"), etag, &body, &len);
    if (rc != CACHE_LOOKUP_INCOHERENT)
        gg_counter_add(ctx->stats.lookups_memory, 1);
    switch (rc) {
    case CACHE_LOOKUP_HIT:
        gg_http_add_header(req, "ETag", etag);
        gg_http_add_header(req, "Cache-Control", CACHE_CONTROL);
        gg_http_reply_bytes(req, 200, JSON_TYPE, body, len);
        break;
    case CACHE_LOOKUP_NOT_MODIFIED:
        reply_not_modified(req, etag);
        break;
    case CACHE_LOOKUP_NO_STATION:
        reply_unknown_station(req, id);
        break;
    case CACHE_LOOKUP_NO_VALUE:
        gg_http_reply_problemf(req, 404, "not-found", "station %s has no %s reading", id,
                               gg_aspect_name(aspect));
        break;
    case CACHE_LOOKUP_NO_MEMORY:
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        break;
    case CACHE_LOOKUP_INCOHERENT:
        gg_http_offload(req, latest_offloaded, ctx);
        break;
    }
}

/* ---- GET /v1/latest?stations=... ------------------------------------------------------------- */

/* The station ids (malloc'd, *n of them) and the aspect; false after answering 400. */
static bool many_params(gg_http_req *req, cache_id **out, int *n, gg_aspect *aspect)
{
    const char *list = gg_http_query(req, "stations");
    cache_id *ids = NULL;
    char why[160];
    *n = -1;
    if (!list) {
        snprintf(why, sizeof(why), "it is required");
    } else if (!(ids = malloc(CACHE_IDS_MAX * sizeof(*ids)))) {
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        return false;
    } else {
        *n = cache_ids_parse(list, ids, CACHE_IDS_MAX, why, sizeof(why));
    }
    if (*n < 0) {
        free(ids);
        gg_http_reply_problemf(req, 400, "invalid-parameter",
                               "query parameter 'stations' must be a comma-separated list of "
                               "station ids: %s",
                               why);
        return false;
    }
    if (!aspect_param(req, aspect)) {
        free(ids);
        return false;
    }
    *out = ids;
    return true;
}

/* On the backend pool (gg_http_offload): the in-process copy was not coherent. */
static void many_offloaded(gg_http_req *req, void *ud)
{
    cache_ctx *ctx = ud;
    cache_id *ids;
    int n;
    gg_aspect aspect;
    if (!many_params(req, &ids, &n, &aspect))
        return;
    char err[256];
    gg_buf b;
    gg_buf_init(&b);
    cache_read rc = cache_read_many(ctx, ids, (size_t)n, aspect, &b, err, sizeof(err));
    free(ids);
    if (!reply_read_failure(req, rc, &b, err))
        reply_buf(req, &b);
}

static void handle_many(gg_http_req *req, void *ud)
{
    cache_ctx *ctx = ud;
    cache_id *ids;
    int n;
    gg_aspect aspect;
    if (!many_params(req, &ids, &n, &aspect))
        return;
    gg_buf b;
    gg_buf_init(&b);
    bool hit = cache_store_many(ctx->store, ids, (size_t)n, aspect, &b);
    free(ids);
    if (!hit) {
        gg_buf_free(&b);
        gg_http_offload(req, many_offloaded, ctx);
        return;
    }
    gg_counter_add(ctx->stats.lookups_memory, 1);
    reply_buf(req, &b);
}

/* ---- GET /v1/stations ----------------------------------------------------------------------- */

/* limit and cursor, as every paged list of the API takes them. */
static bool page_params(gg_http_req *req, cache_page *page)
{
    long limit;
    if (!gg_http_query_long(req, "limit", 1, CACHE_PAGE_MAX, CACHE_PAGE_DEFAULT, &limit))
        return false;
    const char *cursor = gg_http_query(req, "cursor");
    if (cursor && !gg_record_station_id_valid(cursor, strlen(cursor))) {
        gg_http_reply_problem(req, 400, "invalid-parameter",
                              "query parameter 'cursor' is not a cursor this service gave out");
        return false;
    }
    *page = (cache_page){(size_t)limit, cursor, cursor ? strlen(cursor) : 0};
    return true;
}

/* On the backend pool (gg_http_offload): the in-process copy was not coherent. */
static void list_offloaded(gg_http_req *req, void *ud)
{
    cache_page page;
    if (!page_params(req, &page))
        return;
    char err[256];
    gg_buf b;
    gg_buf_init(&b);
    cache_read rc = cache_read_list(ud, &page, &b, err, sizeof(err));
    if (!reply_read_failure(req, rc, &b, err))
        reply_buf(req, &b);
}

static void handle_list(gg_http_req *req, void *ud)
{
    cache_ctx *ctx = ud;
    cache_page page;
    if (!page_params(req, &page))
        return;
    gg_buf b;
    gg_buf_init(&b);
    if (!cache_store_list(ctx->store, &page, &b)) {
        gg_buf_free(&b);
        gg_http_offload(req, list_offloaded, ctx);
        return;
    }
    gg_counter_add(ctx->stats.lookups_memory, 1);
    reply_buf(req, &b);
}

/* ---- GET /v1/stations/{id}/recent ------------------------------------------------------------ */

static void handle_recent(gg_http_req *req, void *ud)
{
    cache_ctx *ctx = ud;
    const char *id;
    long limit;
    if (!station_param(req, &id) ||
        !gg_http_query_long(req, "limit", 1, ctx->cfg.recent_size, ctx->cfg.recent_size, &limit))
        return;
    char err[256];
    gg_buf b;
    gg_buf_init(&b);
    cache_read rc = cache_read_recent(ctx, id, limit, &b, err, sizeof(err));
    if (reply_read_failure(req, rc, &b, err))
        return;
    if (rc == CACHE_READ_NOT_FOUND) {
        gg_buf_free(&b);
        reply_unknown_station(req, id);
    } else {
        reply_buf(req, &b);
    }
}

int cache_http_mount(cache_ctx *ctx)
{
    gg_http_server *s = ctx->svc.http;
    if (gg_http_route_query(s, "GET", "/v1/stations", "limit cursor", 0, handle_list, ctx) != 0 ||
        gg_http_route_query(s, "GET", "/v1/stations/{id}/latest", "aspect", 0, handle_latest,
                            ctx) != 0 ||
        gg_http_route_query(s, "GET", "/v1/stations/{id}/recent", "limit", GG_HTTP_BLOCKING,
                            handle_recent, ctx) != 0 ||
        gg_http_route_query(s, "GET", "/v1/latest", "stations aspect", 0, handle_many, ctx) != 0)
        return -1;
    return 0;
}
