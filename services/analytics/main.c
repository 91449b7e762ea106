/* gridgate-analytics: word counts and HiveQL jobs over HDFS text via WebHCat, as REST calls. */
#include "analytics.h"
#include "analytics_service.h"

int main(int argc, char **argv)
{
    analytics_ctx ctx = {0};
    const gg_service_parts parts = {&ctx.svc, &ctx.cfg, &ctx.cfg.base, NULL};
    return gg_service_main(&analytics_service, &ctx, &parts, argc, argv);
}
