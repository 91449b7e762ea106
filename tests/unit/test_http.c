/* Unit tests of gg_http: routing, central errors, request ids, keep-alive, deferred replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "gg_http.h"
#include "http_client.h"

typedef struct fixture {
    gg_log log;
    gg_metrics *metrics;
    gg_http_server *srv;
    CURL *curl;
    char base[64];
} fixture;

static void h_station(gg_http_req *req, void *ud)
{
    (void)ud;
    gg_http_reply_json(req, 200,
                       json_pack("{s:s, s:s?}", "id", gg_http_param(req, "id"), "aspect",
                                 gg_http_query(req, "aspect")));
}

static void h_echo(gg_http_req *req, void *ud)
{
    (void)ud;
    gg_http_reply_json(req, 201, json_incref(gg_http_json(req)));
}

/* A problem with members of its own; the standard members are the layer's, never overridden. */
static void h_problem_extra(gg_http_req *req, void *ud)
{
    (void)ud;
    gg_http_reply_problem_with(req, 422, "invalid-body", "words[2] is empty",
                               json_pack("{s:s, s:[i], s:s, s:i}", "field", "words[2]", "items", 7,
                                         "type", "urn:evil", "status", 200));
}

static void h_silent(gg_http_req *req, void *ud)
{
    (void)req;
    (void)ud;
}

static void h_limit(gg_http_req *req, void *ud)
{
    (void)ud;
    long limit;
    if (!gg_http_query_long(req, "limit", 1, 100, 10, &limit))
        return;
    gg_http_reply_json(req, 200, json_pack("{s:i}", "limit", (int)limit));
}

static void h_secret(gg_http_req *req, void *ud)
{
    if (!gg_http_bearer_ok(req, ud)) {
        gg_http_reply_problem(req, 401, "unauthorized", "a valid bearer token is required");
        return;
    }
    gg_http_reply_empty(req, 204);
}

static void *answer_later(void *arg)
{
    gg_http_req *req = arg;
    gg_http_reply_json(req, 200, json_pack("{s:b}", "deferred", 1)); /* also resumes req */
    return NULL;
}

static void h_defer(gg_http_req *req, void *ud)
{
    (void)ud;
    pthread_t t;
    gg_http_defer(req);
    pthread_create(&t, NULL, answer_later, req);
    pthread_detach(t);
}

/* Deferred, then answered before returning: a parking that failed answers on the worker. */
static void h_defer_then_answer(gg_http_req *req, void *ud)
{
    (void)ud;
    gg_http_defer(req);
    gg_http_reply_json(req, 200, json_pack("{s:b}", "deferred", 0));
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    *state = f;
    FILE *devnull = fopen("/dev/null", "w");
    gg_log_init(&f->log, "test", GG_LOG_ERROR, devnull);
    f->metrics = gg_metrics_new("gridgate_test");
    gg_http_config cfg = {.listen = "127.0.0.1:0", .max_body = 4096, .cors_origin = "*"};
    f->srv = gg_http_new(&cfg, &f->log, f->metrics);
    assert_int_equal(gg_http_route_query(f->srv, "GET", "/v1/stations/{id}/latest", "aspect", 0,
                                         h_station, NULL),
                     0);
    assert_int_equal(gg_http_route(f->srv, "POST", "/v1/echo", GG_HTTP_JSON_BODY, h_echo, NULL), 0);
    assert_int_equal(gg_http_route(f->srv, "GET", "/silent", 0, h_silent, NULL), 0);
    assert_int_equal(gg_http_route(f->srv, "GET", "/v1/problem", 0, h_problem_extra, NULL), 0);
    assert_int_equal(gg_http_route_query(f->srv, "GET", "/limit", "limit", 0, h_limit, NULL), 0);
    assert_int_equal(gg_http_route(f->srv, "GET", "/secret", 0, h_secret, "s3cret"), 0);
    assert_int_equal(gg_http_route(f->srv, "GET", "/defer", 0, h_defer, NULL), 0);
    assert_int_equal(gg_http_route(f->srv, "GET", "/defer-now", 0, h_defer_then_answer, NULL), 0);
    assert_int_equal(gg_http_start(f->srv), 0);
    assert_true(gg_http_port(f->srv) > 0);
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

static void get(fixture *f, const char *method, const char *path, const char *const *hdrs,
                const char *body, tc_response *r)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    assert_int_equal(tc_request(f->curl, method, url, hdrs, body, r), 0);
}

