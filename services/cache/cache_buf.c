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
    free(b->data);
    cache_buf_init(b);
}

void cache_buf_reset(cache_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

bool cache_buf_reserve(cache_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

void cache_buf_add(cache_buf *b, const void *p, size_t n)
{
    if (!cache_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
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
    char *data = NULL;
    size_t n = 0;
    if (b->failed) {
        free(b->data);
    } else if (b->data) {
        data = b->data;
        n = b->len;
    } else {
        data = calloc(1, 1); /* nothing appended: still a valid empty string */
    }
    if (len)
        *len = data ? n : 0;
    cache_buf_init(b);
    return data;
}
