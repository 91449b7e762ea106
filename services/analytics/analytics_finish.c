/* analytics_finish: settling ended jobs (see analytics_finish.h). */
#include "analytics_finish.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_results.h"
#include "analytics_validate.h"
#include "analytics_webhcat.h"
#include "analytics_webhdfs.h"
#include "analytics_wordcount.h"

#define STDERR_TAIL 16384 /* bytes of stderr kept with a failed job */

typedef struct outcome {
    analytics_job_state state;
    int exit_value;
    int64_t started_ms;
    char *error;     /* malloc'd */
    json_t *result;  /* word counts */
    json_t *columns; /* raw queries that wrote result files */
    int64_t rows_total, result_bytes;
} outcome;

/* Rows a word count prints at most: its top list plus one per requested word. */
static size_t wordcount_rows(json_t *params)
{
    json_int_t top = json_integer_value(json_object_get(params, "top"));
    return (size_t)(top > 0 ? top : 0) + json_array_size(json_object_get(params, "words"));
}

/* A number written with optional thousands separators ("3,017"), ending just before end;
 * -1 when there is none. */
static int64_t number_before(const char *text, const char *end)
{
    const char *p = end;
    while (p > text && (isdigit((unsigned char)p[-1]) || (p[-1] == ',' && p - 1 > text)))
        p--;
    int64_t n = -1;
    for (; p < end; p++)
        if (isdigit((unsigned char)*p))
            n = (n < 0 ? 0 : n) * 10 + (*p - '0');
    return n;
}

/* The rows Hive says it printed, from stderr: the sum of the CLI's "Fetched: N row(s)" and
 * Beeline's "N rows selected" / "1 row selected" lines, -1 when it says nothing. Only stderr's
 * tail is given, so the sum may be smaller than what Hive printed, never larger. */
static int64_t fetched_rows(const char *err)
{
    int64_t sum = -1;
    for (const char *p = err; (p = strstr(p, "Fetched: ")) != NULL; p += 9) {
        char *end;
        long long n = strtoll(p + 9, &end, 10);
        if (end != p + 9 && n >= 0 && strncmp(end, " row", 4) == 0)
            sum = (sum < 0 ? 0 : sum) + n;
    }
    static const char *const selected[] = {" rows selected", " row selected"};
    for (size_t i = 0; i < 2; i++) {
        for (const char *p = err; (p = strstr(p, selected[i])) != NULL; p++) {
            int64_t n = number_before(err, p);
            if (n >= 0)
                sum = (sum < 0 ? 0 : sum) + n;
        }
    }
    return sum;
}

/* Rows read from stdout (not result files) are what WebHCat's launcher copied: it stops copying
 * 10 s after hive exited (LaunchMapper, WATCHER_TIMEOUT_SECS) and still writes exit 0. Fewer rows
 * than Hive reported fetching is a cut result, not a short one. 1 cut (o filled), 0 not, -1 ask
 * again later. */
static int stdout_cut(analytics_ctx *ctx, const char *id, outcome *o, analytics_err *e)
{
    char *tail = analytics_results_stderr_tail(ctx, id, STDERR_TAIL, e);
    if (!tail)
        return e->kind == AE_NOT_FOUND ? 0 : -1;
    int64_t fetched = fetched_rows(tail);
    free(tail);
    if (fetched <= o->rows_total)
        return 0;
    char msg[256];
    snprintf(msg, sizeof(msg),
             "the result was cut short: Hive fetched %lld rows, its stdout holds %lld (WebHCat's "
             "launcher stops copying stdout 10 s after hive exits)",
             (long long)fetched, (long long)o->rows_total);
    o->state = AJ_FAILED;
    o->error = strdup(msg);
    return 1;
}

static int read_success(analytics_ctx *ctx, const char *id, analytics_job_kind kind, json_t *params,
                        bool files, outcome *o, analytics_err *e)
{
    if (kind == AJ_QUERY && files && analytics_results_columns(ctx, id, &o->columns, e) != 0)
        return -1;
    size_t keep = kind == AJ_WORDCOUNT ? wordcount_rows(params) + 1 : 0;
    json_t *rows = NULL;
    if (analytics_results_scan(ctx, id, keep, &rows, &o->rows_total, &o->result_bytes, e) != 0)
        return -1;
    int cut = files ? 0 : stdout_cut(ctx, id, o, e);
    if (cut < 0) {
        json_decref(rows);
        return -1;
    }
    if (kind == AJ_WORDCOUNT && !cut) {
        char why[128];
        o->result = analytics_wc_result(params, rows, why, sizeof(why));
        if (!o->result || (size_t)o->rows_total > keep - 1) {
            o->state = AJ_FAILED;
            char msg[256];
            snprintf(msg, sizeof(msg), "the word count printed an unexpected result: %s",
                     o->result ? "too many rows" : why);
            o->error = strdup(msg);
            json_decref(o->result);
            o->result = NULL;
        }
    }
    json_decref(rows);
    return 0;
}

