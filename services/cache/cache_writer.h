/* cache_writer: applies a poll batch of readings to Redis in one pipelined round: per station
 * in the batch one EVALSHA of the update step (cache_script.h) with that station's readings in
 * batch order, and one SADD to the station index. A call per station rather than per reading:
 * Redis pays a script call's fixed cost once per station and poll, one write per latest value
 * however many readings replaced it, and one message on the update channel for all of them. The
 * index lives outside the station's hash tag (it spans all stations), so it is written beside the
 * script rather than inside it; the script runs first, so an indexed station always has data. Both
 * are idempotent: a batch that failed halfway is simply sent again.
 *
 * The writer owns one connection (the consumer thread's), opened lazily; the script is loaded
 * when it connects and again when the server answers NOSCRIPT. */
#ifndef CACHE_WRITER_H
#define CACHE_WRITER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "cache.h"
#include "cache_doc.h"

/* One consumed message and, when it is a valid reading, its document. */
typedef struct cache_item {
    rd_kafka_message_t *msg;
    gg_record rec;
    size_t doclen; /* 0: not a reading; skipped */
    char doc[CACHE_DOC_MAX];
} cache_item;

typedef struct cache_apply_result {
    size_t applied;        /* readings sent */
    size_t latest_updates; /* readings that became the latest of their station and aspect */
    size_t ignored;        /* readings that changed nothing */
    size_t refused;        /* readings of new stations past GRIDGATE_MAX_STATIONS, dropped */
} cache_apply_result;

typedef struct cache_writer cache_writer;

cache_writer *cache_writer_new(const cache_ctx *ctx);
void cache_writer_free(cache_writer *w);

/* Returns 0 when Redis acknowledged every reading of items[0..n) that the station cap admits
 * (cache_admit.h; res->refused counts the others, dropped), else -1 with the reason in
 * err (the connection is dropped after an I/O error and reopened on the next call). */
int cache_writer_apply(cache_writer *w, const cache_item *items, size_t n, cache_apply_result *res,
                       char *err, size_t errlen);

/* cache_writer_apply in two halves, so that the caller can parse its next batch while Redis
 * works on this one: send runs the admission and writes the batch's commands to the socket
 * without waiting for Redis; receive reads the replies (and sends the batch again if the server
 * had lost the script). items[0..n) must stay as they are in between, and nothing else may use
 * the writer. send returns 0 or -1 with the reason in err; receive returns and fills res as
 * cache_writer_apply does. After a failed send, receive is not called. */
int cache_writer_send(cache_writer *w, const cache_item *items, size_t n, char *err, size_t errlen);
int cache_writer_receive(cache_writer *w, const cache_item *items, cache_apply_result *res,
                         char *err, size_t errlen);

#endif
