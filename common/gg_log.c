/* gg_log: structured JSON-lines logging (see gg_log.h). */
#include "gg_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gg_log_init(gg_log *log, const char *service, gg_log_level level, FILE *out)
{
    log->service = service;
    log->level = level;
    log->out = out ? out : stderr;
    pthread_mutex_init(&log->lock, NULL);
}

void gg_log_destroy(gg_log *log)
{
    pthread_mutex_destroy(&log->lock);
}

int gg_log_level_parse(const char *s, gg_log_level *out)
{
    if (!s)
        return -1;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (gg_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = GG_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *gg_log_level_name(gg_log_level level)
{
    return (level >= GG_LOG_DEBUG && level <= GG_LOG_ERROR) ? level_names[level] : "info";
}

/* RFC 3339 UTC with microseconds: sortable and unambiguous across time zones. */
static void format_now(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%06ldZ", ts.tv_nsec / 1000);
}

void gg_log_event(gg_log *log, gg_log_level level, const char *msg, const char *fields_fmt, ...)
{
    if (!log || level < log->level)
        return;
    char now[40];
    format_now(now, sizeof(now));
    json_t *line =
        json_pack("{s:s, s:s, s:s, s:s}", "time", now, "level", gg_log_level_name(level), "service",
                  log->service ? log->service : "", "message", msg ? msg : "");
    if (!line)
        return;
    if (fields_fmt) {
        va_list ap;
        va_start(ap, fields_fmt);
        json_error_t err;
        json_t *fields = json_vpack_ex(&err, 0, fields_fmt, ap);
        va_end(ap);
        if (json_is_object(fields))
            json_object_update_missing(line, fields);
        json_decref(fields);
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return;
    pthread_mutex_lock(&log->lock);
    fputs(text, log->out);
    fputc('\n', log->out);
    fflush(log->out);
    pthread_mutex_unlock(&log->lock);
    free(text);
}
