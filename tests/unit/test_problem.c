/* Unit tests of gg_problem: the vocabulary is one slug per kind, each with one status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gg_problem.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

static void test_slugs_are_unique_and_well_formed(void **state)
{
    (void)state;
    size_t n;
    const gg_problem_type *t = gg_problem_types(&n);
    assert_true(n > 10);
    for (size_t i = 0; i < n; i++) {
        assert_true(strspn(t[i].slug, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
                    strlen(t[i].slug));
        assert_true(t[i].status >= 400 && t[i].status <= 599);
        assert_true(strlen(t[i].meaning) > 0);
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(t[i].slug, t[j].slug);
        assert_ptr_equal(gg_problem_find(t[i].slug), &t[i]);
    }
}

static void test_dependency_slugs_follow_one_rule(void **state)
{
    (void)state;
    size_t n;
    const gg_problem_type *t = gg_problem_types(&n);
    for (size_t i = 0; i < n; i++) {
        if (ends_with(t[i].slug, "-unavailable"))
            assert_int_equal(t[i].status, 503);
        if (ends_with(t[i].slug, "-error"))
            assert_int_equal(t[i].status, 502);
    }
    assert_null(gg_problem_find("invalid-station-id"));
    assert_null(gg_problem_find("station-not-found"));
    assert_null(gg_problem_find(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slugs_are_unique_and_well_formed),
        cmocka_unit_test(test_dependency_slugs_follow_one_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
