/* analytics_results: what a finished job left in HDFS, read over WebHDFS: pages of result rows
 * (streamed, starting near the page through remembered offsets) from its result files
 * (<id>/result/, in name order, as one stream) or else from statusdir/stdout, the full pass
 * that counts rows when a job ends, the column names DESCRIBE printed, and the tail of stderr
 * for failures. */
#ifndef ANALYTICS_RESULTS_H
#define ANALYTICS_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "analytics.h"

typedef struct analytics_rows_page {
    json_t *rows; /* arrays of strings (and nulls, from result files) */
    bool more;    /* rows follow this page */
    bool cut;     /* a row was longer than the per-row cap and was cut */
} analytics_rows_page;

/* Rows page->offset .. +page->limit of job id's result. A missing stdout or result directory
 * reads as no rows. */
int analytics_results_page(analytics_ctx *ctx, const char *id, const analytics_page *page,
                           analytics_rows_page *out, analytics_err *e);

/* Reads the whole result once: counts its rows and bytes, remembers row offsets, and keeps the
 * first keep rows in *rows (NULL when keep is 0). */
int analytics_results_scan(analytics_ctx *ctx, const char *id, size_t keep, json_t **rows,
                           int64_t *total, int64_t *bytes, analytics_err *e);

/* The columns of the last DESCRIBE JSON line in stdout (analytics_script_columns) in *columns,
 * NULL when there is none. */
int analytics_results_columns(analytics_ctx *ctx, const char *id, json_t **columns,
                              analytics_err *e);

/* The last max bytes of stderr as UTF-8 text (malloc'd; "" when there is none). */
char *analytics_results_stderr_tail(analytics_ctx *ctx, const char *id, size_t max,
                                    analytics_err *e);

/* The exit status in statusdir/exit, or -1 (e filled) when it cannot be read. */
int analytics_results_exit(analytics_ctx *ctx, const char *id, analytics_err *e);

#endif
