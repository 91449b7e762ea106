/* gg_metrics: thread-safe Prometheus registry (see gg_metrics.h). */
#include "gg_metrics.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 64

typedef enum metric_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;
static const char *const kind_names[] = {"counter", "gauge", "histogram"};

static const double latency_buckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                         0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                         0.5,     1,      2.5,     5,      10};

typedef struct family {
    char *name;       /* prefixed, as exposed */
    const char *base; /* the name the caller uses: a suffix of name */
    char *help;
    metric_kind kind;
    double *bounds; /* histograms only; immutable, so observers read it without a lock */
    size_t nbounds;
    struct series *first, *last; /* exposition order is registration order */
    struct family *next;
} family;

/* The head every kind of series starts with; the public types embed it first, so a series
 * pointer and its counter, gauge or histogram pointer are interchangeable. */
typedef struct series {
    family *fam;
    char *labels; /* "" when none */
    uint64_t hash;
    struct series *hnext; /* hash chain */
    struct series *fnext; /* next series of the family */
} series;

struct gg_counter {
    series s;
    _Atomic uint64_t n;
};

/* Doubles live as their bit pattern: lock-free atomic uint64 everywhere, unlike _Atomic double. */
struct gg_gauge {
    series s;
    _Atomic uint64_t bits;
};

struct gg_histogram {
    series s;
    _Atomic uint64_t sum_bits;
    _Atomic uint64_t buckets[]; /* per bucket, not cumulative; the last is +Inf */
};

struct gg_metrics {
    char *prefix; /* "" or "prefix_" */
    pthread_rwlock_t lock;
    family *families, *last_family;
    series **slots;
    size_t nslots, nseries;
};

static uint64_t dbl_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double bits_dbl(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *bits, double d)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, dbl_bits(bits_dbl(old) + d),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

/* ---- names and labels -------------------------------------------------------------------- */

static bool name_valid(const char *s, bool metric)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && !(metric && *s == ':'))
            return false;
    return true;
}

/* A label list that is not well-formed would make Prometheus reject the whole scrape, so it is
 * refused once, when its series is created. The trailing comma the format allows is refused too:
 * histogram rendering appends ",le=...". */
static bool labels_valid(const char *l, bool histogram)
{
    while (*l) {
        const char *name = l;
        if (!isalpha((unsigned char)*l) && *l != '_')
            return false;
        while (isalnum((unsigned char)*l) || *l == '_')
            l++;
        if (histogram && l - name == 2 && memcmp(name, "le", 2) == 0)
            return false;
        if (*l++ != '=' || *l++ != '"')
            return false;
        for (; *l != '"'; l++) {
            if (!*l || *l == '\n' || (*l == '\\' && (!l[1] || !strchr("\\\"n", *++l))))
                return false;
        }
        l++;
        if (*l == ',' && !*++l)
            return false;
        if (*l && l[-1] != ',')
            return false;
    }
    return true;
}

size_t gg_metrics_label_escape(char *dst, size_t dstlen, const char *value)
{
    size_t need = 0, n = 0;
    bool cut = dstlen == 0;
    for (const char *p = value ? value : ""; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        size_t k = esc ? 2 : 1;
        need += k;
        if (!cut && n + k < dstlen) {
            memcpy(dst + n, esc ? esc : p, k);
            n += k;
        } else if (!cut) {
            cut = true;
            /* Prometheus refuses label values that are not UTF-8: drop a partial character. */
            if (((unsigned char)*p & 0xC0) == 0x80) {
                while (n > 0 && ((unsigned char)dst[n - 1] & 0xC0) == 0x80)
                    n--;
                if (n > 0 && (unsigned char)dst[n - 1] >= 0xC0)
                    n--;
            }
        }
    }
    if (dstlen)
        dst[n] = '\0';
    return need;
}

/* ---- registry ----------------------------------------------------------------------------- */

