/* gg_http: the HTTP front of every gridgate service, a thin layer over libmicrohttpd.
 *
 * It owns what all three services must do identically: routing with path parameters, JSON
 * bodies, errors as RFC 9457 problem+json, the request-size limit, 404/405/413/415 answered
 * centrally, X-Request-Id echoed or generated, CORS, one access-log line and the request
 * metrics per request. Handlers only see a gg_http_req and answer with one gg_http_reply_*().
 *
 * The request metrics take their labels from bounded sets only, so no client can fill the
 * registry: route is the matched route's pattern or "unmatched", method a standard method or
 * "other", status the answer's code.
 *
 * Responses are queued on libmicrohttpd's second call for a request, never the first: on the
 * first call libmicrohttpd 0.9.75 would answer with "Connection: close" and every request would
 * pay for a new TCP connection.
 *
 * A handler may also defer its answer (gg_http_defer) and give it later from another thread with
 * one gg_http_reply_*, for long polls such as "wait until the job ends". */
#ifndef GG_HTTP_H
#define GG_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gg_log.h"
#include "gg_metrics.h"

typedef struct gg_http_server gg_http_server;
typedef struct gg_http_req gg_http_req;

typedef void (*gg_http_handler)(gg_http_req *req, void *ud);

/* Route flags. */
#define GG_HTTP_JSON_BODY 0x1u /* body must be application/json; parsed before the handler runs */
#define GG_HTTP_RAW_BODY  0x2u /* body accepted as is (any type) */
/* The handler waits on a backend (a store, a broker): it runs on the server's backend pool, never
 * on an HTTP thread, so probes and in-memory routes keep answering while a backend hangs. At most
 * route_concurrency such requests per route are admitted at a time; beyond that the answer is 503
 * problem+json with Retry-After. Such a handler replies before it returns. */
#define GG_HTTP_BLOCKING 0x4u

typedef struct gg_http_config {
    const char *listen;       /* "host:port"; port 0 picks a free one (see gg_http_port) */
    unsigned threads;         /* worker threads; 0 means 2 */
    size_t max_body;          /* bytes; larger requests get 413. 0 means 1 MiB */
    const char *cors_origin;  /* Access-Control-Allow-Origin value, NULL/"" disables CORS */
    unsigned conn_timeout_s;  /* a connection idle this long (also mid-request: a slowloris client)
                                 is closed; 0 means 60 */
    unsigned max_connections; /* open connections; more are refused. 0 means 1024 */
    size_t max_header_bytes;  /* request line plus headers; more is answered 431. 0: 16 KiB */
    unsigned backend_threads; /* threads that run GG_HTTP_BLOCKING handlers; 0 means 8 */
    unsigned route_concurrency; /* GG_HTTP_BLOCKING requests per route at a time; 0 means 32 */
} gg_http_config;

gg_http_server *gg_http_new(const gg_http_config *cfg, gg_log *log, gg_metrics *metrics);
/* Routes are matched in the order added. pattern segments "{name}" capture one path segment.
 * HEAD is served by the GET route. query names the query parameters the route takes, separated
 * by spaces ("from to limit cursor"); NULL or "" takes none. A request with a parameter its
 * route does not take, or with one given twice, is answered 400 (invalid-parameter, naming it)
 * before the handler runs: a misspelt parameter is never silently ignored. Returns 0, or -1 on
 * a malformed pattern. Add routes before gg_http_start. */
int gg_http_route_query(gg_http_server *s, const char *method, const char *pattern,
                        const char *query, unsigned flags, gg_http_handler handler, void *ud);
/* A route that takes no query parameters. */
int gg_http_route(gg_http_server *s, const char *method, const char *pattern, unsigned flags,
                  gg_http_handler handler, void *ud);
/* Binds and starts the worker threads. Returns 0, or -1 with a logged reason. */
int gg_http_start(gg_http_server *s);
unsigned short gg_http_port(const gg_http_server *s);
/* Stops accepting; lets libmicrohttpd finish the connections it has; joins the workers. */
void gg_http_stop(gg_http_server *s);
void gg_http_free(gg_http_server *s);

/* Request accessors; every string stays valid until the reply is sent. */
const char *gg_http_method(const gg_http_req *req);
const char *gg_http_path(const gg_http_req *req);
const char *gg_http_route_pattern(const gg_http_req *req);
const char *gg_http_param(const gg_http_req *req, const char *name);
const char *gg_http_query(const gg_http_req *req, const char *name);
const char *gg_http_header(const gg_http_req *req, const char *name);
const char *gg_http_request_id(const gg_http_req *req);
const char *gg_http_body(const gg_http_req *req, size_t *len);
json_t *
gg_http_json(const gg_http_req *req); /* parsed body of GG_HTTP_JSON_BODY routes; borrowed */
/* Whether a Content-Type names JSON: application/json or a structured "+json" type, with any
 * parameters after ';'. The one rule of GG_HTTP_JSON_BODY routes and of handlers that parse their
 * body themselves. */
