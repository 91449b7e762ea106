/* gg_pool: a fixed set of threads that run submitted jobs in order, with a bounded queue, so that
 * work which waits on a backend never runs on (and never stalls) an HTTP thread. A full queue is
 * the caller's signal to shed load: gg_pool_submit refuses instead of growing without bound. */
#ifndef GG_POOL_H
#define GG_POOL_H

#include <stddef.h>

typedef struct gg_pool gg_pool;

/* A job. cancelled is non-zero when the pool stops before the job ran: the job must then only
 * release what it holds (and answer its request), quickly. */
typedef void (*gg_pool_fn)(void *arg, int cancelled);

/* threads >= 1; queue_max >= 1 jobs waiting for a thread. NULL when out of memory or threads
 * cannot be started. */
gg_pool *gg_pool_new(unsigned threads, size_t queue_max);
/* Queues fn(arg, 0). Returns 0, or -1 (fn not called) when the queue is full or the pool stops. */
int gg_pool_submit(gg_pool *p, gg_pool_fn fn, void *arg);
/* Stops taking jobs, runs the queued ones with cancelled set, waits for the running ones and
 * joins the threads. Safe to call more than once; NULL is ignored. */
void gg_pool_stop(gg_pool *p);
/* Stops (see gg_pool_stop) and frees. */
void gg_pool_free(gg_pool *p);

#endif
