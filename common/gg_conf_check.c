/* gg_conf_check: the validators an option table names in its check field, and the parsers that
 * split the addresses they accept (host:port, broker lists, Redis URLs) for the code that then
 * connects or listens (see gg_config.h). Validating and splitting share one parser so that a value
 * that passed its check at start-up cannot fail to parse later. */
#include "gg_conf_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gg_conf_why_set(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    if (why && whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int host_check(const char *h, size_t len, bool bracketed, char *why, size_t whylen)
{
    char v6[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    if (len == 0)
        return gg_conf_why_set(why, whylen, "the host is empty");
    if (bracketed) {
        snprintf(v6, sizeof(v6), "%.*s", (int)len, h);
        if (len >= sizeof(v6) || inet_pton(AF_INET6, v6, &addr) != 1)
            return gg_conf_why_set(why, whylen, "the address in brackets is not an IPv6 address");
        return 0;
    }
    if (memchr(h, ':', len))
        return gg_conf_why_set(why, whylen, "an IPv6 address needs brackets, as in [::1]:8080");
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr("-._", h[i]))
            return gg_conf_why_set(why, whylen,
                                   "the host may hold only letters, digits, '-', '.', '_'");
    return 0;
}

/* min_port is 0 for addresses to listen on, where 0 asks the system for a free port, and 1 for
 * addresses to connect to. */
static int port_parse(const char *p, size_t len, unsigned long min_port, unsigned short *port,
                      char *why, size_t whylen)
{
    unsigned long v = 0;
    for (size_t i = 0; i < len && len <= 5; i++)
        v = isdigit((unsigned char)p[i]) ? v * 10 + (unsigned long)(p[i] - '0') : 100000;
    if (len == 0 || len > 5 || v < min_port || v > 65535)
        return gg_conf_why_set(why, whylen, "the port must be a number from %lu to 65535",
                               min_port);
    if (port)
        *port = (unsigned short)v;
    return 0;
}

/* Splits s[0..len) as host:port, the form every gridgate address takes; host may be NULL. */
static int hostport_parse(const char *s, size_t len, unsigned long min_port, char *host,
                          size_t hostlen, unsigned short *port, char *why, size_t whylen)
{
    const char *end = s + len, *h = s, *hend, *colon;
    bool bracketed = len > 0 && s[0] == '[';
    if (bracketed) {
        h = s + 1;
        hend = memchr(s, ']', len);
        colon = hend ? hend + 1 : NULL;
    } else {
        colon = hend = memrchr(s, ':', len);
    }
    if (!colon || colon >= end || *colon != ':')
        return gg_conf_why_set(why, whylen,
                               bracketed ? "expected [address]:port" : "expected host:port");
    if (host_check(h, (size_t)(hend - h), bracketed, why, whylen) != 0 ||
        port_parse(colon + 1, (size_t)(end - colon - 1), min_port, port, why, whylen) != 0)
        return -1;
    if (host && (size_t)(hend - h) >= hostlen)
        return gg_conf_why_set(why, whylen, "the host is too long");
    if (host) {
        memcpy(host, h, (size_t)(hend - h));
        host[hend - h] = '\0';
    }
    return 0;
}

int gg_conf_split_hostport(const char *s, char *host, size_t hostlen, unsigned short *port)
{
    if (!s || !host || hostlen == 0)
        return -1;
    return hostport_parse(s, strlen(s), 0, host, hostlen, port, NULL, 0);
}

int gg_conf_check_hostport(const char *value, char *why, size_t whylen)
{
    if (!value)
        return gg_conf_why_set(why, whylen, "expected host:port");
    return hostport_parse(value, strlen(value), 0, NULL, 0, NULL, why, whylen);
}

int gg_conf_check_nonempty(const char *value, char *why, size_t whylen)
{
    for (; value && *value; value++)
        if (!isspace((unsigned char)*value))
            return 0;
    return gg_conf_why_set(why, whylen, "must not be empty");
}

