/* analytics_store_page: the list's pages over the store's index (see analytics_store.h). */
#include <stdlib.h>
#include <string.h>

#include "analytics_store_impl.h"

static bool class_matches(const analytics_store_filter *f, int kind, int state)
{
    return (f->state < 0 || state == f->state) && (f->kind < 0 || kind == f->kind) &&
           (f->queries || kind != AJ_QUERY);
}

static bool matches(const analytics_store_filter *f, const analytics_job *j)
{
    return !j->submitting && class_matches(f, (int)j->kind, (int)j->state);
}

static int newest_first(const void *a, const void *b)
{
    return strcmp((*(analytics_job *const *)b)->id, (*(analytics_job *const *)a)->id);
}

/* Unfinished states: every such job is active, so the active list (sorted) is walked instead of
 * every job. NULL (walk them all) when out of memory. */
static analytics_job **unfinished_older(analytics_store *s, const analytics_store_filter *f,
                                        const char *cursor, size_t *n)
{
    analytics_job **v = malloc((s->nactive ? s->nactive : 1) * sizeof(*v));
    *n = 0;
    for (size_t i = 0; v && i < s->nactive; i++)
        if (matches(f, s->active[i]) && (!cursor || strcmp(s->active[i]->id, cursor) < 0))
            v[(*n)++] = s->active[i];
    if (v)
        qsort(v, *n, sizeof(*v), newest_first);
    s->visits += s->nactive;
    return v;
}

size_t analytics_store_page(analytics_store *s, const analytics_store_filter *f, const char *cursor,
                            size_t offset, size_t n, analytics_job **out, size_t *total, bool *more)
{
    analytics_job *const *unused;
    analytics_store_active(s, &unused); /* settles what finished: the counts are then exact */
    *total = 0;
    for (int c = 0; c < ANALYTICS_STORE_CLASSES; c++)
        if (class_matches(f, c / 5, c % 5))
            *total += s->settled[c];
    for (size_t i = 0; i < s->nactive; i++)
        *total += matches(f, s->active[i]);
    size_t got = 0, skipped = 0, pool_n = 0;
    analytics_job **pool = NULL;
    if (f->state >= 0 && !analytics_job_terminal((analytics_job_state)f->state))
        pool = unfinished_older(s, f, cursor, &pool_n);
    /* Newest first from the cursor on: a page costs its jobs and those the filter passes over. */
    size_t i = pool ? 0 : cursor ? analytics_store_lower_bound(s, cursor) : s->count;
    *more = false;
    for (;;) {
        analytics_job *j;
        if (pool) {
            if (i == pool_n)
                break;
            j = pool[i++];
        } else {
            if (i == 0)
                break;
            j = s->jobs[--i].job;
            s->visits++;
        }
        if (!matches(f, j) || skipped++ < offset)
            continue;
        if (got == n) {
            *more = true;
            break;
        }
        out[got++] = j;
    }
    free(pool);
    return got;
}
