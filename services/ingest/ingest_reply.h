/* ingest_reply: what the reply of an unordered bulk insert says about each document, without
 * any I/O. This decides which readings count as stored, so it is kept apart and tested alone.
 *
 * Rules: a write error names its document; code 11000 (duplicate key) means the reading is
 * already stored. The documents without a write error were inserted only when the reply
 * accounts for all of them (the write succeeded, or nInserted plus the write errors make up the
 * whole batch and no write concern error came back); otherwise nothing can be known of them
 * (the connection broke half way, the write concern was not met) and they must be written
 * again, which is harmless because the _id makes a second insert a duplicate. */
#ifndef INGEST_REPLY_H
#define INGEST_REPLY_H

#include <bson/bson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ingest_outcome {
    INGEST_OUTCOME_UNKNOWN = 0, /* write it again */
    INGEST_OUTCOME_INSERTED,
    INGEST_OUTCOME_DUPLICATE,
    INGEST_OUTCOME_ERROR /* a write error other than a duplicate: see code and why */
} ingest_outcome;

typedef struct ingest_doc_result {
    ingest_outcome outcome;
    int32_t code;  /* ERROR: the server's error code */
    char why[160]; /* ERROR: the server's message */
} ingest_doc_result;

/* Fills out[0..n) for a bulk write of n documents that returned ok with reply. */
void ingest_reply_read(const bson_t *reply, bool ok, ingest_doc_result *out, size_t n);

/* 1 when a write error code is worth retrying (the store was busy, stepping down or
 * unreachable), 0 when the document itself may be what is refused. */
int ingest_reply_code_transient(int32_t code);

#endif
