/* cache_ids: station id lists and station order (see cache_ids.h). */
#include "cache_ids.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gg_record.h"

#define SEEN_SLOTS 2048 /* power of two, above 2 * CACHE_IDS_MAX: probing always ends */

static uint32_t id_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Open addressing over indexes into ids (+1, so 0 is empty): true when the id was there. */
static bool seen_before(uint16_t *slots, const cache_id *ids, const cache_id *id, uint16_t idx)
{
    uint32_t i = id_hash(id->s, id->len) & (SEEN_SLOTS - 1);
    while (slots[i]) {
        const cache_id *o = &ids[slots[i] - 1];
        if (o->len == id->len && memcmp(o->s, id->s, id->len) == 0)
            return true;
        i = (i + 1) & (SEEN_SLOTS - 1);
    }
    slots[i] = (uint16_t)(idx + 1);
    return false;
}

int cache_ids_parse(const char *text, cache_id *ids, size_t max, char *why, size_t whylen)
{
    uint16_t slots[SEEN_SLOTS] = {0};
    if (max > CACHE_IDS_MAX)
        max = CACHE_IDS_MAX;
    size_t n = 0, item = 0;
    const char *p = text ? text : "";
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        item++;
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(why, whylen, "item %zu of the list is empty", item);
            return -1;
        }
        if (!gg_record_station_id_valid(p, len)) {
            snprintf(why, whylen,
                     "item %zu is not a station id (1-%d characters of A-Z a-z 0-9 . _ -)", item,
                     GG_RECORD_STATION_MAX);
            return -1;
        }
        cache_id id = {p, len};
        if (!seen_before(slots, ids, &id, (uint16_t)n)) {
            if (n == max) {
                snprintf(why, whylen, "at most %zu stations per request", max);
                return -1;
            }
            ids[n++] = id;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return (int)n;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

int cache_id_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    bool an = all_digits(a, alen), bn = all_digits(b, blen);
    if (an != bn)
        return an ? -1 : 1;
    if (!an)
        return bytes_cmp(a, alen, b, blen);
    const char *x = a, *y = b;
    size_t xl = alen, yl = blen;
    while (xl > 1 && *x == '0') {
        x++;
        xl--;
    }
    while (yl > 1 && *y == '0') {
        y++;
        yl--;
    }
    if (xl != yl)
        return xl < yl ? -1 : 1;
    int c = bytes_cmp(x, xl, y, yl);
    return c ? c : bytes_cmp(a, alen, b, blen);
}
