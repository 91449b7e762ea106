/* analytics_webhcat: WebHCat v1 over analytics_backend (see analytics_webhcat.h). */
#include "analytics_webhcat.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_buf.h"

#define WEBHCAT "webhcat"

int analytics_webhcat_id_ok(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        if (n >= 95 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n > 0;
}

/* base + path + "?user.name=..." + extra ("&a=b..." already encoded, or NULL). */
static char *webhcat_url(const analytics_backend *b, const char *path, const char *extra)
{
    gg_buf u = {0};
    gg_buf_puts(&u, b->webhcat_url);
    gg_buf_puts(&u, path);
    gg_buf_puts(&u, "?user.name=");
    gg_buf_url_escape(&u, b->user, false);
    if (extra)
        gg_buf_puts(&u, extra);
    return gg_buf_take(&u, NULL);
}

/* What a failed call's answer was. WebHCat answers its own errors with a JSON object
 * {"error": ...} (SimpleWebException.buildMessage, for its BadParam, NotAuthorized, ... and for
 * CatchallExceptionMapper's 404 and 500); a reverse proxy, a gateway or a server that is not
 * WebHCat (a wrong base URL) answers with HTML, or nothing. */
typedef struct webhcat_failure {
    bool own;  /* the body is WebHCat's {"error": ...} */
    bool gone; /* and it is 400 "Could not find job ...": the job is unknown to WebHCat */
} webhcat_failure;

static void classify(const analytics_resp *r, webhcat_failure *f)
{
    json_t *j = r->body && !r->truncated ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(j, "error"));
    f->own = msg != NULL;
    /* StatusDelegator.makeStatus throws BadParam("Could not find job " + jobid) when neither
     * YARN nor the history server has the job. */
    f->gone = msg && r->status == 400 && strncmp(msg, "Could not find job", 18) == 0;
    json_decref(j);
}

/* One call; on success *out holds the answer's JSON object. f (may be NULL) says what a
 * failed answer was. */
static int webhcat_call(const analytics_backend *b, const char *method, const char *path,
                        const char *extra, const char *form, long timeout_ms, json_t **out,
                        analytics_err *e, webhcat_failure *f)
{
    char *url = webhcat_url(b, path, extra);
    if (!url) {
        analytics_err_set(e, AE_INTERNAL, WEBHCAT, 0, "out of memory");
        return -1;
    }
    analytics_call call = {
        .method = method,
        .url = url,
        .body = form,
        .body_len = form ? strlen(form) : 0,
        .content_type = form ? "application/x-www-form-urlencoded" : NULL,
        .max_body = 16 * 1024 * 1024,
        .timeout_ms = timeout_ms,
    };
    analytics_resp r;
    int rc = analytics_backend_call(b, AB_WEBHCAT, &call, &r, e);
    free(url);
    if (rc == 0 && (r.status < 200 || r.status >= 300)) {
        analytics_backend_fail(AB_WEBHCAT, &r, e);
        if (f)
            classify(&r, f);
        rc = -1;
    } else if (rc == 0) {
        *out = analytics_backend_json(AB_WEBHCAT, &r, e);
        rc = *out ? 0 : -1;
    }
    analytics_resp_free(&r);
    return rc;
}

int analytics_webhcat_probe(void *ud, char *err, size_t errlen)
{
    const analytics_backend *b = ud;
    analytics_err e = {0};
    json_t *j = NULL;
    if (webhcat_call(b, "GET", "/status", NULL, NULL, 0, &j, &e, NULL) != 0) {
        snprintf(err, errlen, "%s", e.msg);
        return -1;
    }
    const char *s = json_string_value(json_object_get(j, "status"));
    int rc = s && strcmp(s, "ok") == 0 ? 0 : -1;
    if (rc)
        snprintf(err, errlen, "WebHCat status is not ok");
    json_decref(j);
    return rc;
}

static int take_id(json_t *j, const char *key, char *id, size_t idlen, analytics_err *e)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (!v || !analytics_webhcat_id_ok(v) || strlen(v) >= idlen) {
        analytics_err_set(e, AE_BACKEND, WEBHCAT, 200, "WebHCat answered without a usable job id");
        return -1;
    }
    snprintf(id, idlen, "%s", v);
    return 0;
}

