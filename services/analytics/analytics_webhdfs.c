/* analytics_webhdfs: WebHDFS over analytics_backend (see analytics_webhdfs.h). */
#include "analytics_webhdfs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_buf.h"

#define WEBHDFS "webhdfs"

/* base + escaped path + "?op=OP&user.name=..." + extra (already encoded, or NULL). */
static char *hdfs_url(const analytics_backend *b, const char *path, const char *op,
                      const char *extra)
{
    gg_buf u = {0};
    gg_buf_puts(&u, b->webhdfs_url);
    gg_buf_url_escape(&u, path, true);
    gg_buf_printf(&u, "?op=%s&user.name=", op);
    gg_buf_url_escape(&u, b->user, false);
    if (extra)
        gg_buf_puts(&u, extra);
    return gg_buf_take(&u, NULL);
}

/* Performs call on url (which it frees); answers outside 2xx become errors in e. */
static int hdfs_call(const analytics_backend *b, analytics_call *call, char *url, analytics_resp *r,
                     analytics_err *e)
{
    if (!url) {
        memset(r, 0, sizeof(*r));
        analytics_err_set(e, AE_INTERNAL, WEBHDFS, 0, "out of memory");
        return -1;
    }
    call->url = url;
    int rc = analytics_backend_call(b, AB_WEBHDFS, call, r, e);
    free(url);
    if (rc == 0 && (r->status < 200 || r->status >= 300) && r->status != 307) {
        analytics_backend_fail(AB_WEBHDFS, r, e);
        rc = -1;
    }
    return rc;
}

int analytics_webhdfs_probe(void *ud, char *err, size_t errlen)
{
    analytics_hdfs_entry root;
    analytics_err e = {0};
    if (analytics_webhdfs_stat(ud, "/", &root, &e) != 0) {
        snprintf(err, errlen, "%s", e.msg);
        return -1;
    }
    return 0;
}

static int parse_status(json_t *fs, analytics_hdfs_entry *out)
{
    const char *suffix = json_string_value(json_object_get(fs, "pathSuffix"));
    const char *type = json_string_value(json_object_get(fs, "type"));
    json_t *len = json_object_get(fs, "length"), *mtime = json_object_get(fs, "modificationTime");
    if (!suffix || !type || !json_is_integer(len) || !json_is_integer(mtime) ||
        strlen(suffix) >= sizeof(out->name))
        return -1;
    snprintf(out->name, sizeof(out->name), "%s", suffix);
    out->is_dir = strcmp(type, "DIRECTORY") == 0;
    out->length = json_integer_value(len);
    out->mtime = json_integer_value(mtime);
    return 0;
}

int analytics_webhdfs_list(const analytics_backend *b, const char *path, analytics_hdfs_list *out,
                           analytics_err *e)
{
    memset(out, 0, sizeof(*out));
    analytics_call call = {.method = "GET", .max_body = 64 * 1024 * 1024};
    analytics_resp r;
    int rc = hdfs_call(b, &call, hdfs_url(b, path, "LISTSTATUS", NULL), &r, e);
    json_t *j = rc == 0 ? analytics_backend_json(AB_WEBHDFS, &r, e) : NULL;
    json_t *arr = json_object_get(json_object_get(j, "FileStatuses"), "FileStatus");
    if (rc == 0 && j && !json_is_array(arr))
        analytics_err_set(e, AE_BACKEND, WEBHDFS, r.status, "LISTSTATUS gave no FileStatus list");
    if (json_is_array(arr)) {
        out->items = calloc(json_array_size(arr) + 1, sizeof(*out->items));
        size_t i;
        json_t *fs;
        json_array_foreach(arr, i, fs)
        {
            if (out->items && parse_status(fs, &out->items[out->count]) == 0)
                out->count++;
        }
        if (!out->items)
            analytics_err_set(e, AE_INTERNAL, WEBHDFS, 0, "out of memory");
    }
    rc = out->items ? 0 : -1;
    json_decref(j);
    analytics_resp_free(&r);
    return rc;
}

void analytics_hdfs_list_free(analytics_hdfs_list *l)
{
    free(l->items);
    memset(l, 0, sizeof(*l));
}

int analytics_webhdfs_stat(const analytics_backend *b, const char *path, analytics_hdfs_entry *out,
                           analytics_err *e)
{
    analytics_call call = {.method = "GET"};
    analytics_resp r;
    int rc = hdfs_call(b, &call, hdfs_url(b, path, "GETFILESTATUS", NULL), &r, e);
    json_t *j = rc == 0 ? analytics_backend_json(AB_WEBHDFS, &r, e) : NULL;
    if (rc == 0 && !j)
        rc = -1;
    if (j && parse_status(json_object_get(j, "FileStatus"), out) != 0) {
        analytics_err_set(e, AE_BACKEND, WEBHDFS, r.status, "GETFILESTATUS gave no FileStatus");
        rc = -1;
    }
    json_decref(j);
    analytics_resp_free(&r);
    return rc;
}

int analytics_webhdfs_read(const analytics_backend *b, const char *path, int64_t offset,
                           int64_t length, analytics_sink sink, void *ud, analytics_err *e)
{
    char extra[64];
    int n = snprintf(extra, sizeof(extra), "&offset=%" PRId64, offset > 0 ? offset : 0);
    if (length >= 0)
        snprintf(extra + n, sizeof(extra) - (size_t)n, "&length=%" PRId64, length);
    analytics_call call = {.method = "GET", .follow = true, .sink = sink, .sink_ud = ud};
    analytics_resp r;
    int rc = hdfs_call(b, &call, hdfs_url(b, path, "OPEN", extra), &r, e);
    analytics_resp_free(&r);
    return rc;
}

