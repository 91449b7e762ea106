/* gg_log: structured logging, one JSON object per line on stderr.
 *
 * Every line carries time, level, service and message, plus optional fields given as a jansson
 * pack format, so that log shippers never have to parse free text. A gg_log lives in the
 * service's context struct; there is no process-wide logger. */
#ifndef GG_LOG_H
#define GG_LOG_H

#include <pthread.h>
#include <stdio.h>

typedef enum gg_log_level {
    GG_LOG_DEBUG = 0,
    GG_LOG_INFO = 1,
    GG_LOG_WARN = 2,
    GG_LOG_ERROR = 3
} gg_log_level;

typedef struct gg_log {
    const char *service;
    gg_log_level level;
    FILE *out;
    pthread_mutex_t lock; /* keeps concurrent lines from interleaving */
} gg_log;

void gg_log_init(gg_log *log, const char *service, gg_log_level level, FILE *out);
void gg_log_destroy(gg_log *log);

/* Parses "debug", "info", "warn"/"warning" or "error". Returns 0 on success, -1 otherwise. */
int gg_log_level_parse(const char *s, gg_log_level *out);
const char *gg_log_level_name(gg_log_level level);

/* Logs msg with extra fields packed by jansson from fields_fmt (an object format such as
 * "{s:s, s:i}"), or none when fields_fmt is NULL. A bad format logs the message without fields
 * rather than losing the line. A NULL log is allowed and logs nothing. An event below the level
 * is not packed at all, so a json_t argument must be passed with "O" (the caller keeps and drops
 * its reference), never stolen with "o". */
void gg_log_event(gg_log *log, gg_log_level level, const char *msg, const char *fields_fmt, ...);

#define gg_debug(log, msg, ...) gg_log_event((log), GG_LOG_DEBUG, (msg), __VA_ARGS__)
#define gg_info(log, msg, ...)  gg_log_event((log), GG_LOG_INFO, (msg), __VA_ARGS__)
#define gg_warn(log, msg, ...)  gg_log_event((log), GG_LOG_WARN, (msg), __VA_ARGS__)
#define gg_error(log, msg, ...) gg_log_event((log), GG_LOG_ERROR, (msg), __VA_ARGS__)

#endif