gg_metrics *gg_metrics_new(const char *prefix)
{
    gg_metrics *m = calloc(1, sizeof(*m));
    bool has_prefix = prefix && *prefix;
    if (!m)
        return NULL;
    m->nslots = INITIAL_SLOTS;
    m->slots = calloc(m->nslots, sizeof(*m->slots));
    m->prefix = malloc(has_prefix ? strlen(prefix) + 2 : 1);
    if (!m->slots || !m->prefix || (has_prefix && !name_valid(prefix, true))) {
        free(m->slots);
        free(m->prefix);
        free(m);
        return NULL;
    }
    strcpy(m->prefix, has_prefix ? prefix : "");
    if (has_prefix)
        strcat(m->prefix, "_");
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        free(m->slots);
        free(m->prefix);
        free(m);
        return NULL;
    }
    return m;
}

void gg_metrics_free(gg_metrics *m)
{
    if (!m)
        return;
    for (family *f = m->families, *fnext; f; f = fnext) {
        fnext = f->next;
        for (series *s = f->first, *snext; s; s = snext) {
            snext = s->fnext;
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f->bounds);
        free(f);
    }
    pthread_rwlock_destroy(&m->lock);
    free(m->slots);
    free(m->prefix);
    free(m);
}

/* FNV-1a over name, a NUL, then labels: cheap enough to run per request. */
static uint64_t key_hash(const char *name, const char *labels)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = name;; p++) {
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
        if (!*p)
            break;
    }
    for (const char *p = labels; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return h;
}

static series *table_find(const gg_metrics *m, uint64_t h, const char *name, const char *labels)
{
    for (series *s = m->slots[h & (m->nslots - 1)]; s; s = s->hnext)
        if (s->hash == h && strcmp(s->fam->base, name) == 0 && strcmp(s->labels, labels) == 0)
            return s;
    return NULL;
}

static void table_insert(gg_metrics *m, series *s)
{
    if (m->nseries >= m->nslots) {
        series **slots = calloc(m->nslots * 2, sizeof(*slots));
        for (size_t i = 0; slots && i < m->nslots; i++) {
            for (series *e = m->slots[i], *next; e; e = next) {
                next = e->hnext;
                e->hnext = slots[e->hash & (m->nslots * 2 - 1)];
                slots[e->hash & (m->nslots * 2 - 1)] = e;
            }
        }
        if (slots) { /* without memory the chains just get longer */
            free(m->slots);
            m->slots = slots;
            m->nslots *= 2;
        }
    }
    s->hnext = m->slots[s->hash & (m->nslots - 1)];
    m->slots[s->hash & (m->nslots - 1)] = s;
    m->nseries++;
}

static family *family_find(const gg_metrics *m, const char *name)
{
    for (family *f = m->families; f; f = f->next)
        if (strcmp(f->base, name) == 0)
            return f;
    return NULL;
}

static family *family_create(gg_metrics *m, metric_kind kind, const char *name, const char *help,
                             const double *bounds, size_t nbounds)
{
    family *f = calloc(1, sizeof(*f));
    size_t plen = strlen(m->prefix);
    if (!f || !(f->name = malloc(plen + strlen(name) + 1)) || !(f->help = strdup(help)) ||
        (kind == KIND_HISTOGRAM && !(f->bounds = malloc((nbounds + 1) * sizeof(double))))) {
        if (f) {
            free(f->name);
            free(f->help);
        }
        free(f);
        return NULL;
    }
    strcpy(f->name, m->prefix);
    strcat(f->name, name);
    f->base = f->name + plen;
    f->kind = kind;
    if (kind == KIND_HISTOGRAM && nbounds)
        memcpy(f->bounds, bounds, nbounds * sizeof(double));
    f->nbounds = nbounds;
    if (m->last_family)
        m->last_family->next = f;
    else
        m->families = f;
    m->last_family = f;
    return f;
}

