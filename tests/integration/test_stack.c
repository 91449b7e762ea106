/* Integration test: every server of the local stack answers through the client library the
 * services use (Kafka metadata via librdkafka, Redis PING via hiredis, MongoDB ping via
 * mongo-c-driver), plus the project's own probes against them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <mongoc/mongoc.h>

#include "gg_config.h"
#include "gg_kafka.h"
#include "stack_env.h"

static void test_kafka_metadata(void **state)
{
    (void)state;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                       stack_env_need("GRIDGATE_KAFKA_BROKERS"), err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(rk);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    assert_int_equal(rc, RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_true(md->broker_cnt >= 1);
    assert_true(md->brokers[0].port > 0);
    rd_kafka_metadata_destroy(md);
    /* The wrapper's readiness probe agrees. */
    assert_int_equal(gg_kafka_probe(rk, 5000, err, sizeof(err)), 0);
    rd_kafka_destroy(rk);
}

static void test_redis_ping(void **state)
{
    (void)state;
    gg_conf_redis_url u;
    assert_int_equal(gg_conf_parse_redis_url(stack_env_need("GRIDGATE_REDIS_URL"), &u), 0);
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    redisReply *r = redisCommand(c, "PING");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->str, "PONG");
    freeReplyObject(r);
    redisFree(c);
}

static void test_mongo_ping_and_roundtrip(void **state)
{
    (void)state;
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(stack_env_need("GRIDGATE_MONGO_URI"), &error);
    assert_non_null(uri);
    mongoc_client_t *client = mongoc_client_new_from_uri_with_error(uri, &error);
    mongoc_uri_destroy(uri);
    assert_non_null(client);
    bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
    bson_t reply;
    bool ok = mongoc_client_command_simple(client, "admin", ping, NULL, &reply, &error);
    if (!ok)
        fprintf(stderr, "ping: %s\n", error.message);
    assert_true(ok);
    bson_iter_t it;
    assert_true(bson_iter_init_find(&it, &reply, "ok"));
    assert_true(bson_iter_as_double(&it) == 1.0);
    bson_destroy(&reply);
    bson_destroy(ping);
    /* A write and a read back, so the store is usable and not merely listening. */
    mongoc_collection_t *coll =
        mongoc_client_get_collection(client, "gridgate_stack_test", "probe");
    bson_t *doc = BCON_NEW("_id", BCON_UTF8("stack-check"), "v", BCON_INT32(7));
    mongoc_collection_delete_one(coll, doc, NULL, NULL, NULL);
    assert_true(mongoc_collection_insert_one(coll, doc, NULL, NULL, &error));
    bson_t *filter = BCON_NEW("_id", BCON_UTF8("stack-check"));
    int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &error);
    assert_int_equal(n, 1);
    bson_destroy(filter);
    bson_destroy(doc);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
}

int main(void)
{
    if (stack_env_load() != 0)
        return 1;
    mongoc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_metadata),
        cmocka_unit_test(test_redis_ping),
        cmocka_unit_test(test_mongo_ping_and_roundtrip),
    };
    int rc = cmocka_run_group_tests_name("stack", tests, NULL, NULL);
    mongoc_cleanup();
    return rc;
}