/* The job's text between a guard's creation and its removal. Hadoop retries a failed launcher
 * task (mapreduce.map.maxattempts of the launcher job, 4 by default, taken from WebHCat's own
 * configuration: `define` only reaches hive's --hiveconf, and TempletonControllerJob turns off
 * speculative execution alone), and LaunchMapper then runs the whole command again: a raw
 * query's INSERTs would run twice. A retried attempt stops at the guard, which the first one
 * created (CREATE VIEW without IF NOT EXISTS fails on an existing view), and the job fails
 * instead. The guard is named after the statusdir, unique per job. An attempt that fails
 * after hive ended still runs again (the guard is gone by then), and a job that fails leaves
 * its guard behind; mapreduce.map.maxattempts=1 in webhcat-site.xml avoids both
 * (docs/DEPLOYMENT.md). */
static char *guarded(const char *hiveql, const char *statusdir)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)statusdir; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    char view[64];
    /* In `default` whatever database the caller's statements USE, so the DROP finds it. */
    snprintf(view, sizeof(view), "default.gridgate_once_%016llx", (unsigned long long)h);
    gg_buf q = {0};
    gg_buf_printf(&q,
                  "-- gridgate: a launcher attempt Hadoop retries stops here, not running the "
                  "job twice\nCREATE VIEW %s AS SELECT 1;\n",
                  view);
    gg_buf_puts(&q, hiveql);
    /* A line break ends a trailing comment, ';' the last statement (an empty one is skipped). */
    gg_buf_printf(&q, "\n;\nDROP VIEW %s;\n", view);
    return gg_buf_take(&q, NULL);
}

char *analytics_webhcat_unguard(const char *script)
{
    static const char head[] = "-- gridgate: a launcher attempt Hadoop retries stops here";
    static const char drop[] = "\n;\nDROP VIEW default.gridgate_once_";
    const char *body = NULL, *end = NULL;
    if (strncmp(script, head, sizeof(head) - 1) == 0) {
        const char *create = strchr(script, '\n');
        body = create ? strchr(create + 1, '\n') : NULL; /* past the CREATE VIEW line */
        for (const char *p = body; p && (p = strstr(p, drop)) != NULL; p++)
            end = p; /* the last one: the caller's text may hold the same words */
    }
    if (!body || !end || end < body + 1)
        return strdup(script); /* not one of ours, or submitted before the guard existed */
    return strndup(body + 1, (size_t)(end - body - 1));
}

int analytics_webhcat_submit(const analytics_backend *b, const char *hiveql, const char *statusdir,
                             const char *define, long timeout_ms, char *id, size_t idlen,
                             analytics_err *e)
{
    gg_buf form = {0};
    char *script = guarded(hiveql, statusdir);
    gg_buf_form(&form, "user.name", b->user);
    gg_buf_form(&form, "execute", script ? script : "");
    free(script);
    if (!script)
        form.failed = true;
    gg_buf_form(&form, "statusdir", statusdir);
    if (define)
        gg_buf_form(&form, "define", define);
    if (b->hive_jdbc_url) {
        /* HiveDelegator puts each `arg` on the command line before -e, where Beeline reads its
         * connection options. */
        gg_buf_form(&form, "arg", "-u");
        gg_buf_form(&form, "arg", b->hive_jdbc_url);
        gg_buf_form(&form, "arg", "-n");
        gg_buf_form(&form, "arg", b->user);
    }
    if (!gg_buf_str(&form)) {
        analytics_err_set(e, AE_INTERNAL, WEBHCAT, 0, "out of memory");
        return -1;
    }
    json_t *j = NULL;
    webhcat_failure f = {0};
    int rc = webhcat_call(b, "POST", "/hive", NULL, gg_buf_str(&form), timeout_ms, &j, e, &f);
    gg_buf_free(&form);
    /* A gateway that gave up waiting (502, 504) or a 500 that is not WebHCat's own error may
     * come after WebHCat queued the job: the submission is unconfirmed, not refused. */
    if (rc != 0 && e->kind == AE_BACKEND &&
        (e->status == 502 || e->status == 504 || (e->status == 500 && !f.own))) {
        e->kind = AE_UNREACHABLE;
        e->uncertain = true;
    }
    if (rc == 0)
        rc = take_id(j, "id", id, idlen, e);
    json_decref(j);
    return rc;
}

