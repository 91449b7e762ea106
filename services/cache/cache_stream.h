/* cache_stream: GET /v1/stream?stations=1,2,3&aspect=real_time, Server-Sent Events of every
 * accepted newer reading of the chosen stations (every station when stations is absent).
 *
 *   retry: 2000                      the reconnect delay a browser uses
 *   id: 1764000000001471             created_at_us of the reading: the position to resume from
 *   data: {"station_id":"3",...}     the reading, exactly as GET .../latest serves it
 *   :                                a heartbeat comment after GRIDGATE_STREAM_HEARTBEAT_S of quiet
 *
 * Last-Event-ID resumes: the readings of the followed stations with a created_at_us above it
 * are replayed from their recent lists in Redis (on any replica), oldest first, each newer than
 * the one replayed before it for its station and aspect, the newest GRIDGATE_STREAM_QUEUE at
 * most; then the live events follow, without the ones the replay already held. A station whose
 * readings carry event times below the resume position (a clock behind the others') is not
 * replayed for the time in between.
 *
 * The design, and why streams cost the HTTP threads nothing while they wait: cache_hub.h for the
 * fan-out, gg_http.h (streamed replies) for the connections, docs/ARCHITECTURE.md for both.
 *
 * Answers besides 200: 400 for a bad stations, aspect or Last-Event-ID; 503 too-many-streams
 * with Retry-After when GRIDGATE_STREAM_MAX streams are open on this replica; 503
 * redis-unavailable while the replica does not follow Redis's update channel (it would miss
 * updates), or when a resume cannot read Redis. */
#ifndef CACHE_STREAM_H
#define CACHE_STREAM_H

#include "cache.h"

/* Adds the route. Returns 0, or -1. */
int cache_stream_mount(cache_ctx *ctx);

#endif
