/* analytics: the service that turns REST requests into HiveQL jobs submitted to WebHCat and
 * returns their results as JSON. This header holds the service's context. */
#ifndef ANALYTICS_H
#define ANALYTICS_H

#include "gg_config.h"
#include "gg_options.h"
#include "gg_service.h"

typedef struct analytics_settings {
    gg_base_settings base;
    char *webhcat_url;
    char *webhdfs_url;
    char *hadoop_user;
    char *api_token;
    char *admin_token;
    long backend_timeout_ms;
} analytics_settings;

typedef struct analytics_ctx {
    gg_service svc;
    analytics_settings cfg;
    gg_dep *dep_webhcat;
    gg_dep *dep_webhdfs;
} analytics_ctx;

/* analytics_backend.c: WebHCat and WebHDFS over libcurl. */
int analytics_webhcat_probe(void *ud, char *err, size_t errlen);
int analytics_webhdfs_probe(void *ud, char *err, size_t errlen);

#endif