static int read_failure(analytics_ctx *ctx, const char *id, const char *reason, outcome *o,
                        analytics_err *e)
{
    char *tail = analytics_results_stderr_tail(ctx, id, STDERR_TAIL, e);
    if (!tail)
        return -1;
    size_t n = strlen(reason) + strlen(tail) + 2;
    o->error = malloc(n);
    if (o->error)
        snprintf(o->error, n, "%s%s%s", reason, *reason && *tail ? "\n" : "", tail);
    free(tail);
    return 0;
}

static void apply(analytics_ctx *ctx, const char *id, outcome *o)
{
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    analytics_job_kind kind = AJ_QUERY;
    int64_t took = 0;
    if (j) {
        kind = j->kind;
        j->state = o->state;
        j->exit_value = o->exit_value;
        if (o->started_ms && !j->started_ms)
            j->started_ms = o->started_ms;
        j->finished_ms = gg_time_wall_ms();
        if (o->state == AJ_SUCCEEDED)
            j->progress = 100;
        j->rows_total = o->rows_total;
        j->result_bytes = o->result_bytes;
        analytics_job_set_error(j, o->error);
        json_decref(j->result);
        j->result = o->result;
        o->result = NULL;
        json_decref(j->columns);
        j->columns = o->columns;
        o->columns = NULL;
        took = j->finished_ms - j->created_ms;
        analytics_job_touch(j);
    }
    analytics_store_unlock(ctx->store);
    analytics_err e = {0};
    if (j && analytics_store_save(ctx->store, id, &e) != 0)
        gg_warn(&ctx->svc.log, "cannot write job record yet, will retry", "{s:s, s:s}", "job", id,
                "error", e.msg);
    gg_counter_add(ctx->m.finished[o->state], 1);
    gg_info(&ctx->svc.log, "job finished", "{s:s, s:s, s:s, s:I, s:I}", "job", id, "kind",
            analytics_job_kind_name(kind), "state", analytics_job_state_name(o->state), "rows",
            (json_int_t)o->rows_total, "duration_ms", (json_int_t)took);
}

/* WebHCat reads exitValue from its job state store (QueueStatusBean: JobState.getExitValue),
 * which its cleanup empties (ZooKeeperCleanup: templeton.zookeeper.cleanup.maxage, a week by
 * default), and which the launcher sets only after writing statusdir/exit
 * (LaunchMapper.writeExitValue). A SUCCEEDED controller
 * without an exitValue is decided by that file: 0 is success, anything else failure. Returns -1
 * when WebHDFS must be asked again. */
static int settle_null_exit(analytics_ctx *ctx, const char *id, analytics_remote_state *rs,
                            analytics_err *e)
{
    int code = analytics_results_exit(ctx, id, e);
    if (code < 0 && e->kind != AE_NOT_FOUND && e->kind != AE_BACKEND)
        return -1;
    rs->exit_value = code;
    if (code == 0)
        return 0;
    rs->state = AJ_FAILED;
    if (code > 0)
        snprintf(rs->failure, sizeof(rs->failure), "hive exited with status %d", code);
    else
        snprintf(rs->failure, sizeof(rs->failure),
                 "WebHCat reported success without an exit value and the statusdir holds no "
                 "exit status");
    return 0;
}

int analytics_finish_job(analytics_ctx *ctx, const char *id, const analytics_remote_state *rs,
                         analytics_err *e)
{
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    analytics_job_kind kind = j ? j->kind : AJ_QUERY;
    /* A copy, not a reference: views and records are built from the job on other threads, and
     * jansson's json_incref reads the count without an atomic load. */
    json_t *params = j && j->params ? json_deep_copy(j->params) : NULL;
    bool kill_requested = j && j->kill_requested;
    bool files = j && j->output_files;
    analytics_store_unlock(ctx->store);
    if (!j)
        return 0;
    analytics_remote_state settled = *rs;
    if (rs->state == AJ_SUCCEEDED && rs->exit_value < 0) {
        if (settle_null_exit(ctx, id, &settled, e) != 0) {
            json_decref(params);
            return -1;
        }
        rs = &settled;
    }
    outcome o = {.state = rs->state,
                 .exit_value = rs->exit_value,
                 .started_ms = rs->started_ms,
                 .rows_total = -1,
                 .result_bytes = -1};
    int rc;
    if (rs->state == AJ_SUCCEEDED)
        rc = read_success(ctx, id, kind, params, files, &o, e);
    else if (rs->state == AJ_KILLED)
        rc = (o.error = strdup(kill_requested ? "killed on request" : "killed")) ? 0 : -1;
    else
        rc = read_failure(ctx, id, rs->failure[0] ? rs->failure : "the job failed", &o, e);
    json_decref(params);
    if (rc == 0)
        apply(ctx, id, &o);
    free(o.error);
    json_decref(o.result);
    json_decref(o.columns);
    return rc;
}