static void test_route_params_and_query(void **state)
{
    static tc_response r;
    char ct[128];
    get(*state, "GET", "/v1/stations/42/latest?aspect=edge_prediction", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"id\":\"42\",\"aspect\":\"edge_prediction\"}");
    assert_non_null(tc_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/json");
}

static void test_not_found_is_problem_json(void **state)
{
    static tc_response r;
    char ct[128];
    get(*state, "GET", "/v1/nothing/here", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(tc_header(&r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/problem+json");
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 404);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "urn:gridgate:problem:not-found");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Not Found");
    assert_non_null(json_object_get(j, "detail"));
    json_decref(j);
}

static void test_method_not_allowed_lists_allow(void **state)
{
    static tc_response r;
    char allow[64];
    get(*state, "DELETE", "/v1/stations/1/latest", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(tc_header(&r, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET");
}

static void test_json_body_roundtrip(void **state)
{
    static tc_response r;
    const char *hdrs[] = {"Content-Type: application/json; charset=utf-8", NULL};
    get(*state, "POST", "/v1/echo", hdrs, "{\"a\":[1,2,3]}", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"a\":[1,2,3]}");
}

static void test_wrong_media_type_is_415(void **state)
{
    static tc_response r;
    const char *hdrs[] = {"Content-Type: text/plain", NULL};
    get(*state, "POST", "/v1/echo", hdrs, "{}", &r);
    assert_int_equal(r.status, 415);
}

static void test_invalid_json_is_400(void **state)
{
    static tc_response r;
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    get(*state, "POST", "/v1/echo", hdrs, "{\"a\":", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "invalid-json"));
}

/* JSON allows \u0000 in a string; a schema-valid body must not be called "not JSON" (400). The
 * NUL is refused as text no backend stores, by name of the member, with 422. */
static void test_nul_in_json_string_is_422_not_400(void **state)
{
    static tc_response r;
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    get(*state, "POST", "/v1/echo", hdrs, "{\"a\":[1,{\"q\":\"x\\u0000y\"}]}", &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body, "invalid-text"));
    assert_non_null(strstr(r.body, "/a/1/q"));
    get(*state, "POST", "/v1/echo", hdrs, "{\"a\\u0000b\":1}", &r);
    assert_int_equal(r.status, 422);
}

static void test_problem_with_extra_members(void **state)
{
    static tc_response r;
    get(*state, "GET", "/v1/problem", NULL, NULL, &r);
    assert_int_equal(r.status, 422);
    json_t *p = json_loads(r.body, 0, NULL);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "field")), "words[2]");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "items"), 0)), 7);
    assert_string_equal(json_string_value(json_object_get(p, "type")),
                        "urn:gridgate:problem:invalid-body");
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 422);
    assert_non_null(json_object_get(p, "request_id"));
    json_decref(p);
}

/* The one media-type rule of every JSON body: application/json or a structured +json type, any
 * parameters after ";". */
static void test_json_media_types(void **state)
{
    (void)state;
    assert_true(gg_http_is_json_type("application/json"));
    assert_true(gg_http_is_json_type("Application/JSON ; charset=utf-8"));
    assert_true(gg_http_is_json_type("application/merge-patch+json"));
    assert_false(gg_http_is_json_type("x+json"));
    assert_false(gg_http_is_json_type("text/plain"));
    assert_false(gg_http_is_json_type("application/jsonx"));
    assert_false(gg_http_is_json_type(""));
    assert_false(gg_http_is_json_type(NULL));
}

