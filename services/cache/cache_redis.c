/* cache_redis: Redis connections of the cache service and its health probe. */
#include "cache_redis.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cache_redis_check(redisContext *c, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    int rc = 0;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s", r ? r->str : c->errstr);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

redisContext *cache_redis_open(const cache_ctx *ctx, char *err, size_t errlen)
{
    long ms = ctx->cfg.redis_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    const gg_conf_redis_url *u = &ctx->redis;
    redisContext *c = u->unix_path[0] ? redisConnectUnixWithTimeout(u->unix_path, tv)
                                      : redisConnectWithTimeout(u->host, u->port, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (!u->unix_path[0])
        redisEnableKeepAlive(c); /* notices a peer that vanished without closing */
    int rc = 0;
    if (u->password[0])
        rc = u->user[0] ? cache_redis_check(c, err, errlen, "AUTH %s %s", u->user, u->password)
                        : cache_redis_check(c, err, errlen, "AUTH %s", u->password);
    if (rc == 0 && u->db != 0)
        rc = cache_redis_check(c, err, errlen, "SELECT %d", u->db);
    if (rc != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

int cache_redis_probe(void *ud, char *err, size_t errlen)
{
    cache_ctx *ctx = ud;
    redisContext *c = cache_redis_open(ctx, err, errlen);
    if (!c)
        return -1;
    int rc = cache_redis_check(c, err, errlen, "PING");
    redisFree(c);
    return rc;
}
