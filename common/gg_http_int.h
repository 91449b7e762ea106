/* gg_http_int: the structures shared by the gg_http_*.c files; not part of the interface. */
#ifndef GG_HTTP_INT_H
#define GG_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "gg_http.h"
#include "gg_pool.h"

#define GG_HTTP_MAX_SEGS   16
#define GG_HTTP_MAX_PARAMS 8
#define GG_HTTP_MAX_ROUTES 64
#define GG_HTTP_MAX_QUERY  16 /* query parameters one route takes */

typedef struct gg_http_route_def {
    char *method;
    char *pattern;
    char *segs[GG_HTTP_MAX_SEGS]; /* "{x}" marks a capture */
    size_t nsegs;
    char *query; /* the route's query parameter names, split in place at registration */
    const char *qnames[GG_HTTP_MAX_QUERY];
    size_t nqnames;
    unsigned flags;
    gg_http_handler handler;
    void *ud;
    gg_histogram *latency; /* looked up once: the per-request path stays lock-free */
    atomic_uint inflight;  /* admitted backend-bound requests not answered yet */
    gg_gauge *waiting;     /* the same, as http_backend_requests{route}; blocking routes only */
} gg_http_route_def;

typedef struct gg_http_header_kv {
    char *name;
    char *value;
    struct gg_http_header_kv *next;
} gg_http_header_kv;

struct gg_http_server {
    gg_http_config cfg;
    char *listen;
    char *cors_origin;
    gg_log *log;
    gg_metrics *metrics;
    struct MHD_Daemon *daemon;
    gg_http_route_def routes[GG_HTTP_MAX_ROUTES];
    size_t nroutes;
    gg_histogram *unmatched_latency;
    gg_pool *backend; /* runs GG_HTTP_BLOCKING handlers and gg_http_offload continuations */
    atomic_uint_fast64_t next_id; /* request ids: seed + sequence, unique per process */
    uint64_t id_seed;
    unsigned short port;
    /* Open streams (gg_http_stream.c), so that stopping can end them. */
    pthread_mutex_t streams_lock;
    struct gg_http_stream *streams;
    bool streams_closed; /* stopping: a new stream ends at once */
};

struct gg_http_req {
    gg_http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const gg_http_route_def *route;
    const char *param_names[GG_HTTP_MAX_PARAMS];
    char *param_values[GG_HTTP_MAX_PARAMS];
    size_t nparams;
    char *body;
    size_t body_len, body_cap;
    bool too_large;
    json_t *json;
    char request_id[130];
    struct timespec start;
    bool dispatched; /* the handler ran; only the worker thread reads or writes it */
    gg_http_header_kv *headers;
    /* The reply, built by gg_http_reply_* and queued by the access handler. A deferred reply
     * comes from another thread, which publishes it and resumes the connection under lock. */
    pthread_mutex_t lock;
    struct MHD_Response *response;
    unsigned status;
    size_t reply_bytes;
    bool deferred, suspended;
    /* Set while req holds one of its route's admission slots (gg_http_offload); the reply gives
     * the slot back and marks the job answered, so its worker knows req may be gone. */
    gg_http_route_def *admitted;
    bool *answered;
};

/* gg_http_router.c */
int gg_http_route_compile(gg_http_route_def *r, const char *method, const char *pattern,
                          const char *query);
void gg_http_route_release(gg_http_route_def *r);
/* Finds the route for req's method and path, filling its parameters. Returns the route, or
 * NULL with *path_known set when some route has the path under another method (405). */
const gg_http_route_def *gg_http_route_find(gg_http_server *s, gg_http_req *req, bool *path_known,
                                            char *allow, size_t allowlen);
/* True when req's query parameters are ones its route takes, each given once; otherwise answers
 * 400 naming the first offender and returns false. */
bool gg_http_route_query_ok(gg_http_req *req);

/* gg_http_req.c */
gg_http_req *gg_http_req_new(gg_http_server *s, struct MHD_Connection *conn, const char *method,
                             const char *path);
void gg_http_req_free(gg_http_req *req);
int gg_http_req_append(gg_http_req *req, const char *data, size_t len);
void gg_http_req_finish(gg_http_req *req); /* access log and metrics, once the reply went out */
/* Adds the common headers (type, request id, CORS, the handler's) to resp and hands it over as
 * req's reply; resp NULL (out of memory) leaves req unanswered. */
void gg_http_set_response(gg_http_req *req, unsigned status, struct MHD_Response *resp,
                          const char *content_type, size_t len);

/* gg_http_stream.c */
void gg_http_streams_init(gg_http_server *s);
/* Ends every open stream and refuses new ones (stopping). */
void gg_http_streams_end_all(gg_http_server *s);
void gg_http_streams_destroy(gg_http_server *s);

/* gg_http_admit.c */
/* Runs handler(req, ud) on the backend pool within req's route's admission cap (see
 * gg_http_offload); answers 503 itself when over the cap or when the pool is full. */
void gg_http_admit(gg_http_req *req, gg_http_handler handler, void *ud);

#endif