static void test_body_over_limit_is_413(void **state)
{
    static tc_response r;
    static char big[6000];
    memset(big, 'x', sizeof(big) - 1);
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    get(*state, "POST", "/v1/echo", hdrs, big, &r);
    assert_int_equal(r.status, 413);
}

static void test_request_id_echoed(void **state)
{
    static tc_response r;
    char rid[160];
    const char *hdrs[] = {"X-Request-Id: abc-123.x", NULL};
    get(*state, "GET", "/v1/stations/1/latest", hdrs, NULL, &r);
    assert_non_null(tc_header(&r, "X-Request-Id", rid, sizeof(rid)));
    assert_string_equal(rid, "abc-123.x");
}

static void test_request_id_generated_when_absent_or_unsafe(void **state)
{
    static tc_response r;
    char a[160], b[160];
    get(*state, "GET", "/v1/stations/1/latest", NULL, NULL, &r);
    assert_non_null(tc_header(&r, "X-Request-Id", a, sizeof(a)));
    const char *hdrs[] = {"X-Request-Id: evil\"id with spaces", NULL};
    get(*state, "GET", "/v1/stations/1/latest", hdrs, NULL, &r);
    assert_non_null(tc_header(&r, "X-Request-Id", b, sizeof(b)));
    assert_int_equal(strlen(a), 24);
    assert_string_not_equal(a, b);
    assert_null(strchr(b, ' '));
}

static void test_keep_alive_reuses_connection(void **state)
{
    fixture *f = *state;
    static tc_response r1, r2;
    char conn[64];
    get(f, "GET", "/v1/stations/1/latest", NULL, NULL, &r1);
    get(f, "GET", "/v1/stations/2/latest", NULL, NULL, &r2);
    assert_int_equal(r1.status, 200);
    assert_int_equal(r2.status, 200);
    assert_int_equal(r2.connects, 0); /* the second request travelled on the first's connection */
    assert_true(!tc_header(&r1, "Connection", conn, sizeof(conn)) ||
                strcasecmp(conn, "close") != 0);
}

static void test_handler_without_reply_is_500(void **state)
{
    static tc_response r;
    get(*state, "GET", "/silent", NULL, NULL, &r);
    assert_int_equal(r.status, 500);
}

static void test_query_long_validation(void **state)
{
    static tc_response r;
    get(*state, "GET", "/limit?limit=7", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"limit\":7}");
    get(*state, "GET", "/limit?limit=abc", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "limit"));
    get(*state, "GET", "/limit?limit=1000", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
}

/* Each route takes the query parameters it declared, each at most once; anything else is a 400
 * naming the parameter, before the handler runs, so a typo (?aspects=) is never silently ignored.
 */
