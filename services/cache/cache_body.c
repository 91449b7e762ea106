/* cache_body: list bodies (see cache_body.h). */
#include "cache_body.h"

#include "cache_ids.h"

#include <stdio.h>
#include <string.h>

static void add_doc(gg_buf *b, const char *doc, size_t doclen)
{
    if (doc)
        gg_buf_append(b, doc, doclen);
    else
        gg_buf_append(b, "null", 4);
}

void cache_body_many_open(gg_buf *b, gg_aspect aspect)
{
    gg_buf_puts(b, "{\"aspect\":\"");
    gg_buf_puts(b, gg_aspect_name(aspect));
    gg_buf_puts(b, "\",\"latest\":{");
}

void cache_body_many_item(gg_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen)
{
    if (i)
        gg_buf_putc(b, ',');
    gg_buf_json_str(b, id, idlen);
    gg_buf_putc(b, ':');
    add_doc(b, doc, doclen);
}

void cache_body_many_close(gg_buf *b)
{
    gg_buf_append(b, "}}", 2);
}

void cache_body_list_open(gg_buf *b, size_t count)
{
    char head[64];
    snprintf(head, sizeof(head), "{\"count\":%zu,\"stations\":[", count);
    gg_buf_puts(b, head);
}

void cache_body_list_item(gg_buf *b, size_t i, const char *id, size_t idlen, const char *doc,
                          size_t doclen)
{
    gg_buf_puts(b, i ? ",{\"station_id\":" : "{\"station_id\":");
    gg_buf_json_str(b, id, idlen);
    gg_buf_puts(b, ",\"latest\":");
    add_doc(b, doc, doclen);
    gg_buf_putc(b, '}');
}

void cache_body_list_close(gg_buf *b, const char *next, size_t nextlen)
{
    gg_buf_puts(b, "],\"next_cursor\":");
    if (next)
        gg_buf_json_str(b, next, nextlen);
    else
        gg_buf_append(b, "null", 4);
    gg_buf_putc(b, '}');
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

void cache_body_recent_open(gg_buf *b, const char *id, size_t count)
{
    char head[64];
    gg_buf_puts(b, "{\"station_id\":");
    gg_buf_json_str(b, id, strlen(id));
    snprintf(head, sizeof(head), ",\"count\":%zu,\"readings\":[", count);
    gg_buf_puts(b, head);
}

void cache_body_recent_item(gg_buf *b, size_t i, const char *doc, size_t doclen)
{
    if (i)
        gg_buf_putc(b, ',');
    gg_buf_append(b, doc, doclen);
}

void cache_body_recent_close(gg_buf *b)
{
    gg_buf_append(b, "]}", 2);
}