int analytics_finish_orphan(analytics_ctx *ctx, const char *id, analytics_err *e)
{
    analytics_remote_state rs = {.state = AJ_FAILED, .progress = -1, .exit_value = -1};
    int code = analytics_results_exit(ctx, id, e);
    if (code < 0 && e->kind != AE_NOT_FOUND && e->kind != AE_BACKEND)
        return -1;
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    bool kill_requested = j && j->kill_requested;
    analytics_store_unlock(ctx->store);
    if (code == 0) {
        rs.state = AJ_SUCCEEDED;
        rs.exit_value = 0;
    } else if (code > 0) {
        rs.exit_value = code;
        snprintf(rs.failure, sizeof(rs.failure), "hive exited with status %d", code);
    } else if (kill_requested) {
        rs.state = AJ_KILLED;
    } else {
        snprintf(rs.failure, sizeof(rs.failure),
                 "WebHCat no longer knows this job and its statusdir holds no exit status");
    }
    return analytics_finish_job(ctx, id, &rs, e);
}

/* Whether the launcher of the job started: it creates statusdir/stdout and stderr as soon as it
 * runs (LaunchMapper's Watchers), long before the job ends. 1 yes, 0 no, -1 ask again later. */
static int launched(analytics_ctx *ctx, const char *id, analytics_err *e)
{
    static const char *const names[] = {"/status/stderr", "/status/stdout"};
    for (size_t i = 0; i < 2; i++) {
        char path[ANALYTICS_PATH_MAX + 64];
        analytics_hdfs_entry st;
        analytics_store_path(ctx->store, id, names[i], path, sizeof(path));
        if (analytics_webhdfs_stat(&ctx->backend, path, &st, e) == 0)
            return 1;
        if (e->kind != AE_NOT_FOUND)
            return -1;
    }
    return 0;
}

/* A job WebHCat does not list: still being submitted (WebHCat lists what YARN knows, and the
 * controller job reaches YARN only once WebHCat has staged it), launched but left out of the
 * list (WebHCat lists a job whose status it cannot fetch without its userargs), or never
 * submitted. Settled by its exit status once there is one; followed while the submission may
 * still be under way (twice the submission timeout), and while its launcher has left evidence of
 * life, but only for GRIDGATE_UNLISTED_GRACE_MS from its creation: a job WebHCat never lists
 * cannot be polled, killed or told apart from one whose launcher died; failed otherwise. */
static int not_listed(analytics_ctx *ctx, const char *id, analytics_err *e)
{
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    int64_t created = j ? j->created_ms : 0;
    analytics_store_unlock(ctx->store);
    if (!j)
        return 0;
    int code = analytics_results_exit(ctx, id, e);
    if (code >= 0)
        return analytics_finish_orphan(ctx, id, e);
    if (e->kind != AE_NOT_FOUND && e->kind != AE_BACKEND)
        return -1;
    int64_t age = gg_time_wall_ms() - created;
    int alive = age < 2 * (int64_t)ctx->cfg.submit_timeout_ms ? 1 : launched(ctx, id, e);
    if (alive > 0 && age < ctx->cfg.unlisted_grace_ms) {
        analytics_err_set(e, AE_NOT_FOUND, "webhcat", 0,
                          "WebHCat does not list the job yet; looking again");
        return -1;
    }
    if (alive < 0)
        return -1;
    analytics_remote_state rs = {.state = AJ_FAILED, .progress = -1, .exit_value = -1};
    if (alive > 0)
        snprintf(rs.failure, sizeof(rs.failure),
                 "WebHCat has not listed this job for %lld s although its launcher started (its "
                 "statusdir has stdout or stderr): given up after the grace period "
                 "(GRIDGATE_UNLISTED_GRACE_MS), the job's outcome is unknown",
                 (long long)(age / 1000));
    else
        snprintf(rs.failure, sizeof(rs.failure),
                 "the service stopped while submitting this job and WebHCat has no job with its "
                 "statusdir");
    return analytics_finish_job(ctx, id, &rs, e);
}

int analytics_finish_recover(analytics_ctx *ctx, const char *id, analytics_err *e)
{
    char statusdir[ANALYTICS_PATH_MAX + 64], wid[96];
    analytics_store_path(ctx->store, id, "/status", statusdir, sizeof(statusdir));
    if (analytics_webhcat_find(&ctx->backend, statusdir, ctx->cfg.submit_timeout_ms, wid,
                               sizeof(wid), e) == 0) {
        analytics_store_lock(ctx->store);
        analytics_job *j = analytics_store_find(ctx->store, id);
        if (j) {
            snprintf(j->webhcat_id, sizeof(j->webhcat_id), "%s", wid);
            if (!j->submitted_ms)
                j->submitted_ms = gg_time_wall_ms();
            analytics_job_touch(j);
        }
        analytics_store_unlock(ctx->store);
        gg_info(&ctx->svc.log, "job found again by its statusdir", "{s:s, s:s}", "job", id,
                "webhcat_job", wid);
        analytics_store_save(ctx->store, id, e);
        return 0;
    }
    if (e->kind != AE_NOT_FOUND)
        return -1;
    return not_listed(ctx, id, e);
}
