/* analytics_recover: unrecorded jobs found again in WebHCat's list (see analytics_recover.h). */
#include "analytics_recover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_validate.h"
#include "analytics_webhcat.h"
#include "analytics_webhdfs.h"
#include "gg_buf.h"

#define NOTE_MAX 65536 /* a note holds the parameters of a word count: a few hundred bytes */

char *analytics_recover_define(const analytics_job *j)
{
    json_t *note =
        json_pack("{s:s, s:I, s:s}", "kind", analytics_job_kind_name(j->kind), "created_ms",
                  (json_int_t)j->created_ms, "output", j->output_files ? "files" : "stdout");
    if (note && j->fingerprint[0])
        json_object_set_new(note, "fingerprint", json_string(j->fingerprint));
    if (note && j->params)
        json_object_set_new(note, "params", json_deep_copy(j->params));
    char *text = note ? json_dumps(note, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(note);
    if (!text)
        return NULL;
    /* Percent-encoded: the value passes WebHCat's and Hive's option handling as plain
     * [A-Za-z0-9._~%-], whatever the parameters hold. */
    gg_buf b = {0};
    gg_buf_puts(&b, ANALYTICS_RECOVER_DEFINE "=");
    gg_buf_url_escape(&b, text, false);
    free(text);
    return gg_buf_take(&b, NULL);
}

static int hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The note of a define "gridgate.job=<percent-encoded JSON>", or NULL. */
static json_t *note_of(const char *define)
{
    size_t n = strlen(ANALYTICS_RECOVER_DEFINE);
    if (!define || strncmp(define, ANALYTICS_RECOVER_DEFINE, n) != 0 || define[n] != '=')
        return NULL;
    const char *p = define + n + 1;
    size_t len = strlen(p);
    if (len > NOTE_MAX)
        return NULL;
    char *text = malloc(len + 1), *out = text;
    if (!text)
        return NULL;
    for (; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hex(p[1])) >= 0 && (lo = hex(p[2])) >= 0) {
            *out++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    json_t *note = json_loadb(text, (size_t)(out - text), 0, NULL);
    free(text);
    return json_is_object(note) ? note : (json_decref(note), NULL);
}

/* The note among userargs.define (a list in WebHCat; one string accepted too). */
static json_t *find_note(json_t *defines)
{
    if (json_is_string(defines))
        return note_of(json_string_value(defines));
    size_t i;
    json_t *d;
    json_array_foreach(defines, i, d)
    {
        json_t *note = note_of(json_string_value(d));
        if (note)
            return note;
    }
    return NULL;
}

/* The job id of a statusdir "<jobs_dir>/<id>/status" (into id), or false. */
static bool id_of_statusdir(const char *statusdir, const char *jobs_dir, char *id, size_t idlen)
{
    size_t n = strlen(jobs_dir);
    if (!statusdir || strncmp(statusdir, jobs_dir, n) != 0 || statusdir[n] != '/')
        return false;
    const char *rest = statusdir + n + 1, *slash = strchr(rest, '/');
    if (!slash || strcmp(slash, "/status") != 0 || (size_t)(slash - rest) >= idlen)
        return false;
    snprintf(id, idlen, "%.*s", (int)(slash - rest), rest);
    return analytics_valid_job_id(id);
}

analytics_job *analytics_recover_rebuild(json_t *item, const char *jobs_dir, char *why,
                                         size_t whylen)
{
    json_t *args = json_object_get(json_object_get(item, "detail"), "userargs");
    const char *wid = json_string_value(json_object_get(item, "id"));
    const char *hiveql = json_string_value(json_object_get(args, "execute"));
    char id[32];
    if (!id_of_statusdir(json_string_value(json_object_get(args, "statusdir")), jobs_dir, id,
                         sizeof(id))) {
        snprintf(why, whylen, "not a job of this jobs directory");
        return NULL;
    }
    json_t *note = find_note(json_object_get(args, "define"));
    const char *kind = json_string_value(json_object_get(note, "kind"));
    bool wc = kind && strcmp(kind, analytics_job_kind_name(AJ_WORDCOUNT)) == 0;
    json_t *params = json_object_get(note, "params");
    const char *fp = json_string_value(json_object_get(note, "fingerprint"));
    if (!note || !kind || (!wc && strcmp(kind, analytics_job_kind_name(AJ_QUERY)) != 0) ||
        (wc && (!json_is_object(params) || !fp || strlen(fp) != 16)) || !hiveql || !wid ||
        !analytics_webhcat_id_ok(wid)) {
        snprintf(why, whylen, "its submission note, HiveQL or WebHCat id is missing or unusable");
        json_decref(note);
        return NULL;
    }
    analytics_job *j = analytics_job_new(wc ? AJ_WORDCOUNT : AJ_QUERY, id);
    if (!j || !(j->hiveql = analytics_webhcat_unguard(hiveql)) ||
        (wc && !(j->params = json_deep_copy(params)))) {
        analytics_job_free(j);
        json_decref(note);
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    snprintf(j->webhcat_id, sizeof(j->webhcat_id), "%s", wid);
    if (wc)
        snprintf(j->fingerprint, sizeof(j->fingerprint), "%s", fp);
    const char *output = json_string_value(json_object_get(note, "output"));
    j->output_files = output && strcmp(output, "files") == 0;
    json_int_t created = json_integer_value(json_object_get(note, "created_ms"));
    j->created_ms = created > 0 ? (int64_t)created : gg_time_wall_ms();
    j->submitted_ms = j->created_ms;
    j->state = AJ_QUEUED; /* the tracker's first poll says where it is, and settles it if ended */
    j->unrecorded = true;
    analytics_job_touch(j);
    json_decref(note);
    return j;
}

/* Whether name is among the directories of list. */
static bool listed_dir(const analytics_hdfs_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].is_dir && strcmp(list->items[i].name, name) == 0)
            return true;
    return false;
}

