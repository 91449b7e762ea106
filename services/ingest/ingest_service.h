/* ingest_service: ingest as a gg_service_def: its settings and its hooks (see gg_service.h).
 * The hooks take an ingest_ctx. */
#ifndef INGEST_SERVICE_H
#define INGEST_SERVICE_H

#include "gg_service.h"

extern const gg_service_def ingest_service;

#endif
