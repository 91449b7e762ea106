/* gg_conf_names: the GRIDGATE_* namespace as a whole (see gg_config.h). A variable in it that no
 * gridgate service reads is a mistake, and the loader says which setting was probably meant.
 *
 * The rule: a service accepts its own settings, the settings of the other two services and
 * GRIDGATE_KAFKA_PROP_<name>; anything else named GRIDGATE_* stops it. Shared env files
 * (tests/stack/env, a Compose .env, one ConfigMap for a whole host) hand every service every
 * setting, so a setting meant for another service cannot be an error; a name nobody reads can
 * only be a typo that would otherwise leave a default silently in force. The variables
 * Kubernetes makes for the Services of a namespace (GRIDGATE_CACHE_SERVICE_HOST ...) are not
 * settings and pass too. */
#include "gg_conf_int.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define ENV_PREFIX      "GRIDGATE_"
#define PROP_ENV_PREFIX "GRIDGATE_KAFKA_PROP_"
#define ENV_MAX         128

/* Every setting of gridgate-ingest, gridgate-cache and gridgate-analytics, as README.md's
 * configuration table lists them (tests/unit/test_conf_docs.py keeps the three in step). */
static const char *const known_settings[] = {
    /* every service (gg_options.h) */
    "listen", "log-level", "http-threads", "max-body", "cors-origin", "probe-interval-ms",
    "shutdown-timeout-ms", "max-connections", "max-header-bytes", "idle-timeout-s",
    "backend-threads", "route-concurrency",
    /* ingest and cache (gg_options.h) */
    "kafka-brokers", "kafka-topic", "kafka-group", "kafka-record-bytes", "kafka-prefetch-batches",
    /* ingest */
    "mongo-uri", "mongo-db", "mongo-collection", "mongo-write-concern", "mongo-write-timeout-ms",
    "batch-size", "batch-linger-ms", "max-message-bytes", "retry-max-ms", "dlq-topic", "api-token",
    "kafka-transactions",
    /* cache */
    "redis-url", "redis-timeout-ms", "redis-prefix", "recent-size", "max-stations", "rebuild",
    "stream-max", "stream-queue", "stream-heartbeat-s",
    /* analytics */
    "webhcat-url", "webhdfs-url", "hadoop-user", "admin-token", "backend-timeout-ms",
    "submit-timeout-ms", "jobs-dir", "hdfs-uri", "wordcount-top-max", "wait-max-s",
    "poll-interval-ms", "query-max-bytes", "job-lease-ms", "job-retention-s", "job-retention-count",
    "unlisted-grace-ms", "backend-auth", "backend-user", "backend-password", "open-access",
    "input-roots", "hive-jdbc-url"};
#define NKNOWN (sizeof(known_settings) / sizeof(known_settings[0]))

const char *const *gg_conf_known_settings(size_t *n)
{
    *n = NKNOWN;
    return known_settings;
}

void gg_conf_env_name(const char *name, char *buf, size_t len)
{
    size_t n = strlen(ENV_PREFIX);
    memcpy(buf, ENV_PREFIX, n);
    for (; *name && n + 1 < len; name++)
        buf[n++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
    buf[n] = '\0';
}

/* Edit distance, letters compared without case: GRIDGATE_redis_url is one step from right, not
 * nine. Names longer than ENV_MAX are cut, which only makes a far name look a little nearer. */
static size_t distance(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b), row[ENV_MAX + 1];
    alen = alen > ENV_MAX ? ENV_MAX : alen;
    blen = blen > ENV_MAX ? ENV_MAX : blen;
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[blen];
}

/* Keeps the nearer of best and the variable of setting name, measured against var. */
static void consider(const char *var, size_t len, const char *candidate, char *best, size_t bestlen,
                     size_t *bestd)
{
    size_t d = distance(var, len, candidate);
    if (d < *bestd) {
        *bestd = d;
        snprintf(best, bestlen, "%s", candidate);
    }
}

static void closest(const gg_conf_opt *opts, size_t nopts, const char *var, size_t len, char *best,
                    size_t bestlen)
{
    char env[ENV_MAX];
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < nopts + NKNOWN; i++) {
        gg_conf_env_name(i < nopts ? opts[i].name : known_settings[i - nopts], env, sizeof(env));
        consider(var, len, env, best, bestlen, &bestd);
    }
    /* The pass-through prefix is suggested with its placeholder: its <name> part is free. */
    size_t plen = strlen(PROP_ENV_PREFIX);
    if (len > plen) {
        size_t d = distance(var, plen, PROP_ENV_PREFIX);
        if (d > 0 && d < bestd) {
            snprintf(best, bestlen, PROP_ENV_PREFIX "<name>");
            bestd = d;
        }
    }
}

