/* gg_http_stream: streamed replies (see gg_http.h).
 *
 * A stream is a libmicrohttpd callback response of unknown length, sent chunked. Its reader
 * asks the owner for pending bytes; when there are none it suspends the connection from inside
 * the reader (the one place besides the access handler where libmicrohttpd allows it) and
 * returns 0. A suspended connection is off the worker's epoll set and off its timeout list, so a
 * thousand idle streams cost the HTTP threads nothing; gg_http_stream_wake resumes it and the
 * worker calls the reader again. Park and wake decide under st->lock: a wake that comes while the
 * reader runs sets `pending`, and the reader reads again instead of parking, so no wake is lost
 * and a connection that is not suspended is never resumed.
 *
 * close(ud) runs from the response's free callback, which libmicrohttpd calls while it closes
 * the connection and before it closes the socket. So while `closed` is false under st->lock the
 * connection's descriptor is still this connection's, and an abort may shut it down. */
#include "gg_http_int.h"

#include <stdlib.h>
#include <sys/socket.h>

/* Kernel send buffer of a stream's socket. Linux grows a socket's buffer up to tcp_wmem's
 * maximum (4 MiB by default) for a reader that never reads, which a thousand stalled streams
 * would multiply, and which would hide a stalled client from its owner's bounded queue for
 * minutes. The kernel doubles the value it is given. */
#define STREAM_SNDBUF (64 * 1024)

struct gg_http_stream {
    gg_http_server *srv;
    struct MHD_Connection *conn;
    struct MHD_Response *resp;
    gg_http_stream_read read;
    gg_http_stream_close close;
    void *ud;
    pthread_mutex_t lock;
    bool parked;  /* suspended by the reader, waiting for a wake */
    bool pending; /* woken while not parked: read again before parking */
    bool ending;  /* the reader ends the response at its next call */
    bool closed;  /* the free callback ran: conn is going away */
    struct gg_http_stream *prev, *next;
};

void gg_http_streams_init(gg_http_server *s)
{
    pthread_mutex_init(&s->streams_lock, NULL);
}

void gg_http_streams_destroy(gg_http_server *s)
{
    pthread_mutex_destroy(&s->streams_lock);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    gg_http_stream *st = cls;
    for (;;) {
        pthread_mutex_lock(&st->lock);
        bool ending = st->ending;
        st->pending = false;
        pthread_mutex_unlock(&st->lock);
        if (ending)
            return MHD_CONTENT_READER_END_OF_STREAM;
        size_t n = st->read(st->ud, buf, max);
        if (n == GG_HTTP_STREAM_END)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n > 0)
            return (ssize_t)n;
        pthread_mutex_lock(&st->lock);
        if (!st->pending && !st->ending) {
            st->parked = true;
            MHD_suspend_connection(st->conn);
            pthread_mutex_unlock(&st->lock);
            return 0;
        }
        pthread_mutex_unlock(&st->lock);
    }
}

/* The response is gone (libmicrohttpd's last reference): the owner's last call. */
static void stream_free(void *cls)
{
    gg_http_stream *st = cls;
    pthread_mutex_lock(&st->lock);
    st->closed = true;
    pthread_mutex_unlock(&st->lock);
    gg_http_server *s = st->srv;
    pthread_mutex_lock(&s->streams_lock);
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    pthread_mutex_unlock(&s->streams_lock);
    /* Outside every lock of ours: the owner's close waits for its own wakers to finish. */
    st->close(st->ud);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

gg_http_stream *gg_http_stream_new(gg_http_req *req, gg_http_stream_read read,
                                   gg_http_stream_close close, void *ud)
{
    gg_http_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->srv = req->srv;
    st->conn = req->conn;
    st->read = read;
    st->close = close;
    st->ud = ud;
    pthread_mutex_init(&st->lock, NULL);
    st->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, st,
                                                 stream_free);
    if (!st->resp) {
        pthread_mutex_destroy(&st->lock);
        free(st);
        return NULL;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int sndbuf = STREAM_SNDBUF;
    if (ci)
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    gg_http_server *s = req->srv;
    pthread_mutex_lock(&s->streams_lock);
    st->ending = s->streams_closed;
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    pthread_mutex_unlock(&s->streams_lock);
    return st;
}

void gg_http_reply_stream(gg_http_req *req, unsigned status, const char *content_type,
                          gg_http_stream *st)
{
    MHD_add_response_header(st->resp, "Cache-Control", "no-cache");
    gg_http_set_response(req, status, st->resp, content_type, 0);
}

void gg_http_stream_wake(gg_http_stream *st)
{
    pthread_mutex_lock(&st->lock);
    if (st->parked) {
        st->parked = false;
        MHD_resume_connection(st->conn);
    } else {
        st->pending = true;
    }
    pthread_mutex_unlock(&st->lock);
}

void gg_http_stream_end(gg_http_stream *st, bool abort)
{
    pthread_mutex_lock(&st->lock);
    st->ending = true;
    if (st->parked) {
        st->parked = false;
        MHD_resume_connection(st->conn);
    } else if (abort && !st->closed) {
        /* Not parked: the worker waits for the socket to drain, which a stalled client never
         * does. Shutting the socket down makes that wait fail now; the descriptor stays open
         * until libmicrohttpd closes it, after `closed` is set. */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(st->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci)
            shutdown(ci->connect_fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&st->lock);
}

void gg_http_streams_end_all(gg_http_server *s)
{
    pthread_mutex_lock(&s->streams_lock);
    s->streams_closed = true;
    for (gg_http_stream *st = s->streams; st; st = st->next)
        gg_http_stream_end(st, false);
    pthread_mutex_unlock(&s->streams_lock);
}
