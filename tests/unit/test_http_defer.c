/* Stress test of gg_http's deferred replies: thousands of requests parked by the handler and
 * answered from other threads after random delays, while other clients hang up midway (before
 * the request is complete, right after sending it, and after it was parked). Every request the
 * handler saw must be finished exactly once, every answer must reach the client that asked, and
 * the sanitizer builds (ASan, TSan) must see no access to a request after it was finished. */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gg_http.h"
#include "http_client.h"

#define REPLIERS     4
#define CLIENT_REQS  4000 /* answered requests, over PARALLEL keep-alive connections */
#define PARALLEL     32
#define HANGUPS      1000 /* clients that go away; their ids start at HANGUP_BASE */
#define HANGUP_BASE  100000
#define MAX_DELAY_US 800 /* a replier's random pause before and after answering */

typedef struct queued {
    gg_http_req *req;
    struct queued *next;
} queued;

typedef struct fixture {
    gg_log log;
    gg_metrics *metrics;
    gg_http_server *srv;
    unsigned short port;
    pthread_t repliers[REPLIERS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    queued *head, **tail;
    bool stopping;
    atomic_uint dispatched;
    atomic_bool parked[HANGUPS]; /* a hang-up client's request reached the handler */
} fixture;

/* A random pause of up to MAX_DELAY_US; none at all half of the time, so that some answers
 * come while the handler that parked the request is still returning. */
static void pause_us(unsigned *seed)
{
    int r = rand_r(seed);
    struct timespec ts = {0, (long)(r % MAX_DELAY_US) * 1000};
    if (r & 0x10000)
        nanosleep(&ts, NULL);
}

/* The handler parks every request for a replier thread, as the analytics tracker does. */
static void h_defer(gg_http_req *req, void *ud)
{
    fixture *f = ud;
    long n = strtol(gg_http_param(req, "n"), NULL, 10);
    queued *q = calloc(1, sizeof(*q));
    if (!q)
        abort(); /* cmocka's asserts may only fail on the test's own thread */
    q->req = req;
    atomic_fetch_add(&f->dispatched, 1);
    gg_http_defer(req);
    pthread_mutex_lock(&f->lock);
    *f->tail = q;
    f->tail = &q->next;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    if (n >= HANGUP_BASE && n < HANGUP_BASE + HANGUPS)
        atomic_store(&f->parked[n - HANGUP_BASE], true);
}

static void *replier(void *arg)
{
    fixture *f = arg;
    unsigned seed = (unsigned)(uintptr_t)pthread_self();
    for (;;) {
        pthread_mutex_lock(&f->lock);
        while (!f->head && !f->stopping)
            pthread_cond_wait(&f->cond, &f->lock);
        queued *q = f->head;
        if (q) {
            f->head = q->next;
            if (!f->head)
                f->tail = &f->head;
        }
        pthread_mutex_unlock(&f->lock);
        if (!q)
            return NULL;
        pause_us(&seed);
        gg_http_req *req = q->req;
        free(q);
        /* The reply is the replier's last touch of req: it also resumes the connection. */
        gg_http_reply_json(req, 200, json_pack("{s:s}", "n", gg_http_param(req, "n")));
        pause_us(&seed); /* the replier's own work after answering */
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    *state = f;
    FILE *devnull = fopen("/dev/null", "w");
    gg_log_init(&f->log, "test", GG_LOG_ERROR, devnull);
    f->metrics = gg_metrics_new("gridgate_test");
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->tail = &f->head;
    gg_http_config cfg = {.listen = "127.0.0.1:0"};
    f->srv = gg_http_new(&cfg, &f->log, f->metrics);
    assert_int_equal(gg_http_route(f->srv, "GET", "/defer/{n}", 0, h_defer, f), 0);
    assert_int_equal(gg_http_start(f->srv), 0);
    f->port = gg_http_port(f->srv);
    for (int i = 0; i < REPLIERS; i++)
        assert_int_equal(pthread_create(&f->repliers[i], NULL, replier, f), 0);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pthread_mutex_lock(&f->lock);
    f->stopping = true; /* repliers drain the queue first: no request stays suspended */
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    for (int i = 0; i < REPLIERS; i++)
        pthread_join(f->repliers[i], NULL);
    gg_http_free(f->srv);
    gg_metrics_free(f->metrics);
    fclose(f->log.out);
    gg_log_destroy(&f->log);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

typedef struct transfer {
    CURL *easy;
    char expect[64];
    tc_response r;
} transfer;

static void transfer_start(CURLM *multi, transfer *t, unsigned short port, unsigned n)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/defer/%u", port, n);
    snprintf(t->expect, sizeof(t->expect), "{\"n\":\"%u\"}", n);
    memset(&t->r, 0, sizeof(t->r));
    curl_easy_setopt(t->easy, CURLOPT_URL, url);
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, tc_collect_body);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &t->r);
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
    curl_multi_add_handle(multi, t->easy);
}

