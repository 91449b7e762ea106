/* analytics_hiveql: the HiveQL of a word count, built by the service from validated parameters.
 *
 * Input: every file below the directory, at any depth, except those Hadoop hides (names starting
 * with '_' or '.'), read as lines of UTF-8 text.
 *
 * Tokenisation rule (the API documentation states the same): a line is read as text; a word is a
 * maximal run of ASCII letters, digits and apostrophes ([A-Za-z0-9']+) with its leading and
 * trailing apostrophes removed; runs that are empty after that are dropped; every other character
 * separates words; words are lower-cased unless case_sensitive. The top list is ordered by count
 * (descending), then by word (ascending, byte order).
 *
 * The script reads the directory through an external table named after the job, and writes one
 * row per result into the job's result directory: "top<TAB>word<TAB>count" for the top list
 * and "word<TAB>word<TAB>count" for each requested word that occurs. */
#ifndef ANALYTICS_HIVEQL_H
#define ANALYTICS_HIVEQL_H

#include <stdbool.h>
#include <stddef.h>

#include "gg_buf.h"

typedef struct analytics_wc_params {
    char *path;    /* validated HDFS directory, without a trailing '/' */
    char **words;  /* validated, lower-cased unless case_sensitive, sorted, no repeats */
    size_t nwords; /* 0 when no words were asked for */
    long top;      /* 1 .. the configured maximum */
    bool case_sensitive;
} analytics_wc_params;

/* The job's table: "gridgate_wc_" + job id with '-' turned into '_'. */
void analytics_hiveql_table(char *out, size_t outlen, const char *job_id);

/* The whole script, malloc'd; NULL when a value fails quoting (it never does after validation)
 * or memory runs out. location_prefix ("hdfs://namenode:8020" or "") goes before the path in
 * the table's LOCATION; empty means the cluster's default file system. The rows go to
 * result_dir (analytics_hiveql_result_into). */
char *analytics_hiveql_wordcount(const analytics_wc_params *p, const char *table,
                                 const char *location_prefix, const char *result_dir);

/* Appends the clause that makes the query after it write its rows as files into dir, instead
 * of Hive printing them: INSERT OVERWRITE DIRECTORY with a row format that is spelled out in
 * full (LazySimpleSerDe, tab-separated, backslash escapes, line breaks as \n and \r, NULL as
 * \N; analytics_rows_decode reads it), so neither the CLI's print format (Hive 3's CLI, Hive 4's
 * Beeline tables, hive.cli.print.header) nor a site's SerDe defaults change the result. */
bool analytics_hiveql_result_into(gg_buf *q, const char *dir);

#endif
