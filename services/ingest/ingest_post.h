/* ingest_post: the body of POST /v1/readings, read without any I/O (the handler, which produces
 * the good readings to Kafka and answers, is ingest_post_readings in ingest.h). */
#ifndef INGEST_POST_H
#define INGEST_POST_H

#include <jansson.h>
#include <stddef.h>

#include "gg_record.h"

#define INGEST_POST_MAX_ITEMS 10000

typedef struct ingest_post_item {
    gg_record rec;
    int reason; /* a gg_record_reason */
    char why[200];
    char *value; /* the normalised envelope produced to Kafka (malloc'd), for good ones */
    size_t slot; /* index into the Kafka records, for good ones */
} ingest_post_item;

/* The body, one reading or an array of 1 to INGEST_POST_MAX_ITEMS of them, as an array of items
 * (new reference); NULL when it is neither, with the problem type in *slug ("invalid-json" or
 * "invalid-body") and the reason in why. */
json_t *ingest_post_items(const char *body, size_t len, const char **slug, char *why,
                          size_t whylen);

/* Checks one item, a wire envelope or a reading in the shape the read endpoints answer with, with
 * the consumer's parser (messages up to max_bytes, 0: no limit) and, when it is a reading, gives
 * it a correlation id if it has none and prepares its value. */
void ingest_post_check(json_t *item, size_t max_bytes, ingest_post_item *out);

#endif
