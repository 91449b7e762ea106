/* ingest_store: the MongoDB connection pool of the ingest service and its health probe. */
#include "ingest.h"

#include <stdio.h>

int ingest_store_init(ingest_ctx *ctx, char *err, size_t errlen)
{
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(ctx->cfg.mongo_uri, &error);
    if (!uri) {
        snprintf(err, errlen, "%s", error.message);
        return -1;
    }
    /* Fail fast instead of the driver's 30 s default: a probe or a write that waits that long
     * hides an outage from /readyz and stalls the consumer. Explicit URI options still win. */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 2000);
    mongoc_uri_set_appname(uri, "gridgate-ingest");
    ctx->pool = mongoc_client_pool_new(uri);
    mongoc_uri_destroy(uri);
    if (!ctx->pool) {
        snprintf(err, errlen, "cannot create the MongoDB client pool");
        return -1;
    }
    mongoc_client_pool_set_error_api(ctx->pool, MONGOC_ERROR_API_VERSION_2);
    return 0;
}

void ingest_store_destroy(ingest_ctx *ctx)
{
    if (ctx->pool)
        mongoc_client_pool_destroy(ctx->pool);
    ctx->pool = NULL;
}

int ingest_store_probe(void *ud, char *err, size_t errlen)
{
    ingest_ctx *ctx = ud;
    mongoc_client_t *client = mongoc_client_pool_pop(ctx->pool);
    bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
    bson_error_t error;
    bool ok = mongoc_client_command_simple(client, "admin", cmd, NULL, NULL, &error);
    bson_destroy(cmd);
    mongoc_client_pool_push(ctx->pool, client);
    if (!ok)
        snprintf(err, errlen, "%s", error.message);
    return ok ? 0 : -1;
}
