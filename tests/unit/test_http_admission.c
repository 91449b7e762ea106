/* gg_http's admission limits and backend pool: a blocking route runs off the HTTP thread and is
 * capped (503 problem+json with Retry-After beyond the cap), connections beyond the limit are
 * held back, an oversized header block is answered 431, and a client that stops sending mid-request
 * (slowloris) is cut after the idle time while other clients are served meanwhile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gg_http.h"
#include "http_client.h"

#define CAP 2

typedef struct fixture {
    gg_log log;
    gg_metrics *metrics;
    gg_http_server *srv;
    unsigned short port;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open_gate;
    int inside; /* blocking handlers waiting at the gate */
} fixture;

/* Stands for a backend that does not answer until the test lets it. */
static void h_slow(gg_http_req *req, void *ud)
{
    fixture *f = ud;
    pthread_mutex_lock(&f->lock);
    f->inside++;
    pthread_cond_broadcast(&f->cond);
    while (!f->open_gate)
        pthread_cond_wait(&f->cond, &f->lock);
    f->inside--;
    pthread_mutex_unlock(&f->lock);
    gg_http_reply_json(req, 200, json_pack("{s:b}", "slow", 1));
}

static void h_fast(gg_http_req *req, void *ud)
{
    (void)ud;
    gg_http_reply_json(req, 200, json_pack("{s:b}", "fast", 1));
}

static fixture *start(const gg_http_config *cfg)
{
    fixture *f = calloc(1, sizeof(*f));
    FILE *devnull = fopen("/dev/null", "w");
    gg_log_init(&f->log, "test", GG_LOG_ERROR, devnull);
    f->metrics = gg_metrics_new("gridgate_test");
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->srv = gg_http_new(cfg, &f->log, f->metrics);
    assert_int_equal(gg_http_route(f->srv, "GET", "/slow", GG_HTTP_BLOCKING, h_slow, f), 0);
    assert_int_equal(gg_http_route(f->srv, "GET", "/fast", 0, h_fast, f), 0);
    assert_int_equal(gg_http_start(f->srv), 0);
    f->port = gg_http_port(f->srv);
    return f;
}

static void stop(fixture *f)
{
    pthread_mutex_lock(&f->lock);
    f->open_gate = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    gg_http_free(f->srv);
    gg_metrics_free(f->metrics);
    FILE *out = f->log.out;
    gg_log_destroy(&f->log);
    fclose(out);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static long get(const fixture *f, const char *path, tc_response *r)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    int rc = tc_request(c, "GET", url, NULL, NULL, r);
    curl_easy_cleanup(c);
    return rc == 0 ? r->status : -1;
}

typedef struct slow_call {
    fixture *f;
    pthread_t t;
    tc_response r;
    long status;
} slow_call;

static void *slow_thread(void *arg)
{
    slow_call *c = arg;
    c->status = get(c->f, "/slow", &c->r);
    return NULL;
}

/* Waits (bounded) until n blocking handlers are at the gate. */
static bool wait_inside(fixture *f, int n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&f->lock);
    int rc = 0;
    while (f->inside < n && rc == 0)
        rc = pthread_cond_timedwait(&f->cond, &f->lock, &deadline);
    bool ok = f->inside >= n;
    pthread_mutex_unlock(&f->lock);
    return ok;
}

/* One HTTP thread; while CAP blocking requests wait on their backend, the in-memory route still
 * answers, and one more blocking request is turned away at once. */
