/* analytics_kill: DELETEs sent off the tracker's thread (see analytics_kill.h). */
#include "analytics_kill.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_webhcat.h"

typedef struct kill_req {
    char id[32];
    char wid[96];
    bool sending; /* a thread has taken it */
} kill_req;

struct analytics_killer {
    analytics_ctx *ctx;
    pthread_t threads[ANALYTICS_KILL_THREADS];
    size_t nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    kill_req reqs[ANALYTICS_KILL_QUEUE]; /* queued and on their way, in no order */
    size_t n;
};

analytics_killer *analytics_killer_new(analytics_ctx *ctx)
{
    analytics_killer *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->ctx = ctx;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    return k;
}

static kill_req *find_locked(analytics_killer *k, const char *id)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->reqs[i].id, id) == 0)
            return &k->reqs[i];
    return NULL;
}

bool analytics_killer_send(analytics_killer *k, const char *id, const char *wid)
{
    pthread_mutex_lock(&k->lock);
    bool ok = !k->stopping && k->n < ANALYTICS_KILL_QUEUE && !find_locked(k, id);
    if (ok) {
        kill_req *r = &k->reqs[k->n++];
        snprintf(r->id, sizeof(r->id), "%s", id);
        snprintf(r->wid, sizeof(r->wid), "%s", wid);
        r->sending = false;
        pthread_cond_signal(&k->cond);
    }
    pthread_mutex_unlock(&k->lock);
    return ok;
}

static void *killer_main(void *arg)
{
    analytics_killer *k = arg;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        kill_req *r = NULL;
        for (size_t i = 0; i < k->n && !r; i++)
            if (!k->reqs[i].sending)
                r = &k->reqs[i];
        if (k->stopping)
            break;
        if (!r) {
            pthread_cond_wait(&k->cond, &k->lock);
            continue;
        }
        r->sending = true;
        kill_req copy = *r;
        pthread_mutex_unlock(&k->lock);
        analytics_ctx *ctx = k->ctx;
        analytics_err e = {0};
        if (analytics_webhcat_kill(&ctx->backend, copy.wid, ctx->cfg.submit_timeout_ms, &e) != 0)
            gg_warn(&ctx->svc.log, "kill not confirmed yet, will send it again", "{s:s, s:s, s:s}",
                    "job", copy.id, "webhcat_job", copy.wid, "error", e.msg);
        else
            gg_info(&ctx->svc.log, "kill sent again", "{s:s, s:s}", "job", copy.id, "webhcat_job",
                    copy.wid);
        pthread_mutex_lock(&k->lock);
        kill_req *done = find_locked(k, copy.id); /* the array moved while unlocked */
        if (done)
            *done = k->reqs[--k->n];
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

int analytics_killer_start(analytics_killer *k)
{
    for (; k->nthreads < ANALYTICS_KILL_THREADS; k->nthreads++)
        if (pthread_create(&k->threads[k->nthreads], NULL, killer_main, k) != 0)
            return -1;
    return 0;
}

void analytics_killer_stop(analytics_killer *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->stopping = true;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    for (size_t i = 0; i < k->nthreads; i++)
        pthread_join(k->threads[i], NULL);
    k->nthreads = 0;
    k->n = 0;
}

void analytics_killer_free(analytics_killer *k)
{
    if (!k)
        return;
    analytics_killer_stop(k);
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
    free(k);
}
