/* analytics_buf: the common growable buffer (gg_buf), and the escapes the service needs when it
 * writes URLs, form bodies and HiveQL. Every append keeps the buffer usable after a failed
 * allocation: the buffer then reports failure once (analytics_buf_ok) instead of crashing. */
#ifndef ANALYTICS_BUF_H
#define ANALYTICS_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "gg_buf.h"

typedef gg_buf analytics_buf;

void analytics_buf_append(analytics_buf *b, const char *s, size_t n);
void analytics_buf_puts(analytics_buf *b, const char *s);
void analytics_buf_printf(analytics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Percent-encodes s (RFC 3986 unreserved characters stay; '/' stays when keep_slash). */
void analytics_buf_url_escape(analytics_buf *b, const char *s, bool keep_slash);
/* Appends "&name=value" (no '&' when the buffer is empty), both form-encoded. */
void analytics_buf_form(analytics_buf *b, const char *name, const char *value);
/* The content ("" when empty); NULL when an allocation failed. */
const char *analytics_buf_str(const analytics_buf *b);
/* Hands the malloc'd content to the caller (NULL when it failed) and empties the buffer. */
char *analytics_buf_take(analytics_buf *b);
void analytics_buf_free(analytics_buf *b);

#endif
