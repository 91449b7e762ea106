/* Many jobs through the in-process service: raw queries submitted one after another to the fake
 * in auto_finish mode (each one has succeeded before WebHCat answers), with the memory of the
 * process, the jobs in the service and the records in the fake's HDFS taken at marks. Used by the
 * unit tests of what jobs cost and by tool_analytics_churn (the full figure). Include cmocka
 * first. */
#ifndef TEST_ANALYTICS_CHURN_H
#define TEST_ANALYTICS_CHURN_H

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test_analytics_svc.h"

static int64_t churn_ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Waits (10 ms steps, at most limit_ms) until cond(arg) holds; returns whether it did. */
static bool churn_await(bool (*cond)(void *arg), void *arg, int64_t limit_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!cond(arg)) {
        if (churn_ms_since(&t0) > limit_ms)
            return false;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return true;
}

/* Jobs in the service's memory. */
static size_t churn_jobs(svc *s)
{
    analytics_store_lock(s->ctx.store);
    size_t n = analytics_store_count(s->ctx.store);
    analytics_store_unlock(s->ctx.store);
    return n;
}

/* VmRSS of this process in KiB (0 when /proc cannot tell). */
static long churn_rss_kib(void)
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

typedef struct churn_mark {
    size_t submitted;
    int64_t ms;       /* since the first submission */
    long rss_kib;     /* VmRSS of the process (service, fake and client) */
    long heap_kib;    /* bytes malloc has handed out and not had back (mallinfo2) */
    size_t in_memory; /* jobs in the service's index */
    size_t records;   /* job records (job.json) in the fake's HDFS */
    size_t files;     /* files in the fake's HDFS */
} churn_mark;

/* Whether every job has finished and its record is written. */
static bool churn_idle(void *arg)
{
    analytics_store *store = ((svc *)arg)->ctx.store;
    analytics_job *const *jobs;
    analytics_store_lock(store);
    size_t busy = analytics_store_active(store, &jobs);
    analytics_store_unlock(store);
    return busy == 0;
}

/* Whether retention has brought the jobs kept down to its count. */
static bool churn_retained(void *arg)
{
    svc *s = arg;
    return churn_jobs(s) <= (size_t)s->ctx.cfg.retention_count;
}

static void churn_take(svc *s, fake *f, size_t submitted, const struct timespec *t0, churn_mark *m)
{
    m->submitted = submitted;
    m->ms = churn_ms_since(t0);
    m->rss_kib = churn_rss_kib();
    m->heap_kib = (long)(mallinfo2().uordblks / 1024);
    m->in_memory = churn_jobs(s);
    m->records = m->files = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nfiles; i++) {
        if (!f->files[i].data)
            continue;
        m->files++;
        const char *slash = strrchr(f->files[i].path, '/');
        m->records += slash && strcmp(slash, "/job.json") == 0;
    }
    pthread_mutex_unlock(&f->lock);
}

/* Submits marks[nmarks - 1] raw queries; at each mark waits until the jobs so far have finished
 * and retention has had two sweeps (lease periods) to catch up, then fills out[k]. Returns the
 * number of submissions that were not accepted (202). */
static size_t churn_run(svc *s, fake *f, const size_t *marks, size_t nmarks, churn_mark *out)
{
    fake_set(f, &f->auto_finish, true);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t refused = 0, k = 0;
    for (size_t i = 1; k < nmarks; i++) {
        char body[96];
        long st;
        snprintf(body, sizeof(body), "{\"hiveql\": \"SELECT %zu\"}", i);
        json_decref(call(s, "POST", "/v1/queries", body, &st));
        refused += st != 202;
        if (i < marks[k])
            continue;
        churn_await(churn_idle, s, 60000);
        churn_await(churn_retained, s, 2 * s->ctx.cfg.lease_ms + 1000);
        churn_take(s, f, i, &t0, &out[k++]);
    }
    fake_set(f, &f->auto_finish, false);
    return refused;
}

#endif
