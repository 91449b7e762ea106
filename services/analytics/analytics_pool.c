/* analytics_pool: handlers that call backends, off the HTTP threads (see analytics_pool.h). */
#include "analytics_pool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct pooled_route {
    analytics_pool *pool;
    gg_http_handler handler;
    void *ud;
} pooled_route;

typedef struct task {
    const pooled_route *route;
    gg_http_req *req;
} task;

struct analytics_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t threads[ANALYTICS_POOL_THREADS];
    size_t nthreads;
    bool stopping;
    task queue[ANALYTICS_POOL_QUEUE]; /* ring */
    size_t head, count;
    pooled_route routes[ANALYTICS_POOL_ROUTES];
    size_t nroutes;
};

analytics_pool *analytics_pool_new(void)
{
    analytics_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    return p;
}

static void busy(gg_http_req *req)
{
    gg_http_add_header(req, "Retry-After", "1");
    gg_http_reply_problem(req, 503, "busy", "too many requests wait for WebHCat or WebHDFS");
}

static void *worker(void *arg)
{
    analytics_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->count == 0)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->count == 0)
            break; /* stopping, and nothing left */
        task t = p->queue[p->head];
        p->head = (p->head + 1) % ANALYTICS_POOL_QUEUE;
        p->count--;
        bool stop = p->stopping;
        pthread_mutex_unlock(&p->lock);
        if (stop)
            busy(t.req);
        else
            t.route->handler(t.req, t.route->ud); /* replies, or parks req elsewhere */
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int analytics_pool_start(analytics_pool *p)
{
    for (; p->nthreads < ANALYTICS_POOL_THREADS; p->nthreads++)
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0)
            return -1;
    return 0;
}

void analytics_pool_stop(analytics_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void analytics_pool_free(analytics_pool *p)
{
    if (!p)
        return;
    analytics_pool_stop(p);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The HTTP thread's part: defer and queue, never wait. */
static void enqueue(gg_http_req *req, void *ud)
{
    const pooled_route *r = ud;
    analytics_pool *p = r->pool;
    pthread_mutex_lock(&p->lock);
    bool ok = !p->stopping && p->nthreads > 0 && p->count < ANALYTICS_POOL_QUEUE;
    if (ok) {
        gg_http_defer(req);
        p->queue[(p->head + p->count) % ANALYTICS_POOL_QUEUE] = (task){r, req};
        p->count++;
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    if (!ok)
        busy(req);
}

int analytics_pool_route(analytics_pool *p, gg_http_server *s, const char *method,
                         const char *pattern, const char *query, unsigned flags,
                         gg_http_handler handler, void *ud)
{
    if (p->nroutes == ANALYTICS_POOL_ROUTES)
        return -1;
    pooled_route *r = &p->routes[p->nroutes++];
    *r = (pooled_route){p, handler, ud};
    return gg_http_route_query(s, method, pattern, query, flags, enqueue, r);
}