typedef struct whole_file {
    gg_buf buf;
    size_t max;
    bool too_big;
} whole_file;

static size_t whole_sink(const char *data, size_t len, void *ud)
{
    whole_file *w = ud;
    if (w->buf.len + len > w->max) {
        w->too_big = true;
        return 0;
    }
    gg_buf_append(&w->buf, data, len);
    return w->buf.failed ? 0 : len;
}

int analytics_webhdfs_read_all(const analytics_backend *b, const char *path, size_t max, char **out,
                               size_t *len, analytics_err *e)
{
    whole_file w = {.max = max};
    int rc = analytics_webhdfs_read(b, path, 0, -1, whole_sink, &w, e);
    if (rc == 0 && (w.too_big || w.buf.failed)) {
        analytics_err_set(e, w.too_big ? AE_BACKEND : AE_INTERNAL, WEBHDFS, 200,
                          w.too_big ? "%s is larger than %zu bytes" : "out of memory reading %s",
                          path, max);
        rc = -1;
    }
    *len = w.buf.len;
    *out = rc == 0 ? gg_buf_take(&w.buf, NULL) : NULL;
    gg_buf_free(&w.buf);
    if (rc == 0 && !*out) {
        analytics_err_set(e, AE_INTERNAL, WEBHDFS, 0, "out of memory");
        rc = -1;
    }
    return rc;
}

/* CREATE in the documented two steps; with overwrite false, an existing file answers 403
 * (FileAlreadyExistsException, from the DataNode step on HDFS): *exists is then set. */
static int create(const analytics_backend *b, const char *path, const char *data, size_t len,
                  bool overwrite, bool *exists, analytics_err *e)
{
    /* Step 1: the NameNode names the DataNode; no data is sent before the redirect. */
    analytics_call call = {.method = "PUT"};
    analytics_resp r;
    int rc = hdfs_call(
        b, &call, hdfs_url(b, path, "CREATE", overwrite ? "&overwrite=true" : "&overwrite=false"),
        &r, e);
    if (rc != 0 && !overwrite && r.status == 403)
        *exists = true;
    if (rc == 0 && (r.status != 307 || !r.location)) {
        analytics_err_set(e, AE_BACKEND, WEBHDFS, r.status,
                          "CREATE answered HTTP %ld instead of a redirect", r.status);
        rc = -1;
    }
    char *target = rc == 0 ? strdup(r.location) : NULL;
    analytics_resp_free(&r);
    if (rc != 0)
        return -1;
    /* Step 2: the bytes go to the DataNode, which answers 201 Created. */
    analytics_call put = {
        .method = "PUT", .body = data, .body_len = len, .content_type = "application/octet-stream"};
    rc = hdfs_call(b, &put, target, &r, e);
    if (rc != 0 && !overwrite && r.status == 403)
        *exists = true;
    if (rc == 0 && r.status != 201 && r.status != 200) {
        analytics_err_set(e, AE_BACKEND, WEBHDFS, r.status, "DataNode answered HTTP %ld to CREATE",
                          r.status);
        rc = -1;
    }
    analytics_resp_free(&r);
    return rc;
}

int analytics_webhdfs_write(const analytics_backend *b, const char *path, const char *data,
                            size_t len, analytics_err *e)
{
    bool exists = false;
    return create(b, path, data, len, true, &exists, e);
}

int analytics_webhdfs_replace(const analytics_backend *b, const char *path, const char *tmp,
                              const char *data, size_t len, analytics_err *e)
{
    bool exists = false;
    if (create(b, tmp, data, len, true, &exists, e) != 0)
        return -1;
    gg_buf extra = {0};
    gg_buf_puts(&extra, "&renameoptions=OVERWRITE&destination=");
    gg_buf_url_escape(&extra, path, true);
    char *q = gg_buf_take(&extra, NULL);
    analytics_call call = {.method = "PUT"};
    analytics_resp r;
    int rc = q ? hdfs_call(b, &call, hdfs_url(b, tmp, "RENAME", q), &r, e) : -1;
    if (!q)
        analytics_err_set(e, AE_INTERNAL, WEBHDFS, 0, "out of memory");
    else
        analytics_resp_free(&r);
    free(q);
    gg_buf_free(&extra);
    return rc;
}

int analytics_webhdfs_create_new(const analytics_backend *b, const char *path, const char *data,
                                 size_t len, analytics_err *e)
{
    bool exists = false;
    int rc = create(b, path, data, len, false, &exists, e);
    return rc == 0 ? 0 : exists ? 1 : -1;
}

int analytics_webhdfs_touch(const analytics_backend *b, const char *path, int64_t mtime_ms,
                            analytics_err *e)
{
    char extra[64];
    snprintf(extra, sizeof(extra), "&modificationtime=%" PRId64 "&accesstime=-1", mtime_ms);
    analytics_call call = {.method = "PUT"};
    analytics_resp r;
    int rc = hdfs_call(b, &call, hdfs_url(b, path, "SETTIMES", extra), &r, e);
    analytics_resp_free(&r);
    return rc;
}

int analytics_webhdfs_delete(const analytics_backend *b, const char *path, analytics_err *e)
{
    analytics_call call = {.method = "DELETE"};
    analytics_resp r;
    int rc = hdfs_call(b, &call, hdfs_url(b, path, "DELETE", "&recursive=true"), &r, e);
    analytics_resp_free(&r);
    if (rc != 0 && e->kind == AE_NOT_FOUND)
        return 0;
    return rc;
}
