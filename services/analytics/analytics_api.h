/* analytics_api: the REST interface (api/analytics/paths.yaml):
 *   POST   /v1/wordcount    word counts over an HDFS directory (API token)
 *   POST   /v1/queries      raw HiveQL (admin token)
 *   GET    /v1/jobs         jobs, newest first, paginated (API token)
 *   GET    /v1/jobs/{id}    one job, with a page of its result rows (API token)
 *   DELETE /v1/jobs/{id}    kill a job (admin token)
 * The POSTs take ?wait=SECONDS: the request is parked with the tracker and answered 200 when
 * the job succeeds within that time, 422 (job-failed) or 409 (job-killed) problems carrying the
 * job when it fails or is killed, else 202. */
#ifndef ANALYTICS_API_H
#define ANALYTICS_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "analytics.h"
#include "gg_http.h"

#define ANALYTICS_PAGE_DEFAULT 100   /* rows per page unless ?limit= */
#define ANALYTICS_PAGE_MAX     10000 /* most rows per page */

/* How analytics_api_answer_job answers. */
#define ANALYTICS_ANSWER_ACCEPTED 0x1u  /* 202 while the job has not ended, 200 once it has */
#define ANALYTICS_ANSWER_LOCATION 0x2u  /* adds Location: /v1/jobs/{id} */
#define ANALYTICS_ANSWER_CACHED   0x4u  /* "cached": true (a repeated word count) */
#define ANALYTICS_ANSWER_NEW      0x8u  /* "cached": false */
#define ANALYTICS_ANSWER_202      0x10u /* 202 whatever the state (a kill request) */
#define ANALYTICS_ANSWER_WAITED   0x20u /* the caller waited: failed 422, killed 409 (problems) */

int analytics_api_mount(analytics_ctx *ctx);

/* Answers req with job id as GET /v1/jobs/{id} shows it: the job, and once it succeeded a page
 * of its rows. Used by the HTTP handlers and by the tracker for parked requests. */
void analytics_api_answer_job(analytics_ctx *ctx, gg_http_req *req, const char *id,
                              const analytics_page *page, unsigned how);

/* A backend failure as problem+json: 503 when it did not answer, 502 when it answered wrongly;
 * the problem names the backend (type urn:gridgate:problem:webhcat-unavailable ...). */
void analytics_api_backend_error(gg_http_req *req, const analytics_err *e);
/* A problem+json answer with an optional extension member "field" (NULL leaves it out). */
void analytics_api_problem(gg_http_req *req, unsigned status, const char *slug, const char *detail,
                           const char *field);
/* 400 naming what was wrong, also as member "field", in the vocabulary every service shares:
 * invalid-parameter for a path or query parameter, invalid-body for a member of the body. */
void analytics_api_invalid_param(gg_http_req *req, const char *name, const char *why);
void analytics_api_invalid_body(gg_http_req *req, const char *field, const char *why);
/* Who calls. API: word counts and reads of word-count jobs; ADMIN: also raw HiveQL, kills and
 * reads of every job. NONE is 0, so the result reads as a bool. */
typedef enum analytics_scope {
    ANALYTICS_SCOPE_NONE = 0,
    ANALYTICS_SCOPE_API,
    ANALYTICS_SCOPE_ADMIN
} analytics_scope;

/* The caller's scope when it meets the route's need (admin or not); else answers (401 without a
 * valid token, 403 for an API token on an admin route or when no admin token is configured) and
 * returns ANALYTICS_SCOPE_NONE. Closed by default: without an API token configured, only
 * GRIDGATE_OPEN_ACCESS=true lets callers without a token in, with the API scope. */
analytics_scope analytics_api_auth(analytics_ctx *ctx, gg_http_req *req, bool admin);
/* ?offset= and ?limit=; answers 400 when they are bad. */
bool analytics_api_page(gg_http_req *req, analytics_page *page);

/* analytics_api_submit.c: the two POST routes. */
void analytics_api_wordcount(gg_http_req *req, void *ud);
void analytics_api_query(gg_http_req *req, void *ud);
/* The HiveQL of a POST /v1/queries body {"hiveql": "..."}: a non-empty string without NUL of at
 * most max_bytes bytes, borrowed from body. NULL when the body is not that, with the offending
 * member ("body" or "hiveql") in *field and the reason in why. */
const char *analytics_api_query_text(json_t *body, long max_bytes, const char **field, char *why,
                                     size_t whylen);

#endif
