/* tool_cache_stream: many Server-Sent Events clients of gridgate-cache at once, for
 * bench/cache/stream.
 *
 *   tool_cache_stream BROKERS TOPIC HOST PORT CLIENTS STATIONS RATE SECONDS [HOLD [STALLED [IDLE]]]
 *
 * Opens CLIENTS connections to GET /v1/stream?stations=<n>, client i following station
 * i % STATIONS + 1, all read by one epoll thread (a small chunked decoder and line scanner per
 * connection, no allocation per event). With STALLED 1 one more client asks for every station
 * and never reads (a 4 KiB receive buffer). Once every stream has answered (and, with IDLE, after
 * IDLE seconds with the streams open and nothing produced, announced by the line "idle" on
 * stdout, for the caller to measure something beside idle streams), it produces RATE
 * readings per second for SECONDS over the stations round-robin (linger.ms=0), each with an
 * increasing event time and its sequence number in the correlation id, and measures for each
 * event the delay from the send call to its receipt. Then, for HOLD seconds (default 0), it goes
 * on producing and measuring while the caller measures something else beside the open streams;
 * the line "hold" on stdout says when that phase starts.
 *
 * Prints one line per phase: expected and delivered events, delivered events/s, complete
 * streams (every event of their station, in order), p50/p99/max delay in ms; and whether the
 * stalled client was disconnected by the server. Exits 0 when every stream got everything. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gg_kafka.h"

#define CID_MARK  "\"correlation_id\":\"00000000-0000-4000-8000-"
#define SETTLE_MS 3000

typedef struct client {
    int fd;
    long station; /* 1-based */
    bool header_done, failed, eof;
    char hdr[1024];
    size_t hlen;
    int cstate; /* 0 chunk size line, 1 chunk data, 2 CRLF after data */
    size_t remaining;
    char line[1024];
    size_t llen;
    long next_seq; /* the next sequence number of its station it must see */
    long got[2];   /* events per phase */
    bool in_order;
} client;

typedef struct bench {
    long clients, stations, rate, seconds, hold, total, phase1;
    client *c;
    int ep;
    int64_t *sent_ns;
    atomic_long sent;
    int64_t *lat[2];
    long nlat[2];
    atomic_bool stop;
    atomic_long ready;
} bench;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_line(bench *b, client *c, const char *line, size_t len, int64_t t)
{
    if (len < 6 || memcmp(line, "data: ", 6) != 0)
        return;
    const char *m = memmem(line, len, CID_MARK, sizeof(CID_MARK) - 1);
    if (!m)
        return;
    long seq = strtol(m + sizeof(CID_MARK) - 1, NULL, 16);
    if (seq < 0 || seq >= b->total)
        return;
    int ph = seq < b->phase1 ? 0 : 1;
    if (seq != c->next_seq)
        c->in_order = false;
    c->next_seq = seq + b->stations;
    c->got[ph]++;
    if (b->sent_ns[seq])
        b->lat[ph][b->nlat[ph]++] = t - b->sent_ns[seq];
}

/* Chunked transfer decoding, then lines. */
static void on_body(bench *b, client *c, const char *p, size_t n, int64_t t)
{
    for (size_t i = 0; i < n;) {
        if (c->cstate == 0) {
            char ch = p[i++];
            if (ch == '\n') {
                c->cstate = c->remaining ? 1 : 2;
                if (!c->remaining)
                    c->eof = true; /* last chunk */
            } else if (ch >= '0' && ch <= '9') {
                c->remaining = c->remaining * 16 + (size_t)(ch - '0');
            } else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') {
                c->remaining = c->remaining * 16 + (size_t)((ch | 0x20) - 'a' + 10);
            }
        } else if (c->cstate == 1) {
            size_t k = n - i < c->remaining ? n - i : c->remaining;
            for (size_t j = 0; j < k; j++) {
                char ch = p[i + j];
                if (ch == '\n') {
                    on_line(b, c, c->line, c->llen, t);
                    c->llen = 0;
                } else if (c->llen < sizeof(c->line)) {
                    c->line[c->llen++] = ch;
                }
            }
            i += k;
            c->remaining -= k;
            if (!c->remaining)
                c->cstate = 2;
        } else {
            if (p[i++] == '\n')
                c->cstate = 0;
        }
    }
}

