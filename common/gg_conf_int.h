/* gg_conf_int: what gg_config.c (the loader) and gg_conf_check.c (the validators and address
 * parsers) share; not part of the interface. */
#ifndef GG_CONF_INT_H
#define GG_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "gg_config.h"
#include "gg_log.h"

/* Size of a reason buffer: the one the loader hands to a gg_conf_check, and the one a validator
 * hands to the parsers it calls before prefixing their reason with its own. */
#define GG_CONF_WHY_MAX 256

/* One slot per gg_conf_type; every member starts at offset 0, so a field is copied with memcpy
 * of its type's size whatever the type. */
typedef union gg_conf_value {
    char *s;
    long l;
    double d;
    bool b;
    gg_log_level lv;
} gg_conf_value;

/* Writes the reason into why when there is room and returns -1, so that validators can fail in one
 * statement. */
int gg_conf_why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses raw as a value of type t into v; 0, or -1 when raw is not exactly such a value. Shared so
 * that a Redis URL's database number obeys the same rules as an INT setting. */
int gg_conf_parse_typed(gg_conf_type t, const char *raw, gg_conf_value *v);

/* The variable of setting name: "redis-url" -> "GRIDGATE_REDIS_URL". */
void gg_conf_env_name(const char *name, char *buf, size_t len);

/* 0 when every GRIDGATE_* variable of envp is known (see gg_conf_load); else -1 and a reason
 * naming the first unknown variable and the closest known setting. */
int gg_conf_env_check_names(const gg_conf_opt *opts, size_t nopts, char **envp, char *why,
                            size_t whylen);

#endif
