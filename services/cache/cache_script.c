/* cache_script: the Lua update step (see cache_script.h). */
#include "cache_script.h"

#include <stdio.h>
#include <string.h>

/* Lua compares strings with strcoll(), and Redis sets LC_COLLATE from its environment, so
 * "<" on strings would order ties differently on differently configured servers: bytecmp
 * compares unsigned bytes like memcmp in cache_doc.c. It only runs on equal event times.
 *
 * The script's cost is Redis's cost per reading, so it does per reading only what the reading
 * needs (a live feed makes every reading a new latest value and a new member of a full recent
 * set):
 * - created_at_us goes to ZADD as the text it arrived as: a Lua number would be formatted and
 *   parsed again, and glibc's exact double conversions are among the dearest steps;
 * - the latest value per key sits in three flat tables, not a table per replacement;
 * - trimming reads the trimmed members without scores (ZRANGE, ZREMRANGEBYRANK: formatting a
 *   score per member cost more than removing it) and takes their correlation ids from the end
 *   of the document, where cache_doc.c writes them, parsing only a document of another shape;
 * - trimmed ids leave the hash without reading it first: the set lists a correlation id at most
 *   once (a newer version removes the older one), so the hash entry of a trimmed member's id
 *   always names that member;
 * - the call's updates go out as one message, every subscriber paying one delivery per call. */
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
    "local pub, porder, out, pubs = {}, {}, {}, {}\n"
    "local nout = 0\n"
    "-- The latest document of each key, read once: cur_us[k] false when the key holds none.\n"
    "local cur_us, cur_cid, cur_doc = {}, {}, {}\n"
    "local function load_current(k)\n"
    "  cur_us[k] = false\n"
    "  local v = redis.call('GET', KEYS[k])\n"
    "  if v then\n"
    "    local ok, c = pcall(cjson.decode, v)\n"
    "    if ok and type(c) == 'table' and tonumber(c.created_at_us) then\n"
    "      local ccid = c.correlation_id\n"
    "      if type(ccid) ~= 'string' then ccid = '' end\n"
    "      cur_us[k], cur_cid[k], cur_doc[k] = tonumber(c.created_at_us), ccid, v\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local function cid_of(d)\n"
    "  if string.sub(d, -57, -39) == ',\"correlation_id\":\"' then return string.sub(d, -38, -3) "
    "end\n"
    "  local c = string.match(d, '\"correlation_id\":\"([^\"\\\\]*)\"')\n"
    "  if c then return c end\n"
    "  local ok, t = pcall(cjson.decode, d)\n"
    "  if ok and type(t) == 'table' and type(t.correlation_id) == 'string' then\n"
    "    return t.correlation_id\n"
    "  end\n"
    "  return nil\n"
    "end\n"
    "local function each(list, step, fn)\n"
    "  for j = 1, #list, step do fn(unpack(list, j, math.min(j + step - 1, #list))) end\n"
    "end\n"
    "local function hmget(fields)\n"
    "  local got = {}\n"
    "  each(fields, 1000, function(...)\n"
    "    local part = redis.call('HMGET', KEYS[4], ...)\n"
    "    for m = 1, #part do got[#got + 1] = part[m] end\n"
    "  end)\n"
    "  return got\n"
    "end\n"
    "local zcard = redis.call('ZCARD', KEYS[3])\n"
    "local floor_us, floor_doc\n"
    "if zcard >= size then\n"
    "  local low = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "  if low[1] then floor_us, floor_doc = tonumber(low[2]), low[1] end\n"
    "end\n"
    "local ids, cids, asked = {}, {}, {}\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local cid = ARGV[i + 2]\n"
    "  if cid ~= '' and not asked[cid] then\n"
    "    asked[cid] = true\n"
    "    cids[#cids + 1] = cid\n"
    "  end\n"
    "end\n"
    "local got = hmget(cids)\n"
    "for j = 1, #cids do\n"
    "  if got[j] then ids[cids[j]] = got[j] end\n"
    "end\n"
    "local adds, addus, addorder, drop, hset = {}, {}, {}, {}, {}\n"
    "local ipos, ius, idoc = {}, {}, {}\n"
    "local function score_of(d)\n"
    "  if adds[d] then return adds[d] end\n"
    "  if drop[d] then return nil end\n"
    "  return tonumber(redis.call('ZSCORE', KEYS[3], d))\n"
    "end\n"
    "for i = 3, #ARGV, 4 do\n"
    "  local k, ust, cid, doc = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
    "  local us = tonumber(ust)\n"
    "  if cur_us[k] == nil then load_current(k) end\n"
    "  local changed = 0\n"
    "  if not cur_us[k] or order(us, cid, doc, cur_us[k], cur_cid[k], cur_doc[k]) > 0 then\n"
    "    cur_us[k], cur_cid[k], cur_doc[k] = us, cid, doc\n"
    "    if not pub[k] then porder[#porder + 1] = k end\n"
    "    pub[k] = doc\n"
    "    pubs[#pubs + 1] = doc\n"
    "    changed = 1\n"
    "  end\n"
    "  out[nout + 1], out[nout + 2] = changed, 0\n"
    "  nout = nout + 2\n"
    "  local dup = floor_us and (us < floor_us or (us == floor_us and bytecmp(doc, floor_doc) < "
    "0))\n"
    "  if not dup and cid ~= '' then\n"
    "    local prev = ids[cid]\n"
    "    if prev then\n"
    "      local pus = score_of(prev)\n"
    "      if pus and order(us, cid, doc, pus, cid, prev) <= 0 then\n"
    "        dup = true\n"
    "      else\n"
    "        adds[prev] = nil\n"
    "        drop[prev] = true\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  if not dup then\n"
    "    if not adds[doc] then addorder[#addorder + 1] = doc end\n"
    "    adds[doc] = us\n"
    "    addus[doc] = ust\n"
    "    drop[doc] = nil\n"
    "    if cid ~= '' then\n"
    "      ids[cid] = doc\n"
    "      hset[cid] = doc\n"
    "    end\n"
    "    local m = #ipos + 1\n"
    "    ipos[m], ius[m], idoc[m] = nout, us, doc\n"
    "  end\n"
    "end\n"
    "local zrem, zadd, hs, kept = {}, {}, {}, {}\n"
    "for d in pairs(drop) do zrem[#zrem + 1] = d end\n"
    "for _, d in ipairs(addorder) do\n"
    "  if adds[d] and not kept[d] then\n"
    "    kept[d] = true\n"
    "    zadd[#zadd + 1] = addus[d]\n"
    "    zadd[#zadd + 1] = d\n"
    "  end\n"
    "end\n"
    "for c, d in pairs(hset) do\n"
    "  hs[#hs + 1] = c\n"
    "  hs[#hs + 1] = d\n"
    "end\n"
    "each(zrem, 1000, function(...) zcard = zcard - redis.call('ZREM', KEYS[3], ...) end)\n"
    "each(zadd, 1000, function(...) zcard = zcard + redis.call('ZADD', KEYS[3], ...) end)\n"
    "each(hs, 1000, function(...) redis.call('HSET', KEYS[4], ...) end)\n"
    "local excess = zcard - size\n"
    "if excess > 0 then\n"
    "  local gone = redis.call('ZRANGE', KEYS[3], 0, excess - 1)\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)\n"
    "  local del = {}\n"
    "  for g = 1, #gone do\n"
    "    local gc = cid_of(gone[g])\n"
    "    if gc then del[#del + 1] = gc end\n"
    "  end\n"
    "  each(del, 1000, function(...) redis.call('HDEL', KEYS[4], ...) end)\n"
    "end\n"
    "local low = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "if low[1] then\n"
    "  local low_us, low_doc = tonumber(low[2]), low[1]\n"
    "  for m = 1, #ipos do\n"
    "    local us, doc = ius[m], idoc[m]\n"
    "    if kept[doc] and (us > low_us or (us == low_us and bytecmp(doc, low_doc) >= 0)) then\n"
    "      out[ipos[m]] = 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "for _, k in ipairs(porder) do\n"
    "  redis.call('SET', KEYS[k], pub[k])\n"
    "end\n"
    "if #pubs > 0 then redis.call('PUBLISH', ARGV[2], table.concat(pubs, '\\n')) end\n"
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
