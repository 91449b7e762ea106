/* gg_service: what every gridgate process does around its own work: structured log, metrics,
 * dependency health, the HTTP server with /healthz, /readyz and /metrics, signal handling and
 * an orderly shutdown. A service embeds a gg_service in its context struct. */
#ifndef GG_SERVICE_H
#define GG_SERVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "gg_config.h"
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
    int64_t shutdown_timeout_ms;
    int64_t deadline_ms; /* set when shutdown starts */
    const char *openapi; /* served at GET /openapi.json when set (before gg_service_start) */
} gg_service;

/* Blocks the shutdown signals in the calling thread, so every thread created later inherits the
 * mask and only gg_service_wait receives them, and ignores SIGPIPE (a client closing its socket
 * must not kill the process). Call first in main, before any library starts a thread. */
void gg_service_signals_init(gg_service *svc);

/* Sets up log, metrics (prefix "gridgate_<name>"), health and the HTTP server (not started). */
int gg_service_init(gg_service *svc, const char *name, const gg_base_settings *base);
/* Adds /healthz, /readyz, /metrics and /openapi.json, starts the probes and the HTTP server. */
int gg_service_start(gg_service *svc);
/* Waits for SIGTERM or SIGINT; calls tick(ud) every tick_ms meanwhile when tick is set. Returns
 * the signal number. */
int gg_service_wait(gg_service *svc, int tick_ms, void (*tick)(void *ud), void *ud);
/* First step of shutdown: /readyz says draining, the HTTP server stops accepting and finishes
 * what it has. The service then stops its own workers and calls gg_service_destroy. */
void gg_service_drain(gg_service *svc);
void gg_service_destroy(gg_service *svc);

/* ---- the lifecycle every service runs ------------------------------------------------------
 *
 * configure (the settings table, --help, --check-config), set up (log, metrics, health, HTTP,
 * then the service's own parts), start (probes and HTTP serving, then the service's workers),
 * wait for SIGTERM or SIGINT, then stop in the one order that loses nothing: requests parked by
 * the service are answered, /readyz turns 503 and the HTTP server finishes what it has, the
 * workers are asked to stop, probes stop, the workers are joined and the parts freed. A
 * service's main is gg_service_main with its definition; its hooks get its context struct. */
typedef struct gg_service_def {
    const char *name;             /* "cache": log field, metric prefix gridgate_cache */
    const gg_conf_spec *spec;     /* the settings table and check */
    const unsigned char *openapi; /* the service's OpenAPI document (JSON, NUL-terminated) */
    /* Library globals that must be set up before any thread (curl, mongoc); may be NULL. */
    void (*process_init)(void);
    void (*process_cleanup)(void);
    /* Builds the service's parts, adds its dependencies and mounts its routes: nothing is served
     * yet. Non-zero stops the start (status 1); teardown runs anyway, on what was built. */
    int (*setup)(void *ctx);
    /* After /healthz, /readyz, /metrics and the routes serve: starts the workers. May be NULL. */
    int (*run)(void *ctx);
    /* Shutdown, before the HTTP server stops: answers requests the service parked. May be NULL. */
    void (*quiesce)(void *ctx);
    /* Shutdown, once no request is in progress: asks the workers to stop (they finish while the
     * probes stop), by the deadline gg_service_deadline_ms gives. May be NULL. */
    void (*drained)(void *ctx);
    /* Shutdown, last: joins the workers and frees what setup built. */
    void (*teardown)(void *ctx);
} gg_service_def;

/* Where the runtime finds the parts every context struct embeds. */
typedef struct gg_service_parts {
    gg_service *svc;
    void *settings;               /* filled from spec */
    const gg_base_settings *base; /* inside settings */
    gg_conf_props *kafka_props;   /* NULL for a service without Kafka */
} gg_service_parts;

/* Runs the whole lifecycle with ctx; returns the process exit status (0, 1 when the start
 * failed, 2 for a bad configuration). */
int gg_service_main(const gg_service_def *def, void *ctx, const gg_service_parts *parts, int argc,
                    char **argv);

/* The monotonic time (gg_time_mono_ms) by which shutdown must be done: the start of the shutdown
 * plus GRIDGATE_SHUTDOWN_TIMEOUT_MS. 0 before shutdown starts. */
int64_t gg_service_deadline_ms(const gg_service *svc);

#endif
