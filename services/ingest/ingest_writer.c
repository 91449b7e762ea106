/* ingest_writer: the thread that runs bulk writes for the pipeline (see ingest.h). A bulk write
 * blocks for the store's round trip; running it here lets the pipeline poll and parse the next
 * batch meanwhile, which is what keeps the store busy all the time. */
#include "ingest.h"
#include "ingest_writer.h"
#include "ingest_store.h"
#include "gg_time.h"

#include <errno.h>
#include <time.h>

static void *writer_main(void *arg)
{
    ingest_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && (!w->job || w->finished))
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->stop)
            break;
        ingest_write *job = w->job;
        pthread_mutex_unlock(&w->lock);
        ingest_store_run(job);
        pthread_mutex_lock(&w->lock);
        w->finished = 1;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int ingest_writer_start(ingest_writer *w)
{
    gg_time_cond_init(&w->cond); /* deadlines must not jump with the wall clock */
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
        return -1;
    pthread_setname_np(w->thread, "ingest-writer");
    w->running = 1;
    return 0;
}

void ingest_writer_stop(ingest_writer *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->running = 0;
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
}

void ingest_writer_submit(ingest_writer *w, ingest_write *job)
{
    pthread_mutex_lock(&w->lock);
    w->job = job;
    w->finished = 0;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

ingest_write *ingest_writer_collect(ingest_writer *w, int timeout_ms)
{
    struct timespec until;
    gg_time_deadline(&until, timeout_ms);
    ingest_write *done = NULL;
    pthread_mutex_lock(&w->lock);
    while (w->job && !w->finished && timeout_ms != 0) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&w->cond, &w->lock)
                                : pthread_cond_timedwait(&w->cond, &w->lock, &until);
        if (rc == ETIMEDOUT)
            break;
    }
    if (w->job && w->finished) {
        done = w->job;
        w->job = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    return done;
}
