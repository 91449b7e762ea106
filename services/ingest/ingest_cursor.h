/* ingest_cursor: the text forms the readings endpoints accept and give out, without any I/O:
 * the opaque page cursor and the from/to times.
 *
 * A page of readings is ordered newest first by (created_at_us, _id), a total order, so a
 * cursor holding the pair of the last item given out says exactly where the next page starts,
 * however many readings share a timestamp and whatever was inserted meanwhile. It travels as
 * base64url without padding, so it needs no escaping in a query string; clients must treat it
 * as opaque. */
#ifndef INGEST_CURSOR_H
#define INGEST_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "ingest_doc.h"

typedef struct ingest_cursor {
    int64_t created_at_us;
    char id[INGEST_ID_MAX + 1];
} ingest_cursor;

/* Big enough for any encoded cursor, NUL included. */
#define INGEST_CURSOR_BUFLEN (((1 + 8 + INGEST_ID_MAX) * 4 + 2) / 3 + 1)

/* Returns 0, or -1 when buf is too small or the id is empty or too long. */
int ingest_cursor_encode(const ingest_cursor *c, char *buf, size_t len);
/* Returns 0, or -1 for anything ingest_cursor_encode cannot have produced. */
int ingest_cursor_decode(const char *text, ingest_cursor *out);

/* base64url without padding. encode returns the length written (buf NUL-terminated), or -1
 * when buf is too small. decode accepts both alphabets (+/ and -_) and optional padding,
 * returns the number of bytes written, or -1 for bad text or a short buffer. */
int ingest_b64url_encode(const unsigned char *data, size_t n, char *buf, size_t len);
int ingest_b64_decode(const char *text, size_t n, unsigned char *buf, size_t len);

/* A time given as RFC 3339 ("2025-11-24T16:00:00Z", "2025-11-24T18:00:00.5+02:00"; a space may
 * stand for the 'T' and for a '+' that a form encoder turned into one) or as seconds since the
 * epoch with up to six decimals ("1764000000", "1764000000.001471"). Fractions beyond the
 * microsecond are cut. Returns 0 with microseconds since the epoch in *us, or -1. */
int ingest_time_parse(const char *text, int64_t *us);

#endif
