/* cache_keys: the Redis key layout of the cache, in one place.
 *
 *   <prefix>{<station>}:latest:real_time        string: the newest real_time reading (JSON)
 *   <prefix>{<station>}:latest:edge_prediction  string: the newest edge_prediction reading
 *   <prefix>{<station>}:recent                  sorted set: recent readings scored by event time
 *   <prefix>{<station>}:recent-ids              hash: correlation id -> member of :recent
 *   <prefix>stations                            set: every known station id
 *   <prefix>updates                             pub/sub channel: each new latest reading
 *
 * The station id sits in a Redis Cluster hash tag, so the keys one update step touches share a
 * slot and the step can run as one script. Station ids are checked with
 * gg_record_station_id_valid() before they get here, and the prefix with cache_prefix_check():
 * neither can hold a brace, which would move the hash tag. */
#ifndef CACHE_KEYS_H
#define CACHE_KEYS_H

#include <stddef.h>

#include "gg_record.h"

#define CACHE_PREFIX_MAX 64
/* Room for the longest key: prefix, braces, station id and the longest suffix. */
#define CACHE_KEY_MAX (CACHE_PREFIX_MAX + GG_RECORD_STATION_MAX + 40)

/* gg_conf_check for the key prefix: at most CACHE_PREFIX_MAX characters of [A-Za-z0-9:._-]. */
int cache_prefix_check(const char *value, char *why, size_t whylen);

/* Each writes a NUL-terminated key into buf (CACHE_KEY_MAX bytes) and returns its length. */
size_t cache_key_latest(char *buf, const char *prefix, const char *station, gg_aspect aspect);
size_t cache_key_recent(char *buf, const char *prefix, const char *station);
size_t cache_key_recent_ids(char *buf, const char *prefix, const char *station);
size_t cache_key_index(char *buf, const char *prefix);
size_t cache_key_channel(char *buf, const char *prefix);

#endif
