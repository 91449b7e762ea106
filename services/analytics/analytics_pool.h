/* analytics_pool: a few threads that run the handlers which call WebHCat or WebHDFS, so that the
 * HTTP threads never wait on a backend.
 *
 * A pooled route's handler runs as usual, only on a pool thread: the HTTP thread defers the
 * request (gg_http_defer), queues it and returns at once; the pool thread's gg_http_reply_* then
 * hands the answer over and wakes the connection. Why a pool and not libcurl's multi interface:
 * a submission, a word count's directory walk and a page of results are sequences of dependent
 * calls (NameNode, then DataNode; LISTSTATUS per directory; record, lease, then WebHCat) whose
 * code already reads as blocking steps; a multi-driven state machine for each would be far more
 * code for no gain at this scale (a handful of concurrent backend calls per replica). The pool
 * is bounded: ANALYTICS_POOL_THREADS threads and ANALYTICS_POOL_QUEUE waiting requests; beyond
 * that a request is answered 503 with Retry-After at once, so a hung backend fills the queue,
 * not the HTTP threads. */
#ifndef ANALYTICS_POOL_H
#define ANALYTICS_POOL_H

#include <stdbool.h>

#include "gg_http.h"

#define ANALYTICS_POOL_THREADS 4
#define ANALYTICS_POOL_QUEUE   256
#define ANALYTICS_POOL_ROUTES  8

typedef struct analytics_pool analytics_pool;

analytics_pool *analytics_pool_new(void);
int analytics_pool_start(analytics_pool *p);
/* Answers the requests still queued (503) and joins the threads; later requests get 503 too. */
void analytics_pool_stop(analytics_pool *p);
void analytics_pool_free(analytics_pool *p);

/* gg_http_route_query, with handler run on the pool. */
int analytics_pool_route(analytics_pool *p, gg_http_server *s, const char *method,
                         const char *pattern, const char *query, unsigned flags,
                         gg_http_handler handler, void *ud);

#endif
