/* analytics_wordcount: request validation, fingerprints and results (see analytics_wordcount.h).
 */
#include "analytics_wordcount.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_validate.h"

static int bad(char *field, size_t fieldlen, const char *name, char *why, size_t whylen,
               const char *reason)
{
    snprintf(field, fieldlen, "%s", name);
    snprintf(why, whylen, "%s", reason);
    return -1;
}

static int parse_path(json_t *v, analytics_wc_params *out, char *why, size_t whylen)
{
    const char *s = json_string_value(v);
    if (!s) {
        snprintf(why, whylen, "is required and must be a string");
        return -1;
    }
    if (strlen(s) != json_string_length(v)) {
        snprintf(why, whylen, "may not contain NUL characters");
        return -1;
    }
    if (!analytics_valid_path(s, why, whylen))
        return -1;
    size_t n = strlen(s);
    out->path = strndup(s, n > 1 && s[n - 1] == '/' ? n - 1 : n);
    return out->path ? 0 : -1;
}

static bool seen(const analytics_wc_params *p, const char *w)
{
    for (size_t i = 0; i < p->nwords; i++)
        if (strcmp(p->words[i], w) == 0)
            return true;
    return false;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_words(json_t *v, analytics_wc_params *out, char *field, size_t fieldlen, char *why,
                       size_t whylen)
{
    if (!json_is_array(v))
        return bad(field, fieldlen, "words", why, whylen, "must be an array of strings");
    if (json_array_size(v) > ANALYTICS_WORDS_MAX)
        return bad(field, fieldlen, "words", why, whylen, "may hold at most 100 words");
    out->words = calloc(json_array_size(v) + 1, sizeof(char *));
    if (!out->words)
        return bad(field, fieldlen, "words", why, whylen, "out of memory");
    size_t i;
    json_t *w;
    json_array_foreach(v, i, w)
    {
        char name[32];
        snprintf(name, sizeof(name), "words[%zu]", i);
        const char *s = json_string_value(w);
        char reason[128];
        if (!s)
            return bad(field, fieldlen, name, why, whylen, "must be a string");
        if (strlen(s) != json_string_length(w) || !analytics_valid_word(s, reason, sizeof(reason)))
            return bad(field, fieldlen, name, why, whylen,
                       strlen(s) != json_string_length(w) ? "may not contain NUL" : reason);
        char *norm = strdup(s);
        if (!norm)
            return bad(field, fieldlen, name, why, whylen, "out of memory");
        for (char *c = norm; !out->case_sensitive && *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (seen(out, norm))
            free(norm);
        else
            out->words[out->nwords++] = norm;
    }
    /* The same words in another order are the same question: one fingerprint, one HiveQL. */
    qsort(out->words, out->nwords, sizeof(char *), by_bytes);
    return 0;
}

int analytics_wc_parse(json_t *body, long top_max, analytics_wc_params *out, char *field,
                       size_t fieldlen, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    out->top = ANALYTICS_TOP_DEFAULT < top_max ? ANALYTICS_TOP_DEFAULT : top_max;
    if (!json_is_object(body))
        return bad(field, fieldlen, "body", why, whylen, "must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "path") && strcmp(key, "words") && strcmp(key, "top") &&
            strcmp(key, "case_sensitive"))
            return bad(field, fieldlen, "body", why, whylen,
                       "has an unknown member (allowed: path, words, top, case_sensitive)");
    }
    json_t *cs = json_object_get(body, "case_sensitive");
    if (cs && !json_is_boolean(cs))
        return bad(field, fieldlen, "case_sensitive", why, whylen, "must be true or false");
    out->case_sensitive = json_is_true(cs);
    json_t *top = json_object_get(body, "top");
    if (top) {
        /* JSON Schema counts 440.0 as the integer 440, so an integral real is accepted too. */
        double n = json_is_number(top) ? json_number_value(top) : 0.0;
        if (n < 1 || n > (double)top_max || n != (double)(long)n) {
            snprintf(why, whylen, "must be an integer from 1 to %ld", top_max);
            snprintf(field, fieldlen, "top");
            return -1;
        }
        out->top = (long)n;
    }
    if (parse_path(json_object_get(body, "path"), out, why, whylen) != 0) {
        snprintf(field, fieldlen, "path");
        return -1;
    }
    json_t *words = json_object_get(body, "words");
    if (words && parse_words(words, out, field, fieldlen, why, whylen) != 0)
        return -1;
    return 0;
}

void analytics_wc_params_free(analytics_wc_params *p)
{
    for (size_t i = 0; p->words && i < p->nwords; i++)
        free(p->words[i]);
    free(p->words);
    free(p->path);
    memset(p, 0, sizeof(*p));
}

json_t *analytics_wc_params_json(const analytics_wc_params *p)
{
    json_t *words = json_array();
    for (size_t i = 0; i < p->nwords; i++)
        json_array_append_new(words, json_string(p->words[i]));
    return json_pack("{s:s, s:o, s:I, s:b}", "path", p->path, "words", words, "top",
                     (json_int_t)p->top, "case_sensitive", p->case_sensitive);
}

static void fnv(uint64_t *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ULL;
    }
}

