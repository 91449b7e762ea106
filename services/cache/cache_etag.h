/* cache_etag: entity tags of the cache's answers and the If-None-Match test.
 *
 * A tag is a 64-bit hash of the body, so every replica gives the same tag for the same bytes
 * and a dashboard polling through a load balancer still gets 304s. It need not resist
 * attackers: a collision only costs one client a missed update of its own resource. */
#ifndef CACHE_ETAG_H
#define CACHE_ETAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_ETAG_LEN 19 /* '"' + 16 hex digits + '"' + NUL */

uint64_t cache_hash(const void *data, size_t len);
/* Writes the strong tag of body, quotes included, into out. */
void cache_etag_make(char out[CACHE_ETAG_LEN], const void *body, size_t len);
/* If-None-Match (RFC 9110 13.1.2) with weak comparison: true when header is "*" or lists a tag
 * whose opaque part equals etag's, with or without W/. A NULL header never matches. */
bool cache_etag_matches(const char *header, const char *etag);

#endif
