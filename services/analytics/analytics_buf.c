/* analytics_buf: growable strings and escapes (see analytics_buf.h). */
#include "analytics_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool buf_reserve(analytics_buf *b, size_t extra)
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

void analytics_buf_append(analytics_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void analytics_buf_puts(analytics_buf *b, const char *s)
{
    analytics_buf_append(b, s, strlen(s));
}

void analytics_buf_printf(analytics_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !buf_reserve(b, (size_t)n)) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void analytics_buf_url_escape(analytics_buf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            analytics_buf_append(b, (const char *)p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            analytics_buf_append(b, esc, 3);
        }
    }
}

void analytics_buf_form(analytics_buf *b, const char *name, const char *value)
{
    if (b->len)
        analytics_buf_append(b, "&", 1);
    analytics_buf_url_escape(b, name, false);
    analytics_buf_append(b, "=", 1);
    analytics_buf_url_escape(b, value, false);
}

const char *analytics_buf_str(const analytics_buf *b)
{
    if (b->failed)
        return NULL;
    return b->data ? b->data : "";
}

char *analytics_buf_take(analytics_buf *b)
{
    char *out = NULL;
    if (!b->failed)
        out = b->data ? b->data : strdup("");
    else
        free(b->data);
    memset(b, 0, sizeof(*b));
    return out;
}

void analytics_buf_free(analytics_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
