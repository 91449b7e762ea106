/* The analytics service started in-process against the fake of test_analytics_fake.h, and the
 * calls the unit tests make to it. */
#ifndef TEST_ANALYTICS_SVC_H
#define TEST_ANALYTICS_SVC_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "http_client.h"
#include "test_analytics_fake.h"

typedef struct svc {
    analytics_ctx ctx;
    CURL *curl;
    char base[64];
} svc;

/* Starts the service against the fake; tweak (may be NULL) adjusts the settings first. */
static inline svc *svc_start_cfg(fake *f, const char *api, const char *admin, bool open,
                                 void (*tweak)(analytics_settings *))
{
    svc *s = calloc(1, sizeof(*s));
    analytics_settings *c = &s->ctx.cfg;
    char url[128];
    c->base = (gg_base_settings){
        strdup("127.0.0.1:0"), GG_LOG_ERROR, 2, 1 << 20, NULL, 100, 1000, 0, 0, 0, 0, 0};
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/templeton/v1", f->port);
    c->webhcat_url = strdup(url);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhdfs/v1/", f->port);
    c->webhdfs_url = strdup(url);
    c->hadoop_user = strdup("gridgate");
    c->admin_token = admin ? strdup(admin) : NULL;
    c->api_token = api ? strdup(api) : NULL;
    c->open_access = open;
    c->backend_timeout_ms = 2000;
    c->submit_timeout_ms = 1000;
    c->jobs_dir = strdup("/jobs");
    c->wordcount_top_max = 100;
    c->wait_max_s = 60;
    c->poll_interval_ms = 100;
    c->query_max_bytes = 4096;
    c->lease_ms = 300;
    c->unlisted_grace_ms = 600000;
    c->retention_s = 3600;
    c->retention_count = 1000;
    c->input_roots = strdup("/in");
    if (tweak)
        tweak(c);
    assert_int_equal(gg_service_init(&s->ctx.svc, "analytics", &c->base), 0);
    assert_int_equal(analytics_setup(&s->ctx), 0);
    assert_int_equal(gg_service_start(&s->ctx.svc), 0);
    assert_int_equal(analytics_run(&s->ctx), 0);
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u", gg_http_port(s->ctx.svc.http));
    s->curl = curl_easy_init();
    return s;
}

static inline svc *svc_start_with(fake *f, const char *api, const char *admin, bool open)
{
    return svc_start_cfg(f, api, admin, open, NULL);
}

static inline svc *svc_start(fake *f)
{
    return svc_start_with(f, NULL, "adm", false);
}

static inline void svc_stop(svc *s)
{
    analytics_stop(&s->ctx);
    gg_service_drain(&s->ctx.svc);
    gg_health_stop(s->ctx.svc.health);
    analytics_teardown(&s->ctx);
    gg_service_destroy(&s->ctx.svc);
    analytics_settings *c = &s->ctx.cfg;
    char *strs[] = {c->base.listen, c->webhcat_url, c->webhdfs_url, c->hadoop_user,  c->admin_token,
                    c->jobs_dir,    c->input_roots, c->api_token,   c->hive_jdbc_url};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(strs[i]);
    curl_easy_cleanup(s->curl);
    free(s);
}

/* One request with a bearer token (NULL: none); returns the parsed JSON body (caller frees) and
 * the status in *status. raw, when given, gets the body's text (caller frees). */
static inline json_t *call_as(svc *s, const char *token, const char *method, const char *path,
                              const char *body, long *status, char **raw)
{
    char auth[96];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
    const char *hdrs[] = {"Content-Type: application/json", token ? auth : NULL, NULL};
    char url[256];
    tc_response *r = calloc(1, sizeof(*r));
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    assert_int_equal(tc_request(s->curl, method, url, hdrs, body, r), 0);
    *status = r->status;
    json_t *j = json_loads(r->body, 0, NULL);
    if (raw)
        *raw = strdup(r->body);
    free(r);
    return j;
}

/* One request as the admin. */
static inline json_t *call(svc *s, const char *method, const char *path, const char *body,
                           long *status)
{
    static const char *const hdrs[] = {"Content-Type: application/json",
                                       "Authorization: Bearer adm", NULL};
    char url[256];
    tc_response *r = calloc(1, sizeof(*r));
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    assert_int_equal(tc_request(s->curl, method, url, hdrs, body, r), 0);
    *status = r->status;
    json_t *j = json_loads(r->body, 0, NULL);
    free(r);
    return j;
}

static inline const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* True until 30 s after *t0 (set on the first call): generous for sanitizer builds on a busy
 * machine, which run the service several times slower. */
static inline bool before_deadline(struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (t0->tv_sec == 0 && t0->tv_nsec == 0)
        *t0 = now;
    return now.tv_sec - t0->tv_sec < 30;
}

/* Polls GET /v1/jobs/{id} until its state is `want`. */
static inline json_t *await_state(svc *s, const char *id, const char *want)
{
    char path[96];
    struct timespec t0 = {0, 0};
    snprintf(path, sizeof(path), "/v1/jobs/%s", id);
    while (before_deadline(&t0)) {
        long st;
        json_t *j = call(s, "GET", path, NULL, &st);
        if (st == 200 && strcmp(str(j, "state"), want) == 0)
            return j;
        json_decref(j);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("job %s never reached %s", id, want);
    return NULL;
}

/* Until the records are loaded, GET /v1/jobs answers 503; tests start after that. */
static inline void svc_await_loaded(svc *s)
{
    struct timespec t0 = {0, 0};
    while (before_deadline(&t0)) {
        if (analytics_store_loaded(s->ctx.store))
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("job records never loaded");
}

#endif
