/* gg_config: command-line and environment configuration for every gridgate service.
 *
 * Each service describes its settings once, in a static table of gg_conf_opt; the loader fills
 * the service's own settings struct from it. Every setting NAME is read from the environment
 * variable GRIDGATE_<NAME> (upper case, '-' becomes '_') and from the flag --<name>; a flag wins
 * over the environment, which wins over the table's default. An environment variable set to the
 * empty string counts as unset, so that templated deployments can leave a value blank.
 *
 * Containers are configured through the environment and operators poke at them with flags, so
 * both must behave the same and any mistake must stop the service at start-up with one message
 * that names the setting both ways, instead of surfacing later as a confusing runtime failure.
 *
 * Secrets (GG_CONF_SECRET) and Kafka pass-through properties are never echoed: not in --help,
 * not in error messages, not in gg_conf_describe(). */
#ifndef GG_CONFIG_H
#define GG_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

typedef enum gg_conf_type {
    GG_CONF_STR,     /* char *, malloc'd and owned by the settings struct; NULL when unset */
    GG_CONF_INT,     /* long */
    GG_CONF_DOUBLE,  /* double, finite */
    GG_CONF_BOOL,    /* bool: true/false, 1/0, yes/no, on/off */
    GG_CONF_LOGLEVEL /* gg_log_level: debug, info, warn, error */
} gg_conf_type;

/* Extra validation of a value's text. Returns 0 when the value is fine; otherwise writes a short
 * reason (which must not quote the value: it may be a secret) into why and returns -1. */
typedef int (*gg_conf_check)(const char *value, char *why, size_t whylen);

#define GG_CONF_SECRET   (1u << 0) /* never echoed; shown as "***" by gg_conf_describe */
#define GG_CONF_REQUIRED (1u << 1) /* must end up set and non-empty */

typedef struct gg_conf_opt {
    const char *name; /* "kafka-brokers": flag --kafka-brokers, env GRIDGATE_KAFKA_BROKERS */
    gg_conf_type type;
    size_t offset;       /* offsetof() of the field in the caller's settings struct */
    const char *def;     /* default as text; NULL means unset (0, false, info, or NULL) */
    const char *help;    /* one line for --help */
    double min, max;     /* inclusive range for INT and DOUBLE, checked when min < max */
    gg_conf_check check; /* run on the raw text of any type when set, may be NULL */
    unsigned flags;      /* GG_CONF_SECRET, GG_CONF_REQUIRED */
} gg_conf_opt;

/* A property passed through untouched, e.g. the librdkafka one {"security.protocol", "SASL_SSL"}:
 * one type whether it comes from the configuration (gg_conf_props owns the strings then) or from
 * code (gg_kafka_conf.props). */
typedef struct gg_prop {
    const char *name;
    const char *value;
} gg_prop;

typedef struct gg_conf_props {
    gg_prop *items;
    size_t count;
} gg_conf_props;

enum {
    GG_CONF_OK = 0,
    GG_CONF_EXIT_SUCCESS = 1, /* --help, --version or a --check-config verdict printed: exit(0) */
    GG_CONF_EXIT_USAGE = 2,   /* bad configuration, message printed: exit(2) */
    GG_CONF_CHECK_ONLY = 3    /* gg_conf_load only: loaded, and --check-config was given */
};

/* Fills settings from opts, the environment and argv, in that order of rising precedence.
 * envp is a NULL-terminated "NAME=value" array; NULL means the process environment.
 * kafka_props, when not NULL, collects every GRIDGATE_KAFKA_PROP_<x>=value variable and every
 * --kafka-prop name=value flag (a flag wins over a variable of the same name). In the variable's
 * name, an <x> containing '.' is taken verbatim (GRIDGATE_KAFKA_PROP_security.protocol), any
 * other is lower-cased with '_' turned into '.' (GRIDGATE_KAFKA_PROP_SASL_MECHANISM).
 * Help and version text go to out; the single error message goes to err.
 *
 * Every GRIDGATE_* variable of envp must be a setting of opts, a setting of another gridgate
 * service (gg_conf_known_settings) or a GRIDGATE_KAFKA_PROP_<x>; any other is a usage error that
 * names the closest known setting (shared env files hand every service every setting, but a name
 * no service reads is a typo that would leave a default silently in force).
 *
 * Returns GG_CONF_OK, GG_CONF_EXIT_SUCCESS or GG_CONF_EXIT_USAGE, or GG_CONF_CHECK_ONLY when
 * everything loaded and --check-config was given (see gg_conf_startup). settings is overwritten,
 * never read; after GG_CONF_EXIT_SUCCESS or GG_CONF_EXIT_USAGE nothing is left allocated. Call
 * gg_conf_free() after GG_CONF_OK or GG_CONF_CHECK_ONLY (calling it in any case is safe). */
