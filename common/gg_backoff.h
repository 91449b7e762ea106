/* gg_backoff: capped exponential backoff with full jitter, for every retry against a backing
 * service. Jitter keeps many replicas from hammering a store that has just come back. */
#ifndef GG_BACKOFF_H
#define GG_BACKOFF_H

#include <stdint.h>

typedef struct gg_backoff {
    uint32_t base_ms; /* first delay's upper bound */
    uint32_t cap_ms;  /* no delay is longer than this */
    uint32_t attempt; /* failures since the last success */
    uint64_t rng;     /* xorshift state; per instance, so no shared mutable state */
} gg_backoff;

void gg_backoff_init(gg_backoff *b, uint32_t base_ms, uint32_t cap_ms);
/* The delay before the next attempt; counts one more failure. */
uint32_t gg_backoff_next(gg_backoff *b);
/* Forget past failures after a success. */
void gg_backoff_reset(gg_backoff *b);

#endif
