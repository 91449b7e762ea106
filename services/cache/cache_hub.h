/* cache_hub: the fan-out behind GET /v1/stream. Every update the sync thread receives on the
 * update channel (every replica receives every update, whichever replica's consumer applied it)
 * is formatted once as a Server-Sent Event and queued, by reference, to each open stream that
 * follows its station and aspect.
 *
 * Each stream has a bounded queue. A stream whose client does not keep up, so that its queue is
 * full when the next event comes, is cut: its queue is dropped and its connection aborted. The
 * publisher never waits for a client and a slow client never holds memory beyond its bound.
 * Streams are woken through a sink (the HTTP stream in production, a fake in tests) and read
 * from the HTTP threads; no thread ever waits for a stream.
 *
 * Event id: created_at_us of the reading, the score of the station's recent list in Redis, so a
 * client resumes with Last-Event-ID from those lists on any replica (cache_stream.c).
 *
 * Locks: hub->lock (the list of streams) before a stream's lock before the sink's own. */
#ifndef CACHE_HUB_H
#define CACHE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache_doc.h"
#include "cache_ids.h"
#include "gg_metrics.h"
#include "gg_record.h"

typedef struct cache_hub cache_hub;
typedef struct cache_hub_client cache_hub_client;
typedef struct cache_event cache_event;

typedef struct cache_hub_sink {
    void (*wake)(void *sink);            /* bytes or the end are pending */
    void (*end)(void *sink, bool abort); /* cut (abort) or ended by the hub */
    void *sink;
} cache_hub_sink;

typedef struct cache_hub_config {
    size_t max_streams; /* open streams at most; cache_hub_open refuses more */
    size_t queue_max;   /* events queued per stream; one more cuts the stream */
    long heartbeat_ms;  /* a stream silent this long gets a comment line */
} cache_hub_config;

typedef struct cache_hub_metrics {
    gg_gauge *open;      /* streams open now */
    gg_counter *events;  /* events queued to streams */
    gg_counter *cut;     /* streams cut because their client did not keep up */
    gg_counter *refused; /* streams refused at the cap */
} cache_hub_metrics;

/* m may be NULL or hold NULL series. The heartbeat thread starts with the hub. */
cache_hub *cache_hub_new(const cache_hub_config *cfg, const cache_hub_metrics *m);
/* Ends every stream (cleanly) and stops the heartbeat thread. The streams' close calls may come
 * after; the hub must outlive them (stop the HTTP server first, then free). */
void cache_hub_stop(cache_hub *h);
void cache_hub_free(cache_hub *h);

/* A new stream following ids (n of them, copied) or every station (n 0), of one aspect. NULL
 * when max_streams are open (counted as refused) or out of memory (*full tells which). Events
 * queue from now on; the stream is woken once a sink is attached. */
cache_hub_client *cache_hub_open(cache_hub *h, const cache_id *ids, size_t n, gg_aspect aspect,
                                 bool *full);
void cache_hub_attach(cache_hub_client *c, const cache_hub_sink *sink);
/* Text sent before everything queued (the retry hint and replayed events), taken over. Queued
 * events the replay already holds are dropped: those of the same station and aspect not newer
 * than the newest replayed one (floors, n of them). */
typedef struct cache_hub_floor {
    const char *station;
    gg_aspect aspect;
    int64_t created_at_us;
} cache_hub_floor;
void cache_hub_preface(cache_hub_client *c, char *text, size_t len, const cache_hub_floor *floors,
                       size_t n);
/* Copies up to max pending bytes into buf: the preface, a heartbeat comment if one is due, then
 * queued events (an event may span calls). 0 when nothing is pending; GG_HTTP_STREAM_END
 * ((size_t)-1) once the stream was cut or ended. */
size_t cache_hub_read(cache_hub_client *c, char *buf, size_t max);
/* The connection is gone: removes the stream and frees it. No sink call follows. */
void cache_hub_close(cache_hub_client *c);

/* One accepted update (a reading document from the update channel); returns the number of
 * streams it was queued to, -1 when doc is not a reading document. Any one thread. */
int cache_hub_publish(cache_hub *h, const char *doc, size_t len);
/* The same with the fields cache_doc_parse read from doc. */
int cache_hub_publish_parsed(cache_hub *h, const char *doc, size_t len, const cache_doc_info *info);
/* Ends every stream cleanly (the updates may have gaps: the subscription was lost), so clients
 * reconnect and resume from Redis. */
void cache_hub_end_all(cache_hub *h);
/* Queues a heartbeat on every stream silent for heartbeat_ms; the heartbeat thread calls it,
 * tests call it with their own clock. */
void cache_hub_beat(cache_hub *h, int64_t now_ms);
size_t cache_hub_streams(cache_hub *h);

/* The event text of one reading document: "id: <created_at_us>\ndata: <doc>\n\n". Returns its
 * length, 0 when it does not fit in len or doc is not a reading. */
size_t cache_hub_format(const char *doc, size_t doclen, char *buf, size_t len);

#endif
