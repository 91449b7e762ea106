/* analytics_tracker: following unfinished jobs and answering parked requests (see
 * analytics_tracker.h). */
#include "analytics_tracker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_api.h"
#include "analytics_finish.h"
#include "analytics_kill.h"
#include "analytics_lease.h"
#include "analytics_recover.h"
#include "analytics_webhcat.h"
#include "gg_backoff.h"

/* Every status call costs WebHCat several YARN and job-store round trips, and a YARN job takes
 * seconds to start: polls begin at half a second and grow to the configured interval. */
#define FIRST_POLL_MS  500
#define WAITED_POLL_MS 1000 /* poll at least this often while someone waits for the job */
#define FAILED_POLL_X  8    /* a job whose status call failed: up to 8 intervals between tries */
#define KILL_RESEND_X  10   /* a kill not seen in the status after 10 intervals is sent again */
#define POLL_BATCH     64   /* jobs polled per pass before parked requests get a look */
#define RECOVER_X      10 /* record-less job directories: WebHCat's list at most every 10 leases */

typedef struct parked {
    gg_http_req *req;
    char id[32];
    int64_t deadline_ms;
    analytics_page page;
    unsigned how;
    struct parked *next;
} parked;

struct analytics_tracker {
    analytics_ctx *ctx;
    pthread_t thread;
    pthread_mutex_t lock; /* taken before the store's lock, never after */
    pthread_cond_t cond;
    bool running, stopping, woken;
    parked *parked;
    size_t nparked;
    gg_backoff load_backoff, webhcat_backoff, save_backoff, recover_backoff;
    int64_t load_at, webhcat_at, save_at, recover_at; /* monotonic: no attempt before */
    bool recovered;                                   /* WebHCat's list was read once */
    int64_t sweep_at;                                 /* next listing of the jobs directory */
    bool expiring;                                    /* retention has more jobs to remove */
    analytics_killer *killer;                         /* sends the DELETEs sent again */
};

analytics_tracker *analytics_tracker_new(analytics_ctx *ctx)
{
    analytics_tracker *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ctx = ctx;
    if (!(t->killer = analytics_killer_new(ctx))) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    gg_time_cond_init(&t->cond);
    uint32_t cap = (uint32_t)ctx->cfg.poll_interval_ms * 4;
    gg_backoff_init(&t->load_backoff, 100, cap);
    gg_backoff_init(&t->webhcat_backoff, 100, cap);
    gg_backoff_init(&t->save_backoff, 100, cap);
    gg_backoff_init(&t->recover_backoff, 100, cap);
    return t;
}

