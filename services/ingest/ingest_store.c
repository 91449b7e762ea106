/* ingest_store: the MongoDB side of the ingest service: the connection pool, its health probe,
 * the index the REST reads need, and the unordered bulk write of a batch. */
#include "ingest.h"
#include "ingest_store.h"
#include "ingest_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A document refused this many times for a reason that is not known to pass is taken as
 * refused for good and dead-lettered, so one bad document cannot stall the pipeline; an
 * unknown error code gets a few chances before that, in case it was the store's hiccup. */
#define INGEST_STORE_REJECT_AFTER 3

static int parse_write_concern(ingest_ctx *ctx, char *err, size_t errlen)
{
    const char *w = ctx->cfg.mongo_write_concern;
    char *end = NULL;
    long n = strtol(w, &end, 10);
    ctx->write_concern = mongoc_write_concern_new();
    if (strcmp(w, "majority") == 0) {
        mongoc_write_concern_set_wmajority(ctx->write_concern, 0);
    } else if (end != w && *end == '\0') {
        /* 0 would be unacknowledged: offsets would be committed for writes nobody confirmed. */
        if (n < 1 || n > 50) {
            snprintf(err, errlen, "write concern must be majority, 1..50 or a tag set name");
            return -1;
        }
        mongoc_write_concern_set_w(ctx->write_concern, (int32_t)n);
    } else {
        mongoc_write_concern_set_wtag(ctx->write_concern, w);
    }
    mongoc_write_concern_set_wtimeout_int64(ctx->write_concern, ctx->cfg.mongo_write_timeout_ms);
    return 0;
}

/* The driver's own messages become JSON lines like every other line of the service. */
static void driver_log(mongoc_log_level_t level, const char *domain, const char *message, void *ud)
{
    gg_log_level l = level <= MONGOC_LOG_LEVEL_ERROR     ? GG_LOG_ERROR
                     : level == MONGOC_LOG_LEVEL_WARNING ? GG_LOG_WARN
                     : level <= MONGOC_LOG_LEVEL_INFO    ? GG_LOG_INFO
                                                         : GG_LOG_DEBUG;
    if (level == MONGOC_LOG_LEVEL_TRACE)
        return;
    gg_log_event(ud, l, "mongodb driver", "{s:s, s:s}", "domain", domain, "detail", message);
}

int ingest_store_init(ingest_ctx *ctx, char *err, size_t errlen)
{
    bson_error_t error;
    mongoc_log_set_handler(driver_log, &ctx->svc.log);
    if (parse_write_concern(ctx, err, errlen) != 0)
        return -1;
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
    /* A store that stops answering mid-write must not hold the pipeline for the driver's five
     * minutes: a bulk write of a batch takes well under a second when the store is healthy. */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, 30000);
    mongoc_uri_set_appname(uri, "gridgate-ingest");
    ctx->store_timeout_ms =
        mongoc_uri_get_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
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
    /* The log goes away with the service; the driver may still talk at mongoc_cleanup(). */
    mongoc_log_set_handler(mongoc_log_default_handler, NULL);
    if (ctx->write_concern)
        mongoc_write_concern_destroy(ctx->write_concern);
    ctx->write_concern = NULL;
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

/* An error the server itself answered with, as opposed to not reaching it. */
static int server_error(const bson_error_t *e)
{
    return e->domain == MONGOC_ERROR_SERVER || e->domain == MONGOC_ERROR_WRITE_CONCERN;
}

int ingest_store_ensure_indexes(ingest_ctx *ctx, char *err, size_t errlen)
{
    bson_t *cmd =
        BCON_NEW("createIndexes", BCON_UTF8(ctx->cfg.mongo_collection), "indexes", "[", "{", "key",
                 "{", "station_id", BCON_INT32(1), "created_at", BCON_INT32(-1), "}", "name",
                 BCON_UTF8("station_id_1_created_at_-1"), "}", "]");
    bson_t opts = BSON_INITIALIZER;
    bson_error_t error;
    mongoc_write_concern_append(ctx->write_concern, &opts);
    mongoc_client_t *client = mongoc_client_pool_pop(ctx->pool);
    bool ok =
        mongoc_client_write_command_with_opts(client, ctx->cfg.mongo_db, cmd, &opts, NULL, &error);
    mongoc_client_pool_push(ctx->pool, client);
    bson_destroy(&opts);
    bson_destroy(cmd);
    if (ok)
        return 0;
    snprintf(err, errlen, "%s", error.message);
    return server_error(&error) && !ingest_reply_code_transient((int32_t)error.code) ? 1 : -1;
}

/* ---- bulk write -------------------------------------------------------------------------- */

/* One prepared bulk write: built and settled on the pipeline thread, executed on the writer
 * thread in between. */
struct ingest_write {
    ingest_ctx *ctx;
    ingest_batch *b;
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    mongoc_bulk_operation_t *bulk;
    size_t *slot; /* bulk index -> batch entry */
    size_t nslots;
    bool ok;
    bson_t reply;
    bson_error_t error;
    char first_error[200];
};

static void settle_stored(ingest_write *j, ingest_entry *e, int duplicate, int64_t now_ms)
{
    ingest_metrics *m = &j->ctx->m;
    /* A duplicate on a retry is most likely this service's own earlier write whose answer was
     * lost, so it counts as stored; on a first attempt it is a redelivery or a resend. */
    if (duplicate && e->attempts == 1)
        gg_counter_add(m->duplicates, 1);
    else
        gg_counter_add(m->stored, 1);
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(e->msg, &type);
    if (ts > 0 && now_ms >= ts)
        gg_histogram_observe(m->produce_to_stored, (double)(now_ms - ts) / 1000.0);
    e->state = INGEST_ENTRY_DONE;
}

