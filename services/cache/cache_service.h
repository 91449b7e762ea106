/* cache_service: the cache as a gg_service_def: its settings and its hooks (see gg_service.h).
 * The hooks take a cache_ctx. */
#ifndef CACHE_SERVICE_H
#define CACHE_SERVICE_H

#include "gg_service.h"

extern const gg_service_def cache_service;

#endif
