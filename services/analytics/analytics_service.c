/* analytics_service: wiring the parts of the service together: the backends, the job store,
 * the tracker, the metrics and the routes (see analytics.h). */
#include "analytics.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "analytics_api.h"
#include "analytics_pool.h"
#include "analytics_conf.h"
#include "analytics_service.h"
#include "analytics_tracker.h"
#include "analytics_validate.h"
#include "analytics_webhcat.h"
#include "analytics_webhdfs.h"

static void strip_slashes(char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* The configured jobs directory, or /user/<hadoop user>/gridgate/jobs. */
static int jobs_dir(analytics_ctx *ctx)
{
    char dflt[ANALYTICS_PATH_MAX + 64], why[128];
    const char *dir = ctx->cfg.jobs_dir;
    if (!dir) {
        snprintf(dflt, sizeof(dflt), "/user/%s/gridgate/jobs", ctx->cfg.hadoop_user);
        dir = dflt;
    }
    if (!analytics_valid_path(dir, why, sizeof(why))) {
        gg_error(&ctx->svc.log, "unusable jobs directory (set GRIDGATE_JOBS_DIR)", "{s:s, s:s}",
                 "jobs_dir", dir, "error", why);
        return -1;
    }
    ctx->jobs_dir = strdup(dir);
    strip_slashes(ctx->jobs_dir);
    return ctx->jobs_dir ? 0 : -1;
}

static void metrics(analytics_ctx *ctx)
{
    gg_metrics *m = ctx->svc.metrics;
    for (int k = 0; k < 2; k++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "kind=\"%s\"",
                 analytics_job_kind_name((analytics_job_kind)k));
        ctx->m.submitted[k] = gg_metrics_counter(m, "jobs_submitted_total",
                                                 "Jobs submitted to WebHCat by kind", labels);
    }
    for (int s = 0; s < 5; s++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "state=\"%s\"",
                 analytics_job_state_name((analytics_job_state)s));
        ctx->m.finished[s] =
            gg_metrics_counter(m, "jobs_finished_total", "Jobs that ended, by final state", labels);
    }
    ctx->m.cache_hits =
        gg_metrics_counter(m, "wordcount_cache_hits_total",
                           "Word counts answered from an earlier job over unchanged input", NULL);
    ctx->m.active = gg_metrics_gauge(m, "jobs_active", "Jobs not finished yet", NULL);
    ctx->m.waiting =
        gg_metrics_gauge(m, "requests_waiting", "Requests parked until their job ends", NULL);
    analytics_backend_metrics(&ctx->backend, m);
}

/* The "jobs" dependency: down until the job records are read from HDFS, so /readyz does not
 * send traffic to job endpoints that would answer 503. The tracker reports it up the moment the
 * load ends; this probe only keeps it up afterwards. */
static int jobs_probe(void *ud, char *err, size_t errlen)
{
    analytics_ctx *ctx = ud;
    if (analytics_store_loaded(ctx->store))
        return 0;
    snprintf(err, errlen, "job records are not loaded yet");
    return -1;
}

/* Names this replica in the lease files it takes (for people reading HDFS; the lease itself
 * rests on which file exists, not on what it says). */
static void replica_name(analytics_ctx *ctx)
{
    char host[64] = "unknown";
    uint32_t rnd = 0;
    gethostname(host, sizeof(host) - 1);
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        rnd = (uint32_t)gg_time_mono_ms();
    snprintf(ctx->replica, sizeof(ctx->replica), "%s/%ld/%08x\n", host, (long)getpid(), rnd);
}

int analytics_setup(void *ud)
{
    analytics_ctx *ctx = ud;
    if (jobs_dir(ctx) != 0)
        return -1;
    replica_name(ctx);
    strip_slashes(ctx->cfg.webhcat_url);
    strip_slashes(ctx->cfg.webhdfs_url);
    strip_slashes(ctx->cfg.hdfs_uri);
    analytics_auth auth = {(analytics_auth_mode)analytics_auth_mode_of(ctx->cfg.backend_auth),
                           ctx->cfg.backend_user, ctx->cfg.backend_password};
    if ((int)auth.mode < 0)
        auth.mode = ANALYTICS_AUTH_SIMPLE; /* settings made without the table, as in tests */
    ctx->backend.http = analytics_client_new(ctx->cfg.backend_timeout_ms, &auth);
    ctx->backend.webhcat_url = ctx->cfg.webhcat_url;
    ctx->backend.webhdfs_url = ctx->cfg.webhdfs_url;
    ctx->backend.user = ctx->cfg.hadoop_user;
    ctx->backend.hive_jdbc_url = ctx->cfg.hive_jdbc_url;
    ctx->store = analytics_store_new(&ctx->backend, ctx->jobs_dir, &ctx->svc.log);
    if (!ctx->backend.http || !ctx->store)
        return -1;
    metrics(ctx);
    ctx->tracker = analytics_tracker_new(ctx);
    ctx->pool = analytics_pool_new();
    if (!ctx->tracker || !ctx->pool || analytics_pool_start(ctx->pool) != 0)
        return -1;
    ctx->backend.dep[AB_WEBHCAT] =
        gg_health_add(ctx->svc.health, "webhcat", analytics_webhcat_probe, &ctx->backend);
    ctx->backend.dep[AB_WEBHDFS] =
        gg_health_add(ctx->svc.health, "webhdfs", analytics_webhdfs_probe, &ctx->backend);
    ctx->jobs_dep = gg_health_add(ctx->svc.health, "jobs", jobs_probe, ctx);
    return analytics_api_mount(ctx);
}

int analytics_run(void *ud)
{
    analytics_ctx *ctx = ud;
    return analytics_tracker_start(ctx->tracker);
}

/* Parked requests are answered (202 with the job's state) before the HTTP server stops:
 * libmicrohttpd must not be stopped with suspended connections. */
void analytics_stop(void *ud)
{
    analytics_ctx *ctx = ud;
    analytics_pool_stop(ctx->pool); /* first: a handler still running may park its request */
    analytics_tracker_stop(ctx->tracker);
}

void analytics_teardown(void *ud)
{
    analytics_ctx *ctx = ud;
    analytics_pool_free(ctx->pool);
    analytics_tracker_free(ctx->tracker);
    analytics_store_free(ctx->store);
    analytics_client_free(ctx->backend.http);
    free(ctx->jobs_dir);
    ctx->tracker = NULL;
    ctx->pool = NULL;
    ctx->store = NULL;
    ctx->backend.http = NULL;
    ctx->jobs_dir = NULL;
}

/* ---- the lifecycle's hooks (gg_service.h) ------------------------------------------------- */

static void process_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* GET /openapi.json, generated from services/analytics/openapi.json at build time. */
extern const unsigned char analytics_openapi[];

const gg_service_def analytics_service = {
    .name = "analytics",
    .spec = &analytics_spec,
    .openapi = analytics_openapi,
    .process_init = process_init,
    .process_cleanup = curl_global_cleanup,
    .setup = analytics_setup,
    .run = analytics_run,
    .quiesce = analytics_stop,
    .teardown = analytics_teardown,
};
