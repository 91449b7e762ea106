/* cache_keys: Redis key names (see cache_keys.h). */
#include "cache_keys.h"

#include <stdio.h>
#include <string.h>

int cache_prefix_check(const char *value, char *why, size_t whylen)
{
    size_t n = strlen(value);
    if (n > CACHE_PREFIX_MAX) {
        snprintf(why, whylen, "must be at most %d characters", CACHE_PREFIX_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = value[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '.' || c == '_' || c == '-')) {
            snprintf(why, whylen, "may only hold the characters A-Z a-z 0-9 : . _ -");
            return -1;
        }
    }
    return 0;
}

static size_t key_format(char *buf, const char *prefix, const char *station, const char *suffix)
{
    int n = snprintf(buf, CACHE_KEY_MAX, "%s{%s}:%s", prefix, station, suffix);
    return n < 0 ? 0 : (size_t)n;
}

size_t cache_key_latest(char *buf, const char *prefix, const char *station, gg_aspect aspect)
{
    return key_format(buf, prefix, station,
                      aspect == GG_ASPECT_EDGE_PREDICTION ? "latest:edge_prediction"
                                                          : "latest:real_time");
}

size_t cache_key_recent(char *buf, const char *prefix, const char *station)
{
    return key_format(buf, prefix, station, "recent");
}

size_t cache_key_recent_ids(char *buf, const char *prefix, const char *station)
{
    return key_format(buf, prefix, station, "recent-ids");
}

size_t cache_key_index(char *buf, const char *prefix)
{
    int n = snprintf(buf, CACHE_KEY_MAX, "%sstations", prefix);
    return n < 0 ? 0 : (size_t)n;
}

size_t cache_key_channel(char *buf, const char *prefix)
{
    int n = snprintf(buf, CACHE_KEY_MAX, "%supdates", prefix);
    return n < 0 ? 0 : (size_t)n;
}