static void on_readable(bench *b, client *c)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            c->eof = true;
            epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        }
        if (n < 0)
            return;
        int64_t t = now_ns();
        size_t off = 0;
        if (!c->header_done) {
            size_t k =
                (size_t)n < sizeof(c->hdr) - 1 - c->hlen ? (size_t)n : sizeof(c->hdr) - 1 - c->hlen;
            memcpy(c->hdr + c->hlen, buf, k);
            c->hlen += k;
            c->hdr[c->hlen] = '\0';
            char *end = strstr(c->hdr, "\r\n\r\n");
            if (!end) {
                if (c->hlen == sizeof(c->hdr) - 1)
                    c->failed = true;
                continue;
            }
            c->header_done = true;
            if (strncmp(c->hdr, "HTTP/1.1 200", 12) != 0)
                c->failed = true;
            off = (size_t)(end + 4 - c->hdr) - (c->hlen - k);
            atomic_fetch_add(&b->ready, 1);
        }
        on_body(b, c, buf + off, (size_t)n - off, t);
    }
}

static void *receiver(void *arg)
{
    bench *b = arg;
    struct epoll_event ev[256];
    while (!atomic_load(&b->stop)) {
        int n = epoll_wait(b->ep, ev, 256, 50);
        for (int i = 0; i < n; i++)
            on_readable(b, &b->c[ev[i].data.u64]);
    }
    return NULL;
}

