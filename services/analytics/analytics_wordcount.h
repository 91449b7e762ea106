/* analytics_wordcount: a word-count request from its JSON body to validated parameters, the
 * fingerprint that recognises a repeat over unchanged input, and the result built from the rows
 * Hive printed. */
#ifndef ANALYTICS_WORDCOUNT_H
#define ANALYTICS_WORDCOUNT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics_hiveql.h"
#include "analytics_webhdfs.h"

#define ANALYTICS_WORDS_MAX   100 /* words a request may ask counts of */
#define ANALYTICS_TOP_DEFAULT 20

/* Validates body {"path", "words"?, "top"?, "case_sensitive"?} into out. On failure returns -1,
 * field names the offending member ("words[3]") and why says what is wrong; no value is echoed. */
int analytics_wc_parse(json_t *body, long top_max, analytics_wc_params *out, char *field,
                       size_t fieldlen, char *why, size_t whylen);
void analytics_wc_params_free(analytics_wc_params *p);

/* The normalised parameters {"path", "words", "top", "case_sensitive"} as kept in job records. */
json_t *analytics_wc_params_json(const analytics_wc_params *p);

/* The fingerprint of a word count: a 64-bit FNV-1a hash over the normalised parameters and
 * every file and directory the job reads (relative name, type, length, modification time),
 * directory by directory in name order. Equal fingerprints mean the same question over the same
 * bytes. Names starting with '_' or '.' are left out, as Hadoop's input formats skip them. */
typedef struct analytics_fp {
    uint64_t h;
} analytics_fp;

void analytics_fp_init(analytics_fp *fp, const analytics_wc_params *p);
/* Adds the listing of the directory rel ("" for the input directory itself, else "a/b"). */
void analytics_fp_dir(analytics_fp *fp, const char *rel, const analytics_hdfs_list *entries);
/* The 16 hex digits. */
void analytics_fp_final(const analytics_fp *fp, char out[17]);
/* Whether Hadoop reads a file or directory of this name ('_' and '.' mark hidden ones). */
bool analytics_fp_visible(const char *name);

/* {"top": [{"word", "count"}...], "words": {word: count}} from rows [kind, word, count]; words
 * asked for that never occur count 0. NULL (why filled) when a row does not have that shape. */
json_t *analytics_wc_result(json_t *params, json_t *rows, char *why, size_t whylen);

#endif
