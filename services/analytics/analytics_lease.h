/* analytics_lease: which replica tracks which unfinished job, so that several replicas share one
 * jobs directory and exactly one of them polls WebHCat for a job and writes its record.
 *
 * The lease is a file <jobs_dir>/<id>/owner.<n>, made with WebHDFS CREATE overwrite=false: HDFS
 * makes a file at most once, so of several replicas that try the same n exactly one succeeds,
 * and that replica holds the job. The submitting replica makes owner.1. The holder renews the
 * lease by setting the file's modification time every third of the lease, and gives the job up
 * when it finds an owner.<n+1> (someone took over while it was stalled). Every other replica that
 * knows the unfinished job looks at its directory now and then: it re-reads job.json when that
 * changed (so its copy follows the holder's), and when the highest owner.<n> has not changed for
 * a whole lease, measured on its own monotonic clock (no clocks are compared between machines),
 * it tries owner.<n+1>. A killed replica's jobs are thus taken over after one to one and a third
 * leases. */
#ifndef ANALYTICS_LEASE_H
#define ANALYTICS_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "analytics.h"

/* For a job WebHCat has and this replica has not recorded (j->unrecorded: it just submitted the
 * job, or found it in WebHCat's list without a record): takes owner.1 and, when that wins, writes
 * the record. Losing owner.1 leaves the job to the replica that took it. 0 done (a record write
 * that failed is left dirty for the tracker), -1 when WebHDFS failed before the lease was decided
 * (the job stays unrecorded and is tried again). reserved: the caller set j->recording itself
 * (the submitting thread, so that the tracker leaves the job to it). */
int analytics_lease_record_new(analytics_ctx *ctx, const char *id, bool reserved, analytics_err *e);

/* Renews the leases of owned jobs that are due; returns when the next one is (monotonic). */
int64_t analytics_lease_renew_due(analytics_ctx *ctx, int64_t now);

/* Looks at a job this replica does not hold: refreshes its copy from job.json and takes the
 * lease over when its holder stopped renewing it. -1 when WebHDFS did not answer. */
int analytics_lease_check(analytics_ctx *ctx, const char *id, analytics_err *e);

/* How long until a job this replica does not hold is looked at again. */
uint32_t analytics_lease_check_delay(const analytics_ctx *ctx, bool waited);

#endif
