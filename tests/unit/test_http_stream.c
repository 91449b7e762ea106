/* Streamed replies of gg_http (gg_http_stream) against real sockets: bytes woken in from another
 * thread reach the client while the connection is parked in between; a client that went away
 * is noticed at the next wake; stopping the server with a parked stream ends it (libmicrohttpd
 * would refuse to stop with a suspended connection); an aborted stream whose client reads
 * nothing is closed at once. Run under TSan too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gg_http.h"

/* What a stream sends: pending text, or endless filler (a client that must fall behind). */
typedef struct source {
    pthread_mutex_t lock;
    char pending[4096];
    size_t len;
    bool endless;
    atomic_long produced; /* bytes handed to the server */
    atomic_bool closed;
    _Atomic(gg_http_stream *) st;
} source;

typedef struct fixture {
    gg_log log;
    gg_metrics *metrics;
    gg_http_server *srv;
    unsigned short port;
    source src;
} fixture;

static size_t src_read(void *ud, char *buf, size_t max)
{
    source *s = ud;
    pthread_mutex_lock(&s->lock);
    size_t n = 0;
    if (s->endless) {
        n = max;
        memset(buf, 'x', n);
    } else {
        n = s->len < max ? s->len : max;
        memcpy(buf, s->pending, n);
        memmove(s->pending, s->pending + n, s->len - n);
        s->len -= n;
    }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&s->produced, (long)n);
    return n;
}

/* Under the source's lock, as the cache's fan-out does: a waker holding it never sees a stream
 * that is being freed. */
static void src_close(void *ud)
{
    source *s = ud;
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->st, NULL);
    atomic_store(&s->closed, true);
    pthread_mutex_unlock(&s->lock);
}

static void h_stream(gg_http_req *req, void *ud)
{
    source *s = ud;
    gg_http_stream *st = gg_http_stream_new(req, src_read, src_close, s);
    assert_non_null(st);
    atomic_store(&s->st, st);
    gg_http_reply_stream(req, 200, "text/event-stream", st);
}

/* Wakes the stream with text (from this thread: not the HTTP thread). */
static void push(source *s, const char *text)
{
    pthread_mutex_lock(&s->lock);
    size_t n = strlen(text);
    memcpy(s->pending + s->len, text, n);
    s->len += n;
    gg_http_stream *st = atomic_load(&s->st);
    if (st)
        gg_http_stream_wake(st);
    pthread_mutex_unlock(&s->lock);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    *state = f;
    FILE *devnull = fopen("/dev/null", "w");
    gg_log_init(&f->log, "test", GG_LOG_ERROR, devnull);
    f->metrics = gg_metrics_new("gridgate_test");
    pthread_mutex_init(&f->src.lock, NULL);
    gg_http_config cfg = {.listen = "127.0.0.1:0", .threads = 2};
    f->srv = gg_http_new(&cfg, &f->log, f->metrics);
    assert_int_equal(gg_http_route(f->srv, "GET", "/s", 0, h_stream, &f->src), 0);
    assert_int_equal(gg_http_start(f->srv), 0);
    f->port = gg_http_port(f->srv);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gg_http_free(f->srv);
    gg_metrics_free(f->metrics);
    fclose(f->log.out);
    gg_log_destroy(&f->log);
    pthread_mutex_destroy(&f->src.lock);
    free(f);
    return 0;
}

static int open_stream(fixture *f, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(f->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char req[] = "GET /s HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Reads until want appears in what was received (kept in got); false on end or timeout. */
static bool read_until(int fd, char *got, size_t cap, size_t *len, const char *want)
{
    while (!strstr(got, want)) {
        ssize_t n = recv(fd, got + *len, cap - 1 - *len, 0);
        if (n <= 0)
            return false;
        *len += (size_t)n;
        got[*len] = '\0';
    }
    return true;
}

static bool wait_flag(atomic_bool *flag)
{
    for (int i = 0; i < 1000 && !atomic_load(flag); i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(flag);
}

static void test_woken_bytes_reach_the_client(void **state)
{
    fixture *f = *state;
    int fd = open_stream(f, 0);
    char got[16384] = "";
    size_t len = 0;
    assert_true(read_until(fd, got, sizeof(got), &len, "\r\n\r\n"));
    assert_non_null(strstr(got, "HTTP/1.1 200"));
    assert_non_null(strstr(got, "Content-Type: text/event-stream"));
    assert_non_null(strstr(got, "Cache-Control: no-cache"));
    while (!atomic_load(&f->src.st)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    char line[64];
    for (int i = 0; i < 50; i++) { /* each one after the stream parked again, or while it runs */
        snprintf(line, sizeof(line), "event %d\n", i);
        push(&f->src, line);
        assert_true(read_until(fd, got, sizeof(got), &len, line));
    }
    /* The client goes; the next wake finds out and the stream is closed. */
    close(fd);
    assert_false(atomic_load(&f->src.closed));
    for (int i = 0; i < 100 && !atomic_load(&f->src.closed); i++) {
        push(&f->src, "more\n");
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&f->src.closed));
}

static void test_stopping_ends_a_parked_stream(void **state)
{
    fixture *f = *state;
    int fd = open_stream(f, 0);
    char got[4096] = "";
    size_t len = 0;
    assert_true(read_until(fd, got, sizeof(got), &len, "\r\n\r\n"));
    push(&f->src, "one\n");
    assert_true(read_until(fd, got, sizeof(got), &len, "one\n"));
    gg_http_stop(f->srv); /* the stream is parked: this must end it, not hang or abort */
    assert_true(atomic_load(&f->src.closed));
    assert_true(read_until(fd, got, sizeof(got), &len, "0\r\n\r\n") || len > 0);
    close(fd);
}

static void test_an_aborted_stalled_stream_closes_at_once(void **state)
{
    fixture *f = *state;
    f->src.endless = true;
    int fd = open_stream(f, 4096); /* and never read */
    while (!atomic_load(&f->src.st)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    /* The server stops reading from the source once the socket is full: with the stream's
     * fixed send buffer that is long before a megabyte (a default socket takes 4 MiB). */
    long last = -1;
    for (int i = 0, same = 0; i < 1000 && same < 20; i++) {
        long now = atomic_load(&f->src.produced);
        same = now == last && now > 0 ? same + 1 : 0;
        last = now;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    assert_true(last > 0);
    assert_true(last < 1024 * 1024);
    pthread_mutex_lock(&f->src.lock);
    gg_http_stream_end(atomic_load(&f->src.st), true);
    pthread_mutex_unlock(&f->src.lock);
    assert_true(wait_flag(&f->src.closed)); /* long before the 60 s idle timeout */
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_woken_bytes_reach_the_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopping_ends_a_parked_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_aborted_stalled_stream_closes_at_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
