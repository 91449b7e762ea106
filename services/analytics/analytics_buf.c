/* analytics_buf: growable strings and escapes (see analytics_buf.h). */
#include "analytics_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void analytics_buf_append(analytics_buf *b, const char *s, size_t n)
{
    gg_buf_append(b, s, n);
}

void analytics_buf_puts(analytics_buf *b, const char *s)
{
    analytics_buf_append(b, s, strlen(s));
}

void analytics_buf_printf(analytics_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gg_buf_vprintf(b, fmt, ap);
    va_end(ap);
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
    return gg_buf_take(b, NULL);
}

void analytics_buf_free(analytics_buf *b)
{
    gg_buf_free(b);
}