static void test_blocking_route_is_capped_off_the_http_thread(void **state)
{
    (void)state;
    gg_http_config cfg = {.listen = "127.0.0.1:0", .threads = 1, .route_concurrency = CAP};
    fixture *f = start(&cfg);
    slow_call calls[CAP];
    for (int i = 0; i < CAP; i++) {
        calls[i] = (slow_call){.f = f};
        pthread_create(&calls[i].t, NULL, slow_thread, &calls[i]);
    }
    assert_true(wait_inside(f, CAP));

    tc_response *r = calloc(1, sizeof(*r));
    assert_int_equal(get(f, "/fast", r), 200);
    assert_int_equal(get(f, "/slow", r), 503);
    char v[64];
    assert_non_null(tc_header(r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "application/problem+json");
    assert_non_null(tc_header(r, "Retry-After", v, sizeof(v)));
    assert_non_null(strstr(r->body, "urn:gridgate:problem:overloaded"));

    pthread_mutex_lock(&f->lock);
    f->open_gate = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    for (int i = 0; i < CAP; i++) {
        pthread_join(calls[i].t, NULL);
        assert_int_equal(calls[i].status, 200);
    }
    /* The slots are free again once the answers went out. */
    assert_int_equal(get(f, "/slow", r), 200);
    free(r);
    stop(f);
}

static int connect_to(unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Reads until the server answers or closes; returns the bytes read (0: closed unanswered, -1:
 * nothing within timeout_ms). */
static ssize_t read_answer(int fd, char *buf, size_t len, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    ssize_t n = recv(fd, buf, len - 1, 0);
    if (n < 0)
        n = 0; /* reset: refused as well */
    buf[n] = '\0';
    return n;
}

static const char get_fast[] = "GET /fast HTTP/1.1\r\nHost: t\r\n\r\n";

static void test_connections_beyond_the_limit_are_refused(void **state)
{
    (void)state;
    gg_http_config cfg = {.listen = "127.0.0.1:0", .max_connections = 3};
    fixture *f = start(&cfg);
    int fds[3];
    char buf[4096];
    for (int i = 0; i < 3; i++) { /* three kept-alive connections, each answered once */
        fds[i] = connect_to(f->port);
        assert_int_equal(send(fds[i], get_fast, strlen(get_fast), 0), (ssize_t)strlen(get_fast));
        assert_true(read_answer(fds[i], buf, sizeof(buf), 5000) > 0);
        assert_non_null(strstr(buf, " 200 "));
    }
    /* libmicrohttpd stops accepting at the limit: the next connection waits in the listen
     * backlog, unanswered, until a slot frees. */
    int extra = connect_to(f->port);
    assert_int_equal(send(extra, get_fast, strlen(get_fast), 0), (ssize_t)strlen(get_fast));
    assert_int_equal(read_answer(extra, buf, sizeof(buf), 500), -1);
    close(fds[0]);
    assert_true(read_answer(extra, buf, sizeof(buf), 5000) > 0);
    assert_non_null(strstr(buf, " 200 "));
    close(extra);
    close(fds[1]);
    close(fds[2]);
    stop(f);
}

static void test_oversized_headers_are_answered_431(void **state)
{
    (void)state;
    gg_http_config cfg = {.listen = "127.0.0.1:0", .max_header_bytes = 4096};
    fixture *f = start(&cfg);
    char big[6000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char *line = malloc(sizeof(big) + 16);
    snprintf(line, sizeof(big) + 16, "X-Big: %s", big);
    const char *extra[] = {line, NULL};
    tc_response *r = calloc(1, sizeof(*r));
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/fast", f->port);
    assert_int_equal(tc_request(c, "GET", url, extra, NULL, r), 0);
    assert_int_equal(r->status, 431);
    curl_easy_cleanup(c);
    assert_int_equal(get(f, "/fast", r), 200); /* an ordinary request still fits */
    free(line);
    free(r);
    stop(f);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A client that sends half a request and stops is cut after the idle time; an ordinary client
 * is served while it hangs. */
static void test_slowloris_is_cut_others_served(void **state)
{
    (void)state;
    gg_http_config cfg = {.listen = "127.0.0.1:0", .threads = 1, .conn_timeout_s = 1};
    fixture *f = start(&cfg);
    int fd = connect_to(f->port);
    const char half[] = "GET /fast HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    double t0 = now_s();
    assert_int_equal(send(fd, half, strlen(half), 0), (ssize_t)strlen(half));
    tc_response *r = calloc(1, sizeof(*r));
    assert_int_equal(get(f, "/fast", r), 200);
    char buf[512];
    assert_int_equal(read_answer(fd, buf, sizeof(buf), 5000), 0); /* closed unanswered */
    double took = now_s() - t0;
    assert_true(took >= 0.9);
    assert_true(took < 4.0);
    close(fd);
    free(r);
    stop(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocking_route_is_capped_off_the_http_thread),
        cmocka_unit_test(test_connections_beyond_the_limit_are_refused),
        cmocka_unit_test(test_oversized_headers_are_answered_431),
        cmocka_unit_test(test_slowloris_is_cut_others_served),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
