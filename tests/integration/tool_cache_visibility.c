/* tool_cache_visibility: produce-to-visible latency of gridgate-cache, for bench/cache.
 *
 *   tool_cache_visibility BROKERS TOPIC BASE_URL [RATE [SECONDS [STATIONS]]]
 *
 * Produces RATE readings per second (default 1000) for SECONDS (default 10), spread round-robin
 * over STATIONS stations (default 10, ids 1..STATIONS), each stamped with an increasing event
 * time and a correlation id that encodes its sequence number. A second thread asks for every
 * station's latest reading in one GET BASE_URL/v1/latest?stations=1,...,STATIONS every 0.5 ms
 * (a keep-alive connection; light enough not to slow what it measures) and notes when each
 * reading first shows. A reading that another of its station overtook before it was seen counts
 * as visible when that later reading shows: newer-wins means it can never show by itself, and
 * this errs towards longer latencies. Latency runs from the send call (linger.ms=0) to the poll
 * that saw it, so the poll period bounds the resolution.
 * Prints percentiles in milliseconds and exits 0 when every reading became visible. */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gg_kafka.h"

#define SETTLE_MS      3000   /* after the last send: how long readings may take to show */
#define POLL_PERIOD_NS 500000 /* one poll of all stations every 0.5 ms */

typedef struct vis {
    const char *url;
    long rate, seconds, stations, total;
    int64_t *sent_ns;  /* per sequence number: when the send call was made, 0 before */
    int64_t *seen_ns;  /* per sequence number: when it (or a newer one) first showed */
    long *next_unseen; /* per station: lowest sequence of that station not yet seen */
    atomic_long sent;  /* readings sent so far: sent_ns below it is written */
    atomic_long seen;  /* readings seen so far */
    atomic_bool stop;
    long polls;
    char body[16384];
    size_t body_len;
} vis;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    vis *v = ud;
    size_t len = size * n, room = sizeof(v->body) - 1 - v->body_len;
    size_t take = len < room ? len : room;
    memcpy(v->body + v->body_len, p, take);
    v->body_len += take;
    v->body[v->body_len] = '\0';
    return len;
}

static void mark_seen(vis *v, long station, long seq, int64_t t)
{
    /* Sequence numbers of a station are station-1, station-1+stations, ... Only those whose
     * send time is published (below sent) are marked; the rest wait for a later poll. */
    long sent = atomic_load(&v->sent), s = v->next_unseen[station], marked = 0;
    for (; s <= seq && s < sent; s += v->stations) {
        v->seen_ns[s] = t;
        marked++;
    }
    v->next_unseen[station] = s;
    atomic_fetch_add(&v->seen, marked);
}

/* One request for every station's latest reading, every POLL_PERIOD_NS. */
static void poll_once(vis *v, CURL *curl)
{
    v->body_len = 0;
    v->body[0] = '\0';
    long code = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    int64_t t = now_ns();
    v->polls++;
    json_t *j = code == 200 ? json_loadb(v->body, v->body_len, 0, NULL) : NULL;
    json_t *latest = json_object_get(j, "latest");
    char id[24];
    for (long st = 0; latest && st < v->stations; st++) {
        snprintf(id, sizeof(id), "%ld", st + 1);
        const char *cid =
            json_string_value(json_object_get(json_object_get(latest, id), "correlation_id"));
        long seq = cid && strlen(cid) == 36 ? strtol(cid + 24, NULL, 16) : -1;
        if (seq >= 0 && seq < v->total && seq % v->stations == st)
            mark_seen(v, st, seq, t);
    }
    json_decref(j);
}

static void *poller(void *arg)
{
    vis *v = arg;
    CURL *curl = curl_easy_init();
    size_t cap = 64 + (size_t)v->stations * 22, len;
    char *url = malloc(cap);
    len = (size_t)snprintf(url, cap, "%s/v1/latest?stations=", v->url);
    for (long st = 0; st < v->stations; st++)
        len += (size_t)snprintf(url + len, cap - len, "%s%ld", st ? "," : "", st + 1);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, v);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
    int64_t next = now_ns();
    while (!atomic_load(&v->stop)) {
        poll_once(v, curl);
        next += POLL_PERIOD_NS;
        struct timespec ts = {(time_t)(next / 1000000000), (long)(next % 1000000000)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    curl_easy_cleanup(curl);
    free(url);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const int64_t *sorted, long n, double p)
{
    long i = (long)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)sorted[i] / 1e6;
}