static bool bounds_valid(const double *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
            return false;
    return true;
}

static bool family_matches(const family *f, metric_kind kind, const double *b, size_t n)
{
    if (f->kind != kind)
        return false;
    return kind != KIND_HISTOGRAM ||
           (f->nbounds == n && (n == 0 || memcmp(f->bounds, b, n * sizeof(double)) == 0));
}

static size_t series_size(metric_kind kind, size_t nbounds)
{
    if (kind == KIND_COUNTER)
        return sizeof(gg_counter);
    if (kind == KIND_GAUGE)
        return sizeof(gg_gauge);
    return sizeof(gg_histogram) + (nbounds + 1) * sizeof(_Atomic uint64_t);
}

/* Called with the write lock held. calloc leaves every atomic at zero, which is also 0.0. */
static series *series_create(gg_metrics *m, metric_kind kind, const char *name, const char *help,
                             const char *labels, const double *bounds, size_t nbounds, uint64_t h)
{
    family *f = family_find(m, name);
    if (m->nseries >= GG_METRICS_MAX_SERIES || (f && !family_matches(f, kind, bounds, nbounds)))
        return NULL;
    if (!f &&
        (!name_valid(name, true) || (kind == KIND_HISTOGRAM && !bounds_valid(bounds, nbounds))))
        return NULL;
    if (!labels_valid(labels, kind == KIND_HISTOGRAM))
        return NULL;
    series *s = calloc(1, series_size(kind, nbounds));
    if (!s || !(s->labels = strdup(labels)) ||
        (!f && !(f = family_create(m, kind, name, help ? help : "", bounds, nbounds)))) {
        if (s)
            free(s->labels);
        free(s);
        return NULL;
    }
    s->fam = f;
    s->hash = h;
    if (f->last)
        f->last->fnext = s;
    else
        f->first = s;
    f->last = s;
    table_insert(m, s);
    return s;
}

static series *lookup(gg_metrics *m, metric_kind kind, const char *name, const char *help,
                      const char *labels, const double *bounds, size_t nbounds)
{
    if (!m || !name)
        return NULL;
    labels = labels ? labels : "";
    uint64_t h = key_hash(name, labels);
    pthread_rwlock_rdlock(&m->lock);
    series *s = table_find(m, h, name, labels);
    pthread_rwlock_unlock(&m->lock);
    if (!s) {
        /* Another thread may have created it between the two locks: look again. */
        pthread_rwlock_wrlock(&m->lock);
        s = table_find(m, h, name, labels);
        if (!s)
            s = series_create(m, kind, name, help, labels, bounds, nbounds, h);
        pthread_rwlock_unlock(&m->lock);
    }
    return s && s->fam->kind == kind ? s : NULL;
}

/* ---- updates ------------------------------------------------------------------------------ */

gg_counter *gg_metrics_counter(gg_metrics *m, const char *name, const char *help,
                               const char *labels)
{
    return (gg_counter *)lookup(m, KIND_COUNTER, name, help, labels, NULL, 0);
}

void gg_counter_add(gg_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->n, n, memory_order_relaxed);
}

uint64_t gg_counter_value(const gg_counter *c)
{
    return c ? atomic_load_explicit(&c->n, memory_order_relaxed) : 0;
}

gg_gauge *gg_metrics_gauge(gg_metrics *m, const char *name, const char *help, const char *labels)
{
    return (gg_gauge *)lookup(m, KIND_GAUGE, name, help, labels, NULL, 0);
}

void gg_gauge_set(gg_gauge *g, double v)
{
    if (g)
        atomic_store_explicit(&g->bits, dbl_bits(v), memory_order_relaxed);
}

void gg_gauge_add(gg_gauge *g, double d)
{
    if (g)
        atomic_add_double(&g->bits, d);
}

double gg_gauge_value(const gg_gauge *g)
{
    return g ? bits_dbl(atomic_load_explicit(&g->bits, memory_order_relaxed)) : 0.0;
}

