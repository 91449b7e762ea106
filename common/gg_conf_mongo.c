/* gg_conf_mongo: the validator of MongoDB connection strings (see gg_config.h). A file of its own,
 * like gg_conf_kafka.c and gg_conf_http.c, so that only a service whose option table names it
 * links libmongoc and what libmongoc pulls in (ICU, SASL, Kerberos, the compressors). */
#include "gg_conf_int.h"

#include <mongoc/mongoc.h>

int gg_conf_check_mongo_uri(const char *value, char *why, size_t whylen)
{
    bson_error_t error;
    mongoc_uri_t *uri = value ? mongoc_uri_new_with_error(value, &error) : NULL;
    if (!uri)
        return gg_conf_why_set(why, whylen, "not a MongoDB connection string (%s)",
                               value ? error.message : "empty");
    mongoc_uri_destroy(uri);
    return 0;
}
