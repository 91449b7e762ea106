/* The analytics service in-process against the fake of test_analytics_fake.h, for tests and tools
 * that drive it with many jobs: start with settings of one's own, one request as the admin,
 * waiting for conditions. Include test_analytics_fake.h (and cmocka) first. */
#ifndef TEST_ANALYTICS_SVC_H
#define TEST_ANALYTICS_SVC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics.h"
#include "http_client.h"

typedef struct svc {
    analytics_ctx ctx;
    CURL *curl;
    char base[64];
} svc;

/* Starts the service over fake f; tune (may be NULL) changes the test settings before. */
static svc *svc_start_tuned(fake *f, void (*tune)(analytics_settings *c, void *arg), void *arg)
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
    c->admin_token = strdup("adm");
    c->backend_timeout_ms = 2000;
    c->submit_timeout_ms = 1000;
    c->jobs_dir = strdup("/jobs");
    c->wordcount_top_max = 100;
    c->wait_max_s = 60;
    c->poll_interval_ms = 100;
    c->query_max_bytes = 4096;
    c->lease_ms = 300;
    c->retention_s = 3600;
    c->retention_count = 1000;
    c->input_roots = strdup("/in");
    if (tune)
        tune(c, arg);
    if (gg_service_init(&s->ctx.svc, "analytics", &c->base) != 0 || analytics_setup(&s->ctx) != 0 ||
        gg_service_start(&s->ctx.svc) != 0 || analytics_run(&s->ctx) != 0) {
        fprintf(stderr, "the analytics service did not start\n");
        abort();
    }
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u", gg_http_port(s->ctx.svc.http));
    s->curl = curl_easy_init();
    return s;
}

static void svc_stop(svc *s)
{
    analytics_stop(&s->ctx);
    gg_service_drain(&s->ctx.svc);
    gg_health_stop(s->ctx.svc.health);
    analytics_teardown(&s->ctx);
    gg_service_destroy(&s->ctx.svc);
    analytics_settings *c = &s->ctx.cfg;
    char *strs[] = {c->base.listen, c->webhcat_url, c->webhdfs_url, c->hadoop_user,
                    c->admin_token, c->jobs_dir,    c->input_roots, c->api_token};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(strs[i]);
    curl_easy_cleanup(s->curl);
    free(s);
}

/* One request as the admin: the parsed body (caller frees, NULL when not JSON) and the status in
 * *status (0 when no answer came). */
static json_t *svc_call(svc *s, const char *method, const char *path, const char *body,
                        long *status)
{
    static const char *const hdrs[] = {"Content-Type: application/json",
                                       "Authorization: Bearer adm", NULL};
    char url[256];
    tc_response *r = calloc(1, sizeof(*r));
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    json_t *j = NULL;
    *status = 0;
    if (tc_request(s->curl, method, url, hdrs, body, r) == 0) {
        *status = r->status;
        j = json_loads(r->body, 0, NULL);
    }
    free(r);
    return j;
}

static int64_t svc_ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Waits (10 ms steps, at most limit_ms) until cond(arg) holds; returns whether it did. */
static bool svc_await(bool (*cond)(void *arg), void *arg, int64_t limit_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!cond(arg)) {
        if (svc_ms_since(&t0) > limit_ms)
            return false;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return true;
}

static bool svc_loaded(void *arg)
{
    return analytics_store_loaded(((svc *)arg)->ctx.store);
}

/* Jobs in the service's memory. */
static size_t svc_jobs(svc *s)
{
    analytics_store_lock(s->ctx.store);
    size_t n = analytics_store_count(s->ctx.store);
    analytics_store_unlock(s->ctx.store);
    return n;
}

/* VmRSS of this process in KiB (0 when /proc cannot tell). */
static long svc_rss_kib(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (fp && fgets(line, sizeof(line), fp))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (fp)
        fclose(fp);
    return kib;
}

#endif
