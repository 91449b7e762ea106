/* gg_service: process plumbing shared by the three services (see gg_service.h). */
#include "gg_service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gg_service_signals_init(gg_service *svc)
{
    sigemptyset(&svc->signals);
    sigaddset(&svc->signals, SIGTERM);
    sigaddset(&svc->signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &svc->signals, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int gg_service_init(gg_service *svc, const char *name, const gg_base_settings *base)
{
    char prefix[64];
    gg_http_config http = {
        .listen = base->listen,
        .threads = (unsigned)base->http_threads,
        .max_body = (size_t)base->max_body,
        .cors_origin = base->cors_origin,
        .conn_timeout_s = (unsigned)base->idle_timeout_s,
        .max_connections = (unsigned)base->max_connections,
        .max_header_bytes = (size_t)base->max_header_bytes,
        .backend_threads = (unsigned)base->backend_threads,
        .route_concurrency = (unsigned)base->route_concurrency,
    };
    svc->name = name;
    svc->probe_interval_ms = (unsigned)base->probe_interval_ms;
    svc->shutdown_timeout_ms = base->shutdown_timeout_ms;
    clock_gettime(CLOCK_MONOTONIC, &svc->started);
    gg_log_init(&svc->log, name, base->log_level, stderr);
    snprintf(prefix, sizeof(prefix), "gridgate_%s", name);
    svc->metrics = gg_metrics_new(prefix);
    svc->health = svc->metrics ? gg_health_new(&svc->log, svc->metrics) : NULL;
    svc->http = svc->health ? gg_http_new(&http, &svc->log, svc->metrics) : NULL;
    return svc->http ? 0 : -1;
}

static void handle_metrics(gg_http_req *req, void *ud)
{
    gg_service *svc = ud;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    gg_gauge_set(gg_metrics_gauge(svc->metrics, "uptime_seconds", "Seconds since start", NULL),
                 (double)(now.tv_sec - svc->started.tv_sec));
    size_t len = 0;
    char *text = gg_metrics_render(svc->metrics, &len);
    if (!text) {
        gg_http_reply_problem(req, 500, "internal", "cannot render metrics");
        return;
    }
    gg_http_reply_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void handle_openapi(gg_http_req *req, void *ud)
{
    const char *doc = ud;
    gg_http_add_header(req, "Cache-Control", "public, max-age=3600");
    gg_http_reply_static(req, 200, "application/json", doc, strlen(doc));
}

int gg_service_start(gg_service *svc)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "version=\"%s\"", GG_VERSION);
    gg_gauge_set(gg_metrics_gauge(svc->metrics, "build_info", "Build of this binary", labels), 1);
    if (gg_health_mount(svc->health, svc->http) != 0 ||
        gg_http_route(svc->http, "GET", "/metrics", 0, handle_metrics, svc) != 0)
        return -1;
    if (svc->openapi && gg_http_route(svc->http, "GET", "/openapi.json", 0, handle_openapi,
                                      (void *)svc->openapi) != 0)
        return -1;
    if (gg_health_start(svc->health, svc->probe_interval_ms) != 0)
        return -1;
    return gg_http_start(svc->http);
}

int gg_service_wait(gg_service *svc, int tick_ms, void (*tick)(void *ud), void *ud)
{
    for (;;) {
        struct timespec ts = {tick_ms / 1000, (long)(tick_ms % 1000) * 1000000L};
        int sig = tick ? sigtimedwait(&svc->signals, NULL, &ts) : sigwaitinfo(&svc->signals, NULL);
        if (sig > 0) {
            gg_info(&svc->log, "shutdown requested", "{s:i}", "signal", sig);
            return sig;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (tick)
            tick(ud);
    }
}

void gg_service_drain(gg_service *svc)
{
    if (svc->health)
        gg_health_set_draining(svc->health);
    if (svc->http)
        gg_http_stop(svc->http);
}

void gg_service_destroy(gg_service *svc)
{
    gg_http_free(svc->http);
    gg_health_free(svc->health);
    gg_metrics_free(svc->metrics);
    gg_log_destroy(&svc->log);
    memset(svc, 0, sizeof(*svc));
}
