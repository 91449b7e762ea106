/* cache_script: the Lua update step (see cache_script.h). */
#include "cache_script.h"

#include <stdio.h>
#include <string.h>

/* Lua compares strings with strcoll(), and Redis sets LC_COLLATE from its environment, so
 * "<" on strings would order ties differently on differently configured servers: bytecmp
 * compares unsigned bytes like memcmp in cache_doc.c. It only runs on equal event times. */
static const char script[] =
    "local function bytecmp(a, b)\n"
    "  if a == b then return 0 end\n"
    "  local n = math.min(#a, #b)\n"
    "  for i = 1, n do\n"
    "    local x, y = string.byte(a, i), string.byte(b, i)\n"
    "    if x ~= y then if x < y then return -1 else return 1 end end\n"
    "  end\n"
    "  if #a < #b then return -1 else return 1 end\n"
    "end\n"
    "local function order(us, cid, doc, ous, ocid, odoc)\n"
    "  if us ~= ous then if us < ous then return -1 else return 1 end end\n"
    "  local c = bytecmp(cid, ocid)\n"
    "  if c ~= 0 then return c end\n"
    "  return bytecmp(doc, odoc)\n"
    "end\n"
    "local us, cid, doc = tonumber(ARGV[1]), ARGV[2], ARGV[3]\n"
    "local size = tonumber(ARGV[4])\n"
    "local changed, added = 0, 0\n"
    "local newer = true\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local ok, c = pcall(cjson.decode, cur)\n"
    "  if ok and type(c) == 'table' and tonumber(c.created_at_us) then\n"
    "    local ccid = c.correlation_id\n"
    "    if type(ccid) ~= 'string' then ccid = '' end\n"
    "    newer = order(us, cid, doc, tonumber(c.created_at_us), ccid, cur) > 0\n"
    "  end\n"
    "end\n"
    "if newer then\n"
    "  redis.call('SET', KEYS[1], doc)\n"
    "  redis.call('PUBLISH', ARGV[5], doc)\n"
    "  changed = 1\n"
    "end\n"
    "local dup = false\n"
    "if cid ~= '' then\n"
    "  local prev = redis.call('HGET', KEYS[3], cid)\n"
    "  if prev then\n"
    "    local pus = tonumber(redis.call('ZSCORE', KEYS[2], prev))\n"
    "    if pus and order(us, cid, doc, pus, cid, prev) <= 0 then\n"
    "      dup = true\n"
    "    else\n"
    "      redis.call('ZREM', KEYS[2], prev)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if not dup then\n"
    "  redis.call('ZADD', KEYS[2], us, doc)\n"
    "  if cid ~= '' then redis.call('HSET', KEYS[3], cid, doc) end\n"
    "  local excess = redis.call('ZCARD', KEYS[2]) - size\n"
    "  if excess > 0 then\n"
    "    local gone = redis.call('ZPOPMIN', KEYS[2], excess)\n"
    "    for i = 1, #gone, 2 do\n"
    "      local ok, g = pcall(cjson.decode, gone[i])\n"
    "      if ok and type(g) == 'table' and type(g.correlation_id) == 'string' and\n"
    "         redis.call('HGET', KEYS[3], g.correlation_id) == gone[i] then\n"
    "        redis.call('HDEL', KEYS[3], g.correlation_id)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if redis.call('ZSCORE', KEYS[2], doc) then added = 1 end\n"
    "end\n"
    "return {changed, added}\n";

const char *cache_script_source(void)
{
    return script;
}

int cache_script_load(redisContext *c, char sha[CACHE_SHA_LEN], char *err, size_t errlen)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", script);
    int rc = -1;
    if (!r)
        snprintf(err, errlen, "SCRIPT LOAD: %s", c->errstr);
    else if (r->type != REDIS_REPLY_STRING || r->len != CACHE_SHA_LEN - 1)
        snprintf(err, errlen, "SCRIPT LOAD: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    else {
        memcpy(sha, r->str, CACHE_SHA_LEN - 1);
        sha[CACHE_SHA_LEN - 1] = '\0';
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

int cache_script_is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}
