/* Unit tests of the result pager: pages cut out of a byte stream fed in arbitrary pieces,
 * remembered row offsets, counting, long rows and bytes that are not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_rows.h"

/* "r0\tv0\nr1\tv1\n..." with n rows. */
static char *make_rows(int n, size_t *len)
{
    gg_buf b = {0};
    for (int i = 0; i < n; i++)
        gg_buf_printf(&b, "r%d\tv%d\n", i, i * 7);
    *len = b.len;
    return gg_buf_take(&b, NULL);
}

/* Feeds text in pieces of `piece` bytes until the pager stops or the text ends. */
static bool feed(analytics_pager *p, const char *text, size_t len, size_t piece)
{
    for (size_t i = 0; i < len; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        if (analytics_pager_feed(text + i, n, p) != n)
            return false; /* stopped */
    }
    analytics_pager_end(p);
    return true;
}

static void test_pages_in_any_piece_size(void **state)
{
    (void)state;
    size_t len;
    char *text = make_rows(100, &len);
    static const size_t pieces[] = {1, 2, 3, 7, 64, 100000};
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        analytics_pager p;
        analytics_pager_init(&p, 0, 0, 10, 5);
        assert_false(feed(&p, text, len, pieces[k])); /* stops after the page */
        assert_int_equal(json_array_size(p.rows), 5);
        assert_true(p.more);
        json_t *first = json_array_get(p.rows, 0);
        assert_string_equal(json_string_value(json_array_get(first, 0)), "r10");
        assert_string_equal(json_string_value(json_array_get(first, 1)), "v70");
        assert_string_equal(json_string_value(json_array_get(json_array_get(p.rows, 4), 0)), "r14");
        analytics_pager_free(&p);
    }
    free(text);
}

static void test_last_page_and_no_trailing_newline(void **state)
{
    (void)state;
    const char *text = "a\tb\nc\td\ne\tf"; /* the last row lacks its newline */
    analytics_pager p;
    analytics_pager_init(&p, 0, 0, 1, 10);
    assert_true(feed(&p, text, strlen(text), 4));
    assert_int_equal(json_array_size(p.rows), 2);
    assert_false(p.more);
    assert_string_equal(json_string_value(json_array_get(json_array_get(p.rows, 1), 1)), "f");
    assert_int_equal(analytics_pager_rows_seen(&p), 3);
    analytics_pager_free(&p);
    /* Exactly `want` rows left: no "more". */
    analytics_pager_init(&p, 0, 0, 1, 2);
    assert_true(feed(&p, text, strlen(text), 3));
    assert_int_equal(json_array_size(p.rows), 2);
    assert_false(p.more);
    analytics_pager_free(&p);
    /* Empty columns and empty rows survive. */
    analytics_pager_init(&p, 0, 0, 0, 10);
    assert_true(feed(&p, "\t\n\nx\n", 5, 1));
    assert_int_equal(json_array_size(p.rows), 3);
    assert_int_equal(json_array_size(json_array_get(p.rows, 0)), 2);
    assert_string_equal(json_string_value(json_array_get(json_array_get(p.rows, 1), 0)), "");
    analytics_pager_free(&p);
}

typedef struct marks {
    int64_t rows[16];
    int64_t bytes[16];
    size_t n;
} marks;

static void mark(void *ud, int64_t row, int64_t byte)
{
    marks *m = ud;
    if (m->n < 16) {
        m->rows[m->n] = row;
        m->bytes[m->n++] = byte;
    }
}

static void test_offsets_and_resume(void **state)
{
    (void)state;
    size_t len;
    char *text = make_rows(50, &len);
    marks m = {0};
    analytics_pager p;
    analytics_pager_init(&p, 0, 0, 0, 0);
    p.count_all = true;
    p.stride = 10;
    p.mark = mark;
    p.mark_ud = &m;
    assert_true(feed(&p, text, len, 5));
    assert_int_equal(analytics_pager_rows_seen(&p), 50);
    assert_int_equal(p.byte, (int64_t)len);
    assert_int_equal(m.n, 5);
    for (size_t i = 0; i < m.n; i++) {
        assert_int_equal(m.rows[i], (int64_t)i * 10);
        char want[16];
        snprintf(want, sizeof(want), "r%d\t", (int)m.rows[i]);
        assert_memory_equal(text + m.bytes[i], want, strlen(want));
    }
    analytics_pager_free(&p);
    /* Resuming at a remembered offset gives the same page as reading from the start. */
    analytics_pager_init(&p, m.rows[3], m.bytes[3], 33, 4);
    assert_false(feed(&p, text + m.bytes[3], len - (size_t)m.bytes[3], 9));
    assert_string_equal(json_string_value(json_array_get(json_array_get(p.rows, 0), 0)), "r33");
    assert_int_equal(json_array_size(p.rows), 4);
    analytics_pager_free(&p);
    free(text);
}

