/* fuzz_hive_rows: result rows cut out of Hive's output (analytics_rows), and the word-count
 * result built from them (analytics_wc_result).
 *
 * Input: 4 control bytes (first row of the page, rows wanted, chunk size of the stream, and bits:
 * count every row, rows in the escaped format of result files), then the output bytes as the
 * service reads them in pieces; the bytes are also searched for DESCRIBE's column line.
 * Checks: the page does not depend on how the stream is cut into pieces; with counting, every
 * line is counted; a page started at a remembered offset equals the page read from the start;
 * every column is valid UTF-8 (json_string accepts nothing else); the result builder either
 * builds a result or says why not. */
#include <string.h>

#include "analytics_rows.h"
#include "analytics_script.h"
#include "analytics_wordcount.h"
#include "fuzz.h"

/* The last remembered offset at or before row limit. */
typedef struct mark {
    int64_t limit, row, byte;
} mark;

static void remember(void *ud, int64_t row, int64_t byte)
{
    mark *m = ud;
    if (row > m->limit)
        return;
    m->row = row;
    m->byte = byte;
}

/* Reads data from byte offset start (row start_row) in pieces of chunk bytes. */
static bool escaped; /* this input's rows are in the result files' escaped format */

static void read_page(analytics_pager *p, const char *data, size_t len, int64_t start_row,
                      size_t start, int64_t first, size_t want, size_t chunk, bool count_all,
                      mark *m)
{
    analytics_pager_init(p, start_row, (int64_t)start, first, want);
    p->count_all = count_all;
    p->escaped = escaped;
    if (m) {
        p->stride = 2;
        p->mark = remember;
        p->mark_ud = m;
    }
    size_t stopped = 0;
    for (size_t i = start; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        if (analytics_pager_feed(data + i, n, p) != n) {
            stopped = 1;
            break;
        }
    }
    if (!stopped)
        analytics_pager_end(p);
    FUZZ_CHECK(!p->failed);
}

static int64_t lines_in(const char *data, size_t len)
{
    int64_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    return n + (len > 0 && data[len - 1] != '\n');
}

static void check_result(json_t *rows)
{
    json_t *params = json_pack("{s:s, s:[s, s], s:i, s:b}", "path", "/data/text", "words", "alice",
                               "queen", "top", 10, "case_sensitive", 0);
    char why[200] = "";
    json_t *result = analytics_wc_result(params, rows, why, sizeof(why));
    FUZZ_CHECK(result != NULL || why[0] != '\0');
    json_decref(result);
    json_decref(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int64_t first = data[0] % 8;
    size_t want = 1 + data[1] % 8, chunk = 1 + data[2] % 64;
    bool count_all = data[3] & 1;
    escaped = data[3] & 2;
    const char *out = (const char *)data + 4;
    size_t len = size - 4;

    analytics_pager whole, pieces;
    mark m = {first, -1, -1};
    read_page(&whole, out, len, 0, 0, first, want, len ? len : 1, count_all, &m);
    read_page(&pieces, out, len, 0, 0, first, want, chunk, count_all, NULL);
    FUZZ_CHECK(json_equal(whole.rows, pieces.rows) ||
               (json_array_size(whole.rows) == 0 && json_array_size(pieces.rows) == 0));
    FUZZ_CHECK(whole.more == pieces.more && whole.cut == pieces.cut);
    FUZZ_CHECK(json_array_size(whole.rows) <= want);
    if (count_all)
        FUZZ_CHECK(analytics_pager_rows_seen(&whole) == lines_in(out, len));

    /* From the last remembered offset at or before the page, the page is the same. */
    if (m.row >= 0) {
        analytics_pager from_mark;
        read_page(&from_mark, out, len, m.row, (size_t)m.byte, first, want, chunk, count_all, NULL);
        FUZZ_CHECK(json_equal(whole.rows, from_mark.rows) ||
                   (json_array_size(whole.rows) == 0 && json_array_size(from_mark.rows) == 0));
        analytics_pager_free(&from_mark);
    }
    check_result(whole.rows);
    json_t *cols = analytics_script_columns(out, len); /* DESCRIBE's line among printed ones */
    FUZZ_CHECK(!cols || json_is_array(cols));
    json_decref(cols);
    analytics_pager_free(&whole);
    analytics_pager_free(&pieces);
    return 0;
}
