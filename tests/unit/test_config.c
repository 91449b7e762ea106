/* Unit tests of the gg_config loader: precedence of flags, environment and defaults, the one-line
 * usage errors, --help and --version, Kafka pass-through properties and describe. The validators
 * and address parsers on their own are tested in test_conf_check.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_config.h"
#include "gg_log.h"

typedef struct test_settings {
    char *listen;
    char *topic;
    long port;
    double ratio;
    bool verbose;
    gg_log_level level;
    char *password;
    char *note;
} test_settings;

static const gg_conf_opt test_opts[] = {
    {"listen", GG_CONF_STR, offsetof(test_settings, listen), "0.0.0.0:8080", "address to bind", 0,
     0, gg_conf_check_hostport, 0},
    {"topic", GG_CONF_STR, offsetof(test_settings, topic), "INGESTION", "topic to read", 0, 0,
     gg_conf_check_nonempty, 0},
    {"port", GG_CONF_INT, offsetof(test_settings, port), "8080", "a port", 1, 65535, NULL, 0},
    {"ratio", GG_CONF_DOUBLE, offsetof(test_settings, ratio), "0.25", "a fraction", 0, 1, NULL, 0},
    {"verbose", GG_CONF_BOOL, offsetof(test_settings, verbose), "false", "chatty", 0, 0, NULL, 0},
    {"log-level", GG_CONF_LOGLEVEL, offsetof(test_settings, level), "info", "log level", 0, 0, NULL,
     0},
    {"password", GG_CONF_STR, offsetof(test_settings, password), "hunter2-default", "shared secret",
     0, 0, gg_conf_check_nonempty, GG_CONF_SECRET},
    {"note", GG_CONF_STR, offsetof(test_settings, note), NULL, "free text", 0, 0, NULL, 0},
};
#define NOPTS (sizeof(test_opts) / sizeof(test_opts[0]))

typedef struct run {
    int rc;
    char *out, *err;
    size_t outlen, errlen;
} run;

/* Loads with argv (after the program name) and env, both NULL-terminated, capturing both streams.
 */
static run load_with(const gg_conf_opt *opts, size_t nopts, void *settings, gg_conf_props *props,
                     const char *const *args, const char *const *env)
{
    run r = {0};
    char *argv[32] = {"prog"};
    char *envp[32] = {NULL};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    for (size_t i = 0; env && env[i]; i++)
        envp[i] = (char *)env[i];
    FILE *out = open_memstream(&r.out, &r.outlen);
    FILE *err = open_memstream(&r.err, &r.errlen);
    r.rc = gg_conf_load("prog", "A test program.", opts, nopts, settings, props, argc, argv, envp,
                        out, err);
    fclose(out);
    fclose(err);
    return r;
}