static void fnv_str(uint64_t *h, const char *s)
{
    fnv(h, s, strlen(s) + 1); /* the NUL separates fields: "ab","c" differs from "a","bc" */
}

static int by_name(const void *a, const void *b)
{
    const analytics_hdfs_entry *x = *(analytics_hdfs_entry *const *)a;
    const analytics_hdfs_entry *y = *(analytics_hdfs_entry *const *)b;
    return strcmp(x->name, y->name);
}

void analytics_fp_init(analytics_fp *fp, const analytics_wc_params *p)
{
    char num[64];
    fp->h = 0xcbf29ce484222325ULL;
    fnv_str(&fp->h, "gridgate-wordcount-v2");
    fnv_str(&fp->h, p->path);
    snprintf(num, sizeof(num), "%ld %d %zu", p->top, p->case_sensitive ? 1 : 0, p->nwords);
    fnv_str(&fp->h, num);
    for (size_t i = 0; i < p->nwords; i++)
        fnv_str(&fp->h, p->words[i]);
}

bool analytics_fp_visible(const char *name)
{
    return name[0] != '_' && name[0] != '.';
}

void analytics_fp_dir(analytics_fp *fp, const char *rel, const analytics_hdfs_list *entries)
{
    const analytics_hdfs_entry **sorted = calloc(entries->count + 1, sizeof(*sorted));
    for (size_t i = 0; sorted && i < entries->count; i++)
        sorted[i] = &entries->items[i];
    if (sorted)
        qsort(sorted, entries->count, sizeof(*sorted), by_name);
    fnv_str(&fp->h, rel);
    for (size_t i = 0; i < entries->count; i++) {
        const analytics_hdfs_entry *e = sorted ? sorted[i] : &entries->items[i];
        if (!analytics_fp_visible(e->name))
            continue;
        char num[64];
        fnv_str(&fp->h, e->name);
        snprintf(num, sizeof(num), "%c %" PRId64 " %" PRId64, e->is_dir ? 'd' : 'f', e->length,
                 e->mtime);
        fnv_str(&fp->h, num);
    }
    free(sorted);
}

void analytics_fp_final(const analytics_fp *fp, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, fp->h);
}

/* A decimal count as Hive prints a BIGINT. */
static bool parse_count(const char *s, json_int_t *out)
{
    char *end = NULL;
    if (!s || !*s || !isdigit((unsigned char)*s))
        return false;
    long long v = strtoll(s, &end, 10);
    *out = (json_int_t)v;
    return end && !*end;
}

json_t *analytics_wc_result(json_t *params, json_t *rows, char *why, size_t whylen)
{
    json_t *top = json_array(), *words = json_object();
    json_t *asked = json_object_get(params, "words");
    size_t i;
    json_t *w;
    json_array_foreach(asked, i, w)
    {
        if (json_is_string(w))
            json_object_set_new(words, json_string_value(w), json_integer(0));
    }
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *kind = json_string_value(json_array_get(row, 0));
        const char *word = json_string_value(json_array_get(row, 1));
        json_int_t n;
        if (json_array_size(row) != 3 || !kind || !word ||
            !parse_count(json_string_value(json_array_get(row, 2)), &n)) {
            snprintf(why, whylen, "result row %zu is not kind, word, count", i);
            json_decref(top);
            json_decref(words);
            return NULL;
        }
        if (strcmp(kind, "top") == 0)
            json_array_append_new(top, json_pack("{s:s, s:I}", "word", word, "count", n));
        else
            json_object_set_new(words, word, json_integer(n));
    }
    return json_pack("{s:o, s:o}", "top", top, "words", words);
}