/* CLIENT_REQS requests, PARALLEL at a time on keep-alive connections; returns how many were
 * answered 200 with their own body. */
static void *clients(void *arg)
{
    fixture *f = arg;
    CURLM *multi = curl_multi_init();
    static transfer ts[PARALLEL];
    unsigned next = 0, running = 0;
    uintptr_t good = 0;
    for (int i = 0; i < PARALLEL; i++) {
        ts[i].easy = curl_easy_init();
        transfer_start(multi, &ts[i], f->port, next++);
        running++;
    }
    while (running) {
        int still, msgs;
        curl_multi_perform(multi, &still);
        curl_multi_poll(multi, NULL, 0, 100, NULL);
        for (CURLMsg *m; (m = curl_multi_info_read(multi, &msgs));) {
            if (m->msg != CURLMSG_DONE)
                continue;
            transfer *t;
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (m->data.result == CURLE_OK && status == 200 && strcmp(t->r.body, t->expect) == 0)
                good++;
            curl_multi_remove_handle(multi, t->easy);
            running--;
            if (next < CLIENT_REQS) {
                transfer_start(multi, t, f->port, next++);
                running++;
            }
        }
    }
    for (int i = 0; i < PARALLEL; i++)
        curl_easy_cleanup(ts[i].easy);
    curl_multi_cleanup(multi);
    return (void *)good;
}

static int connect_to(unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Closes with a reset instead of a FIN, as a client that crashed would. */
static void reset_close(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

/* Waits (up to 10 s) until hang-up client i's request is parked. */
static bool wait_parked(fixture *f, unsigned i)
{
    struct timespec pause = {0, 50 * 1000};
    for (int k = 0; k < 200000 && !atomic_load(&f->parked[i]); k++)
        nanosleep(&pause, NULL);
    return atomic_load(&f->parked[i]);
}

/* Hang-ups of every kind: before sending anything, inside the request line, right after the
 * request (FIN or reset), and once the request is parked (FIN or reset). Returns how many
 * clients could not play their part. */
static void *hangups(void *arg)
{
    fixture *f = arg;
    uintptr_t failures = 0;
    for (unsigned i = 0; i < HANGUPS; i++) {
        char req[128];
        int len = snprintf(req, sizeof(req), "GET /defer/%u HTTP/1.1\r\nHost: t\r\n\r\n",
                           HANGUP_BASE + i);
        int fd = connect_to(f->port);
        unsigned kind = i % 6;
        if (fd < 0) {
            failures++;
            continue;
        }
        if (kind == 1 && write(fd, req, 9) != 9)
            failures++;
        if (kind >= 2 && write(fd, req, (size_t)len) != len)
            failures++;
        if (kind >= 4 && !wait_parked(f, i))
            failures++;
        if (kind == 3 || kind == 5)
            reset_close(fd);
        else
            close(fd);
    }
    return (void *)failures;
}

static uint64_t finished(fixture *f)
{
    size_t nb;
    const double *b = gg_metrics_latency_buckets(&nb);
    return gg_histogram_count(gg_metrics_histogram(f->metrics, "http_request_duration_seconds", "",
                                                   "route=\"/defer/{n}\"", b, nb));
}

static void test_deferred_replies_under_stress(void **state)
{
    fixture *f = *state;
    pthread_t c, h;
    void *good, *failures;
    assert_int_equal(pthread_create(&c, NULL, clients, f), 0);
    assert_int_equal(pthread_create(&h, NULL, hangups, f), 0);
    pthread_join(c, &good);
    pthread_join(h, &failures);
    assert_int_equal((uintptr_t)good, CLIENT_REQS);
    assert_int_equal((uintptr_t)failures, 0);
    /* Every request the handler parked is finished exactly once: the last ones (hang-ups) may
     * still be on their way through a replier. */
    struct timespec t0, now, pause = {0, 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (finished(f) >= atomic_load(&f->dispatched))
            break;
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - t0.tv_sec < 30);
    unsigned dispatched = atomic_load(&f->dispatched);
    assert_true(dispatched >= CLIENT_REQS + HANGUPS / 3); /* the two parked kinds at least */
    assert_int_equal(finished(f), dispatched);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deferred_replies_under_stress, setup, teardown),
    };
    int rc = cmocka_run_group_tests_name("gg_http deferral stress", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
