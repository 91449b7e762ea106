/* ingest_cursor: page cursors and from/to times (see ingest_cursor.h). */
#include "ingest_cursor.h"

#include <string.h>

#define CURSOR_VERSION 1
/* 9999-12-31T23:59:59Z: the last second RFC 3339 can write. */
#define MAX_EPOCH_SECONDS INT64_C(253402300799)

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ingest_b64url_encode(const unsigned char *data, size_t n, char *buf, size_t len)
{
    size_t out = (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
    if (out + 1 > len)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < n)
            v |= data[i + 2];
        buf[o++] = b64url[(v >> 18) & 63];
        buf[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < n)
            buf[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < n)
            buf[o++] = b64url[v & 63];
    }
    buf[o] = '\0';
    return (int)o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

int ingest_b64_decode(const char *text, size_t n, unsigned char *buf, size_t len)
{
    while (n > 0 && text[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(text[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == len)
                return -1;
            buf[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, so every byte string has exactly one encoding. */
    return acc == 0 ? (int)o : -1;
}

int ingest_cursor_encode(const ingest_cursor *c, char *buf, size_t len)
{
    unsigned char raw[1 + 8 + INGEST_ID_MAX];
    size_t idlen = strnlen(c->id, sizeof(c->id));
    if (idlen == 0 || idlen > INGEST_ID_MAX)
        return -1;
    raw[0] = CURSOR_VERSION;
    uint64_t us = (uint64_t)c->created_at_us;
    for (int i = 0; i < 8; i++)
        raw[1 + i] = (unsigned char)(us >> (56 - 8 * i));
    memcpy(raw + 9, c->id, idlen);
    return ingest_b64url_encode(raw, 9 + idlen, buf, len) < 0 ? -1 : 0;
}

int ingest_cursor_decode(const char *text, ingest_cursor *out)
{
    unsigned char raw[1 + 8 + INGEST_ID_MAX];
    size_t tlen = strnlen(text, INGEST_CURSOR_BUFLEN);
    if (tlen == INGEST_CURSOR_BUFLEN)
        return -1;
    int n = ingest_b64_decode(text, tlen, raw, sizeof(raw));
    if (n < 10 || raw[0] != CURSOR_VERSION)
        return -1;
    uint64_t us = 0;
    for (int i = 0; i < 8; i++)
        us = (us << 8) | raw[1 + i];
    if (us > (uint64_t)GG_RECORD_CREATED_AT_MAX_US)
        return -1;
    for (int i = 9; i < n; i++)
        if (raw[i] < 0x20 || raw[i] > 0x7e) /* ids are printable ASCII */
            return -1;
    out->created_at_us = (int64_t)us;
    memcpy(out->id, raw + 9, (size_t)n - 9);
    out->id[n - 9] = '\0';
    return 0;
}

/* ---- times ------------------------------------------------------------------------------- */

/* Reads exactly n digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Reads an optional fraction ".ddd..." as microseconds, cutting beyond the sixth digit. */
static int fraction(const char **p, int64_t *us)
{
    *us = 0;
    if (**p != '.')
        return 0;
    (*p)++;
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++)
        if (n < 6)
            *us = *us * 10 + (**p - '0');
    if (n == 0)
        return -1;
    for (; n < 6; n++)
        *us *= 10;
    return 0;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int parse_offset(const char **p, int *offset_s)
{
    char c = **p;
    int oh, om;
    *offset_s = 0;
    if (c == 'Z' || c == 'z') {
        (*p)++;
        return 0;
    }
    if (c != '+' && c != '-' && c != ' ')
        return -1;
    (*p)++;
    if (digits(p, 2, &oh) || *(*p)++ != ':' || digits(p, 2, &om) || oh > 23 || om > 59)
        return -1;
    *offset_s = (c == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    return 0;
}

static int parse_rfc3339(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec, offset;
    int64_t frac;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &sec) || fraction(&p, &frac) || parse_offset(&p, &offset) || *p)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    *us = secs * 1000000 + frac;
    return 0;
}

static int parse_epoch(const char *s, int64_t *us)
{
    const char *p = s;
    int64_t secs = 0, frac;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        secs = secs * 10 + (*p - '0');
        if (secs > MAX_EPOCH_SECONDS)
            return -1;
    }
    if (fraction(&p, &frac) || *p)
        return -1;
    *us = secs * 1000000 + frac;
    return 0;
}

int ingest_time_parse(const char *text, int64_t *us)
{
    if (!text || !*text)
        return -1;
    /* RFC 3339 always has a '-' after the year; seconds since the epoch never do. */
    return strchr(text, '-') ? parse_rfc3339(text, us) : parse_epoch(text, us);
}