void analytics_tracker_wake(analytics_tracker *t)
{
    pthread_mutex_lock(&t->lock);
    t->woken = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

bool analytics_tracker_park(analytics_tracker *t, gg_http_req *req, const char *id,
                            int64_t deadline_ms, const analytics_page *page, unsigned how)
{
    parked *p = calloc(1, sizeof(*p));
    if (!p)
        return false;
    p->req = req;
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->deadline_ms = deadline_ms;
    p->page = *page;
    p->how = how;
    pthread_mutex_lock(&t->lock);
    bool ok = !t->stopping && t->nparked < ANALYTICS_MAX_PARKED;
    if (ok) {
        p->next = t->parked;
        t->parked = p;
        t->nparked++;
        t->woken = true;
        pthread_cond_signal(&t->cond);
    }
    pthread_mutex_unlock(&t->lock);
    if (!ok)
        free(p);
    return ok;
}

static bool someone_waits(analytics_tracker *t, const char *id)
{
    pthread_mutex_lock(&t->lock);
    bool found = false;
    for (parked *p = t->parked; p && !found; p = p->next)
        found = strcmp(p->id, id) == 0;
    pthread_mutex_unlock(&t->lock);
    return found;
}

/* Takes the parked requests that are due (job ended, time up, or all when stopping) off the
 * list and answers them; returns the earliest deadline left. */
static int64_t answer_parked(analytics_tracker *t, int64_t now, bool all)
{
    parked *due = NULL;
    int64_t soonest = INT64_MAX;
    pthread_mutex_lock(&t->lock);
    analytics_store_lock(t->ctx->store);
    for (parked **pp = &t->parked; *pp;) {
        parked *p = *pp;
        analytics_job *j = analytics_store_find(t->ctx->store, p->id);
        if (all || !j || analytics_job_terminal(j->state) || p->deadline_ms <= now) {
            *pp = p->next;
            p->next = due;
            due = p;
            t->nparked--;
        } else {
            soonest = p->deadline_ms < soonest ? p->deadline_ms : soonest;
            pp = &p->next;
        }
    }
    analytics_store_unlock(t->ctx->store);
    gg_gauge_set(t->ctx->m.waiting, (double)t->nparked);
    pthread_mutex_unlock(&t->lock);
    while (due) {
        parked *p = due;
        due = p->next;
        /* The reply also wakes the request: p->req is gone once it returns. */
        analytics_api_answer_job(t->ctx, p->req, p->id, &p->page, p->how);
        free(p);
    }
    return soonest;
}

static int64_t recover(analytics_tracker *t, int64_t now);

static int64_t try_load(analytics_tracker *t, int64_t now)
{
    if (now < t->load_at)
        return t->load_at;
    analytics_err e = {0};
    if (analytics_store_load(t->ctx->store, &e) == 0) {
        gg_backoff_reset(&t->load_backoff);
        /* One look at WebHCat's list before the jobs are shown, so that a job this service
         * answered just before it died is listed from the start. A WebHCat that does not answer
         * delays nothing more: the tracker looks again with backoff. */
        recover(t, now);
        analytics_store_set_loaded(t->ctx->store);
        gg_health_report(t->ctx->jobs_dep, true, NULL);
        t->sweep_at = now + t->ctx->cfg.lease_ms;
        return now;
    }
    if (t->load_backoff.attempt == 0)
        gg_warn(&t->ctx->svc.log, "cannot load job records yet, retrying", "{s:s, s:s}", "jobs_dir",
                t->ctx->jobs_dir, "error", e.msg);
    t->load_at = now + gg_backoff_next(&t->load_backoff);
    return t->load_at;
}

/* The next delay between two polls of a job: growing from FIRST_POLL_MS to the configured
 * interval, shorter while a request waits for it. */
static uint32_t next_delay(analytics_tracker *t, uint32_t delay, bool waited)
{
    uint32_t cap = (uint32_t)t->ctx->cfg.poll_interval_ms;
    uint32_t next = delay ? delay + delay / 2 : FIRST_POLL_MS;
    if (next > cap)
        next = cap;
    if (waited && next > WAITED_POLL_MS)
        next = WAITED_POLL_MS;
    return next;
}

static void reschedule(analytics_tracker *t, const char *id, const analytics_remote_state *rs,
                       bool waited)
{
    bool changed = false;
    analytics_store_lock(t->ctx->store);
    analytics_job *j = analytics_store_find(t->ctx->store, id);
    if (j) {
        if (rs && (j->state != rs->state || (rs->started_ms && !j->started_ms))) {
            j->state = rs->state;
            if (rs->started_ms)
                j->started_ms = rs->started_ms;
            analytics_job_touch(j);
            changed = true;
        }
        if (rs && rs->progress >= 0)
            j->progress = rs->progress;
        j->poll_delay_ms = next_delay(t, j->poll_delay_ms, waited);
        j->next_poll_ms = gg_time_mono_ms() + j->poll_delay_ms;
    }
    analytics_store_unlock(t->ctx->store);
    if (changed) {
        analytics_err e = {0};
        analytics_store_save(t->ctx->store, id, &e); /* a failure leaves it dirty: retried */
    }
}

/* A job another replica tracks: follow its record, take it over when its lease lapses. */
static int check_foreign(analytics_tracker *t, const char *id, bool waited)
{
    analytics_err e = {0};
    int rc = analytics_lease_check(t->ctx, id, &e);
    bool owned = false;
    analytics_store_lock(t->ctx->store);
    analytics_job *j = analytics_store_find(t->ctx->store, id);
    if (j && !(owned = j->owned)) {
        j->poll_delay_ms = analytics_lease_check_delay(t->ctx, waited);
        j->next_poll_ms = gg_time_mono_ms() + j->poll_delay_ms;
    }
    analytics_store_unlock(t->ctx->store);
    if (owned)
        reschedule(t, id, NULL, waited);
    return rc != 0 && e.kind == AE_UNREACHABLE ? -1 : 0;
}

/* The status call for a job failed without saying it is gone: a proxy's answer, a 500, a status
 * WebHCat could not fetch. The job stays as it is and is asked about less and less often. */
static void back_off_job(analytics_tracker *t, const char *id)
{
    uint32_t cap = (uint32_t)t->ctx->cfg.poll_interval_ms * FAILED_POLL_X;
    analytics_store_lock(t->ctx->store);
    analytics_job *j = analytics_store_find(t->ctx->store, id);
    if (j) {
        uint32_t next = j->poll_delay_ms ? j->poll_delay_ms * 2 : FIRST_POLL_MS;
        j->poll_delay_ms = next > cap ? cap : next;
        j->next_poll_ms = gg_time_mono_ms() + j->poll_delay_ms;
    }
    analytics_store_unlock(t->ctx->store);
}

/* A kill was requested and the job still runs: the DELETE was lost, failed or has not taken
 * effect yet. It is sent again once in a while (also after a restart), never forgotten; by the
 * killer's threads, as it may take seconds to answer (analytics_kill.h). */
static void resend_kill(analytics_tracker *t, const char *id, const char *wid)
{
    int64_t now = gg_time_mono_ms();
    bool due = false;
    analytics_store_lock(t->ctx->store);
    analytics_job *j = analytics_store_find(t->ctx->store, id);
    if (j && j->kill_requested &&
        (!j->kill_sent_ms ||
         now - j->kill_sent_ms >= t->ctx->cfg.poll_interval_ms * KILL_RESEND_X)) {
        j->kill_sent_ms = now;
        due = true;
    }
    analytics_store_unlock(t->ctx->store);
    if (due)
        analytics_killer_send(t->killer, id, wid); /* when it cannot, it is due again later */
}

/* Polls one job. Returns -1 when WebHCat did not answer (the pass stops and backs off). */
static int poll_one(analytics_tracker *t, const char *id)
{
    char wid[96];
    analytics_store_lock(t->ctx->store);
    analytics_job *j = analytics_store_find(t->ctx->store, id);
    bool skip = !j || j->submitting || j->unrecorded || analytics_job_terminal(j->state);
    bool owned = j && j->owned;
    snprintf(wid, sizeof(wid), "%s", j ? j->webhcat_id : "");
    analytics_store_unlock(t->ctx->store);
    if (skip)
        return 0;
    bool waited = someone_waits(t, id);
    analytics_err e = {0};
    if (!owned)
        return check_foreign(t, id, waited);
    if (!wid[0]) {
        int rc = analytics_finish_recover(t->ctx, id, &e);
        if (rc != 0)
            reschedule(t, id, NULL, waited);
        return rc != 0 && e.kind == AE_UNREACHABLE ? -1 : 0;
    }
    json_t *answer = NULL;
    if (analytics_webhcat_job(&t->ctx->backend, wid, &answer, &e) != 0) {
        if (e.kind != AE_NOT_FOUND) {
            back_off_job(t, id);
            return e.kind == AE_UNREACHABLE ? -1 : 0;
        }
        int rc = analytics_finish_orphan(t->ctx, id, &e);
        if (rc != 0)
            reschedule(t, id, NULL, waited);
        return rc != 0 && e.kind == AE_UNREACHABLE ? -1 : 0;
    }
    analytics_remote_state rs;
    int mapped = analytics_job_map_remote(answer, &rs);
    json_decref(answer);
    if (mapped != 0) {
        gg_warn(&t->ctx->svc.log, "WebHCat job status without a state", "{s:s, s:s}", "job", id,
                "webhcat_job", wid);
        reschedule(t, id, NULL, waited);
    } else if (!analytics_job_terminal(rs.state)) {
        reschedule(t, id, &rs, waited);
        resend_kill(t, id, wid);
    } else if (analytics_finish_job(t->ctx, id, &rs, &e) != 0) {
        reschedule(t, id, NULL, waited); /* outputs unreadable for now: try again later */
    }
    return 0;
}

/* Polls the jobs that are due; returns when the next one is. */
static int64_t poll_jobs(analytics_tracker *t, int64_t now)
{
    if (now < t->webhcat_at)
        return t->webhcat_at;
    char ids[POLL_BATCH][32];
    size_t n = 0;
    int64_t soonest = INT64_MAX;
    double active = 0;
    analytics_job *const *jobs;
    analytics_store_lock(t->ctx->store);
    size_t count = analytics_store_active(t->ctx->store, &jobs);
    for (size_t i = 0; i < count; i++) {
        analytics_job *j = jobs[i];
        if (analytics_job_terminal(j->state))
            continue;
        active++;
        if (j->submitting)
            continue;
        if (j->next_poll_ms <= now && n < POLL_BATCH)
            snprintf(ids[n++], sizeof(ids[0]), "%s", j->id);
        else if (j->next_poll_ms < soonest)
            soonest = j->next_poll_ms;
    }
    analytics_store_unlock(t->ctx->store);
    gg_gauge_set(t->ctx->m.active, active);
    for (size_t i = 0; i < n; i++) {
        if (poll_one(t, ids[i]) != 0) {
            t->webhcat_at = gg_time_mono_ms() + gg_backoff_next(&t->webhcat_backoff);
            return t->webhcat_at;
        }
        gg_backoff_reset(&t->webhcat_backoff);
    }
    return n ? gg_time_mono_ms() : soonest; /* after a pass, look again for the next one */
}

/* Writes records whose earlier write failed, and takes the lease and writes the first record of
 * jobs WebHCat has that this replica has not recorded (a write after the answer that failed, or
 * a job found again in WebHCat's list). */
static int64_t save_dirty(analytics_tracker *t, int64_t now)
{
    if (now < t->save_at)
        return t->save_at;
    char ids[POLL_BATCH][32];
    bool fresh[POLL_BATCH];
    size_t n = 0;
    analytics_job *const *jobs;
    analytics_store_lock(t->ctx->store);
    size_t count = analytics_store_active(t->ctx->store, &jobs);
    for (size_t i = 0; i < count && n < POLL_BATCH; i++) {
        analytics_job *j = jobs[i];
        if (j->submitting || j->recording)
            continue;
        if (j->unrecorded || (j->dirty && j->owned)) {
            fresh[n] = j->unrecorded;
            snprintf(ids[n++], sizeof(ids[0]), "%s", j->id);
        }
    }
    analytics_store_unlock(t->ctx->store);
    for (size_t i = 0; i < n; i++) {
        analytics_err e = {0};
        int rc = fresh[i] ? analytics_lease_record_new(t->ctx, ids[i], false, &e)
                          : analytics_store_save(t->ctx->store, ids[i], &e);
        if (rc != 0) {
            t->save_at = now + gg_backoff_next(&t->save_backoff);
            return t->save_at;
        }
    }
    gg_backoff_reset(&t->save_backoff);
    return n == POLL_BATCH ? now : INT64_MAX;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Jobs WebHCat accepted whose record never reached HDFS (analytics_recover.h): looked for in
 * WebHCat's list once after the records are loaded (this replica may have died right after
 * answering a submission), then whenever the jobs directory holds directories without a record
 * (another replica may have died so), at most every RECOVER_X leases: the list is costly. */
static int64_t recover(analytics_tracker *t, int64_t now)
{
    bool due = !t->recovered || analytics_store_recordless(t->ctx->store) > 0;
    if (!due || now < t->recover_at)
        return due ? t->recover_at : INT64_MAX;
    analytics_err e = {0};
    int added = analytics_recover_listed(t->ctx, &e);
    if (added < 0) {
        if (t->recover_backoff.attempt == 0)
            gg_warn(&t->ctx->svc.log, "cannot look for unrecorded jobs in WebHCat yet, retrying",
                    "{s:s}", "error", e.msg);
        t->recover_at = now + gg_backoff_next(&t->recover_backoff);
        return t->recover_at;
    }
    gg_backoff_reset(&t->recover_backoff);
    t->recovered = true;
    t->recover_at = now + RECOVER_X * t->ctx->cfg.lease_ms;
    return added > 0 ? now : INT64_MAX; /* record them at once */
}

/* Retention: finished jobs past the configured age or count leave memory and HDFS (record,
 * statusdir and result). Any replica may do it: the deletion is idempotent, and a replica that
 * still holds a copy expires it by the same rule. One batch a call; returns whether more are due
 * (the loop then comes back at once: jobs may finish faster than a batch a sweep). */
static bool expire(analytics_tracker *t)
{
    char ids[POLL_BATCH][32];
    size_t n = analytics_store_expired(t->ctx->store, gg_time_wall_ms(),
                                       (int64_t)t->ctx->cfg.retention_s * 1000,
                                       (size_t)t->ctx->cfg.retention_count, ids, POLL_BATCH);
    for (size_t i = 0; i < n; i++) {
        analytics_err e = {0};
        if (analytics_store_forget(t->ctx->store, ids[i], &e) != 0) {
            gg_warn(&t->ctx->svc.log, "cannot delete an expired job yet", "{s:s, s:s}", "job",
                    ids[i], "error", e.msg);
            return false;
        }
        analytics_store_lock(t->ctx->store);
        analytics_store_remove(t->ctx->store, ids[i]);
        analytics_store_unlock(t->ctx->store);
    }
    if (n)
        gg_info(&t->ctx->svc.log, "expired jobs removed", "{s:I}", "jobs", (json_int_t)n);
    return n == POLL_BATCH;
}

/* Lists the jobs directory once a lease: jobs submitted through other replicas join the index
 * (their records, the shared word-count cache, and the jobs to take over when their replica
 * dies). */
static int64_t sweep(analytics_tracker *t, int64_t now)
{
    if (now < t->sweep_at) {
        if (t->expiring)
            t->expiring = expire(t);
        return t->expiring ? now : t->sweep_at;
    }
    analytics_err e = {0};
    if (analytics_store_sweep(t->ctx->store, &e) != 0)
        gg_warn(&t->ctx->svc.log, "cannot list the jobs directory", "{s:s}", "error", e.msg);
    t->expiring = expire(t);
    t->sweep_at = now + t->ctx->cfg.lease_ms;
    return t->expiring ? now : t->sweep_at;
}

static void sleep_until(analytics_tracker *t, int64_t when)
{
    int64_t now = gg_time_mono_ms();
    int64_t ms = when - now;
    if (ms > 60000)
        ms = 60000;
    pthread_mutex_lock(&t->lock);
    if (!t->stopping && !t->woken && ms > 0) {
        struct timespec ts;
        gg_time_deadline(&ts, ms);
        pthread_cond_timedwait(&t->cond, &t->lock, &ts);
    }
    t->woken = false;
    pthread_mutex_unlock(&t->lock);
}

static bool stopping(analytics_tracker *t)
{
    pthread_mutex_lock(&t->lock);
    bool s = t->stopping;
    pthread_mutex_unlock(&t->lock);
    return s;
}

static void *tracker_main(void *arg)
{
    analytics_tracker *t = arg;
    while (!stopping(t)) {
        int64_t now = gg_time_mono_ms();
        int64_t next = now + t->ctx->cfg.poll_interval_ms;
        if (!analytics_store_loaded(t->ctx->store)) {
            next = min64(next, try_load(t, now));
        } else {
            next = min64(next, analytics_lease_renew_due(t->ctx, now));
            next = min64(next, poll_jobs(t, now));
            next = min64(next, recover(t, now));
            next = min64(next, save_dirty(t, gg_time_mono_ms()));
            next = min64(next, sweep(t, gg_time_mono_ms()));
        }
        next = min64(next, answer_parked(t, gg_time_mono_ms(), false));
        sleep_until(t, next);
    }
    return NULL;
}

int analytics_tracker_start(analytics_tracker *t)
{
    if (analytics_killer_start(t->killer) != 0)
        return -1;
    if (pthread_create(&t->thread, NULL, tracker_main, t) != 0)
        return -1;
    t->running = true;
    return 0;
}

void analytics_tracker_stop(analytics_tracker *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    if (t->running)
        pthread_join(t->thread, NULL);
    t->running = false;
    analytics_killer_stop(t->killer);
    answer_parked(t, INT64_MAX, true);
}

void analytics_tracker_free(analytics_tracker *t)
{
    if (!t)
        return;
    analytics_tracker_stop(t);
    analytics_killer_free(t->killer);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
