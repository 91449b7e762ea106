/* analytics_api: routes, authentication, errors and the job endpoints (see analytics_api.h). */
#include "analytics_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics_pool.h"
#include "analytics_results.h"
#include "analytics_tracker.h"
#include "analytics_validate.h"
#include "analytics_webhcat.h"

#define LIST_DEFAULT 50
#define LIST_MAX     1000
/* A record is written right after the submission's answer: 0.5-1 s on MiniDFSCluster, tens of ms
 * on a production HDFS. */
#define RECORD_WAIT_MS  5000
#define RECORD_RETRY_MS 100

void analytics_api_problem(gg_http_req *req, unsigned status, const char *slug, const char *detail,
                           const char *field)
{
    gg_http_reply_problem_with(req, status, slug, detail,
                               field ? json_pack("{s:s}", "field", field) : NULL);
}

static void invalid(gg_http_req *req, const char *slug, const char *field, const char *why)
{
    char detail[512];
    snprintf(detail, sizeof(detail), "%s: %s", field, why);
    analytics_api_problem(req, 400, slug, detail, field);
}

void analytics_api_invalid_param(gg_http_req *req, const char *name, const char *why)
{
    invalid(req, "invalid-parameter", name, why);
}

void analytics_api_invalid_body(gg_http_req *req, const char *field, const char *why)
{
    invalid(req, "invalid-body", field, why);
}

void analytics_api_backend_error(gg_http_req *req, const analytics_err *e)
{
    const char *backend = e->backend ? e->backend : "backend";
    char slug[64];
    switch (e->kind) {
    case AE_UNREACHABLE:
        snprintf(slug, sizeof(slug), "%s-unavailable", backend);
        gg_http_add_header(req, "Retry-After", "5");
        analytics_api_problem(req, 503, slug, e->msg, NULL);
        break;
    case AE_INTERNAL:
    case AE_NONE:
        gg_http_reply_problem(req, 500, "internal", e->msg[0] ? e->msg : "internal error");
        break;
    default:
        snprintf(slug, sizeof(slug), "%s-error", backend);
        analytics_api_problem(req, 502, slug, e->msg, NULL);
        break;
    }
}

static analytics_scope caller_scope(analytics_ctx *ctx, gg_http_req *req)
{
    const char *api = ctx->cfg.api_token, *root = ctx->cfg.admin_token;
    if (root && *root && gg_http_bearer_ok(req, root))
        return ANALYTICS_SCOPE_ADMIN;
    if (api && *api)
        return gg_http_bearer_ok(req, api) ? ANALYTICS_SCOPE_API : ANALYTICS_SCOPE_NONE;
    return ctx->cfg.open_access ? ANALYTICS_SCOPE_API : ANALYTICS_SCOPE_NONE;
}

analytics_scope analytics_api_auth(analytics_ctx *ctx, gg_http_req *req, bool admin)
{
    const char *root = ctx->cfg.admin_token;
    if (admin && (!root || !*root)) {
        gg_http_reply_problem(req, 403, "forbidden",
                              "this operation is disabled: the service has no admin token");
        return ANALYTICS_SCOPE_NONE;
    }
    analytics_scope scope = caller_scope(ctx, req);
    if (scope == ANALYTICS_SCOPE_ADMIN || (!admin && scope == ANALYTICS_SCOPE_API))
        return scope;
    if (scope == ANALYTICS_SCOPE_API && ctx->cfg.api_token && *ctx->cfg.api_token) {
        gg_http_reply_problem(req, 403, "forbidden", "this operation needs the admin token");
        return ANALYTICS_SCOPE_NONE;
    }
    gg_http_add_header(req, "WWW-Authenticate", "Bearer realm=\"gridgate\"");
    gg_http_reply_problem(req, 401, "unauthorized",
                          admin ? "the admin bearer token is required"
                                : "a valid bearer token is required");
    return ANALYTICS_SCOPE_NONE;
}

bool analytics_api_page(gg_http_req *req, analytics_page *page)
{
    long offset;
    if (!gg_http_query_long(req, "offset", 0, 1L << 53, 0, &offset) ||
        !gg_http_query_long(req, "limit", 1, ANALYTICS_PAGE_MAX, ANALYTICS_PAGE_DEFAULT,
                            &page->limit))
        return false;
    page->offset = offset;
    return true;
}

