/* analytics_results: reading a job's statusdir (see analytics_results.h). */
#include "analytics_results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_rows.h"
#include "analytics_script.h"
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

/* Where a job's rows are: one stdout, or the result files in name order, read as one stream
 * (a file starts at the byte where the one before it ends). */
typedef struct part {
    char *path;
    int64_t start, len; /* len -1: unknown (stdout) */
} part;

typedef struct source {
    bool escaped;
    part *parts;
    size_t n;
} source;

static void source_free(source *src)
{
    for (size_t i = 0; i < src->n; i++)
        free(src->parts[i].path);
    free(src->parts);
    memset(src, 0, sizeof(*src));
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const part *)a)->path, ((const part *)b)->path);
}

/* Lists <id>/result: Hive writes one file per writing task (000000_0, ...); names starting with
 * '_' or '.' are markers and temporaries, not rows. A missing directory holds no rows. */
static int list_parts(analytics_ctx *ctx, const char *id, source *src, analytics_err *e)
{
    char dir[ANALYTICS_PATH_MAX + 64];
    analytics_store_path(ctx->store, id, "/result", dir, sizeof(dir));
    analytics_hdfs_list l;
    if (analytics_webhdfs_list(&ctx->backend, dir, &l, e) != 0)
        return e->kind == AE_NOT_FOUND ? 0 : -1;
    src->parts = calloc(l.count + 1, sizeof(part));
    for (size_t i = 0; src->parts && i < l.count; i++) {
        const analytics_hdfs_entry *x = &l.items[i];
        if (x->is_dir || !x->name[0] || x->name[0] == '_' || x->name[0] == '.' || x->length <= 0)
            continue;
        gg_buf b = {0};
        gg_buf_printf(&b, "%s/%s", dir, x->name);
        part *pt = &src->parts[src->n];
        if (!(pt->path = gg_buf_take(&b, NULL)))
            break;
        pt->len = x->length;
        src->n++;
    }
    analytics_hdfs_list_free(&l);
    qsort(src->parts, src->n, sizeof(part), by_path);
    for (size_t i = 1; i < src->n; i++)
        src->parts[i].start = src->parts[i - 1].start + src->parts[i - 1].len;
    if (!src->parts) {
        analytics_err_set(e, AE_INTERNAL, "webhdfs", 0, "out of memory listing %s", dir);
        return -1;
    }
    return 0;
}

static int source_open(analytics_ctx *ctx, const char *id, source *src, analytics_err *e)
{
    memset(src, 0, sizeof(*src));
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    src->escaped = j && j->output_files;
    analytics_store_unlock(ctx->store);
    if (src->escaped)
        return list_parts(ctx, id, src, e);
    char path[ANALYTICS_PATH_MAX + 64];
    stdout_path(ctx, id, path, sizeof(path));
    src->parts = calloc(1, sizeof(part));
    if (!src->parts || !(src->parts[0].path = strdup(path))) {
        analytics_err_set(e, AE_INTERNAL, "webhdfs", 0, "out of memory");
        return -1;
    }
    src->parts[0].len = -1;
    src->n = 1;
    return 0;
}

/* Feeds the pager the source's bytes from byte `from` on, file after file, until it stops. */
static int source_read(analytics_ctx *ctx, const source *src, int64_t from, analytics_pager *p,
                       analytics_err *e)
{
    for (size_t i = 0; i < src->n; i++) {
        const part *pt = &src->parts[i];
        if (pt->len >= 0 && pt->start + pt->len <= from)
            continue;
        int64_t off = from > pt->start ? from - pt->start : 0;
        if (analytics_webhdfs_read(&ctx->backend, pt->path, off, -1, analytics_pager_feed, p, e) !=
            0)
            return !src->escaped && e->kind == AE_NOT_FOUND ? 0 : -1; /* no SELECT, no stdout */
        if (p->failed || (p->more && !p->count_all))
            return 0;           /* the page is complete */
        analytics_pager_end(p); /* a file ends its last row */
    }
    return 0;
}

