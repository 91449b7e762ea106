/* gg_metrics: a small thread-safe Prometheus registry, rendered in text exposition format 0.0.4
 * for GET /metrics.
 *
 * A metric series is a (name, labels) pair inside a family that has one HELP, one TYPE and, for
 * histograms, one bucket layout. Asking the registry again for the same pair returns the same
 * object, so request handlers may look a series up on every request (a hash lookup under a read
 * lock) or cache the pointer, which stays valid until gg_metrics_free(). Updates are C11 atomics
 * and take no lock, so a scrape never stalls the hot path.
 *
 * Lookups return NULL for a name or label list that would break the exposition format, for a
 * name already registered with another type (or other histogram buckets), and once the registry
 * holds GG_METRICS_MAX_SERIES series: an unbounded label value must not exhaust memory. Every
 * update function accepts NULL and does nothing, so a refused series costs a metric, not the
 * service. */
#ifndef GG_METRICS_H
#define GG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define GG_METRICS_MAX_SERIES 10000

typedef struct gg_metrics gg_metrics;
typedef struct gg_counter gg_counter;
typedef struct gg_gauge gg_gauge;
typedef struct gg_histogram gg_histogram;

/* Family names become prefix_name ("gridgate_cache" + "hits_total"); NULL or "" adds nothing.
 * Returns NULL when out of memory or when prefix is not a valid metric name. */
gg_metrics *gg_metrics_new(const char *prefix);
void gg_metrics_free(gg_metrics *m);

/* labels is a pre-rendered label list such as `route="/v1/x",status="200"` whose values went
 * through gg_metrics_label_escape(), or NULL (same as ""). help is kept from the family's first
 * series. */
gg_counter *gg_metrics_counter(gg_metrics *m, const char *name, const char *help,
                               const char *labels);
void gg_counter_add(gg_counter *c, uint64_t n);
uint64_t gg_counter_value(const gg_counter *c);

gg_gauge *gg_metrics_gauge(gg_metrics *m, const char *name, const char *help, const char *labels);
void gg_gauge_set(gg_gauge *g, double v);
void gg_gauge_add(gg_gauge *g, double d);
double gg_gauge_value(const gg_gauge *g);

/* bounds are the finite upper bounds of the buckets, strictly ascending; +Inf is implied. labels
 * must not use "le", which the rendering adds. The family's first series fixes the bounds. */
gg_histogram *gg_metrics_histogram(gg_metrics *m, const char *name, const char *help,
                                   const char *labels, const double *bounds, size_t nbounds);
/* NaN observations are dropped: they would turn _sum into NaN for good. */
void gg_histogram_observe(gg_histogram *h, double v);
uint64_t gg_histogram_count(const gg_histogram *h);
double gg_histogram_sum(const gg_histogram *h);

/* Bucket bounds in seconds from 50us to 10s, sensible for HTTP requests and batch writes. */
const double *gg_metrics_latency_buckets(size_t *n);

/* The whole registry as exposition text: families in registration order, # HELP and # TYPE once
 * each, histogram _bucket{...,le="..."} cumulative, then _sum and _count. malloc'd, NUL-terminated;
 * *len (when len is not NULL) gets its length. NULL when out of memory. */
char *gg_metrics_render(gg_metrics *m, size_t *len);

/* Escapes a label value (\\, \" and \n) into dst, always NUL-terminating when dstlen > 0. Returns
 * the length the full escaped value needs, like snprintf; when that is >= dstlen the output was cut
 * short, never inside an escape sequence or a UTF-8 character. */
size_t gg_metrics_label_escape(char *dst, size_t dstlen, const char *value);

#endif
