/* fuzz_server: the scripted loopback server (see fuzz_server.h). libFuzzer runs one input at a
 * time, so one process-wide reply, guarded by a lock for the server's thread, is all it needs. */
#include "fuzz_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static struct {
    pthread_mutex_t lock;
    struct MHD_Daemon *daemon;
    char url[64];
    unsigned status;
    char location[256];
    uint8_t *body;
    size_t len;
    unsigned long requests;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (!*req_cls) { /* headers only: wait for the body */
        *req_cls = &srv;
        return MHD_YES;
    }
    if (*upload_data_size) { /* the body is not looked at */
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&srv.lock);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(srv.len, srv.body, MHD_RESPMEM_MUST_COPY);
    unsigned status = srv.status;
    if (r && srv.location[0])
        MHD_add_response_header(r, "Location", srv.location);
    srv.requests++;
    pthread_mutex_unlock(&srv.lock);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

const char *fuzz_server_url(void)
{
    if (srv.daemon)
        return srv.url;
    srv.status = 200;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    srv.daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, answer,
                         NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    FUZZ_CHECK(srv.daemon != NULL);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
    FUZZ_CHECK(info && info->port);
    snprintf(srv.url, sizeof(srv.url), "http://127.0.0.1:%u", (unsigned)info->port);
    return srv.url;
}

void fuzz_server_reply(unsigned status, const char *location, const uint8_t *body, size_t len)
{
    pthread_mutex_lock(&srv.lock);
    srv.status = status;
    snprintf(srv.location, sizeof(srv.location), "%s", location ? location : "");
    free(srv.body);
    srv.body = malloc(len ? len : 1);
    FUZZ_CHECK(srv.body != NULL);
    if (len)
        memcpy(srv.body, body, len);
    srv.len = len;
    pthread_mutex_unlock(&srv.lock);
}

unsigned long fuzz_server_requests(void)
{
    pthread_mutex_lock(&srv.lock);
    unsigned long n = srv.requests;
    pthread_mutex_unlock(&srv.lock);
    return n;
}
