/* fuzz_hiveql: the validators and the HiveQL builder of analytics, against injection.
 *
 * Input: lines; the first is an HDFS path, the others words (as a word-count request gives them).
 * Every line goes through the validators and the quoting; when the path and all words pass, the
 * word-count script is built. Checks: quoting yields one literal of safe characters that decodes
 * back to the input; a job id yields a table name of [a-z0-9_]; and the script, with the content
 * of every string literal removed, is exactly the script built from harmless values, so no
 * caller's value can add, end or change a statement. */
#include <stdbool.h>
#include <string.h>

#include "gg_buf.h"
#include "analytics_hiveql.h"
#include "analytics_validate.h"
#include "fuzz.h"

#define WORDS_MAX  100
#define RESULT_DIR "/gridgate/jobs/20251124-160000-0a1b2c3d/result"

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One quoted literal: only safe characters, and it decodes back to s. */
static void check_quote(const char *s)
{
    gg_buf b = {0};
    bool ok = analytics_hiveql_quote(&b, s);
    bool ascii = true;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        ascii = ascii && *c < 0x80;
    FUZZ_CHECK(ok == ascii);
    const char *q = gg_buf_str(&b);
    if (!ok || !q) {
        gg_buf_free(&b);
        return;
    }
    size_t n = strlen(q), o = 0;
    FUZZ_CHECK(n >= 2 && q[0] == '\'' && q[n - 1] == '\'');
    char *dec = malloc(n);
    FUZZ_CHECK(dec != NULL);
    for (size_t i = 1; i + 1 < n; i++) {
        char c = q[i];
        FUZZ_CHECK(c != '\'' && c != ';' && c != '$' && c != '`' && (unsigned char)c >= 0x20);
        if (c != '\\') {
            dec[o++] = c;
            continue;
        }
        FUZZ_CHECK(i + 2 < n);
        if (q[i + 1] == 'u') {
            FUZZ_CHECK(i + 6 < n && q[i + 2] == '0' && q[i + 3] == '0');
            int hi = hexval(q[i + 4]), lo = hexval(q[i + 5]);
            FUZZ_CHECK(hi >= 0 && lo >= 0);
            dec[o++] = (char)(hi * 16 + lo);
            i += 5;
        } else {
            FUZZ_CHECK(q[i + 1] == '\'' || q[i + 1] == '\\');
            dec[o++] = q[++i];
        }
    }
    FUZZ_CHECK(o == strlen(s) && memcmp(dec, s, o) == 0);
    free(dec);
    gg_buf_free(&b);
}

static void check_job_id(const char *s)
{
    if (!analytics_valid_job_id(s))
        return;
    char table[64];
    analytics_hiveql_table(table, sizeof(table), s);
    for (const char *c = table; *c; c++)
        FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
}

/* The script with the content of every string literal removed (quotes kept). */
static char *skeleton(const char *q)
{
    char *out = malloc(strlen(q) + 1), *o = out;
    FUZZ_CHECK(out != NULL);
    bool in = false;
    for (const char *c = q; *c; c++) {
        if (!in) {
            *o++ = *c;
            in = *c == '\'';
        } else if (*c == '\\' && c[1]) {
            c++;
        } else if (*c == '\'') {
            *o++ = *c;
            in = false;
        }
    }
    FUZZ_CHECK(!in);
    *o = '\0';
    return out;
}

static void check_script(analytics_wc_params *p)
{
    char *q = analytics_hiveql_wordcount(p, "gridgate_wc_t", "hdfs://namenode:8020", RESULT_DIR);
    FUZZ_CHECK(q != NULL);
    /* The same script from harmless values. */
    analytics_wc_params plain = *p;
    char *words[WORDS_MAX];
    for (size_t i = 0; i < p->nwords; i++)
        words[i] = "w";
    plain.path = "/p";
    plain.words = words;
    char *ref =
        analytics_hiveql_wordcount(&plain, "gridgate_wc_t", "hdfs://namenode:8020", RESULT_DIR);
    FUZZ_CHECK(ref != NULL);
    char *a = skeleton(q), *b = skeleton(ref);
    FUZZ_CHECK(strcmp(a, b) == 0);
    free(a);
    free(b);
    free(q);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    char *lines[WORDS_MAX + 1];
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n <= WORDS_MAX;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    char why[160];
    bool all_valid = n > 0 && analytics_valid_path(lines[0], why, sizeof(why));
    for (size_t i = 0; i < n; i++) {
        check_quote(lines[i]);
        check_job_id(lines[i]);
        if (i > 0)
            all_valid = analytics_valid_word(lines[i], why, sizeof(why)) && all_valid;
    }
    if (all_valid) {
        analytics_wc_params p = {.path = lines[0],
                                 .words = lines + 1,
                                 .nwords = n - 1,
                                 .top = 10,
                                 .case_sensitive = size % 2 == 0};
        check_script(&p);
    }
    free(text);
    return 0;
}
