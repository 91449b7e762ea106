/* analytics_results: reading a job's statusdir (see analytics_results.h). */
#include "analytics_results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_rows.h"
#include "analytics_validate.h"
#include "analytics_webhdfs.h"

typedef struct marker {
    analytics_ctx *ctx;
    const char *id;
} marker;

/* Remembers that row `row` starts at `byte`, when it extends the known prefix of offsets. */
static void remember(void *ud, int64_t row, int64_t byte)
{
    marker *m = ud;
    size_t k = (size_t)(row / ANALYTICS_CK_STRIDE);
    if (row == 0 || k > ANALYTICS_CK_MAX)
        return;
    analytics_store_lock(m->ctx->store);
    analytics_job *j = analytics_store_find(m->ctx->store, m->id);
    if (j && j->ncheckpoints == k - 1) {
        if (!j->checkpoints)
            j->checkpoints = calloc(ANALYTICS_CK_MAX, sizeof(*j->checkpoints));
        if (j->checkpoints)
            j->checkpoints[j->ncheckpoints++] = byte;
    }
    analytics_store_unlock(m->ctx->store);
}

/* The nearest remembered row at or before `row`, and its byte offset. */
static void nearest(analytics_ctx *ctx, const char *id, int64_t row, int64_t *at_row,
                    int64_t *at_byte)
{
    *at_row = 0;
    *at_byte = 0;
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    size_t k = (size_t)(row / ANALYTICS_CK_STRIDE);
    if (j && k > 0 && j->ncheckpoints > 0) {
        if (k > j->ncheckpoints)
            k = j->ncheckpoints;
        *at_row = (int64_t)k * ANALYTICS_CK_STRIDE;
        *at_byte = j->checkpoints[k - 1];
    }
    analytics_store_unlock(ctx->store);
}

static void stdout_path(analytics_ctx *ctx, const char *id, char *out, size_t outlen)
{
    analytics_store_path(ctx->store, id, "/status/stdout", out, outlen);
}

int analytics_results_page(analytics_ctx *ctx, const char *id, const analytics_page *page,
                           analytics_rows_page *out, analytics_err *e)
{
    memset(out, 0, sizeof(*out));
    char path[ANALYTICS_PATH_MAX + 64];
    stdout_path(ctx, id, path, sizeof(path));
    int64_t row, byte;
    nearest(ctx, id, page->offset, &row, &byte);
    analytics_pager p;
    analytics_pager_init(&p, row, byte, page->offset, (size_t)page->limit);
    marker m = {ctx, id};
    p.stride = ANALYTICS_CK_STRIDE;
    p.mark = remember;
    p.mark_ud = &m;
    int rc = analytics_webhdfs_read(&ctx->backend, path, byte, -1, analytics_pager_feed, &p, e);
    if (rc != 0 && e->kind == AE_NOT_FOUND)
        rc = 0; /* a script without a SELECT prints nothing */
    else if (rc == 0 && !p.more)
        analytics_pager_end(&p);
    if (rc == 0 && p.failed) {
        analytics_err_set(e, AE_INTERNAL, "webhdfs", 0, "out of memory paging %s", path);
        rc = -1;
    }
    if (rc == 0) {
        out->rows = json_incref(p.rows);
        out->more = p.more;
        out->cut = p.cut;
    }
    analytics_pager_free(&p);
    return rc;
}

int analytics_results_scan(analytics_ctx *ctx, const char *id, size_t keep, json_t **rows,
                           int64_t *total, int64_t *bytes, analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    stdout_path(ctx, id, path, sizeof(path));
    analytics_pager p;
    analytics_pager_init(&p, 0, 0, 0, keep);
    marker m = {ctx, id};
    p.count_all = true;
    p.stride = ANALYTICS_CK_STRIDE;
    p.mark = remember;
    p.mark_ud = &m;
    int rc = analytics_webhdfs_read(&ctx->backend, path, 0, -1, analytics_pager_feed, &p, e);
    if (rc != 0 && e->kind == AE_NOT_FOUND)
        rc = 0;
    else if (rc == 0)
        analytics_pager_end(&p);
    if (rc == 0 && p.failed) {
        analytics_err_set(e, AE_INTERNAL, "webhdfs", 0, "out of memory reading %s", path);
        rc = -1;
    }
    *total = analytics_pager_rows_seen(&p);
    *bytes = p.byte;
    if (rows)
        *rows = rc == 0 ? json_incref(p.rows) : NULL;
    analytics_pager_free(&p);
    return rc;
}

static size_t collect_sink(const char *data, size_t len, void *ud)
{
    analytics_buf *b = ud;
    analytics_buf_append(b, data, len);
    return b->failed ? 0 : len;
}

char *analytics_results_stderr_tail(analytics_ctx *ctx, const char *id, size_t max,
                                    analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    analytics_store_path(ctx->store, id, "/status/stderr", path, sizeof(path));
    analytics_hdfs_entry st;
    if (analytics_webhdfs_stat(&ctx->backend, path, &st, e) != 0)
        return e->kind == AE_NOT_FOUND ? strdup("") : NULL;
    int64_t from = st.length > (int64_t)max ? st.length - (int64_t)max : 0;
    analytics_buf raw = {0};
    char *out = NULL;
    if (analytics_webhdfs_read(&ctx->backend, path, from, (int64_t)max, collect_sink, &raw, e) == 0)
        out = analytics_rows_text(raw.data ? raw.data : "", raw.len);
    analytics_buf_free(&raw);
    return out;
}

int analytics_results_exit(analytics_ctx *ctx, const char *id, analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    analytics_store_path(ctx->store, id, "/status/exit", path, sizeof(path));
    char *text = NULL;
    size_t len = 0;
    if (analytics_webhdfs_read_all(&ctx->backend, path, 64, &text, &len, e) != 0)
        return -1;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    bool ok = end != text && v >= 0 && v < 256;
    free(text);
    if (!ok) {
        analytics_err_set(e, AE_BACKEND, "webhdfs", 200, "%s holds no exit status", path);
        return -1;
    }
    return (int)v;
}
