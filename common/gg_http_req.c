/* gg_http_req: one request's state, its accessors and the replies a handler gives. */
#include "gg_http_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool request_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= 128 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || strchr("._:-", c)))
            return false;
    }
    return n > 0;
}

gg_http_req *gg_http_req_new(gg_http_server *s, struct MHD_Connection *conn, const char *method,
                             const char *path)
{
    gg_http_req *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->srv = s;
    req->conn = conn;
    req->method = method;
    req->path = path;
    pthread_mutex_init(&req->lock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && request_id_ok(rid)) {
        snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
    } else {
        uint64_t seq = atomic_fetch_add(&s->next_id, 1);
        snprintf(req->request_id, sizeof(req->request_id), "%016llx%08llx",
                 (unsigned long long)s->id_seed, (unsigned long long)(seq & 0xffffffffu));
    }
    return req;
}

void gg_http_req_free(gg_http_req *req)
{
    for (size_t i = 0; i < req->nparams; i++)
        free(req->param_values[i]);
    for (gg_http_header_kv *h = req->headers, *next; h; h = next) {
        next = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    if (req->response)
        MHD_destroy_response(req->response);
    json_decref(req->json);
    free(req->body);
    pthread_mutex_destroy(&req->lock);
    free(req);
}

int gg_http_req_append(gg_http_req *req, const char *data, size_t len)
{
    size_t max = req->srv->cfg.max_body;
    if (req->too_large || req->body_len + len > max) {
        req->too_large = true; /* keep draining, answer 413 at the end */
        return 0;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 1024;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        char *grown = realloc(req->body, cap);
        if (!grown)
            return -1;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return 0;
}

const char *gg_http_method(const gg_http_req *req)
{
    return req->method;
}

const char *gg_http_path(const gg_http_req *req)
{
    return req->path;
}

const char *gg_http_route_pattern(const gg_http_req *req)
{
    return req->route ? req->route->pattern : "unmatched";
}

const char *gg_http_param(const gg_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++) {
        const char *n = req->param_names[i];
        size_t len = strlen(n) - 2; /* "{name}" */
        if (strlen(name) == len && strncmp(n + 1, name, len) == 0)
            return req->param_values[i];
    }
    return NULL;
}

const char *gg_http_query(const gg_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *gg_http_header(const gg_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *gg_http_request_id(const gg_http_req *req)
{
    return req->request_id;
}

const char *gg_http_body(const gg_http_req *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

json_t *gg_http_json(const gg_http_req *req)
{
    return req->json;
}

bool gg_http_bearer_ok(const gg_http_req *req, const char *token)
{
    const char *auth = gg_http_header(req, "Authorization");
    if (!token || !*token || !auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *given = auth + 7;
    size_t glen = strlen(given), tlen = strlen(token);
    /* Constant time in the token's length, so timing does not reveal a matching prefix. */
    unsigned char diff = (unsigned char)(glen != tlen);
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)(token[i] ^ (i < glen ? given[i] : 0));
    return diff == 0;
}

bool gg_http_query_long(gg_http_req *req, const char *name, long min, long max, long def, long *out)
{
    const char *v = gg_http_query(req, name);
    if (!v) {
        *out = def;
        return true;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        gg_http_reply_problemf(req, 400, "invalid-parameter",
                               "query parameter '%s' must be an integer from %ld to %ld", name, min,
                               max);
        return false;
    }
    *out = n;
    return true;
}

void gg_http_add_header(gg_http_req *req, const char *name, const char *value)
{
    gg_http_header_kv *h = calloc(1, sizeof(*h));
    if (!h)
        return;
    h->name = strdup(name);
    h->value = strdup(value);
    h->next = req->headers;
    req->headers = h;
}

/* Hands the reply to the worker. A deferred request whose worker already suspended it is
 * resumed in the same critical section: once the lock is released the worker may send the reply
 * and free req, so this is the replying thread's last touch of req. A deferred request not
 * suspended yet needs no resume: its worker finds the reply when it looks (queue_or_suspend). */
static void publish(gg_http_req *req, unsigned status, struct MHD_Response *resp, size_t len)
{
    pthread_mutex_lock(&req->lock);
    if (req->response) { /* a second reply is a handler bug; the first one wins */
        pthread_mutex_unlock(&req->lock);
        MHD_destroy_response(resp);
        return;
    }
    req->response = resp;
    req->status = status;
    req->reply_bytes = len;
    if (req->admitted) { /* the admission slot is free as soon as the answer exists */
        atomic_fetch_sub(&req->admitted->inflight, 1);
        if (req->admitted->waiting)
            gg_gauge_add(req->admitted->waiting, -1);
        req->admitted = NULL;
    }
    if (req->answered) {
        *req->answered = true;
        req->answered = NULL;
    }
    if (req->suspended) {
        req->suspended = false;
        MHD_resume_connection(req->conn);
    }
    pthread_mutex_unlock(&req->lock);
}

void gg_http_set_response(gg_http_req *req, unsigned status, struct MHD_Response *resp,
                          const char *content_type, size_t len)
{
    if (!resp)
        return;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    const char *origin = req->srv->cors_origin;
    if (origin && *origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "ETag, X-Request-Id");
        if (strcmp(origin, "*") != 0)
            MHD_add_response_header(resp, "Vary", "Origin");
    }
    for (gg_http_header_kv *h = req->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    publish(req, status, resp, len);
}

void gg_http_reply_bytes(gg_http_req *req, unsigned status, const char *content_type, char *body,
                         size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!resp)
        free(body);
    gg_http_set_response(req, status, resp, content_type, len);
}

void gg_http_reply_static(gg_http_req *req, unsigned status, const char *content_type,
                          const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    gg_http_set_response(req, status, resp, content_type, len);
}

void gg_http_reply_empty(gg_http_req *req, unsigned status)
{
    gg_http_reply_static(req, status, NULL, "", 0);
}

static void reply_json_typed(gg_http_req *req, unsigned status, json_t *body, const char *type)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (!text) {
        static const char oom[] = "{\"title\":\"Internal Server Error\",\"status\":500}";
        gg_http_reply_static(req, 500, "application/problem+json", oom, sizeof(oom) - 1);
        return;
    }
    gg_http_reply_bytes(req, status, type, text, strlen(text));
}

void gg_http_reply_json(gg_http_req *req, unsigned status, json_t *body)
{
    reply_json_typed(req, status, body, "application/json");
}

static const char *status_title(unsigned status)
{
    const char *t = MHD_get_reason_phrase_for(status);
    return t && *t ? t : "Error";
}

/* s as a JSON string. The request path (and details quoting it) is whatever bytes the client
 * sent; JSON holds only UTF-8, so text that is not valid UTF-8 goes out with its bytes >= 0x80
 * percent-encoded, as a URI would carry them, instead of failing the whole answer with a 500. */
static json_t *client_text(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    size_t n = strlen(s);
    char *esc = malloc(3 * n + 1), *o = esc;
    if (!esc)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c >= 0x80)
            o += sprintf(o, "%%%02X", *c);
        else
            *o++ = (char)*c;
    }
    *o = '\0';
    v = json_string(esc);
    free(esc);
    return v;
}

