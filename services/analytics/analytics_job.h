/* analytics_job: one job as the service knows it: its state, the HiveQL it runs, where its
 * output lives, and the record that keeps it across restarts (job.json beside its statusdir in
 * HDFS). Also maps WebHCat's answer for a job onto the five states of the API. */
#ifndef ANALYTICS_JOB_H
#define ANALYTICS_JOB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum analytics_job_state {
    AJ_QUEUED = 0, /* accepted; WebHCat has it waiting (PREP) or it is being submitted */
    AJ_RUNNING,
    AJ_SUCCEEDED,
    AJ_FAILED,
    AJ_KILLED
} analytics_job_state;

typedef enum analytics_job_kind { AJ_WORDCOUNT = 0, AJ_QUERY } analytics_job_kind;

#define ANALYTICS_CK_STRIDE 4096 /* result rows between two remembered byte offsets */
#define ANALYTICS_CK_MAX    4096 /* remembered offsets per job (16M rows; beyond, read on) */

typedef struct analytics_job {
    char id[32];
    analytics_job_kind kind;
    analytics_job_state state;
    char webhcat_id[96]; /* "" until WebHCat accepted it */
    char *hiveql;
    json_t *params;       /* word counts: the normalised request; NULL for queries */
    char fingerprint[17]; /* word counts: input + parameters (analytics_wc_fingerprint) */
    int progress;         /* percent, -1 when unknown */
    int64_t created_ms, submitted_ms, started_ms, finished_ms; /* wall clock; 0 = not yet */
    int exit_value;                                            /* of the hive process; -1 unknown */
    char *error;          /* why it failed: WebHCat's reason and the tail of stderr */
    json_t *result;       /* word counts, once succeeded */
    bool output_files;    /* rows are files in <id>/result/ (escaped format), not stdout lines */
    json_t *columns;      /* [{"name", "type"}...] of a raw query's result, once known */
    int64_t rows_total;   /* rows of the result, -1 until counted */
    int64_t result_bytes; /* bytes of the result, -1 until known */
    bool kill_requested;
    /* In memory only. */
    bool submitting;      /* an HTTP worker is submitting it: the tracker leaves it alone */
    bool unrecorded;      /* WebHCat has it, this replica has neither taken owner.1 nor written
                             its first record yet (analytics_lease_record_new) */
    bool recording;       /* a thread is doing that right now */
    bool dirty;           /* the record in HDFS is older than this */
    uint64_t version;     /* bumped by every change (analytics_job_touch) */
    int64_t next_poll_ms; /* monotonic time of the tracker's next look */
    uint32_t poll_delay_ms;
    int64_t kill_sent_ms; /* monotonic: last DELETE sent for a requested kill; 0: none yet */
    /* The lease (analytics_lease.h): whether this replica tracks the job, and what it last saw
     * of the holder's owner.<n> file. */
    bool owned;
    int owner_n;           /* n of the highest owner.<n> seen; 0: none */
    int64_t owner_mtime;   /* its modificationTime when last seen */
    int64_t owner_seen_ms; /* monotonic: when (owner_n, owner_mtime) last changed; 0: never */
    int64_t record_mtime;  /* modificationTime of job.json when last read */
    int64_t renew_ms;      /* monotonic: next renewal of an owned lease */
    int64_t *checkpoints;  /* byte offset of row k * ANALYTICS_CK_STRIDE, grown as pages are read */
    size_t ncheckpoints;   /* known prefix; row 0 at byte 0 is implied */
} analytics_job;

const char *analytics_job_state_name(analytics_job_state s);
const char *analytics_job_kind_name(analytics_job_kind k);
bool analytics_job_terminal(analytics_job_state s);

analytics_job *analytics_job_new(analytics_job_kind kind, const char *id);
void analytics_job_free(analytics_job *j);
/* Marks a change that the record in HDFS must get. */
void analytics_job_touch(analytics_job *j);
/* Replaces j->error with a copy of text (NULL clears it). */
void analytics_job_set_error(analytics_job *j, const char *text);

/* The persistent record (schema api/analytics/job-record.schema.json). Records and views hold
 * copies of the job's JSON members, never references: they are built and freed on other threads
 * than the job's owner, and jansson's json_incref reads the count without an atomic load. */
json_t *analytics_job_record(const analytics_job *j);
/* A job from its record; NULL (why filled) when the record is not one this service wrote. */
analytics_job *analytics_job_from_record(json_t *rec, char *why, size_t whylen);

/* The API's view of a job, without result rows (schema api/analytics/job.schema.json). */
json_t *analytics_job_view(const analytics_job *j);
/* "2025-01-31T12:00:00.250Z"; null for 0. */
json_t *analytics_job_time(int64_t ms);

/* What WebHCat's GET jobs/:jobid answer says about a job. */
typedef struct analytics_remote_state {
    analytics_job_state state;
    int progress;       /* -1 when not given */
    int exit_value;     /* -1 when not given */
    int64_t started_ms; /* 0 when not given */
    char failure[256];  /* failureInfo, or why a SUCCEEDED controller still means failure */
} analytics_remote_state;

/* Maps status.state (Hadoop 2+) or status.runState (1 running, 2 succeeded, 3 failed, 4 prep,
 * 5 killed), exitValue and percentComplete. A controller job that succeeded while hive exited
 * non-zero is a failed job. Returns -1 when the answer carries no state at all. */
int analytics_job_map_remote(json_t *answer, analytics_remote_state *out);

/* "75% complete" -> 75, "map 100% reduce 50%" -> 75 (the mean), else -1. */
int analytics_job_parse_percent(const char *s);

#endif
