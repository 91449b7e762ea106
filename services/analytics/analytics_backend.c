/* analytics_backend: HTTP calls to WebHCat and WebHDFS, and their health probes. */
#include "analytics.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct backend_buf {
    char *data;
    size_t len;
} backend_buf;

static size_t backend_collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
    backend_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > 1024 * 1024) /* status answers are small: refuse anything else */
        return 0;
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* GET base + path_and_query with user.name; returns the HTTP status, or -1 with err filled. */
static long backend_get(const analytics_ctx *ctx, const char *base, const char *path_and_query,
                        backend_buf *out, char *err, size_t errlen)
{
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "cannot create an HTTP client");
        return -1;
    }
    char *user = curl_easy_escape(curl, ctx->cfg.hadoop_user, 0);
    char url[2048];
    snprintf(url, sizeof(url), "%s%s%cuser.name=%s", base, path_and_query,
             strchr(path_and_query, '?') ? '&' : '?', user ? user : "");
    curl_free(user);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ctx->cfg.backend_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, backend_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(curl);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(err, errlen, "%s: %s", base, curl_easy_strerror(rc));
    curl_easy_cleanup(curl);
    return status;
}

int analytics_webhcat_probe(void *ud, char *err, size_t errlen)
{
    analytics_ctx *ctx = ud;
    backend_buf b = {0};
    long status = backend_get(ctx, ctx->cfg.webhcat_url, "/status", &b, err, errlen);
    int rc = -1;
    if (status == 200) {
        json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
        const char *s = json_string_value(json_object_get(j, "status"));
        if (s && strcmp(s, "ok") == 0)
            rc = 0;
        else
            snprintf(err, errlen, "WebHCat status is not ok");
        json_decref(j);
    } else if (status > 0) {
        snprintf(err, errlen, "WebHCat status answered HTTP %ld", status);
    }
    free(b.data);
    return rc;
}

int analytics_webhdfs_probe(void *ud, char *err, size_t errlen)
{
    analytics_ctx *ctx = ud;
    backend_buf b = {0};
    long status = backend_get(ctx, ctx->cfg.webhdfs_url, "/?op=GETFILESTATUS", &b, err, errlen);
    free(b.data);
    if (status == 200)
        return 0;
    if (status > 0)
        snprintf(err, errlen, "WebHDFS answered HTTP %ld", status);
    return -1;
}
