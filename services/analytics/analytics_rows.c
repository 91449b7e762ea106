/* analytics_rows: paging through Hive's stdout as it streams (see analytics_rows.h). */
#include "analytics_rows.h"

#include <stdlib.h>
#include <string.h>

void analytics_pager_init(analytics_pager *p, int64_t start_row, int64_t start_byte, int64_t first,
                          size_t want)
{
    memset(p, 0, sizeof(*p));
    p->row = start_row;
    p->byte = start_byte;
    p->first = first;
    p->want = want;
    p->rows = json_array();
    p->failed = !p->rows;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

char *analytics_rows_text(const char *s, size_t n)
{
    gg_buf b = {0};
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
        if (k) {
            gg_buf_append(&b, s + i, k);
            i += k;
        } else {
            gg_buf_append(&b, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    return gg_buf_take(&b, NULL);
}

static json_t *utf8_string(const char *s, size_t n)
{
    char *text = analytics_rows_text(s, n);
    json_t *j = text ? json_string(text) : NULL;
    free(text);
    return j;
}

json_t *analytics_rows_split(const char *line, size_t len)
{
    json_t *row = json_array();
    size_t start = 0;
    for (size_t i = 0; row && i <= len; i++) {
        if (i == len || line[i] == '\t') {
            json_t *col = utf8_string(line + start, i - start);
            if (!col || json_array_append_new(row, col) != 0) {
                json_decref(row);
                return NULL;
            }
            start = i + 1;
        }
    }
    return row;
}

/* One field of the escaped format: a backslash and N alone is NULL; a backslash and n or r is a
 * newline or carriage return; a backslash before any other byte stands for that byte. */
static json_t *decode_field(const char *s, size_t n)
{
    if (n == 2 && s[0] == '\\' && s[1] == 'N')
        return json_null();
    gg_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            c = s[++i];
            c = c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        }
        gg_buf_append(&b, &c, 1);
    }
    json_t *j = b.failed ? NULL : utf8_string(b.data ? b.data : "", b.len);
    gg_buf_free(&b);
    return j;
}

json_t *analytics_rows_decode(const char *line, size_t len)
{
    json_t *row = json_array();
    size_t start = 0;
    for (size_t i = 0; row && i <= len; i++) {
        if (i < len && line[i] == '\\') {
            i++; /* the escaped byte, a tab included, belongs to the field */
            continue;
        }
        if (i == len || line[i] == '\t') {
            json_t *col = decode_field(line + start, (i < len ? i : len) - start);
            if (!col || json_array_append_new(row, col) != 0) {
                json_decref(row);
                return NULL;
            }
            start = i + 1;
        }
    }
    return row;
}

static bool keeping(const analytics_pager *p)
{
    return p->row >= p->first && json_array_size(p->rows) < p->want &&
           p->kept_bytes < ANALYTICS_PAGE_BYTES;
}

/* The first byte of a row: report checkpoints; decide whether the page is complete. */
static bool row_begins(analytics_pager *p)
{
    p->in_row = true;
    if (p->mark && p->stride > 0 && p->row % p->stride == 0)
        p->mark(p->mark_ud, p->row, p->byte);
    if (p->row >= p->first && !keeping(p)) {
        p->more = true;
        return !p->count_all; /* the page is complete: stop unless counting */
    }
    return false;
}

static void row_ends(analytics_pager *p)
{
    if (keeping(p) && !p->failed) {
        const char *text = gg_buf_str(&p->line);
        json_t *row = !text        ? NULL
                      : p->escaped ? analytics_rows_decode(text, p->line.len)
                                   : analytics_rows_split(text, p->line.len);
        if (!row || json_array_append_new(p->rows, row) != 0)
            p->failed = true;
        p->kept_bytes += p->line.len;
    }
    p->line.len = 0;
    if (p->line.data)
        p->line.data[0] = '\0';
    p->in_row = false;
    p->row++;
}

static void keep_bytes(analytics_pager *p, const char *data, size_t n)
{
    if (!keeping(p) || !n)
        return;
    size_t room = ANALYTICS_LINE_MAX > p->line.len ? ANALYTICS_LINE_MAX - p->line.len : 0;
    if (n > room) {
        n = room;
        p->cut = true;
    }
    gg_buf_append(&p->line, data, n);
    if (p->line.failed)
        p->failed = true;
}

size_t analytics_pager_feed(const char *data, size_t len, void *ud)
{
    analytics_pager *p = ud;
    size_t i = 0;
    while (i < len) {
        if (p->failed)
            return 0;
        if (!p->in_row && row_begins(p))
            return 0;
        const char *nl = memchr(data + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : len - i;
        keep_bytes(p, data + i, n);
        p->byte += (int64_t)n;
        i += n;
        if (nl) {
            p->byte++;
            i++;
            row_ends(p);
        }
    }
    return len;
}

void analytics_pager_end(analytics_pager *p)
{
    if (p->in_row)
        row_ends(p);
}

int64_t analytics_pager_rows_seen(const analytics_pager *p)
{
    return p->row;
}

void analytics_pager_free(analytics_pager *p)
{
    json_decref(p->rows);
    gg_buf_free(&p->line);
    p->rows = NULL;
}
