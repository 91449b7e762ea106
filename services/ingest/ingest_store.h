/* ingest_store: the MongoDB side of ingest: the client pool, the index, the bulk writes of a batch
 * and the readiness probe. */
#ifndef INGEST_STORE_H
#define INGEST_STORE_H

#include <stddef.h>
#include "ingest_batch.h"

typedef struct ingest_ctx ingest_ctx;
typedef struct ingest_write ingest_write; /* one prepared bulk write, see ingest_store_begin */

int ingest_store_init(ingest_ctx *ctx, char *err, size_t errlen);
void ingest_store_destroy(ingest_ctx *ctx);
int ingest_store_probe(void *ud, char *err, size_t errlen);
/* Creates the {station_id: 1, created_at: -1} index if missing. Returns 0; 1 when the store
 * refused it for good (logged, ingest goes on without it); -1 on a transient failure. */
int ingest_store_ensure_indexes(ingest_ctx *ctx, char *err, size_t errlen);
/* Inserts the batch's pending documents in one unordered bulk write and settles every entry it
 * can (stored, duplicate, or rejected for good and bound for the dead-letter topic). Returns 0
 * when none is left pending, -1 when the write must be retried (err says why). */
int ingest_store_write(ingest_ctx *ctx, ingest_batch *b, char *err, size_t errlen);
/* The same in three steps, so that the write itself can run on the writer thread while the
 * pipeline goes on consuming: begin (pipeline thread) builds the bulk operation from the
 * batch, run (any one thread) executes it, end (pipeline thread) settles the entries, frees
 * the write and returns like ingest_store_write. begin returns NULL when out of memory. */
ingest_write *ingest_store_begin(ingest_ctx *ctx, ingest_batch *b);
void ingest_store_run(ingest_write *w);
int ingest_store_end(ingest_write *w, char *err, size_t errlen);
/* Drops a write that was begun but never run, as if it had not been begun. */
void ingest_store_cancel(ingest_write *w);

#endif