static run load(test_settings *s, const char *const *args, const char *const *env)
{
    return load_with(test_opts, NOPTS, s, NULL, args, env);
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A usage error: status 2, exactly one line on err naming every given fragment. */
static void assert_usage_error(const run *r, const char *a, const char *b)
{
    assert_int_equal(r->rc, GG_CONF_EXIT_USAGE);
    assert_int_equal(count_lines(r->err), 1);
    assert_int_equal(r->outlen, 0);
    if (a)
        assert_non_null(strstr(r->err, a));
    if (b)
        assert_non_null(strstr(r->err, b));
}

static void test_defaults(void **state)
{
    (void)state;
    test_settings s;
    run r = load(&s, NULL, NULL);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_string_equal(s.listen, "0.0.0.0:8080");
    assert_string_equal(s.topic, "INGESTION");
    assert_int_equal(s.port, 8080);
    assert_true(s.ratio > 0.2499 && s.ratio < 0.2501);
    assert_false(s.verbose);
    assert_int_equal(s.level, GG_LOG_INFO);
    assert_string_equal(s.password, "hunter2-default");
    assert_null(s.note);
    assert_int_equal(r.errlen, 0);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    assert_null(s.listen);
    run_free(&r);
}

static void test_env_overrides_default(void **state)
{
    (void)state;
    test_settings s;
    const char *env[] = {"GRIDGATE_PORT=9000",
                         "GRIDGATE_TOPIC=readings",
                         "GRIDGATE_VERBOSE=yes",
                         "GRIDGATE_LOG_LEVEL=warn",
                         "GRIDGATE_NOTE=hello",
                         "OTHER_PORT=1",
                         NULL};
    run r = load(&s, NULL, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(s.port, 9000);
    assert_string_equal(s.topic, "readings");
    assert_true(s.verbose);
    assert_int_equal(s.level, GG_LOG_WARN);
    assert_string_equal(s.note, "hello");
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);
}

static void test_empty_env_counts_as_unset(void **state)
{
    (void)state;
    test_settings s;
    const char *env[] = {"GRIDGATE_PORT=", "GRIDGATE_TOPIC=", NULL};
    run r = load(&s, NULL, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(s.port, 8080);
    assert_string_equal(s.topic, "INGESTION");
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);
}

static void test_flag_overrides_env(void **state)
{
    (void)state;
    test_settings s;
    /* The environment's bad value is overridden, so it must not be reported either. */
    const char *env[] = {"GRIDGATE_PORT=9000", "GRIDGATE_RATIO=junk", NULL};
    const char *args[] = {"--port", "9100", "--ratio", "0.5", "--port", "9200", NULL};
    run r = load(&s, args, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(s.port, 9200); /* the last flag wins */
    assert_true(s.ratio > 0.4999 && s.ratio < 0.5001);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);
}

static void test_flag_equals_form(void **state)
{
    (void)state;
    test_settings s;
    const char *args[] = {"--port=9300", "--note=a=b c", "--note2", NULL};
    run r = load(&s, args, NULL);
    assert_usage_error(&r, "--note2", NULL); /* names must match whole */
    run_free(&r);

    args[2] = "--topic=";
    r = load(&s, args, NULL);
    assert_int_equal(r.rc, GG_CONF_EXIT_USAGE); /* an explicit empty value meets the validator */
    assert_non_null(strstr(r.err, "GRIDGATE_TOPIC"));
    run_free(&r);

    args[2] = NULL;
    r = load(&s, args, NULL);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(s.port, 9300);
    assert_string_equal(s.note, "a=b c");
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);
}

static void test_int_range(void **state)
{
    (void)state;
    test_settings s;
    const char *ok[] = {"--port", "65535", NULL};
    run r = load(&s, ok, NULL);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(s.port, 65535);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);

    const char *high[] = {"--port", "65536", NULL};
    r = load(&s, high, NULL);
    assert_usage_error(&r, "--port", "GRIDGATE_PORT");
    assert_non_null(strstr(r.err, "65536"));
    assert_non_null(strstr(r.err, "range"));
    assert_null(s.listen); /* nothing left allocated */
    run_free(&r);

    const char *env[] = {"GRIDGATE_PORT=0", NULL};
    r = load(&s, NULL, env);
    assert_usage_error(&r, "GRIDGATE_PORT", "environment");
    run_free(&r);
}

static void test_bad_int_names_setting(void **state)
{
    (void)state;
    test_settings s;
    const char *bad[] = {"abc", "80x", " 80", "8\n0", "99999999999999999999999", NULL};
    for (size_t i = 0; bad[i]; i++) {
        char var[64];
        snprintf(var, sizeof(var), "GRIDGATE_PORT=%s", bad[i]);
        const char *env[] = {var, NULL};
        run r = load(&s, NULL, env);
        assert_usage_error(&r, "GRIDGATE_PORT", "--port");
        assert_non_null(strstr(r.err, "integer"));
        assert_non_null(strstr(r.err, "environment"));
        assert_true(strncmp(r.err, "prog: ", 6) == 0);
        run_free(&r);
    }
    const char *args[] = {"--ratio", "nan", NULL};
    run r = load(&s, args, NULL);
    assert_usage_error(&r, "GRIDGATE_RATIO", "command line");
    run_free(&r);
}

