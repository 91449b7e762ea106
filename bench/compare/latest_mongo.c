/* latest_mongo: the latest reading of a station read straight from MongoDB, the way a dashboard
 * would have to ask without the cache: one find on the readings collection, newest first,
 * limit 1, which MongoDB serves from the {station_id: 1, created_at: -1} index the ingest
 * service creates.
 *
 *   latest_mongo URI DB COLL STATIONS QUERIES ID_QUERIES
 *
 * One connection, one request after the other (as one keep-alive HTTP client would); one
 * untimed query first (connection set-up). Stations "1".."STATIONS" are asked in turn:
 *   any       QUERIES x find {station_id: s} sort {created_at: -1} limit 1
 *   real_time QUERIES x find {station_id: s, temporal_aspect: "real_time"}
 *             sort {created_at: -1} limit 1: the question GET /v1/stations/{id}/latest answers
 *   by_id     ID_QUERIES x find {_id: <the _id real_time answered for s>} limit 1 (skipped
 *             when 0): a point read on the primary key, what an index-served latest costs at
 *             best (one key, one document) on a store that cannot use the secondary index
 *   empty     ID_QUERIES x the real_time query on a collection that does not exist: the cost
 *             of any query's round trip through driver, wire protocol and server, without data
 * Prints one JSON object: per form the latency percentiles (microseconds) and rate, per
 * station the created_at_us of the answer (so the caller can check that the stores agree),
 * and the server's explain output of the real_time and by_id forms for station 1.
 *
 * Built by bench/compare/run with cc and pkg-config's flags for libmongoc-1.0. */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_STATIONS 100000
#define MAX_QUERIES  1000000
#define ID_MAX       320

enum form { FORM_ANY, FORM_REAL_TIME, FORM_BY_ID, FORM_EMPTY };
static const char *const form_names[] = {"any", "real_time", "by_id", "empty"};

/* What the run learns per station: the answer's time and _id (the key of the by_id form). */
typedef struct station {
    int64_t created_at_us; /* 0: no reading */
    char id[ID_MAX];
} station;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static int64_t pct(const int64_t *sorted, long n, double p)
{
    long i = (long)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static bson_t *query_filter(enum form f, long s, const station *st)
{
    char name[24];
    bson_t *q = bson_new();
    snprintf(name, sizeof(name), "%ld", s + 1);
    if (f == FORM_BY_ID) {
        BSON_APPEND_UTF8(q, "_id", st->id);
        return q;
    }
    BSON_APPEND_UTF8(q, "station_id", name);
    if (f == FORM_REAL_TIME || f == FORM_EMPTY)
        BSON_APPEND_UTF8(q, "temporal_aspect", "real_time");
    return q;
}

static bson_t *query_opts(enum form f)
{
    if (f == FORM_BY_ID)
        return BCON_NEW("limit", BCON_INT64(1));
    return BCON_NEW("sort", "{", "created_at", BCON_INT32(-1), "}", "limit", BCON_INT64(1));
}

/* One query for station s; fills out (when not NULL) from the answer. Returns 0, or -1 on an
 * error (printed). */
static int lookup(mongoc_collection_t *coll, enum form f, long s, const station *in, station *out)
{
    bson_t *q = query_filter(f, s, in), *opts = query_opts(f);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, q, opts, NULL);
    const bson_t *doc;
    bson_error_t e;
    int rc = 0;
    if (mongoc_cursor_next(cur, &doc) && out) {
        bson_iter_t it;
        if (bson_iter_init_find(&it, doc, "created_at_us") && BSON_ITER_HOLDS_INT64(&it))
            out->created_at_us = bson_iter_int64(&it);
        if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it))
            snprintf(out->id, sizeof(out->id), "%s", bson_iter_utf8(&it, NULL));
    }
    if (mongoc_cursor_error(cur, &e)) {
        fprintf(stderr, "find (%s) for station %ld: %s\n", form_names[f], s + 1, e.message);
        rc = -1;
    }
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    bson_destroy(q);
    return rc;
}

/* Times n queries of one form and prints its JSON member; the answers of the first round over
 * the stations are kept in seen. */
