/* cache_redis: opening Redis connections the way every part of the cache needs them, and the
 * readiness probe. */
#ifndef CACHE_REDIS_H
#define CACHE_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "cache.h"

/* A blocking connection with connect and command timeouts of GRIDGATE_REDIS_TIMEOUT_MS,
 * authenticated and on the URL's database. NULL with the reason in err when that fails. */
redisContext *cache_redis_open(const cache_ctx *ctx, char *err, size_t errlen);

/* Runs a command that must not answer with an error and drops the reply. Returns 0, or -1 with
 * the reason (the server's error or the connection's) in err. */
int cache_redis_check(redisContext *c, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* gg_health probe: opens a connection and sends PING. */
int cache_redis_probe(void *ud, char *err, size_t errlen);

#endif
