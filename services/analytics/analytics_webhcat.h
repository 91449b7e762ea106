/* analytics_webhcat: the WebHCat (Templeton) v1 calls the service makes, using only the
 * documented API: GET status, POST hive, GET jobs/:jobid, DELETE jobs/:jobid and GET jobs. */
#ifndef ANALYTICS_WEBHCAT_H
#define ANALYTICS_WEBHCAT_H

#include <jansson.h>
#include <stddef.h>

#include "analytics_backend.h"

/* Health probe (gg_health_probe); ud is the analytics_backend. GET status must say "ok". */
int analytics_webhcat_probe(void *ud, char *err, size_t errlen);

/* POST hive with execute=hiveql, statusdir and (unless NULL) one define NAME=VALUE, which WebHCat
 * passes to hive as --hiveconf and keeps in the job's userargs; the job id WebHCat gave goes to
 * id. WebHCat may take seconds to queue a job, so this call has its own bound, timeout_ms. When
 * it fails with e->uncertain set (no answer in time, or a 502/504 of a gateway, or a 500 that is
 * not WebHCat's own JSON error), WebHCat may have queued the job all the same. */
int analytics_webhcat_submit(const analytics_backend *b, const char *hiveql, const char *statusdir,
                             const char *define, long timeout_ms, char *id, size_t idlen,
                             analytics_err *e);

/* The caller's HiveQL of a script analytics_webhcat_submit sent (WebHCat's userargs keep the
 * script as sent, with the guard against a retried launcher around it): a copy to free, the
 * whole script when it has no guard, NULL when out of memory. */
char *analytics_webhcat_unguard(const char *script);

/* GET jobs/:jobid; *out gets the answer's JSON object (caller owns it). AE_NOT_FOUND only when
 * WebHCat itself says 400 {"error": "Could not find job ..."}: a 404 or 400 in HTML (a proxy, a
 * wrong base URL) or any other failure is not evidence that the job is gone. */
int analytics_webhcat_job(const analytics_backend *b, const char *id, json_t **out,
                          analytics_err *e);

/* DELETE jobs/:jobid, bounded by timeout_ms: WebHCat answers after YARN killed the job and, for
 * Hive jobs, after a Beeline "kill query" that may fail with 500 once the job is killed. The
 * answer therefore proves little: the job's status confirms a kill. Failures are classified as
 * for analytics_webhcat_job. */
int analytics_webhcat_kill(const analytics_backend *b, const char *id, long timeout_ms,
                           analytics_err *e);

/* Looks for the job submitted with this statusdir among GET jobs?fields=* (how a submission
 * whose answer was lost in a crash is found again). WebHCat fetches every job's status for this
 * list (ListDelegator), which takes long on a busy cluster: timeout_ms bounds it. AE_NOT_FOUND
 * when no job has it. */
int analytics_webhcat_find(const analytics_backend *b, const char *statusdir, long timeout_ms,
                           char *id, size_t idlen, analytics_err *e);

/* GET jobs?fields=*: every job of the user, [{"id": ..., "detail": {... "userargs": {...}}}],
 * or NULL with e filled. WebHCat fetches every job's status for it: timeout_ms bounds it. */
json_t *analytics_webhcat_list(const analytics_backend *b, long timeout_ms, analytics_err *e);

/* WebHCat job ids are safe to put in a URL path: [A-Za-z0-9_.-], 1 to 95 characters. */
int analytics_webhcat_id_ok(const char *id);

#endif
