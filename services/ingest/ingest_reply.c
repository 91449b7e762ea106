/* ingest_reply: what a bulk insert reply says about each document (see ingest_reply.h). */
#include "ingest_reply.h"

#include <stdio.h>
#include <string.h>

#define DUPLICATE_KEY 11000

int ingest_reply_code_transient(int32_t code)
{
    /* MongoDB's retryable write errors, plus the ones that say "busy, try again". */
    static const int32_t codes[] = {6,     7,     24,    46,    50,    63,    64,   89,
                                    91,    112,   133,   150,   189,   262,   9001, 10107,
                                    11600, 11601, 11602, 13388, 13435, 13436, 16500};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i] == code)
            return 1;
    return 0;
}

/* Returns 1 when the error names a document of the write not named before. */
static int read_write_error(const bson_t *we, ingest_doc_result *out, size_t n)
{
    bson_iter_t it;
    int64_t index = -1;
    int32_t code = 0;
    const char *msg = "write error";
    if (bson_iter_init_find(&it, we, "index") && BSON_ITER_HOLDS_NUMBER(&it))
        index = bson_iter_as_int64(&it);
    if (bson_iter_init_find(&it, we, "code") && BSON_ITER_HOLDS_NUMBER(&it))
        code = (int32_t)bson_iter_as_int64(&it);
    if (bson_iter_init_find(&it, we, "errmsg") && BSON_ITER_HOLDS_UTF8(&it))
        msg = bson_iter_utf8(&it, NULL);
    if (index < 0 || (size_t)index >= n || out[index].outcome != INGEST_OUTCOME_UNKNOWN)
        return 0;
    ingest_doc_result *r = &out[index];
    r->outcome = code == DUPLICATE_KEY ? INGEST_OUTCOME_DUPLICATE : INGEST_OUTCOME_ERROR;
    r->code = code;
    snprintf(r->why, sizeof(r->why), "%s", msg);
    return 1;
}

/* Reads the writeErrors array; returns how many named a document of the write. */
static size_t read_write_errors(const bson_t *reply, ingest_doc_result *out, size_t n)
{
    bson_iter_t it, arr;
    size_t count = 0;
    if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &arr))
        return 0;
    while (bson_iter_next(&arr)) {
        uint32_t len;
        const uint8_t *data;
        bson_t we;
        if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
            continue;
        bson_iter_document(&arr, &len, &data);
        if (bson_init_static(&we, data, len))
            count += (size_t)read_write_error(&we, out, n);
    }
    return count;
}

static int write_concern_failed(const bson_t *reply)
{
    bson_iter_t it, arr;
    return bson_iter_init_find(&it, reply, "writeConcernErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
           bson_iter_recurse(&it, &arr) && bson_iter_next(&arr);
}

void ingest_reply_read(const bson_t *reply, bool ok, ingest_doc_result *out, size_t n)
{
    memset(out, 0, n * sizeof(*out));
    size_t errors = read_write_errors(reply, out, n);
    bson_iter_t it;
    int64_t inserted = -1;
    if (bson_iter_init_find(&it, reply, "nInserted") && BSON_ITER_HOLDS_NUMBER(&it))
        inserted = bson_iter_as_int64(&it);
    int accounted =
        !write_concern_failed(reply) && (ok || (inserted >= 0 && (size_t)inserted + errors == n));
    if (!accounted)
        return;
    for (size_t i = 0; i < n; i++)
        if (out[i].outcome == INGEST_OUTCOME_UNKNOWN)
            out[i].outcome = INGEST_OUTCOME_INSERTED;
}
