/* Unit tests of the loader's view of the whole GRIDGATE_* namespace: a variable no gridgate
 * service knows is a usage error naming the closest known setting; a setting of another service
 * (shared env files export them all) and a Kafka pass-through property are accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_config.h"

typedef struct env_settings {
    char *topic;
    long port;
} env_settings;

static const gg_conf_opt env_opts[] = {
    {"topic", GG_CONF_STR, offsetof(env_settings, topic), "INGESTION", "topic", 0, 0, NULL, 0},
    {"port", GG_CONF_INT, offsetof(env_settings, port), "8080", "a port", 1, 65535, NULL, 0},
};
#define NOPTS (sizeof(env_opts) / sizeof(env_opts[0]))

typedef struct run {
    int rc;
    char *out, *err;
    size_t outlen, errlen;
} run;

static run load_env(const char *const *env, bool props)
{
    run r = {0};
    env_settings s;
    gg_conf_props kp;
    char *argv[] = {"prog", NULL};
    char *envp[16] = {NULL};
    for (size_t i = 0; env[i]; i++)
        envp[i] = (char *)env[i];
    FILE *out = open_memstream(&r.out, &r.outlen);
    FILE *err = open_memstream(&r.err, &r.errlen);
    r.rc = gg_conf_load("prog", NULL, env_opts, NOPTS, &s, props ? &kp : NULL, 1, argv, envp, out,
                        err);
    fclose(out);
    fclose(err);
    gg_conf_free(env_opts, NOPTS, &s, props ? &kp : NULL);
    return r;
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

/* Status 2 and one line naming the variable and the suggestion. */
static void assert_unknown(const char *var, const char *closest)
{
    const char *env[] = {var, NULL};
    run r = load_env(env, true);
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(var, "="), var);
    assert_int_equal(r.rc, GG_CONF_EXIT_USAGE);
    assert_non_null(strstr(r.err, name));
    assert_non_null(strstr(r.err, closest));
    assert_ptr_equal(strchr(r.err, '\n'), r.err + r.errlen - 1);
    assert_null(strstr(r.err, "s3cr3t")); /* the value may be a credential */
    run_free(&r);
}

static void test_unknown_name_suggests_closest(void **state)
{
    (void)state;
    assert_unknown("GRIDGATE_REDIS_ULR=redis://:s3cr3t@h:1/0", "GRIDGATE_REDIS_URL");
    assert_unknown("GRIDGATE_PROT=s3cr3t", "GRIDGATE_PORT");             /* own table */
    assert_unknown("GRIDGATE_topic=s3cr3t", "GRIDGATE_TOPIC");           /* wrong case */
    assert_unknown("GRIDGATE_MONGODB_URI=s3cr3t", "GRIDGATE_MONGO_URI"); /* inserted letters */
    assert_unknown("GRIDGATE_LISTEN_ADDR=s3cr3t", "GRIDGATE_LISTEN");
    /* Empty still counts: the name is the mistake. */
    assert_unknown("GRIDGATE_WEBHCAT_ULR=", "GRIDGATE_WEBHCAT_URL");
}

static void test_other_services_settings_pass(void **state)
{
    (void)state;
    /* What tests/stack/env and the demo export to every service. */
    const char *env[] = {"GRIDGATE_REDIS_URL=redis://127.0.0.1:1/0",
                         "GRIDGATE_WEBHCAT_URL=http://127.0.0.1:1/templeton/v1",
                         "GRIDGATE_MONGO_URI=mongodb://127.0.0.1:1/",
                         "GRIDGATE_KAFKA_BROKERS=127.0.0.1:1",
                         "GRIDGATE_HADOOP_USER=gridgate",
                         "GRIDGATE_PORT=81",
                         "GRIDGATEWAY=not ours",
                         "GG_REDIS_PORT=1",
                         NULL};
    run r = load_env(env, false);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(r.errlen, 0);
    run_free(&r);
}

static void test_kafka_props_by_service(void **state)
{
    (void)state;
    const char *env[] = {"GRIDGATE_KAFKA_PROP_SASL_MECHANISM=PLAIN", NULL};
    /* Read by a Kafka service, and known to the others as another service's setting. */
    run r = load_env(env, true);
    assert_int_equal(r.rc, GG_CONF_OK);
    run_free(&r);
    r = load_env(env, false);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(r.errlen, 0);
    run_free(&r);
    /* A typo in the prefix is a typo. */
    assert_unknown("GRIDGATE_KAFKA_PROPS_SASL_MECHANISM=PLAIN", "GRIDGATE_KAFKA_PROP_");
}

/* What Kubernetes sets for the Services of a release called gridgate is no setting of ours. */
static void test_kubernetes_service_links_pass(void **state)
{
    (void)state;
    const char *env[] = {"GRIDGATE_CACHE_SERVICE_HOST=10.0.0.11",
                         "GRIDGATE_CACHE_SERVICE_PORT=8082",
                         "GRIDGATE_CACHE_SERVICE_PORT_HTTP=8082",
                         "GRIDGATE_CACHE_PORT=tcp://10.0.0.11:8082",
                         "GRIDGATE_CACHE_PORT_8082_TCP=tcp://10.0.0.11:8082",
                         "GRIDGATE_CACHE_PORT_8082_TCP_PROTO=tcp",
                         "GRIDGATE_CACHE_PORT_8082_TCP_PORT=8082",
                         "GRIDGATE_CACHE_PORT_8082_TCP_ADDR=10.0.0.11",
                         "GRIDGATE_DNS_PORT_53_UDP_ADDR=10.0.0.10",
                         NULL};
    run r = load_env(env, true);
    assert_int_equal(r.rc, GG_CONF_OK);
    run_free(&r);
    /* Near misses are still typos. */
    assert_unknown("GRIDGATE_REDIS_PORT=6379", "GRIDGATE_REDIS_URL");
    assert_unknown("GRIDGATE_CACHE_PORT_8082_TCP_HOST=x", "GRIDGATE_");
    assert_unknown("GRIDGATE_CACHE_PORT_X_TCP=x", "GRIDGATE_");
}