gg_histogram *gg_metrics_histogram(gg_metrics *m, const char *name, const char *help,
                                   const char *labels, const double *bounds, size_t nbounds)
{
    if (nbounds && !bounds)
        return NULL;
    return (gg_histogram *)lookup(m, KIND_HISTOGRAM, name, help, labels, bounds, nbounds);
}

void gg_histogram_observe(gg_histogram *h, double v)
{
    if (!h || isnan(v))
        return;
    /* First bucket whose bound is >= v ("le" is inclusive); nbounds means +Inf. */
    const double *b = h->s.fam->bounds;
    size_t lo = 0, hi = h->s.fam->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= b[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->buckets[lo], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

/* The count is the sum of the buckets rather than a counter of its own, so a scrape racing an
 * observation still sees _count equal to the +Inf bucket. */
uint64_t gg_histogram_count(const gg_histogram *h)
{
    uint64_t n = 0;
    for (size_t i = 0; h && i <= h->s.fam->nbounds; i++)
        n += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    return n;
}

double gg_histogram_sum(const gg_histogram *h)
{
    return h ? bits_dbl(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)) : 0.0;
}

const double *gg_metrics_latency_buckets(size_t *n)
{
    if (n)
        *n = sizeof(latency_buckets) / sizeof(latency_buckets[0]);
    return latency_buckets;
}

/* ---- exposition ----------------------------------------------------------------------------- */

/* The shortest text that reads back as the same double, as Prometheus clients print them. */
static void format_double(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static void render_help(FILE *f, const family *fam)
{
    fprintf(f, "# HELP %s ", fam->name);
    for (const char *p = fam->help; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fprintf(f, "\n# TYPE %s %s\n", fam->name, kind_names[fam->kind]);
}

static void render_histogram(FILE *f, const family *fam, const gg_histogram *h)
{
    const char *l = h->s.labels, *sep = *l ? "," : "";
    char num[32];
    uint64_t cum = 0;
    for (size_t i = 0; i <= fam->nbounds; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        format_double(num, sizeof(num), i < fam->nbounds ? fam->bounds[i] : INFINITY);
        fprintf(f, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", fam->name, l, sep, num, cum);
    }
    format_double(num, sizeof(num), gg_histogram_sum(h));
    const char *open = *l ? "{" : "", *close = *l ? "}" : "";
    fprintf(f, "%s_sum%s%s%s %s\n", fam->name, open, l, close, num);
    fprintf(f, "%s_count%s%s%s %" PRIu64 "\n", fam->name, open, l, close, cum);
}

static void render_series(FILE *f, const family *fam, const series *s)
{
    char num[32];
    const char *open = *s->labels ? "{" : "", *close = *s->labels ? "}" : "";
    if (fam->kind == KIND_COUNTER)
        fprintf(f, "%s%s%s%s %" PRIu64 "\n", fam->name, open, s->labels, close,
                gg_counter_value((const gg_counter *)s));
    if (fam->kind == KIND_GAUGE) {
        format_double(num, sizeof(num), gg_gauge_value((const gg_gauge *)s));
        fprintf(f, "%s%s%s%s %s\n", fam->name, open, s->labels, close, num);
    }
    if (fam->kind == KIND_HISTOGRAM)
        render_histogram(f, fam, (const gg_histogram *)s);
}

char *gg_metrics_render(gg_metrics *m, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = m ? open_memstream(&buf, &n) : NULL;
    if (!f)
        return NULL;
    /* The read lock only keeps the lists still; values keep moving, atomically, meanwhile. */
    pthread_rwlock_rdlock(&m->lock);
    for (const family *fam = m->families; fam; fam = fam->next) {
        render_help(f, fam);
        for (const series *s = fam->first; s; s = s->fnext)
            render_series(f, fam, s);
    }
    pthread_rwlock_unlock(&m->lock);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}
