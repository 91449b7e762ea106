/* fuzz_http_url: URL path and query handling of the HTTP layer, end to end.
 *
 * A gg_http server on loopback (started once) carries the routes of the three services, each
 * handler reading its path parameters and query values with the services' own parsers (station
 * ids, id lists, times, cursors, paging, job ids). Each input is a request target ("/v1/...?..."),
 * optionally preceded by a method and a space, sent over one keep-alive connection, so it passes
 * through libmicrohttpd's request-line and query parsing, the layer's percent-decoding rule and
 * the router, exactly as a client's request would. Checks: every request is answered, never with
 * a 5xx (bad input is a 4xx), and what reaches a handler keeps the router's promises. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "analytics_api.h"
#include "analytics_validate.h"
#include "cache_ids.h"
#include "fuzz.h"
#include "gg_http.h"
#include "gg_record.h"
#include "ingest_cursor.h"

/* Query arguments a request may have here (see LLVMFuzzerTestOneInput). */
#define MHD_ARGS_MAX 200

static gg_http_server *server;
static int conn_fd = -1;

/* A path parameter is one non-empty segment: the router never hands out a '/'. */
static const char *segment(gg_http_req *req, const char *name)
{
    const char *v = gg_http_param(req, name);
    FUZZ_CHECK(v != NULL && v[0] != '\0' && strchr(v, '/') == NULL);
    return v;
}

static void answer(gg_http_req *req, bool ok)
{
    if (ok)
        gg_http_reply_json(req, 200, json_object());
    else
        gg_http_reply_problem(req, 400, "invalid-parameter", "rejected");
}

static bool aspect_ok(gg_http_req *req)
{
    const char *v = gg_http_query(req, "aspect");
    gg_aspect a;
    return !v || gg_aspect_parse(v, &a) == 0;
}

static void h_station(gg_http_req *req, void *ud)
{
    (void)ud;
    const char *id = segment(req, "id");
    long limit;
    if (!gg_http_query_long(req, "limit", 1, 1000, 10, &limit))
        return;
    answer(req, gg_record_station_id_valid(id, strlen(id)) && aspect_ok(req));
}

static void h_latest_many(gg_http_req *req, void *ud)
{
    (void)ud;
    const char *list = gg_http_query(req, "stations");
    static cache_id ids[CACHE_IDS_MAX];
    char why[160];
    int n = list ? cache_ids_parse(list, ids, CACHE_IDS_MAX, why, sizeof(why)) : -1;
    for (int i = 0; i < n; i++)
        FUZZ_CHECK(gg_record_station_id_valid(ids[i].s, ids[i].len));
    answer(req, n > 0 && aspect_ok(req));
}

static bool time_ok(gg_http_req *req, const char *name)
{
    const char *v = gg_http_query(req, name);
    int64_t us;
    return !v || ingest_time_parse(v, &us) == 0;
}

/* A cursor that decodes must encode back to a cursor that decodes to the same position. */
static bool cursor_ok(gg_http_req *req)
{
    const char *v = gg_http_query(req, "cursor");
    ingest_cursor c, again;
    if (!v)
        return true;
    if (ingest_cursor_decode(v, &c) != 0)
        return false;
    char buf[INGEST_CURSOR_BUFLEN];
    FUZZ_CHECK(ingest_cursor_encode(&c, buf, sizeof(buf)) == 0);
    FUZZ_CHECK(ingest_cursor_decode(buf, &again) == 0);
    FUZZ_CHECK(again.created_at_us == c.created_at_us && strcmp(again.id, c.id) == 0);
    return true;
}

static void h_readings(gg_http_req *req, void *ud)
{
    (void)ud;
    const char *id = segment(req, "id");
    long limit;
    if (!gg_http_query_long(req, "limit", 1, 1000, 100, &limit))
        return;
    answer(req, gg_record_station_id_valid(id, strlen(id)) && time_ok(req, "from") &&
                    time_ok(req, "to") && cursor_ok(req));
}

static void h_reading(gg_http_req *req, void *ud)
{
    (void)ud;
    answer(req, strlen(segment(req, "correlation_id")) == GG_RECORD_UUID_LEN);
}

static void h_jobs(gg_http_req *req, void *ud)
{
    (void)ud;
    analytics_page page;
    if (analytics_api_page(req, &page))
        answer(req, true);
}

static void h_job(gg_http_req *req, void *ud)
{
    (void)ud;
    analytics_page page;
    bool valid = analytics_valid_job_id(segment(req, "id"));
    if (analytics_api_page(req, &page))
        answer(req, valid);
}

static void h_plain(gg_http_req *req, void *ud)
{
    (void)ud;
    answer(req, true);
}