static int open_stream(const char *host, int port, const char *path, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || send(fd, req, (size_t)n, 0) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

static void produce(bench *b, gg_kafka_producer *p, long from, long to, int64_t t0, int64_t base)
{
    int64_t step = 1000000000 / b->rate;
    char key[24], value[512];
    for (long i = from; i < to; i++) {
        int64_t due = t0 + (i - from) * step;
        struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        long st = i % b->stations + 1;
        int64_t us = base + i;
        snprintf(key, sizeof(key), "%ld", st);
        int n = snprintf(value, sizeof(value),
                         "{\"payload\":{\"sensor_id\":%ld,\"modality\":%ld,\"unit\":\"MW\","
                         "\"temporal_aspect\":\"real_time\"},\"correlation_id\":"
                         "\"00000000-0000-4000-8000-%012lx\",\"created_at\":%" PRId64 ".%06" PRId64
                         ",\"schema_version\":1}",
                         st, i % 1200 - 600, i, us / 1000000, us % 1000000);
        b->sent_ns[i] = now_ns();
        while (gg_kafka_producer_send(p, NULL, key, strlen(key), value, (size_t)n, NULL, NULL) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
        atomic_store(&b->sent, i + 1);
    }
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
    return a < c ? -1 : a > c;
}

static double pct(const int64_t *s, long n, double p)
{
    return n ? (double)s[(long)(p / 100.0 * (double)(n - 1) + 0.5)] / 1e6 : 0;
}

/* Waits until the phase's events have come (or SETTLE_MS passed), then reports it. */
static bool report(bench *b, int ph, long from, long to, double secs)
{
    long expected = 0;
    for (long i = 0; i < b->clients; i++)
        for (long s = from; s < to; s++)
            expected += s % b->stations + 1 == b->c[i].station;
    int64_t until = now_ns() + (int64_t)SETTLE_MS * 1000000;
    long got = 0;
    while (now_ns() < until) {
        got = 0;
        for (long i = 0; i < b->clients; i++)
            got += b->c[i].got[ph]; /* read racily: only to stop waiting early */
        if (got >= expected)
            break;
        struct timespec pause = {0, 20000000};
        nanosleep(&pause, NULL);
    }
    long complete = 0;
    for (long i = 0; i < b->clients; i++) {
        long want = 0;
        for (long s = from; s < to; s++)
            want += s % b->stations + 1 == b->c[i].station;
        complete += b->c[i].got[ph] == want && b->c[i].in_order && !b->c[i].failed;
    }
    long n = b->nlat[ph];
    qsort(b->lat[ph], (size_t)n, sizeof(int64_t), cmp64);
    printf("%s readings=%ld expected=%ld delivered=%ld events_per_s=%.0f complete=%ld/%ld "
           "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           ph ? "hold" : "streams", to - from, expected, n, (double)n / secs, complete, b->clients,
           pct(b->lat[ph], n, 50), pct(b->lat[ph], n, 99), n ? (double)b->lat[ph][n - 1] / 1e6 : 0);
    fflush(stdout);
    return complete == b->clients;
}

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(
            stderr,
            "usage: %s BROKERS TOPIC HOST PORT CLIENTS STATIONS RATE SECONDS [HOLD [STALLED]]\n",
            argv[0]);
        return 2;
    }
    bench b = {.clients = atol(argv[5]),
               .stations = atol(argv[6]),
               .rate = atol(argv[7]),
               .seconds = atol(argv[8])};
    b.hold = argc > 9 ? atol(argv[9]) : 0;
    bool stalled = argc > 10 && atoi(argv[10]);
    long idle = argc > 11 ? atol(argv[11]) : 0;
    int port = atoi(argv[4]);
    if (b.clients < 1 || b.stations < 1 || b.rate < 1 || b.seconds < 1 || b.hold < 0) {
        fprintf(stderr, "clients, stations, rate and seconds must be positive\n");
        return 2;
    }
    b.phase1 = b.rate * b.seconds;
    b.total = b.phase1 + b.rate * b.hold;
    b.sent_ns = calloc((size_t)b.total, sizeof(int64_t));
    b.c = calloc((size_t)b.clients, sizeof(client));
    for (int ph = 0; ph < 2; ph++)
        b.lat[ph] =
            malloc((size_t)(b.total / b.stations + 1) * (size_t)b.clients * sizeof(int64_t));
    b.ep = epoll_create1(0);
    char path[128];
    for (long i = 0; i < b.clients; i++) {
        client *c = &b.c[i];
        c->station = i % b.stations + 1;
        c->in_order = true;
        c->next_seq = c->station - 1;
        snprintf(path, sizeof(path), "/v1/stream?stations=%ld", c->station);
        if ((c->fd = open_stream(argv[3], port, path, 0)) < 0) {
            fprintf(stderr, "stream %ld: cannot connect: %s\n", i, strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        epoll_ctl(b.ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    int stalled_fd = stalled ? open_stream(argv[3], port, "/v1/stream", 4096) : -1;
    pthread_t th;
    pthread_create(&th, NULL, receiver, &b);
    int64_t until = now_ns() + 30 * (int64_t)1000000000;
    while (atomic_load(&b.ready) < b.clients && now_ns() < until) {
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    long failed = 0;
    for (long i = 0; i < b.clients; i++)
        failed += b.c[i].failed || !b.c[i].header_done;
    if (failed) {
        fprintf(stderr, "%ld of %ld streams did not open (200)\n", failed, b.clients);
        return 1;
    }
    char err[512];
    const gg_prop props[] = {{"linger.ms", "0"}};
    gg_kafka_conf conf = {.brokers = argv[1], .topic = argv[2], .props = props, .nprops = 1};
    gg_kafka_producer *p = gg_kafka_producer_new(&conf, NULL, NULL, NULL, err, sizeof(err));
    const char warm[] = "{\"payload\":{\"sensor_id\":\"warmup\",\"modality\":0,"
                        "\"temporal_aspect\":\"real_time\"},\"created_at\":1}";
    if (!p || gg_kafka_producer_send_sync(p, NULL, "warmup", 6, warm, sizeof(warm) - 1, NULL, 30000,
                                          err, sizeof(err)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "producer: %s\n", err);
        return 1;
    }
    printf("open streams=%ld stalled=%d\n", b.clients, stalled_fd >= 0);
    if (idle > 0) {
        printf("idle\n");
        fflush(stdout);
        struct timespec rest = {(time_t)idle, 0};
        nanosleep(&rest, NULL);
    }
    fflush(stdout);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t base = (int64_t)wall.tv_sec * 1000000 + wall.tv_nsec / 1000;
    produce(&b, p, 0, b.phase1, now_ns(), base);
    bool ok = report(&b, 0, 0, b.phase1, (double)b.seconds);
    if (b.hold) {
        printf("hold\n");
        fflush(stdout);
        produce(&b, p, b.phase1, b.total, now_ns(), base);
        ok = report(&b, 1, b.phase1, b.total, (double)b.hold) && ok;
    }
    atomic_store(&b.stop, true);
    pthread_join(th, NULL);
    if (stalled_fd >= 0) {
        /* Cut by the server: its data drains, then the end (or a reset) shows. */
        struct timeval tv = {2, 0};
        setsockopt(stalled_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char buf[65536];
        ssize_t n;
        long bytes = 0;
        while ((n = recv(stalled_fd, buf, sizeof(buf), 0)) > 0)
            bytes += n;
        printf("stalled client: %s after %ld bytes\n",
               n == 0 || (n < 0 && errno == ECONNRESET) ? "disconnected by the server"
                                                        : "still connected",
               bytes);
    }
    gg_kafka_producer_destroy(p);
    for (long i = 0; i < b.clients; i++)
        close(b.c[i].fd);
    return ok ? 0 : 1;
}
