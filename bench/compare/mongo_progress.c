/* mongo_progress: how many documents a sink has stored so far, polled the cheap way, and one
 * of them as an example.
 *
 *   mongo_progress URI DB COLL TARGET INTERVAL_MS TIMEOUT_S
 *
 * Every INTERVAL_MS, one aggregate [{$collStats: {count: {}}}] on COLL (exact on the stores
 * used here and, unlike count_documents({}), not a scan: FerretDB on SQLite answers a count
 * with a full scan, ~24 ms per 1,000 documents, which would slow the sink being measured).
 * Prints one line per poll, {"t": monotonic seconds, "count": n}, flushed at once so that the
 * caller can sample the sink's /proc at the same moment; stops when n >= TARGET (then prints
 * {"example": one stored document as relaxed extended JSON}) or after TIMEOUT_S (exit 2).
 * A collection that does not exist yet counts 0.
 *
 * Built by bench/compare/run with cc and pkg-config's flags for libmongoc-1.0. */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t count_of(mongoc_collection_t *coll)
{
    bson_t *pipeline =
        BCON_NEW("pipeline", "[", "{", "$collStats", "{", "count", "{", "}", "}", "}", "]");
    mongoc_cursor_t *cur =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
    const bson_t *doc;
    int64_t n = 0;
    if (mongoc_cursor_next(cur, &doc)) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, "count") && BSON_ITER_HOLDS_NUMBER(&it))
            n = bson_iter_as_int64(&it);
    }
    mongoc_cursor_destroy(cur); /* an error (no collection yet) leaves n at 0 */
    bson_destroy(pipeline);
    return n;
}

static void print_example(mongoc_collection_t *coll)
{
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    if (mongoc_cursor_next(cur, &doc)) {
        char *json = bson_as_relaxed_extended_json(doc, NULL);
        printf("{\"example\": %s}\n", json);
        bson_free(json);
    } else {
        printf("{\"example\": null}\n");
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: mongo_progress URI DB COLL TARGET INTERVAL_MS TIMEOUT_S\n");
        return 1;
    }
    int64_t target = strtoll(argv[4], NULL, 10);
    long interval_ms = strtol(argv[5], NULL, 10);
    double timeout_s = strtod(argv[6], NULL);
    mongoc_init();
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[1], &e);
    if (!uri) {
        fprintf(stderr, "%s: %s\n", argv[1], e.message);
        return 1;
    }
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, argv[2], argv[3]);
    double t0 = mono_s();
    int rc = 2;
    for (;;) {
        int64_t n = count_of(coll);
        double t = mono_s();
        printf("{\"t\": %.4f, \"count\": %lld}\n", t, (long long)n);
        fflush(stdout);
        if (n >= target) {
            rc = 0;
            break;
        }
        if (t - t0 > timeout_s)
            break;
        struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
    if (rc == 0)
        print_example(coll);
    fflush(stdout);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return rc;
}
