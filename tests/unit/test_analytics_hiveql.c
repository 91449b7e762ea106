/* Unit tests of the word-count HiveQL, the input fingerprint and the parsing of Hive's result
 * rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_hiveql.h"
#include "analytics_wordcount.h"

static analytics_wc_params params(const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    analytics_wc_params p;
    char field[32], why[128];
    assert_int_equal(analytics_wc_parse(j, 1000, &p, field, sizeof(field), why, sizeof(why)), 0);
    json_decref(j);
    return p;
}

static void test_table_name(void **state)
{
    (void)state;
    char t[64];
    analytics_hiveql_table(t, sizeof(t), "20250131-235959-0a1b2c3d");
    assert_string_equal(t, "gridgate_wc_20250131_235959_0a1b2c3d");
}

static void test_wordcount_script(void **state)
{
    (void)state;
    analytics_wc_params p =
        params("{\"path\": \"/data/text\", \"words\": [\"Alice\", \"don't\"], \"top\": 10}");
    char *q = analytics_hiveql_wordcount(&p, "gridgate_wc_x", "", "/jobs/x/result");
    assert_non_null(q);
    /* The rows go to files in the job's result directory, in the spelled-out row format. */
    assert_non_null(strstr(q, ")\nINSERT OVERWRITE DIRECTORY '/jobs/x/result'\n  ROW FORMAT SERDE "
                              "'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'"));
    assert_non_null(strstr(q, "STORED AS TEXTFILE\nSELECT kind, word, n FROM ("));
    assert_non_null(strstr(q, "CREATE EXTERNAL TABLE gridgate_wc_x (line STRING)"));
    assert_non_null(strstr(q, "LOCATION '/data/text';"));
    assert_non_null(strstr(q, "lower(regexp_replace(w, '^\\'+|\\'+$', ''))"));
    assert_non_null(strstr(q, "split(line, '[^A-Za-z0-9\\']+')"));
    assert_non_null(strstr(q, "ORDER BY n DESC, word ASC LIMIT 10"));
    assert_non_null(strstr(q, "WHERE word IN ('alice', 'don\\'t')"));
    assert_non_null(strstr(q, "DROP TABLE gridgate_wc_x;"));
    /* Six statements: two SETs (read subdirectories), drop, create, insert, drop; the only ';'
     * are statement ends. */
    size_t semis = 0;
    for (const char *c = q; *c; c++)
        semis += *c == ';';
    assert_int_equal(semis, 6);
    assert_non_null(strstr(q, "SET mapreduce.input.fileinputformat.input.dir.recursive=true;"));
    assert_null(strstr(q, "${"));
    assert_null(strchr(q, '`'));
    free(q);
    analytics_wc_params_free(&p);

    p = params("{\"path\": \"/d\", \"case_sensitive\": true}");
    q = analytics_hiveql_wordcount(&p, "t", "hdfs://nn:8020", "hdfs://nn:8020/r");
    assert_non_null(strstr(q, "INSERT OVERWRITE DIRECTORY 'hdfs://nn:8020/r'"));
    assert_non_null(strstr(q, "LOCATION 'hdfs://nn:8020/d';"));
    assert_null(strstr(q, "lower("));
    assert_null(strstr(q, "UNION ALL"));
    assert_non_null(strstr(q, "LIMIT 20"));
    free(q);
    analytics_wc_params_free(&p);
}

static analytics_hdfs_list listing(int64_t len, int64_t mtime)
{
    analytics_hdfs_list l = {calloc(3, sizeof(analytics_hdfs_entry)), 3};
    snprintf(l.items[0].name, sizeof(l.items[0].name), "b.txt");
    l.items[0].length = 10;
    l.items[0].mtime = 1000;
    snprintf(l.items[1].name, sizeof(l.items[1].name), "a.txt");
    l.items[1].length = len;
    l.items[1].mtime = mtime;
    snprintf(l.items[2].name, sizeof(l.items[2].name), "_SUCCESS");
    l.items[2].length = 0;
    l.items[2].mtime = mtime;
    return l;
}

static void fingerprint(const analytics_wc_params *p, const analytics_hdfs_list *top,
                        const analytics_hdfs_list *sub, char out[17])
{
    analytics_fp fp;
    analytics_fp_init(&fp, p);
    analytics_fp_dir(&fp, "", top);
    if (sub)
        analytics_fp_dir(&fp, "sub", sub);
    analytics_fp_final(&fp, out);
}

