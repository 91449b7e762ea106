/* cache_body: list bodies (see cache_body.h). */
#include "cache_body.h"

#include "cache_ids.h"

#include <stdio.h>
#include <string.h>

static void add_doc(cache_buf *b, const char *doc, size_t doclen)
{
    if (doc)
        cache_buf_add(b, doc, doclen);
    else
        cache_buf_add(b, "null", 4);
}

void cache_body_many_open(cache_buf *b, gg_aspect aspect)
{
    cache_buf_adds(b, "{\"aspect\":\"");
    cache_buf_adds(b, gg_aspect_name(aspect));
    cache_buf_adds(b, "\",\"latest\":{");
}

void cache_body_many_item(cache_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen)
{
    if (i)
        cache_buf_addc(b, ',');
    cache_buf_add_json_str(b, id, idlen);
    cache_buf_addc(b, ':');
    add_doc(b, doc, doclen);
}

void cache_body_many_close(cache_buf *b)
{
    cache_buf_add(b, "}}", 2);
}

void cache_body_list_open(cache_buf *b, size_t count)
{
    char head[64];
    snprintf(head, sizeof(head), "{\"count\":%zu,\"stations\":[", count);
    cache_buf_adds(b, head);
}

void cache_body_list_item(cache_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen)
{
    cache_buf_adds(b, i ? ",{\"station_id\":" : "{\"station_id\":");
    cache_buf_add_json_str(b, id, idlen);
    cache_buf_adds(b, ",\"latest\":");
    add_doc(b, doc, doclen);
    cache_buf_addc(b, '}');
}

void cache_body_list_close(cache_buf *b, const char *next, size_t nextlen)
{
    cache_buf_adds(b, "],\"next_cursor\":");
    if (next)
        cache_buf_add_json_str(b, next, nextlen);
    else
        cache_buf_add(b, "null", 4);
    cache_buf_addc(b, '}');
}

bool cache_page_slice(const cache_page *p, size_t n,
                      const char *(*id)(const void *, size_t, size_t *), const void *ids,
                      size_t *start, size_t *end)
{
    size_t i = 0, len;
    /* Listings are at most some 10^4 stations, already sorted: a scan costs less than the
     * sort did. */
    while (p->after && i < n) {
        const char *s = id(ids, i, &len);
        if (cache_id_cmp(s, len, p->after, p->afterlen) > 0)
            break;
        i++;
    }
    *start = i;
    *end = n - i > p->limit ? i + p->limit : n;
    return *end < n;
}

void cache_body_recent_open(cache_buf *b, const char *id, size_t count)
{
    char head[64];
    cache_buf_adds(b, "{\"station_id\":");
    cache_buf_add_json_str(b, id, strlen(id));
    snprintf(head, sizeof(head), ",\"count\":%zu,\"readings\":[", count);
    cache_buf_adds(b, head);
}

void cache_body_recent_item(cache_buf *b, size_t i, const char *doc, size_t doclen)
{
    if (i)
        cache_buf_addc(b, ',');
    cache_buf_add(b, doc, doclen);
}

void cache_body_recent_close(cache_buf *b)
{
    cache_buf_add(b, "]}", 2);
}
