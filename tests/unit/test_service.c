/* Unit tests of gg_service_main: the lifecycle's steps run in their one order, a failed start
 * still tears down what was built, and --check-config starts nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "gg_service.h"
#include "gg_time.h"

typedef struct svc_settings {
    gg_base_settings base;
} svc_settings;

typedef struct svc_ctx {
    gg_service svc;
    svc_settings cfg;
    char steps[256];
    bool fail_setup;
    bool served_during_run; /* /healthz answered when run started */
    int64_t deadline_seen;
    pthread_t killer;
    bool killer_started;
} svc_ctx;

static const gg_conf_opt opts[] = {GG_OPTS_BASE(svc_settings, base, "127.0.0.1:0")};
static const gg_conf_spec spec = {"gridgate-test", "A service for the lifecycle test.", opts,
                                  sizeof(opts) / sizeof(opts[0]), NULL};

/* The steps are recorded from the main thread only, so the order needs no lock. */
static void step(svc_ctx *c, const char *name)
{
    strncat(c->steps, name, sizeof(c->steps) - strlen(c->steps) - 2);
    strcat(c->steps, " ");
}

static int setup(void *ud)
{
    svc_ctx *c = ud;
    step(c, "setup");
    return c->fail_setup ? -1 : 0;
}

static void *send_term(void *ud)
{
    (void)ud;
    kill(getpid(), SIGTERM);
    return NULL;
}

static int run(void *ud)
{
    svc_ctx *c = ud;
    step(c, "run");
    c->served_during_run = gg_http_port(c->svc.http) > 0;
    c->killer_started = pthread_create(&c->killer, NULL, send_term, NULL) == 0;
    return 0;
}

static void quiesce(void *ud)
{
    svc_ctx *c = ud;
    step(c, "quiesce");
    c->deadline_seen = gg_service_deadline_ms(&c->svc);
}

static void drained(void *ud)
{
    step(ud, "drained");
}

static void teardown(void *ud)
{
    svc_ctx *c = ud;
    step(c, "teardown");
    if (c->killer_started)
        pthread_join(c->killer, NULL);
}

static const gg_service_def def = {.name = "test",
                                   .spec = &spec,
                                   .setup = setup,
                                   .run = run,
                                   .quiesce = quiesce,
                                   .drained = drained,
                                   .teardown = teardown};

static int run_main(svc_ctx *c, char *arg)
{
    char prog[] = "gridgate-test", log[] = "--log-level=error";
    char *argv[] = {prog, log, arg, NULL};
    const gg_service_parts parts = {&c->svc, &c->cfg, &c->cfg.base, NULL};
    return gg_service_main(&def, c, &parts, arg ? 3 : 2, argv);
}

static void test_steps_run_in_order_and_stop_on_sigterm(void **state)
{
    (void)state;
    static svc_ctx c;
    memset(&c, 0, sizeof(c));
    int64_t t0 = gg_time_mono_ms();
    assert_int_equal(run_main(&c, NULL), 0);
    assert_string_equal(c.steps, "setup run quiesce drained teardown ");
    assert_true(c.served_during_run);
    /* The deadline is the start of the shutdown plus the default 10 s. */
    assert_true(c.deadline_seen >= t0 + 10000 && c.deadline_seen <= gg_time_mono_ms() + 10000);
}

static void test_failed_setup_tears_down_and_exits_1(void **state)
{
    (void)state;
    static svc_ctx c;
    memset(&c, 0, sizeof(c));
    c.fail_setup = true;
    assert_int_equal(run_main(&c, NULL), 1);
    assert_string_equal(c.steps, "setup quiesce drained teardown ");
}

static void test_check_config_starts_nothing(void **state)
{
    (void)state;
    static svc_ctx c;
    memset(&c, 0, sizeof(c));
    char check[] = "--check-config";
    assert_int_equal(run_main(&c, check), 0);
    assert_string_equal(c.steps, "");
    char bad[] = "--http-threads=0";
    assert_int_equal(run_main(&c, bad), 2);
    assert_string_equal(c.steps, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_run_in_order_and_stop_on_sigterm),
        cmocka_unit_test(test_failed_setup_tears_down_and_exits_1),
        cmocka_unit_test(test_check_config_starts_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
