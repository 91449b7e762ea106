/* gg_http: the libmicrohttpd daemon, its access handler and the central dispatch (see gg_http.h).
 */
#include "gg_http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gg_config.h"

gg_http_server *gg_http_new(const gg_http_config *cfg, gg_log *log, gg_metrics *metrics)
{
    gg_http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->listen = strdup(cfg->listen ? cfg->listen : "127.0.0.1:0");
    s->cors_origin = cfg->cors_origin ? strdup(cfg->cors_origin) : NULL;
    s->cfg.listen = s->listen;
    s->cfg.cors_origin = s->cors_origin;
    if (!s->cfg.threads)
        s->cfg.threads = 2;
    if (!s->cfg.max_body)
        s->cfg.max_body = 1024 * 1024;
    if (!s->cfg.conn_timeout_s)
        s->cfg.conn_timeout_s = 60;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = 1024;
    if (!s->cfg.max_header_bytes)
        s->cfg.max_header_bytes = 32 * 1024;
    if (!s->cfg.backend_threads)
        s->cfg.backend_threads = 8;
    if (!s->cfg.route_concurrency)
        s->cfg.route_concurrency = 32;
    s->log = log;
    s->metrics = metrics;
    gg_http_streams_init(s);
    if (getrandom(&s->id_seed, sizeof(s->id_seed), 0) != (ssize_t)sizeof(s->id_seed))
        s->id_seed = (uint64_t)(uintptr_t)s ^ (uint64_t)time(NULL);
    if (metrics) {
        size_t nb;
        const double *b = gg_metrics_latency_buckets(&nb);
        s->unmatched_latency =
            gg_metrics_histogram(metrics, "http_request_duration_seconds",
                                 "HTTP request latency by route", "route=\"unmatched\"", b, nb);
    }
    return s;
}

int gg_http_route(gg_http_server *s, const char *method, const char *pattern, unsigned flags,
                  gg_http_handler handler, void *ud)
{
    return gg_http_route_query(s, method, pattern, NULL, flags, handler, ud);
}

int gg_http_route_query(gg_http_server *s, const char *method, const char *pattern,
                        const char *query, unsigned flags, gg_http_handler handler, void *ud)
{
    if (s->nroutes == GG_HTTP_MAX_ROUTES)
        return -1;
    gg_http_route_def *r = &s->routes[s->nroutes];
    if (gg_http_route_compile(r, method, pattern, query) != 0)
        return -1;
    r->flags = flags;
    r->handler = handler;
    r->ud = ud;
    if (s->metrics) {
        char labels[200], esc[160];
        size_t nb;
        const double *b = gg_metrics_latency_buckets(&nb);
        gg_metrics_label_escape(esc, sizeof(esc), pattern);
        snprintf(labels, sizeof(labels), "route=\"%s\"", esc);
        r->latency = gg_metrics_histogram(s->metrics, "http_request_duration_seconds",
                                          "HTTP request latency by route", labels, b, nb);
        r->waiting = gg_metrics_gauge(s->metrics, "http_backend_requests",
                                      "Admitted requests of a route waiting for a backend", labels);
    }
    s->nroutes++;
    return 0;
}

bool gg_http_is_json_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0 && strchr(ct, '/'));
}

static void reply_preflight(gg_http_req *req, const char *allow)
{
    gg_http_add_header(req, "Access-Control-Allow-Methods", allow);
    gg_http_add_header(req, "Access-Control-Allow-Headers",
                       "Authorization, Content-Type, If-None-Match, X-Request-Id");
    gg_http_add_header(req, "Access-Control-Max-Age", "600");
    gg_http_reply_empty(req, 204);
}

/* Whether a string anywhere in j holds U+0000, with the JSON pointer of the first in ptr. JSON
 * allows it, so such a body is valid; but every handler reads strings as C strings, and no
 * backend stores NUL in text, so it is refused by name rather than silently cut short. */
