/* A tiny libcurl client for tests that talk to a gridgate HTTP server on loopback. */
#ifndef TEST_HTTP_CLIENT_H
#define TEST_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

typedef struct tc_response {
    long status;
    char body[65536];
    size_t body_len;
    char headers[8192];
    size_t headers_len;
    long connects; /* new connections this request opened */
} tc_response;

static inline size_t tc_collect_body(char *p, size_t size, size_t n, void *ud)
{
    tc_response *r = ud;
    size_t len = size * n;
    size_t room = sizeof(r->body) - 1 - r->body_len;
    size_t take = len < room ? len : room;
    memcpy(r->body + r->body_len, p, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
    return len;
}

static inline size_t tc_collect_header(char *p, size_t size, size_t n, void *ud)
{
    tc_response *r = ud;
    size_t len = size * n;
    size_t room = sizeof(r->headers) - 1 - r->headers_len;
    size_t take = len < room ? len : room;
    memcpy(r->headers + r->headers_len, p, take);
    r->headers_len += take;
    r->headers[r->headers_len] = '\0';
    return len;
}

/* Performs one request on curl (reused across calls to keep the connection alive). extra is a
 * NULL-terminated list of header lines. Returns 0 when an HTTP answer arrived. */
static inline int tc_request(CURL *curl, const char *method, const char *url,
                             const char *const *extra, const char *body, tc_response *r)
{
    memset(r, 0, sizeof(*r));
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; extra && extra[i]; i++)
        hdrs = curl_slist_append(hdrs, extra[i]);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L); /* resets whatever the previous request set */
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(curl, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, strcmp(method, "HEAD") == 0 ? NULL : method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, tc_collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, tc_collect_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK)
        return -1;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &r->connects);
    return 0;
}

/* The value of header name in r (case-insensitive), copied into out; NULL if absent. */
static inline const char *tc_header(const tc_response *r, const char *name, char *out,
                                    size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *line = r->headers; *line;) {
        const char *end = strstr(line, "\r\n");
        if (!end)
            break;
        if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t len = (size_t)(end - v);
            if (len >= outlen)
                len = outlen - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return out;
        }
        line = end + 2;
    }
    return NULL;
}

#endif
