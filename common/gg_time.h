/* gg_time: event times as every gridgate API writes them: RFC 3339 in UTC ("Z"), with the
 * precision the time has (microseconds for a reading's created_at, milliseconds for times the
 * services take from clocks that have no more). One formatter, so the same reading reads the
 * same in every service. */
#ifndef GG_TIME_H
#define GG_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Large enough for any text below, NUL included. */
#define GG_TIME_BUFLEN 32

/* "2025-11-24T16:00:00.001471Z" from microseconds since the epoch. Returns 0, or -1 when buf is
 * too small or the time is outside the years 0..9999 (buf is then ""). */
int gg_time_format_us(int64_t us, char *buf, size_t len);
/* "2025-11-24T16:00:00.001Z" from milliseconds since the epoch; as gg_time_format_us. */
int gg_time_format_ms(int64_t ms, char *buf, size_t len);

#endif
