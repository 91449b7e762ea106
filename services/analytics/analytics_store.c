/* analytics_store: the job index and the job records in HDFS (see analytics_store.h). */
#include "analytics_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "analytics_store_impl.h"
#include "analytics_validate.h"
#include "analytics_webhdfs.h"

#define RECORD_MAX (16u * 1024 * 1024) /* a record holds the HiveQL and a bounded result */
#define NEG_TTL_MS 300 /* short: a job submitted through another replica shows within 1 s */

analytics_store *analytics_store_new(const analytics_backend *b, const char *jobs_dir, gg_log *log)
{
    analytics_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->jobs_dir = strdup(jobs_dir))) {
        free(s);
        return NULL;
    }
    s->b = b;
    s->log = log;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->save_lock, NULL);
    return s;
}

void analytics_store_free(analytics_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        analytics_job_free(s->jobs[i].job);
    free(s->jobs);
    free(s->index);
    free(s->active);
    free(s->jobs_dir);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->save_lock);
    free(s);
}

void analytics_store_lock(analytics_store *s)
{
    pthread_mutex_lock(&s->lock);
}

void analytics_store_unlock(analytics_store *s)
{
    pthread_mutex_unlock(&s->lock);
}

static size_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return (size_t)h;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t index_slot(const analytics_store *s, const char *id)
{
    size_t mask = s->index_cap - 1, i = id_hash(id) & mask;
    while (s->index[i] && strcmp(s->index[i]->id, id) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Rebuilds the index for at least want jobs (a removal, or growth). */
static int index_rebuild(analytics_store *s, size_t want)
{
    size_t cap = s->index_cap ? s->index_cap : 128;
    while (cap < want * 2)
        cap *= 2;
    analytics_job **fresh = calloc(cap, sizeof(*fresh));
    if (!fresh)
        return -1;
    free(s->index);
    s->index = fresh;
    s->index_cap = cap;
    for (size_t i = 0; i < s->count; i++)
        s->index[index_slot(s, s->jobs[i].job->id)] = s->jobs[i].job;
    return 0;
}

/* Empties id's slot. Linear probing cannot just clear it (entries further along its run would be
 * lost): the entries after it move back over the gap unless their own slot lies past it. */
static void index_delete(analytics_store *s, const char *id)
{
    size_t mask = s->index_cap - 1, gap = index_slot(s, id);
    if (!s->index[gap])
        return;
    s->index[gap] = NULL;
    for (size_t i = (gap + 1) & mask; s->index[i]; i = (i + 1) & mask) {
        size_t home = id_hash(s->index[i]->id) & mask;
        /* i may move to gap when its home is not cyclically within (gap, i] */
        bool stays = gap <= i ? (home > gap && home <= i) : (home > gap || home <= i);
        if (!stays) {
            s->index[gap] = s->index[i];
            s->index[i] = NULL;
            gap = i;
        }
    }
}

size_t analytics_store_lower_bound(const analytics_store *s, const char *id)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->jobs[mid].job->id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The position of job id, or s->count. */
static size_t position(const analytics_store *s, const char *id)
{
    size_t at = analytics_store_lower_bound(s, id);
    return at < s->count && strcmp(s->jobs[at].job->id, id) == 0 ? at : s->count;
}

/* Whether the tracker still has something to do with j: follow it in WebHCat (or another
 * replica's lease), let its submission end, take its lease, or write its record. */
static bool needs_tracking(const analytics_job *j)
{
    return !analytics_job_terminal(j->state) || j->submitting || j->unrecorded ||
           (j->dirty && j->owned);
}

static int class_of(const analytics_job *j)
{
    return (int)j->kind * 5 + (int)j->state;
}

/* Room for one more active job. */
static int active_reserve(analytics_store *s)
{
    if (s->nactive < s->active_cap)
        return 0;
    size_t cap = s->active_cap ? s->active_cap * 2 : 64;
    analytics_job **grown = realloc(s->active, cap * sizeof(*grown));
    if (!grown)
        return -1;
    s->active = grown;
    s->active_cap = cap;
    return 0;
}

/* Puts e's job in the active list (room reserved) or among the settled ones. */
static void place(analytics_store *s, analytics_store_entry *e)
{
    if (needs_tracking(e->job)) {
        e->cls = ANALYTICS_STORE_ACTIVE;
        s->active[s->nactive++] = e->job;
    } else {
        e->cls = class_of(e->job);
        s->settled[e->cls]++;
    }
}

/* Takes e's job out of the active list or the settled counts. */
static void unplace(analytics_store *s, analytics_store_entry *e)
{
    if (e->cls != ANALYTICS_STORE_ACTIVE) {
        s->settled[e->cls]--;
        return;
    }
    for (size_t i = 0; i < s->nactive; i++) {
        if (s->active[i] == e->job) {
            memmove(&s->active[i], &s->active[i + 1], (s->nactive - i - 1) * sizeof(*s->active));
            s->nactive--;
            return;
        }
    }
}

analytics_job *analytics_store_find(analytics_store *s, const char *id)
{
    return s->index_cap ? s->index[index_slot(s, id)] : NULL;
}

analytics_job *analytics_store_find_fingerprint(analytics_store *s, const char *fingerprint)
{
    for (size_t i = s->count; i-- > 0;) {
        analytics_job *j = s->jobs[i].job;
        if (j->kind == AJ_WORDCOUNT && strcmp(j->fingerprint, fingerprint) == 0 &&
            j->state != AJ_FAILED && j->state != AJ_KILLED && !j->kill_requested && !j->submitting)
            return j;
    }
    return NULL;
}

size_t analytics_store_count(const analytics_store *s)
{
    return s->count;
}

analytics_job *analytics_store_at(analytics_store *s, size_t i)
{
    s->visits++;
    return i < s->count ? s->jobs[s->count - 1 - i].job : NULL;
}

size_t analytics_store_active(analytics_store *s, analytics_job *const **jobs)
{
    size_t kept = 0;
    s->visits += s->nactive;
    for (size_t i = 0; i < s->nactive; i++) {
        analytics_job *j = s->active[i];
        if (needs_tracking(j)) {
            s->active[kept++] = j;
            continue;
        }
        analytics_store_entry *e = &s->jobs[position(s, j->id)];
        e->cls = class_of(j);
        s->settled[e->cls]++;
    }
    s->nactive = kept;
    *jobs = s->active;
    return kept;
}

int analytics_store_add(analytics_store *s, analytics_job *j)
{
    if ((s->count + 1) * 2 > s->index_cap && index_rebuild(s, s->count + 1) != 0)
        return -1;
    if (active_reserve(s) != 0)
        return -1;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        analytics_store_entry *grown = realloc(s->jobs, cap * sizeof(*grown));
        if (!grown)
            return -1;
        s->jobs = grown;
        s->cap = cap;
    }
    /* Keep the index in id order, which is creation order: records loaded late slot in. */
    size_t at = s->count;
    if (at > 0 && strcmp(s->jobs[at - 1].job->id, j->id) > 0)
        at = analytics_store_lower_bound(s, j->id);
    memmove(&s->jobs[at + 1], &s->jobs[at], (s->count - at) * sizeof(*s->jobs));
    s->jobs[at].job = j;
    place(s, &s->jobs[at]);
    s->count++;
    s->index[index_slot(s, j->id)] = j;
    return 0;
}

void analytics_store_remove(analytics_store *s, const char *id)
{
    size_t i = position(s, id);
    if (i == s->count)
        return;
    analytics_job *j = s->jobs[i].job;
    unplace(s, &s->jobs[i]);
    index_delete(s, id);
    memmove(&s->jobs[i], &s->jobs[i + 1], (s->count - i - 1) * sizeof(*s->jobs));
    s->count--;
    analytics_job_free(j);
}

uint64_t analytics_store_visits(analytics_store *s)
{
    analytics_store_lock(s);
    uint64_t n = s->visits;
    analytics_store_unlock(s);
    return n;
}

bool analytics_store_loaded(analytics_store *s)
{
    analytics_store_lock(s);
    bool loaded = s->loaded;
    analytics_store_unlock(s);
    return loaded;
}

void analytics_store_new_id(analytics_store *s, char *out, size_t outlen)
{
    for (;;) {
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            rnd = (uint32_t)clock() ^ (uint32_t)(uintptr_t)out;
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        snprintf(out, outlen, "%s-%08x", stamp, rnd);
        analytics_store_lock(s);
        bool taken = analytics_store_find(s, out) != NULL;
        analytics_store_unlock(s);
        if (!taken)
            return;
    }
}

void analytics_store_path(const analytics_store *s, const char *id, const char *suffix, char *out,
                          size_t outlen)
{
    snprintf(out, outlen, "%s/%s%s", s->jobs_dir, id, suffix ? suffix : "");
}

int analytics_store_save(analytics_store *s, const char *id, analytics_err *e)
{
    pthread_mutex_lock(&s->save_lock);
    analytics_store_lock(s);
    analytics_job *j = analytics_store_find(s, id);
    json_t *rec = j && j->dirty ? analytics_job_record(j) : NULL;
    uint64_t version = j ? j->version : 0;
    bool needed = j && j->dirty;
    analytics_store_unlock(s);
    int rc = 0;
    if (needed) {
        char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char path[ANALYTICS_PATH_MAX + 64], tmp[ANALYTICS_PATH_MAX + 96], suffix[48];
        analytics_store_path(s, id, "/job.json", path, sizeof(path));
        /* Another replica may read the record at any time: it is written beside and renamed
         * over, never truncated in place (a reader would see an empty file). */
        snprintf(suffix, sizeof(suffix), "/.job.json.%ld", (long)getpid());
        analytics_store_path(s, id, suffix, tmp, sizeof(tmp));
        if (!text) {
            analytics_err_set(e, AE_INTERNAL, "webhdfs", 0, "out of memory");
            rc = -1;
        } else {
            rc = analytics_webhdfs_replace(s->b, path, tmp, text, strlen(text), e);
        }
        free(text);
    }
    json_decref(rec);
    if (needed && rc == 0) {
        analytics_store_lock(s);
        j = analytics_store_find(s, id);
        if (j && j->version == version)
            j->dirty = false;
        analytics_store_unlock(s);
    }
    pthread_mutex_unlock(&s->save_lock);
    return rc;
}

/* Reads one record into a new job: 0 with *out set, 1 when the record is missing or not one
 * this service wrote (skipped with a warning unless quiet), -1 when WebHDFS failed. */
static int read_record(analytics_store *s, const char *id, bool quiet, analytics_job **out,
                       analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    analytics_store_path(s, id, "/job.json", path, sizeof(path));
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    if (analytics_webhdfs_read_all(s->b, path, RECORD_MAX, &text, &len, e) != 0) {
        if (e->kind == AE_UNREACHABLE || e->kind == AE_INTERNAL)
            return -1;
        if (!quiet || e->kind != AE_NOT_FOUND)
            gg_warn(s->log, "job record unreadable, skipped", "{s:s, s:s}", "path", path, "error",
                    e->msg);
        return 1;
    }
    char why[128] = "not JSON";
    json_t *rec = json_loadb(text, len, 0, NULL);
    analytics_job *j = rec ? analytics_job_from_record(rec, why, sizeof(why)) : NULL;
    json_decref(rec);
    free(text);
    if (!j || strcmp(j->id, id) != 0) {
        gg_warn(s->log, "job record invalid, skipped", "{s:s, s:s}", "path", path, "error", why);
        analytics_job_free(j);
        return 1;
    }
    *out = j;
    return 0;
}

/* Reads one record into the index unless the job is known already: 1 added, 0 not, -1 WebHDFS
 * failed. */
static int load_one(analytics_store *s, const char *id, bool quiet, analytics_err *e)
{
    analytics_job *j = NULL;
    int rc = read_record(s, id, quiet, &j, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    analytics_store_lock(s);
    rc = analytics_store_find(s, id) ? 1 : analytics_store_add(s, j);
    analytics_store_unlock(s);
    if (rc != 0)
        analytics_job_free(j);
    return rc < 0 ? -1 : rc == 0;
}

/* Lists jobs_dir and reads the records of the jobs not in the index. */
static int load_unknown(analytics_store *s, bool quiet, analytics_err *e)
{
    analytics_hdfs_list list;
    if (analytics_webhdfs_list(s->b, s->jobs_dir, &list, e) != 0) {
        if (e->kind != AE_NOT_FOUND)
            return -1;
        list.count = 0; /* no job was ever kept: nothing to load */
    }
    int rc = 0;
    size_t recordless = 0;
    for (size_t i = 0; i < list.count && rc >= 0; i++) {
        if (!list.items[i].is_dir || !analytics_valid_job_id(list.items[i].name))
            continue;
        analytics_store_lock(s);
        bool known = analytics_store_find(s, list.items[i].name) != NULL;
        analytics_store_unlock(s);
        if (!known)
            rc = load_one(s, list.items[i].name, quiet, e);
        recordless += !known && rc == 0;
    }
    analytics_hdfs_list_free(&list);
    if (rc >= 0) {
        analytics_store_lock(s);
        s->recordless = recordless;
        analytics_store_unlock(s);
    }
    return rc < 0 ? -1 : 0;
}

int analytics_store_load(analytics_store *s, analytics_err *e)
{
    if (analytics_store_loaded(s))
        return 0;
    int rc = load_unknown(s, false, e);
    if (rc == 0) {
        analytics_store_lock(s);
        size_t total = s->count;
        analytics_store_unlock(s);
        gg_info(s->log, "job records loaded", "{s:s, s:I}", "jobs_dir", s->jobs_dir, "jobs",
                (json_int_t)total);
    }
    return rc;
}

void analytics_store_set_loaded(analytics_store *s)
{
    analytics_store_lock(s);
    s->loaded = true;
    analytics_store_unlock(s);
}

int analytics_store_sweep(analytics_store *s, analytics_err *e)
{
    /* Quiet: a directory without a record yet is a submission in flight on another replica. */
    return load_unknown(s, true, e);
}

size_t analytics_store_recordless(analytics_store *s)
{
    analytics_store_lock(s);
    size_t n = s->recordless;
    analytics_store_unlock(s);
    return n;
}

/* Whether id was looked for in HDFS and missing less than NEG_TTL_MS ago. */
static bool negative(analytics_store *s, const char *id, int64_t now)
{
    for (size_t i = 0; i < ANALYTICS_STORE_NEG_SLOTS; i++)
        if (s->neg[i].until_ms > now && strcmp(s->neg[i].id, id) == 0)
            return true;
    return false;
}

int analytics_store_fetch(analytics_store *s, const char *id, int64_t now, analytics_err *e)
{
    analytics_store_lock(s);
    bool known = analytics_store_find(s, id) != NULL, missing = !known && negative(s, id, now);
    analytics_store_unlock(s);
    if (known || missing)
        return known;
    int rc = load_one(s, id, true, e);
    analytics_store_lock(s);
    if (rc == 0 && !analytics_store_find(s, id)) {
        size_t slot = s->neg_next++ % ANALYTICS_STORE_NEG_SLOTS;
        snprintf(s->neg[slot].id, sizeof(s->neg[slot].id), "%s", id);
        s->neg[slot].until_ms = now + NEG_TTL_MS;
    }
    known = analytics_store_find(s, id) != NULL;
    analytics_store_unlock(s);
    return rc < 0 ? -1 : known;
}

int analytics_store_refresh(analytics_store *s, const char *id, int64_t record_mtime,
                            analytics_err *e)
{
    analytics_job *fresh = NULL;
    int rc = read_record(s, id, true, &fresh, e);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    analytics_store_lock(s);
    size_t i = position(s, id);
    analytics_job *old = i < s->count ? s->jobs[i].job : NULL;
    /* A job this replica holds keeps its copy: it writes the record, so its copy is the newer. */
    if (old && !old->owned && !old->submitting && active_reserve(s) == 0) {
        fresh->owner_n = old->owner_n;
        fresh->owner_mtime = old->owner_mtime;
        fresh->owner_seen_ms = old->owner_seen_ms;
        fresh->record_mtime = record_mtime;
        fresh->next_poll_ms = old->next_poll_ms;
        fresh->poll_delay_ms = old->poll_delay_ms;
        unplace(s, &s->jobs[i]);
        s->jobs[i].job = fresh;
        place(s, &s->jobs[i]);
        s->index[index_slot(s, id)] = fresh;
        fresh = old; /* freed below */
    }
    analytics_store_unlock(s);
    analytics_job_free(fresh);
    return 0;
}

size_t analytics_store_expired(analytics_store *s, int64_t now_ms, int64_t max_age_ms,
                               size_t max_count, char (*out)[32], size_t n)
{
    size_t found = 0, finished = 0;
    analytics_store_lock(s);
    for (size_t i = s->count; i-- > 0;) { /* newest first: the count keeps the newest */
        analytics_job *j = s->jobs[i].job;
        if (!analytics_job_terminal(j->state) || j->submitting)
            continue;
        finished++;
        int64_t ended = j->finished_ms ? j->finished_ms : j->created_ms;
        if (finished > max_count || ended < now_ms - max_age_ms)
            found++;
    }
    size_t taken = 0, seen = 0;
    for (size_t i = 0; i < s->count && taken < n && seen < found; i++) { /* oldest first */
        analytics_job *j = s->jobs[i].job;
        if (!analytics_job_terminal(j->state) || j->submitting)
            continue;
        size_t newer = finished - 1; /* finished jobs newer than j, counted as we pass */
        int64_t ended = j->finished_ms ? j->finished_ms : j->created_ms;
        if (newer >= max_count || ended < now_ms - max_age_ms) {
            snprintf(out[taken++], sizeof(out[0]), "%s", j->id);
            seen++;
        }
        finished--;
    }
    analytics_store_unlock(s);
    return taken;
}

int analytics_store_forget(analytics_store *s, const char *id, analytics_err *e)
{
    char path[ANALYTICS_PATH_MAX + 64];
    analytics_store_path(s, id, NULL, path, sizeof(path));
    return analytics_webhdfs_delete(s->b, path, e);
}