static bool add_rows(analytics_ctx *ctx, gg_http_req *req, const char *id,
                     const analytics_page *page, json_t *view)
{
    analytics_rows_page rp;
    analytics_err e = {0};
    if (analytics_results_page(ctx, id, page, &rp, &e) != 0) {
        analytics_api_backend_error(req, &e);
        return false;
    }
    int64_t next = page->offset + (int64_t)json_array_size(rp.rows);
    json_object_set_new(view, "offset", json_integer(page->offset));
    json_object_set_new(view, "limit", json_integer(page->limit));
    json_object_set_new(view, "next_offset", rp.more ? json_integer(next) : json_null());
    if (rp.cut)
        json_object_set_new(view, "rows_cut", json_true());
    json_object_set_new(view, "rows", rp.rows);
    return true;
}

/* A caller that waited for the verdict (a CI step running curl -f) gets a failed or killed job
 * as an error status, so that the step fails; the problem carries the job (view, stolen). */
static void waited_in_vain(gg_http_req *req, const char *id, analytics_job_state state,
                           json_t *view)
{
    char detail[128];
    bool failed = state == AJ_FAILED;
    snprintf(detail, sizeof(detail), "job %s %s; its error is in job.error", id,
             failed ? "failed" : "was killed");
    gg_http_reply_problem_with(req, failed ? 422 : 409, failed ? "job-failed" : "job-killed",
                               detail, json_pack("{s:o}", "job", view));
}

void analytics_api_answer_job(analytics_ctx *ctx, gg_http_req *req, const char *id,
                              const analytics_page *page, unsigned how)
{
    bool loaded = analytics_store_loaded(ctx->store);
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    json_t *view = j ? analytics_job_view(j) : NULL;
    analytics_job_state state = j ? j->state : AJ_QUEUED;
    analytics_store_unlock(ctx->store);
    if (!view && !loaded) {
        gg_http_add_header(req, "Retry-After", "5");
        analytics_api_problem(req, 503, "webhdfs-unavailable",
                              "job records are not loaded yet: WebHDFS has not answered", NULL);
        return;
    }
    if (!view) {
        gg_http_reply_problemf(req, 404, "not-found", "no job %s", id);
        return;
    }
    if (state == AJ_SUCCEEDED && !add_rows(ctx, req, id, page, view)) {
        json_decref(view);
        return;
    }
    if (how & (ANALYTICS_ANSWER_CACHED | ANALYTICS_ANSWER_NEW))
        json_object_set_new(view, "cached", json_boolean(how & ANALYTICS_ANSWER_CACHED));
    if (how & ANALYTICS_ANSWER_LOCATION) {
        char loc[64];
        snprintf(loc, sizeof(loc), "/v1/jobs/%s", id);
        gg_http_add_header(req, "Location", loc);
    }
    if ((how & ANALYTICS_ANSWER_WAITED) && (state == AJ_FAILED || state == AJ_KILLED)) {
        waited_in_vain(req, id, state, view);
        return;
    }
    bool accepted = ((how & ANALYTICS_ANSWER_ACCEPTED) && !analytics_job_terminal(state)) ||
                    (how & ANALYTICS_ANSWER_202);
    gg_http_reply_json(req, accepted ? 202 : 200, view);
}

static bool job_id_param(gg_http_req *req, const char **id)
{
    *id = gg_http_param(req, "id");
    if (!*id || !analytics_valid_job_id(*id)) {
        analytics_api_invalid_param(req, "id", "is not a job id (YYYYMMDD-hhmmss-xxxxxxxx)");
        return false;
    }
    return true;
}

