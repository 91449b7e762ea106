/* Unit tests of ingest_page: fed documents in the store's order (milliseconds descending, any
 * order within one), pages walked by cursor give exactly the readings a plain sort of all of
 * them gives, newest first by (created_at_us, _id), with no repeats and no gaps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_page.h"

typedef struct reading {
    int64_t us;
    char id[40];
} reading;

/* The oracle's order: newest first, ties by id descending. */
static int oracle_cmp(const void *a, const void *b)
{
    const reading *x = a, *y = b;
    if (x->us != y->us)
        return x->us > y->us ? -1 : 1;
    return -strcmp(x->id, y->id);
}

/* The store's order: milliseconds descending, shuffled within a millisecond. */
static int store_cmp(const void *a, const void *b)
{
    const reading *x = a, *y = b;
    int64_t mx = x->us / 1000, my = y->us / 1000;
    if (mx != my)
        return mx > my ? -1 : 1;
    return 0;
}

static void store_order(reading *r, size_t n)
{
    for (size_t i = n; i > 1; i--) { /* shuffle, then a stable-enough bucket by millisecond */
        size_t j = (size_t)rand() % i;
        reading t = r[i - 1];
        r[i - 1] = r[j];
        r[j] = t;
    }
    /* Insertion sort keeps the shuffled order inside each millisecond. */
    for (size_t i = 1; i < n; i++) {
        reading t = r[i];
        size_t j = i;
        while (j > 0 && store_cmp(&r[j - 1], &t) > 0) {
            r[j] = r[j - 1];
            j--;
        }
        r[j] = t;
    }
}

/* What the store would return for a page request: everything at or before the cursor's
 * millisecond, in store order. */
static size_t run_page(const reading *store, size_t n, size_t limit, const ingest_cursor *cur,
                       ingest_page *page)
{
    size_t offered = 0;
    ingest_page_init(page, limit, cur);
    for (size_t i = 0; i < n; i++) {
        if (cur && store[i].us / 1000 > cur->created_at_us / 1000)
            continue;
        json_t *tag = json_pack("{s:I, s:s}", "us", (json_int_t)store[i].us, "id", store[i].id);
        offered++;
        int rc = ingest_page_offer(page, store[i].us, store[i].id, tag);
        assert_int_not_equal(rc, -1);
        if (rc == 1)
            break;
    }
    ingest_page_finish(page);
    return offered;
}

static void walk(size_t n, int64_t base, int spread_us, size_t limit, int id_choices)
{
    reading *all = calloc(n, sizeof(*all)), *store = calloc(n, sizeof(*store));
    for (size_t i = 0; i < n; i++) {
        all[i].us = base + rand() % spread_us;
        /* Few id choices force equal (us, id) prefixes; the index keeps ids unique. */
        snprintf(all[i].id, sizeof(all[i].id), "%c-%06zu", 'a' + rand() % id_choices, i);
    }
    memcpy(store, all, n * sizeof(*all));
    store_order(store, n);
    qsort(all, n, sizeof(*all), oracle_cmp);

    size_t got = 0, pages = 0;
    ingest_cursor cur;
    int has_cur = 0;
    for (;;) {
        ingest_page page;
        char next[INGEST_CURSOR_BUFLEN];
        run_page(store, n, limit, has_cur ? &cur : NULL, &page);
        json_t *items = ingest_page_readings(&page);
        assert_true(json_array_size(items) <= limit);
        for (size_t i = 0; i < json_array_size(items); i++, got++) {
            json_t *it = json_array_get(items, i);
            /* cmocka's failures are not noreturn: index only within bounds, or the optimiser
             * sees a read past a calloc(0) for walk(0, ...). */
            const reading *want = got < n ? &all[got] : NULL;
            assert_non_null(want);
            assert_int_equal(json_integer_value(json_object_get(it, "us")), want->us);
            assert_string_equal(json_string_value(json_object_get(it, "id")), want->id);
        }
        const char *c = ingest_page_next_cursor(&page, next, sizeof(next));
        pages++;
        /* A full page promises more exactly when more exist. */
        assert_int_equal(c != NULL, got < n);
        json_decref(items);
        ingest_page_free(&page);
        if (!c)
            break;
        assert_int_equal(ingest_cursor_decode(c, &cur), 0);
        has_cur = 1;
    }
    assert_int_equal(got, n);
    assert_int_equal(pages, n == 0 ? 1 : (n + limit - 1) / limit);
    free(all);
    free(store);
}

static void test_pages_match_a_full_sort(void **state)
{
    (void)state;
    srand(3);
    walk(0, 0, 1, 10, 3);
    walk(1, 1764000000000000, 1, 10, 3);
    walk(10, 1764000000000000, 1000000, 10, 3); /* exactly one page */
    walk(500, 1764000000000000, 50000, 7, 26);  /* ~10 readings per millisecond */
    walk(400, 1764000000000000, 40, 13, 2);     /* few microseconds: many equal times */
    walk(300, 1764000000000000, 3000, 1, 5);    /* pages of one */
    walk(2000, 1764000000000000, 100000000, 1000, 26);
}

static void test_stops_early(void **state)
{
    (void)state;
    /* 100 readings one millisecond apart: a page of 10 needs the 11th to know more exist,
     * and must not read further. */
    reading store[100];
    for (int i = 0; i < 100; i++) {
        store[i].us = 1764000000000000 - (int64_t)i * 1000;
        snprintf(store[i].id, sizeof(store[i].id), "r%d", i);
    }
    ingest_page page;
    size_t offered = run_page(store, 100, 10, NULL, &page);
    assert_int_equal(offered, 11);
    assert_int_equal(page.n, 10);
    assert_int_equal(page.more, 1);
    ingest_page_free(&page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_match_a_full_sort),
        cmocka_unit_test(test_stops_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
