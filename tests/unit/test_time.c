/* Unit tests of gg_time's clocks: deadlines carry into seconds, timed waits use the monotonic
 * clock, and the wall clock's two resolutions agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "gg_time.h"

static void test_deadline_carries_nanoseconds(void **state)
{
    (void)state;
    struct timespec now, d;
    for (int64_t ms = 0; ms < 3000; ms += 7) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        gg_time_deadline(&d, ms);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
        int64_t diff =
            ((int64_t)d.tv_sec - now.tv_sec) * 1000 + (d.tv_nsec - now.tv_nsec) / 1000000;
        assert_true(diff >= ms - 1 && diff <= ms + 50);
    }
    gg_time_deadline(&d, -5);
    clock_gettime(CLOCK_MONOTONIC, &now);
    assert_true(d.tv_sec <= now.tv_sec);
}

static void test_timed_wait_ends_at_a_monotonic_deadline(void **state)
{
    (void)state;
    pthread_cond_t c;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    assert_int_equal(gg_time_cond_init(&c), 0);
    struct timespec d;
    int64_t t0 = gg_time_mono_ms();
    gg_time_deadline(&d, 30);
    pthread_mutex_lock(&m);
    int rc = 0;
    while (rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c, &m, &d);
    pthread_mutex_unlock(&m);
    int64_t took = gg_time_mono_ms() - t0;
    /* A condition variable on the wall clock would take this deadline as decades past. */
    assert_true(took >= 29);
    pthread_cond_destroy(&c);
}

static void test_wall_clock_resolutions_agree(void **state)
{
    (void)state;
    int64_t ms = gg_time_wall_ms(), us = gg_time_wall_us();
    assert_true(ms > 1700000000000LL);
    assert_true(us / 1000 >= ms && us / 1000 - ms < 1000);
    int64_t a = gg_time_mono_ms(), b = gg_time_mono_ms();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_carries_nanoseconds),
        cmocka_unit_test(test_timed_wait_ends_at_a_monotonic_deadline),
        cmocka_unit_test(test_wall_clock_resolutions_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
