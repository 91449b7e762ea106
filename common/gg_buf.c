/* gg_buf: growable byte buffer (see gg_buf.h). */
#include "gg_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool gg_buf_reserve(gg_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > (size_t)-1 / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

void gg_buf_append(gg_buf *b, const void *p, size_t n)
{
    if (!gg_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void gg_buf_vprintf(gg_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0 || !gg_buf_reserve(b, (size_t)n)) {
        b->failed = true;
        va_end(again);
        return;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    va_end(again);
    b->len += (size_t)n;
}

void gg_buf_reset(gg_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

char *gg_buf_take(gg_buf *b, size_t *len)
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
    memset(b, 0, sizeof(*b));
    return data;
}

void gg_buf_free(gg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
