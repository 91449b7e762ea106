/* gg_buf: a growable NUL-terminated byte buffer. Response bodies, URLs and HiveQL are assembled
 * in one malloc'd block that the HTTP layer can then send and free without another copy. A
 * failed allocation does not crash: the buffer remembers it, ignores later appends, and hands
 * out NULL, so callers check once at the end instead of after every append. */
#ifndef GG_BUF_H
#define GG_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct gg_buf {
    char *data; /* NUL-terminated once anything was appended; NULL before */
    size_t len, cap;
    bool failed; /* an allocation failed: the content is incomplete */
} gg_buf;

/* Room for extra more bytes plus the NUL; false (and failed set) when it cannot be had. */
bool gg_buf_reserve(gg_buf *b, size_t extra);
void gg_buf_append(gg_buf *b, const void *p, size_t n);
void gg_buf_init(gg_buf *b); /* or = {0} */
void gg_buf_puts(gg_buf *b, const char *s);
void gg_buf_putc(gg_buf *b, char c);
void gg_buf_vprintf(gg_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void gg_buf_printf(gg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s[0..n): quotes, backslashes and control characters escaped, other
 * bytes as they are (the caller hands UTF-8). */
void gg_buf_json_str(gg_buf *b, const char *s, size_t n);
/* Percent-encodes s: RFC 3986's unreserved characters stay, and '/' when keep_slash. */
void gg_buf_url_escape(gg_buf *b, const char *s, bool keep_slash);
/* Appends "&name=value" (no '&' when the buffer is empty), both percent-encoded: a form body or
 * a query string. */
void gg_buf_form(gg_buf *b, const char *name, const char *value);
/* The content so far ("" when empty), still owned by b; NULL when an allocation failed. */
const char *gg_buf_str(const gg_buf *b);
/* Empties the buffer but keeps its allocation. */
void gg_buf_reset(gg_buf *b);
/* Hands the malloc'd content to the caller ("" when nothing was appended, NULL when an
 * allocation failed), stores its length in *len when len is set, and empties the buffer. */
char *gg_buf_take(gg_buf *b, size_t *len);
void gg_buf_free(gg_buf *b);

#endif
