/* cache_pool: per-worker Redis connections with reconnect and backoff (see cache_pool.h). */
#include "cache_pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cache_redis.h"
#include "gg_backoff.h"

struct cache_pool_slot {
    pthread_mutex_t lock;
    redisContext *c;
    int64_t retry_at_ms; /* no connect attempt before this */
    gg_backoff backoff;
    const cache_ctx *ctx;
};

struct cache_pool {
    size_t n;
    cache_pool_slot slots[];
};

cache_pool *cache_pool_new(const cache_ctx *ctx, size_t slots)
{
    if (slots == 0)
        slots = 1;
    cache_pool *p = calloc(1, sizeof(*p) + slots * sizeof(p->slots[0]));
    if (!p)
        return NULL;
    p->n = slots;
    for (size_t i = 0; i < slots; i++) {
        pthread_mutex_init(&p->slots[i].lock, NULL);
        gg_backoff_init(&p->slots[i].backoff, 50, 500);
        p->slots[i].ctx = ctx;
    }
    return p;
}

void cache_pool_free(cache_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        redisFree(p->slots[i].c);
        pthread_mutex_destroy(&p->slots[i].lock);
    }
    free(p);
}

static size_t home_slot(const cache_pool *p)
{
    uint64_t h = (uint64_t)pthread_self();
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)(h % p->n);
}

static cache_pool_slot *take_slot(cache_pool *p)
{
    size_t home = home_slot(p);
    for (size_t i = 0; i < p->n; i++) {
        cache_pool_slot *s = &p->slots[(home + i) % p->n];
        if (pthread_mutex_trylock(&s->lock) == 0)
            return s;
    }
    cache_pool_slot *s = &p->slots[home];
    pthread_mutex_lock(&s->lock);
    return s;
}

redisContext *cache_pool_get(cache_pool *p, cache_pool_slot **slot, char *err, size_t errlen)
{
    cache_pool_slot *s = take_slot(p);
    if (!s->c) {
        int64_t now = gg_time_mono_ms();
        if (now < s->retry_at_ms) {
            snprintf(err, errlen, "Redis is unreachable; next connection attempt in %lld ms",
                     (long long)(s->retry_at_ms - now));
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        s->c = cache_redis_open(s->ctx, err, errlen);
        if (!s->c) {
            s->retry_at_ms = gg_time_mono_ms() + gg_backoff_next(&s->backoff);
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        gg_backoff_reset(&s->backoff);
    }
    *slot = s;
    return s->c;
}

void cache_pool_put(cache_pool_slot *s, bool broken)
{
    if (broken || (s->c && s->c->err)) {
        redisFree(s->c);
        s->c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
}
