/* cache_admit: the station cap (see cache_admit.h). */
#include "cache_admit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stations this writer saw admitted: an open-addressing set of copied ids. It never holds
 * more than the cap plus one batch, so it needs no eviction. */
struct cache_admit {
    long max;
    char **slots;
    size_t cap, used;
};

cache_admit *cache_admit_new(long max_stations)
{
    cache_admit *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->max = max_stations;
    return a;
}

void cache_admit_free(cache_admit *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->cap; i++)
        free(a->slots[i]);
    free(a->slots);
    free(a);
}

size_t cache_admit_known(const cache_admit *a)
{
    return a->used;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of s, or the empty one where it would go. */
static size_t slot_of(char **slots, size_t cap, const char *s)
{
    size_t i = (size_t)hash(s) & (cap - 1);
    while (slots[i] && strcmp(slots[i], s) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static bool known(const cache_admit *a, const char *s)
{
    return a->cap && a->slots[slot_of(a->slots, a->cap, s)];
}

static int grow(cache_admit *a)
{
    size_t cap = a->cap ? a->cap * 2 : 1024;
    char **slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < a->cap; i++)
        if (a->slots[i])
            slots[slot_of(slots, cap, a->slots[i])] = a->slots[i];
    free(a->slots);
    a->slots = slots;
    a->cap = cap;
    return 0;
}

/* Remembers s; forgetting on a failed allocation only costs a check next time. */
static void remember(cache_admit *a, const char *s)
{
    if ((a->used + 1) * 2 > a->cap && grow(a) != 0)
        return;
    size_t i = slot_of(a->slots, a->cap, s);
    if (!a->slots[i] && (a->slots[i] = strdup(s)))
        a->used++;
}

/* Adds s to a batch's open-addressing table of ids (cap a power of two above the batch size);
 * true when it was not there yet. A table rather than a scan of the batch so far: a producer
 * inventing ids makes every id of every batch unknown. */
static bool batch_first(const char **seen, size_t cap, const char *s)
{
    size_t i = (size_t)hash(s) & (cap - 1);
    while (seen[i] && strcmp(seen[i], s) != 0)
        i = (i + 1) & (cap - 1);
    if (seen[i])
        return false;
    seen[i] = s;
    return true;
}

static int read_integer(redisContext *c, long long *out, char *err, size_t errlen)
{
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK) {
        snprintf(err, errlen, "%s", c->errstr);
        return -1;
    }
    int ok = r->type == REDIS_REPLY_INTEGER;
    if (ok)
        *out = r->integer;
    else
        snprintf(err, errlen, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

long cache_admit_check(cache_admit *a, redisContext *c, const char *index_key,
                       const char *const *stations, size_t n, bool *refused, char *err,
                       size_t errlen)
{
    memset(refused, 0, n * sizeof(*refused));
    if (a->max <= 0)
        return 0;
    size_t asked = 0, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    bool *ask = calloc(n ? n : 1, sizeof(*ask));
    long long *member = calloc(n ? n : 1, sizeof(*member));
    const char **seen = calloc(cap, sizeof(*seen));
    if (!ask || !member || !seen) {
        free(ask);
        free(member);
        free(seen);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((ask[i] = !known(a, stations[i]) && batch_first(seen, cap, stations[i]))) {
            redisAppendCommand(c, "SISMEMBER %s %s", index_key, stations[i]);
            asked++;
        }
    }
    long long count = 0;
    int rc = 0;
    if (asked) {
        redisAppendCommand(c, "SCARD %s", index_key);
        for (size_t i = 0; i < n && rc == 0; i++)
            if (ask[i])
                rc = read_integer(c, &member[i], err, errlen);
        if (rc == 0)
            rc = read_integer(c, &count, err, errlen);
    }
    long nrefused = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (ask[i] && (member[i] || count < a->max)) {
            count += member[i] ? 0 : 1;
            remember(a, stations[i]);
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        refused[i] = !known(a, stations[i]);
        nrefused += refused[i] ? 1 : 0;
    }
    free(ask);
    free(member);
    free(seen);
    return rc == 0 ? nrefused : -1;
}
