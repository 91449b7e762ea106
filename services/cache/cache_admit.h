/* cache_admit: the cap on the number of stations the cache keeps (GRIDGATE_MAX_STATIONS).
 *
 * Every station costs Redis its latest readings, its recent list and a place in the index, and
 * every replica a place in its in-process copy; station ids come from producers, so without a cap
 * one producer sending distinct ids grows all of that without limit. A reading of a station the
 * index does not hold yet is admitted only while the index holds fewer than the cap; past it the
 * reading is dropped, counted (readings_rejected_total{reason="station_limit"}) and logged. The
 * readings themselves are still stored by gridgate-ingest: the cache is a view.
 *
 * The check reads the index (SISMEMBER, SCARD) in one pipelined round before the batch is
 * written, and only for stations this writer has not admitted before, so a steady set of
 * stations costs nothing. It is not atomic across replicas: each may admit one batch's new
 * stations on the same count, so the index can exceed the cap by at most a batch per replica. */
#ifndef CACHE_ADMIT_H
#define CACHE_ADMIT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cache_admit cache_admit;

/* max_stations 0: no cap (every station admitted without a check). */
cache_admit *cache_admit_new(long max_stations);
void cache_admit_free(cache_admit *a);

/* Stations known admitted to this writer (a test and metrics hook). */
size_t cache_admit_known(const cache_admit *a);

/* Decides stations[0..n) (ids, repeats allowed) against the index at index_key: refused[i] is set
 * for each refused one. Returns the number refused, or -1 with err set when Redis failed (nothing
 * is decided then; the caller retries the batch). */
long cache_admit_check(cache_admit *a, redisContext *c, const char *index_key,
                       const char *const *stations, size_t n, bool *refused, char *err,
                       size_t errlen);

#endif
