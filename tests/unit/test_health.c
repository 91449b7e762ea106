/* Unit tests of gg_health: readiness follows probes and in-band reports; /readyz and /healthz. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>

#include "gg_health.h"
#include "http_client.h"

typedef struct fake_dep {
    atomic_int up;
    atomic_int probes;
} fake_dep;

static int fake_probe(void *ud, char *err, size_t errlen)
{
    fake_dep *d = ud;
    atomic_fetch_add(&d->probes, 1);
    if (atomic_load(&d->up))
        return 0;
    snprintf(err, errlen, "connection refused");
    return -1;
}

typedef struct fixture {
    gg_log log;
    gg_metrics *metrics;
    gg_health *health;
    fake_dep a, b;
    gg_dep *dep_a, *dep_b;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    gg_log_init(&f->log, "test", GG_LOG_ERROR, fopen("/dev/null", "w"));
    f->metrics = gg_metrics_new("gridgate_test");
    f->health = gg_health_new(&f->log, f->metrics);
    f->dep_a = gg_health_add(f->health, "alpha", fake_probe, &f->a);
    f->dep_b = gg_health_add(f->health, "beta", fake_probe, &f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gg_health_free(f->health);
    gg_metrics_free(f->metrics);
    fclose(f->log.out);
    gg_log_destroy(&f->log);
    free(f);
    return 0;
}

/* Sets which fake dependencies answer, starts probing, and waits for those that answer. */
static void start_with(fixture *f, int a_up, int b_up, unsigned interval_ms)
{
    atomic_store(&f->a.up, a_up);
    atomic_store(&f->b.up, b_up);
    assert_int_equal(gg_health_start(f->health, interval_ms), 0);
    if (a_up)
        assert_true(gg_health_wait_up(f->dep_a, 5000));
    if (b_up)
        assert_true(gg_health_wait_up(f->dep_b, 5000));
}

static void test_not_ready_before_first_probe(void **state)
{
    fixture *f = *state;
    atomic_store(&f->a.up, 1);
    atomic_store(&f->b.up, 1);
    assert_false(gg_health_ready(f->health));
    json_t *j = gg_health_json(f->health);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "not_ready");
    json_t *alpha = json_object_get(json_object_get(j, "dependencies"), "alpha");
    assert_string_equal(json_string_value(json_object_get(alpha, "status")), "unknown");
    json_decref(j);
}

static void test_ready_once_probes_pass(void **state)
{
    fixture *f = *state;
    start_with(f, 1, 1, 200);
    assert_true(gg_health_ready(f->health));
}

static void test_down_dependency_recovers_by_itself(void **state)
{
    fixture *f = *state;
    start_with(f, 1, 0, 200);
    assert_false(gg_health_wait_up(f->dep_b, 300));
    assert_false(gg_health_ready(f->health));
    json_t *j = gg_health_json(f->health);
    json_t *beta = json_object_get(json_object_get(j, "dependencies"), "beta");
    assert_string_equal(json_string_value(json_object_get(beta, "status")), "down");
    assert_string_equal(json_string_value(json_object_get(beta, "last_error")),
                        "connection refused");
    json_decref(j);
    atomic_store(&f->b.up, 1); /* the server comes back: the probe's backoff finds it */
    assert_true(gg_health_wait_up(f->dep_b, 5000));
    assert_true(gg_health_ready(f->health));
}

static void test_in_band_report_turns_not_ready_at_once(void **state)
{
    fixture *f = *state;
    start_with(f, 1, 1, 60000);
    gg_health_report(f->dep_a, false, "write timed out");
    assert_false(gg_health_dep_up(f->dep_a));
    assert_false(gg_health_ready(f->health));
    /* The report schedules an early probe, long before the 60 s interval. */
    assert_true(gg_health_wait_up(f->dep_a, 5000));
}

static void test_metrics_reflect_state(void **state)
{
    fixture *f = *state;
    start_with(f, 1, 0, 200);
    gg_health_report(f->dep_b, false, "refused");
    gg_gauge *up_a = gg_metrics_gauge(f->metrics, "dependency_up", "", "dependency=\"alpha\"");
    gg_gauge *up_b = gg_metrics_gauge(f->metrics, "dependency_up", "", "dependency=\"beta\"");
    gg_counter *fail_b =
        gg_metrics_counter(f->metrics, "dependency_failures_total", "", "dependency=\"beta\"");
    assert_true(gg_gauge_value(up_a) == 1.0);
    assert_true(gg_gauge_value(up_b) == 0.0);
    assert_true(gg_counter_value(fail_b) >= 1);
}

static void test_draining_is_not_ready(void **state)
{
    fixture *f = *state;
    start_with(f, 1, 1, 200);
    gg_health_set_draining(f->health);
    assert_false(gg_health_ready(f->health));
    json_t *j = gg_health_json(f->health);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "draining");
    json_decref(j);
}

static void test_optional_dependency_does_not_decide_readiness(void **state)
{
    fixture *f = *state;
    gg_health_set_optional(f->dep_b);
    start_with(f, 1, 0, 200);
    gg_health_report(f->dep_b, false, "connection refused"); /* down now, not merely unprobed */
    assert_false(gg_health_dep_up(f->dep_b));
    assert_true(gg_health_ready(f->health));
    json_t *j = gg_health_json(f->health);
    json_t *beta = json_object_get(json_object_get(j, "dependencies"), "beta");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ready");
    assert_string_equal(json_string_value(json_object_get(beta, "status")), "down");
    assert_true(json_is_true(json_object_get(beta, "optional")));
    json_decref(j);
}

static void test_endpoints(void **state)
{
    fixture *f = *state;
    atomic_store(&f->a.up, 1);
    atomic_store(&f->b.up, 0);
    gg_http_config cfg = {.listen = "127.0.0.1:0"};
    gg_http_server *srv = gg_http_new(&cfg, &f->log, f->metrics);
    assert_int_equal(gg_health_mount(f->health, srv), 0);
    assert_int_equal(gg_http_start(srv), 0);
    assert_int_equal(gg_health_start(f->health, 200), 0);
    assert_true(gg_health_wait_up(f->dep_a, 5000));
    char url[128];
    static tc_response r;
    CURL *curl = curl_easy_init();
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", gg_http_port(srv));
    assert_int_equal(tc_request(curl, "GET", url, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/readyz", gg_http_port(srv));
    assert_int_equal(tc_request(curl, "GET", url, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"beta\":{\"status\":\"down\""));
    atomic_store(&f->b.up, 1);
    assert_true(gg_health_wait_up(f->dep_b, 5000));
    assert_int_equal(tc_request(curl, "GET", url, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    curl_easy_cleanup(curl);
    gg_http_free(srv);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_ready_before_first_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ready_once_probes_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_dependency_recovers_by_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_band_report_turns_not_ready_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_reflect_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_draining_is_not_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optional_dependency_does_not_decide_readiness, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_endpoints, setup, teardown),
    };
    int rc = cmocka_run_group_tests_name("gg_health", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
