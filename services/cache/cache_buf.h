/* cache_buf: the common growable buffer (gg_buf) with the appends response bodies need. Bodies are
 * assembled once into one malloc'd block, which the HTTP layer then sends and frees without another
 * copy. */
#ifndef CACHE_BUF_H
#define CACHE_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "gg_buf.h"

typedef gg_buf cache_buf;

void cache_buf_init(cache_buf *b);
void cache_buf_free(cache_buf *b);
void cache_buf_reset(cache_buf *b); /* keeps the allocation */
bool cache_buf_reserve(cache_buf *b, size_t extra);
void cache_buf_add(cache_buf *b, const void *p, size_t n);
void cache_buf_adds(cache_buf *b, const char *s);
void cache_buf_addc(cache_buf *b, char c);
/* A JSON string literal of s[0..n): quotes, backslashes and control characters escaped. */
void cache_buf_add_json_str(cache_buf *b, const char *s, size_t n);
/* Hands the block to the caller (who frees it) and leaves b empty. NULL when failed. */
char *cache_buf_take(cache_buf *b, size_t *len);

#endif
