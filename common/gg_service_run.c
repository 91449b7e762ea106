/* gg_service_run: the one lifecycle of the three services (see gg_service.h). The order of the
 * shutdown is the point of having one: each step relies on the one before (no request can reach
 * a worker that is gone, no probe runs against a freed client). */
#include "gg_service.h"

#include "gg_time.h"

int64_t gg_service_deadline_ms(const gg_service *svc)
{
    return svc->deadline_ms;
}

static int start(const gg_service_def *def, void *ctx, const gg_service_parts *parts)
{
    gg_service *svc = parts->svc;
    if (gg_service_init(svc, def->name, parts->base) != 0)
        return -1;
    svc->openapi = (const char *)def->openapi;
    const gg_conf_spec *spec = def->spec;
    /* "O", not "o": an event below the log level packs nothing, so it would steal nothing. */
    json_t *settings = gg_conf_describe(spec->opts, spec->nopts, parts->settings);
    json_t *props = parts->kafka_props ? gg_conf_describe_props(parts->kafka_props) : NULL;
    gg_info(&svc->log, "starting", "{s:s, s:O, s:O?}", "version", GG_VERSION, "settings", settings,
            "kafka_props", props);
    json_decref(settings);
    json_decref(props);
    if (def->setup(ctx) != 0 || gg_service_start(svc) != 0)
        return -1;
    return def->run ? def->run(ctx) : 0;
}

static void stop(const gg_service_def *def, void *ctx, gg_service *svc)
{
    svc->deadline_ms = gg_time_mono_ms() + svc->shutdown_timeout_ms;
    if (def->quiesce)
        def->quiesce(ctx);
    gg_service_drain(svc);
    if (def->drained)
        def->drained(ctx);
    if (svc->health)
        gg_health_stop(svc->health);
    def->teardown(ctx);
    gg_service_destroy(svc);
}

int gg_service_main(const gg_service_def *def, void *ctx, const gg_service_parts *parts, int argc,
                    char **argv)
{
    gg_service_signals_init(parts->svc);
    int rc = gg_conf_startup(def->spec, parts->settings, parts->kafka_props, argc, argv, NULL, NULL,
                             NULL);
    if (rc != GG_CONF_OK)
        return gg_conf_exit_status(rc);
    if (def->process_init)
        def->process_init();
    int status = 0;
    if (start(def, ctx, parts) == 0)
        gg_service_wait(parts->svc, 0, NULL, NULL);
    else
        status = 1;
    stop(def, ctx, parts->svc);
    gg_conf_free(def->spec->opts, def->spec->nopts, parts->settings, parts->kafka_props);
    if (def->process_cleanup)
        def->process_cleanup();
    return status;
}
