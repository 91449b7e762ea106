/* analytics_store_impl: the store's in-memory index, shared by the files that implement
 * analytics_store.h (analytics_store.c: jobs, records; analytics_store_page.c: the list's pages).
 * Not for other modules: they go through analytics_store.h. */
#ifndef ANALYTICS_STORE_IMPL_H
#define ANALYTICS_STORE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "analytics_store.h"

#define ANALYTICS_STORE_NEG_SLOTS 64      /* ids recently looked for in HDFS and missing */
#define ANALYTICS_STORE_CLASSES   (2 * 5) /* kinds x states */
#define ANALYTICS_STORE_ACTIVE    (-1) /* analytics_store_entry.cls of a job in the active list */

/* A job in id order. A job is either in the active list (cls ANALYTICS_STORE_ACTIVE) or settled:
 * finished, its record written, counted in settled[cls] by the kind and state it had when it
 * settled. */
typedef struct analytics_store_entry {
    analytics_job *job;
    int cls;
} analytics_store_entry;

struct analytics_store {
    const analytics_backend *b;
    char *jobs_dir;
    gg_log *log;
    pthread_mutex_t lock;
    pthread_mutex_t save_lock;   /* one record write at a time: an older copy never wins */
    analytics_store_entry *jobs; /* oldest first: id order is creation order */
    size_t count, cap;
    analytics_job **index; /* open addressing by id (linear probing), 2 x cap slots */
    size_t index_cap;
    analytics_job **active; /* the jobs the tracker follows (analytics_store_active) */
    size_t nactive, active_cap;
    size_t settled[ANALYTICS_STORE_CLASSES]; /* settled jobs by kind and state: the list's totals */
    bool loaded;
    size_t recordless; /* job directories without a readable record at the last listing */
    uint64_t visits;   /* jobs handed out to walks (analytics_store_visits) */
    struct {
        char id[32];
        int64_t until_ms;
    } neg[ANALYTICS_STORE_NEG_SLOTS];
    size_t neg_next;
};

/* The first position whose id is not below id (s->count when none). */
size_t analytics_store_lower_bound(const analytics_store *s, const char *id);

#endif
