/* cache_doc: the JSON text of one reading as the cache stores and serves it, and the order
 * that decides which of two readings is the newer one.
 *
 *   {"station_id":"3","temporal_aspect":"real_time","modality":421,"unit":"MW",
 *    "created_at":"2025-11-24T16:00:00.001471Z","created_at_us":1764000000001471,
 *    "correlation_id":"906f764e-4cc5-4d3b-9d3e-2f1a8b0f9c11"}
 *
 * The text is a pure function of the reading (fixed field order, shortest round-trip number
 * text, correlation_id only when the reading has one), so a duplicate produces the same bytes
 * on every replica: the recent set deduplicates on them and the ETag of a reading is stable.
 * created_at is RFC 3339 in UTC with the producer's exact microseconds, as gridgate-ingest
 * serves it too (gg_time); created_at_us is the same instant as an integer for clients that
 * compare times.
 *
 * Newer-wins order, shared with the Lua step in Redis: greater created_at_us wins; on a tie the
 * greater correlation id (absent counts as empty); then the greater document bytes. Comparisons
 * are by unsigned bytes, never by locale. */
#ifndef CACHE_DOC_H
#define CACHE_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "gg_record.h"

#define CACHE_DOC_MAX 512 /* longest document plus NUL, with room to spare */

/* Writes the document of r into buf; returns its length, or 0 when it does not fit in len. */
size_t cache_doc_format(const gg_record *r, char *buf, size_t len);

/* What the cache needs to know about a stored document. */
typedef struct cache_doc_info {
    char station_id[GG_RECORD_STATION_MAX + 1];
    gg_aspect aspect;
    int64_t created_at_us;
    char correlation_id[GG_RECORD_UUID_LEN + 1]; /* "" when absent */
} cache_doc_info;

/* Reads the fields back from a document (as found in Redis). Returns 0, or -1 when it is not a
 * document of this layout with a valid station id, aspect and created_at_us. */
int cache_doc_parse(const char *doc, size_t len, cache_doc_info *out);

/* < 0 when a is older than b, 0 when they are the same reading, > 0 when a is newer. */
int cache_doc_order(const cache_doc_info *a, const char *adoc, size_t alen, const cache_doc_info *b,
                    const char *bdoc, size_t blen);

/* The update channel carries the documents of one script call in one message, joined by '\n'
 * (cache_script.h; a document never holds a raw newline). Sets *doc and *len to the document at
 * *off in msg[0..msglen) and moves *off past it; returns 0 once every document was read. Empty
 * pieces are skipped, so a message of one document, as earlier versions published, is read as
 * it is. */
int cache_doc_next_published(const char *msg, size_t msglen, size_t *off, const char **doc,
                             size_t *len);
/* The same from the end: *end starts at msglen and moves before each document returned. */
int cache_doc_prev_published(const char *msg, size_t *end, const char **doc, size_t *len);

#endif
