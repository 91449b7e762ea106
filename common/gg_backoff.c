/* gg_backoff: capped exponential backoff with full jitter (see gg_backoff.h). */
#include "gg_backoff.h"

#include <time.h>

void gg_backoff_init(gg_backoff *b, uint32_t base_ms, uint32_t cap_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    b->base_ms = base_ms ? base_ms : 1;
    b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
    b->attempt = 0;
    b->rng = ((uint64_t)ts.tv_nsec << 17) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)b;
    if (b->rng == 0)
        b->rng = 0x9e3779b97f4a7c15ULL;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

uint32_t gg_backoff_next(gg_backoff *b)
{
    /* Ceiling doubles per failure up to the cap; the delay is drawn from [ceiling/2, ceiling] so
     * that it still grows (pure full jitter can retry at once, which floods logs). */
    uint64_t ceiling = b->base_ms;
    for (uint32_t i = 0; i < b->attempt && ceiling < b->cap_ms; i++)
        ceiling *= 2;
    if (ceiling > b->cap_ms)
        ceiling = b->cap_ms;
    if (b->attempt < 64)
        b->attempt++;
    uint64_t half = ceiling / 2;
    return (uint32_t)(half + xorshift64(&b->rng) % (ceiling - half + 1));
}

void gg_backoff_reset(gg_backoff *b)
{
    b->attempt = 0;
}