static void add_routes(void)
{
    static const struct {
        const char *method, *pattern;
        gg_http_handler h;
    } routes[] = {
        {"GET", "/v1/stations", h_plain},
        {"GET", "/v1/stations/{id}/latest", h_station},
        {"GET", "/v1/stations/{id}/recent", h_station},
        {"GET", "/v1/latest", h_latest_many},
        {"GET", "/v1/stations/{id}/readings", h_readings},
        {"GET", "/v1/readings/{correlation_id}", h_reading},
        {"POST", "/v1/readings", h_plain},
        {"GET", "/v1/jobs", h_jobs},
        {"GET", "/v1/jobs/{id}", h_job},
        {"DELETE", "/v1/jobs/{id}", h_job},
        {"POST", "/v1/wordcount", h_plain},
        {"GET", "/healthz", h_plain},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        FUZZ_CHECK(
            gg_http_route(server, routes[i].method, routes[i].pattern, 0, routes[i].h, NULL) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gg_http_config cfg = {.listen = "127.0.0.1:0", .threads = 1, .cors_origin = "*"};
    server = gg_http_new(&cfg, NULL, NULL);
    FUZZ_CHECK(server != NULL);
    add_routes();
    FUZZ_CHECK(gg_http_start(server) == 0);
    return 0;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(gg_http_port(server))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the server closed: the read below sees it */
        p += w;
        n -= (size_t)w;
    }
}

/* A JSON answer of the service is one JSON value; a problem names the status it came with. */
static void check_json_body(unsigned status, const char *body, size_t len, bool problem)
{
    json_error_t err;
    json_t *j = json_loadb(body, len, 0, &err);
    FUZZ_CHECK(j != NULL);
    if (problem)
        FUZZ_CHECK(json_integer_value(json_object_get(j, "status")) == (json_int_t)status);
    json_decref(j);
}

/* Reads one answer: its status, or 0 when the server closed without one. A read that times out
 * means the request hangs, which is a bug. */
static unsigned read_answer(int fd, bool head, bool *close_after)
{
    static char buf[1 << 16];
    size_t have = 0;
    char *end = NULL;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
        FUZZ_CHECK(have < sizeof(buf));
        ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
        FUZZ_CHECK(r >= 0 || errno != EAGAIN);
        if (r <= 0)
            return 0;
        have += (size_t)r;
    }
    *end = '\0';
    unsigned status = 0;
    FUZZ_CHECK(sscanf(buf, "HTTP/1.1 %u", &status) == 1);
    size_t body = 0;
    bool json = false, problem = false, ours = false;
    for (char *line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            body = strtoul(line + 17, NULL, 10);
        if (strncasecmp(line + 2, "Connection: close", 17) == 0)
            *close_after = true;
        if (strncasecmp(line + 2, "X-Request-Id:", 13) == 0)
            ours = true; /* not one of libmicrohttpd's own error pages */
        if (strncasecmp(line + 2, "Content-Type: application/json", 30) == 0)
            json = true;
        if (strncasecmp(line + 2, "Content-Type: application/problem+json", 38) == 0)
            json = problem = true;
    }
    if (head)
        return status;
    size_t start = (size_t)(end + 4 - buf), got = have - start;
    FUZZ_CHECK(body < sizeof(buf));
    memmove(buf, buf + start, got);
    while (got < body) {
        ssize_t r = recv(fd, buf + got, sizeof(buf) - got, 0);
        FUZZ_CHECK(r > 0);
        got += (size_t)r;
    }
    if (ours && json)
        check_json_body(status, buf, body, problem);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A line break would start a second request and put the answers out of step. */
    if (size == 0 || size > 8192 || memchr(data, '\r', size) || memchr(data, '\n', size))
        return 0;
    /* libmicrohttpd 0.9.75 (Debian 12) never answers a request whose query arguments do not fit
     * its per-connection memory pool (32 KiB: from about 400 arguments on): it neither calls the
     * handler nor sends its own error, and the connection waits for gg_http's idle timeout.
     * Nothing in gridgate sees such a request, so the target leaves that to the library. */
    size_t args = 0;
    for (size_t i = 0; i < size; i++)
        args += data[i] == '&';
    if (args > MHD_ARGS_MAX)
        return 0;
    char *target = fuzz_strndup(data, size);
    bool has_method = target[0] != '/' && strchr(target, ' ');
    bool head = strncmp(target, "HEAD ", 5) == 0;
    size_t len = size + 64;
    char *request = malloc(len);
    FUZZ_CHECK(request != NULL);
    int n = snprintf(request, len, "%s%s HTTP/1.1\r\nHost: fuzz\r\n\r\n", has_method ? "" : "GET ",
                     target);
    free(target);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (conn_fd < 0)
            conn_fd = connect_server();
        send_all(conn_fd, request, (size_t)n);
        bool close_after = false;
        unsigned status = read_answer(conn_fd, head, &close_after);
        if (status == 0 || close_after) {
            close(conn_fd);
            conn_fd = -1;
        }
        if (status != 0) {
            if (status < 200 || status >= 500)
                fprintf(stderr, "answered %u\n", status);
            FUZZ_CHECK(status >= 200 && status < 500);
            break;
        }
    }
    free(request);
    return 0;
}
