/* analytics_api_submit: POST /v1/wordcount and POST /v1/queries: validate, look for a cached
 * word count, submit the job to WebHCat, answer or park, then take its lease and write its record
 * (see analytics_api.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_api.h"
#include "analytics_lease.h"
#include "analytics_recover.h"
#include "analytics_script.h"
#include "analytics_tracker.h"
#include "analytics_validate.h"
#include "analytics_webhcat.h"
#include "analytics_webhdfs.h"
#include "analytics_wordcount.h"

#define FIRST_POLL_MS 500 /* as the tracker's first poll: a YARN job takes seconds to start */

static bool wait_param(analytics_ctx *ctx, gg_http_req *req, long *wait_s)
{
    return gg_http_query_long(req, "wait", 0, ctx->cfg.wait_max_s, 0, wait_s);
}

static bool loaded_or_503(analytics_ctx *ctx, gg_http_req *req)
{
    if (analytics_store_loaded(ctx->store))
        return true;
    gg_http_add_header(req, "Retry-After", "5");
    analytics_api_problem(req, 503, "webhdfs-unavailable",
                          "job records are not loaded yet: WebHDFS has not answered", NULL);
    return false;
}

/* Answers now, or parks the request with the tracker until the job ends or wait_s pass. */
static void respond(analytics_ctx *ctx, gg_http_req *req, const char *id, long wait_s,
                    const analytics_page *page, unsigned how)
{
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    bool ended = !j || analytics_job_terminal(j->state);
    analytics_store_unlock(ctx->store);
    if (wait_s > 0)
        how |= ANALYTICS_ANSWER_WAITED;
    if (wait_s > 0 && !ended) {
        gg_http_defer(req);
        int64_t deadline = gg_time_mono_ms() + (int64_t)wait_s * 1000;
        if (analytics_tracker_park(ctx->tracker, req, id, deadline, page, how))
            return; /* req now belongs to the tracker */
    }
    analytics_api_answer_job(ctx, req, id, page, how);
}

/* Drops a job whose submission failed: WebHCat refused it, and nothing of it is in HDFS yet. */
static void drop(analytics_ctx *ctx, const char *id)
{
    analytics_store_lock(ctx->store);
    analytics_store_remove(ctx->store, id);
    analytics_store_unlock(ctx->store);
}

/* WebHCat did not answer the submission, but may have queued the job (a timeout, not a refused
 * connection). Dropping it could leave a job nobody follows; submitting again could run it
 * twice. The job is kept as queued: once recorded, the tracker looks for it by its statusdir and
 * follows it, or fails it when WebHCat has no such job. */
static void unconfirmed(analytics_ctx *ctx, gg_http_req *req, const char *id,
                        const analytics_err *e, long wait_s, const analytics_page *page)
{
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    j->submitting = false;
    j->unrecorded = true;
    j->recording = true; /* by this thread, after the answer */
    analytics_store_unlock(ctx->store);
    gg_warn(&ctx->svc.log, "submission unconfirmed, looking for the job by its statusdir",
            "{s:s, s:s}", "job", id, "error", e->msg);
    respond(ctx, req, id, wait_s, page,
            ANALYTICS_ANSWER_ACCEPTED | ANALYTICS_ANSWER_LOCATION | ANALYTICS_ANSWER_NEW);
}

/* After the answer: the lease (owner.1) and the record, on this pool thread, so that the
 * submission's answer never waits for HDFS to close a file. A crash before they are written
 * leaves a job only WebHCat knows: analytics_recover finds it in WebHCat's list by its statusdir
 * and rebuilds it from the note the submission handed over. A failure here leaves the job
 * unrecorded for the tracker to try again. */
static void record(analytics_ctx *ctx, const char *id)
{
    analytics_err e = {0};
    if (analytics_lease_record_new(ctx, id, true, &e) != 0)
        gg_warn(&ctx->svc.log, "cannot take the lease of a submitted job yet, will retry",
                "{s:s, s:s}", "job", id, "error", e.msg);
    analytics_tracker_wake(ctx->tracker);
}

/* WebHCat first, then the record: the answer costs one WebHCat call. The job is never
 * forgotten: it is in this replica's memory from before the call, the tracker records it if the
 * write below fails, and analytics_recover finds it in WebHCat's list if this process dies
 * before the record is written. */
