/* Unit tests of the analytics service's input rules: HDFS paths, words, job ids, HiveQL quoting,
 * and the word-count request parser against hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_validate.h"
#include "analytics_wordcount.h"

static void test_paths(void **state)
{
    (void)state;
    static const char *const good[] = {"/data/text",         "/data/text/",  "/a",
                                       "/user/x/part-00000", "/a/b.c/d_e-f", "/a/.../b",
                                       "/.hidden/dir"};
    static const char *const bad[] = {
        "",          "/",           "data/text",    "//data",      "/data//x", "/data/../x",
        "/data/./x", "/..",         "/data/..",     "/data text",  "/data;x",  "/data'x",
        "/da\\ta",   "/data`x`",    "/${env:HOME}", "/data--x\n",  "/dätä",    "/data/*",
        "/data?x",   "/data%2e%2e", "/data/x//",    "hdfs://nn/x", "/data/\t"};
    char why[128];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(analytics_valid_path(good[i], why, sizeof(why)));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_false(analytics_valid_path(bad[i], why, sizeof(why)));
        assert_true(strlen(why) > 0);
    }
    char longpath[1100];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_false(analytics_valid_path(longpath, why, sizeof(why)));
    longpath[1024] = '\0';
    assert_true(analytics_valid_path(longpath, why, sizeof(why)));
}

static void test_words(void **state)
{
    (void)state;
    static const char *const good[] = {"alice", "Queen", "don't", "rock'n'roll", "1865", "a"};
    static const char *const bad[] = {
        "",     "'tis", "alice'", "two words",   "a;b",          "a\"b", "a`b",
        "a--b", "a/*b", "${x}",   "caf\xc3\xa9", "\xd0\xb0lice", "a\\b", "a\nb"};
    char why[128];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(analytics_valid_word(good[i], why, sizeof(why)));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(analytics_valid_word(bad[i], why, sizeof(why)));
    char w[70];
    memset(w, 'w', sizeof(w));
    w[64] = '\0';
    assert_true(analytics_valid_word(w, why, sizeof(why)));
    w[64] = 'w';
    w[65] = '\0';
    assert_false(analytics_valid_word(w, why, sizeof(why)));
}

static void test_job_ids(void **state)
{
    (void)state;
    assert_true(analytics_valid_job_id("20250131-235959-0a1b2c3d"));
    static const char *const bad[] = {"",
                                      "20250131-235959-0A1B2C3D",
                                      "20250131-235959-0a1b2c3",
                                      "20250131-235959-0a1b2c3d0",
                                      "2025013x-235959-0a1b2c3d",
                                      "20250131_235959_0a1b2c3d",
                                      "../../../etc/passwd",
                                      "job_1700000000000_0001"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(analytics_valid_job_id(bad[i]));
}

static void quoted(const char *in, const char *want)
{
    gg_buf b = {0};
    assert_true(analytics_hiveql_quote(&b, in));
    assert_string_equal(gg_buf_str(&b), want);
    gg_buf_free(&b);
}

static void test_quoting(void **state)
{
    (void)state;
    quoted("/data/text", "'/data/text'");
    quoted("hdfs://nn:8020/x", "'hdfs://nn:8020/x'");
    quoted("don't", "'don\\'t'");
    quoted("a\\b", "'a\\\\b'");
    quoted("a;b", "'a\\u003Bb'");
    quoted("${env:HOME}", "'\\u0024\\u007Benv:HOME\\u007D'");
    quoted("`x` -- c", "'\\u0060x\\u0060 -- c'");
    quoted("\n\t", "'\\u000A\\u0009'");
    gg_buf b = {0};
    assert_false(analytics_hiveql_quote(&b, "caf\xc3\xa9"));
    gg_buf_free(&b);
}

/* Parses body text; returns the field the parser named, or "" when the body was accepted. */
static const char *rejected_field(const char *body, char *field, size_t fieldlen)
{
    json_error_t jerr;
    /* JSON_ALLOW_NUL: the HTTP layer already refuses \u0000, the parser must not rely on it. */
    json_t *j = json_loads(body, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    assert_non_null(j);
    analytics_wc_params p;
    char why[256] = "";
    field[0] = '\0';
    int rc = analytics_wc_parse(j, 1000, &p, field, fieldlen, why, sizeof(why));
    if (rc == 0)
        field[0] = '\0';
    else
        assert_true(strlen(why) > 0);
    analytics_wc_params_free(&p);
    json_decref(j);
    return field;
}

/* JSON Schema counts an integral real as an integer, so "top": 440.0 is a valid request. */
static void test_top_integral_real_accepted(void **state)
{
    (void)state;
    char field[64];
    assert_string_equal(
        rejected_field("{\"path\": \"/data\", \"top\": 440.0}", field, sizeof(field)), "");
    assert_string_equal(
        rejected_field("{\"path\": \"/data\", \"top\": 440.5}", field, sizeof(field)), "top");
}

/* Hostile word-count requests: every one is refused, naming the field that carries it. */
static void test_hostile_requests(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"path\": \"/data'; DROP TABLE x; --\"}", "path"},
        {"{\"path\": \"/data\\\"x\"}", "path"},
        {"{\"path\": \"/data`x`\"}", "path"},
        {"{\"path\": \"/data/*comment*/\"}", "path"},
        {"{\"path\": \"/data -- c\"}", "path"},
        {"{\"path\": \"/${hiveconf:x}\"}", "path"},
        {"{\"path\": \"/${env:HOME}\"}", "path"},
        {"{\"path\": \"/data/../../etc\"}", "path"},
        {"{\"path\": \"/data/..\"}", "path"},
        {"{\"path\": \"../data\"}", "path"},
        {"{\"path\": \"/d\\u0430ta\"}", "path"},   /* Cyrillic a */
        {"{\"path\": \"/data\\u2215x\"}", "path"}, /* division slash */
        {"{\"path\": \"/data\\uff0fx\"}", "path"}, /* fullwidth solidus */
        {"{\"path\": \"/data\\u0000x\"}", "path"},
        {"{\"path\": \"/data\\nx\"}", "path"},
        {"{\"path\": 42}", "path"},
        {"{\"path\": [\"/data\"]}", "path"},
        {"{}", "path"},
        {"{\"path\": \"/data\", \"words\": [\"a'; DROP TABLE t; --\"]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": [\"ok\", \"x\\\"y\"]}", "words[1]"},
        {"{\"path\": \"/data\", \"words\": [\"`id`\"]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": [\"${env:HOME}\"]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": [\"a--b\"]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": [\"a/**/b\"]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": [\"al\\u0456ce\"]}", "words[0]"}, /* Cyrillic i */
        {"{\"path\": \"/data\", \"words\": [\"\\uff41lice\"]}", "words[0]"}, /* fullwidth a */
        {"{\"path\": \"/data\", \"words\": [\"'\"]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": [\"\"]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": [7]}", "words[0]"},
        {"{\"path\": \"/data\", \"words\": \"alice\"}", "words"},
        {"{\"path\": \"/data\", \"top\": 0}", "top"},
        {"{\"path\": \"/data\", \"top\": 1001}", "top"},
        {"{\"path\": \"/data\", \"top\": -5}", "top"},
        {"{\"path\": \"/data\", \"top\": 2.5}", "top"},
        {"{\"path\": \"/data\", \"top\": \"20; DROP\"}", "top"},
        {"{\"path\": \"/data\", \"top\": 9223372036854775807}", "top"},
        {"{\"path\": \"/data\", \"case_sensitive\": \"false\"}", "case_sensitive"},
        {"{\"path\": \"/data\", \"hiveql\": \"DROP TABLE x\"}", "body"},
    };
    char field[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rejected_field(cases[i].body, field, sizeof(field));
        if (strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu (%s): field '%s', expected '%s'", i, cases[i].body, field,
                     cases[i].field);
    }
    /* Huge values. */
    size_t n = 200000;
    char *big = malloc(n + 64);
    int k = snprintf(big, n + 64, "{\"path\": \"/");
    memset(big + k, 'a', n);
    snprintf(big + k + n, 64, "\"}");
    assert_string_equal(rejected_field(big, field, sizeof(field)), "path");
    k = snprintf(big, n + 64, "{\"path\": \"/d\", \"words\": [\"");
    memset(big + k, 'w', n);
    snprintf(big + k + n, 64, "\"]}");
    assert_string_equal(rejected_field(big, field, sizeof(field)), "words[0]");
    gg_buf many = {0};
    gg_buf_puts(&many, "{\"path\": \"/d\", \"words\": [");
    for (int i = 0; i < 101; i++)
        gg_buf_printf(&many, "%s\"w%d\"", i ? "," : "", i);
    gg_buf_puts(&many, "]}");
    assert_string_equal(rejected_field(gg_buf_str(&many), field, sizeof(field)), "words");
    gg_buf_free(&many);
    free(big);
}

static void test_request_normalised(void **state)
{
    (void)state;
    json_t *j = json_loads("{\"path\": \"/data/text/\", \"words\": [\"Alice\", \"alice\", "
                           "\"QUEEN\", \"don't\"], \"top\": 7}",
                           0, NULL);
    analytics_wc_params p;
    char field[32], why[128];
    assert_int_equal(analytics_wc_parse(j, 1000, &p, field, sizeof(field), why, sizeof(why)), 0);
    assert_string_equal(p.path, "/data/text");
    assert_int_equal(p.nwords, 3);
    /* Sorted (byte order) and without repeats: the fingerprint of a repeated question and the
     * HiveQL do not depend on the order the caller listed the words in. */
    assert_string_equal(p.words[0], "alice");
    assert_string_equal(p.words[1], "don't");
    assert_string_equal(p.words[2], "queen");
    assert_int_equal(p.top, 7);
    assert_false(p.case_sensitive);
    analytics_wc_params_free(&p);
    json_decref(j);

    j = json_loads("{\"path\": \"/d\", \"words\": [\"Alice\", \"alice\"], \"case_sensitive\": "
                   "true}",
                   0, NULL);
    assert_int_equal(analytics_wc_parse(j, 5, &p, field, sizeof(field), why, sizeof(why)), 0);
    assert_int_equal(p.nwords, 2);
    assert_string_equal(p.words[0], "Alice");
    assert_int_equal(p.top, 5); /* the default 20 is capped by the configured maximum */
    analytics_wc_params_free(&p);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_job_ids),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_top_integral_real_accepted),
        cmocka_unit_test(test_hostile_requests),
        cmocka_unit_test(test_request_normalised),
    };
    return cmocka_run_group_tests_name("analytics_validate", tests, NULL, NULL);
}
