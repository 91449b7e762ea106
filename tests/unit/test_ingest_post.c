/* Unit tests of ingest_post: how the body of POST /v1/readings is split into items and judged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest_post.h"

#define READING(station)                                                                           \
    "{\"station_id\":\"" station "\",\"temporal_aspect\":\"real_time\",\"modality\":1,"            \
    "\"unit\":\"MW\",\"created_at\":\"2026-12-05T01:02:03Z\"}"

static json_t *items_of(const char *body, const char **slug)
{
    char why[256] = "";
    *slug = NULL;
    return ingest_post_items(body, strlen(body), slug, why, sizeof(why));
}

static void test_one_reading_or_an_array(void **state)
{
    (void)state;
    const char *slug;
    json_t *a = items_of(READING("st-1"), &slug);
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    a = items_of("[" READING("st-1") "," READING("st-2") "]", &slug);
    assert_int_equal(json_array_size(a), 2);
    json_decref(a);
    assert_null(items_of("[]", &slug));
    assert_string_equal(slug, "invalid-body");
    assert_null(items_of("{\"a\":", &slug));
    assert_string_equal(slug, "invalid-json");
}

/* JSON allows \u0000 in strings: such a body is JSON, and the item holding it is refused on its
 * own with a reason, while the others in the same body still go through. */
static void test_nul_in_a_string_refuses_the_item_not_the_body(void **state)
{
    (void)state;
    const char *slug;
    json_t *a = items_of("[" READING("st\\u0000x") "," READING("st-2") "]", &slug);
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 2);
    ingest_post_item bad, good;
    memset(&bad, 0, sizeof(bad));
    memset(&good, 0, sizeof(good));
    ingest_post_check(json_array_get(a, 0), 0, &bad);
    ingest_post_check(json_array_get(a, 1), 0, &good);
    assert_int_equal(bad.reason, GG_RECORD_NUL_BYTE);
    assert_null(bad.value);
    assert_int_equal(good.reason, GG_RECORD_OK);
    assert_string_equal(good.rec.station_id, "st-2");
    free(good.value);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_reading_or_an_array),
        cmocka_unit_test(test_nul_in_a_string_refuses_the_item_not_the_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