static void test_fingerprint(void **state)
{
    (void)state;
    analytics_wc_params p = params("{\"path\": \"/d\", \"words\": [\"a\"]}");
    analytics_hdfs_list l = listing(5, 2000);
    char base[17], fp[17];
    fingerprint(&p, &l, NULL, base);
    assert_int_equal(strlen(base), 16);
    fingerprint(&p, &l, NULL, fp);
    assert_string_equal(base, fp);
    /* Listing order does not matter; hidden files (which Hive skips) neither. */
    analytics_hdfs_entry t = l.items[0];
    l.items[0] = l.items[1];
    l.items[1] = t;
    l.items[2].length = 99;
    fingerprint(&p, &l, NULL, fp);
    assert_string_equal(base, fp);
    analytics_hdfs_list_free(&l);
    /* A file's size or modification time changes it, also in a subdirectory. */
    l = listing(6, 2000);
    fingerprint(&p, &l, NULL, fp);
    assert_string_not_equal(base, fp);
    analytics_hdfs_list_free(&l);
    l = listing(5, 2001);
    fingerprint(&p, &l, NULL, fp);
    assert_string_not_equal(base, fp);
    analytics_hdfs_list_free(&l);
    l = listing(5, 2000);
    analytics_hdfs_list sub = listing(5, 2000);
    fingerprint(&p, &l, &sub, fp);
    assert_string_not_equal(base, fp);
    analytics_hdfs_list_free(&sub);
    /* The order of the words asked for, and repeats, do not: the same question. */
    static const char *const same[] = {"{\"path\": \"/d\", \"words\": [\"b\", \"a\"]}",
                                       "{\"path\": \"/d\", \"words\": [\"a\", \"B\", \"a\"]}"};
    char first[17];
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        analytics_wc_params q = params(same[i]);
        fingerprint(&q, &l, NULL, i ? fp : first);
        analytics_wc_params_free(&q);
    }
    assert_string_equal(first, fp);
    /* So does any parameter. */
    static const char *const other[] = {
        "{\"path\": \"/d\", \"words\": [\"a\"], \"top\": 21}",
        "{\"path\": \"/d\", \"words\": [\"a\"], \"case_sensitive\": true}",
        "{\"path\": \"/d\", \"words\": [\"b\"]}", "{\"path\": \"/d\"}",
        "{\"path\": \"/e\", \"words\": [\"a\"]}"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        analytics_wc_params q = params(other[i]);
        fingerprint(&q, &l, NULL, fp);
        assert_string_not_equal(base, fp);
        analytics_wc_params_free(&q);
    }
    analytics_hdfs_list_free(&l);
    analytics_wc_params_free(&p);
}

static void test_result_rows(void **state)
{
    (void)state;
    json_t *par = json_loads("{\"words\": [\"alice\", \"zebra\"], \"top\": 2}", 0, NULL);
    json_t *rows = json_loads(
        "[[\"top\",\"the\",\"1642\"],[\"top\",\"and\",\"872\"],[\"word\",\"alice\",\"403\"]]", 0,
        NULL);
    char why[128];
    json_t *r = analytics_wc_result(par, rows, why, sizeof(why));
    assert_non_null(r);
    json_t *top = json_object_get(r, "top");
    assert_int_equal(json_array_size(top), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "word")), "the");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(top, 0), "count")), 1642);
    json_t *words = json_object_get(r, "words");
    assert_int_equal(json_integer_value(json_object_get(words, "alice")), 403);
    assert_int_equal(json_integer_value(json_object_get(words, "zebra")), 0);
    json_decref(r);
    json_decref(rows);
    /* Anything else is refused. */
    static const char *const bad[] = {
        "[[\"top\",\"the\"]]", "[[\"top\",\"the\",\"x\"]]", "[[\"top\",\"the\",\"-1\"]]",
        "[[\"top\",\"the\",\"1\",\"2\"]]", "[[\"top\",\"the\",\"NULL\"]]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rows = json_loads(bad[i], 0, NULL);
        assert_null(analytics_wc_result(par, rows, why, sizeof(why)));
        json_decref(rows);
    }
    json_decref(par);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_name),
        cmocka_unit_test(test_wordcount_script),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_result_rows),
    };
    return cmocka_run_group_tests_name("analytics_hiveql", tests, NULL, NULL);
}
