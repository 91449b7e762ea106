/* analytics_validate: the strict character sets every caller-supplied value must match before it
 * may reach HiveQL, and the quoting that is applied to it anyway.
 *
 * Nothing a caller sends is ever pasted into HiveQL as is: HDFS paths, words and numbers are
 * checked against these rules (anything else is a 400 naming the field), identifiers are made by
 * the service from its own job ids, and strings are still single-quoted and escaped so that
 * neither Hive's parser, nor a statement splitter, nor variable substitution (${...}) can read
 * them as anything but a literal. */
#ifndef ANALYTICS_VALIDATE_H
#define ANALYTICS_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "gg_buf.h"

#define ANALYTICS_PATH_MAX 1024 /* bytes of an HDFS path */
#define ANALYTICS_WORD_MAX 64   /* bytes of a word */

/* An absolute HDFS path: '/' then [A-Za-z0-9._/-], at most ANALYTICS_PATH_MAX bytes, no empty,
 * "." or ".." segment. One trailing '/' is tolerated. why gets the reason on failure. */
bool analytics_valid_path(const char *s, char *why, size_t whylen);

/* Whether path is dir or below it (whole segments; a trailing '/' on either is ignored). */
bool analytics_path_below(const char *path, const char *dir);

/* A word under the tokenisation rule: 1 to ANALYTICS_WORD_MAX of [A-Za-z0-9'], neither starting
 * nor ending with an apostrophe (such a word can never be counted). */
bool analytics_valid_word(const char *s, char *why, size_t whylen);

/* A job id as the service makes them: YYYYMMDD-hhmmss-xxxxxxxx (8 lower-case hex digits). */
bool analytics_valid_job_id(const char *s);

/* Appends s as a HiveQL string literal: single quotes around it; a quote or backslash gets a
 * backslash; every other byte outside [A-Za-z0-9 ._/:-] becomes a \uXXXX escape, so no ';', '$',
 * '`', comment marker or control character appears in the statement text. Bytes >= 0x80 are
 * refused (returns false): validated input is ASCII. */
bool analytics_hiveql_quote(gg_buf *b, const char *s);

#endif
