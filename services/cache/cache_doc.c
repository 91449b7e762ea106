/* cache_doc: stored reading documents and newer-wins order (see cache_doc.h). */
#include "cache_doc.h"

#include "gg_time.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest %g text that reads back as the same double ("421", "0.1", "-2.5e-07"). */
static void format_number(double v, char *out, size_t len)
{
    if (!isfinite(v)) { /* the parser never lets these through; JSON has no text for them */
        snprintf(out, len, "null");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, len, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Appends s as a JSON string body (no quotes); returns the new position or NULL when full. */
static char *put_escaped(char *o, const char *end, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (end - o < 7)
            return NULL;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            o += snprintf(o, 7, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    return o;
}

size_t cache_doc_format(const gg_record *r, char *buf, size_t len)
{
    char num[32], at[GG_TIME_BUFLEN], unit[GG_RECORD_UNIT_MAX * 6 + 1];
    format_number(r->modality, num, sizeof(num));
    if (gg_time_format_us(r->created_at_us, at, sizeof(at)) != 0)
        return 0;
    char *u = put_escaped(unit, unit + sizeof(unit), r->unit);
    if (!u)
        return 0;
    *u = '\0';
    const char *aspect = gg_aspect_name(r->aspect);
    int n;
    if (r->has_correlation_id)
        n = snprintf(buf, len,
                     "{\"station_id\":\"%s\",\"temporal_aspect\":\"%s\",\"modality\":%s,"
                     "\"unit\":\"%s\",\"created_at\":\"%s\",\"created_at_us\":%" PRId64
                     ",\"correlation_id\":\"%s\"}",
                     r->station_id, aspect ? aspect : "", num, unit, at, r->created_at_us,
                     r->correlation_id);
    else
        n = snprintf(buf, len,
                     "{\"station_id\":\"%s\",\"temporal_aspect\":\"%s\",\"modality\":%s,"
                     "\"unit\":\"%s\",\"created_at\":\"%s\",\"created_at_us\":%" PRId64 "}",
                     r->station_id, aspect ? aspect : "", num, unit, at, r->created_at_us);
    if (n < 0 || (size_t)n >= len)
        return 0;
    return (size_t)n;
}

int cache_doc_parse(const char *doc, size_t len, cache_doc_info *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = json_loadb(doc, len, 0, NULL);
    if (!j)
        return -1;
    int rc = -1;
    const json_t *st = json_object_get(j, "station_id");
    const json_t *asp = json_object_get(j, "temporal_aspect");
    const json_t *us = json_object_get(j, "created_at_us");
    const json_t *cid = json_object_get(j, "correlation_id");
    if (!json_is_string(st) || !json_is_string(asp) || !json_is_integer(us))
        goto done;
    if (!gg_record_station_id_valid(json_string_value(st), json_string_length(st)) ||
        gg_aspect_parse(json_string_value(asp), &out->aspect) != 0)
        goto done;
    memcpy(out->station_id, json_string_value(st), json_string_length(st) + 1);
    out->created_at_us = json_integer_value(us);
    if (json_is_string(cid) && json_string_length(cid) <= GG_RECORD_UUID_LEN)
        memcpy(out->correlation_id, json_string_value(cid), json_string_length(cid) + 1);
    else if (cid && !json_is_null(cid))
        goto done;
    rc = 0;
done:
    json_decref(j);
    return rc;
}

static int bytes_order(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

int cache_doc_order(const cache_doc_info *a, const char *adoc, size_t alen, const cache_doc_info *b,
                    const char *bdoc, size_t blen)
{
    if (a->created_at_us != b->created_at_us)
        return a->created_at_us < b->created_at_us ? -1 : 1;
    int c = bytes_order(a->correlation_id, strlen(a->correlation_id), b->correlation_id,
                        strlen(b->correlation_id));
    return c ? c : bytes_order(adoc, alen, bdoc, blen);
}

int cache_doc_next_published(const char *msg, size_t msglen, size_t *off, const char **doc,
                             size_t *len)
{
    while (*off < msglen) {
        const char *start = msg + *off;
        const char *nl = memchr(start, '\n', msglen - *off);
        size_t n = nl ? (size_t)(nl - start) : msglen - *off;
        *off += n + (nl ? 1 : 0);
        if (n > 0) {
            *doc = start;
            *len = n;
            return 1;
        }
    }
    return 0;
}

int cache_doc_prev_published(const char *msg, size_t *end, const char **doc, size_t *len)
{
    while (*end > 0) {
        size_t stop = *end, start = stop;
        while (start > 0 && msg[start - 1] != '\n')
            start--;
        *end = start > 0 ? start - 1 : 0;
        if (stop > start) {
            *doc = msg + start;
            *len = stop - start;
            return 1;
        }
    }
    return 0;
}
