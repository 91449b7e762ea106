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

void gg_buf_init(gg_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void gg_buf_puts(gg_buf *b, const char *s)
{
    gg_buf_append(b, s, strlen(s));
}

void gg_buf_putc(gg_buf *b, char c)
{
    gg_buf_append(b, &c, 1);
}

void gg_buf_printf(gg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gg_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void gg_buf_json_str(gg_buf *b, const char *s, size_t n)
{
    /* Worst case every byte becomes \u00XX. */
    if (!gg_buf_reserve(b, n * 6 + 2))
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

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void gg_buf_url_escape(gg_buf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            gg_buf_append(b, p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            gg_buf_append(b, esc, 3);
        }
    }
}

void gg_buf_form(gg_buf *b, const char *name, const char *value)
{
    if (b->len)
        gg_buf_append(b, "&", 1);
    gg_buf_url_escape(b, name, false);
    gg_buf_append(b, "=", 1);
    gg_buf_url_escape(b, value, false);
}

const char *gg_buf_str(const gg_buf *b)
{
    if (b->failed)
        return NULL;
    return b->data ? b->data : "";
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
