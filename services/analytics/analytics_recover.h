/* analytics_recover: finding the jobs WebHCat accepted whose record never reached HDFS.
 *
 * A submission is answered once WebHCat has accepted the job; the lease (owner.1) and the record
 * (job.json) are written after the answer. A replica killed in between leaves a job that only
 * WebHCat knows, and the statusdir its launcher writes into the job's directory. Such a job is
 * recognised in WebHCat's job list (GET jobs?fields=*) by its statusdir, <jobs_dir>/<id>/status,
 * and rebuilt from what the submission handed WebHCat: the HiveQL (userargs.execute) and a note
 * in one define, gridgate.job=<percent-encoded JSON: kind, created_ms, output, fingerprint,
 * params>, which Hive takes as an unused --hiveconf. The rebuilt job is then recorded as a fresh
 * submission is (analytics_lease_record_new): whichever replica takes owner.1 writes the record,
 * so of several replicas recovering the same job one records it and the others follow. */
#ifndef ANALYTICS_RECOVER_H
#define ANALYTICS_RECOVER_H

#include <jansson.h>
#include <stddef.h>

#include "analytics.h"

#define ANALYTICS_RECOVER_DEFINE "gridgate.job" /* the define's name */

/* "gridgate.job=<note>" for a job about to be submitted (malloc'd; NULL when out of memory). */
char *analytics_recover_define(const analytics_job *j);

/* The job an item of WebHCat's job list stands for, when its statusdir is
 * <jobs_dir>/<id>/status and it carries the note; NULL otherwise (why says which). The job is
 * queued, unrecorded and dirty: the tracker records it, then polls it. */
analytics_job *analytics_recover_rebuild(json_t *item, const char *jobs_dir, char *why,
                                         size_t whylen);

/* Lists WebHCat's jobs and adds those under this service's jobs directory that the index lacks
 * and that have no record in HDFS: every unfinished one, and a finished one whose directory
 * still exists (one that retention removed stays removed). Returns how many were added, or -1
 * with e filled when WebHCat or WebHDFS did not answer. */
int analytics_recover_listed(analytics_ctx *ctx, analytics_err *e);

#endif
