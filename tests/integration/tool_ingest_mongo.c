/* tool_ingest_mongo: reads what the ingest service stored, independently of the service, and
 * measures the store's raw bulk-insert rate for the benchmark.
 *
 *   tool_ingest_mongo dump URI DB COLL      every document, one canonical extended JSON line
 *                                           each (types explicit: $numberDouble, $date ...)
 *   tool_ingest_mongo ids URI DB COLL       every _id, one per line
 *   tool_ingest_mongo count URI DB COLL     the number of documents
 *   tool_ingest_mongo drop URI DB           drops the database
 *   tool_ingest_mongo ceiling URI DB COLL FILE BATCH WRITE_CONCERN
 *       Parses the "KEY<TAB>VALUE" readings of FILE and builds their documents with the
 *       service's own builder (untimed), ensures the service's index, then inserts them in
 *       unordered bulk writes of BATCH documents with the given write concern ("majority" or a
 *       number), timed. Prints
 *       {"documents": n, "seconds": s, "per_second": r}.
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_doc.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const bson_error_t *e)
{
    fprintf(stderr, "%s: %s\n", what, e->message);
    return 1;
}

static int cmd_find(mongoc_collection_t *coll, int ids_only)
{
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = ids_only ? BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}") : NULL;
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    while (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (ids_only) {
            if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
                printf("%s\n", bson_iter_utf8(&it, NULL));
            continue;
        }
        char *json = bson_as_canonical_extended_json(doc, NULL);
        printf("%s\n", json);
        bson_free(json);
    }
    int rc = mongoc_cursor_error(cur, &e) ? fail("find", &e) : 0;
    mongoc_cursor_destroy(cur);
    if (opts)
        bson_destroy(opts);
    return rc;
}

static int cmd_count(mongoc_collection_t *coll)
{
    bson_t filter = BSON_INITIALIZER;
    bson_error_t e;
    int64_t n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &e);
    if (n < 0)
        return fail("count", &e);
    printf("%lld\n", (long long)n);
    return 0;
}

/* The readings of FILE as documents; returns how many. */
static size_t load_docs(const char *path, bson_t ***out)
{
    FILE *f = fopen(path, "r");
    size_t n = 0, cap = 1024;
    bson_t **docs = malloc(cap * sizeof(*docs));
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    while (f && docs && (len = getline(&line, &lcap, f)) > 0) {
        char *tab = memchr(line, '\t', (size_t)len);
        gg_record rec;
        if (!tab)
            continue;
        size_t vlen = (size_t)(line + len - (tab + 1)) - (line[len - 1] == '\n');
        if (gg_record_parse(line, (size_t)(tab - line), tab + 1, vlen, 0, &rec, NULL, 0) !=
            GG_RECORD_OK)
            continue;
        ingest_origin o = {"bench", 0, (int64_t)n};
        if (n == cap)
            docs = realloc(docs, (cap *= 2) * sizeof(*docs));
        docs[n] = bson_new();
        ingest_doc_build(docs[n], &rec, &o, now_ms);
        n++;
    }
    free(line);
    if (f)
        fclose(f);
    *out = docs;
    return n;
}

/* The index the service ensures, so that both writers pay for the same index upkeep. */
static int ensure_index(mongoc_collection_t *coll)
{
    bson_t *cmd =
        BCON_NEW("createIndexes", BCON_UTF8(mongoc_collection_get_name(coll)), "indexes", "[", "{",
                 "key", "{", "station_id", BCON_INT32(1), "created_at", BCON_INT32(-1), "}", "name",
                 BCON_UTF8("station_id_1_created_at_-1"), "}", "]");
    bson_error_t e;
    bool ok = mongoc_collection_write_command_with_opts(coll, cmd, NULL, NULL, &e);
    bson_destroy(cmd);
    return ok ? 0 : fail("createIndexes", &e);
}

static int cmd_ceiling(mongoc_collection_t *coll, const char *path, long batch, const char *wcs)
{
    bson_t **docs;
    if (ensure_index(coll) != 0)
        return 1;
    size_t n = load_docs(path, &docs);
    mongoc_write_concern_t *wc = mongoc_write_concern_new();
    if (strcmp(wcs, "majority") == 0)
        mongoc_write_concern_set_wmajority(wc, 10000);
    else
        mongoc_write_concern_set_w(wc, atoi(wcs));
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    mongoc_write_concern_append(wc, &opts);
    bson_error_t e;
    int rc = 0;
    double t0 = mono_s();
    for (size_t i = 0; i < n && rc == 0; i += (size_t)batch) {
        mongoc_bulk_operation_t *bulk =
            mongoc_collection_create_bulk_operation_with_opts(coll, &opts);
        for (size_t j = i; j < n && j < i + (size_t)batch; j++)
            mongoc_bulk_operation_insert(bulk, docs[j]);
        if (!mongoc_bulk_operation_execute(bulk, NULL, &e))
            rc = fail("bulk insert", &e);
        mongoc_bulk_operation_destroy(bulk);
    }
    double secs = mono_s() - t0;
    printf("{\"documents\": %zu, \"seconds\": %.3f, \"per_second\": %.0f}\n", n, secs,
           secs > 0 ? (double)n / secs : 0);
    for (size_t i = 0; i < n; i++)
        bson_destroy(docs[i]);
    free(docs);
    bson_destroy(&opts);
    mongoc_write_concern_destroy(wc);
    return rc;
}

/* Only errors: FerretDB's missing endSessions would otherwise warn at every exit. */
static void quiet_log(mongoc_log_level_t level, const char *domain, const char *message, void *ud)
{
    (void)ud;
    if (level <= MONGOC_LOG_LEVEL_ERROR)
        fprintf(stderr, "%s: %s\n", domain, message);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see the comment at the top of tool_ingest_mongo.c\n");
        return 2;
    }
    mongoc_init();
    mongoc_log_set_handler(quiet_log, NULL);
    bson_error_t e;
    int rc = 2;
    mongoc_client_t *client = mongoc_client_new(argv[2]);
    if (!client) {
        fprintf(stderr, "bad URI\n");
        return 2;
    }
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    const char *cmd = argv[1];
    if (strcmp(cmd, "drop") == 0) {
        mongoc_database_t *db = mongoc_client_get_database(client, argv[3]);
        rc = mongoc_database_drop(db, &e) ? 0 : fail("drop", &e);
        mongoc_database_destroy(db);
    } else if (argc >= 5) {
        mongoc_collection_t *coll = mongoc_client_get_collection(client, argv[3], argv[4]);
        if (strcmp(cmd, "dump") == 0 || strcmp(cmd, "ids") == 0)
            rc = cmd_find(coll, strcmp(cmd, "ids") == 0);
        else if (strcmp(cmd, "count") == 0)
            rc = cmd_count(coll);
        else if (strcmp(cmd, "ceiling") == 0 && argc >= 8)
            rc = cmd_ceiling(coll, argv[5], atol(argv[6]), argv[7]);
        mongoc_collection_destroy(coll);
    }
    mongoc_client_destroy(client);
    mongoc_cleanup();
    return rc;
}
