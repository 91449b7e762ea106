/* cache_hub: fan-out of updates to the open streams (see cache_hub.h). */
#include "cache_hub.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_doc.h"
#include "gg_time.h"

#define HUB_END       ((size_t)-1)
#define HEARTBEAT_TXT ":\n\n"

/* One update as sent, shared by every stream it is queued to. */
struct cache_event {
    atomic_int refs;
    gg_aspect aspect;
    int64_t us;
    char station[GG_RECORD_STATION_MAX + 1];
    size_t len;
    char text[];
};

struct cache_hub_client {
    cache_hub *hub;
    pthread_mutex_t lock;
    cache_hub_client *prev, *next;
    gg_aspect aspect;
    cache_id *ids; /* sorted by cache_id_cmp; NULL: every station */
    size_t nids;
    char *idtext;
    cache_event **q; /* ring of queue_max */
    size_t head, count, off;
    char *pre;
    size_t prelen, preoff;
    bool beat, ended, attached;
    int64_t last_ms;
    cache_hub_sink sink;
};

struct cache_hub {
    cache_hub_config cfg;
    cache_hub_metrics m;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cache_hub_client *clients;
    size_t nclients;
    bool stopping;
    bool thread_started;
    pthread_t thread;
};

static void event_release(cache_event *e)
{
    if (e && atomic_fetch_sub(&e->refs, 1) == 1)
        free(e);
}

/* ---- heartbeats ----------------------------------------------------------------------------- */

static void *beat_main(void *arg)
{
    cache_hub *h = arg;
    long tick = h->cfg.heartbeat_ms / 2 < 1000 ? h->cfg.heartbeat_ms / 2 : 1000;
    if (tick < 10)
        tick = 10;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += tick / 1000;
        ts.tv_nsec += (tick % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&h->cond, &h->lock, &ts);
        if (h->stopping)
            break;
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&h->lock);
            cache_hub_beat(h, gg_time_mono_ms());
            pthread_mutex_lock(&h->lock);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

cache_hub *cache_hub_new(const cache_hub_config *cfg, const cache_hub_metrics *m)
{
    cache_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->cfg = *cfg;
    if (!h->cfg.queue_max)
        h->cfg.queue_max = 1;
    if (h->cfg.heartbeat_ms <= 0)
        h->cfg.heartbeat_ms = 15000;
    if (m)
        h->m = *m;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    if (pthread_create(&h->thread, NULL, beat_main, h) != 0) {
        cache_hub_free(h);
        return NULL;
    }
    h->thread_started = true;
    return h;
}

void cache_hub_stop(cache_hub *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    if (h->thread_started)
        pthread_join(h->thread, NULL);
    h->thread_started = false;
    cache_hub_end_all(h);
}

void cache_hub_free(cache_hub *h)
{
    if (!h)
        return;
    cache_hub_stop(h);
    /* Streams the server never closed (it was not started): nobody reads them any more. */
    while (h->clients)
        cache_hub_close(h->clients);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- opening and closing -------------------------------------------------------------------- */

static int id_cmp(const void *a, const void *b)
{
    const cache_id *x = a, *y = b;
    return cache_id_cmp(x->s, x->len, y->s, y->len);
}

/* Copies the ids into one block, sorted, so each publish is a binary search per stream. */
static int copy_ids(cache_hub_client *c, const cache_id *ids, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ids[i].len;
    c->ids = malloc(n * sizeof(*c->ids));
    c->idtext = malloc(total + 1);
    if (!c->ids || !c->idtext)
        return -1;
    char *p = c->idtext;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, ids[i].s, ids[i].len);
        c->ids[i] = (cache_id){p, ids[i].len};
        p += ids[i].len;
    }
    c->nids = n;
    qsort(c->ids, n, sizeof(*c->ids), id_cmp);
    return 0;
}