static bool find_nul(const json_t *j, char *ptr, size_t n, size_t at)
{
    if (json_is_string(j))
        return memchr(json_string_value(j), '\0', json_string_length(j)) != NULL;
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            int w = snprintf(ptr + at, n - at, "/%zu", i);
            if (find_nul(json_array_get(j, i), ptr, n,
                         w > 0 && (size_t)w < n - at ? at + (size_t)w : at))
                return true;
        }
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
        int w = snprintf(ptr + at, n - at, "/%s", key);
        if (find_nul(v, ptr, n, w > 0 && (size_t)w < n - at ? at + (size_t)w : at))
            return true;
    }
    ptr[at] = '\0';
    return false;
}

/* Parses a JSON body for routes that take one; answers 415/400/422 itself and returns false
 * then. */
static bool prepare_json_body(gg_http_req *req)
{
    if (!gg_http_is_json_type(gg_http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        gg_http_reply_problem(req, 415, "unsupported-media-type",
                              "the request body must be application/json");
        return false;
    }
    json_error_t err;
    req->json = json_loadb(req->body ? req->body : "", req->body_len,
                           JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    char where[256] = "";
    if (req->json ? find_nul(req->json, where, sizeof(where), 0)
                  : json_error_code(&err) == json_error_null_byte_in_key) {
        json_decref(req->json);
        req->json = NULL;
        gg_http_reply_problemf(req, 422, "invalid-text",
                               "%s%s holds the NUL character (\\u0000), which no text field takes",
                               *where ? "member " : "a member name", where);
        return false;
    }
    if (!req->json) {
        gg_http_reply_problemf(req, 400, "invalid-json",
                               "request body is not valid JSON: %s (line %d, column %d)", err.text,
                               err.line, err.column);
        return false;
    }
    return true;
}

static void dispatch(gg_http_server *s, gg_http_req *req)
{
    if (req->too_large) {
        gg_http_reply_problemf(req, 413, "payload-too-large",
                               "request body exceeds the limit of %zu bytes", s->cfg.max_body);
        return;
    }
    bool path_known;
    char allow[128];
    req->route = gg_http_route_find(s, req, &path_known, allow, sizeof(allow));
    if (!req->route) {
        if (path_known && strcmp(req->method, "OPTIONS") == 0 && s->cors_origin &&
            *s->cors_origin) {
            reply_preflight(req, allow);
        } else if (path_known) {
            gg_http_add_header(req, "Allow", allow);
            gg_http_reply_problemf(req, 405, "method-not-allowed",
                                   "%s is not allowed here; allowed: %s", req->method, allow);
        } else {
            gg_http_reply_problemf(req, 404, "not-found", "no resource at %s", req->path);
        }
        return;
    }
    if (!gg_http_route_query_ok(req))
        return;
    if ((req->route->flags & GG_HTTP_JSON_BODY) && !prepare_json_body(req))
        return;
    if (req->route->flags & GG_HTTP_BLOCKING)
        gg_http_admit(req, req->route->handler, req->route->ud);
    else
        req->route->handler(req, req->route->ud);
}

/* Queues the reply if there is one, else suspends a deferred request until its reply arrives.
 * Both sides decide under req->lock, so a reply from another thread either comes before this
 * (and is queued here) or finds the connection suspended (and resumes it, see gg_http_req.c). */
static enum MHD_Result queue_or_suspend(gg_http_req *req)
{
    pthread_mutex_lock(&req->lock);
    if (!req->response && req->deferred) {
        req->suspended = true;
        MHD_suspend_connection(req->conn);
        pthread_mutex_unlock(&req->lock);
        return MHD_YES;
    }
    bool answered = req->response != NULL;
    pthread_mutex_unlock(&req->lock);
    if (!answered)
        gg_http_reply_problem(req, 500, "internal", "the handler gave no answer");
    pthread_mutex_lock(&req->lock);
    struct MHD_Response *resp = req->response;
    unsigned status = req->status;
    pthread_mutex_unlock(&req->lock);
    if (!resp)
        return MHD_NO;
    return MHD_queue_response(req->conn, status, resp);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
    (void)version;
    gg_http_server *s = cls;
    gg_http_req *req = *req_cls;
    if (!req) {
        /* First call: headers only. Answering now would cost keep-alive (see gg_http.h). */
        req = gg_http_req_new(s, conn, method, url);
        if (!req)
            return MHD_NO;
        *req_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (gg_http_req_append(req, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* A resumed request comes back here: it is dispatched once. */
    if (!req->dispatched) {
        req->dispatched = true;
        dispatch(s, req);
    }
    return queue_or_suspend(req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    gg_http_req *req = *req_cls;
    if (!req)
        return;
    /* A deferred reply resumes the connection before it releases req->lock; when the client has
     * gone meanwhile, libmicrohttpd ends the resumed request here at once, without asking the
     * access handler. Taking the lock waits until that replier is done with req. */
    pthread_mutex_lock(&req->lock);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !req->status)
        req->status = 499; /* client went away before the answer */
    pthread_mutex_unlock(&req->lock);
    gg_http_req_finish(req);
    gg_http_req_free(req);
    *req_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    gg_warn((gg_log *)cls, "http server", "{s:s}", "detail", msg);
}

/* Percent-decoding as libmicrohttpd does it, except that "%00" stays as typed: a decoded NUL
 * would silently cut the path or a parameter short ("/v1/stations/%00/latest" would become
 * "/v1/stations/"), whereas kept literally it fails validation like any other bad character. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    if (strstr(uri, "%00"))
        return strlen(uri);
    return MHD_http_unescape(uri);
}

static int resolve_listen(gg_http_server *s, struct sockaddr_storage *ss)
{
    char host[256];
    unsigned short port;
    if (gg_conf_split_hostport(s->listen, host, sizeof(host), &port) != 0)
        return -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai)
        return -1;
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    return 0;
}

int gg_http_start(gg_http_server *s)
{
    struct sockaddr_storage ss;
    if (resolve_listen(s, &ss) != 0) {
        gg_error(s->log, "cannot resolve listen address", "{s:s}", "listen", s->listen);
        return -1;
    }
    /* Admission caps keep the queue short: it never holds more than the admitted requests. */
    s->backend =
        gg_pool_new(s->cfg.backend_threads, (size_t)s->cfg.route_concurrency * GG_HTTP_MAX_ROUTES);
    if (!s->backend) {
        gg_error(s->log, "cannot start the backend threads", "{s:i}", "threads",
                 (int)s->cfg.backend_threads);
        return -1;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger comes first so that libmicrohttpd reports even its option parsing through it.
     * No MHD_OPTION_LISTENING_ADDRESS_REUSE: SO_REUSEPORT would let a second instance share the
     * port and take half of the requests; libmicrohttpd's default SO_REUSEADDR still allows a
     * restart while old connections linger in TIME_WAIT. */
    errno = 0;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s->log,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.conn_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        s->cfg.max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->cfg.max_header_bytes,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_END);
    if (!s->daemon) {
        gg_pool_free(s->backend);
        s->backend = NULL;
        gg_error(s->log, "cannot start HTTP server", "{s:s, s:s}", "listen", s->listen, "error",
                 errno ? strerror(errno) : "see the previous line");
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    gg_info(s->log, "listening", "{s:s, s:i, s:i}", "listen", s->listen, "port", (int)s->port,
            "threads", (int)s->cfg.threads);
    return 0;
}

unsigned short gg_http_port(const gg_http_server *s)
{
    return s->port;
}

void gg_http_stop(gg_http_server *s)
{
    if (!s || !s->daemon)
        return;
    /* Stop accepting first so a load balancer's retries go elsewhere, then give open requests a
     * moment: MHD_stop_daemon closes whatever is still connected. */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR); /* refuses new connections; the descriptor stays ours */
    /* Every parked request must be answered (and so resumed) before the daemon stops: queued
     * ones get 503, running ones finish their backend call. */
    gg_pool_free(s->backend);
    s->backend = NULL;
    /* Streams never end by themselves, and a parked one would keep the daemon from stopping. */
    gg_http_streams_end_all(s);
    for (int i = 0; i < 50; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    /* Only now: a worker thread may still use the listen socket until the daemon has stopped
     * (MHD_quiesce_daemon's contract); closing it earlier could close a reused descriptor. */
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void gg_http_free(gg_http_server *s)
{
    if (!s)
        return;
    gg_http_stop(s);
    for (size_t i = 0; i < s->nroutes; i++)
        gg_http_route_release(&s->routes[i]);
    gg_http_streams_destroy(s);
    free(s->listen);
    free(s->cors_origin);
    free(s);
}
