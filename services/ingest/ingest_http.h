/* ingest_http: ingest's REST routes: stored readings, status and POST /v1/readings. */
#ifndef INGEST_HTTP_H
#define INGEST_HTTP_H

#include "gg_http.h"

typedef struct ingest_ctx ingest_ctx;

/* ingest_http.c: the REST routes (reads and status). */
int ingest_http_mount(ingest_ctx *ctx);
/* ingest_post.c: POST /v1/readings. */
void ingest_post_readings(gg_http_req *req, void *ud);
/* ingest_query.c: reads from the store for the REST routes. */
void ingest_query_station(gg_http_req *req, void *ud);
void ingest_query_reading(gg_http_req *req, void *ud);

#endif