/* Only WebHCat's own "Could not find job" says a job is gone (AE_NOT_FOUND). Any other failure
 * may pass: a 404 or 400 of a proxy or of a wrong base URL, a 500, an answer of another shape.
 * A 4xx that is WebHCat's own error stays AE_REJECTED (e.g. 401 "No user found"). */
static int job_failure(int rc, const webhcat_failure *f, analytics_err *e)
{
    if (rc == 0 || e->kind == AE_INTERNAL || e->kind == AE_UNREACHABLE)
        return rc;
    if (f->gone)
        e->kind = AE_NOT_FOUND;
    else if (e->kind == AE_NOT_FOUND || (e->kind == AE_REJECTED && !f->own))
        e->kind = AE_BACKEND;
    return rc;
}

int analytics_webhcat_job(const analytics_backend *b, const char *id, json_t **out,
                          analytics_err *e)
{
    char path[128];
    if (!analytics_webhcat_id_ok(id)) {
        analytics_err_set(e, AE_NOT_FOUND, WEBHCAT, 0, "malformed WebHCat job id");
        return -1;
    }
    snprintf(path, sizeof(path), "/jobs/%s", id);
    webhcat_failure f = {0};
    return job_failure(webhcat_call(b, "GET", path, NULL, NULL, 0, out, e, &f), &f, e);
}

int analytics_webhcat_kill(const analytics_backend *b, const char *id, long timeout_ms,
                           analytics_err *e)
{
    char path[128];
    if (!analytics_webhcat_id_ok(id)) {
        analytics_err_set(e, AE_NOT_FOUND, WEBHCAT, 0, "malformed WebHCat job id");
        return -1;
    }
    snprintf(path, sizeof(path), "/jobs/%s", id);
    json_t *j = NULL;
    webhcat_failure f = {0};
    int rc = job_failure(webhcat_call(b, "DELETE", path, NULL, NULL, timeout_ms, &j, e, &f), &f, e);
    json_decref(j);
    return rc;
}

/* GET jobs answers a JSON array, which webhcat_call does not accept: read it here. */
json_t *analytics_webhcat_list(const analytics_backend *b, long timeout_ms, analytics_err *e)
{
    char *url = webhcat_url(b, "/jobs", "&fields=*");
    if (!url) {
        analytics_err_set(e, AE_INTERNAL, WEBHCAT, 0, "out of memory");
        return NULL;
    }
    analytics_call call = {
        .method = "GET", .url = url, .max_body = 64 * 1024 * 1024, .timeout_ms = timeout_ms};
    analytics_resp r;
    json_t *list = NULL;
    if (analytics_backend_call(b, AB_WEBHCAT, &call, &r, e) == 0) {
        if (r.status < 200 || r.status >= 300)
            analytics_backend_fail(AB_WEBHCAT, &r, e);
        else if (!(list = r.body ? json_loadb(r.body, r.len, 0, NULL) : NULL) ||
                 !json_is_array(list)) {
            json_decref(list);
            list = NULL;
            analytics_err_set(e, AE_BACKEND, WEBHCAT, r.status, "GET jobs gave no JSON array");
        }
    }
    free(url);
    analytics_resp_free(&r);
    return list;
}

int analytics_webhcat_find(const analytics_backend *b, const char *statusdir, long timeout_ms,
                           char *id, size_t idlen, analytics_err *e)
{
    json_t *list = analytics_webhcat_list(b, timeout_ms, e);
    if (!list)
        return -1;
    size_t i;
    json_t *item;
    int rc = 1;
    json_array_foreach(list, i, item)
    {
        json_t *args = json_object_get(json_object_get(item, "detail"), "userargs");
        const char *dir = json_string_value(json_object_get(args, "statusdir"));
        if (dir && strcmp(dir, statusdir) == 0) {
            rc = take_id(item, "id", id, idlen, e);
            break;
        }
    }
    json_decref(list);
    if (rc == 1) {
        analytics_err_set(e, AE_NOT_FOUND, WEBHCAT, 200, "no WebHCat job has statusdir %s",
                          statusdir);
        rc = -1;
    }
    return rc;
}
