/* analytics: the service that turns REST requests into HiveQL jobs submitted to WebHCat and
 * returns their results as JSON. This header holds the service's settings and context; each
 * analytics_*.h next to it is the interface of one part. */
#ifndef ANALYTICS_H
#define ANALYTICS_H

#include <stdint.h>

#include "analytics_backend.h"
#include "analytics_store.h"
#include "gg_config.h"
#include "gg_options.h"
#include "gg_service.h"
#include "gg_time.h"

typedef struct analytics_tracker analytics_tracker;
typedef struct analytics_pool analytics_pool;

typedef struct analytics_settings {
    gg_base_settings base;
    char *webhcat_url;
    char *webhdfs_url;
    char *hadoop_user;
    char *api_token;
    char *admin_token;
    long backend_timeout_ms;
    long submit_timeout_ms; /* POST hive: WebHCat queues the job before it answers */
    char *jobs_dir;         /* unset: /user/<hadoop user>/gridgate/jobs */
    char *hdfs_uri; /* prefix of external table locations; unset: the cluster's default FS */
    long wordcount_top_max;
    long wait_max_s;
    long poll_interval_ms;
    long query_max_bytes;
    long lease_ms;
    long unlisted_grace_ms; /* a launched job WebHCat never lists is followed this long */
    long retention_s;       /* finished jobs older than this are removed */
    long retention_count;   /* and beyond this many finished ones */
    bool open_access;       /* no API token: word counts and job reads open to anyone (a lab) */
    char *input_roots;      /* comma-separated HDFS directories word counts may read below */
    char *backend_auth;     /* simple, basic or negotiate (analytics_client.h) */
    char *backend_user;     /* basic */
    char *backend_password;
    char *hive_jdbc_url; /* Beeline's -u for Hive 4's bin/hive (analytics_backend.h) */
} analytics_settings;

/* The service's own counters, beside the HTTP and dependency metrics every service has. */
typedef struct analytics_metrics {
    gg_counter *submitted[2]; /* by kind */
    gg_counter *finished[5];  /* by final state */
    gg_counter *cache_hits;
    gg_gauge *active;  /* jobs not finished yet */
    gg_gauge *waiting; /* requests parked until their job ends */
} analytics_metrics;

typedef struct analytics_ctx {
    gg_service svc;
    analytics_settings cfg;
    char *jobs_dir; /* effective, without a trailing '/' */
    analytics_backend backend;
    analytics_store *store;
    analytics_tracker *tracker;
    analytics_pool *pool; /* runs the handlers that call backends, off the HTTP threads */
    analytics_metrics m;
    char replica[96]; /* host, pid and a random part: written into the lease files it takes */
    gg_dep *jobs_dep; /* "jobs" in /readyz: up once the job records are loaded */
} analytics_ctx;

/* Rows of a result to return: GET /v1/jobs/{id}?offset=&limit=. */
typedef struct analytics_page {
    int64_t offset;
    long limit;
} analytics_page;

/* analytics_service.c: everything between the parsed settings and a running service, as the
 * hooks of gg_service_main (gg_service.h); ud is the analytics_ctx. */
int analytics_setup(void *ud); /* after gg_service_init, before gg_service_start */
int analytics_run(void *ud);   /* starts the tracker */
void analytics_stop(void *ud); /* answers parked requests, stops the tracker */
void analytics_teardown(void *ud);

#endif
