/* gg_http_admit: admission of backend-bound requests and their hand-over to the backend pool
 * (see gg_http_offload in gg_http.h).
 *
 * A request is admitted when its route has fewer than route_concurrency requests unanswered;
 * the slot is given back by the reply itself (gg_http_req.c), so a client that sends its next
 * request as soon as it has the answer finds the slot free. The handler then runs on a pool
 * thread while the connection is suspended: an HTTP thread never waits on a backend. */
#include "gg_http_int.h"

#include <stdlib.h>

typedef struct admit_job {
    gg_http_req *req;
    gg_http_handler handler;
    void *ud;
    bool answered; /* set by the reply, under req->lock */
} admit_job;

static void reply_overloaded(gg_http_req *req, const char *detail)
{
    gg_http_add_header(req, "Retry-After", "1");
    gg_http_reply_problem(req, 503, "overloaded", detail);
}

static void run_job(void *arg, int cancelled)
{
    admit_job *j = arg;
    if (cancelled)
        reply_overloaded(j->req, "the service is shutting down");
    else
        j->handler(j->req, j->ud);
    /* Nothing may touch req once it is answered; a handler that forgot to answer left it alive. */
    if (!j->answered)
        gg_http_reply_problem(j->req, 500, "internal", "the handler gave no answer");
    free(j);
}

void gg_http_admit(gg_http_req *req, gg_http_handler handler, void *ud)
{
    gg_http_server *s = req->srv;
    gg_http_route_def *route = (gg_http_route_def *)req->route;
    if (!s->backend || req->admitted) { /* already on the pool: go on here */
        handler(req, ud);
        return;
    }
    if (atomic_fetch_add(&route->inflight, 1) >= s->cfg.route_concurrency) {
        atomic_fetch_sub(&route->inflight, 1);
        reply_overloaded(req, "too many requests on this route are waiting for a backend");
        return;
    }
    admit_job *j = calloc(1, sizeof(*j));
    if (!j) {
        atomic_fetch_sub(&route->inflight, 1);
        reply_overloaded(req, "out of memory");
        return;
    }
    *j = (admit_job){.req = req, .handler = handler, .ud = ud};
    if (route->waiting)
        gg_gauge_add(route->waiting, 1);
    req->admitted = route;
    req->answered = &j->answered;
    gg_http_defer(req);
    if (gg_pool_submit(s->backend, run_job, j) != 0) {
        /* The reply gives the slot back; the access handler queues it (nothing is suspended). */
        reply_overloaded(req, "the backend queue is full");
        free(j);
    }
}

void gg_http_offload(gg_http_req *req, gg_http_handler handler, void *ud)
{
    gg_http_admit(req, handler, ud);
}
