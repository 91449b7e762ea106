/* analytics_script: the script a raw HiveQL job runs, built around the caller's text so that a
 * final query's result keeps its shape whatever the cluster's CLI prints.
 *
 * When the text ends in a query (its last statement starts with SELECT or WITH), the service
 * appends to the statements before it:
 *
 *   DROP VIEW IF EXISTS <view>;
 *   CREATE VIEW <view> AS <query>;            Hive names and types the result columns
 *   SET hive.ddl.output.format=json;
 *   DESCRIBE <view>;                           one line {"columns":[{"name","type"}...]}
 *   DROP VIEW <view>;
 *   <query, with INSERT OVERWRITE DIRECTORY '<result dir>' ROW FORMAT ... before its SELECT>;
 *
 * The query runs once (a view is only compiled); its rows land as files in the result
 * directory in an escaped format (analytics_hiveql_result_into), and the column names are the
 * JSON line of DESCRIBE, found in stdout whatever frames the CLI prints around it. After a
 * CREATE TEMPORARY statement the view part is left out (Hive refuses views over the session's
 * temporary tables and functions): the rows keep their shape, the names are unknown. Any other
 * last statement (SHOW, DESCRIBE, EXPLAIN, INSERT, DDL) is left alone: its result is the lines
 * Hive prints. */
#ifndef ANALYTICS_SCRIPT_H
#define ANALYTICS_SCRIPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Where the last statement of text lies: [start, end) without the ';', blanks and comments
 * around it, and the offset of its top-level SELECT (where an INSERT clause goes). */
typedef struct analytics_script_last {
    size_t start, end, select_at;
    bool is_query; /* starts with SELECT or WITH, and its first top-level verb is a SELECT */
    bool temporary_before; /* a statement before it is CREATE TEMPORARY ... */
} analytics_script_last;

/* Scans text as the hive command line splits it (';' outside quotes, '--' and block comments
 * skipped). False when it holds no statement. */
bool analytics_script_scan(const char *text, analytics_script_last *out);

/* The script for a raw query (malloc'd), or NULL when text does not end in a query (the caller
 * then runs text as given) or memory runs out (*oom set). view is an identifier of the
 * service's own ([a-z0-9_]); result_dir an HDFS path (quoted here). */
char *analytics_script_query(const char *text, const char *view, const char *result_dir, bool *oom);

/* The columns of one printed line if it is DESCRIBE's JSON line: the JSON object from its
 * first '{' to its last '}' (a Beeline table puts borders around it) with a "columns" array.
 * Returns them as [{"name", "type"}...], or NULL when the line is not such a line. */
json_t *analytics_script_columns(const char *line, size_t len);

#endif
