/* cache_buf: growable byte buffer (see cache_buf.h). */
#include "cache_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cache_buf_init(cache_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void cache_buf_free(cache_buf *b)
{
    gg_buf_free(b);
}

void cache_buf_reset(cache_buf *b)
{
    gg_buf_reset(b);
}

bool cache_buf_reserve(cache_buf *b, size_t extra)
{
    return gg_buf_reserve(b, extra);
}

void cache_buf_add(cache_buf *b, const void *p, size_t n)
{
    gg_buf_append(b, p, n);
}

void cache_buf_adds(cache_buf *b, const char *s)
{
    cache_buf_add(b, s, strlen(s));
}

void cache_buf_addc(cache_buf *b, char c)
{
    cache_buf_add(b, &c, 1);
}

void cache_buf_add_json_str(cache_buf *b, const char *s, size_t n)
{
    /* Worst case every byte becomes \u00XX. */
    if (!cache_buf_reserve(b, n * 6 + 2))
        return;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
}

char *cache_buf_take(cache_buf *b, size_t *len)
{
    return gg_buf_take(b, len);
}