static void test_unknown_flag_and_positional(void **state)
{
    (void)state;
    test_settings s;
    const char *unknown[] = {"--bogus", "1", NULL};
    run r = load(&s, unknown, NULL);
    assert_usage_error(&r, "--bogus", "--help");
    run_free(&r);

    const char *single[] = {"-p", NULL};
    r = load(&s, single, NULL);
    assert_usage_error(&r, "-p", NULL);
    run_free(&r);

    const char *positional[] = {"--port", "80", "extra", NULL};
    r = load(&s, positional, NULL);
    assert_usage_error(&r, "\"extra\"", NULL);
    run_free(&r);

    const char *after_dashes[] = {"--", "file", NULL};
    r = load(&s, after_dashes, NULL);
    assert_usage_error(&r, "\"file\"", NULL);
    run_free(&r);
}

static void test_missing_argument(void **state)
{
    (void)state;
    test_settings s;
    const char *at_end[] = {"--port", NULL};
    run r = load(&s, at_end, NULL);
    assert_usage_error(&r, "--port", "GRIDGATE_PORT");
    assert_non_null(strstr(r.err, "needs a value"));
    run_free(&r);

    const char *before_flag[] = {"--topic", "--port", "80", NULL};
    r = load(&s, before_flag, NULL);
    assert_usage_error(&r, "--topic", "GRIDGATE_TOPIC");
    run_free(&r);
}

static void test_bool_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool value;
    } forms[] = {{"true", true}, {"false", false}, {"1", true},    {"0", false},   {"yes", true},
                 {"no", false},  {"on", true},     {"off", false}, {"TRUE", true}, {"Off", false}};
    test_settings s;
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char flag[32];
        snprintf(flag, sizeof(flag), "--verbose=%s", forms[i].text);
        const char *args[] = {flag, NULL};
        run r = load(&s, args, NULL);
        assert_int_equal(r.rc, GG_CONF_OK);
        assert_int_equal(s.verbose, forms[i].value);
        gg_conf_free(test_opts, NOPTS, &s, NULL);
        run_free(&r);
    }
    /* Alone, a bool flag means true; it takes the next argument only when that is a bool word. */
    const char *bare[] = {"--verbose", "--port", "81", NULL};
    run r = load(&s, bare, NULL);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_true(s.verbose);
    assert_int_equal(s.port, 81);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);

    const char *spaced[] = {"--verbose", "no", NULL};
    const char *env[] = {"GRIDGATE_VERBOSE=on", NULL};
    r = load(&s, spaced, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_false(s.verbose);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);

    const char *bad[] = {"GRIDGATE_VERBOSE=maybe", NULL};
    r = load(&s, NULL, bad);
    assert_usage_error(&r, "GRIDGATE_VERBOSE", "--verbose");
    run_free(&r);
}

static void test_log_level(void **state)
{
    (void)state;
    test_settings s;
    const char *args[] = {"--log-level", "debug", NULL};
    const char *env[] = {"GRIDGATE_LOG_LEVEL=error", NULL};
    run r = load(&s, args, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(s.level, GG_LOG_DEBUG);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);

    r = load(&s, NULL, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(s.level, GG_LOG_ERROR);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);

    const char *bad[] = {"--log-level=loud", NULL};
    r = load(&s, bad, NULL);
    assert_usage_error(&r, "--log-level", "GRIDGATE_LOG_LEVEL");
    assert_non_null(strstr(r.err, "loud"));
    run_free(&r);
}