static void test_long_rows_are_cut(void **state)
{
    (void)state;
    size_t n = ANALYTICS_LINE_MAX + 100;
    char *text = malloc(n + 8);
    memset(text, 'x', n);
    memcpy(text + n, "\nshort\n", 7);
    analytics_pager p;
    analytics_pager_init(&p, 0, 0, 0, 10);
    assert_true(feed(&p, text, n + 7, 65536));
    assert_true(p.cut);
    assert_int_equal(json_array_size(p.rows), 2);
    assert_int_equal(json_string_length(json_array_get(json_array_get(p.rows, 0), 0)),
                     ANALYTICS_LINE_MAX);
    assert_string_equal(json_string_value(json_array_get(json_array_get(p.rows, 1), 0)), "short");
    analytics_pager_free(&p);
    free(text);
}

static void test_utf8(void **state)
{
    (void)state;
    json_t *row = analytics_rows_split("caf\xc3\xa9\t\xff\xfe\t\xed\xa0\x80", 12);
    assert_non_null(row);
    assert_string_equal(json_string_value(json_array_get(row, 0)), "caf\xc3\xa9");
    assert_string_equal(json_string_value(json_array_get(row, 1)), "\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_array_get(row, 2)),
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate is not UTF-8 */
    json_decref(row);
    char *t = analytics_rows_text("a\0b", 3);
    assert_string_equal(t, "a\xef\xbf\xbd"
                           "b");
    free(t);
}

/* Result files as Hive writes them with the service's row format (LazySimpleSerDe, field
 * delimiter tab, escape character backslash, serialization.escape.crlf, NULL as \N): the bytes
 * below are those Hive 4.1 wrote for SELECT 1, 'a\tb', NULL, 'l1\nl2\r', '\\N', 'back\\slash',
 * '' (tests/integration/test_analytics.py runs the real thing). */
static void test_escaped_rows(void **state)
{
    (void)state;
    static const char file[] = "1\ta\\\tb\t\\N\tl1\\nl2\\r\t\\\\N\tback\\\\slash\t\n"
                               "\\N\n";
    analytics_pager p;
    analytics_pager_init(&p, 0, 0, 0, 10);
    p.escaped = true;
    assert_true(feed(&p, file, sizeof(file) - 1, 3));
    assert_int_equal(json_array_size(p.rows), 2);
    json_t *row = json_array_get(p.rows, 0);
    assert_int_equal(json_array_size(row), 7);
    assert_string_equal(json_string_value(json_array_get(row, 0)), "1");
    assert_string_equal(json_string_value(json_array_get(row, 1)), "a\tb");
    assert_true(json_is_null(json_array_get(row, 2)));
    assert_string_equal(json_string_value(json_array_get(row, 3)), "l1\nl2\r");
    assert_string_equal(json_string_value(json_array_get(row, 4)), "\\N");
    assert_string_equal(json_string_value(json_array_get(row, 5)), "back\\slash");
    assert_string_equal(json_string_value(json_array_get(row, 6)), "");
    row = json_array_get(p.rows, 1);
    assert_int_equal(json_array_size(row), 1);
    assert_true(json_is_null(json_array_get(row, 0)));
    analytics_pager_free(&p);
    /* Printed lines keep their meaning: split at every tab, nothing unescaped. */
    row = analytics_rows_split("a\\\tb\t\\N", 7);
    assert_int_equal(json_array_size(row), 3);
    assert_string_equal(json_string_value(json_array_get(row, 2)), "\\N");
    json_decref(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_in_any_piece_size),
        cmocka_unit_test(test_last_page_and_no_trailing_newline),
        cmocka_unit_test(test_offsets_and_resume),
        cmocka_unit_test(test_long_rows_are_cut),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_escaped_rows),
    };
    return cmocka_run_group_tests_name("analytics_rows", tests, NULL, NULL);
}
