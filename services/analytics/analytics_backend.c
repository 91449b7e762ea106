/* analytics_backend: call bookkeeping shared by the WebHCat and WebHDFS clients (see
 * analytics_backend.h). */
#include "analytics_backend.h"

#include "gg_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char *analytics_backend_name(analytics_backend_id id)
{
    return id == AB_WEBHCAT ? "webhcat" : "webhdfs";
}

void analytics_backend_metrics(analytics_backend *b, gg_metrics *metrics)
{
    if (!metrics)
        return;
    size_t nb;
    const double *bounds = gg_metrics_latency_buckets(&nb);
    for (int i = 0; i < 2; i++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "backend=\"%s\"",
                 analytics_backend_name((analytics_backend_id)i));
        b->latency[i] =
            gg_metrics_histogram(metrics, "backend_request_duration_seconds",
                                 "Latency of calls to WebHCat and WebHDFS", labels, bounds, nb);
    }
}

int analytics_backend_call(const analytics_backend *b, analytics_backend_id id,
                           const analytics_call *call, analytics_resp *r, analytics_err *e)
{
    int64_t t0 = gg_time_mono_us();
    int rc = analytics_client_do(b->http, call, r);
    gg_histogram_observe(b->latency[id], (double)(gg_time_mono_us() - t0) / 1e6);
    const char *name = analytics_backend_name(id);
    if (rc != 0) {
        analytics_err_set(e, AE_UNREACHABLE, name, 0, "%s is unreachable: %s", name, r->error);
        e->uncertain = !r->unsent;
        gg_health_report(b->dep[id], false, e->msg);
        return -1;
    }
    if (r->status == 502 || r->status == 503 || r->status == 504) {
        char why[128];
        snprintf(why, sizeof(why), "%s answered HTTP %ld", name, r->status);
        gg_health_report(b->dep[id], false, why);
    } else {
        gg_health_report(b->dep[id], true, NULL);
    }
    return 0;
}

/* The reason inside a backend's error body, or "" when there is none. */
static void error_reason(analytics_backend_id id, const analytics_resp *r, char *out, size_t len,
                         const char **exception)
{
    out[0] = '\0';
    *exception = "";
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    if (id == AB_WEBHCAT) {
        const char *msg = json_string_value(json_object_get(j, "error"));
        snprintf(out, len, "%s", msg ? msg : "");
    } else {
        json_t *re = json_object_get(j, "RemoteException");
        const char *msg = json_string_value(json_object_get(re, "message"));
        const char *ex = json_string_value(json_object_get(re, "exception"));
        snprintf(out, len, "%s%s%s", ex ? ex : "", ex && msg ? ": " : "", msg ? msg : "");
        static const char *const known[] = {"FileNotFoundException", "AccessControlException",
                                            "SecurityException"};
        for (size_t i = 0; ex && i < sizeof(known) / sizeof(known[0]); i++)
            if (strcmp(ex, known[i]) == 0)
                *exception = known[i];
    }
    json_decref(j);
}

void analytics_backend_fail(analytics_backend_id id, const analytics_resp *r, analytics_err *e)
{
    const char *name = analytics_backend_name(id);
    const char *exception;
    char reason[384];
    error_reason(id, r, reason, sizeof(reason), &exception);
    analytics_err_kind kind;
    if (r->status == 404 || strcmp(exception, "FileNotFoundException") == 0)
        kind = AE_NOT_FOUND;
    else if (r->status == 429 || r->status == 503)
        kind = AE_UNREACHABLE; /* busy or starting: try again later */
    else if (r->status >= 400 && r->status < 500)
        kind = AE_REJECTED;
    else
        kind = AE_BACKEND;
    analytics_err_set(e, kind, name, r->status, "%s answered HTTP %ld%s%s", name, r->status,
                      reason[0] ? ": " : "", reason);
}

json_t *analytics_backend_json(analytics_backend_id id, const analytics_resp *r, analytics_err *e)
{
    json_error_t jerr;
    json_t *j = r->body && !r->truncated ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
    if (json_is_object(j))
        return j;
    json_decref(j);
    const char *name = analytics_backend_name(id);
    analytics_err_set(e, AE_BACKEND, name, r->status, "%s answered HTTP %ld without a JSON object",
                      name, r->status);
    return NULL;
}
