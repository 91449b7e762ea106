/* gg_time: the clocks and times of every gridgate service, in one place.
 *
 * Two clocks: the monotonic one for intervals, timeouts and deadlines (it never jumps when NTP
 * steps the wall clock), the wall clock for what is stored or shown (event times, ages that must
 * survive a restart). Condition variables that wait with a deadline wait on the monotonic clock.
 *
 * Times in the API: RFC 3339 in UTC ("Z"), with the precision the time has (microseconds for a
 * reading's created_at, milliseconds for times the services take from clocks that have no more).
 * One formatter, so the same reading reads the same in every service. */
#ifndef GG_TIME_H
#define GG_TIME_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (an arbitrary origin): for intervals and deadlines. */
int64_t gg_time_mono_ms(void);
int64_t gg_time_mono_us(void); /* the same in microseconds: for durations that are timed */
/* Milliseconds and microseconds since the epoch on the wall clock: for what is stored or shown. */
int64_t gg_time_wall_ms(void);
int64_t gg_time_wall_us(void);

/* The monotonic time ms milliseconds from now (ms <= 0: now), for pthread_cond_timedwait on a
 * condition variable made by gg_time_cond_init. */
void gg_time_deadline(struct timespec *ts, int64_t ms);
/* Initialises a condition variable whose timed waits use the monotonic clock. */
int gg_time_cond_init(pthread_cond_t *cond);

/* Large enough for any text below, NUL included. */
#define GG_TIME_BUFLEN 32

/* "2025-11-24T16:00:00.001471Z" from microseconds since the epoch. Returns 0, or -1 when buf is
 * too small or the time is outside the years 0..9999 (buf is then ""). */
int gg_time_format_us(int64_t us, char *buf, size_t len);
/* "2025-11-24T16:00:00.001Z" from milliseconds since the epoch; as gg_time_format_us. */
int gg_time_format_ms(int64_t ms, char *buf, size_t len);

#endif