static bool ends_with(const char *s, size_t len, const char *tail)
{
    size_t n = strlen(tail);
    return len >= n && memcmp(s + len - n, tail, n) == 0;
}

/* Kubernetes gives every pod (unless enableServiceLinks is false) variables for each Service of
 * its namespace, named after the Service: a release called gridgate has Services gridgate-cache
 * ..., hence GRIDGATE_CACHE_SERVICE_HOST=10.0.0.11, GRIDGATE_CACHE_SERVICE_PORT[_<name>]=8082,
 * GRIDGATE_CACHE_PORT=tcp://10.0.0.11:8082 and GRIDGATE_CACHE_PORT_8082_TCP[_PROTO|_PORT|_ADDR].
 * Refusing them would crash-loop every pod started after its Services. */
static bool service_link(const char *var, size_t len)
{
    static const char *const protos[] = {"TCP", "UDP", "SCTP"};
    static const char *const tails[] = {"", "_PROTO", "_PORT", "_ADDR"};
    const char *value = var[len] == '=' ? var + len + 1 : "", *end = var + len, *p;
    if (ends_with(var, len, "_SERVICE_HOST") || ends_with(var, len, "_SERVICE_PORT") ||
        ((p = strstr(var, "_SERVICE_PORT_")) && p < end))
        return true;
    if (ends_with(var, len, "_PORT") &&
        (!strncmp(value, "tcp://", 6) || !strncmp(value, "udp://", 6) ||
         !strncmp(value, "sctp://", 7)))
        return true;
    /* ..._PORT_<number>_<TCP|UDP|SCTP>, then nothing, _PROTO, _PORT or _ADDR */
    for (p = strstr(var, "_PORT_"); p && p < end; p = strstr(p + 1, "_PORT_")) {
        const char *q = p + 6;
        size_t digits = strspn(q, "0123456789");
        if (!digits || q + digits >= end || q[digits] != '_')
            continue;
        q += digits + 1;
        for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
            size_t n = strlen(protos[i]);
            if (q + n > end || memcmp(q, protos[i], n) != 0)
                continue;
            for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++)
                if ((size_t)(end - q - (ptrdiff_t)n) == strlen(tails[t]) &&
                    memcmp(q + n, tails[t], strlen(tails[t])) == 0)
                    return true;
        }
    }
    return false;
}

static bool known(const gg_conf_opt *opts, size_t nopts, const char *var, size_t len)
{
    char env[ENV_MAX];
    if (service_link(var, len))
        return true;
    if (len > strlen(PROP_ENV_PREFIX) &&
        strncmp(var, PROP_ENV_PREFIX, strlen(PROP_ENV_PREFIX)) == 0)
        return true; /* its <name> is librdkafka's to judge, in the services that use Kafka */
    for (size_t i = 0; i < nopts + NKNOWN; i++) {
        gg_conf_env_name(i < nopts ? opts[i].name : known_settings[i - nopts], env, sizeof(env));
        if (strlen(env) == len && memcmp(env, var, len) == 0)
            return true;
    }
    return false;
}

int gg_conf_env_check_names(const gg_conf_opt *opts, size_t nopts, char **envp, char *why,
                            size_t whylen)
{
    for (; envp && *envp; envp++) {
        const char *var = *envp;
        size_t len = strcspn(var, "=");
        char best[ENV_MAX] = "";
        if (strncmp(var, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 || known(opts, nopts, var, len))
            continue;
        char shown[97];
        size_t n = len < sizeof(shown) - 1 ? len : sizeof(shown) - 1;
        for (size_t i = 0; i < n; i++) /* a control character must not split the one line */
            shown[i] = isprint((unsigned char)var[i]) ? var[i] : '?';
        shown[n] = '\0';
        closest(opts, nopts, var, len, best, sizeof(best));
        /* The value is never quoted: it may be a credential under a misspelt name. */
        return gg_conf_why_set(why, whylen,
                               "unknown setting %s in the environment: no gridgate service "
                               "reads it; did you mean %s? (see --help)",
                               shown, best);
    }
    return 0;
}
