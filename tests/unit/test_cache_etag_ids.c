/* Unit tests of ETags (hash, If-None-Match) and station id lists and order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_etag.h"
#include "cache_ids.h"

static void test_etag_is_quoted_hex_of_body(void **state)
{
    (void)state;
    char a[CACHE_ETAG_LEN], b[CACHE_ETAG_LEN], c[CACHE_ETAG_LEN];
    cache_etag_make(a, "{\"x\":1}", 7);
    cache_etag_make(b, "{\"x\":1}", 7);
    cache_etag_make(c, "{\"x\":2}", 7);
    assert_int_equal(strlen(a), 18);
    assert_int_equal(a[0], '"');
    assert_int_equal(a[17], '"');
    for (int i = 1; i < 17; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
}

static void test_hash_sees_every_byte_and_the_length(void **state)
{
    (void)state;
    char buf[64];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)('a' + i % 26);
    uint64_t base = cache_hash(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) { /* word-wise and tail bytes alike */
        buf[i] ^= 1;
        assert_true(cache_hash(buf, sizeof(buf)) != base);
        buf[i] ^= 1;
    }
    char zeros[16] = {0};
    assert_true(cache_hash(zeros, 8) != cache_hash(zeros, 9));
    assert_true(cache_hash(zeros, 0) != cache_hash(zeros, 1));
}

static void test_if_none_match(void **state)
{
    (void)state;
    const char *tag = "\"0123456789abcdef\"";
    assert_true(cache_etag_matches("\"0123456789abcdef\"", tag));
    assert_true(cache_etag_matches("W/\"0123456789abcdef\"", tag)); /* weak comparison */
    assert_true(cache_etag_matches("\"x\", \"0123456789abcdef\"", tag));
    assert_true(cache_etag_matches("\"x\",W/\"0123456789abcdef\" ", tag));
    assert_true(cache_etag_matches("*", tag));
    assert_true(cache_etag_matches(" * ", tag));
    assert_false(cache_etag_matches(NULL, tag));
    assert_false(cache_etag_matches("", tag));
    assert_false(cache_etag_matches("\"0123456789abcdee\"", tag));
    assert_false(cache_etag_matches("0123456789abcdef", tag));           /* unquoted: malformed */
    assert_false(cache_etag_matches("\"0123456789abcdef", tag));         /* unterminated */
    assert_false(cache_etag_matches("\"x\" \"0123456789abcdef\"", tag)); /* no comma */
    assert_false(cache_etag_matches("*, \"x\"", tag));
}

static void test_ids_parse(void **state)
{
    (void)state;
    cache_id ids[8];
    char why[160];
    int n = cache_ids_parse("1,2, 3 ,s-4", ids, 8, why, sizeof(why));
    assert_int_equal(n, 4);
    assert_int_equal(ids[2].len, 1);
    assert_memory_equal(ids[2].s, "3", 1);
    assert_int_equal(ids[3].len, 3);
    assert_memory_equal(ids[3].s, "s-4", 3);

    n = cache_ids_parse("5,1,5,1,2", ids, 8, why, sizeof(why)); /* repeats dropped, order kept */
    assert_int_equal(n, 3);
    assert_memory_equal(ids[0].s, "5", 1);
    assert_memory_equal(ids[1].s, "1", 1);
    assert_memory_equal(ids[2].s, "2", 1);

    const char *bad[] = {"", ",", "1,,2", "1,", "1,a/b", "..", "1, ,2", "x y"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(cache_ids_parse(bad[i], ids, 8, why, sizeof(why)), -1);
        assert_true(strlen(why) > 0);
    }
    assert_int_equal(cache_ids_parse("1,,2", ids, 8, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "item 2"));
}

static void test_ids_limit(void **state)
{
    (void)state;
    /* CACHE_IDS_MAX distinct ids pass, one more fails; repeats do not count. */
    size_t cap = (CACHE_IDS_MAX + 1) * 6 + 16;
    char *text = malloc(cap);
    cache_id *ids = malloc(CACHE_IDS_MAX * sizeof(*ids));
    char why[160];
    size_t len = 0;
    for (int i = 0; i < CACHE_IDS_MAX; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s%d", i ? "," : "", i);
    assert_int_equal(cache_ids_parse(text, ids, CACHE_IDS_MAX, why, sizeof(why)), CACHE_IDS_MAX);
    snprintf(text + len, cap - len, ",0,1");
    assert_int_equal(cache_ids_parse(text, ids, CACHE_IDS_MAX, why, sizeof(why)), CACHE_IDS_MAX);
    snprintf(text + len, cap - len, ",x");
    assert_int_equal(cache_ids_parse(text, ids, CACHE_IDS_MAX, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "at most"));
    free(text);
    free(ids);
}

static int cmp(const char *a, const char *b)
{
    return cache_id_cmp(a, strlen(a), b, strlen(b));
}

static void test_station_order(void **state)
{
    (void)state;
    assert_true(cmp("2", "10") < 0);
    assert_true(cmp("10", "2") > 0);
    assert_true(cmp("9", "9") == 0);
    assert_true(cmp("007", "7") < 0); /* same number: by text, so the order stays total */
    assert_true(cmp("7", "007") > 0);
    assert_true(cmp("008", "7") > 0);
    assert_true(cmp("99999999999999999999999", "a") < 0); /* numbers first, any length */
    assert_true(cmp("a", "b") < 0);
    assert_true(cmp("B", "a") < 0);
    assert_true(cmp("s-10", "s-2") < 0); /* non-numeric ids by bytes */
    assert_true(cmp("ab", "abc") < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag_is_quoted_hex_of_body),
        cmocka_unit_test(test_hash_sees_every_byte_and_the_length),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_ids_parse),
        cmocka_unit_test(test_ids_limit),
        cmocka_unit_test(test_station_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