/* Settles each document of the write by what the reply says about it. */
static void settle_reply(ingest_write *j)
{
    int64_t now_ms = gg_time_wall_ms();
    ingest_doc_result *res = calloc(j->nslots, sizeof(*res));
    if (!res) {
        snprintf(j->first_error, sizeof(j->first_error), "out of memory");
        return; /* every document stays pending: written again */
    }
    ingest_reply_read(&j->reply, j->ok, res, j->nslots);
    for (size_t k = 0; k < j->nslots; k++) {
        ingest_entry *e = &j->b->entries[j->slot[k]];
        const ingest_doc_result *r = &res[k];
        if (r->outcome == INGEST_OUTCOME_INSERTED || r->outcome == INGEST_OUTCOME_DUPLICATE) {
            settle_stored(j, e, r->outcome == INGEST_OUTCOME_DUPLICATE, now_ms);
        } else if (r->outcome == INGEST_OUTCOME_ERROR && !ingest_reply_code_transient(r->code) &&
                   e->attempts >= INGEST_STORE_REJECT_AFTER) {
            char why[200];
            snprintf(why, sizeof(why), "store error %d: %s", (int)r->code, r->why);
            ingest_batch_reject(e, why);
        } else if (r->outcome == INGEST_OUTCOME_ERROR && !j->first_error[0]) {
            snprintf(j->first_error, sizeof(j->first_error), "store error %d: %s", (int)r->code,
                     r->why);
        }
    }
    free(res);
}

/* Adds every pending reading to the bulk operation. */
static void fill_bulk(ingest_write *j)
{
    int64_t now_ms = gg_time_wall_ms();
    for (size_t i = 0; i < j->b->n; i++) {
        ingest_entry *e = &j->b->entries[i];
        if (e->state != INGEST_ENTRY_STORE)
            continue;
        ingest_origin o = ingest_entry_origin(e);
        bson_t doc = BSON_INITIALIZER;
        if (ingest_doc_build(&doc, &e->rec, &o, now_ms)) {
            mongoc_bulk_operation_insert(j->bulk, &doc);
            e->attempts++;
            j->slot[j->nslots++] = i;
        } else {
            ingest_batch_reject(e, "the reading cannot be encoded as a document");
        }
        bson_destroy(&doc);
    }
}

/* Frees a write at any stage: the reply is always initialised (by begin, then by execute). */
static void write_free(ingest_write *j)
{
    bson_destroy(&j->reply);
    if (j->bulk)
        mongoc_bulk_operation_destroy(j->bulk);
    if (j->coll)
        mongoc_collection_destroy(j->coll);
    if (j->client)
        mongoc_client_pool_push(j->ctx->pool, j->client);
    free(j->slot);
    free(j);
}

ingest_write *ingest_store_begin(ingest_ctx *ctx, ingest_batch *b)
{
    size_t pending = ingest_batch_count(b, INGEST_ENTRY_STORE);
    ingest_write *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->ctx = ctx;
    j->b = b;
    bson_init(&j->reply);
    j->slot = calloc(pending ? pending : 1, sizeof(*j->slot));
    if (!j->slot) {
        write_free(j);
        return NULL;
    }
    j->client = mongoc_client_pool_pop(ctx->pool);
    j->coll = mongoc_client_get_collection(j->client, ctx->cfg.mongo_db, ctx->cfg.mongo_collection);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    mongoc_write_concern_append(ctx->write_concern, &opts);
    j->bulk = mongoc_collection_create_bulk_operation_with_opts(j->coll, &opts);
    bson_destroy(&opts);
    fill_bulk(j);
    return j;
}

void ingest_store_run(ingest_write *j)
{
    if (j->nslots == 0) {
        j->ok = true;
        return;
    }
    int64_t t0 = gg_time_mono_ms();
    bson_destroy(&j->reply); /* execute initialises it again, always */
    j->ok = mongoc_bulk_operation_execute(j->bulk, &j->reply, &j->error) != 0;
    gg_histogram_observe(j->ctx->m.batch_seconds, (double)(gg_time_mono_ms() - t0) / 1000.0);
    gg_histogram_observe(j->ctx->m.batch_docs, (double)j->nslots);
}

int ingest_store_end(ingest_write *j, char *err, size_t errlen)
{
    if (j->nslots > 0)
        settle_reply(j);
    int rc = 0;
    if (ingest_batch_count(j->b, INGEST_ENTRY_STORE) > 0) {
        snprintf(err, errlen, "%s",
                 !j->ok && j->error.message[0] ? j->error.message : j->first_error);
        rc = -1;
    }
    write_free(j);
    return rc;
}

void ingest_store_cancel(ingest_write *j)
{
    for (size_t k = 0; k < j->nslots; k++)
        j->b->entries[j->slot[k]].attempts--;
    write_free(j);
}

int ingest_store_write(ingest_ctx *ctx, ingest_batch *b, char *err, size_t errlen)
{
    if (ingest_batch_count(b, INGEST_ENTRY_STORE) == 0)
        return 0;
    ingest_write *j = ingest_store_begin(ctx, b);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ingest_store_run(j);
    return ingest_store_end(j, err, errlen);
}