/* A pager reading job id's rows from its nearest remembered offset at or before `first`. */
static void pager_for(analytics_ctx *ctx, const char *id, const source *src, int64_t first,
                      size_t want, marker *m, analytics_pager *p, int64_t *from)
{
    int64_t row, byte;
    nearest(ctx, id, first, &row, &byte);
    analytics_pager_init(p, row, byte, first, want);
    p->escaped = src->escaped;
    p->stride = ANALYTICS_CK_STRIDE;
    p->mark = remember;
    p->mark_ud = m;
    *from = byte;
}

int analytics_results_page(analytics_ctx *ctx, const char *id, const analytics_page *page,
                           analytics_rows_page *out, analytics_err *e)
{
    memset(out, 0, sizeof(*out));
    source src;
    if (source_open(ctx, id, &src, e) != 0)
        return -1;
    analytics_pager p;
    marker m = {ctx, id};
    int64_t from;
    pager_for(ctx, id, &src, page->offset, (size_t)page->limit, &m, &p, &from);
    int rc = source_read(ctx, &src, from, &p, e);
    if (rc == 0 && p.failed) {
        analytics_err_set(e, AE_INTERNAL, "webhdfs", 0, "out of memory paging job %s", id);
        rc = -1;
    }
    if (rc == 0) {
        out->rows = json_incref(p.rows);
        out->more = p.more;
        out->cut = p.cut;
    }
    analytics_pager_free(&p);
    source_free(&src);
    return rc;
}

int analytics_results_scan(analytics_ctx *ctx, const char *id, size_t keep, json_t **rows,
                           int64_t *total, int64_t *bytes, analytics_err *e)
{
    source src;
    if (source_open(ctx, id, &src, e) != 0)
        return -1;
    analytics_pager p;
    marker m = {ctx, id};
    int64_t from;
    pager_for(ctx, id, &src, 0, keep, &m, &p, &from);
    p.count_all = true;
    int rc = source_read(ctx, &src, 0, &p, e);
    if (rc == 0 && p.failed) {
        analytics_err_set(e, AE_INTERNAL, "webhdfs", 0, "out of memory reading job %s", id);
        rc = -1;
    }
    *total = analytics_pager_rows_seen(&p);
    *bytes = p.byte;
    if (rows)
        *rows = rc == 0 ? json_incref(p.rows) : NULL;
    analytics_pager_free(&p);
    source_free(&src);
    return rc;
}

/* Keeps the columns of the last DESCRIBE line among the lines streamed through it. */
typedef struct columns_sink {
    gg_buf line;
    bool overlong; /* the current line passed the cap: not DESCRIBE's */
    json_t *columns;
} columns_sink;

static void columns_line(columns_sink *cs)
{
    const char *text = gg_buf_str(&cs->line);
    json_t *c = text && !cs->overlong ? analytics_script_columns(text, cs->line.len) : NULL;
    if (c) {
        json_decref(cs->columns);
        cs->columns = c;
    }
    cs->line.len = 0;
    cs->overlong = false;
}

static size_t columns_feed(const char *data, size_t len, void *ud)
{
    columns_sink *cs = ud;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : len - i;
        if (cs->line.len + n > ANALYTICS_LINE_MAX)
            cs->overlong = true;
        else
            gg_buf_append(&cs->line, data + i, n);
        i += n;
        if (nl) {
            columns_line(cs);
            i++;
        }
    }
    return cs->line.failed ? 0 : len;
}

int analytics_results_columns(analytics_ctx *ctx, const char *id, json_t **columns,
                              analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    stdout_path(ctx, id, path, sizeof(path));
    columns_sink cs = {0};
    int rc = analytics_webhdfs_read(&ctx->backend, path, 0, -1, columns_feed, &cs, e);
    if (rc != 0 && e->kind == AE_NOT_FOUND)
        rc = 0;
    if (rc == 0)
        columns_line(&cs);
    *columns = rc == 0 ? cs.columns : NULL;
    if (rc != 0)
        json_decref(cs.columns);
    gg_buf_free(&cs.line);
    return rc;
}

static size_t collect_sink(const char *data, size_t len, void *ud)
{
    gg_buf *b = ud;
    gg_buf_append(b, data, len);
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
    gg_buf raw = {0};
    char *out = NULL;
    if (analytics_webhdfs_read(&ctx->backend, path, from, (int64_t)max, collect_sink, &raw, e) == 0)
        out = analytics_rows_text(raw.data ? raw.data : "", raw.len);
    gg_buf_free(&raw);
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