bool gg_http_is_json_type(const char *content_type);
/* "Authorization: Bearer <token>" equals token (compared in constant time); false when token is
 * NULL or empty, so an unset token never opens an endpoint. */
bool gg_http_bearer_ok(const gg_http_req *req, const char *token);
/* Parses query parameter name as an integer in [min, max]; absent gives def. On a bad value it
 * answers 400 naming the parameter and returns false. */
bool gg_http_query_long(gg_http_req *req, const char *name, long min, long max, long def,
                        long *out);

/* Replies. Call exactly one; a handler that returns without replying (and without deferring)
 * is answered with 500. Headers added before the reply go out with it. */
void gg_http_add_header(gg_http_req *req, const char *name, const char *value);
void gg_http_reply_json(gg_http_req *req, unsigned status, json_t *body); /* steals body */
void gg_http_reply_bytes(gg_http_req *req, unsigned status, const char *content_type, char *body,
                         size_t len); /* takes ownership of a malloc'd body */
void gg_http_reply_static(gg_http_req *req, unsigned status, const char *content_type,
                          const char *body, size_t len); /* body outlives the server */
void gg_http_reply_empty(gg_http_req *req, unsigned status);
/* application/problem+json: {type, title, status, detail, instance, request_id}. slug names the
 * problem type ("not-found" -> "urn:gridgate:problem:not-found"). */
void gg_http_reply_problem(gg_http_req *req, unsigned status, const char *slug, const char *detail);
/* The same with extension members (RFC 9457 section 3.2), e.g. {"field": ...} or {"items": [...]}:
 * an object, stolen, may be NULL; members that clash with the standard ones are dropped. */
void gg_http_reply_problem_with(gg_http_req *req, unsigned status, const char *slug,
                                const char *detail, json_t *extra);
void gg_http_reply_problemf(gg_http_req *req, unsigned status, const char *slug, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

/* Deferred replies: the handler calls gg_http_defer before it hands req to another thread, and
 * returns. Later, any thread answers with exactly one gg_http_reply_* (headers added first), which
 * also wakes the suspended connection. That reply is the last use of req: the server may send it
 * and free req before the call returns, so nothing may touch req afterwards, not even to read. */
void gg_http_defer(gg_http_req *req);

/* Streamed replies (Server-Sent Events): a response of unknown length whose bytes come from
 * read(ud, ...) as they become available. read runs on an HTTP thread and must not block: it
 * copies what is pending (at most max bytes) and returns the count; 0 when nothing is pending,
 * which parks the connection (suspended in libmicrohttpd: no thread waits for it, no poll
 * watches it) until gg_http_stream_wake; GG_HTTP_STREAM_END ends the response. close(ud) runs
 * once, when the server is done with the stream (client gone, stream ended, server stopping, or
 * the reply never sent); after it returns no call may name the stream again. gg_http_stop ends
 * every open stream first, since a parked connection would keep the server from stopping. A
 * stream's socket gets a fixed kernel send buffer (64 KiB), so a client that stops reading
 * backs up into its owner's queue within that much. */
typedef struct gg_http_stream gg_http_stream;
#define GG_HTTP_STREAM_END ((size_t)-1)
typedef size_t (*gg_http_stream_read)(void *ud, char *buf, size_t max);
typedef void (*gg_http_stream_close)(void *ud);
/* The stream of req, not sent yet: the caller stores the handle where its waker finds it, then
 * answers with gg_http_reply_stream. NULL when out of memory (close is not called then). */
gg_http_stream *gg_http_stream_new(gg_http_req *req, gg_http_stream_read read,
                                   gg_http_stream_close close, void *ud);
/* Sends status and headers (those added to req, and Cache-Control: no-cache), then the stream. */
void gg_http_reply_stream(gg_http_req *req, unsigned status, const char *content_type,
                          gg_http_stream *st);
/* More is pending (or the end, see below): read runs again soon. Any thread. */
void gg_http_stream_wake(gg_http_stream *st);
/* Ends the stream: read is not called again. abort also cuts the connection at once, even when
 * the client reads nothing and the socket buffer is full (a stalled client); otherwise the
 * response ends cleanly once what was read is sent. Any thread. */
void gg_http_stream_end(gg_http_stream *st, bool abort);

/* For a handler on an HTTP thread that finds it must wait on a backend after all (a cache miss):
 * the rest, handler(req, ud), runs on the backend pool within the route's admission cap, exactly
 * as for a GG_HTTP_BLOCKING route; over the cap, req is answered 503 with Retry-After. The
 * calling handler returns at once and touches req no more. */
void gg_http_offload(gg_http_req *req, gg_http_handler handler, void *ud);

#endif
