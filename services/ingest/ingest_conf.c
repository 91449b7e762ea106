/* ingest_conf: ingest's settings (see ingest_conf.h). */
#include "ingest_conf.h"

#include <stdio.h>
#include <stdlib.h>

#include "ingest.h"

/* "majority", 1..50 members, or a tag set name. 0 would be unacknowledged: offsets would be
 * committed for writes nobody confirmed. */
static int check_write_concern(const char *value, char *why, size_t whylen)
{
    char *end = NULL;
    long n = strtol(value, &end, 10);
    int numeric = end != value && *end == '\0';
    if (!*value || (numeric && (n < 1 || n > 50))) {
        snprintf(why, whylen,
                 "must be majority, a number of members from 1 to 50, or a tag set "
                 "name; unacknowledged writes would lose readings");
        return -1;
    }
    return 0;
}

// clang-format off
static const gg_conf_opt ingest_opts[] = {
    GG_OPTS_BASE(ingest_settings, base, "0.0.0.0:8081"),
    GG_OPTS_KAFKA(ingest_settings, kafka, "gridgate-ingest"),
    {"mongo-uri", GG_CONF_STR, offsetof(ingest_settings, mongo_uri), "mongodb://localhost:27017/",
     "MongoDB connection string", 0, 0, gg_conf_check_mongo_uri, GG_CONF_REQUIRED | GG_CONF_SECRET},
    {"mongo-db", GG_CONF_STR, offsetof(ingest_settings, mongo_db), "gridgate",
     "database of the readings collection", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"mongo-collection", GG_CONF_STR, offsetof(ingest_settings, mongo_collection), "readings",
     "collection the readings are stored in", 0, 0, gg_conf_check_nonempty, GG_CONF_REQUIRED},
    {"mongo-write-concern", GG_CONF_STR, offsetof(ingest_settings, mongo_write_concern), "majority",
     "write concern of the bulk writes: majority, a number of members, or a tag set name; offsets "
     "are committed only after it is met", 0, 0, check_write_concern, GG_CONF_REQUIRED},
    {"mongo-write-timeout-ms", GG_CONF_INT, offsetof(ingest_settings, mongo_write_timeout_ms),
     "10000", "how long the store may take to meet the write concern (0: no limit)", 0, 600000,
     NULL, 0},
    {"batch-size", GG_CONF_INT, offsetof(ingest_settings, batch_size), "500",
     "most readings per bulk write", 1, 10000, NULL, 0},
    {"batch-linger-ms", GG_CONF_INT, offsetof(ingest_settings, batch_linger_ms), "50",
     "longest wait for a batch to fill before it is written anyway", 0, 60000, NULL, 0},
    {"max-message-bytes", GG_CONF_INT, offsetof(ingest_settings, max_message_bytes), "65536",
     "larger messages are dead-lettered as value_too_large without being parsed", 256,
     64 * 1024 * 1024, NULL, 0},
    {"retry-max-ms", GG_CONF_INT, offsetof(ingest_settings, retry_max_ms), "5000",
     "longest pause between retries of a failed batch", 100, 600000, NULL, 0},
    {"dlq-topic", GG_CONF_STR, offsetof(ingest_settings, dlq_topic), NULL,
     "dead-letter topic for rejected messages; unset means <kafka-topic>.dlq", 0, 0, NULL, 0},
    {"kafka-transactions", GG_CONF_BOOL, offsetof(ingest_settings, kafka_transactions), "true",
     "commit each batch's dead letters and offsets in one Kafka transaction, so that a message is "
     "dead-lettered once; false for brokers without transactions: dead letters at least once",
     0, 0, NULL, 0},
    {"api-token", GG_CONF_STR, offsetof(ingest_settings, api_token), NULL,
     "bearer token for POST /v1/readings; unset disables that endpoint", 0, 0, NULL,
     GG_CONF_SECRET},
};
// clang-format on
#define INGEST_NOPTS (sizeof(ingest_opts) / sizeof(ingest_opts[0]))

/* gg_conf_validate_kafka finds the Kafka settings where gg_kafka_service_settings has them. */
_Static_assert(offsetof(ingest_settings, base) == offsetof(gg_kafka_service_settings, base) &&
                   offsetof(ingest_settings, kafka) == offsetof(gg_kafka_service_settings, kafka),
               "ingest_settings must begin with gg_kafka_service_settings");

const gg_conf_spec ingest_spec = {
    "gridgate-ingest", "Consumes station readings from Kafka and stores them in MongoDB.",
    ingest_opts, INGEST_NOPTS, gg_conf_validate_kafka};
