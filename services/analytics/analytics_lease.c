/* analytics_lease: one tracking replica per unfinished job (see analytics_lease.h). */
#include "analytics_lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_validate.h"
#include "analytics_webhdfs.h"

#define RENEW_BATCH 64

static void owner_path(analytics_ctx *ctx, const char *id, int n, char *out, size_t outlen)
{
    char suffix[32];
    snprintf(suffix, sizeof(suffix), "/owner.%d", n);
    analytics_store_path(ctx->store, id, suffix, out, outlen);
}

/* Tries owner.<n>: 0 taken (the job is this replica's), 1 someone else has it, -1 error. */
static int claim(analytics_ctx *ctx, const char *id, int n, analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    owner_path(ctx, id, n, path, sizeof(path));
    const char *me = ctx->replica;
    int rc = analytics_webhdfs_create_new(&ctx->backend, path, me, strlen(me), e);
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    if (j && rc >= 0) {
        j->owned = rc == 0;
        j->owner_n = n;
        j->owner_mtime = 0;
        j->owner_seen_ms = gg_time_mono_ms();
        j->renew_ms = j->owner_seen_ms + ctx->cfg.lease_ms / 3;
    }
    analytics_store_unlock(ctx->store);
    return rc;
}

int analytics_lease_record_new(analytics_ctx *ctx, const char *id, bool reserved, analytics_err *e)
{
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    bool todo = j && j->unrecorded && (reserved || !j->recording);
    if (todo)
        j->recording = true;
    if (!todo && j && reserved)
        j->recording = false;
    analytics_store_unlock(ctx->store);
    if (!todo)
        return 0;
    int rc = claim(ctx, id, 1, e);
    bool won = rc == 0;
    /* Lost (1): another replica recovered the job first and writes its record; this one follows
     * it as any job it does not hold. */
    if (won && analytics_store_save(ctx->store, id, e) != 0)
        gg_warn(&ctx->svc.log, "cannot write job record yet, will retry", "{s:s, s:s}", "job", id,
                "error", e->msg);
    analytics_store_lock(ctx->store);
    j = analytics_store_find(ctx->store, id);
    if (j) {
        j->recording = false;
        if (rc >= 0) { /* a record that failed stays dirty: the tracker writes it again */
            j->unrecorded = false;
            j->next_poll_ms = gg_time_mono_ms();
        }
    }
    analytics_store_unlock(ctx->store);
    return rc < 0 ? -1 : 0;
}

/* Renews one lease; gives the job up when a later owner file exists. */
static int renew(analytics_ctx *ctx, const char *id, int n, analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    owner_path(ctx, id, n, path, sizeof(path));
    if (analytics_webhdfs_touch(&ctx->backend, path, gg_time_wall_ms(), e) != 0)
        return -1;
    owner_path(ctx, id, n + 1, path, sizeof(path));
    analytics_hdfs_entry next;
    analytics_err e2 = {0};
    bool lost = analytics_webhdfs_stat(&ctx->backend, path, &next, &e2) == 0;
    if (!lost && e2.kind != AE_NOT_FOUND) {
        *e = e2;
        return -1;
    }
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    if (j && j->owner_n == n) {
        j->owned = !lost;
        if (lost) {
            j->owner_n = n + 1;
            j->owner_mtime = next.mtime;
            j->owner_seen_ms = gg_time_mono_ms();
        }
    }
    analytics_store_unlock(ctx->store);
    if (lost)
        gg_warn(&ctx->svc.log, "job taken over by another replica", "{s:s}", "job", id);
    return 0;
}

