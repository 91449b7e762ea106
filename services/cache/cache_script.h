/* cache_script: the one server-side step that applies readings of one station to Redis
 * atomically, in the order given: one call per station and poll batch.
 *
 * EVALSHA <sha> 4 <latest key, real_time> <latest key, edge_prediction> <recent set>
 *         <recent ids hash> <recent size> <update channel>
 *         then per reading: <aspect: 1 real_time, 2 edge_prediction> <created_at_us>
 *                           <correlation id or ""> <document>
 *
 * Every key holds the station as its hash tag (cache_keys.h), so one call touches one slot.
 * Per reading, as if each were applied alone:
 * - latest: the document replaces the stored one only when it is newer by the order of
 *   cache_doc.h, so duplicates and late messages never move a value back. The stored value is
 *   written once per aspect at the end of the call (the last of several replacements in one
 *   call is the only one anybody could read), but every replacement is published on the update
 *   channel, in order, in one message per call: the documents joined by '\n' (a document never
 *   holds a raw newline; cache_doc_next_published splits them). Replicas keep their local
 *   copies with them and their event streams carry each accepted newer reading, not one per
 *   call;
 * - recent: the document joins the sorted set scored by created_at_us. A correlation id seen
 *   before keeps only the newer of the two documents, so a resent reading is not listed twice.
 *   At the end of the call the set is trimmed to the recent size, oldest first, and the ids of
 *   trimmed documents leave the hash (a correlation id is in the set at most once, so its
 *   entry names the trimmed document): the same set as trimming after each reading, since a
 *   document trimmed early would have as many newer ones above it at the end. For the same
 *   reason a reading older than the oldest of a full set is not added at all: it could only be
 *   trimmed again (late readings, and a replay, skip the set's writes).
 * Returns, per reading in order, {latest replaced (0/1), document in the recent set at the end
 * of the call (0/1)}, flattened.
 *
 * The script loads once per connection (SCRIPT LOAD); callers re-load it when a server answers
 * NOSCRIPT (after a restart or SCRIPT FLUSH). */
#ifndef CACHE_SCRIPT_H
#define CACHE_SCRIPT_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#define CACHE_SHA_LEN 41

const char *cache_script_source(void);

/* SCRIPT LOAD on c; the digest goes to sha. Returns 0, or -1 with the reason in err. */
int cache_script_load(redisContext *c, char sha[CACHE_SHA_LEN], char *err, size_t errlen);

/* True for the error reply of an EVALSHA whose script the server does not have. */
int cache_script_is_noscript(const redisReply *r);

#endif