static void produce_all(vis *v, gg_kafka_producer *p)
{
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t base_us = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000;
    int64_t t0 = now_ns(), step = 1000000000 / v->rate;
    char key[24], value[512];
    for (long i = 0; i < v->total; i++) {
        int64_t due = t0 + i * step;
        struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        long st = i % v->stations + 1;
        int64_t us = base_us + i; /* strictly increasing event time */
        snprintf(key, sizeof(key), "%ld", st);
        int n = snprintf(value, sizeof(value),
                         "{\"payload\":{\"sensor_id\":%ld,\"modality\":%ld,\"unit\":\"MW\","
                         "\"temporal_aspect\":\"real_time\"},\"correlation_id\":"
                         "\"00000000-0000-4000-8000-%012lx\",\"created_at\":%" PRId64 ".%06" PRId64
                         ",\"schema_version\":1}",
                         st, i % 1200 - 600, i, us / 1000000, us % 1000000);
        v->sent_ns[i] = now_ns();
        while (gg_kafka_producer_send(p, NULL, key, strlen(key), value, (size_t)n, NULL, NULL) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
        atomic_store(&v->sent, i + 1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s BROKERS TOPIC BASE_URL [RATE [SECONDS [STATIONS]]]\n", argv[0]);
        return 2;
    }
    vis v = {.url = argv[3], .rate = 1000, .seconds = 10, .stations = 10};
    if (argc > 4)
        v.rate = atol(argv[4]);
    if (argc > 5)
        v.seconds = atol(argv[5]);
    if (argc > 6)
        v.stations = atol(argv[6]);
    if (v.rate < 1 || v.seconds < 1 || v.stations < 1 || v.rate > 1000000) {
        fprintf(stderr, "rate, seconds and stations must be positive\n");
        return 2;
    }
    v.total = v.rate * v.seconds;
    v.sent_ns = calloc((size_t)v.total, sizeof(int64_t));
    v.seen_ns = calloc((size_t)v.total, sizeof(int64_t));
    v.next_unseen = calloc((size_t)v.stations, sizeof(long));
    for (long st = 0; st < v.stations; st++)
        v.next_unseen[st] = st;
    char err[512];
    const gg_prop props[] = {{"linger.ms", "0"}};
    gg_kafka_conf conf = {.brokers = argv[1], .topic = argv[2], .props = props, .nprops = 1};
    gg_kafka_producer *p = gg_kafka_producer_new(&conf, NULL, NULL, NULL, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "producer: %s\n", err);
        return 1;
    }
    /* An idempotent producer fetches metadata and a producer id before its first message
     * leaves: one acknowledged send first, so the measurement starts with a ready producer. */
    const char warm[] = "{\"payload\":{\"sensor_id\":\"warmup\",\"modality\":0,"
                        "\"temporal_aspect\":\"real_time\"},\"created_at\":1}";
    if (gg_kafka_producer_send_sync(p, NULL, "warmup", 6, warm, sizeof(warm) - 1, NULL, 30000, err,
                                    sizeof(err)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "warm-up send: %s\n", err);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t th;
    pthread_create(&th, NULL, poller, &v);
    produce_all(&v, p);
    gg_kafka_producer_flush(p, 10000);
    /* Bounded wait for the last readings to show. */
    int64_t until = now_ns() + (int64_t)SETTLE_MS * 1000000;
    while (now_ns() < until && atomic_load(&v.seen) < v.total) {
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    atomic_store(&v.stop, true);
    pthread_join(th, NULL);
    gg_kafka_producer_destroy(p);

    int64_t *lat = malloc((size_t)v.total * sizeof(int64_t));
    long n = 0;
    for (long i = 0; i < v.total; i++) {
        if (v.seen_ns[i])
            lat[n++] = v.seen_ns[i] - v.sent_ns[i];
    }
    qsort(lat, (size_t)n, sizeof(*lat), cmp64);
    printf("visible=%ld/%ld polls=%ld", n, v.total, v.polls);
    if (n)
        printf(" p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f", pct_ms(lat, n, 50),
               pct_ms(lat, n, 90), pct_ms(lat, n, 99), (double)lat[n - 1] / 1e6);
    printf("\n");
    free(lat);
    free(v.sent_ns);
    free(v.seen_ns);
    free(v.next_unseen);
    curl_global_cleanup();
    return n == v.total ? 0 : 1;
}