static void submit(analytics_ctx *ctx, gg_http_req *req, analytics_job *j, long wait_s,
                   const analytics_page *page)
{
    char id[32], statusdir[ANALYTICS_PATH_MAX + 64], wid[96];
    snprintf(id, sizeof(id), "%s", j->id);
    analytics_store_path(ctx->store, id, "/status", statusdir, sizeof(statusdir));
    const char *hiveql = j->hiveql; /* never changes; only this thread may remove the job */
    analytics_job_kind kind = j->kind;
    j->submitting = true;
    j->created_ms = gg_time_wall_ms();
    analytics_job_touch(j);
    char *define = analytics_recover_define(j);
    analytics_store_lock(ctx->store);
    int added = define ? analytics_store_add(ctx->store, j) : -1;
    analytics_store_unlock(ctx->store);
    if (added != 0) {
        free(define);
        analytics_job_free(j);
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        return;
    }
    analytics_err e = {0};
    int rc = analytics_webhcat_submit(&ctx->backend, hiveql, statusdir, define,
                                      ctx->cfg.submit_timeout_ms, wid, sizeof(wid), &e);
    free(define);
    if (rc != 0 && e.kind == AE_UNREACHABLE && e.uncertain) {
        unconfirmed(ctx, req, id, &e, wait_s, page);
        record(ctx, id);
        return;
    }
    if (rc != 0) {
        drop(ctx, id);
        analytics_api_backend_error(req, &e);
        return;
    }
    analytics_store_lock(ctx->store);
    j = analytics_store_find(ctx->store, id);
    snprintf(j->webhcat_id, sizeof(j->webhcat_id), "%s", wid);
    j->submitted_ms = gg_time_wall_ms();
    j->submitting = false;
    j->unrecorded = true;
    j->recording = true; /* by this thread, after the answer */
    j->poll_delay_ms = FIRST_POLL_MS < ctx->cfg.poll_interval_ms
                           ? FIRST_POLL_MS
                           : (uint32_t)ctx->cfg.poll_interval_ms;
    j->next_poll_ms = gg_time_mono_ms() + j->poll_delay_ms;
    analytics_job_touch(j);
    analytics_store_unlock(ctx->store);
    gg_counter_add(ctx->m.submitted[kind], 1);
    gg_info(&ctx->svc.log, "job submitted", "{s:s, s:s, s:s}", "job", id, "kind",
            analytics_job_kind_name(kind), "webhcat_job", wid);
    respond(ctx, req, id, wait_s, page,
            ANALYTICS_ANSWER_ACCEPTED | ANALYTICS_ANSWER_LOCATION | ANALYTICS_ANSWER_NEW);
    record(ctx, id); /* req is answered (or parked): only the job's id is used from here on */
}

/* Directories a word count's input may hold; a larger tree is refused rather than listed for
 * minutes on every request. */
#define INPUT_MAX_DIRS 10000

typedef struct dir_stack {
    char **items;
    size_t count, cap;
} dir_stack;

static bool push_dir(dir_stack *st, const char *rel, const char *name)
{
    if (st->count == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        char **grown = realloc(st->items, cap * sizeof(*grown));
        if (!grown)
            return false;
        st->items = grown;
        st->cap = cap;
    }
    gg_buf b = {0};
    gg_buf_puts(&b, rel);
    if (*rel && *name)
        gg_buf_puts(&b, "/");
    gg_buf_puts(&b, name);
    return (st->items[st->count] = gg_buf_take(&b, NULL)) ? (st->count++, true) : false;
}

/* Lists one directory of the input into the fingerprint and queues its visible subdirectories.
 * Returns 0, or an HTTP status with the answer already given. */
static unsigned scan_dir(analytics_ctx *ctx, gg_http_req *req, const char *root, const char *rel,
                         analytics_fp *fp, dir_stack *todo)
{
    gg_buf path = {0};
    gg_buf_printf(&path, "%s%s%s", root, *rel ? "/" : "", rel);
    analytics_hdfs_list l;
    analytics_err e = {0};
    int rc = -1;
    if (gg_buf_str(&path))
        rc = analytics_webhdfs_list(&ctx->backend, path.data, &l, &e);
    else
        analytics_err_set(&e, AE_INTERNAL, "webhdfs", 0, "out of memory");
    gg_buf_free(&path);
    if (rc != 0 && e.kind == AE_NOT_FOUND && *rel)
        return 0; /* removed while we walked: its parent's listing already says so */
    if (rc != 0 && e.kind == AE_NOT_FOUND) {
        analytics_api_problem(req, 422, "input-not-found", "path: no such directory in HDFS",
                              "path");
        return 422;
    }
    if (rc != 0) {
        analytics_api_backend_error(req, &e);
        return 503;
    }
    unsigned status = 0;
    if (!*rel && l.count == 1 && !l.items[0].name[0] && !l.items[0].is_dir) {
        analytics_api_problem(req, 422, "input-not-directory",
                              "path: names a file; give the directory that holds the text", "path");
        status = 422;
    }
    analytics_fp_dir(fp, rel, &l);
    for (size_t i = 0; !status && i < l.count; i++) {
        if (l.items[i].is_dir && analytics_fp_visible(l.items[i].name) &&
            !push_dir(todo, rel, l.items[i].name)) {
            gg_http_reply_problem(req, 500, "internal", "out of memory");
            status = 500;
        }
    }
    analytics_hdfs_list_free(&l);
    return status;
}

