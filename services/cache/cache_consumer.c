/* cache_consumer: the consumer thread (see cache_consumer.h). */
#include "cache_consumer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_feed.h"
#include "cache_rebuild.h"
#include "gg_backoff.h"

#define CONSUMER_POLL_MS 100

struct cache_consumer {
    cache_ctx *ctx;
    pthread_t thread;
    atomic_bool stop;
    cache_feed *first; /* made by cache_consumer_start, taken over by the thread */
    bool rebuilding;
};

static cache_feed *group_feed(cache_consumer *c, char *err, size_t errlen)
{
    cache_feed_conf conf = {.group = c->ctx->cfg.kafka.group, .mark_done = true, .stop = &c->stop};
    return cache_feed_new(c->ctx, &conf, err, errlen);
}

static void *consumer_main(void *arg)
{
    cache_consumer *c = arg;
    cache_feed *feed = c->first;
    c->first = NULL;
    if (c->rebuilding && cache_rebuild_run(c->ctx, feed, &c->stop) != 0)
        return NULL; /* stopped during the rebuild */
    if (c->rebuilding) {
        char err[512];
        /* The settings were accepted by the rebuild's consumer, so this only fails when memory
         * runs out: retry rather than give up consuming for good. */
        gg_backoff b;
        gg_backoff_init(&b, 100, 5000);
        while (!(feed = group_feed(c, err, sizeof(err)))) {
            gg_error(&c->ctx->svc.log, "cannot create the kafka consumer", "{s:s}", "error", err);
            if (cache_sleep(gg_backoff_next(&b), &c->stop))
                return NULL;
        }
    }
    while (!atomic_load(&c->stop))
        cache_feed_step(feed, CONSUMER_POLL_MS);
    cache_feed_free(feed);
    return NULL;
}

cache_consumer *cache_consumer_start(cache_ctx *ctx, char *err, size_t errlen)
{
    cache_consumer *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->ctx = ctx;
    atomic_init(&c->stop, false);
    c->rebuilding = ctx->cfg.rebuild;
    c->first =
        c->rebuilding ? cache_rebuild_feed(ctx, &c->stop, err, errlen) : group_feed(c, err, errlen);
    if (!c->first) {
        free(c);
        return NULL;
    }
    int rc = pthread_create(&c->thread, NULL, consumer_main, c);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the consumer thread: %s", strerror(rc));
        cache_feed_free(c->first);
        free(c);
        return NULL;
    }
    return c;
}

void cache_consumer_stop(cache_consumer *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    pthread_join(c->thread, NULL);
    free(c);
}
