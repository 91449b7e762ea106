/* gridgate-ingest: Kafka readings to MongoDB documents, and stored readings over REST. */
#include "ingest.h"
#include "ingest_service.h"

int main(int argc, char **argv)
{
    ingest_ctx ctx = {0};
    const gg_service_parts parts = {&ctx.svc, &ctx.cfg, &ctx.cfg.base, &ctx.kafka_props};
    return gg_service_main(&ingest_service, &ctx, &parts, argc, argv);
}
