/* gg_conf_kafka: the validator of the Kafka pass-through properties (see gg_config.h). A file of
 * its own so that only the services that use Kafka link librdkafka: analytics does not. */
#include "gg_conf_int.h"
#include "gg_kafka.h"
#include "gg_options.h"

#include <stddef.h>

int gg_conf_check_kafka(const char *brokers, const gg_conf_props *kafka_props, char *why,
                        size_t whylen)
{
    char reason[GG_CONF_WHY_MAX];
    gg_kafka_conf conf = {
        .brokers = brokers,
        .props = kafka_props ? kafka_props->items : NULL,
        .nprops = kafka_props ? kafka_props->count : 0,
    };
    if (gg_kafka_conf_check(&conf, reason, sizeof(reason)) == 0)
        return 0;
    return gg_conf_why_set(why, whylen,
                           "invalid Kafka settings (--kafka-prop, env GRIDGATE_KAFKA_PROP_<name>, "
                           "--kafka-brokers): %s",
                           reason);
}

int gg_conf_validate_kafka(const void *settings, const gg_conf_props *kafka_props, char *why,
                           size_t whylen)
{
    /* The gg_kafka_settings member itself, found at its offset in the common head. */
    const gg_kafka_settings *k =
        (const void *)((const char *)settings + offsetof(gg_kafka_service_settings, kafka));
    return gg_conf_check_kafka(k->brokers, kafka_props, why, whylen);
}
