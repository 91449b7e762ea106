/* analytics_store: every job the service knows, in memory, and their records in HDFS.
 *
 * Each job lives in its own HDFS directory, <jobs_dir>/<id>/: WebHCat writes the statusdir
 * <id>/status/ (stdout, stderr, exit) and the service keeps <id>/job.json beside it, rewritten
 * (written beside, then renamed over it) on every change of state. At start the store lists
 * jobs_dir and reads every record back, so jobs survive a restart of the service and any replica
 * sees them. The in-memory index is the only copy the HTTP threads read; records of jobs submitted
 * through other replicas join it when asked for (analytics_store_fetch) and when the directory
 * is listed again (analytics_store_sweep).
 *
 * Locking: the index and every job in it are guarded by one mutex (analytics_store_lock). Job
 * pointers are valid only while it is held; code that does I/O copies what it needs, unlocks,
 * and looks the job up again by id afterwards. */
#ifndef ANALYTICS_STORE_H
#define ANALYTICS_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "analytics_backend.h"
#include "analytics_job.h"
#include "gg_log.h"

typedef struct analytics_store analytics_store;

analytics_store *analytics_store_new(const analytics_backend *b, const char *jobs_dir, gg_log *log);
void analytics_store_free(analytics_store *s);

void analytics_store_lock(analytics_store *s);
void analytics_store_unlock(analytics_store *s);

/* With the lock held. */
analytics_job *analytics_store_find(analytics_store *s, const char *id);
/* The newest word count with this fingerprint that has not failed or been killed, or NULL. */
analytics_job *analytics_store_find_fingerprint(analytics_store *s, const char *fingerprint);
size_t analytics_store_count(const analytics_store *s);
/* The i-th job, newest first. */
analytics_job *analytics_store_at(analytics_store *s, size_t i);
/* The jobs the tracker follows: every unfinished job, and finished ones until their submission
 * ends and this replica has written their record. Jobs finished since the last call leave the
 * list here, so a pass costs the unfinished jobs, never the finished ones kept. *jobs is valid
 * until the lock is released. */
size_t analytics_store_active(analytics_store *s, analytics_job *const **jobs);
/* Which jobs a list shows: state and kind (-1: any); raw queries only when queries is set. Jobs
 * being submitted never show. */
typedef struct analytics_store_filter {
    int state;
    int kind;
    bool queries;
} analytics_store_filter;
/* A page of the jobs matching f, newest first: those older than cursor (NULL: from the newest),
 * past the first offset, at most n into out. *total counts every match; *more says whether a
 * match follows the page. Costs the page, the offset and the jobs the filter passes over on the
 * way (for an unfinished state, the active jobs), not every job kept. */
size_t analytics_store_page(analytics_store *s, const analytics_store_filter *f, const char *cursor,
                            size_t offset, size_t n, analytics_job **out, size_t *total,
                            bool *more);
/* Adds j (the store owns it from then on). Returns -1 when out of memory (j is not taken). */
int analytics_store_add(analytics_store *s, analytics_job *j);
/* Removes and frees the job. */
void analytics_store_remove(analytics_store *s, const char *id);
/* Whether the records in HDFS have been read (until then, an unknown id may still exist). */
bool analytics_store_loaded(analytics_store *s);
/* How many jobs walks over the index have looked at so far: what the tracker's passes and the
 * list's pages cost (tests check that it does not grow with the finished jobs kept). */
uint64_t analytics_store_visits(analytics_store *s);

/* Without the lock. */
/* A new job id, YYYYMMDD-hhmmss-xxxxxxxx (UTC, random suffix), unused in the index. */
void analytics_store_new_id(analytics_store *s, char *out, size_t outlen);
/* "<jobs_dir>/<id>" + suffix ("/status", "/status/stdout", "/job.json" ...). */
void analytics_store_path(const analytics_store *s, const char *id, const char *suffix, char *out,
                          size_t outlen);
/* Writes the job's record if it changed since the last write. */
int analytics_store_save(analytics_store *s, const char *id, analytics_err *e);
/* Reads every record under jobs_dir into the index (again at each call until the store is
 * marked loaded, then no more). */
int analytics_store_load(analytics_store *s, analytics_err *e);
/* From now on the index holds every job (analytics_store_loaded): the records are read, and
 * WebHCat's list was looked at for jobs without one (analytics_recover.h). */
void analytics_store_set_loaded(analytics_store *s);
/* Lists jobs_dir again and reads the records of jobs it does not know yet (jobs submitted
 * through other replicas). */
int analytics_store_sweep(analytics_store *s, analytics_err *e);
/* Job directories the last load or sweep found without a readable record: a submission whose
 * record is being written, or a job whose replica died before writing it (analytics_recover). */
size_t analytics_store_recordless(analytics_store *s);
/* Makes sure job id is in the index, reading its record from HDFS when it is not (a job
 * submitted through another replica). A missing record is remembered for a few hundred ms (now:
 * monotonic ms). 1 known, 0 no such job, -1 WebHDFS failed. */
int analytics_store_fetch(analytics_store *s, const char *id, int64_t now, analytics_err *e);
/* Replaces the index's copy of a job this replica does not hold with its record in HDFS. */
int analytics_store_refresh(analytics_store *s, const char *id, int64_t record_mtime,
                            analytics_err *e);
/* Retention: the ids (at most n, oldest first) of finished jobs past the newest max_count
 * finished ones or finished before now_ms - max_age_ms. Unfinished jobs never expire. */
size_t analytics_store_expired(analytics_store *s, int64_t now_ms, int64_t max_age_ms,
                               size_t max_count, char (*out)[32], size_t n);
/* Deletes the job's directory in HDFS (a submission that never reached WebHCat). */
int analytics_store_forget(analytics_store *s, const char *id, analytics_err *e);

#endif
