/* ingest_doc: a reading as a MongoDB document and back, without any I/O.
 *
 * Document (field order fixed, types exact, so that queries and indexes never meet a string
 * where a number belongs):
 *   _id             string: the lower-case correlation id, else "<topic>/<partition>/<offset>"
 *   station_id      string      modality  double     unit  string ("" when absent)
 *   temporal_aspect string      created_at  date (ms) created_at_us  int64 (exact microseconds)
 *   correlation_id  string or null              schema_version  int32
 *   kafka           {topic: string, partition: int32, offset: int64}
 *   ingested_at     date (ms): when the service wrote it
 * The _id makes redelivery and producer resends idempotent: the second insert of a reading
 * fails with a duplicate key instead of adding a document. */
#ifndef INGEST_DOC_H
#define INGEST_DOC_H

#include <bson/bson.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gg_record.h"
#include "gg_time.h"

/* Dead-letter reasons: the parser's, plus the store refusing a document for good. */
#define INGEST_REASON_STORE_REJECTED GG_RECORD_REASON_COUNT
#define INGEST_REASON_COUNT          (GG_RECORD_REASON_COUNT + 1)

/* Largest _id: a topic name (at most 249 bytes) plus "/<int32>/<int64>". */
#define INGEST_ID_MAX 300

/* Where a reading came from. */
typedef struct ingest_origin {
    const char *topic;
    int32_t partition;
    int64_t offset;
} ingest_origin;

/* Stable snake_case text of a dead-letter reason: gg_record_reason_code() for the parser's,
 * "store_rejected" for the store's, "unknown" otherwise. */
const char *ingest_reason_code(int reason);

/* Writes the _id of the reading into buf (INGEST_ID_MAX + 1 bytes suffice). */
void ingest_doc_id(const gg_record *r, const ingest_origin *o, char *buf, size_t len);

/* Appends the fields of the reading's document to doc, which must be empty. Returns false
 * when libbson refuses (a key or value it cannot hold). */
bool ingest_doc_build(bson_t *doc, const gg_record *r, const ingest_origin *o,
                      int64_t ingested_at_ms);

/* The REST shape of a stored document: the reading as every gridgate API writes it
 * {station_id, temporal_aspect, modality (whole numbers as integers), unit, created_at (RFC 3339,
 * microseconds), created_at_us, correlation_id (absent when the producer sent none)}, then
 * schema_version, kafka {topic, partition, offset} and ingested_at (RFC 3339, milliseconds).
 * Other fields missing from the document come out as null, so a document written by something
 * else still renders. Caller owns it. */
json_t *ingest_doc_to_json(const bson_t *doc);

#endif
