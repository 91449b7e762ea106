/* gg_health: dependency probes, readiness and the /healthz and /readyz endpoints (see gg_health.h).
 */
#include "gg_health.h"
#include "gg_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gg_backoff.h"

#define GG_HEALTH_MAX_DEPS 8

typedef enum { DEP_UNKNOWN, DEP_UP, DEP_DOWN } dep_state;

struct gg_dep {
    gg_health *h;
    char name[32];
    gg_health_probe probe;
    void *ud;
    dep_state state;   /* guarded by h->lock */
    bool optional;     /* does not decide readiness; guarded by h->lock */
    char error[256];   /* last failure, kept after recovery for diagnosis */
    time_t changed_at; /* wall clock of the last state change */
    time_t error_at;
    int64_t next_probe_ms; /* monotonic */
    gg_backoff backoff;
    gg_gauge *up_gauge;
    gg_counter *failures;
};

struct gg_health {
    gg_log *log;
    gg_metrics *metrics;
    gg_dep deps[GG_HEALTH_MAX_DEPS];
    size_t ndeps;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stopping;
    atomic_bool draining;
    unsigned interval_ms;
};

gg_health *gg_health_new(gg_log *log, gg_metrics *metrics)
{
    gg_health *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->log = log;
    h->metrics = metrics;
    h->interval_ms = 5000;
    pthread_mutex_init(&h->lock, NULL);
    gg_time_cond_init(&h->wake); /* deadlines must not jump with the wall clock */
    return h;
}

gg_dep *gg_health_add(gg_health *h, const char *name, gg_health_probe probe, void *ud)
{
    if (h->ndeps == GG_HEALTH_MAX_DEPS)
        return NULL;
    gg_dep *d = &h->deps[h->ndeps++];
    d->h = h;
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->probe = probe;
    d->ud = ud;
    d->state = DEP_UNKNOWN;
    d->changed_at = time(NULL);
    gg_backoff_init(&d->backoff, 100, 5000);
    if (h->metrics) {
        char labels[64];
        snprintf(labels, sizeof(labels), "dependency=\"%s\"", d->name);
        d->up_gauge = gg_metrics_gauge(h->metrics, "dependency_up",
                                       "1 when the backing service answers, else 0", labels);
        d->failures = gg_metrics_counter(h->metrics, "dependency_failures_total",
                                         "Failed calls and probes of a backing service", labels);
    }
    return d;
}

void gg_health_set_optional(gg_dep *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->h->lock);
    d->optional = true;
    pthread_mutex_unlock(&d->h->lock);
}

/* Called with h->lock held. */
static void set_state(gg_dep *d, bool up, const char *err)
{
    gg_health *h = d->h;
    dep_state next = up ? DEP_UP : DEP_DOWN;
    if (!up) {
        snprintf(d->error, sizeof(d->error), "%s", err && *err ? err : "unavailable");
        d->error_at = time(NULL);
        if (d->failures)
            gg_counter_add(d->failures, 1);
    }
    if (d->up_gauge)
        gg_gauge_set(d->up_gauge, up ? 1.0 : 0.0);
    if (d->state == next)
        return;
    if (up)
        gg_info(h->log, "dependency up", "{s:s}", "dependency", d->name);
    else
        gg_warn(h->log, "dependency down", "{s:s, s:s}", "dependency", d->name, "error", d->error);
    d->state = next;
    d->changed_at = time(NULL);
    pthread_cond_broadcast(&h->wake);
}

void gg_health_report(gg_dep *d, bool up, const char *err)
{
    if (!d)
        return;
    gg_health *h = d->h;
    pthread_mutex_lock(&h->lock);
    bool was_up = d->state == DEP_UP;
    set_state(d, up, err);
    if (!up && was_up) {
        gg_backoff_reset(&d->backoff);
        d->next_probe_ms = gg_time_mono_ms() + gg_backoff_next(&d->backoff);
        pthread_cond_broadcast(&h->wake);
    }
    pthread_mutex_unlock(&h->lock);
}

bool gg_health_dep_up(const gg_dep *d)
{
    gg_health *h = d->h;
    pthread_mutex_lock(&h->lock);
    bool up = d->state == DEP_UP;
    pthread_mutex_unlock(&h->lock);
    return up;
}

bool gg_health_ready(gg_health *h)
{
    if (atomic_load(&h->draining))
        return false;
    bool ready = true;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->ndeps; i++)
        ready = ready && (h->deps[i].optional || h->deps[i].state == DEP_UP);
    pthread_mutex_unlock(&h->lock);
    return ready;
}

