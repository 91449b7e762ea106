/* gg_pool: bounded worker pool (see gg_pool.h). */
#include "gg_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct gg_pool_job {
    gg_pool_fn fn;
    void *arg;
    struct gg_pool_job *next;
} gg_pool_job;

struct gg_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gg_pool_job *head, **tail;
    size_t queued, queue_max;
    bool stopping, stopped;
    unsigned nthreads;
    pthread_t threads[];
};

static void *worker(void *arg)
{
    gg_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        gg_pool_job *j = p->head;
        if (!j)
            break; /* stopping and nothing left */
        p->head = j->next;
        if (!p->head)
            p->tail = &p->head;
        p->queued--;
        bool cancelled = p->stopping;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg, cancelled);
        free(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

gg_pool *gg_pool_new(unsigned threads, size_t queue_max)
{
    if (threads == 0 || queue_max == 0)
        return NULL;
    gg_pool *p = calloc(1, sizeof(*p) + threads * sizeof(pthread_t));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->tail = &p->head;
    p->queue_max = queue_max;
    for (; p->nthreads < threads; p->nthreads++) {
        if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) != 0) {
            gg_pool_free(p);
            return NULL;
        }
    }
    return p;
}

int gg_pool_submit(gg_pool *p, gg_pool_fn fn, void *arg)
{
    gg_pool_job *j = malloc(sizeof(*j));
    if (!j)
        return -1;
    *j = (gg_pool_job){fn, arg, NULL};
    pthread_mutex_lock(&p->lock);
    if (p->stopping || p->queued >= p->queue_max) {
        pthread_mutex_unlock(&p->lock);
        free(j);
        return -1;
    }
    *p->tail = j;
    p->tail = &j->next;
    p->queued++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void gg_pool_stop(gg_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    bool first = !p->stopping;
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (!first)
        return;
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
}

void gg_pool_free(gg_pool *p)
{
    if (!p)
        return;
    gg_pool_stop(p);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
