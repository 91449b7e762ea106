/* Unit test of gg_http's request metrics against a real server: whatever methods and paths
 * clients send, the label values come from bounded sets (a known method or "other", a route
 * template or "unmatched"), so junk cannot fill the registry and crowd out series that appear
 * later, such as the first 503 of a route that an alert waits for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <time.h>

#include "gg_http.h"
#include "http_client.h"

#define JUNK 20000

typedef struct fixture {
    gg_log log;
    gg_metrics *metrics;
    gg_http_server *srv;
    CURL *curl;
    char base[64];
} fixture;

static void h_ok(gg_http_req *req, void *ud)
{
    (void)ud;
    gg_http_reply_empty(req, 204);
}

static void h_busy(gg_http_req *req, void *ud)
{
    (void)ud;
    gg_http_reply_problem(req, 503, "unavailable", "the backend is down");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    *state = f;
    FILE *devnull = fopen("/dev/null", "w");
    gg_log_init(&f->log, "test", GG_LOG_ERROR, devnull);
    f->metrics = gg_metrics_new("gridgate_test");
    gg_http_config cfg = {.listen = "127.0.0.1:0"};
    f->srv = gg_http_new(&cfg, &f->log, f->metrics);
    assert_int_equal(gg_http_route(f->srv, "GET", "/v1/items/{id}", 0, h_ok, NULL), 0);
    assert_int_equal(gg_http_route(f->srv, "GET", "/v1/busy", 0, h_busy, NULL), 0);
    assert_int_equal(gg_http_start(f->srv), 0);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", gg_http_port(f->srv));
    f->curl = curl_easy_init();
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    curl_easy_cleanup(f->curl);
    gg_http_free(f->srv);
    gg_metrics_free(f->metrics);
    fclose(f->log.out);
    gg_log_destroy(&f->log);
    free(f);
    return 0;
}

static long request(fixture *f, const char *method, const char *path)
{
    static tc_response r;
    char url[256];
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    assert_int_equal(tc_request(f->curl, method, url, NULL, NULL, &r), 0);
    return r.status;
}

/* Sample lines of the exposition: one per counter or gauge series, several per histogram. */
static size_t sample_lines(fixture *f)
{
    char *text = gg_metrics_render(f->metrics, NULL);
    assert_non_null(text);
    size_t n = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        n += *line != '#';
        if (!nl)
            break;
        line = nl + 1;
    }
    free(text);
    return n;
}

/* The requests counter of one label set, read the way a scrape reads it. */
static gg_counter *requests(fixture *f, const char *labels)
{
    return gg_metrics_counter(f->metrics, "http_requests_total", "", labels);
}

/* Waits until the counter reaches want: a request is counted when it is complete, which may be
 * just after the client has the answer. */
static uint64_t wait_count(gg_counter *c, uint64_t want)
{
    struct timespec t0, now, pause = {0, 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (gg_counter_value(c) >= want)
            break;
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - t0.tv_sec < 10);
    return gg_counter_value(c);
}

static void junk_request(fixture *f, unsigned i)
{
    char method[16], path[64];
    snprintf(method, sizeof(method), "X%u", i);
    switch (i % 3) {
    case 0: /* unknown method on an unknown path: 404 */
        snprintf(path, sizeof(path), "/junk/%u", i);
        assert_int_equal(request(f, method, path), 404);
        break;
    case 1: /* unknown method on a known path: 405 */
        snprintf(path, sizeof(path), "/v1/items/%u", i);
        assert_int_equal(request(f, method, path), 405);
        break;
    default: /* a known method on an unknown path: 404 */
        snprintf(path, sizeof(path), "/v1/items/%u/junk", i);
        assert_int_equal(request(f, "GET", path), 404);
    }
}

static void test_junk_methods_and_paths_keep_series_bounded(void **state)
{
    fixture *f = *state;
    /* One of each kind first: the series they make are the only ones junk may ever need. */
    for (unsigned i = 0; i < 3; i++)
        junk_request(f, i);
    gg_counter *junk404 = requests(f, "route=\"unmatched\",method=\"other\",status=\"404\"");
    gg_counter *junk405 = requests(f, "route=\"unmatched\",method=\"other\",status=\"405\"");
    gg_counter *get404 = requests(f, "route=\"unmatched\",method=\"GET\",status=\"404\"");
    assert_int_equal(wait_count(get404, 1), 1);
    size_t before = sample_lines(f);
    for (unsigned i = 3; i < JUNK; i++)
        junk_request(f, i);
    uint64_t n404 = wait_count(junk404, (JUNK + 2) / 3), n405 = wait_count(junk405, (JUNK + 1) / 3),
             nget = wait_count(get404, JUNK / 3);
    size_t after = sample_lines(f);
    print_message("sample lines: %zu before, %zu after %u junk requests\n", before, after, JUNK);
    assert_int_equal(after, before);

    /* A series first needed after the junk still gets made and counted. */
    assert_int_equal(request(f, "GET", "/v1/busy"), 503);
    assert_int_equal(wait_count(requests(f, "route=\"/v1/busy\",method=\"GET\",status=\"503\""), 1),
                     1);
    assert_int_equal(n404, (JUNK + 2) / 3);
    assert_int_equal(n405, (JUNK + 1) / 3);
    assert_int_equal(nget, JUNK / 3);
}

static void test_method_labels_are_the_standard_methods(void **state)
{
    fixture *f = *state;
    assert_int_equal(request(f, "GET", "/v1/items/1"), 204);
    assert_int_equal(request(f, "DELETE", "/v1/items/1"), 405);
    assert_int_equal(request(f, "get", "/v1/items/1"), 405); /* methods are case-sensitive */
    assert_int_equal(
        wait_count(requests(f, "route=\"/v1/items/{id}\",method=\"GET\",status=\"204\""), 1), 1);
    assert_int_equal(
        wait_count(requests(f, "route=\"unmatched\",method=\"DELETE\",status=\"405\""), 1), 1);
    assert_int_equal(
        wait_count(requests(f, "route=\"unmatched\",method=\"other\",status=\"405\""), 1), 1);
    char *text = gg_metrics_render(f->metrics, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "method=\"get\""));
    free(text);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_junk_methods_and_paths_keep_series_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_method_labels_are_the_standard_methods, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests_name("gg_http metric labels", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
