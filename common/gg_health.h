/* gg_health: the state of every backing service a gridgate service depends on, and the
 * /healthz and /readyz endpoints built from it.
 *
 * Each dependency has a probe (a cheap call such as PING) that a background thread runs: every
 * interval while the dependency is up, with capped exponential backoff while it is down. Worker
 * code that sees a failure reports it at once (gg_health_report), so /readyz turns 503 within a
 * request rather than within a probe interval, and the probe then finds out when it is back.
 * A service therefore starts with its dependencies unreachable, answers /healthz, reports
 * not-ready, and becomes ready by itself when they appear. */
#ifndef GG_HEALTH_H
#define GG_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gg_http.h"
#include "gg_log.h"
#include "gg_metrics.h"

typedef struct gg_health gg_health;
typedef struct gg_dep gg_dep;

/* Returns 0 when the dependency answers, else fills err. Runs on the health thread. */
typedef int (*gg_health_probe)(void *ud, char *err, size_t errlen);

gg_health *gg_health_new(gg_log *log, gg_metrics *metrics);
/* Adds a dependency, initially "unknown" (counted as not ready until probed). */
gg_dep *gg_health_add(gg_health *h, const char *name, gg_health_probe probe, void *ud);
/* Marks a dependency whose outage degrades the service without making its answers wrong (the
 * cache's Kafka: values stop advancing but stay correct). It is probed and shown in /readyz and
 * /metrics like any other, but does not turn /readyz 503. */
void gg_health_set_optional(gg_dep *d);
/* Starts the probe thread: up dependencies are probed every interval_ms, down ones with backoff
 * from 100 ms up to interval_ms. */
int gg_health_start(gg_health *h, unsigned interval_ms);
void gg_health_stop(gg_health *h);
void gg_health_free(gg_health *h);

/* In-band report from any thread: a failure marks the dependency down and schedules a probe. */
void gg_health_report(gg_dep *d, bool up, const char *err);
bool gg_health_dep_up(const gg_dep *d);
bool gg_health_ready(gg_health *h);
/* Blocks up to timeout_ms until the dependency is up; true if it is. */
bool gg_health_wait_up(gg_dep *d, int timeout_ms);
/* Once draining (shutdown started), /readyz answers 503 so load balancers stop sending. */
void gg_health_set_draining(gg_health *h);

/* {"status": "ready"|"not_ready"|"draining", "dependencies": {name: {...}}} */
json_t *gg_health_json(gg_health *h);
/* Adds GET /healthz and GET /readyz to the server. */
int gg_health_mount(gg_health *h, gg_http_server *http);

#endif
