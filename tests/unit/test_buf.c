/* Unit tests of gg_buf, the one growable buffer: appends, escapes, and a failed allocation that
 * is reported once at the end instead of crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gg_buf.h"

static void test_appends_and_take(void **state)
{
    (void)state;
    gg_buf b;
    gg_buf_init(&b);
    assert_string_equal(gg_buf_str(&b), "");
    gg_buf_puts(&b, "ab");
    gg_buf_putc(&b, 'c');
    gg_buf_printf(&b, "-%d-%s", 42, "x");
    gg_buf_append(&b, "yz", 1);
    assert_string_equal(gg_buf_str(&b), "abc-42-xy");
    size_t len;
    char *s = gg_buf_take(&b, &len);
    assert_string_equal(s, "abc-42-xy");
    assert_int_equal(len, 9);
    free(s);
    assert_string_equal(gg_buf_str(&b), "");
    for (int i = 0; i < 10000; i++)
        gg_buf_putc(&b, 'a');
    assert_int_equal(strlen(gg_buf_str(&b)), 10000);
    gg_buf_reset(&b);
    assert_string_equal(gg_buf_str(&b), "");
    gg_buf_free(&b);
}

static void test_json_string_escapes(void **state)
{
    (void)state;
    gg_buf b = {0};
    const char in[] = "a\"b\\c\n\x01\xc3\xa9";
    gg_buf_json_str(&b, in, sizeof(in) - 1);
    assert_string_equal(gg_buf_str(&b), "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
    gg_buf_reset(&b);
    gg_buf_json_str(&b, "x\0y", 3); /* the length, not the NUL, ends the text */
    assert_string_equal(gg_buf_str(&b), "\"x\\u0000y\"");
    gg_buf_free(&b);
}

static void test_url_escape_and_form(void **state)
{
    (void)state;
    gg_buf b = {0};
    gg_buf_url_escape(&b, "/a b/ü~", true);
    assert_string_equal(gg_buf_str(&b), "/a%20b/%C3%BC~");
    gg_buf_reset(&b);
    gg_buf_form(&b, "user.name", "g g");
    gg_buf_form(&b, "execute", "SELECT 1;&x=/");
    assert_string_equal(gg_buf_str(&b), "user.name=g%20g&execute=SELECT%201%3B%26x%3D%2F");
    gg_buf_free(&b);
}

static void test_failed_allocation_is_reported_once(void **state)
{
    (void)state;
    gg_buf b = {0};
    gg_buf_puts(&b, "kept");
    assert_false(gg_buf_reserve(&b, SIZE_MAX / 2));
    gg_buf_puts(&b, "more");
    assert_null(gg_buf_str(&b));
    assert_null(gg_buf_take(&b, NULL));
    gg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends_and_take),
        cmocka_unit_test(test_json_string_escapes),
        cmocka_unit_test(test_url_escape_and_form),
        cmocka_unit_test(test_failed_allocation_is_reported_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