int64_t analytics_lease_renew_due(analytics_ctx *ctx, int64_t now)
{
    char ids[RENEW_BATCH][32];
    int ns[RENEW_BATCH];
    size_t n = 0;
    int64_t soonest = INT64_MAX, period = ctx->cfg.lease_ms / 3;
    analytics_job *const *jobs;
    analytics_store_lock(ctx->store);
    size_t count = analytics_store_active(ctx->store, &jobs);
    for (size_t i = 0; i < count; i++) {
        analytics_job *j = jobs[i];
        if (!j->owned || (analytics_job_terminal(j->state) && !j->dirty))
            continue;
        if (j->renew_ms <= now && n < RENEW_BATCH) {
            snprintf(ids[n], sizeof(ids[0]), "%s", j->id);
            ns[n++] = j->owner_n;
            j->renew_ms = now + period;
        } else if (j->renew_ms < soonest) {
            soonest = j->renew_ms;
        }
    }
    analytics_store_unlock(ctx->store);
    for (size_t i = 0; i < n; i++) {
        analytics_err e = {0};
        if (renew(ctx, ids[i], ns[i], &e) != 0)
            gg_warn(&ctx->svc.log, "cannot renew job lease", "{s:s, s:s}", "job", ids[i], "error",
                    e.msg);
    }
    return n ? now + period : soonest;
}

/* The highest owner.<n> and job.json's modification time in a job's directory listing. */
static void scan(const analytics_hdfs_list *list, int *n, int64_t *mtime, int64_t *record_mtime)
{
    *n = 0;
    *mtime = 0;
    *record_mtime = 0;
    for (size_t i = 0; i < list->count; i++) {
        const analytics_hdfs_entry *x = &list->items[i];
        char *end = NULL;
        if (strcmp(x->name, "job.json") == 0)
            *record_mtime = x->mtime;
        if (strncmp(x->name, "owner.", 6) != 0)
            continue;
        long v = strtol(x->name + 6, &end, 10);
        if (end && !*end && v > *n && v < 1000000) {
            *n = (int)v;
            *mtime = x->mtime;
        }
    }
}

int analytics_lease_check(analytics_ctx *ctx, const char *id, analytics_err *e)
{
    char dir[ANALYTICS_PATH_MAX + 64];
    analytics_store_path(ctx->store, id, NULL, dir, sizeof(dir));
    analytics_hdfs_list list;
    if (analytics_webhdfs_list(&ctx->backend, dir, &list, e) != 0) {
        if (e->kind != AE_NOT_FOUND)
            return -1;
        /* Its submission failed on the other replica, which dropped it. */
        analytics_store_lock(ctx->store);
        analytics_job *j = analytics_store_find(ctx->store, id);
        if (j && !j->owned && !j->submitting)
            analytics_store_remove(ctx->store, id);
        analytics_store_unlock(ctx->store);
        return 0;
    }
    int n;
    int64_t mtime, record_mtime;
    scan(&list, &n, &mtime, &record_mtime);
    analytics_hdfs_list_free(&list);
    int64_t now = gg_time_mono_ms();
    bool reread = false, expired = false;
    analytics_store_lock(ctx->store);
    analytics_job *j = analytics_store_find(ctx->store, id);
    if (j && !j->owned) {
        reread = record_mtime != j->record_mtime;
        if (n != j->owner_n || mtime != j->owner_mtime || !j->owner_seen_ms) {
            j->owner_n = n;
            j->owner_mtime = mtime;
            j->owner_seen_ms = now;
        }
        expired = now - j->owner_seen_ms >= ctx->cfg.lease_ms;
    }
    analytics_store_unlock(ctx->store);
    if (reread && analytics_store_refresh(ctx->store, id, record_mtime, e) != 0)
        return -1;
    analytics_store_lock(ctx->store);
    j = analytics_store_find(ctx->store, id);
    expired = expired && j && !j->owned && !analytics_job_terminal(j->state);
    analytics_store_unlock(ctx->store);
    if (!expired)
        return 0;
    int rc = claim(ctx, id, n + 1, e);
    if (rc == 0) {
        analytics_store_lock(ctx->store);
        j = analytics_store_find(ctx->store, id);
        if (j)
            j->next_poll_ms = now; /* poll WebHCat at once */
        analytics_store_unlock(ctx->store);
        gg_info(&ctx->svc.log, "job taken over", "{s:s, s:i}", "job", id, "owner", n + 1);
    }
    return rc < 0 ? -1 : 0;
}

uint32_t analytics_lease_check_delay(const analytics_ctx *ctx, bool waited)
{
    uint32_t d = (uint32_t)ctx->cfg.lease_ms / 3;
    return waited && d > 250 ? 250 : d;
}