static void test_validator_failure_through_loader(void **state)
{
    (void)state;
    test_settings s;
    const char *env[] = {"GRIDGATE_LISTEN=localhost", NULL};
    run r = load(&s, NULL, env);
    assert_usage_error(&r, "GRIDGATE_LISTEN", "--listen");
    assert_non_null(strstr(r.err, "host:port"));
    run_free(&r);

    /* A secret's value never appears, not even when it is wrong. */
    const char *args[] = {"--password", "   ", NULL};
    r = load(&s, args, NULL);
    assert_usage_error(&r, "GRIDGATE_PASSWORD", "--password");
    assert_null(strstr(r.err, "\"   \""));
    run_free(&r);
}

static void test_required(void **state)
{
    (void)state;
    typedef struct {
        char *brokers;
    } req_settings;
    static const gg_conf_opt opts[] = {
        {"kafka-brokers", GG_CONF_STR, offsetof(req_settings, brokers), NULL, "brokers", 0, 0,
         gg_conf_check_broker_list, GG_CONF_REQUIRED},
    };
    req_settings s;
    run r = load_with(opts, 1, &s, NULL, NULL, NULL);
    assert_usage_error(&r, "--kafka-brokers", "GRIDGATE_KAFKA_BROKERS");
    assert_non_null(strstr(r.err, "required"));
    run_free(&r);

    const char *empty[] = {"GRIDGATE_KAFKA_BROKERS=", NULL};
    r = load_with(opts, 1, &s, NULL, NULL, empty);
    assert_usage_error(&r, "GRIDGATE_KAFKA_BROKERS", "required");
    run_free(&r);

    const char *env[] = {"GRIDGATE_KAFKA_BROKERS=k1:9092,k2:9092", NULL};
    r = load_with(opts, 1, &s, NULL, NULL, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_string_equal(s.brokers, "k1:9092,k2:9092");
    gg_conf_free(opts, 1, &s, NULL);
    run_free(&r);
}

static void test_help_lists_options_hides_secrets(void **state)
{
    (void)state;
    test_settings s;
    gg_conf_props props;
    const char *args[] = {"--port", "1", "--help", NULL};
    const char *env[] = {"GRIDGATE_PASSWORD=env-secret-value",
                         "GRIDGATE_KAFKA_PROP_SASL_PASSWORD=prop-secret", NULL};
    run r = load_with(test_opts, NOPTS, &s, &props, args, env);
    assert_int_equal(r.rc, GG_CONF_EXIT_SUCCESS);
    assert_int_equal(r.errlen, 0);
    assert_non_null(strstr(r.out, "A test program."));
    for (size_t i = 0; i < NOPTS; i++) {
        char flag[64], var[64];
        snprintf(flag, sizeof(flag), "--%s ", test_opts[i].name);
        assert_non_null(strstr(r.out, flag));
        assert_non_null(strstr(r.out, test_opts[i].help));
        snprintf(var, sizeof(var), "GRIDGATE_%s", test_opts[i].name);
        for (char *p = var; *p; p++)
            *p = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        assert_non_null(strstr(r.out, var));
    }
    assert_non_null(strstr(r.out, "\"INGESTION\""));
    assert_non_null(strstr(r.out, "1..65535"));
    assert_non_null(strstr(r.out, "--kafka-prop"));
    assert_non_null(strstr(r.out, "--version"));
    assert_null(strstr(r.out, "hunter2-default"));
    assert_null(strstr(r.out, "env-secret-value"));
    assert_null(strstr(r.out, "prop-secret"));
    assert_null(s.listen);
    assert_int_equal(props.count, 0);
    run_free(&r);
}

static void test_version(void **state)
{
    (void)state;
    test_settings s;
    const char *args[] = {"--version", NULL};
    run r = load(&s, args, NULL);
    char want[64];
    snprintf(want, sizeof(want), "prog %s\n", GG_VERSION);
    assert_int_equal(r.rc, GG_CONF_EXIT_SUCCESS);
    assert_string_equal(r.out, want);
    run_free(&r);
}

static void test_kafka_props(void **state)
{
    (void)state;
    test_settings s;
    gg_conf_props props;
    const char *env[] = {"GRIDGATE_KAFKA_PROP_security.protocol=SASL_SSL",
                         "GRIDGATE_KAFKA_PROP_SASL_MECHANISM=PLAIN",
                         "GRIDGATE_KAFKA_PROP_SASL_USERNAME=from-env",
                         "GRIDGATE_KAFKA_PROP_CLIENT_ID=",
                         "GRIDGATE_KAFKA_PROP_plugin.Some_Key=v",
                         NULL};
    const char *args[] = {"--kafka-prop", "sasl.username=from-flag",
                          "--kafka-prop=sasl.password=a=b", NULL};
    run r = load_with(test_opts, NOPTS, &s, &props, args, env);
    assert_int_equal(r.rc, GG_CONF_OK);
    assert_int_equal(props.count, 5);
    assert_string_equal(gg_conf_props_get(&props, "plugin.Some_Key"), "v"); /* verbatim */
    assert_string_equal(gg_conf_props_get(&props, "security.protocol"), "SASL_SSL");
    assert_string_equal(gg_conf_props_get(&props, "sasl.mechanism"), "PLAIN");
    assert_string_equal(gg_conf_props_get(&props, "sasl.username"), "from-flag");
    assert_string_equal(gg_conf_props_get(&props, "sasl.password"), "a=b");
    assert_null(gg_conf_props_get(&props, "client.id"));

    json_t *j = gg_conf_describe_props(&props);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(text, "\"sasl.password\":\"***\""));
    assert_null(strstr(text, "a=b"));
    assert_null(strstr(text, "PLAIN"));
    free(text);
    json_decref(j);
    gg_conf_free(test_opts, NOPTS, &s, &props);
    assert_int_equal(props.count, 0);
    run_free(&r);

    const char *bad[] = {"--kafka-prop", "sasl.password", NULL};
    r = load_with(test_opts, NOPTS, &s, &props, bad, NULL);
    assert_usage_error(&r, "--kafka-prop", "name=value");
    run_free(&r);

    /* A service without Kafka has no such flag. */
    r = load_with(test_opts, NOPTS, &s, NULL, args, NULL);
    assert_usage_error(&r, "unknown option", "--kafka-prop");
    run_free(&r);
}

