/* analytics_service: the analytics service as a gg_service_def: its settings and its hooks (see
 * gg_service.h). The hooks take an analytics_ctx; the steps they call are in analytics.h. */
#ifndef ANALYTICS_SERVICE_H
#define ANALYTICS_SERVICE_H

#include "gg_service.h"

extern const gg_service_def analytics_service;

#endif
