/* Unit tests of gg_conf_check.c: the validators an option table uses (host:port, broker lists,
 * Redis, HTTP and MongoDB URLs, non-empty text) and the parsers that split the addresses they
 * accept. How the loader reports a validator's failure is tested in test_config.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gg_config.h"

static void test_check_hostport(void **state)
{
    (void)state;
    static const char *const good[] = {"[::1]:8080",
                                       "0.0.0.0:8080",
                                       "localhost:80",
                                       "redis-0.redis_svc:65535",
                                       "10.0.0.1:1",
                                       "127.0.0.1:0",
                                       NULL};
    static const char *const bad[] = {"localhost", ":80",      "host:", "host:-1",   "host:65536",
                                      "host:8o",   "::1:8080", "[::1]", "[nope]:80", "a b:80",
                                      "[::1:80",   "",         NULL};
    char why[256];
    for (size_t i = 0; good[i]; i++)
        assert_int_equal(gg_conf_check_hostport(good[i], why, sizeof(why)), 0);
    for (size_t i = 0; bad[i]; i++) {
        why[0] = '\0';
        assert_int_equal(gg_conf_check_hostport(bad[i], why, sizeof(why)), -1);
        assert_true(strlen(why) > 0);
    }

    char host[64];
    unsigned short port = 0;
    assert_int_equal(gg_conf_split_hostport("[::1]:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_int_equal(gg_conf_split_hostport("kafka:9092", host, sizeof(host), &port), 0);
    assert_string_equal(host, "kafka");
    assert_int_equal(port, 9092);
    assert_int_equal(gg_conf_split_hostport("kafka:9092", host, 5, &port), -1);
    /* Port 0 lets a listener take any free port. */
    assert_int_equal(gg_conf_split_hostport("127.0.0.1:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
}

static void test_check_broker_list(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(gg_conf_check_broker_list("k1:9092", why, sizeof(why)), 0);
    assert_int_equal(gg_conf_check_broker_list("k1:9092, k2:9093,[::1]:9094", why, sizeof(why)), 0);
    assert_int_equal(gg_conf_check_broker_list("SASL_SSL://k1:9093", why, sizeof(why)), 0);
    assert_int_equal(gg_conf_check_broker_list("", why, sizeof(why)), -1);
    assert_int_equal(gg_conf_check_broker_list("k1:9092,", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "broker 2"));
    assert_int_equal(gg_conf_check_broker_list("k1:9092,k2", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "broker 2"));
    assert_int_equal(gg_conf_check_broker_list("k1:99999", why, sizeof(why)), -1);
    assert_int_equal(gg_conf_check_broker_list("k1:0", why, sizeof(why)), -1); /* can't connect */
}

static void test_redis_url(void **state)
{
    (void)state;
    gg_conf_redis_url u;
    assert_int_equal(gg_conf_parse_redis_url("redis://cache", &u), 0);
    assert_string_equal(u.host, "cache");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");

    assert_int_equal(gg_conf_parse_redis_url("redis://:p%40ss@10.0.0.5:6380/3", &u), 0);
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 3);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "p@ss");

    assert_int_equal(gg_conf_parse_redis_url("redis://app:pw@[::1]/", &u), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "pw");

    assert_int_equal(gg_conf_parse_redis_url("unix:///run/redis/redis.sock", &u), 0);
    assert_string_equal(u.unix_path, "/run/redis/redis.sock");
    assert_string_equal(u.host, "");

    static const char *const bad[] = {"http://cache:6379",
                                      "redis://",
                                      "redis://:6379",
                                      "redis://h:0",
                                      "redis://h/x",
                                      "redis://h/1?x=1",
                                      "redis://pw@h",
                                      "redis://:p%zz@h",
                                      "unix://relative",
                                      "cache:6379",
                                      NULL};
    char why[256];
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(gg_conf_check_redis_url(bad[i], why, sizeof(why)), -1);
        assert_true(strlen(why) > 0);
    }
    assert_int_equal(gg_conf_check_redis_url("redis://:secret@cache:6379/0", why, sizeof(why)), 0);
}

static void test_check_http_url(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(gg_conf_check_http_url("http://webhcat:50111/templeton/v1", why, sizeof(why)),
                     0);
    assert_int_equal(gg_conf_check_http_url("https://[::1]:8443", why, sizeof(why)), 0);
    assert_int_equal(gg_conf_check_http_url("ftp://files", why, sizeof(why)), -1);
    assert_int_equal(gg_conf_check_http_url("webhcat:50111", why, sizeof(why)), -1);
    assert_int_equal(gg_conf_check_http_url("http://", why, sizeof(why)), -1);
    assert_int_equal(gg_conf_check_http_url("", why, sizeof(why)), -1);
}

static void test_check_mongo_uri_and_nonempty(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(gg_conf_check_mongo_uri("mongodb://localhost:27017", why, sizeof(why)), 0);
    assert_int_equal(gg_conf_check_mongo_uri("mongodb://u:p@m1:27017,m2:27017/?replicaSet=rs0", why,
                                             sizeof(why)),
                     0);
    assert_int_equal(gg_conf_check_mongo_uri("localhost:27017", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "MongoDB"));
    assert_int_equal(gg_conf_check_mongo_uri("mongodb://", why, sizeof(why)), -1);

    assert_int_equal(gg_conf_check_nonempty("x", why, sizeof(why)), 0);
    assert_int_equal(gg_conf_check_nonempty(" \t", why, sizeof(why)), -1);
    assert_int_equal(gg_conf_check_nonempty("", why, sizeof(why)), -1);
}

/* librdkafka judges the pass-through properties; no client is made, so nothing connects. */
static void test_check_kafka(void **state)
{
    (void)state;
    char why[512];
    gg_prop good_items[] = {{"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "PLAIN"}};
    gg_conf_props good = {good_items, 2};
    assert_int_equal(gg_conf_check_kafka("127.0.0.1:1", &good, why, sizeof(why)), 0);
    assert_int_equal(gg_conf_check_kafka("127.0.0.1:1", NULL, why, sizeof(why)), 0);

    gg_prop unknown_items[] = {{"no.such.property", "1"}};
    gg_conf_props unknown = {unknown_items, 1};
    assert_int_equal(gg_conf_check_kafka("127.0.0.1:1", &unknown, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "no.such.property"));
    assert_non_null(strstr(why, "GRIDGATE_KAFKA_PROP_"));

    gg_prop bad_items[] = {{"security.protocol", "carrier-pigeon"}};
    gg_conf_props bad = {bad_items, 1};
    assert_int_equal(gg_conf_check_kafka("127.0.0.1:1", &bad, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "security.protocol"));

    gg_prop forced_items[] = {{"enable.auto.offset.store", "true"}};
    gg_conf_props forced = {forced_items, 1};
    assert_int_equal(gg_conf_check_kafka("127.0.0.1:1", &forced, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "enable.auto.offset.store"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_hostport),
        cmocka_unit_test(test_check_broker_list),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_check_http_url),
        cmocka_unit_test(test_check_mongo_uri_and_nonempty),
        cmocka_unit_test(test_check_kafka),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
