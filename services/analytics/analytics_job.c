/* analytics_job: job state, records and WebHCat state mapping (see analytics_job.h). */
#include "analytics_job.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics_validate.h"

static const char *const state_names[] = {"queued", "running", "succeeded", "failed", "killed"};
static const char *const kind_names[] = {"wordcount", "query"};

const char *analytics_job_state_name(analytics_job_state s)
{
    return (unsigned)s < 5 ? state_names[s] : "unknown";
}

const char *analytics_job_kind_name(analytics_job_kind k)
{
    return (unsigned)k < 2 ? kind_names[k] : "unknown";
}

bool analytics_job_terminal(analytics_job_state s)
{
    return s == AJ_SUCCEEDED || s == AJ_FAILED || s == AJ_KILLED;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

analytics_job *analytics_job_new(analytics_job_kind kind, const char *id)
{
    analytics_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    snprintf(j->id, sizeof(j->id), "%s", id);
    j->kind = kind;
    j->state = AJ_QUEUED;
    j->progress = -1;
    j->exit_value = -1;
    j->rows_total = -1;
    j->result_bytes = -1;
    return j;
}

void analytics_job_free(analytics_job *j)
{
    if (!j)
        return;
    free(j->hiveql);
    free(j->error);
    free(j->checkpoints);
    json_decref(j->params);
    json_decref(j->result);
    json_decref(j->columns);
    free(j);
}

void analytics_job_touch(analytics_job *j)
{
    j->version++;
    j->dirty = true;
}

void analytics_job_set_error(analytics_job *j, const char *text)
{
    free(j->error);
    j->error = text ? strdup(text) : NULL;
}

json_t *analytics_job_record(const analytics_job *j)
{
    json_t *r =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:b}",
                  "version", 1, "id", j->id, "kind", analytics_job_kind_name(j->kind), "state",
                  analytics_job_state_name(j->state), "webhcat_id", j->webhcat_id, "hiveql",
                  j->hiveql ? j->hiveql : "", "created_ms", (json_int_t)j->created_ms,
                  "submitted_ms", (json_int_t)j->submitted_ms, "started_ms",
                  (json_int_t)j->started_ms, "finished_ms", (json_int_t)j->finished_ms, "progress",
                  j->progress, "exit_value", j->exit_value, "rows_total", (json_int_t)j->rows_total,
                  "result_bytes", (json_int_t)j->result_bytes, "kill_requested", j->kill_requested);
    if (!r)
        return NULL;
    if (j->params)
        json_object_set_new(r, "params", json_deep_copy(j->params));
    if (j->fingerprint[0])
        json_object_set_new(r, "fingerprint", json_string(j->fingerprint));
    if (j->error)
        json_object_set_new(r, "error", json_string(j->error));
    if (j->result)
        json_object_set_new(r, "result", json_deep_copy(j->result));
    /* Records written before result files existed have no "output": their rows are stdout. */
    json_object_set_new(r, "output", json_string(j->output_files ? "files" : "stdout"));
    if (j->columns)
        json_object_set_new(r, "columns", json_deep_copy(j->columns));
    return r;
}

