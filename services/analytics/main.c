/* gridgate-analytics: word counts and HiveQL jobs over HDFS text via WebHCat, as REST calls. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "analytics.h"

static const gg_conf_opt analytics_opts[] = {
    GG_OPTS_BASE(analytics_settings, base, "0.0.0.0:8083"),
    {"webhcat-url", GG_CONF_STR, offsetof(analytics_settings, webhcat_url),
     "http://localhost:50111/templeton/v1", "WebHCat (Templeton) v1 base URL", 0, 0,
     gg_conf_check_http_url, GG_CONF_REQUIRED},
    {"webhdfs-url", GG_CONF_STR, offsetof(analytics_settings, webhdfs_url),
     "http://localhost:9870/webhdfs/v1", "WebHDFS base URL of the NameNode", 0, 0,
     gg_conf_check_http_url, GG_CONF_REQUIRED},
    {"hadoop-user", GG_CONF_STR, offsetof(analytics_settings, hadoop_user), "gridgate",
     "user.name sent to WebHCat and WebHDFS", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"api-token", GG_CONF_STR, offsetof(analytics_settings, api_token), NULL,
     "bearer token for word counts and job reads; unset leaves them open", 0, 0, NULL,
     GG_CONF_SECRET},
    {"admin-token", GG_CONF_STR, offsetof(analytics_settings, admin_token), NULL,
     "bearer token for raw HiveQL and killing jobs; unset disables them", 0, 0, NULL,
     GG_CONF_SECRET},
    {"backend-timeout-ms", GG_CONF_INT, offsetof(analytics_settings, backend_timeout_ms), "5000",
     "timeout of one call to WebHCat or WebHDFS", 100, 600000, NULL, 0},
};
#define ANALYTICS_NOPTS (sizeof(analytics_opts) / sizeof(analytics_opts[0]))

static int analytics_start(analytics_ctx *ctx)
{
    if (gg_service_init(&ctx->svc, "analytics", &ctx->cfg.base) != 0)
        return -1;
    gg_info(&ctx->svc.log, "starting", "{s:s, s:o}", "version", GG_VERSION, "settings",
            gg_conf_describe(analytics_opts, ANALYTICS_NOPTS, &ctx->cfg));
    ctx->dep_webhcat = gg_health_add(ctx->svc.health, "webhcat", analytics_webhcat_probe, ctx);
    ctx->dep_webhdfs = gg_health_add(ctx->svc.health, "webhdfs", analytics_webhdfs_probe, ctx);
    return gg_service_start(&ctx->svc);
}

int main(int argc, char **argv)
{
    analytics_ctx ctx = {0};
    gg_service_signals_init(&ctx.svc);
    int rc = gg_conf_load(
        "gridgate-analytics", "Runs word counts and HiveQL over HDFS text through WebHCat.",
        analytics_opts, ANALYTICS_NOPTS, &ctx.cfg, NULL, argc, argv, NULL, stdout, stderr);
    if (rc != GG_CONF_OK)
        return rc == GG_CONF_EXIT_SUCCESS ? 0 : 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int status = 0;
    if (analytics_start(&ctx) == 0)
        gg_service_wait(&ctx.svc, 0, NULL, NULL);
    else
        status = 1;
    gg_service_drain(&ctx.svc);
    gg_service_destroy(&ctx.svc);
    gg_conf_free(analytics_opts, ANALYTICS_NOPTS, &ctx.cfg, NULL);
    curl_global_cleanup();
    return status;
}
