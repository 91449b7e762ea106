/* fuzz_analytics_body: the JSON bodies of analytics' POST /v1/wordcount and POST /v1/queries.
 *
 * The body is parsed as the HTTP layer parses a JSON body (duplicate keys refused), then read by
 * both requests' readers: analytics_wc_parse and analytics_api_query_text. Checks: a refusal
 * names a field and a reason; accepted word-count parameters pass the validators again, turn into
 * HiveQL and into the normalised parameters of the job record, which parse back to the same
 * parameters; an accepted query is a non-empty string within the limit. */
#include <string.h>

#include "analytics_api.h"
#include "analytics_script.h"
#include "analytics_validate.h"
#include "analytics_wordcount.h"
#include "fuzz.h"

#define TOP_MAX   1000
#define QUERY_MAX 4096

static void check_params(const analytics_wc_params *p)
{
    char why[128];
    FUZZ_CHECK(analytics_valid_path(p->path, why, sizeof(why)));
    FUZZ_CHECK(p->top >= 1 && p->top <= TOP_MAX && p->nwords <= ANALYTICS_WORDS_MAX);
    for (size_t i = 0; i < p->nwords; i++) {
        FUZZ_CHECK(analytics_valid_word(p->words[i], why, sizeof(why)));
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(p->words[i], p->words[k]) != 0);
    }
    char *q = analytics_hiveql_wordcount(p, "gridgate_wc_20251124_160000_0a1b2c3d", "",
                                         "/gridgate/jobs/20251124-160000-0a1b2c3d/result");
    FUZZ_CHECK(q != NULL);
    free(q);
}

/* The normalised parameters, as a job record keeps them, read back to the same parameters. */
static void check_normalised(const analytics_wc_params *p)
{
    json_t *norm = analytics_wc_params_json(p);
    FUZZ_CHECK(norm != NULL);
    analytics_wc_params again;
    char field[64], why[160];
    FUZZ_CHECK(analytics_wc_parse(norm, TOP_MAX, &again, field, sizeof(field), why, sizeof(why)) ==
               0);
    FUZZ_CHECK(strcmp(again.path, p->path) == 0 && again.top == p->top);
    FUZZ_CHECK(again.nwords == p->nwords && again.case_sensitive == p->case_sensitive);
    for (size_t i = 0; i < p->nwords; i++)
        FUZZ_CHECK(strcmp(again.words[i], p->words[i]) == 0);
    analytics_fp fp;
    char hex[17];
    analytics_fp_init(&fp, p);
    analytics_fp_final(&fp, hex);
    FUZZ_CHECK(strlen(hex) == 16);
    analytics_wc_params_free(&again);
    json_decref(norm);
}

/* The script a raw query runs: the last statement lies inside the text, and a script is built
 * exactly when that statement is a query. */
static void check_script(const char *text)
{
    analytics_script_last last;
    bool found = analytics_script_scan(text, &last);
    size_t len = strlen(text);
    if (found)
        FUZZ_CHECK(last.start <= last.end && last.end <= len);
    bool oom = false;
    char *script = analytics_script_query(text, "gridgate_v_t", "/gridgate/jobs/x/result", &oom);
    FUZZ_CHECK(!oom);
    FUZZ_CHECK(!script || (found && last.is_query));
    free(script);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    analytics_wc_params p;
    char field[64] = "", why[160] = "";
    if (analytics_wc_parse(body, TOP_MAX, &p, field, sizeof(field), why, sizeof(why)) == 0) {
        check_params(&p);
        check_normalised(&p);
    } else {
        FUZZ_CHECK(field[0] != '\0' && why[0] != '\0');
    }
    analytics_wc_params_free(&p); /* the handler frees after a refusal too */
    const char *qfield = NULL;
    const char *text = analytics_api_query_text(body, QUERY_MAX, &qfield, why, sizeof(why));
    if (text) {
        FUZZ_CHECK(text[0] != '\0' && strlen(text) <= QUERY_MAX);
        check_script(text);
    } else
        FUZZ_CHECK(qfield != NULL && why[0] != '\0');
    json_decref(body);
    return 0;
}
