/* Unit tests of the raw-query script: which texts end in a query, where the result clause goes,
 * and the column names read back from DESCRIBE's JSON line in any frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "analytics_script.h"

#define CLAUSE "INSERT OVERWRITE DIRECTORY '/r'\n  ROW FORMAT SERDE"

static char *script(const char *text)
{
    bool oom = true;
    char *s = analytics_script_query(text, "gridgate_q_1", "/r", &oom);
    assert_false(oom);
    return s;
}

/* s holds a then b, in that order. */
static void assert_in_order(const char *s, const char *a, const char *b)
{
    const char *x = strstr(s, a);
    assert_non_null(x);
    assert_non_null(strstr(x + strlen(a), b));
}

static void test_a_final_select_writes_files_and_describes_itself(void **state)
{
    (void)state;
    char *s = script("SELECT 1, 'a;b', NULL");
    assert_non_null(s);
    assert_in_order(s, "CREATE VIEW gridgate_q_1 AS\nSELECT 1, 'a;b', NULL;\n",
                    "SET hive.ddl.output.format=json;\nDESCRIBE gridgate_q_1;\n"
                    "DROP VIEW gridgate_q_1;\n");
    assert_in_order(s, "DROP VIEW gridgate_q_1;\n", CLAUSE);
    assert_in_order(s, "STORED AS TEXTFILE\nSELECT 1, 'a;b', NULL;\n", "");
    assert_non_null(strstr(s, "'field.delim'='\\t', 'escape.delim'='\\\\'"));
    assert_non_null(strstr(s, "'serialization.null.format'='\\\\N'"));
    free(s);
}

static void test_statements_before_and_comments_around(void **state)
{
    (void)state;
    const char *text = "SET a=1; -- the first; not a query\n"
                       "/* block; SELECT */ WITH t AS (SELECT 2 AS n) -- c\n"
                       "select n FROM t; -- trailing\n;  ";
    char *s = script(text);
    assert_non_null(s);
    /* Everything before the last statement is kept as it was. */
    assert_int_equal(strncmp(s, text, strlen("SET a=1; -- the first; not a query\n")), 0);
    assert_in_order(
        s, "CREATE VIEW gridgate_q_1 AS\nWITH t AS (SELECT 2 AS n) -- c\nselect n FROM t;\n",
        "DESCRIBE");
    /* The clause goes between the WITH clause and the top-level SELECT. */
    assert_non_null(strstr(s, "WITH t AS (SELECT 2 AS n) -- c\n" CLAUSE));
    assert_non_null(strstr(s, "STORED AS TEXTFILE\nselect n FROM t;\n"));
    assert_null(strstr(s, "trailing"));
    free(s);
}

/* Hive refuses views over temporary tables: after CREATE TEMPORARY the rows still become files,
 * without the view that names them. */
static void test_after_a_temporary_table_no_view(void **state)
{
    (void)state;
    char *s = script("CREATE TEMPORARY TABLE t AS SELECT 1 AS n;\nSELECT n FROM t");
    assert_non_null(s);
    assert_null(strstr(s, "VIEW"));
    assert_null(strstr(s, "DESCRIBE"));
    assert_non_null(strstr(s, "STORED AS TEXTFILE\nSELECT n FROM t;\n"));
    free(s);
    s = script("SELECT 'CREATE TEMPORARY'; create temporary function f as 'x'; SELECT f(1)");
    assert_non_null(s);
    assert_null(strstr(s, "VIEW"));
    free(s);
    s = script("SELECT 'CREATE TEMPORARY TABLE'; SELECT 1"); /* only in a string */
    assert_non_null(strstr(s, "CREATE VIEW"));
    free(s);
}

static void test_other_last_statements_are_left_alone(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "SHOW TABLES",
        "SELECT 1; SHOW TABLES",
        "EXPLAIN SELECT 1",
        "DESCRIBE t",
        "INSERT INTO t SELECT 1",
        "WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a",
        "FROM t SELECT a",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "   ; -- nothing\n",
        "",
        "SELECT 1; DROP VIEW v -- 'SELECT'",
        "SET x='SELECT 1'",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char *s = script(texts[i]);
        if (s)
            fail_msg("wrapped: %s", texts[i]);
    }
}

static void test_quotes_hide_keywords_and_semicolons(void **state)
{
    (void)state;
    analytics_script_last l;
    const char *text = "SELECT ';' AS `select;`, \"x\\\";\" FROM t WHERE s = 'it\\'s; SELECT'";
    assert_true(analytics_script_scan(text, &l));
    assert_true(l.is_query);
    assert_int_equal(l.start, 0);
    assert_int_equal(l.select_at, 0);
    assert_int_equal(l.end, strlen(text));
}

static void test_columns_from_any_frame(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{\"columns\":[{\"name\":\"n\",\"type\":\"int\"},{\"name\":\"_c1\",\"type\":\"void\"}]}",
        "| {\"columns\":[{\"name\":\"n\",\"type\":\"int\"},{\"name\":\"_c1\",\"type\":\"void\"}]}  "
        "|",
        "{\"columns\":[{\"name\":\"n\",\"type\":\"int\",\"comment\":null},"
        "{\"name\":\"_c1\",\"type\":\"void\"}]}\t",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        json_t *c = analytics_script_columns(lines[i], strlen(lines[i]));
        assert_non_null(c);
        assert_int_equal(json_array_size(c), 2);
        assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "name")), "n");
        assert_string_equal(json_string_value(json_object_get(json_array_get(c, 1), "type")),
                            "void");
        json_decref(c);
    }
    static const char *const not_it[] = {"1\t{x}", "+-----+", "{\"tables\":[]}", "", "{"};
    for (size_t i = 0; i < sizeof(not_it) / sizeof(not_it[0]); i++)
        assert_null(analytics_script_columns(not_it[i], strlen(not_it[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_final_select_writes_files_and_describes_itself),
        cmocka_unit_test(test_statements_before_and_comments_around),
        cmocka_unit_test(test_after_a_temporary_table_no_view),
        cmocka_unit_test(test_other_last_statements_are_left_alone),
        cmocka_unit_test(test_quotes_hide_keywords_and_semicolons),
        cmocka_unit_test(test_columns_from_any_frame),
    };
    return cmocka_run_group_tests_name("analytics_script", tests, NULL, NULL);
}
