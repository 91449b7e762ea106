/* gg_time: RFC 3339 times (see gg_time.h). */
#include "gg_time.h"

#include <stdio.h>

/* The clock's time in units of 1/per_second s (1000: milliseconds). */
static int64_t clock_in(clockid_t id, int64_t per_second)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * per_second + ts.tv_nsec / (1000000000 / per_second);
}

int64_t gg_time_mono_ms(void)
{
    return clock_in(CLOCK_MONOTONIC, 1000);
}

int64_t gg_time_mono_us(void)
{
    return clock_in(CLOCK_MONOTONIC, 1000000);
}

int64_t gg_time_wall_ms(void)
{
    return clock_in(CLOCK_REALTIME, 1000);
}

int64_t gg_time_wall_us(void)
{
    return clock_in(CLOCK_REALTIME, 1000000);
}

void gg_time_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (ms <= 0)
        return;
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int gg_time_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0)
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

/* Floor division: times before the epoch format too (a store written by something else). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int format_time(int64_t sec, long frac, int digits, char *buf, size_t len)
{
    struct tm tm;
    time_t t = (time_t)sec;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        goto fail;
    int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%0*ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, digits, frac);
    if (n < 0 || (size_t)n >= len)
        goto fail;
    return 0;
fail:
    if (len > 0)
        buf[0] = '\0';
    return -1;
}

int gg_time_format_us(int64_t us, char *buf, size_t len)
{
    int64_t sec = floor_div(us, 1000000);
    return format_time(sec, (long)(us - sec * 1000000), 6, buf, len);
}

int gg_time_format_ms(int64_t ms, char *buf, size_t len)
{
    int64_t sec = floor_div(ms, 1000);
    return format_time(sec, (long)(ms - sec * 1000), 3, buf, len);
}