/* Walks the input tree (one LISTSTATUS per directory) into the fingerprint; answers and returns
 * -1 when the input is unusable. */
static int scan_input(analytics_ctx *ctx, gg_http_req *req, const analytics_wc_params *p,
                      char out[17])
{
    analytics_fp fp;
    analytics_fp_init(&fp, p);
    dir_stack todo = {0};
    unsigned status = push_dir(&todo, "", "") ? 0 : 500;
    if (status)
        gg_http_reply_problem(req, 500, "internal", "out of memory");
    for (size_t visited = 0; !status && todo.count; visited++) {
        char *rel = todo.items[--todo.count];
        if (visited == INPUT_MAX_DIRS) {
            analytics_api_problem(req, 422, "input-too-large",
                                  "path: holds more than 10000 directories", "path");
            status = 422;
        } else {
            status = scan_dir(ctx, req, p->path, rel, &fp, &todo);
        }
        free(rel);
    }
    while (todo.count)
        free(todo.items[--todo.count]);
    free(todo.items);
    analytics_fp_final(&fp, out);
    return status ? -1 : 0;
}

/* Where a job's script writes its result files: <jobs dir>/<id>/result, after the cluster's
 * file system URI when one is configured (as table locations are). */
static void result_dir(analytics_ctx *ctx, const char *id, char *out, size_t outlen)
{
    char path[ANALYTICS_PATH_MAX + 64];
    analytics_store_path(ctx->store, id, "/result", path, sizeof(path));
    snprintf(out, outlen, "%s%s", ctx->cfg.hdfs_uri ? ctx->cfg.hdfs_uri : "", path);
}

static analytics_job *wordcount_job(analytics_ctx *ctx, const analytics_wc_params *p,
                                    const char *fingerprint)
{
    char id[32], table[64], dir[ANALYTICS_PATH_MAX + 320];
    analytics_store_new_id(ctx->store, id, sizeof(id));
    analytics_hiveql_table(table, sizeof(table), id);
    result_dir(ctx, id, dir, sizeof(dir));
    analytics_job *j = analytics_job_new(AJ_WORDCOUNT, id);
    if (!j)
        return NULL;
    j->output_files = true;
    j->hiveql = analytics_hiveql_wordcount(p, table, ctx->cfg.hdfs_uri, dir);
    j->params = analytics_wc_params_json(p);
    snprintf(j->fingerprint, sizeof(j->fingerprint), "%s", fingerprint);
    if (!j->hiveql || !j->params) {
        analytics_job_free(j);
        return NULL;
    }
    return j;
}

/* Word counts read only below the configured roots, and never the jobs directory, which holds
 * every job's records and results (a raw query's rows among them): neither inside it nor above
 * it (a directory holding it would be read with it). */
static bool input_allowed(analytics_ctx *ctx, gg_http_req *req, const char *path)
{
    const char *why = NULL;
    if (analytics_path_below(path, ctx->jobs_dir) || analytics_path_below(ctx->jobs_dir, path))
        why = "path: the jobs directory is not word-count input";
    char *roots = strdup(ctx->cfg.input_roots ? ctx->cfg.input_roots : "/data"), *save = NULL;
    bool below = false;
    for (char *r = roots ? strtok_r(roots, ",", &save) : NULL; r && !below;
         r = strtok_r(NULL, ",", &save))
        below = analytics_path_below(path, r);
    free(roots);
    if (!why && !below)
        why = "path: word counts read only below the configured input roots";
    if (why)
        analytics_api_problem(req, 403, "input-forbidden", why, "path");
    return why == NULL;
}

