/* analytics_backend: what every call to WebHCat or WebHDFS shares: the HTTP client, the base
 * URLs, the Hadoop user, and the bookkeeping around each call (latency metric, in-band health
 * report, error classification). analytics_webhcat.c and analytics_webhdfs.c speak the two
 * protocols on top of it. */
#ifndef ANALYTICS_BACKEND_H
#define ANALYTICS_BACKEND_H

#include <jansson.h>

#include "analytics_client.h"
#include "gg_health.h"
#include "gg_metrics.h"

typedef enum analytics_backend_id { AB_WEBHCAT = 0, AB_WEBHDFS = 1 } analytics_backend_id;

typedef struct analytics_backend {
    analytics_client *http;
    const char *webhcat_url; /* ".../templeton/v1", no trailing slash */
    const char *webhdfs_url; /* ".../webhdfs/v1", no trailing slash */
    const char *user;        /* user.name on every call */
    /* JDBC URL of HiveServer2, or NULL. Hive 4's bin/hive runs Beeline, which runs nothing
     * without a connection ("Cannot run commands specified using -e. No current connection")
     * unless the launcher hosts have a beeline-site.xml: jobs then get the Beeline arguments
     * -u URL -n user (WebHCat's `arg` parameters). Hive 3's command line refuses them. */
    const char *hive_jdbc_url;
    gg_dep *dep[2]; /* in-band health reports; NULL in tests */
    gg_histogram *latency[2];
} analytics_backend;

/* "webhcat" / "webhdfs". */
const char *analytics_backend_name(analytics_backend_id id);
/* Registers the latency histograms in metrics (may be NULL). */
void analytics_backend_metrics(analytics_backend *b, gg_metrics *metrics);

/* Performs call against backend id: observes its latency, reports the dependency down when it
 * did not answer (or a gateway in front of it said 502/503/504) and up otherwise. Returns 0 with
 * an HTTP answer in r, or -1 with e filled (AE_UNREACHABLE). */
int analytics_backend_call(const analytics_backend *b, analytics_backend_id id,
                           const analytics_call *call, analytics_resp *r, analytics_err *e);

/* Classifies a non-2xx answer into e, taking the reason from the backend's JSON error body
 * ({"error": ...} for WebHCat, {"RemoteException": {...}} for WebHDFS). */
void analytics_backend_fail(analytics_backend_id id, const analytics_resp *r, analytics_err *e);

/* Parses r's body as a JSON object; on failure fills e (AE_BACKEND) and returns NULL. */
json_t *analytics_backend_json(analytics_backend_id id, const analytics_resp *r, analytics_err *e);

#endif