static int run_form(mongoc_collection_t *coll, enum form f, long stations, long n, station *seen)
{
    int64_t *lat = calloc((size_t)n, sizeof(*lat));
    if (!lat) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    int rc = 0;
    int64_t t0 = mono_ns();
    for (long i = 0; i < n && rc == 0; i++) {
        long s = i % stations;
        station tmp = {0, ""};
        int64_t t = mono_ns();
        rc = lookup(coll, f, s, &seen[s], i < stations && seen != NULL ? &tmp : NULL);
        lat[i] = (mono_ns() - t) / 1000;
        if (i < stations && f < FORM_BY_ID)
            seen[s] = tmp;
    }
    double secs = (double)(mono_ns() - t0) / 1e9;
    if (rc == 0) {
        qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
        printf("\"%s\": {\"queries\": %ld, \"per_second\": %.1f, \"p50_us\": %lld, "
               "\"p90_us\": %lld, \"p99_us\": %lld, \"max_us\": %lld}",
               form_names[f], n, (double)n / secs, (long long)pct(lat, n, 50),
               (long long)pct(lat, n, 90), (long long)pct(lat, n, 99), (long long)lat[n - 1]);
    }
    free(lat);
    return rc;
}

/* The server's own account of how it runs a form (for station 1). */
static void print_explain(mongoc_client_t *client, const char *db, const char *coll, enum form f,
                          const station *st)
{
    bson_t *q = query_filter(f, 0, st), *opts = query_opts(f);
    bson_t cmd = BSON_INITIALIZER, find, reply;
    bson_error_t e;
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "explain", &find);
    BSON_APPEND_UTF8(&find, "find", coll);
    BSON_APPEND_DOCUMENT(&find, "filter", q);
    bson_concat(&find, opts);
    bson_append_document_end(&cmd, &find);
    if (mongoc_client_command_simple(client, db, &cmd, NULL, &reply, &e)) {
        char *json = bson_as_relaxed_extended_json(&reply, NULL);
        printf("\"%s\": %s", form_names[f], json);
        bson_free(json);
    } else {
        printf("\"%s\": null", form_names[f]);
        fprintf(stderr, "explain (%s): %s\n", form_names[f], e.message);
    }
    bson_destroy(&reply);
    bson_destroy(&cmd);
    bson_destroy(opts);
    bson_destroy(q);
}

static void print_stations(const station *seen, long stations)
{
    printf("\"latest_us\": {");
    for (long s = 0; s < stations; s++)
        printf("%s\"%ld\": %lld", s ? ", " : "", s + 1, (long long)seen[s].created_at_us);
    printf("}");
}

static int run(mongoc_client_t *client, const char *db, const char *name, long stations,
               long queries, long id_queries)
{
    mongoc_collection_t *coll = mongoc_client_get_collection(client, db, name);
    station *seen = calloc((size_t)stations, sizeof(*seen));
    int rc = seen ? lookup(coll, FORM_ANY, 0, NULL, NULL) : -1; /* connection set-up */
    printf("{");
    if (rc == 0)
        rc = run_form(coll, FORM_ANY, stations, queries, seen);
    if (rc == 0) {
        printf(", ");
        rc = run_form(coll, FORM_REAL_TIME, stations, queries, seen);
    }
    if (rc == 0 && id_queries > 0) {
        printf(", ");
        rc = run_form(coll, FORM_BY_ID, stations, id_queries, seen);
    }
    if (rc == 0 && id_queries > 0) {
        char absent[200];
        snprintf(absent, sizeof(absent), "%s_absent", name);
        mongoc_collection_t *none = mongoc_client_get_collection(client, db, absent);
        printf(", ");
        rc = run_form(none, FORM_EMPTY, stations, id_queries, seen);
        mongoc_collection_destroy(none);
    }
    if (rc == 0) {
        printf(", ");
        print_stations(seen, stations);
        printf(", \"explain\": {");
        print_explain(client, db, name, FORM_REAL_TIME, &seen[0]);
        printf(", ");
        print_explain(client, db, name, FORM_BY_ID, &seen[0]);
        printf("}");
    }
    printf("}\n");
    free(seen);
    mongoc_collection_destroy(coll);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: latest_mongo URI DB COLL STATIONS QUERIES ID_QUERIES\n");
        return 2;
    }
    long stations = atol(argv[4]), queries = atol(argv[5]), id_queries = atol(argv[6]);
    if (stations < 1 || stations > MAX_STATIONS || queries < stations || queries > MAX_QUERIES ||
        id_queries < 0 || id_queries > MAX_QUERIES) {
        fprintf(stderr, "STATIONS 1..%d, QUERIES STATIONS..%d, ID_QUERIES 0..%d\n", MAX_STATIONS,
                MAX_QUERIES, MAX_QUERIES);
        return 2;
    }
    mongoc_init();
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[1], &e);
    if (!uri) {
        fprintf(stderr, "%s\n", e.message);
        return 2;
    }
    mongoc_uri_set_appname(uri, "gridgate-bench-compare");
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    int rc = run(client, argv[2], argv[3], stations, queries, id_queries);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return rc == 0 ? 0 : 1;
}