/* Adds item's job unless it is known, recorded meanwhile, or ended and removed. 1 added, 0 not,
 * -1 WebHDFS failed. */
static int recover_one(analytics_ctx *ctx, json_t *item, const analytics_hdfs_list *dirs,
                       analytics_err *e)
{
    char why[128];
    analytics_job *j = analytics_recover_rebuild(item, ctx->jobs_dir, why, sizeof(why));
    if (!j)
        return 0;
    analytics_remote_state rs;
    bool ended = analytics_job_map_remote(json_object_get(item, "detail"), &rs) == 0 &&
                 analytics_job_terminal(rs.state);
    analytics_store_lock(ctx->store);
    bool known = analytics_store_find(ctx->store, j->id) != NULL;
    analytics_store_unlock(ctx->store);
    int rc = 0;
    if (!known && !(ended && !listed_dir(dirs, j->id)))
        rc = analytics_store_fetch(ctx->store, j->id, gg_time_mono_ms(), e);
    if (known || rc != 0 || (ended && !listed_dir(dirs, j->id))) {
        analytics_job_free(j); /* known, recorded meanwhile, or expired and removed */
        return rc < 0 ? -1 : 0;
    }
    char id[32], wid[96];
    snprintf(id, sizeof(id), "%s", j->id);
    snprintf(wid, sizeof(wid), "%s", j->webhcat_id);
    analytics_store_lock(ctx->store);
    rc = analytics_store_find(ctx->store, id) ? 1 : analytics_store_add(ctx->store, j);
    analytics_store_unlock(ctx->store);
    if (rc != 0) {
        analytics_job_free(j);
        return 0;
    }
    gg_warn(&ctx->svc.log, "job accepted by WebHCat without a record found again, recording it",
            "{s:s, s:s}", "job", id, "webhcat_job", wid);
    return 1;
}

int analytics_recover_listed(analytics_ctx *ctx, analytics_err *e)
{
    json_t *list = analytics_webhcat_list(&ctx->backend, ctx->cfg.submit_timeout_ms, e);
    if (!list)
        return -1;
    analytics_hdfs_list dirs;
    if (analytics_webhdfs_list(&ctx->backend, ctx->jobs_dir, &dirs, e) != 0) {
        if (e->kind != AE_NOT_FOUND) {
            json_decref(list);
            return -1;
        }
        dirs.count = 0; /* no directory yet: only unfinished jobs can be recovered */
        dirs.items = NULL;
    }
    int added = 0;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        int rc = recover_one(ctx, item, &dirs, e);
        if (rc < 0) {
            added = -1;
            break;
        }
        added += rc;
    }
    analytics_hdfs_list_free(&dirs);
    json_decref(list);
    return added;
}
