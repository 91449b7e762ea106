/* gg_http_router: route patterns with "{name}" segments, matched segment by segment. A linear
 * scan is right here: services have a dozen routes, and comparing a few short segments is
 * cheaper than any hashing of the whole path. */
#include "gg_http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t split_path(char *path, char **segs, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return max + 1;
        segs[n++] = tok;
    }
    return n;
}

int gg_http_route_compile(gg_http_route_def *r, const char *method, const char *pattern,
                          const char *query)
{
    memset(r, 0, sizeof(*r));
    if (!pattern || pattern[0] != '/')
        return -1;
    r->method = strdup(method);
    r->pattern = strdup(pattern);
    r->query = strdup(query ? query : "");
    char *save = NULL;
    for (char *t = r->query ? strtok_r(r->query, " ", &save) : NULL; t;
         t = strtok_r(NULL, " ", &save)) {
        if (r->nqnames == GG_HTTP_MAX_QUERY) {
            gg_http_route_release(r);
            return -1;
        }
        r->qnames[r->nqnames++] = t;
    }
    char *copy = strdup(pattern);
    char *segs[GG_HTTP_MAX_SEGS + 1];
    size_t n = split_path(copy, segs, GG_HTTP_MAX_SEGS);
    if (n > GG_HTTP_MAX_SEGS) {
        free(copy);
        gg_http_route_release(r);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        r->segs[i] = strdup(segs[i]);
    r->nsegs = n;
    free(copy);
    return 0;
}

void gg_http_route_release(gg_http_route_def *r)
{
    for (size_t i = 0; i < r->nsegs; i++)
        free(r->segs[i]);
    free(r->method);
    free(r->pattern);
    free(r->query);
    memset(r, 0, sizeof(*r));
}

static bool is_capture(const char *seg)
{
    size_t len = strlen(seg);
    return len > 2 && seg[0] == '{' && seg[len - 1] == '}';
}

/* Matches without keeping anything, so that a failed candidate leaves req untouched. */
static bool path_matches(const gg_http_route_def *r, char **segs, size_t n)
{
    if (n != r->nsegs)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_capture(r->segs[i]) && strcmp(r->segs[i], segs[i]) != 0)
            return false;
    }
    return true;
}

static void take_params(gg_http_req *req, const gg_http_route_def *r, char **segs)
{
    req->nparams = 0;
    for (size_t i = 0; i < r->nsegs && req->nparams < GG_HTTP_MAX_PARAMS; i++) {
        if (!is_capture(r->segs[i]))
            continue;
        req->param_names[req->nparams] = r->segs[i];
        req->param_values[req->nparams] = strdup(segs[i]);
        req->nparams++;
    }
}

static bool method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

static void allow_add(char *allow, size_t len, const char *method)
{
    if (strstr(allow, method))
        return;
    size_t used = strlen(allow);
    snprintf(allow + used, len - used, "%s%s", used ? ", " : "", method);
}

const gg_http_route_def *gg_http_route_find(gg_http_server *s, gg_http_req *req, bool *path_known,
                                            char *allow, size_t allowlen)
{
    char *copy = strdup(req->path);
    char *segs[GG_HTTP_MAX_SEGS + 1];
    size_t n = copy ? split_path(copy, segs, GG_HTTP_MAX_SEGS) : GG_HTTP_MAX_SEGS + 1;
    const gg_http_route_def *found = NULL;
    *path_known = false;
    allow[0] = '\0';
    for (size_t i = 0; copy && n <= GG_HTTP_MAX_SEGS && i < s->nroutes; i++) {
        const gg_http_route_def *r = &s->routes[i];
        if (!path_matches(r, segs, n))
            continue;
        *path_known = true;
        allow_add(allow, allowlen, r->method);
        if (!found && method_matches(r->method, req->method)) {
            found = r;
            take_params(req, r, segs);
        }
    }
    free(copy);
    return found;
}

/* ---- query parameters ------------------------------------------------------------------------ */

typedef struct query_scan {
    const gg_http_route_def *route;
    unsigned seen[GG_HTTP_MAX_QUERY];
    const char *offender; /* the first parameter the route does not take or got twice */
    bool repeated;
} query_scan;

static enum MHD_Result scan_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    (void)value;
    query_scan *q = cls;
    for (size_t i = 0; i < q->route->nqnames; i++) {
        if (strcmp(q->route->qnames[i], key) != 0)
            continue;
        if (q->seen[i]++ == 0)
            return MHD_YES;
        q->repeated = true;
        break;
    }
    q->offender = key;
    return MHD_NO;
}

bool gg_http_route_query_ok(gg_http_req *req)
{
    const gg_http_route_def *r = req->route;
    query_scan q = {.route = r};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, scan_arg, &q);
    if (!q.offender)
        return true;
    if (q.repeated) {
        gg_http_reply_problemf(req, 400, "invalid-parameter",
                               "query parameter '%s' is given more than once", q.offender);
        return false;
    }
    char taken[256] = "none";
    size_t used = 0;
    for (size_t i = 0; i < r->nqnames && used < sizeof(taken); i++)
        used += (size_t)snprintf(taken + used, sizeof(taken) - used, "%s%s", i ? ", " : "",
                                 r->qnames[i]);
    gg_http_reply_problemf(req, 400, "invalid-parameter",
                           "query parameter '%s' is not taken here (this resource takes %s)",
                           q.offender, taken);
    return false;
}
