/* tool_analytics_churn: whether gridgate-analytics keeps a flat memory while jobs come and go.
 * Runs the service in-process against the unit tests' fake of WebHCat and WebHDFS (in its mode
 * where every job succeeds at once), submits N raw queries one after another and prints, every
 * 1,000 jobs (once they have finished and retention has had two sweeps), the process's RSS, the
 * jobs in the service's memory and the job records in the fake HDFS. The RSS includes the fake's
 * files and the client; it should stop growing once retention removes as many jobs as arrive.
 *
 *   tool_analytics_churn [JOBS (10000)] [RETENTION_COUNT (1000)] [LEASE_MS (3000)]
 *
 * Run by bench/analytics/churn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "analytics.h"
/* The fake serves several executables: not each one uses all of it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../unit/test_analytics_churn.h"
#pragma GCC diagnostic pop

#define MAX_MARKS 1000

/* The settings from the command line, for tune (set once, before the service starts). */
static struct {
    long retention_count, lease_ms;
} want;

static void tune(analytics_settings *c)
{
    c->retention_count = want.retention_count;
    c->lease_ms = want.lease_ms;
    c->poll_interval_ms = 2000; /* the default */
}

int main(int argc, char **argv)
{
    size_t jobs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    want.retention_count = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    want.lease_ms = argc > 3 ? strtol(argv[3], NULL, 10) : 3000;
    if (jobs < 1 || jobs > 1000u * MAX_MARKS || want.retention_count < 1 || want.lease_ms < 100) {
        fprintf(stderr, "usage: %s [JOBS (1..%u)] [RETENTION_COUNT] [LEASE_MS (>= 100)]\n", argv[0],
                1000u * MAX_MARKS);
        return 2;
    }
    static size_t marks[MAX_MARKS];
    static churn_mark m[MAX_MARKS];
    size_t nmarks = 0;
    for (size_t k = 1000; k < jobs; k += 1000)
        marks[nmarks++] = k;
    marks[nmarks++] = jobs;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    void *state = NULL;
    fake_setup(&state);
    fake *f = state;
    long rss0 = churn_rss_kib();
    svc *s = svc_start_cfg(f, NULL, "adm", false, tune);
    svc_await_loaded(s);
    long rss_started = churn_rss_kib();
    size_t refused = churn_run(s, f, marks, nmarks, m);
    printf("retention count %ld, lease %ld ms; RSS %ld KiB before the service, %ld KiB once "
           "started\n",
           want.retention_count, want.lease_ms, rss0, rss_started);
    printf("%8s %10s %10s %10s %10s %10s %10s\n", "jobs", "ms", "RSS KiB", "heap KiB", "in memory",
           "records", "files");
    for (size_t k = 0; k < nmarks; k++)
        printf("%8zu %10lld %10ld %10ld %10zu %10zu %10zu\n", m[k].submitted, (long long)m[k].ms,
               m[k].rss_kib, m[k].heap_kib, m[k].in_memory, m[k].records, m[k].files);
    printf("submissions refused: %zu\n", refused);
    svc_stop(s);
    fake_teardown(&state);
    curl_global_cleanup();
    return refused == 0 && m[nmarks - 1].in_memory <= (size_t)want.retention_count ? 0 : 1;
}
