/* analytics_kill: the DELETEs the tracker sends again for kills not yet seen in a job's status,
 * sent from threads of their own.
 *
 * WebHCat answers a DELETE only after YARN killed the job and, for a Hive job, after a Beeline
 * "kill query" ran (DeleteDelegator): seconds, up to the submit timeout when it hangs. Sent from
 * the tracker's thread, one such call would stop every other job from being polled meanwhile;
 * here the tracker only queues it. ANALYTICS_KILL_THREADS threads send them, so one hung DELETE
 * does not hold up the kills of other jobs either. A queued or running DELETE of a job is not
 * queued twice; what could not be queued is sent again later, as the tracker does with any kill
 * not yet confirmed. */
#ifndef ANALYTICS_KILL_H
#define ANALYTICS_KILL_H

#include <stdbool.h>

#include "analytics.h"

#define ANALYTICS_KILL_THREADS 2
#define ANALYTICS_KILL_QUEUE   64

typedef struct analytics_killer analytics_killer;

analytics_killer *analytics_killer_new(analytics_ctx *ctx);
int analytics_killer_start(analytics_killer *k);
/* Queues DELETE jobs/<wid> for job id. False when that job's DELETE is already queued or on
 * its way, the queue is full, or the killer is stopping. */
bool analytics_killer_send(analytics_killer *k, const char *id, const char *wid);
/* Drops what is queued, waits for the DELETEs on their way (each bounded by the submit timeout)
 * and joins the threads. */
void analytics_killer_stop(analytics_killer *k);
void analytics_killer_free(analytics_killer *k);

#endif