bool gg_health_wait_up(gg_dep *d, int timeout_ms)
{
    gg_health *h = d->h;
    struct timespec until;
    gg_time_deadline(&until, timeout_ms);
    pthread_mutex_lock(&h->lock);
    while (d->state != DEP_UP && !h->stopping) {
        if (pthread_cond_timedwait(&h->wake, &h->lock, &until) != 0)
            break;
    }
    bool up = d->state == DEP_UP;
    pthread_mutex_unlock(&h->lock);
    return up;
}

void gg_health_set_draining(gg_health *h)
{
    atomic_store(&h->draining, true);
}

/* Runs one due probe without holding the lock: probes block on the network. */
static void run_probe(gg_health *h, gg_dep *d)
{
    char err[256] = "";
    int rc = d->probe ? d->probe(d->ud, err, sizeof(err)) : 0;
    pthread_mutex_lock(&h->lock);
    set_state(d, rc == 0, err);
    if (rc == 0) {
        gg_backoff_reset(&d->backoff);
        d->next_probe_ms = gg_time_mono_ms() + h->interval_ms;
    } else {
        d->next_probe_ms = gg_time_mono_ms() + gg_backoff_next(&d->backoff);
    }
    pthread_mutex_unlock(&h->lock);
}

static void *probe_loop(void *arg)
{
    gg_health *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        int64_t now = gg_time_mono_ms(), soonest = now + h->interval_ms;
        gg_dep *due = NULL;
        for (size_t i = 0; i < h->ndeps; i++) {
            if (h->deps[i].next_probe_ms <= now) {
                due = &h->deps[i];
                break;
            }
            if (h->deps[i].next_probe_ms < soonest)
                soonest = h->deps[i].next_probe_ms;
        }
        if (due) {
            pthread_mutex_unlock(&h->lock);
            run_probe(h, due);
            pthread_mutex_lock(&h->lock);
            continue;
        }
        struct timespec until;
        gg_time_deadline(&until, soonest - now);
        pthread_cond_timedwait(&h->wake, &h->lock, &until);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int gg_health_start(gg_health *h, unsigned interval_ms)
{
    h->interval_ms = interval_ms ? interval_ms : 5000;
    for (size_t i = 0; i < h->ndeps; i++)
        gg_backoff_init(&h->deps[i].backoff, 100, h->interval_ms);
    if (pthread_create(&h->thread, NULL, probe_loop, h) != 0)
        return -1;
    h->running = true;
    return 0;
}

void gg_health_stop(gg_health *h)
{
    if (!h || !h->running)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    h->running = false;
}

void gg_health_free(gg_health *h)
{
    if (!h)
        return;
    gg_health_stop(h);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static const char *state_name(dep_state s)
{
    return s == DEP_UP ? "up" : s == DEP_DOWN ? "down" : "unknown";
}

static json_t *iso_time(time_t t)
{
    char buf[32];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

json_t *gg_health_json(gg_health *h)
{
    bool ready = gg_health_ready(h);
    json_t *deps = json_object();
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->ndeps; i++) {
        gg_dep *d = &h->deps[i];
        json_t *o = json_pack("{s:s, s:o}", "status", state_name(d->state), "since",
                              iso_time(d->changed_at));
        if (d->optional)
            json_object_set_new(o, "optional", json_true());
        if (d->error[0]) {
            json_object_set_new(o, "last_error", json_string(d->error));
            json_object_set_new(o, "last_error_at", iso_time(d->error_at));
        }
        json_object_set_new(deps, d->name, o);
    }
    pthread_mutex_unlock(&h->lock);
    const char *status = atomic_load(&h->draining) ? "draining" : ready ? "ready" : "not_ready";
    return json_pack("{s:s, s:o}", "status", status, "dependencies", deps);
}

static void handle_healthz(gg_http_req *req, void *ud)
{
    (void)ud;
    static const char body[] = "{\"status\":\"alive\"}";
    gg_http_add_header(req, "Cache-Control", "no-store");
    gg_http_reply_static(req, 200, "application/json", body, sizeof(body) - 1);
}

static void handle_readyz(gg_http_req *req, void *ud)
{
    gg_health *h = ud;
    json_t *body = gg_health_json(h);
    bool ready = strcmp(json_string_value(json_object_get(body, "status")), "ready") == 0;
    gg_http_add_header(req, "Cache-Control", "no-store");
    gg_http_reply_json(req, ready ? 200 : 503, body);
}

int gg_health_mount(gg_health *h, gg_http_server *http)
{
    if (gg_http_route(http, "GET", "/healthz", 0, handle_healthz, h) != 0)
        return -1;
    return gg_http_route(http, "GET", "/readyz", 0, handle_readyz, h);
}
