/* gg_service: what every gridgate process does around its own work: structured log, metrics,
 * dependency health, the HTTP server with /healthz, /readyz and /metrics, signal handling and
 * an orderly shutdown. A service embeds a gg_service in its context struct. */
#ifndef GG_SERVICE_H
#define GG_SERVICE_H

#include <signal.h>
#include <stdbool.h>

#include "gg_health.h"
#include "gg_http.h"
#include "gg_log.h"
#include "gg_metrics.h"
#include "gg_options.h"

typedef struct gg_service {
    const char *name; /* "ingest", "cache", "analytics" */
    gg_log log;
    gg_metrics *metrics;
    gg_health *health;
    gg_http_server *http;
    sigset_t signals; /* SIGTERM, SIGINT: delivered to gg_service_wait only */
    struct timespec started;
    unsigned probe_interval_ms;
} gg_service;

/* Blocks the shutdown signals in the calling thread, so every thread created later inherits the
 * mask and only gg_service_wait receives them, and ignores SIGPIPE (a client closing its socket
 * must not kill the process). Call first in main, before any library starts a thread. */
void gg_service_signals_init(gg_service *svc);

/* Sets up log, metrics (prefix "gridgate_<name>"), health and the HTTP server (not started). */
int gg_service_init(gg_service *svc, const char *name, const gg_base_settings *base);
/* Adds /healthz, /readyz and /metrics, starts the probes and the HTTP server. */
int gg_service_start(gg_service *svc);
/* Waits for SIGTERM or SIGINT; calls tick(ud) every tick_ms meanwhile when tick is set. Returns
 * the signal number. */
int gg_service_wait(gg_service *svc, int tick_ms, void (*tick)(void *ud), void *ud);
/* First step of shutdown: /readyz says draining, the HTTP server stops accepting and finishes
 * what it has. The service then stops its own workers and calls gg_service_destroy. */
void gg_service_drain(gg_service *svc);
void gg_service_destroy(gg_service *svc);

#endif