static void test_undeclared_or_repeated_query_is_400(void **state)
{
    static tc_response r;
    char ct[128];
    static const char *const bad[] = {
        "/v1/stations/42/latest?aspects=real_time",                       /* not declared */
        "/v1/stations/42/latest?aspect=real_time&aspect=edge_prediction", /* repeated */
        "/v1/stations/42/latest?aspect=real_time&aspect", /* repeated, once without a value */
        "/limit?limit=5&limit=6",
        "/limit?=5",
        "/silent?x=1", /* a route that declares none */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        get(*state, "GET", bad[i], NULL, NULL, &r);
        assert_int_equal(r.status, 400);
        assert_non_null(tc_header(&r, "Content-Type", ct, sizeof(ct)));
        assert_string_equal(ct, "application/problem+json");
        assert_non_null(strstr(r.body, "\"type\":\"urn:gridgate:problem:invalid-parameter\""));
        assert_non_null(strstr(r.body, "query parameter"));
    }
    get(*state, "GET", "/v1/stations/42/latest?aspect=edge_prediction", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    get(*state, "GET", "/limit?limit=5", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"limit\":5}");
}

static void test_bearer_token(void **state)
{
    static tc_response r;
    const char *good[] = {"Authorization: Bearer s3cret", NULL};
    const char *bad[] = {"Authorization: Bearer s3cre", NULL};
    get(*state, "GET", "/secret", good, NULL, &r);
    assert_int_equal(r.status, 204);
    get(*state, "GET", "/secret", bad, NULL, &r);
    assert_int_equal(r.status, 401);
    get(*state, "GET", "/secret", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
}

static void test_deferred_reply(void **state)
{
    static tc_response r;
    get(*state, "GET", "/defer", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"deferred\":true}");
}

static void test_deferred_reply_from_the_handler_itself(void **state)
{
    static tc_response r;
    get(*state, "GET", "/defer-now", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"deferred\":false}");
}

static void test_cors_preflight_and_header(void **state)
{
    static tc_response r;
    char v[128];
    get(*state, "OPTIONS", "/v1/stations/9/latest", NULL, NULL, &r);
    assert_int_equal(r.status, 204);
    assert_non_null(tc_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
    assert_string_equal(v, "GET");
    get(*state, "GET", "/v1/stations/9/latest", NULL, NULL, &r);
    assert_non_null(tc_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
    assert_string_equal(v, "*");
}

static void test_encoded_nul_does_not_cut_the_path(void **state)
{
    static tc_response r;
    get(*state, "GET", "/v1/stations/%00/latest", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"id\":\"%00\",\"aspect\":null}");
    get(*state, "GET", "/v1/stations/a%2Db/latest", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"id\":\"a-b\",\"aspect\":null}");
}

static void test_head_served_by_get(void **state)
{
    static tc_response r;
    get(*state, "HEAD", "/v1/stations/3/latest", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
}

static void test_metrics_count_requests(void **state)
{
    fixture *f = *state;
    static tc_response r;
    gg_counter *c = gg_metrics_counter(f->metrics, "http_requests_total", "",
                                       "route=\"/limit\",method=\"GET\",status=\"200\"");
    uint64_t before = gg_counter_value(c);
    get(f, "GET", "/limit", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    /* The count lands when the response is complete, which may be just after curl returns. */
    struct timespec t0, now, pause = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (gg_counter_value(c) != before)
            break;
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - t0.tv_sec < 5);
    assert_int_equal(gg_counter_value(c), before + 1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_params_and_query),
        cmocka_unit_test(test_not_found_is_problem_json),
        cmocka_unit_test(test_method_not_allowed_lists_allow),
        cmocka_unit_test(test_json_body_roundtrip),
        cmocka_unit_test(test_wrong_media_type_is_415),
        cmocka_unit_test(test_invalid_json_is_400),
        cmocka_unit_test(test_nul_in_json_string_is_422_not_400),
        cmocka_unit_test(test_problem_with_extra_members),
        cmocka_unit_test(test_json_media_types),
        cmocka_unit_test(test_body_over_limit_is_413),
        cmocka_unit_test(test_request_id_echoed),
        cmocka_unit_test(test_request_id_generated_when_absent_or_unsafe),
        cmocka_unit_test(test_keep_alive_reuses_connection),
        cmocka_unit_test(test_handler_without_reply_is_500),
        cmocka_unit_test(test_query_long_validation),
        cmocka_unit_test(test_undeclared_or_repeated_query_is_400),
        cmocka_unit_test(test_bearer_token),
        cmocka_unit_test(test_deferred_reply),
        cmocka_unit_test(test_deferred_reply_from_the_handler_itself),
        cmocka_unit_test(test_cors_preflight_and_header),
        cmocka_unit_test(test_encoded_nul_does_not_cut_the_path),
        cmocka_unit_test(test_head_served_by_get),
        cmocka_unit_test(test_metrics_count_requests),
    };
    int rc = cmocka_run_group_tests_name("gg_http", tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