int gg_conf_load(const char *prog, const char *summary, const gg_conf_opt *opts, size_t nopts,
                 void *settings, gg_conf_props *kafka_props, int argc, char **argv, char **envp,
                 FILE *out, FILE *err);

/* A service's start-up checks beyond single values: what depends on several settings, and what
 * only a client library can judge (librdkafka's properties). Returns 0, or -1 with a one-line
 * reason in why that names the settings involved and quotes no secret. */
typedef int (*gg_conf_validate_fn)(const void *settings, const gg_conf_props *kafka_props,
                                   char *why, size_t whylen);

typedef struct gg_conf_spec {
    const char *prog;    /* "gridgate-cache" */
    const char *summary; /* first line of --help */
    const gg_conf_opt *opts;
    size_t nopts;
    gg_conf_validate_fn validate; /* may be NULL */
} gg_conf_spec;

/* The configuration step of every service's main: gg_conf_load, then spec->validate, so that a
 * bad configuration stops the service with status 2 before anything starts. With --check-config
 * it stops there in any case: it prints a one-line verdict ("<prog>: configuration OK" on out,
 * or the error on err), connects nowhere, and returns GG_CONF_EXIT_SUCCESS or
 * GG_CONF_EXIT_USAGE. kafka_props is NULL for a service without Kafka. Returns GG_CONF_OK when
 * the service should start (free settings with gg_conf_free later); otherwise nothing is left
 * allocated and gg_conf_exit_status() gives the process exit status. */
int gg_conf_startup(const gg_conf_spec *spec, void *settings, gg_conf_props *kafka_props, int argc,
                    char **argv, char **envp, FILE *out, FILE *err);

/* The process exit status of a gg_conf_startup result other than GG_CONF_OK: 0 or 2. */
int gg_conf_exit_status(int rc);

/* Every setting name that some gridgate service reads ("redis-url"), README.md's table. */
const char *const *gg_conf_known_settings(size_t *n);

/* Frees the strings of settings and every kafka property; either pointer may be NULL. */
void gg_conf_free(const gg_conf_opt *opts, size_t nopts, void *settings,
                  gg_conf_props *kafka_props);

/* The effective settings as a JSON object keyed by option name, for a start-up log line.
 * Secrets that are set read "***"; unset strings are null. Caller owns the reference. */
json_t *gg_conf_describe(const gg_conf_opt *opts, size_t nopts, const void *settings);

/* The names of the Kafka properties, each mapped to "***": values may hold credentials. */
json_t *gg_conf_describe_props(const gg_conf_props *kafka_props);

/* The value of the Kafka property name, or NULL. */
const char *gg_conf_props_get(const gg_conf_props *kafka_props, const char *name);

/* Validators for option tables. None of them quotes the value in why. */
int gg_conf_check_nonempty(const char *value, char *why, size_t whylen);
/* An address to listen on, "host:port" with port 0..65535 (0: the system picks a free port):
 * "localhost:80", "0.0.0.0:8080", "[::1]:8080". */
int gg_conf_check_hostport(const char *value, char *why, size_t whylen);
/* Comma-separated host:port entries (port 1..65535), each optionally behind a librdkafka
 * "PROTOCOL://". */
int gg_conf_check_broker_list(const char *value, char *why, size_t whylen);
/* "redis://[[user]:password@]host[:port][/db]" (port 1..65535) or "unix:///path/to.sock". */
int gg_conf_check_redis_url(const char *value, char *why, size_t whylen);
/* An http:// or https:// URL with a host. */
int gg_conf_check_http_url(const char *value, char *why, size_t whylen);
/* Anything libmongoc accepts as a connection string. */
int gg_conf_check_mongo_uri(const char *value, char *why, size_t whylen);
/* The Kafka pass-through properties as librdkafka's rd_kafka_conf_set takes them, with brokers
 * as bootstrap.servers; no client is made, nothing connects. */
int gg_conf_check_kafka(const char *brokers, const gg_conf_props *kafka_props, char *why,
                        size_t whylen);

/* Splits "host:port" or "[v6addr]:port" (brackets dropped) as gg_conf_check_hostport accepts
 * it. Returns 0, or -1 when s is malformed or the host does not fit in hostlen bytes. */
int gg_conf_split_hostport(const char *s, char *host, size_t hostlen, unsigned short *port);

typedef struct gg_conf_redis_url {
    char host[256];      /* empty for a unix socket */
    int port;            /* 6379 unless given */
    int db;              /* 0 unless given */
    char user[256];      /* Redis 6 ACL user, empty when absent; percent-decoded */
    char password[256];  /* empty when absent; percent-decoded */
    char unix_path[256]; /* set for unix:// URLs only */
} gg_conf_redis_url;

/* Parses a URL accepted by gg_conf_check_redis_url. Returns 0, or -1 when it is malformed. */
int gg_conf_parse_redis_url(const char *s, gg_conf_redis_url *out);

#endif
