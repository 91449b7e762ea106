/* gridgate-cache: latest and recent readings per station in Redis, served over HTTP. */
#include "cache.h"
#include "cache_service.h"

int main(int argc, char **argv)
{
    cache_ctx ctx = {0};
    const gg_service_parts parts = {&ctx.svc, &ctx.cfg, &ctx.cfg.base, &ctx.kafka_props};
    return gg_service_main(&cache_service, &ctx, &parts, argc, argv);
}