/* The wall-clock time (ms) a job id was made, from its stamp YYYYMMDD-hhmmss (UTC); 0 if none. */
static int64_t id_made_ms(const char *id)
{
    struct tm tm = {0};
    if (sscanf(id, "%4d%2d%2d-%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? 0 : (int64_t)t * 1000;
}

/* A job this replica does not know may have been submitted through another one: its record is
 * read from HDFS. That replica answered before it wrote the record, so a missing record of an id
 * made less than RECORD_WAIT_MS ago (its stamp has whole seconds: one more) is looked for again
 * for that long. False (answered 503) when WebHDFS does not answer. */
static bool fetched(analytics_ctx *ctx, gg_http_req *req, const char *id)
{
    analytics_err e = {0};
    if (!analytics_store_loaded(ctx->store))
        return true;
    int64_t now = gg_time_wall_ms(), until = id_made_ms(id) + RECORD_WAIT_MS + 1000;
    if (until > now + RECORD_WAIT_MS + 1000) /* a stamp from the future waits no longer */
        until = now + RECORD_WAIT_MS + 1000;
    int rc;
    while ((rc = analytics_store_fetch(ctx->store, id, gg_time_mono_ms(), &e)) == 0 &&
           gg_time_wall_ms() < until) {
        struct timespec pause = {0, RECORD_RETRY_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
    if (rc >= 0)
        return true;
    analytics_api_backend_error(req, &e);
    return false;
}

/* A raw query (its HiveQL and rows) is the admin's: to anyone else it does not exist. */
static bool visible(analytics_ctx *ctx, gg_http_req *req, const char *id, analytics_scope scope)
{
    if (scope == ANALYTICS_SCOPE_ADMIN)
        return true;
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    bool hidden = j && j->kind == AJ_QUERY;
    analytics_store_unlock(ctx->store);
    if (hidden)
        gg_http_reply_problemf(req, 404, "not-found", "no job %s", id);
    return !hidden;
}

static void h_job(gg_http_req *req, void *ud)
{
    analytics_ctx *ctx = ud;
    const char *id;
    analytics_page page;
    analytics_scope scope = analytics_api_auth(ctx, req, false);
    if (!scope || !job_id_param(req, &id) || !analytics_api_page(req, &page) ||
        !fetched(ctx, req, id) || !visible(ctx, req, id, scope))
        return;
    analytics_api_answer_job(ctx, req, id, &page, 0);
}

/* ?state= and ?kind= filters: -1 for "any"; false (answered 400) when unknown. */
static bool list_filter(gg_http_req *req, const char *name, const char *(*label)(int), int n,
                        int *out)
{
    const char *v = gg_http_query(req, name);
    *out = -1;
    for (int i = 0; v && i < n; i++)
        if (strcmp(label(i), v) == 0)
            *out = i;
    if (v && *out < 0) {
        analytics_api_invalid_param(req, name, "is not one of the listed values");
        return false;
    }
    return true;
}

static const char *state_label(int i)
{
    return analytics_job_state_name((analytics_job_state)i);
}

static const char *kind_label(int i)
{
    return analytics_job_kind_name((analytics_job_kind)i);
}

static json_t *summary(const analytics_job *j)
{
    json_t *v = analytics_job_view(j);
    json_object_del(v, "hiveql");
    json_object_del(v, "result");
    json_object_del(v, "error");
    json_object_del(v, "columns");
    return v;
}

/* ?cursor=: the id of the last job of the previous page (its next_cursor), or NULL. */
static bool list_cursor(gg_http_req *req, const char **cursor)
{
    *cursor = gg_http_query(req, "cursor");
    if (*cursor && !analytics_valid_job_id(*cursor)) {
        analytics_api_invalid_param(req, "cursor", "is not a next_cursor of this list");
        return false;
    }
    return true;
}

static void h_jobs(gg_http_req *req, void *ud)
{
    analytics_ctx *ctx = ud;
    long offset, limit;
    int state, kind;
    const char *cursor;
    analytics_scope scope = analytics_api_auth(ctx, req, false);
    if (!scope || !gg_http_query_long(req, "offset", 0, 1L << 53, 0, &offset) ||
        !gg_http_query_long(req, "limit", 1, LIST_MAX, LIST_DEFAULT, &limit) ||
        !list_filter(req, "state", state_label, 5, &state) ||
        !list_filter(req, "kind", kind_label, 2, &kind) || !list_cursor(req, &cursor))
        return;
    if (!analytics_store_loaded(ctx->store)) {
        gg_http_add_header(req, "Retry-After", "5");
        analytics_api_problem(req, 503, "webhdfs-unavailable",
                              "job records are not loaded yet: WebHDFS has not answered", NULL);
        return;
    }
    /* A cursor pages by id (creation order), so jobs that arrive or expire between two pages
     * neither repeat nor skip one; the offset counts from it. */
    json_t *jobs = json_array();
    analytics_store_filter filter = {state, kind, scope == ANALYTICS_SCOPE_ADMIN};
    analytics_job *page[LIST_MAX];
    size_t total = 0;
    char last[32] = "";
    bool more = false;
    analytics_store_lock(ctx->store);
    size_t n = analytics_store_page(ctx->store, &filter, cursor, (size_t)offset, (size_t)limit,
                                    page, &total, &more);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(jobs, summary(page[i]));
    if (n)
        snprintf(last, sizeof(last), "%s", page[n - 1]->id);
    analytics_store_unlock(ctx->store);
    json_t *next = !cursor && more ? json_integer(offset + limit) : json_null();
    gg_http_reply_json(req, 200,
                       json_pack("{s:o, s:I, s:I, s:I, s:o, s:o}", "jobs", jobs, "total",
                                 (json_int_t)total, "offset", (json_int_t)offset, "limit",
                                 (json_int_t)limit, "next_offset", next, "next_cursor",
                                 more ? json_string(last) : json_null()));
}

/* Marks the kill under the lock; 0 with the WebHCat id copied, or an HTTP status to answer. */
static unsigned mark_kill(analytics_ctx *ctx, const char *id, bool on, char *wid, size_t widlen,
                          char *why, size_t whylen)
{
    unsigned status = 0;
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    if (!j) {
        status = 404;
        snprintf(why, whylen, "no job %s", id);
    } else if (on && analytics_job_terminal(j->state)) {
        status = 409;
        snprintf(why, whylen, "job %s has already %s", id, analytics_job_state_name(j->state));
    } else if (on && !j->webhcat_id[0]) {
        status = 409;
        snprintf(why, whylen, "job %s is still being submitted; try again shortly", id);
    } else {
        j->kill_requested = on;
        j->kill_sent_ms = on ? gg_time_mono_ms() : 0;
        analytics_job_touch(j);
        snprintf(wid, widlen, "%s", j->webhcat_id);
    }
    analytics_store_unlock(ctx->store);
    return status;
}

static void h_kill(gg_http_req *req, void *ud)
{
    analytics_ctx *ctx = ud;
    const char *id;
    if (!analytics_api_auth(ctx, req, true) || !job_id_param(req, &id) || !fetched(ctx, req, id))
        return;
    char wid[96], why[256];
    unsigned status = mark_kill(ctx, id, true, wid, sizeof(wid), why, sizeof(why));
    if (status) {
        gg_http_reply_problem(req, status, status == 404 ? "not-found" : "conflict", why);
        return;
    }
    /* WebHCat answers a DELETE after YARN killed the job and a Beeline "kill query" ran, which
     * can take seconds and fail (500) after the job was killed. Only an answer that proves
     * nothing was done withdraws the request: WebHCat's own refusal (a JSON 4xx), busy (503,
     * 429) or a connection that never opened. Otherwise it stays recorded, the job's status
     * confirms the kill, and the tracker sends it again while the job runs. */
    analytics_err e = {0};
    if (analytics_webhcat_kill(&ctx->backend, wid, ctx->cfg.submit_timeout_ms, &e) != 0 &&
        e.kind != AE_NOT_FOUND) {
        if (e.kind == AE_REJECTED || e.kind == AE_INTERNAL ||
            (e.kind == AE_UNREACHABLE && !e.uncertain)) {
            mark_kill(ctx, id, false, wid, sizeof(wid), why, sizeof(why));
            analytics_api_backend_error(req, &e);
            return;
        }
        gg_warn(&ctx->svc.log, "kill not confirmed by WebHCat; the job's status will tell",
                "{s:s, s:s, s:s}", "job", id, "webhcat_job", wid, "error", e.msg);
    }
    gg_info(&ctx->svc.log, "job kill requested", "{s:s, s:s}", "job", id, "webhcat_job", wid);
    analytics_tracker_wake(ctx->tracker); /* it writes the record and sees the job end */
    analytics_page page = {0, ANALYTICS_PAGE_DEFAULT};
    analytics_api_answer_job(ctx, req, id, &page, ANALYTICS_ANSWER_202);
}

int analytics_api_mount(analytics_ctx *ctx)
{
    gg_http_server *s = ctx->svc.http;
    analytics_pool *p = ctx->pool;
    /* Every route but the list calls WebHCat or WebHDFS: those run on the pool. */
    if (analytics_pool_route(p, s, "POST", "/v1/wordcount", "wait offset limit", GG_HTTP_JSON_BODY,
                             analytics_api_wordcount, ctx) != 0 ||
        analytics_pool_route(p, s, "POST", "/v1/queries", "wait offset limit", GG_HTTP_JSON_BODY,
                             analytics_api_query, ctx) != 0 ||
        gg_http_route_query(s, "GET", "/v1/jobs", "state kind offset limit cursor", 0, h_jobs,
                            ctx) != 0 ||
        analytics_pool_route(p, s, "GET", "/v1/jobs/{id}", "offset limit", 0, h_job, ctx) != 0 ||
        analytics_pool_route(p, s, "DELETE", "/v1/jobs/{id}", NULL, 0, h_kill, ctx) != 0)
        return -1;
    return 0;
}