static void test_describe_masks_secrets(void **state)
{
    (void)state;
    test_settings s;
    const char *args[] = {"--password", "s3cr3t-value", "--port", "81", "--verbose", NULL};
    run r = load(&s, args, NULL);
    assert_int_equal(r.rc, GG_CONF_OK);
    json_t *j = gg_conf_describe(test_opts, NOPTS, &s);
    assert_string_equal(json_string_value(json_object_get(j, "password")), "***");
    assert_int_equal(json_integer_value(json_object_get(j, "port")), 81);
    assert_true(json_is_true(json_object_get(j, "verbose")));
    assert_string_equal(json_string_value(json_object_get(j, "log-level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "listen")), "0.0.0.0:8080");
    assert_true(json_is_null(json_object_get(j, "note")));
    assert_true(json_real_value(json_object_get(j, "ratio")) > 0.2499);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, "s3cr3t-value"));
    free(text);
    json_decref(j);
    gg_conf_free(test_opts, NOPTS, &s, NULL);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_env_overrides_default),
        cmocka_unit_test(test_empty_env_counts_as_unset),
        cmocka_unit_test(test_flag_overrides_env),
        cmocka_unit_test(test_flag_equals_form),
        cmocka_unit_test(test_int_range),
        cmocka_unit_test(test_bad_int_names_setting),
        cmocka_unit_test(test_unknown_flag_and_positional),
        cmocka_unit_test(test_missing_argument),
        cmocka_unit_test(test_bool_forms),
        cmocka_unit_test(test_log_level),
        cmocka_unit_test(test_validator_failure_through_loader),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_help_lists_options_hides_secrets),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_kafka_props),
        cmocka_unit_test(test_describe_masks_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
