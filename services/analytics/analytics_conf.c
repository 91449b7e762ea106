/* analytics_conf: the analytics service's settings (see analytics_conf.h). */
#include "analytics_conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "analytics_client.h"
#include "analytics_validate.h"

static int check_hdfs_dir(const char *value, char *why, size_t whylen)
{
    return analytics_valid_path(value, why, whylen) ? 0 : -1;
}

/* hdfs://host:port (or another scheme the cluster reads, e.g. viewfs://name), nothing after. */
static int check_fs_uri(const char *value, char *why, size_t whylen)
{
    const char *sep = strstr(value, "://");
    bool ok = sep && sep > value && sep[3];
    for (const char *p = value; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr(".-_:/", *p);
    const char *slash = ok ? strchr(sep + 3, '/') : NULL;
    if (slash && slash[strspn(slash, "/")]) /* only trailing slashes after the authority */
        ok = false;
    if (!ok)
        snprintf(why, whylen, "must be a file system URI such as hdfs://namenode:8020, no path");
    return ok ? 0 : -1;
}

/* One or more absolute HDFS paths separated by commas. */
static int check_roots(const char *value, char *why, size_t whylen)
{
    char *copy = strdup(value), *save = NULL;
    int rc = copy ? 0 : -1;
    size_t n = 0;
    for (char *r = copy ? strtok_r(copy, ",", &save) : NULL; r && rc == 0;
         r = strtok_r(NULL, ",", &save), n++)
        if (!analytics_valid_path(r, why, whylen))
            rc = -1;
    if (rc == 0 && n == 0) {
        snprintf(why, whylen, "must name at least one HDFS directory");
        rc = -1;
    }
    free(copy);
    return rc;
}

/* Beeline connects to jdbc:hive2:// URLs; anything else would fail every job. The URL is one
 * command-line argument: no line breaks. */
static int check_jdbc_url(const char *value, char *why, size_t whylen)
{
    if (strncmp(value, "jdbc:hive2://", 13) != 0 || strpbrk(value, "\r\n")) {
        snprintf(why, whylen, "must be a HiveServer2 URL, jdbc:hive2://host:port/db;...");
        return -1;
    }
    return 0;
}

static int check_auth_mode(const char *value, char *why, size_t whylen)
{
    int mode = analytics_auth_mode_of(value);
    if (mode < 0) {
        snprintf(why, whylen, "must be simple, basic or negotiate");
        return -1;
    }
    if (!analytics_auth_supported((analytics_auth_mode)mode)) {
        snprintf(why, whylen, "this libcurl has no SPNEGO (GSS-API) support");
        return -1;
    }
    return 0;
}

// clang-format off
static const gg_conf_opt analytics_opts[] = {
    GG_OPTS_BASE(analytics_settings, base, "0.0.0.0:8083"),
    {"webhcat-url", GG_CONF_STR, offsetof(analytics_settings, webhcat_url),
     "http://localhost:50111/templeton/v1", "WebHCat (Templeton) v1 base URL", 0, 0,
     gg_conf_check_http_url, GG_CONF_REQUIRED},
    {"webhdfs-url", GG_CONF_STR, offsetof(analytics_settings, webhdfs_url),
     "http://localhost:9870/webhdfs/v1", "WebHDFS base URL of the NameNode", 0, 0,
     gg_conf_check_http_url, GG_CONF_REQUIRED},
    {"hadoop-user", GG_CONF_STR, offsetof(analytics_settings, hadoop_user), "gridgate",
     "user.name sent to WebHCat and WebHDFS", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"api-token", GG_CONF_STR, offsetof(analytics_settings, api_token), NULL,
     "bearer token for word counts and job reads; unset closes them (see open-access)", 0, 0,
     NULL,
     GG_CONF_SECRET},
    {"admin-token", GG_CONF_STR, offsetof(analytics_settings, admin_token), NULL,
     "bearer token for raw HiveQL and killing jobs; unset disables them", 0, 0, NULL,
     GG_CONF_SECRET},
    {"backend-timeout-ms", GG_CONF_INT, offsetof(analytics_settings, backend_timeout_ms), "5000",
     "timeout of one call to WebHCat or WebHDFS (streamed reads: longest stall)", 100, 600000,
     NULL, 0},
    {"submit-timeout-ms", GG_CONF_INT, offsetof(analytics_settings, submit_timeout_ms), "60000",
     "timeout of the WebHCat calls that wait for YARN: submitting, killing and listing jobs",
     100, 600000,
     NULL, 0},
    {"jobs-dir", GG_CONF_STR, offsetof(analytics_settings, jobs_dir), NULL,
     "HDFS directory of job records and statusdirs; unset: /user/<hadoop-user>/gridgate/jobs",
     0, 0, check_hdfs_dir, 0},
    {"hdfs-uri", GG_CONF_STR, offsetof(analytics_settings, hdfs_uri), NULL,
     "file system URI put before input paths in table locations (hdfs://namenode:8020); unset: "
     "the cluster's default file system", 0, 0, check_fs_uri, 0},
    {"wordcount-top-max", GG_CONF_INT, offsetof(analytics_settings, wordcount_top_max), "1000",
     "largest top list a word count may ask for", 1, 100000, NULL, 0},
    {"wait-max-s", GG_CONF_INT, offsetof(analytics_settings, wait_max_s), "3600",
     "longest ?wait= a request may ask for, seconds", 1, 86400, NULL, 0},
    {"poll-interval-ms", GG_CONF_INT, offsetof(analytics_settings, poll_interval_ms), "2000",
     "longest pause between two status polls of a running job", 100, 600000, NULL, 0},
    {"query-max-bytes", GG_CONF_INT, offsetof(analytics_settings, query_max_bytes), "65536",
     "largest raw HiveQL text accepted", 16, 1048576, NULL, 0},
    {"open-access", GG_CONF_BOOL, offsetof(analytics_settings, open_access), "false",
     "without an API token, let callers without a token run word counts and read them (a lab)",
     0, 0, NULL, 0},
    {"input-roots", GG_CONF_STR, offsetof(analytics_settings, input_roots), "/data",
     "comma-separated HDFS directories word counts may read below (never the jobs directory)", 0,
     0, check_roots, 0},
    {"job-retention-s", GG_CONF_INT, offsetof(analytics_settings, retention_s), "604800",
     "finished jobs older than this many seconds are removed, with their HDFS directory", 60,
     315360000, NULL, 0},
    {"job-retention-count", GG_CONF_INT, offsetof(analytics_settings, retention_count), "10000",
     "finished jobs kept at most (the newest); older ones are removed with their HDFS directory",
     1, 10000000, NULL, 0},
    {"job-lease-ms", GG_CONF_INT, offsetof(analytics_settings, lease_ms), "3000",
     "lease of the replica that tracks a job; another takes the job over after it lapses", 300,
     600000, NULL, 0},
    {"unlisted-grace-ms", GG_CONF_INT, offsetof(analytics_settings, unlisted_grace_ms),
     "600000",
     "how long a job whose launcher started but that WebHCat never lists is looked for before "
     "it is failed", 1000, 86400000, NULL, 0},
    {"backend-auth", GG_CONF_STR, offsetof(analytics_settings, backend_auth), "simple",
     "authentication towards WebHCat and WebHDFS: simple (user.name only), basic (HTTP Basic, "
     "e.g. an Apache Knox gateway) or negotiate (SPNEGO with the process's Kerberos ticket)", 0,
     0, check_auth_mode, GG_CONF_REQUIRED},
    {"backend-user", GG_CONF_STR, offsetof(analytics_settings, backend_user), NULL,
     "user name of basic authentication", 0, 0, NULL, 0},
    {"backend-password", GG_CONF_STR, offsetof(analytics_settings, backend_password), NULL,
     "password of basic authentication", 0, 0, NULL, GG_CONF_SECRET},
    {"hive-jdbc-url", GG_CONF_STR, offsetof(analytics_settings, hive_jdbc_url), NULL,
     "HiveServer2 JDBC URL for Hive 4, whose hive command runs Beeline: jobs get Beeline's -u "
     "URL -n <hadoop-user>; unset for Hive 3 or when the cluster has a beeline-site.xml", 0, 0,
     check_jdbc_url, 0},
};
// clang-format on
#define ANALYTICS_NOPTS (sizeof(analytics_opts) / sizeof(analytics_opts[0]))

/* What the start would reject after the table: basic credentials without basic authentication
 * or the reverse, and the jobs directory derived from the Hadoop user when GRIDGATE_JOBS_DIR is
 * unset (a user name with a space makes an unusable path). */
static int analytics_validate(const void *settings, const gg_conf_props *props, char *why,
                              size_t len)
{
    const analytics_settings *cfg = settings;
    char dir[ANALYTICS_PATH_MAX + 64], reason[128];
    (void)props;
    bool basic = analytics_auth_mode_of(cfg->backend_auth) == ANALYTICS_AUTH_BASIC;
    if (basic != (cfg->backend_user && *cfg->backend_user && cfg->backend_password)) {
        snprintf(why, len,
                 "--backend-user and --backend-password (env GRIDGATE_BACKEND_USER, "
                 "GRIDGATE_BACKEND_PASSWORD) are %s",
                 basic ? "needed with --backend-auth=basic"
                       : "only taken with --backend-auth=basic");
        return -1;
    }
    if (cfg->jobs_dir)
        return 0;
    snprintf(dir, sizeof(dir), "/user/%s/gridgate/jobs", cfg->hadoop_user);
    if (analytics_valid_path(dir, reason, sizeof(reason)))
        return 0;
    snprintf(why, len,
             "--hadoop-user (env GRIDGATE_HADOOP_USER) makes an unusable jobs directory "
             "(%s); set --jobs-dir (env GRIDGATE_JOBS_DIR)",
             reason);
    return -1;
}

const gg_conf_spec analytics_spec = {"gridgate-analytics",
                                     "Runs word counts and HiveQL over HDFS text through WebHCat.",
                                     analytics_opts, ANALYTICS_NOPTS, analytics_validate};