/* Every name the shared list holds is accepted by a service whose table has none of them. */
static void test_known_names(void **state)
{
    (void)state;
    size_t n = 0;
    const char *const *names = gg_conf_known_settings(&n);
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        char var[96];
        snprintf(var, sizeof(var), "GRIDGATE_%s=", names[i]);
        for (char *p = var + 9; *p != '='; p++)
            *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        const char *env[] = {var, NULL};
        run r = load_env(env, false);
        if (r.rc != GG_CONF_OK)
            fail_msg("%s rejected: %s", var, r.err);
        run_free(&r);
    }
}

/* The service's own check: counts its calls, refuses a port of 13. */
static int validate_calls;
static int validate_port(const void *settings, const gg_conf_props *props, char *why, size_t len)
{
    const env_settings *s = settings;
    (void)props;
    validate_calls++;
    if (s->port != 13)
        return 0;
    snprintf(why, len, "--port (env GRIDGATE_PORT) 13 is unlucky");
    return -1;
}

static run startup(const char *const *args, const char *const *env, env_settings *s)
{
    static const gg_conf_spec spec = {"prog", NULL, env_opts, NOPTS, validate_port};
    run r = {0};
    gg_conf_props kp;
    char *argv[8] = {"prog"}, *envp[8] = {NULL};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    for (size_t i = 0; env[i]; i++)
        envp[i] = (char *)env[i];
    FILE *out = open_memstream(&r.out, &r.outlen);
    FILE *err = open_memstream(&r.err, &r.errlen);
    r.rc = gg_conf_startup(&spec, s, &kp, argc, argv, envp, out, err);
    fclose(out);
    fclose(err);
    if (r.rc == GG_CONF_OK)
        gg_conf_free(env_opts, NOPTS, s, &kp);
    else /* nothing may be left allocated: the caller exits */
        assert_null(s->topic);
    return r;
}

/* --check-config runs the same steps as a start and only then stops, with a one-line verdict. */
static void test_startup_and_check_config(void **state)
{
    (void)state;
    env_settings s;
    const char *none[] = {NULL}, *check[] = {"--check-config", NULL};
    const char *good[] = {"GRIDGATE_KAFKA_PROP_SASL_MECHANISM=PLAIN", NULL};
    const char *unlucky[] = {"GRIDGATE_PORT=13", NULL};

    validate_calls = 0;
    run r = startup(none, good, &s);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(r.outlen + r.errlen, 0);
    run_free(&r);

    r = startup(check, good, &s);
    assert_int_equal(r.rc, GG_CONF_EXIT_SUCCESS);
    assert_int_equal(gg_conf_exit_status(r.rc), 0);
    assert_string_equal(r.out, "prog: configuration OK (2 settings, 1 Kafka property)\n");
    assert_int_equal(r.errlen, 0);
    run_free(&r);

    for (int i = 0; i < 2; i++) {
        r = startup(i ? check : none, unlucky, &s);
        assert_int_equal(gg_conf_exit_status(r.rc), 2);
        assert_string_equal(r.err, "prog: --port (env GRIDGATE_PORT) 13 is unlucky\n");
        assert_int_equal(r.outlen, 0);
        run_free(&r);
    }
    assert_int_equal(validate_calls, 4);

    /* A setting the table refuses never reaches the service's check. */
    const char *bad[] = {"GRIDGATE_PORT=0", NULL};
    r = startup(check, bad, &s);
    assert_int_equal(r.rc, GG_CONF_EXIT_USAGE);
    assert_non_null(strstr(r.err, "GRIDGATE_PORT"));
    assert_int_equal(validate_calls, 4);
    run_free(&r);
}

/* The shared list is README.md's configuration table, name for name: a setting added to a
 * service but not to the list would be refused by the other two services. */
static void test_known_names_are_readme_table(void **state)
{
    (void)state;
    size_t n = 0, rows = 0;
    const char *const *names = gg_conf_known_settings(&n);
    char line[1024], var[128];
    bool seen[128] = {false};
    assert_true(n <= 128);
    FILE *f = fopen(GG_SOURCE_DIR "/README.md", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "| `GRIDGATE_%100[A-Z0-9_]` |", var) != 1)
            continue;
        rows++;
        size_t i = 0;
        for (; i < n; i++) {
            char env[128] = "";
            snprintf(env, sizeof(env), "%s", names[i]);
            for (char *p = env; *p; p++)
                *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
            if (strcmp(env, var) == 0)
                break;
        }
        if (i == n && strcmp(var, "KAFKA_PROP_") != 0)
            fail_msg("README.md documents GRIDGATE_%s, which the shared list lacks", var);
        if (i < n)
            seen[i] = true;
    }
    fclose(f);
    assert_true(rows > 30);
    for (size_t i = 0; i < n; i++)
        if (!seen[i])
            fail_msg("%s is in the shared list but not in README.md's table", names[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_name_suggests_closest),
        cmocka_unit_test(test_other_services_settings_pass),
        cmocka_unit_test(test_kafka_props_by_service),
        cmocka_unit_test(test_kubernetes_service_links_pass),
        cmocka_unit_test(test_known_names),
        cmocka_unit_test(test_known_names_are_readme_table),
        cmocka_unit_test(test_startup_and_check_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
