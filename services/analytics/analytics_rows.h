/* analytics_rows: pages of result rows cut out of a stream of Hive's output.
 *
 * One row per line, columns separated by tabs: either the lines Hive printed to stdout, or the
 * result files a query wrote in the escaped format (analytics_hiveql_result_into), where a
 * backslash escapes tabs, backslashes and the collection separators, a backslash and n or r
 * stands for a line break and a backslash and N alone is NULL. A pager is fed the bytes of stdout
 * as they arrive (it is an analytics_sink), skips to the first wanted row, keeps at most `want`
 * rows (and at most ANALYTICS_PAGE_BYTES of them), notes whether another row follows, and then
 * stops the transfer, so a large result is never held whole. On the way it reports the byte offset
 * of every ANALYTICS_CK_STRIDE-th row, so that later pages can start reading near their first row
 * (WebHDFS OPEN with offset) instead of at the beginning. */
#ifndef ANALYTICS_ROWS_H
#define ANALYTICS_ROWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gg_buf.h"

#define ANALYTICS_PAGE_BYTES (8u * 1024 * 1024) /* bytes of rows one page may hold */
#define ANALYTICS_LINE_MAX   (1u * 1024 * 1024) /* longer rows are cut (and flagged) */

typedef void (*analytics_rows_mark)(void *ud, int64_t row, int64_t byte);

typedef struct analytics_pager {
    int64_t row;    /* number of the row the next byte belongs to */
    int64_t byte;   /* absolute offset of the next byte */
    int64_t first;  /* first row to keep */
    size_t want;    /* rows to keep */
    bool count_all; /* read to the end (counting rows) instead of stopping after the page */
    bool escaped;   /* rows are in the escaped format of result files, not printed lines */
    int64_t stride; /* report every stride-th row to mark; 0: none */
    analytics_rows_mark mark;
    void *mark_ud;
    json_t *rows; /* kept rows: arrays of strings */
    size_t kept_bytes;
    bool more;   /* a row follows the kept ones */
    bool cut;    /* some kept row was longer than ANALYTICS_LINE_MAX */
    bool failed; /* out of memory */
    bool in_row; /* bytes of the current row have been seen */
    gg_buf line;
} analytics_pager;

/* Starts reading at row start_row, which begins at byte start_byte of stdout. */
void analytics_pager_init(analytics_pager *p, int64_t start_row, int64_t start_byte, int64_t first,
                          size_t want);
/* The sink: feed it stdout's bytes in order. Returns len, or 0 once the page is complete. */
size_t analytics_pager_feed(const char *data, size_t len, void *ud);
/* End of stdout: a last row without a newline still counts. */
void analytics_pager_end(analytics_pager *p);
/* Rows seen in total (meaningful after a count_all pass reached the end). */
int64_t analytics_pager_rows_seen(const analytics_pager *p);
void analytics_pager_free(analytics_pager *p);

/* A NUL-terminated UTF-8 copy of n bytes: invalid sequences and NULs become U+FFFD. */
char *analytics_rows_text(const char *s, size_t n);

/* Splits one line at tabs into a JSON array of strings; bytes that are not UTF-8 become U+FFFD. */
json_t *analytics_rows_split(const char *line, size_t len);
/* Splits one line of the escaped format at unescaped tabs into strings and nulls. */
json_t *analytics_rows_decode(const char *line, size_t len);

#endif
