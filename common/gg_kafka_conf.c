/* gg_kafka_conf: configuration building, log and error routing, and the readiness probe shared by
 * the consumer and the producer (see gg_kafka.h). */
#include "gg_kafka_int.h"
#include "gg_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void gg_kafka_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void gg_kafka_base_init(gg_kafka_base *b, gg_log *log)
{
    memset(b, 0, sizeof(*b));
    b->log = log;
    pthread_mutex_init(&b->lock, NULL);
}

void gg_kafka_base_destroy(gg_kafka_base *b)
{
    pthread_mutex_destroy(&b->lock);
}

void gg_kafka_base_error(gg_kafka_base *b, const char *what, rd_kafka_resp_err_t code,
                         const char *text)
{
    gg_warn(b->log, what, "{s:s, s:s, s:i}", "error", text ? text : "", "code",
            rd_kafka_err2name(code), "code_num", (int)code);
    pthread_mutex_lock(&b->lock);
    /* Bounded widths: a long broker message is cut rather than tripping -Wformat-truncation. */
    snprintf(b->last_error, sizeof(b->last_error), "%.63s: %.190s", what, text ? text : "");
    b->last_error_ms = gg_time_wall_ms();
    pthread_mutex_unlock(&b->lock);
}

int gg_kafka_base_last_error(gg_kafka_base *b, char *buf, size_t len, int64_t *at_ms)
{
    pthread_mutex_lock(&b->lock);
    int have = b->last_error_ms != 0;
    if (buf && len)
        snprintf(buf, len, "%s", b->last_error);
    if (at_ms)
        *at_ms = b->last_error_ms;
    pthread_mutex_unlock(&b->lock);
    return have;
}

/* syslog levels as librdkafka uses them: 0-3 emerg..err, 4 warning, 5 notice, 6 info, 7 debug. */
static gg_log_level syslog_to_gg(int level)
{
    if (level <= 3)
        return GG_LOG_ERROR;
    if (level == 4)
        return GG_LOG_WARN;
    if (level <= 6)
        return GG_LOG_INFO;
    return GG_LOG_DEBUG;
}

/* Runs on librdkafka's internal threads: touches nothing but the thread-safe gg_log. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    gg_kafka_base *b = rk ? rd_kafka_opaque(rk) : NULL;
    if (!b)
        return;
    gg_log_event(b->log, syslog_to_gg(level), buf, "{s:s?, s:s?}", "facility", fac, "client",
                 rd_kafka_name(rk));
}

/* Most of these are transient (a broker went away, librdkafka reconnects by itself); they matter
 * for the status endpoint, not for control flow. A fatal error does, and is logged as such. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    gg_kafka_base *b = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));
        gg_error(b->log, "kafka fatal error, the client can no longer be used", "{s:s, s:s}",
                 "error", why, "code", rd_kafka_err2name(orig));
        gg_kafka_base_error(b, "kafka fatal error", orig, why);
        return;
    }
    gg_kafka_base_error(b, "kafka error", (rd_kafka_resp_err_t)err, reason);
}

static int conf_set(rd_kafka_conf_t *rc, const char *name, const char *value, char *err,
                    size_t errlen)
{
    char why[512];
    if (!name || !value) {
        gg_kafka_errf(err, errlen, "kafka property \"%s\": missing %s", name ? name : "(null)",
                      name ? "value" : "name");
        return -1;
    }
    if (rd_kafka_conf_set(rc, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        gg_kafka_errf(err, errlen, "kafka property \"%s\": %s", name, why);
        return -1;
    }
    return 0;
}

/* librdkafka's upper bounds of the sized properties (CONFIGURATION.md). */
#define MAX_QUEUED_KBYTES   2097151L
#define MAX_QUEUED_MSGS     10000000L
#define MAX_FETCH_BYTES     1000000000L
#define MIN_MESSAGE_BYTES   1000L
#define MAX_PRODUCER_KBYTES 2147483647L

static long clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The queue bounds of gg_kafka_sizing (see gg_kafka.h) for role, as name/value pairs. */
typedef struct sized_props {
    gg_prop props[6];
    char values[6][24];
    size_t n;
} sized_props;

static void sized_add(sized_props *sp, const char *name, long value)
{
    snprintf(sp->values[sp->n], sizeof(sp->values[sp->n]), "%ld", value);
    sp->props[sp->n] = (gg_prop){name, sp->values[sp->n]};
    sp->n++;
}