void analytics_api_wordcount(gg_http_req *req, void *ud)
{
    analytics_ctx *ctx = ud;
    long wait_s;
    analytics_page page;
    if (!analytics_api_auth(ctx, req, false) || !wait_param(ctx, req, &wait_s) ||
        !analytics_api_page(req, &page))
        return;
    analytics_wc_params p;
    char field[32], why[256];
    if (analytics_wc_parse(gg_http_json(req), ctx->cfg.wordcount_top_max, &p, field, sizeof(field),
                           why, sizeof(why)) != 0) {
        analytics_wc_params_free(&p);
        analytics_api_invalid_body(req, field, why);
        return;
    }
    char fp[17], cached[32] = "";
    if (!input_allowed(ctx, req, p.path) || !loaded_or_503(ctx, req) ||
        scan_input(ctx, req, &p, fp) != 0) {
        analytics_wc_params_free(&p);
        return;
    }
    analytics_store_lock(ctx->store);
    analytics_job *hit = analytics_store_find_fingerprint(ctx->store, fp);
    if (hit)
        snprintf(cached, sizeof(cached), "%s", hit->id);
    analytics_store_unlock(ctx->store);
    if (cached[0]) {
        analytics_wc_params_free(&p);
        gg_counter_add(ctx->m.cache_hits, 1);
        gg_info(&ctx->svc.log, "word count answered from an earlier job", "{s:s, s:s}", "job",
                cached, "fingerprint", fp);
        respond(ctx, req, cached, wait_s, &page,
                ANALYTICS_ANSWER_ACCEPTED | ANALYTICS_ANSWER_LOCATION | ANALYTICS_ANSWER_CACHED);
        return;
    }
    analytics_job *j = wordcount_job(ctx, &p, fp);
    analytics_wc_params_free(&p);
    if (!j) {
        gg_http_reply_problem(req, 500, "internal", "cannot build the HiveQL");
        return;
    }
    submit(ctx, req, j, wait_s, &page);
}

/* {"hiveql": "..."}: the text itself is the admin's responsibility; its size and shape are not. */
const char *analytics_api_query_text(json_t *body, long max_bytes, const char **field, char *why,
                                     size_t whylen)
{
    json_t *q = json_object_get(body, "hiveql");
    const char *text = json_string_value(q);
    if (!json_is_object(body) || json_object_size(body) != 1 || !q) {
        *field = "body";
        snprintf(why, whylen, "must be an object with the single member hiveql");
        return NULL;
    }
    *field = "hiveql";
    if (!text || !*text || strlen(text) != json_string_length(q)) {
        snprintf(why, whylen, "must be a non-empty string without NUL");
        return NULL;
    }
    if ((long)strlen(text) > max_bytes) {
        snprintf(why, whylen, "is longer than %ld bytes", max_bytes);
        return NULL;
    }
    return text;
}

static const char *query_text(analytics_ctx *ctx, gg_http_req *req)
{
    const char *field;
    char why[96];
    const char *text = analytics_api_query_text(gg_http_json(req), ctx->cfg.query_max_bytes, &field,
                                                why, sizeof(why));
    if (!text)
        analytics_api_invalid_body(req, field, why);
    return text;
}

void analytics_api_query(gg_http_req *req, void *ud)
{
    analytics_ctx *ctx = ud;
    long wait_s;
    analytics_page page;
    if (!analytics_api_auth(ctx, req, true) || !wait_param(ctx, req, &wait_s) ||
        !analytics_api_page(req, &page))
        return;
    const char *text = query_text(ctx, req);
    if (!text || !loaded_or_503(ctx, req))
        return;
    char id[32], view[64], dir[ANALYTICS_PATH_MAX + 320];
    analytics_store_new_id(ctx->store, id, sizeof(id));
    snprintf(view, sizeof(view), "gridgate_q_%s", id);
    for (char *c = view; *c; c++)
        *c = *c == '-' ? '_' : *c;
    result_dir(ctx, id, dir, sizeof(dir));
    analytics_job *j = analytics_job_new(AJ_QUERY, id);
    bool oom = !j;
    if (j && (j->hiveql = analytics_script_query(text, view, dir, &oom)))
        j->output_files = true; /* it ends in a query: its rows become files */
    else if (j && !oom)
        oom = !(j->hiveql = strdup(text)); /* anything else runs as given */
    if (oom) {
        analytics_job_free(j);
        gg_http_reply_problem(req, 500, "internal", "out of memory");
        return;
    }
    submit(ctx, req, j, wait_s, &page);
}
