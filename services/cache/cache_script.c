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
    "local size = tonumber(ARGV[1])\n"
    "local cur, pub, porder, out, removed, inserted = {}, {}, {}, {}, {}, {}\n"
    "local function current(k)\n"
    "  if cur[k] == nil then\n"
    "    cur[k] = false\n"
    "    local v = redis.call('GET', KEYS[k])\n"
    "    if v then\n"
    "      local ok, c = pcall(cjson.decode, v)\n"
    "      if ok and type(c) == 'table' and tonumber(c.created_at_us) then\n"
    "        local ccid = c.correlation_id\n"
    "        if type(ccid) ~= 'string' then ccid = '' end\n"
    "        cur[k] = {tonumber(c.created_at_us), ccid, v}\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  return cur[k]\n"
    "end\n"
    "local function cid_of(d)\n"
    "  local c = string.match(d, '\"correlation_id\":\"([^\"\\\\]*)\"')\n"
    "  if c then return c end\n"
    "  local ok, t = pcall(cjson.decode, d)\n"
    "  if ok and type(t) == 'table' and type(t.correlation_id) == 'string' then\n"
    "    return t.correlation_id\n"
    "  end\n"
    "  return nil\n"
    "end\n"
    "local floor_us, floor_doc\n"
    "if redis.call('ZCARD', KEYS[3]) >= size then\n"
    "  local low = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "  if low[1] then floor_us, floor_doc = tonumber(low[2]), low[1] end\n"
    "end\n"
    "local function below(us, doc)\n"
    "  return floor_us and (us < floor_us or (us == floor_us and bytecmp(doc, floor_doc) < 0))\n"
    "end\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local k, us, cid, doc = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]\n"
    "  local changed = 0\n"
    "  local c = current(k)\n"
    "  if not c or order(us, cid, doc, c[1], c[2], c[3]) > 0 then\n"
    "    cur[k] = {us, cid, doc}\n"
    "    if not pub[k] then porder[#porder + 1] = k end\n"
    "    pub[k] = doc\n"
    "    changed = 1\n"
    "  end\n"
    "  out[#out + 1] = changed\n"
    "  out[#out + 1] = 0\n"
    "  local dup = below(us, doc)\n"
    "  if not dup and cid ~= '' then\n"
    "    local prev = redis.call('HGET', KEYS[4], cid)\n"
    "    if prev then\n"
    "      local pus = tonumber(redis.call('ZSCORE', KEYS[3], prev))\n"
    "      if pus and order(us, cid, doc, pus, cid, prev) <= 0 then\n"
    "        dup = true\n"
    "      else\n"
    "        redis.call('ZREM', KEYS[3], prev)\n"
    "        removed[prev] = true\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if not dup then\n"
    "    redis.call('ZADD', KEYS[3], us, doc)\n"
    "    removed[doc] = nil\n"
    "    if cid ~= '' then redis.call('HSET', KEYS[4], cid, doc) end\n"
    "    inserted[#inserted + 1] = {#out, us, doc}\n"
    "  end\n"
    "end\n"
    "local excess = redis.call('ZCARD', KEYS[3]) - size\n"
    "if excess > 0 then\n"
    "  local gone = redis.call('ZPOPMIN', KEYS[3], excess)\n"
    "  for g = 1, #gone, 2 do\n"
    "    local gc = cid_of(gone[g])\n"
    "    if gc and redis.call('HGET', KEYS[4], gc) == gone[g] then\n"
    "      redis.call('HDEL', KEYS[4], gc)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local low = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "for _, r in ipairs(inserted) do\n"
    "  if not removed[r[3]] and low[1] and\n"
    "     (r[2] > tonumber(low[2]) or\n"
    "      (r[2] == tonumber(low[2]) and bytecmp(r[3], low[1]) >= 0)) then\n"
    "    out[r[1]] = 1\n"
    "  end\n"
    "end\n"
    "for _, k in ipairs(porder) do\n"
    "  redis.call('SET', KEYS[k], pub[k])\n"
    "  redis.call('PUBLISH', ARGV[2], pub[k])\n"
    "end\n"
    "return out\n";

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