static void sized(const gg_kafka_sizing *s, gg_kafka_role role, sized_props *sp)
{
    sp->n = 0;
    if (!s || role == GG_KAFKA_CHECK)
        return;
    /* Settings are bounded (record 1 MB, batch 10,000, 100 batches ahead): no overflow. */
    long record = clamp(s->record_bytes, 1, 1L << 20), batch = clamp(s->batch, 1, 1000000);
    long prefetch = clamp(s->prefetch, 1, 1000);
    if (role == GG_KAFKA_CONSUMER) {
        long ahead = prefetch * batch * record;
        long fetch = clamp(ahead, MIN_MESSAGE_BYTES, MAX_FETCH_BYTES);
        long per_partition = (prefetch < 4 ? prefetch : 4) * batch * record;
        sized_add(sp, "queued.min.messages", clamp(prefetch * batch, 1, MAX_QUEUED_MSGS));
        sized_add(sp, "queued.max.messages.kbytes",
                  clamp((ahead + 1023) / 1024, 1, MAX_QUEUED_KBYTES));
        sized_add(sp, "fetch.max.bytes", fetch);
        sized_add(sp, "max.partition.fetch.bytes", clamp(per_partition, 1, fetch));
        sized_add(sp, "message.max.bytes", fetch);
        /* A queue over its bound is fetched again this soon (librdkafka 2.2 on; before it, a
         * gg_kafka_waker does the same). */
        if (rd_kafka_version() >= GG_KAFKA_FETCH_QUEUE_BACKOFF_VERSION)
            sized_add(sp, "fetch.queue.backoff.ms", GG_KAFKA_FETCH_QUEUE_BACKOFF_MS);
    } else if (s->send_bytes > 0) {
        long send_kb = (clamp(s->send_bytes, 1, 1L << 30) + 1023) / 1024;
        sized_add(sp, "queue.buffering.max.kbytes",
                  clamp(prefetch * send_kb, 1, MAX_PRODUCER_KBYTES));
    }
}

rd_kafka_conf_t *gg_kafka_conf_build(const gg_kafka_conf *conf, gg_kafka_role role,
                                     const gg_prop *defaults, size_t ndefaults, gg_kafka_base *base,
                                     char *err, size_t errlen)
{
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    sized_props sp;
    sized(conf->sizing, role, &sp);
    /* Before anything else, so that even a failing rd_kafka_new() logs through gg_log. */
    rd_kafka_conf_set_log_cb(rc, log_cb);
    rd_kafka_conf_set_error_cb(rc, error_cb);
    rd_kafka_conf_set_opaque(rc, base);

    if (conf->brokers && conf_set(rc, "bootstrap.servers", conf->brokers, err, errlen) < 0)
        goto fail;
    if (conf->client_id && conf_set(rc, "client.id", conf->client_id, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; i < ndefaults; i++)
        if (conf_set(rc, defaults[i].name, defaults[i].value, err, errlen) < 0)
            goto fail;
    for (size_t i = 0; i < sp.n; i++)
        if (conf_set(rc, sp.props[i].name, sp.props[i].value, err, errlen) < 0)
            goto fail;
    for (size_t i = 0; i < conf->nprops; i++)
        if (conf_set(rc, conf->props[i].name, conf->props[i].value, err, errlen) < 0)
            goto fail;
    return rc;
fail:
    rd_kafka_conf_destroy(rc);
    return NULL;
}

int gg_kafka_conf_forbid_forced(const gg_kafka_conf *conf, char *err, size_t errlen)
{
    for (size_t i = 0; i < conf->nprops; i++) {
        if (conf->props[i].name && strcmp(conf->props[i].name, GG_KAFKA_FORCED_PROP) == 0) {
            gg_kafka_errf(err, errlen,
                          "kafka property \"%s\": always false, offsets are stored only for "
                          "messages marked done",
                          GG_KAFKA_FORCED_PROP);
            return -1;
        }
    }
    return 0;
}

/* Only rd_kafka_conf_set judges here: rd_kafka_new would also check how the properties combine,
 * but it starts the client's threads and its first connections. */
int gg_kafka_conf_check(const gg_kafka_conf *conf, char *err, size_t errlen)
{
    if (gg_kafka_conf_forbid_forced(conf, err, errlen) < 0)
        return -1;
    rd_kafka_conf_t *rc = gg_kafka_conf_build(conf, GG_KAFKA_CHECK, NULL, 0, NULL, err, errlen);
    if (!rc)
        return -1;
    rd_kafka_conf_destroy(rc);
    return 0;
}

int gg_kafka_probe(rd_kafka_t *rk, int timeout_ms, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    if (!rk) {
        gg_kafka_errf(err, errlen, "no kafka handle");
        return -1;
    }
    /* all_topics=0 asks only for the topics this handle already knows: a small answer that still
     * needs a live broker. */
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (e) {
        gg_kafka_errf(err, errlen, "kafka metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    int brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    if (brokers <= 0) {
        gg_kafka_errf(err, errlen, "kafka metadata lists no brokers");
        return -1;
    }
    return 0;
}
