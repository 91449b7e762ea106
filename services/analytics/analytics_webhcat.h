/* analytics_webhcat: the WebHCat (Templeton) v1 calls the service makes, using only the
 * documented API: GET status, POST hive, GET jobs/:jobid, DELETE jobs/:jobid and GET jobs. */
#ifndef ANALYTICS_WEBHCAT_H
#define ANALYTICS_WEBHCAT_H

#include <jansson.h>
#include <stddef.h>

#include "analytics_backend.h"

/* Health probe (gg_health_probe); ud is the analytics_backend. GET status must say "ok". */
int analytics_webhcat_probe(void *ud, char *err, size_t errlen);

/* POST hive with execute=hiveql and statusdir; the job id WebHCat gave goes to id. WebHCat may
 * take seconds to queue a job, so this call has its own bound, timeout_ms. When it fails with
 * e->uncertain set, WebHCat may have queued the job all the same. */
int analytics_webhcat_submit(const analytics_backend *b, const char *hiveql, const char *statusdir,
                             long timeout_ms, char *id, size_t idlen, analytics_err *e);

/* GET jobs/:jobid; *out gets the answer's JSON object (caller owns it). An unknown job (WebHCat
 * says 400 "Could not find job") is AE_NOT_FOUND. */
int analytics_webhcat_job(const analytics_backend *b, const char *id, json_t **out,
                          analytics_err *e);

/* DELETE jobs/:jobid. */
int analytics_webhcat_kill(const analytics_backend *b, const char *id, analytics_err *e);

/* Looks for the job submitted with this statusdir among GET jobs?fields=* (how a submission
 * whose answer was lost in a crash is found again). AE_NOT_FOUND when no job has it. */
int analytics_webhcat_find(const analytics_backend *b, const char *statusdir, char *id,
                           size_t idlen, analytics_err *e);

/* WebHCat job ids are safe to put in a URL path: [A-Za-z0-9_.-], 1 to 95 characters. */
int analytics_webhcat_id_ok(const char *id);

#endif
