/* analytics_tracker: the thread that follows every unfinished job through WebHCat.
 *
 * It loads the job records from HDFS at start (retrying with backoff while WebHDFS is down),
 * polls GET jobs/:jobid for each unfinished job (soon after submission, then less often, more
 * often while someone waits), and when a job ends reads its statusdir once: the rows are
 * counted, a word count's result is parsed, a failure gets the tail of stderr. It retries record
 * writes that failed. A failing WebHCat or WebHDFS never fails a job: the tracker backs off and
 * tries again, so nothing already submitted is lost.
 *
 * Requests that asked to wait (?wait=SECONDS) are parked here instead of blocking an HTTP
 * worker: the tracker answers them (a deferred gg_http_reply_*) when their job ends or their time
 * is up. */
#ifndef ANALYTICS_TRACKER_H
#define ANALYTICS_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "analytics.h"
#include "gg_http.h"

#define ANALYTICS_MAX_PARKED 1024 /* parked requests; more are answered at once with 202 */

analytics_tracker *analytics_tracker_new(analytics_ctx *ctx);
int analytics_tracker_start(analytics_tracker *t);
/* Something changed (a job was submitted, a kill requested): look now. */
void analytics_tracker_wake(analytics_tracker *t);
/* Parks a deferred request until job id ends or deadline_ms (monotonic) passes; it is then
 * answered with analytics_api_answer_job(..., how). Returns false, without taking req, when the
 * tracker is stopping or full: the caller answers itself. */
bool analytics_tracker_park(analytics_tracker *t, gg_http_req *req, const char *id,
                            int64_t deadline_ms, const analytics_page *page, unsigned how);
/* Answers every parked request with its job's current state, then stops the thread. */
void analytics_tracker_stop(analytics_tracker *t);
void analytics_tracker_free(analytics_tracker *t);

#endif
