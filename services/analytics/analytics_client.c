/* analytics_client: libcurl calls over per-thread handles (see analytics_client.h). */
#include "analytics_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct analytics_client {
    pthread_key_t handle; /* each thread's own easy handle: its connections stay open */
    long timeout_ms;
    analytics_auth auth;
};

void analytics_err_set(analytics_err *e, analytics_err_kind kind, const char *backend, long status,
                       const char *fmt, ...)
{
    e->kind = kind;
    e->backend = backend;
    e->status = status;
    e->uncertain = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

static void handle_cleanup(void *curl)
{
    curl_easy_cleanup(curl);
}

int analytics_auth_mode_of(const char *name)
{
    static const char *const names[] = {"simple", "basic", "negotiate"};
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

bool analytics_auth_supported(analytics_auth_mode mode)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return mode != ANALYTICS_AUTH_NEGOTIATE || (v->features & CURL_VERSION_SPNEGO);
}

analytics_client *analytics_client_new(long timeout_ms, const analytics_auth *auth)
{
    analytics_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    if (auth)
        c->auth = *auth;
    if (pthread_key_create(&c->handle, handle_cleanup) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void analytics_client_free(analytics_client *c)
{
    if (!c)
        return;
    /* Threads that made calls have exited by now (their handles went with them); the calling
     * thread's own handle, if any, goes here. */
    CURL *own = pthread_getspecific(c->handle);
    if (own)
        curl_easy_cleanup(own);
    pthread_key_delete(c->handle);
    free(c);
}

/* The calling thread's handle, reset to default options. libcurl's connection cache may not
 * be shared between threads that use it at the same time, so each thread keeps its own. */
static CURL *thread_handle(analytics_client *c)
{
    CURL *curl = pthread_getspecific(c->handle);
    if (curl) {
        curl_easy_reset(curl); /* keeps the open connections */
        return curl;
    }
    curl = curl_easy_init();
    if (curl && pthread_setspecific(c->handle, curl) != 0) {
        curl_easy_cleanup(curl);
        curl = NULL;
    }
    return curl;
}

typedef struct call_state {
    CURL *curl;
    const analytics_call *call;
    analytics_resp *resp;
    size_t max_body;
} call_state;

static void collect(call_state *st, const char *data, size_t n)
{
    analytics_resp *r = st->resp;
    size_t room = st->max_body > r->len ? st->max_body - r->len : 0;
    if (n > room) {
        n = room;
        r->truncated = true;
    }
    if (!n)
        return;
    char *grown = realloc(r->body, r->len + n + 1);
    if (!grown) {
        r->truncated = true;
        return;
    }
    memcpy(grown + r->len, data, n);
    r->body = grown;
    r->len += n;
    r->body[r->len] = '\0';
}

/* 2xx bodies go to the sink when there is one; error answers are always collected, so that the
 * caller can read the backend's reason. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    call_state *st = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
    if (st->call->sink && status >= 200 && status < 300) {
        if (st->call->sink(data, n, st->call->sink_ud) < n) {
            st->resp->stopped = true;
            return 0;
        }
        return n;
    }
    collect(st, data, n);
    return n;
}

static void set_method(CURL *curl, const analytics_call *call)
{
    const char *m = call->method ? call->method : "GET";
    if (call->body || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call->body ? call->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
    }
    if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m);
}

static void set_timeouts(CURL *curl, const analytics_client *c, const analytics_call *call)
{
    long ms = call->timeout_ms > 0 ? call->timeout_ms : c->timeout_ms;
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    if (call->sink) {
        /* A large result may take long to stream; what must not happen is a stall. */
        long secs = ms / 1000 > 0 ? ms / 1000 : 1;
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, secs);
    } else {
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
    }
}

/* Failures that happen before a single byte of the request can have left. */
/* Credentials go to the configured host only: libcurl drops them on a redirect to another host
 * (a DataNode, which takes the NameNode's delegation token from the redirect URL instead). */
static void set_auth(CURL *curl, const analytics_auth *a)
{
    if (a->mode == ANALYTICS_AUTH_BASIC) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, a->user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, a->password);
    } else if (a->mode == ANALYTICS_AUTH_NEGOTIATE) {
        /* The name comes from the Kerberos ticket; libcurl needs a (blank) user to try. */
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_NEGOTIATE);
        curl_easy_setopt(curl, CURLOPT_USERPWD, ":");
    }
}

static bool never_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_URL_MALFORMAT ||
           rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_FAILED_INIT || rc == CURLE_OUT_OF_MEMORY;
}

int analytics_client_do(analytics_client *c, const analytics_call *call, analytics_resp *r)
{
    memset(r, 0, sizeof(*r));
    CURL *curl = thread_handle(c);
    if (!curl) {
        snprintf(r->error, sizeof(r->error), "cannot create an HTTP client");
        return -1;
    }
    call_state st = {curl, call, r, call->max_body ? call->max_body : 1024 * 1024};
    char ct[128];
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    if (call->content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", call->content_type);
        hdrs = curl_slist_append(hdrs, ct);
    }
    curl_easy_setopt(curl, CURLOPT_URL, call->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, call->follow ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &st);
    set_method(curl, call);
    set_timeouts(curl, c, call);
    set_auth(curl, &c->auth);
    CURLcode rc = curl_easy_perform(curl);
    int out = 0;
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && r->stopped)) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
        char *loc = NULL;
        if (!call->follow && curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
            loc)
            r->location = strdup(loc);
    } else {
        snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
        r->unsent = never_sent(rc);
        out = -1;
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL); /* hdrs is freed now */
    curl_slist_free_all(hdrs);
    return out;
}

void analytics_resp_free(analytics_resp *r)
{
    free(r->body);
    free(r->location);
    r->body = NULL;
    r->location = NULL;
}
