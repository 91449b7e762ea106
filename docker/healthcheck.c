/* gridgate-healthcheck: the HEALTHCHECK of the gridgate images.
 *
 * Usage: gridgate-healthcheck [DEFAULT_PORT]
 *
 * Asks the service in the same container for GET /healthz and exits 0 when it answers 200, 1
 * otherwise (the two codes a container health check may use). The address is the one the
 * service listens on: GRIDGATE_LISTEN when set (a wildcard host becomes loopback), else
 * 127.0.0.1:DEFAULT_PORT. A health check process inherits the container's environment, so a
 * deployment that moves the port needs no second setting.
 *
 * Why a program of its own: the runtime images carry no curl, and the check runs without a shell
 * (exec form). It is linked statically, resolves no names (so it needs no NSS modules) and is
 * bounded by one deadline.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HC_TIMEOUT_MS 2000
#define HC_REQUEST                                                                                 \
    "GET /healthz HTTP/1.0\r\nHost: localhost\r\nUser-Agent: gridgate-healthcheck\r\n"             \
    "Connection: close\r\n\r\n"

typedef struct {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[80]; /* for messages */
} hc_target;

static long hc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int hc_fail(const char *what, const char *detail)
{
    fprintf(stderr, "gridgate-healthcheck: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    return 1;
}

/* Parses "host:port" or "[v6]:port" as the services do. Hosts that mean "every address" are
 * replaced by the matching loopback address; other names than localhost are refused, because
 * resolving them would need the NSS modules a static binary lacks. */
static int hc_target_parse(const char *listen, hc_target *t)
{
    char host[64];
    const char *port_s;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof(host))
            return -1;
        memcpy(host, listen + 1, (size_t)(end - listen - 1));
        host[end - listen - 1] = '\0';
        port_s = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host))
            return -1;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        port_s = colon + 1;
    }
    char *endp;
    errno = 0;
    long port = strtol(port_s, &endp, 10);
    if (errno || endp == port_s || *endp || port < 1 || port > 65535)
        return -1;

    if (host[0] == '\0' || !strcmp(host, "0.0.0.0") || !strcmp(host, "*") ||
        !strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    else if (!strcmp(host, "::"))
        strcpy(host, "::1");

    memset(t, 0, sizeof(*t));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&t->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        t->len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        t->len = sizeof(*v6);
    } else {
        return -1;
    }
    snprintf(t->text, sizeof(t->text), "%s port %ld", host, port);
    return 0;
}

/* Waits for events on fd until the absolute deadline; 0 when they came, -1 on timeout. */
static int hc_wait(int fd, short events, long deadline)
{
    for (;;) {
        long left = deadline - hc_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int hc_connect(const hc_target *t, long deadline)
{
    int fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&t->ss, t->len) != 0) {
        int err = 0;
        socklen_t elen = sizeof(err);
        if (errno != EINPROGRESS || hc_wait(fd, POLLOUT, deadline) != 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Sends the request and reads until the status line is complete; returns the status code. */
static int hc_status(int fd, long deadline)
{
    const char *req = HC_REQUEST;
    size_t off = 0, len = strlen(req);
    while (off < len) {
        ssize_t n = write(fd, req + off, len - off);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        else if (hc_wait(fd, POLLOUT, deadline) != 0)
            return -1;
    }
    char buf[256];
    size_t got = 0;
    while (got < sizeof(buf) - 1 && !memchr(buf, '\n', got)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            break;
        else if (hc_wait(fd, POLLIN, deadline) != 0)
            return -1;
    }
    buf[got] = '\0';
    int major, minor, status;
    if (sscanf(buf, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
        return -1;
    return status;
}

int main(int argc, char **argv)
{
    const char *def_port = argc > 1 ? argv[1] : "8081";
    const char *listen = getenv("GRIDGATE_LISTEN");
    char fallback[32];
    if (!listen || !*listen) {
        snprintf(fallback, sizeof(fallback), "127.0.0.1:%s", def_port);
        listen = fallback;
    }
    hc_target t;
    if (hc_target_parse(listen, &t) != 0)
        return hc_fail("cannot use the listen address (numeric host:port needed)", listen);

    long deadline = hc_now_ms() + HC_TIMEOUT_MS;
    int fd = hc_connect(&t, deadline);
    if (fd < 0)
        return hc_fail("cannot connect", t.text);
    int status = hc_status(fd, deadline);
    close(fd);
    if (status != 200) {
        char why[48] = "no HTTP answer";
        if (status >= 0)
            snprintf(why, sizeof(why), "status %d", status);
        return hc_fail("/healthz failed", why);
    }
    return 0;
}
