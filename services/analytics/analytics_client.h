/* analytics_client: the service's HTTP client towards WebHCat and WebHDFS, over libcurl.
 *
 * Each thread that calls (HTTP workers, the job tracker, the health probes) keeps one libcurl
 * handle for the life of the thread, so its keep-alive connections are reused instead of paying
 * a TCP handshake per backend call; libcurl does not support one connection cache used by
 * several threads at once.
 * Bodies are either collected (bounded) or streamed to a sink that may stop the transfer early,
 * which is how large query results are paged without holding them whole. */
#ifndef ANALYTICS_CLIENT_H
#define ANALYTICS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* How a backend call failed; decides the HTTP status the caller gets. */
typedef enum analytics_err_kind {
    AE_NONE = 0,
    AE_UNREACHABLE, /* no answer at all (refused, timed out, unresolvable): 503 */
    AE_BACKEND,     /* a server error or an answer the contract does not allow: 502 */
    AE_NOT_FOUND,   /* the backend says the job, file or directory does not exist */
    AE_REJECTED,    /* the backend refused the request (4xx other than 404) */
    AE_INTERNAL     /* out of memory or the like: 500 */
} analytics_err_kind;

typedef struct analytics_err {
    analytics_err_kind kind;
    const char *backend; /* "webhcat" or "webhdfs"; static */
    long status;         /* the backend's HTTP status, 0 without an answer */
    bool uncertain;      /* no answer, but the request may have reached the backend (timeout) */
    char msg[512];
} analytics_err;

/* Fills e (kind, backend, status and a printf-style message). */
void analytics_err_set(analytics_err *e, analytics_err_kind kind, const char *backend, long status,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Receives a streamed body. Returns len to go on, anything less to stop the transfer (which is
 * then reported as stopped, not as a failure). */
typedef size_t (*analytics_sink)(const char *data, size_t len, void *ud);

typedef struct analytics_call {
    const char *method; /* GET, POST, PUT, DELETE */
    const char *url;
    const char *body; /* request body or NULL */
    size_t body_len;
    const char *content_type; /* of the request body */
    bool follow;              /* follow redirects (WebHDFS OPEN answers 307) */
    size_t max_body;          /* cap of a collected body; 0 means 1 MiB */
    analytics_sink sink;      /* stream a 2xx body here instead of collecting it */
    void *sink_ud;
    long timeout_ms; /* this call's bound; 0 means the client's */
} analytics_call;

typedef struct analytics_resp {
    long status;    /* 0 when no HTTP answer arrived */
    char *body;     /* collected body (also of non-2xx answers), NUL-terminated; may be NULL */
    size_t len;     /* its length */
    char *location; /* target of a redirect that was not followed, malloc'd, or NULL */
    bool stopped;   /* the sink ended the transfer */
    bool truncated; /* the collected body hit max_body */
    bool unsent;    /* no answer, and the request certainly never reached the server */
    char error[256];
} analytics_resp;

typedef struct analytics_client analytics_client;

/* How the client authenticates to WebHCat and WebHDFS, beyond the user.name parameter that
 * simple authentication reads. Strings are borrowed and must outlive the client. */
typedef enum analytics_auth_mode {
    ANALYTICS_AUTH_SIMPLE,   /* user.name only: an unsecured cluster */
    ANALYTICS_AUTH_BASIC,    /* HTTP Basic, as an Apache Knox gateway asks for */
    ANALYTICS_AUTH_NEGOTIATE /* SPNEGO with the process's Kerberos ticket (kinit, KRB5CCNAME) */
} analytics_auth_mode;

typedef struct analytics_auth {
    analytics_auth_mode mode;
    const char *user;     /* basic */
    const char *password; /* basic */
} analytics_auth;

/* "simple", "basic" or "negotiate" as a mode; -1 for anything else. */
int analytics_auth_mode_of(const char *name);
/* Whether this libcurl can do mode (negotiate needs GSS-API support). */
bool analytics_auth_supported(analytics_auth_mode mode);

/* timeout_ms bounds a whole call; streamed calls are bounded by the time without progress.
 * auth may be NULL (simple). */
analytics_client *analytics_client_new(long timeout_ms, const analytics_auth *auth);
void analytics_client_free(analytics_client *c);

/* Performs call. Returns 0 when an answer arrived (of any status) or the sink stopped it, -1
 * when none did (r->error says why). Free r with analytics_resp_free in either case. */
int analytics_client_do(analytics_client *c, const analytics_call *call, analytics_resp *r);
void analytics_resp_free(analytics_resp *r);

#endif
