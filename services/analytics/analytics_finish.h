/* analytics_finish: the end of a job's life. When WebHCat reports a job ended, its statusdir is
 * read once (rows counted, a word count's result parsed, a failure's stderr tail kept), the
 * record is updated and written, and only then does the job show as ended, so a reader never
 * sees "succeeded" without its result. Also the two ways of settling a job WebHCat cannot tell
 * about: one it no longer knows (decided by statusdir/exit) and one whose submission was cut
 * short by a crash (found again by its statusdir, or failed). Each returns 0 when the job is
 * settled and -1 (e filled) when a backend must be asked again later. */
#ifndef ANALYTICS_FINISH_H
#define ANALYTICS_FINISH_H

#include "analytics.h"
#include "analytics_job.h"

int analytics_finish_job(analytics_ctx *ctx, const char *id, const analytics_remote_state *rs,
                         analytics_err *e);
int analytics_finish_orphan(analytics_ctx *ctx, const char *id, analytics_err *e);
int analytics_finish_recover(analytics_ctx *ctx, const char *id, analytics_err *e);

#endif
