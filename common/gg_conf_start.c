/* gg_conf_start: the configuration step every service's main begins with, and --check-config
 * (see gg_config.h). One sequence for both, so that the check accepts exactly what a start
 * accepts: a deployment tested with --check-config cannot then crash-loop on its settings. */
#include "gg_conf_int.h"

#include <stdio.h>

int gg_conf_exit_status(int rc)
{
    return rc == GG_CONF_OK || rc == GG_CONF_EXIT_SUCCESS ? 0 : 2;
}

int gg_conf_startup(const gg_conf_spec *spec, void *settings, gg_conf_props *kafka_props, int argc,
                    char **argv, char **envp, FILE *out, FILE *err)
{
    char why[512] = "";
    out = out ? out : stdout;
    err = err ? err : stderr;
    int rc = gg_conf_load(spec->prog, spec->summary, spec->opts, spec->nopts, settings, kafka_props,
                          argc, argv, envp, out, err);
    if (rc != GG_CONF_OK && rc != GG_CONF_CHECK_ONLY)
        return rc;
    if (spec->validate && spec->validate(settings, kafka_props, why, sizeof(why)) != 0) {
        fprintf(err, "%s: %s\n", spec->prog, why[0] ? why : "invalid configuration");
        fflush(err);
        gg_conf_free(spec->opts, spec->nopts, settings, kafka_props);
        return GG_CONF_EXIT_USAGE;
    }
    if (rc == GG_CONF_OK)
        return GG_CONF_OK;
    size_t nprops = kafka_props ? kafka_props->count : 0;
    fprintf(out, "%s: configuration OK (%zu settings, %zu Kafka propert%s)\n", spec->prog,
            spec->nopts, nprops, nprops == 1 ? "y" : "ies");
    fflush(out);
    gg_conf_free(spec->opts, spec->nopts, settings, kafka_props);
    return GG_CONF_EXIT_SUCCESS;
}