void gg_http_reply_problem_with(gg_http_req *req, unsigned status, const char *slug,
                                const char *detail, json_t *extra)
{
    char type[96];
    snprintf(type, sizeof(type), "urn:gridgate:problem:%s", slug ? slug : "error");
    json_t *p = json_pack("{s:s, s:s, s:i, s:o, s:o, s:s}", "type", type, "title",
                          status_title(status), "status", (int)status, "detail",
                          client_text(detail ? detail : status_title(status)), "instance",
                          client_text(req->path), "request_id", req->request_id);
    if (p && json_is_object(extra))
        json_object_update_missing(p, extra);
    json_decref(extra);
    reply_json_typed(req, status, p, "application/problem+json");
}

void gg_http_reply_problem(gg_http_req *req, unsigned status, const char *slug, const char *detail)
{
    gg_http_reply_problem_with(req, status, slug, detail, NULL);
}

void gg_http_reply_problemf(gg_http_req *req, unsigned status, const char *slug, const char *fmt,
                            ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    gg_http_reply_problem(req, status, slug, detail);
}

void gg_http_defer(gg_http_req *req)
{
    pthread_mutex_lock(&req->lock);
    req->deferred = true;
    pthread_mutex_unlock(&req->lock);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The method as a metric label: one of the methods of RFC 9110 and RFC 5789, else "other". A
 * client chooses the method string freely, and each distinct value would be a new series until
 * the registry is full (see gg_metrics.h). */
static const char *method_label(const char *method)
{
    static const char *const known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return "other";
}

void gg_http_req_finish(gg_http_req *req)
{
    gg_http_server *s = req->srv;
    double secs = seconds_since(&req->start);
    const char *route = gg_http_route_pattern(req);
    if (s->metrics) {
        char labels[300], esc[200];
        gg_metrics_label_escape(esc, sizeof(esc), route);
        snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%u\"", esc,
                 method_label(req->method), req->status);
        gg_counter_add(gg_metrics_counter(s->metrics, "http_requests_total",
                                          "HTTP requests by route, method and status", labels),
                       1);
        gg_histogram *h = req->route ? req->route->latency : s->unmatched_latency;
        if (h)
            gg_histogram_observe(h, secs);
    }
    gg_info(s->log, "request", "{s:s, s:s, s:s, s:i, s:f, s:I, s:s}", "method", req->method, "path",
            req->path, "route", route, "status", (int)req->status, "duration_ms", secs * 1000.0,
            "bytes", (json_int_t)req->reply_bytes, "request_id", req->request_id);
}