int gg_conf_check_broker_list(const char *value, char *why, size_t whylen)
{
    char reason[GG_CONF_WHY_MAX];
    const char *p = value;
    if (!value)
        return gg_conf_why_set(why, whylen, "expected host:port[,host:port...]");
    for (size_t n = 1; p; n++) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p), *proto;
        while (p < end && isspace((unsigned char)*p))
            p++;
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        /* librdkafka accepts "SASL_SSL://host:port"; the protocol is its business. */
        if ((proto = memmem(p, (size_t)(end - p), "://", 3)))
            p = proto + 3;
        if (p == end)
            return gg_conf_why_set(why, whylen,
                                   "broker %zu is empty; expected host:port[,host:port...]", n);
        if (hostport_parse(p, (size_t)(end - p), 1, NULL, 0, NULL, reason, sizeof(reason)) != 0)
            return gg_conf_why_set(why, whylen, "broker %zu: %s", n, reason);
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* URL userinfo must be percent-encoded, so a password holding '@' or '/' arrives as %40, %2F. */
static int pct_decode(const char *s, size_t len, char *dst, size_t dstlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        char ch = s[i], hex[3] = {0};
        if (ch == '%') {
            if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                return -1;
            memcpy(hex, s + i + 1, 2);
            ch = (char)strtol(hex, NULL, 16);
            i += 2;
        }
        if (ch == '\0' || n + 1 >= dstlen)
            return -1;
        dst[n] = ch;
    }
    dst[n] = '\0';
    return 0;
}

static int redis_userinfo(const char *s, size_t len, gg_conf_redis_url *out, char *why,
                          size_t whylen)
{
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return gg_conf_why_set(why, whylen, "credentials must read [user]:password@");
    size_t ulen = (size_t)(colon - s);
    if (pct_decode(s, ulen, out->user, sizeof(out->user)) != 0 ||
        pct_decode(colon + 1, len - ulen - 1, out->password, sizeof(out->password)) != 0)
        return gg_conf_why_set(why, whylen,
                               "the credentials are too long or badly percent-encoded");
    return 0;
}

/* host[:port] with Redis's default port when none is given. */
static int redis_hostport(const char *s, size_t len, gg_conf_redis_url *out, char *why,
                          size_t whylen)
{
    char buf[sizeof(out->host) + 16];
    const char *rb = len && s[0] == '[' ? memchr(s, ']', len) : NULL;
    bool has_port = rb ? rb + 1 < s + len : memchr(s, ':', len) != NULL;
    unsigned short port = 6379;
    if (len >= sizeof(out->host))
        return gg_conf_why_set(why, whylen, "the host is too long");
    snprintf(buf, sizeof(buf), "%.*s%s", (int)len, s, has_port ? "" : ":6379");
    if (hostport_parse(buf, strlen(buf), 1, out->host, sizeof(out->host), &port, why, whylen) != 0)
        return -1;
    out->port = port;
    return 0;
}

static int redis_url_parse(const char *s, gg_conf_redis_url *out, char *why, size_t whylen)
{
    gg_conf_value db = {.l = 0};
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (s && strncmp(s, "unix://", 7) == 0) {
        if (s[7] != '/' || strlen(s + 7) >= sizeof(out->unix_path))
            return gg_conf_why_set(why, whylen,
                                   "a unix socket URL reads unix:///absolute/path.sock");
        strcpy(out->unix_path, s + 7);
        return 0;
    }
    if (!s || strncmp(s, "redis://", 8) != 0)
        return gg_conf_why_set(
            why, whylen, "expected redis://[[user]:password@]host[:port][/db] or unix:///path");
    const char *rest = s + 8, *at = strrchr(rest, '@');
    const char *hp = at ? at + 1 : rest, *slash = strchr(hp, '/');
    if (strpbrk(hp, "?#"))
        return gg_conf_why_set(why, whylen, "query strings and fragments are not supported");
    if ((at && redis_userinfo(rest, (size_t)(at - rest), out, why, whylen) != 0) ||
        redis_hostport(hp, slash ? (size_t)(slash - hp) : strlen(hp), out, why, whylen) != 0)
        return -1;
    if (slash && slash[1] &&
        (!isdigit((unsigned char)slash[1]) ||
         gg_conf_parse_typed(GG_CONF_INT, slash + 1, &db) != 0 || db.l > INT_MAX))
        return gg_conf_why_set(why, whylen, "the database after '/' must be a number");
    out->db = (int)db.l;
    return 0;
}

int gg_conf_parse_redis_url(const char *s, gg_conf_redis_url *out)
{
    return redis_url_parse(s, out, NULL, 0);
}

int gg_conf_check_redis_url(const char *value, char *why, size_t whylen)
{
    gg_conf_redis_url u;
    int rc = redis_url_parse(value, &u, why, whylen);
    explicit_bzero(&u, sizeof(u)); /* it held the password */
    return rc;
}