static int64_t rec_int(json_t *rec, const char *key, int64_t def)
{
    json_t *v = json_object_get(rec, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

analytics_job *analytics_job_from_record(json_t *rec, char *why, size_t whylen)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    int kind = name_index(kind_names, 2, json_string_value(json_object_get(rec, "kind")));
    int state = name_index(state_names, 5, json_string_value(json_object_get(rec, "state")));
    const char *wid = json_string_value(json_object_get(rec, "webhcat_id"));
    const char *hiveql = json_string_value(json_object_get(rec, "hiveql"));
    if (rec_int(rec, "version", 0) != 1 || !id || !analytics_valid_job_id(id) || kind < 0 ||
        state < 0 || !wid || strlen(wid) >= sizeof(((analytics_job *)0)->webhcat_id) || !hiveql) {
        snprintf(why, whylen, "not a version 1 job record");
        return NULL;
    }
    analytics_job *j = analytics_job_new((analytics_job_kind)kind, id);
    if (!j || !(j->hiveql = strdup(hiveql))) {
        analytics_job_free(j);
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    j->state = (analytics_job_state)state;
    snprintf(j->webhcat_id, sizeof(j->webhcat_id), "%s", wid);
    j->created_ms = rec_int(rec, "created_ms", 0);
    j->submitted_ms = rec_int(rec, "submitted_ms", 0);
    j->started_ms = rec_int(rec, "started_ms", 0);
    j->finished_ms = rec_int(rec, "finished_ms", 0);
    j->progress = (int)rec_int(rec, "progress", -1);
    j->exit_value = (int)rec_int(rec, "exit_value", -1);
    j->rows_total = rec_int(rec, "rows_total", -1);
    j->result_bytes = rec_int(rec, "result_bytes", -1);
    j->kill_requested = json_is_true(json_object_get(rec, "kill_requested"));
    const char *fp = json_string_value(json_object_get(rec, "fingerprint"));
    if (fp && strlen(fp) == 16)
        snprintf(j->fingerprint, sizeof(j->fingerprint), "%s", fp);
    const char *err = json_string_value(json_object_get(rec, "error"));
    if (err)
        analytics_job_set_error(j, err);
    j->params = json_incref(json_object_get(rec, "params"));
    j->result = json_incref(json_object_get(rec, "result"));
    const char *output = json_string_value(json_object_get(rec, "output"));
    j->output_files = output && strcmp(output, "files") == 0;
    json_t *cols = json_object_get(rec, "columns");
    j->columns = json_is_array(cols) ? json_incref(cols) : NULL;
    return j;
}

json_t *analytics_job_time(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[48];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
    return json_string(buf);
}

json_t *analytics_job_view(const analytics_job *j)
{
    json_t *v = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s?, s:s}", "id", j->id, "kind",
        analytics_job_kind_name(j->kind), "state", analytics_job_state_name(j->state), "progress",
        j->progress >= 0 ? json_integer(j->progress) : json_null(), "created_at",
        analytics_job_time(j->created_ms), "submitted_at", analytics_job_time(j->submitted_ms),
        "started_at", analytics_job_time(j->started_ms), "finished_at",
        analytics_job_time(j->finished_ms), "webhcat_job", j->webhcat_id[0] ? j->webhcat_id : NULL,
        "hiveql", j->hiveql ? j->hiveql : "");
    if (!v)
        return NULL;
    if (j->params)
        json_object_set_new(v, "params", json_deep_copy(j->params));
    if (j->exit_value >= 0)
        json_object_set_new(v, "exit_value", json_integer(j->exit_value));
    if (j->error)
        json_object_set_new(v, "error", json_string(j->error));
    if (j->kill_requested && !analytics_job_terminal(j->state))
        json_object_set_new(v, "kill_requested", json_true());
    if (j->state == AJ_SUCCEEDED && j->rows_total >= 0)
        json_object_set_new(v, "rows_total", json_integer(j->rows_total));
    if (j->result)
        json_object_set_new(v, "result", json_deep_copy(j->result));
    if (j->kind == AJ_QUERY && j->state == AJ_SUCCEEDED)
        json_object_set_new(v, "columns", j->columns ? json_deep_copy(j->columns) : json_null());
    return v;
}

int analytics_job_parse_percent(const char *s)
{
    long sum = 0, count = 0;
    for (const char *p = s; p && *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > s && isdigit((unsigned char)p[-1])))
            continue;
        char *end;
        long v = strtol(p, &end, 10);
        if (*end == '%' && v >= 0 && v <= 100) {
            sum += v;
            count++;
        }
    }
    return count ? (int)(sum / count) : -1;
}

static int map_state_name(const char *s)
{
    static const struct {
        const char *name;
        analytics_job_state state;
    } map[] = {{"PREP", AJ_QUEUED},
               {"RUNNING", AJ_RUNNING},
               {"SUCCEEDED", AJ_SUCCEEDED},
               {"FAILED", AJ_FAILED},
               {"KILLED", AJ_KILLED}};
    for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].name, s) == 0)
            return (int)map[i].state;
    return -1;
}

static int map_run_state(json_t *v)
{
    static const int map[] = {-1, AJ_RUNNING, AJ_SUCCEEDED, AJ_FAILED, AJ_QUEUED, AJ_KILLED};
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    return n >= 1 && n <= 5 ? map[n] : -1;
}

int analytics_job_map_remote(json_t *answer, analytics_remote_state *out)
{
    memset(out, 0, sizeof(*out));
    out->progress = -1;
    out->exit_value = -1;
    json_t *status = json_object_get(answer, "status");
    int state = map_state_name(json_string_value(json_object_get(status, "state")));
    if (state < 0)
        state = map_run_state(json_object_get(status, "runState"));
    if (state < 0)
        return -1;
    out->state = (analytics_job_state)state;
    json_t *exit = json_object_get(answer, "exitValue");
    if (json_is_integer(exit))
        out->exit_value = (int)json_integer_value(exit);
    out->progress =
        analytics_job_parse_percent(json_string_value(json_object_get(answer, "percentComplete")));
    json_t *start = json_object_get(status, "startTime");
    if (json_is_integer(start) && json_integer_value(start) > 0)
        out->started_ms = (int64_t)json_integer_value(start);
    const char *info = json_string_value(json_object_get(status, "failureInfo"));
    if (info && *info && strcmp(info, "NA") != 0)
        snprintf(out->failure, sizeof(out->failure), "%s", info);
    if (out->state == AJ_SUCCEEDED && out->exit_value > 0) {
        out->state = AJ_FAILED;
        snprintf(out->failure, sizeof(out->failure), "hive exited with status %d", out->exit_value);
    }
    if (out->state == AJ_SUCCEEDED)
        out->progress = 100;
    return 0;
}