static void client_free(cache_hub_client *c)
{
    for (size_t i = 0; i < c->count; i++)
        event_release(c->q[(c->head + i) % c->hub->cfg.queue_max]);
    free(c->q);
    free(c->ids);
    free(c->idtext);
    free(c->pre);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

cache_hub_client *cache_hub_open(cache_hub *h, const cache_id *ids, size_t n, gg_aspect aspect,
                                 bool *full)
{
    *full = false;
    cache_hub_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->hub = h;
    c->aspect = aspect;
    pthread_mutex_init(&c->lock, NULL);
    c->q = calloc(h->cfg.queue_max, sizeof(*c->q));
    if (!c->q || (n && copy_ids(c, ids, n) != 0)) {
        client_free(c);
        return NULL;
    }
    c->last_ms = gg_time_mono_ms();
    pthread_mutex_lock(&h->lock);
    if (h->nclients >= h->cfg.max_streams || h->stopping) {
        pthread_mutex_unlock(&h->lock);
        client_free(c);
        *full = true;
        if (h->m.refused)
            gg_counter_add(h->m.refused, 1);
        return NULL;
    }
    c->next = h->clients;
    if (h->clients)
        h->clients->prev = c;
    h->clients = c;
    h->nclients++;
    if (h->m.open)
        gg_gauge_set(h->m.open, (double)h->nclients);
    pthread_mutex_unlock(&h->lock);
    return c;
}

void cache_hub_attach(cache_hub_client *c, const cache_hub_sink *sink)
{
    pthread_mutex_lock(&c->lock);
    c->sink = *sink;
    c->attached = true;
    if (c->ended)
        c->sink.end(c->sink.sink, false);
    else if (c->count || c->pre)
        c->sink.wake(c->sink.sink);
    pthread_mutex_unlock(&c->lock);
}

void cache_hub_close(cache_hub_client *c)
{
    cache_hub *h = c->hub;
    pthread_mutex_lock(&h->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nclients--;
    if (h->m.open)
        gg_gauge_set(h->m.open, (double)h->nclients);
    pthread_mutex_unlock(&h->lock);
    client_free(c); /* unlinked under the hub lock: no publisher can reach it now */
}

size_t cache_hub_streams(cache_hub *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = h->nclients;
    pthread_mutex_unlock(&h->lock);
    return n;
}

/* ---- the queue ------------------------------------------------------------------------------ */

static void drop_queue(cache_hub_client *c)
{
    for (size_t i = 0; i < c->count; i++)
        event_release(c->q[(c->head + i) % c->hub->cfg.queue_max]);
    c->head = c->count = c->off = 0;
    free(c->pre);
    c->pre = NULL;
}

static bool held_by(const cache_event *e, const cache_hub_floor *floors, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (floors[i].aspect == e->aspect && e->us <= floors[i].created_at_us &&
            strcmp(floors[i].station, e->station) == 0)
            return true;
    return false;
}

void cache_hub_preface(cache_hub_client *c, char *text, size_t len, const cache_hub_floor *floors,
                       size_t n)
{
    pthread_mutex_lock(&c->lock);
    if (c->ended) {
        pthread_mutex_unlock(&c->lock);
        free(text);
        return;
    }
    free(c->pre);
    c->pre = text;
    c->prelen = len;
    c->preoff = 0;
    /* Keep the queued events the replay does not hold, in order. The head event is whole: no
     * read can have started before the preface exists (it is set before the sink). */
    size_t qmax = c->hub->cfg.queue_max, kept = 0;
    for (size_t i = 0; i < c->count; i++) {
        cache_event *e = c->q[(c->head + i) % qmax];
        if (held_by(e, floors, n))
            event_release(e);
        else
            c->q[(c->head + kept++) % qmax] = e;
    }
    c->count = kept;
    if (c->attached)
        c->sink.wake(c->sink.sink);
    pthread_mutex_unlock(&c->lock);
}

static size_t copy_part(char *buf, size_t max, size_t n, const char *src, size_t srclen,
                        size_t *off)
{
    size_t k = srclen - *off;
    if (k > max - n)
        k = max - n;
    memcpy(buf + n, src + *off, k);
    *off += k;
    return k;
}

size_t cache_hub_read(cache_hub_client *c, char *buf, size_t max)
{
    pthread_mutex_lock(&c->lock);
    if (c->ended) {
        pthread_mutex_unlock(&c->lock);
        return HUB_END;
    }
    size_t n = 0;
    if (c->pre) {
        n += copy_part(buf, max, n, c->pre, c->prelen, &c->preoff);
        if (c->preoff == c->prelen) {
            free(c->pre);
            c->pre = NULL;
        }
    }
    /* A heartbeat only between events, never inside one. */
    if (c->beat && !c->pre && c->off == 0 && max - n >= sizeof(HEARTBEAT_TXT) - 1) {
        memcpy(buf + n, HEARTBEAT_TXT, sizeof(HEARTBEAT_TXT) - 1);
        n += sizeof(HEARTBEAT_TXT) - 1;
        c->beat = false;
    }
    size_t qmax = c->hub->cfg.queue_max;
    while (!c->pre && c->count && n < max) {
        cache_event *e = c->q[c->head];
        n += copy_part(buf, max, n, e->text, e->len, &c->off);
        if (c->off < e->len)
            break;
        event_release(e);
        c->q[c->head] = NULL;
        c->head = (c->head + 1) % qmax;
        c->count--;
        c->off = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* ---- publishing ----------------------------------------------------------------------------- */

size_t cache_hub_format(const char *doc, size_t doclen, char *buf, size_t len)
{
    cache_doc_info info;
    if (cache_doc_parse(doc, doclen, &info) != 0)
        return 0;
    int w =
        snprintf(buf, len, "id: %" PRId64 "\ndata: %.*s\n\n", info.created_at_us, (int)doclen, doc);
    return w > 0 && (size_t)w < len ? (size_t)w : 0;
}

static bool follows(const cache_hub_client *c, const char *station, size_t len)
{
    if (!c->ids)
        return true;
    cache_id key = {station, len};
    return bsearch(&key, c->ids, c->nids, sizeof(*c->ids), id_cmp) != NULL;
}

/* Queues e on c (locked); cuts c when its queue is full. True when c's sink is to be woken,
 * which the caller does after releasing c's lock (still under the hub lock, so c stays). */
static bool enqueue(cache_hub *h, cache_hub_client *c, cache_event *e, int64_t now, int *queued)
{
    if (c->ended)
        return false;
    if (c->count == h->cfg.queue_max) {
        drop_queue(c);
        c->ended = true;
        if (h->m.cut)
            gg_counter_add(h->m.cut, 1);
        if (c->attached)
            c->sink.end(c->sink.sink, true);
        return false;
    }
    atomic_fetch_add(&e->refs, 1);
    c->q[(c->head + c->count) % h->cfg.queue_max] = e;
    c->count++;
    c->last_ms = now;
    (*queued)++;
    return c->attached;
}

int cache_hub_publish(cache_hub *h, const char *doc, size_t len)
{
    cache_doc_info info;
    if (cache_doc_parse(doc, len, &info) != 0)
        return -1;
    return cache_hub_publish_parsed(h, doc, len, &info);
}

int cache_hub_publish_parsed(cache_hub *h, const char *doc, size_t len, const cache_doc_info *info)
{
    size_t cap = len + 64;
    cache_event *e = malloc(sizeof(*e) + cap);
    if (!e)
        return -1;
    atomic_init(&e->refs, 1);
    e->aspect = info->aspect;
    e->us = info->created_at_us;
    memcpy(e->station, info->station_id, sizeof(e->station));
    e->len = cache_hub_format(doc, len, e->text, cap);
    size_t slen = strlen(e->station);
    int64_t now = gg_time_mono_ms();
    int queued = 0;
    pthread_mutex_lock(&h->lock);
    for (cache_hub_client *c = h->clients; c && e->len; c = c->next) {
        if (c->aspect != e->aspect || !follows(c, e->station, slen))
            continue;
        pthread_mutex_lock(&c->lock);
        bool wake = enqueue(h, c, e, now, &queued);
        pthread_mutex_unlock(&c->lock);
        /* Outside c's lock: an HTTP thread reading c never waits for the wake-up. The sink is
         * fixed once attached, and c cannot close while the hub lock is held. */
        if (wake)
            c->sink.wake(c->sink.sink);
    }
    pthread_mutex_unlock(&h->lock);
    if (queued && h->m.events)
        gg_counter_add(h->m.events, (uint64_t)queued);
    event_release(e);
    return queued;
}

void cache_hub_end_all(cache_hub *h)
{
    pthread_mutex_lock(&h->lock);
    for (cache_hub_client *c = h->clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        if (!c->ended) {
            drop_queue(c);
            c->ended = true;
            if (c->attached)
                c->sink.end(c->sink.sink, false);
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&h->lock);
}

void cache_hub_beat(cache_hub *h, int64_t now_ms)
{
    pthread_mutex_lock(&h->lock);
    for (cache_hub_client *c = h->clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        if (!c->ended && c->attached && now_ms - c->last_ms >= h->cfg.heartbeat_ms) {
            c->beat = true;
            c->last_ms = now_ms;
            c->sink.wake(c->sink.sink);
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&h->lock);
}
