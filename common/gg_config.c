/* gg_config: table-driven configuration from flags and environment (see gg_config.h). The
 * validators and address parsers an option table refers to live in gg_conf_check.c. */
#include "gg_conf_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef GG_VERSION
#define GG_VERSION "unknown"
#endif

#define PROP_ENV_PREFIX "GRIDGATE_KAFKA_PROP_"
#define PROP_FLAG       "kafka-prop"
#define NAME_MAX_LEN    128

static const size_t type_sizes[] = {sizeof(char *), sizeof(long), sizeof(double), sizeof(bool),
                                    sizeof(gg_log_level)};
static const char *const type_metavars[] = {"TEXT", "INT", "NUMBER", "[BOOL]", "LEVEL"};
static const char *const type_expected[] = {"text", "an integer", "a finite number",
                                            "one of true/false, 1/0, yes/no, on/off",
                                            "one of debug, info, warn, error"};

/* Where a value came from, for the error message: operators fix the place they set it. */
static const char *const source_names[] = {"command line", "environment", "built-in default"};
enum { SRC_FLAG, SRC_ENV, SRC_DEFAULT };

static const struct {
    const char *word;
    bool value;
} bool_words[] = {{"true", true}, {"false", false}, {"1", true},  {"0", false},
                  {"yes", true},  {"no", false},    {"on", true}, {"off", false}};

typedef struct conf_ctx {
    const char *prog, *summary;
    const gg_conf_opt *opts;
    size_t nopts;
    FILE *out, *err;
    const char **flagval;   /* per option: the last value given on the command line */
    const char **flagprops; /* every --kafka-prop argument, "name=value" */
    size_t nflagprops;
    bool want_props;
    bool check_only; /* --check-config */
} conf_ctx;

/* Prints the one line a configuration mistake gets; returns the exit status it calls for. */
__attribute__((format(printf, 2, 3))) static int conf_error(const conf_ctx *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(c->err, "%s: ", c->prog);
    va_start(ap, fmt);
    vfprintf(c->err, fmt, ap);
    va_end(ap);
    fputc('\n', c->err);
    fflush(c->err);
    return GG_CONF_EXIT_USAGE;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* Quotes user text for a message: cut at 64 bytes, control characters shown as '?' so that a
 * stray newline cannot split the one-line error. */
static const char *quote(char *buf, size_t len, const char *s, size_t slen)
{
    size_t n = 0, max = slen > 64 ? 64 : slen;
    buf[n++] = '"';
    for (size_t i = 0; i < max && n + 6 < len; i++)
        buf[n++] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
    snprintf(buf + n, len - n, "%s\"", slen > max ? "..." : "");
    return buf;
}

/* ---- Kafka properties ------------------------------------------------------------------- */

static int props_set(gg_conf_props *p, const char *name, size_t namelen, const char *value)
{
    char *v = strdup(value), *n = NULL;
    gg_prop *items = NULL;
    for (size_t i = 0; v && i < p->count; i++) {
        if (strlen(p->items[i].name) == namelen && !memcmp(p->items[i].name, name, namelen)) {
            free((char *)p->items[i].value);
            p->items[i].value = v;
            return 0;
        }
    }
    if (v && (n = strndup(name, namelen)) &&
        (items = realloc(p->items, (p->count + 1) * sizeof(*items)))) {
        p->items = items;
        p->items[p->count++] = (gg_prop){n, v};
        return 0;
    }
    free(v);
    free(n);
    return -1;
}

const char *gg_conf_props_get(const gg_conf_props *kafka_props, const char *name)
{
    for (size_t i = 0; kafka_props && i < kafka_props->count; i++)
        if (strcmp(kafka_props->items[i].name, name) == 0)
            return kafka_props->items[i].value;
    return NULL;
}

/* Shells cannot export names with dots, so SASL_MECHANISM stands for sasl.mechanism; orchestrators
 * that can set GRIDGATE_KAFKA_PROP_sasl.mechanism get it verbatim. */
static size_t prop_name_from_env(const char *s, size_t len, char *buf, size_t buflen)
{
    bool verbatim = memchr(s, '.', len) != NULL;
    size_t n = 0;
    for (; n < len && n + 1 < buflen; n++)
        buf[n] = verbatim ? s[n] : s[n] == '_' ? '.' : (char)tolower((unsigned char)s[n]);
    buf[n] = '\0';
    return n;
}

static int collect_props(const conf_ctx *c, gg_conf_props *props, char **envp)
{
    size_t plen = strlen(PROP_ENV_PREFIX);
    char name[NAME_MAX_LEN];
    for (; envp && *envp; envp++) {
        const char *rest = *envp + plen, *eq;
        if (strncmp(*envp, PROP_ENV_PREFIX, plen) != 0 || !(eq = strchr(rest, '=')) || !eq[1])
            continue;
        if (eq == rest)
            return conf_error(c, PROP_ENV_PREFIX "<name> needs a librdkafka property name");
        size_t n = prop_name_from_env(rest, (size_t)(eq - rest), name, sizeof(name));
        if (props_set(props, name, n, eq + 1) != 0)
            return conf_error(c, "out of memory reading Kafka properties");
    }
    for (size_t i = 0; i < c->nflagprops; i++) {
        const char *p = c->flagprops[i], *eq = strchr(p, '=');
        if (props_set(props, p, (size_t)(eq - p), eq + 1) != 0)
            return conf_error(c, "out of memory reading Kafka properties");
    }
    return GG_CONF_OK;
}

/* ---- values ------------------------------------------------------------------------------ */

static int parse_bool(const char *s, bool *out)
{
    for (size_t i = 0; i < sizeof(bool_words) / sizeof(bool_words[0]); i++) {
        if (strcasecmp(s, bool_words[i].word) == 0) {
            *out = bool_words[i].value;
            return 0;
        }
    }
    return -1;
}

/* strtol/strtod skip leading blanks and stop at trailing junk; a setting must be exactly a
 * number, or "8080 " in a YAML file would pass silently. Strings are taken as they are. */
int gg_conf_parse_typed(gg_conf_type t, const char *raw, gg_conf_value *v)
{
    char *end = NULL;
    if (t == GG_CONF_STR)
        return 0;
    if (t == GG_CONF_BOOL)
        return parse_bool(raw, &v->b);
    if (t == GG_CONF_LOGLEVEL)
        return gg_log_level_parse(raw, &v->lv);
    if (!*raw || isspace((unsigned char)*raw))
        return -1;
    errno = 0;
    if (t == GG_CONF_INT)
        v->l = strtol(raw, &end, 10);
    else
        v->d = strtod(raw, &end);
    return (errno || *end || (t == GG_CONF_DOUBLE && !isfinite(v->d))) ? -1 : 0;
}

static bool out_of_range(const gg_conf_opt *o, const gg_conf_value *v)
{
    double x = o->type == GG_CONF_INT ? (double)v->l : v->d;
    return (o->type == GG_CONF_INT || o->type == GG_CONF_DOUBLE) && o->min < o->max &&
           (x < o->min || x > o->max);
}

/* Parses raw for o and stores it into settings; on failure stores nothing and explains. */
static int store_value(const gg_conf_opt *o, void *settings, const char *raw, char *why,
                       size_t whylen)
{
    char shown[96], reason[GG_CONF_WHY_MAX] = "";
    gg_conf_value v = {.lv = GG_LOG_INFO};
    bool secret = o->flags & GG_CONF_SECRET;
    if (secret)
        snprintf(shown, sizeof(shown), "the value");
    else
        quote(shown, sizeof(shown), raw, strlen(raw));

    if (gg_conf_parse_typed(o->type, raw, &v) != 0)
        return gg_conf_why_set(why, whylen, "%s is not %s", shown, type_expected[o->type]);
    if (out_of_range(o, &v))
        return gg_conf_why_set(why, whylen, "%s is out of range %.15g..%.15g", shown, o->min,
                               o->max);
    if (o->check && o->check(raw, reason, sizeof(reason)) != 0)
        return gg_conf_why_set(why, whylen, "%s%s%s", secret ? "" : shown, secret ? "" : ": ",
                               reason[0] ? reason : "rejected");
    if (o->type == GG_CONF_STR && !(v.s = strdup(raw)))
        return gg_conf_why_set(why, whylen, "out of memory");
    memcpy((char *)settings + o->offset, &v, type_sizes[o->type]);
    return 0;
}

static int apply_opts(const conf_ctx *c, void *settings, char **envp)
{
    char env[NAME_MAX_LEN], why[GG_CONF_WHY_MAX];
    if (gg_conf_env_check_names(c->opts, c->nopts, envp, why, sizeof(why)) != 0)
        return conf_error(c, "%s", why);
    for (size_t i = 0; i < c->nopts; i++) {
        const gg_conf_opt *o = &c->opts[i];
        const char *raw = c->flagval[i];
        int src = SRC_FLAG;
        gg_conf_env_name(o->name, env, sizeof(env));
        if (!raw) {
            raw = env_get(envp, env);
            src = SRC_ENV;
        }
        if (!raw || (src == SRC_ENV && !*raw)) {
            raw = o->def;
            src = SRC_DEFAULT;
        }
        if ((o->flags & GG_CONF_REQUIRED) && (!raw || !*raw))
            return conf_error(c, "--%s (env %s) is required but not set", o->name, env);
        if (raw && store_value(o, settings, raw, why, sizeof(why)) != 0)
            return conf_error(c, "invalid value for --%s (env %s) from the %s: %s", o->name, env,
                              source_names[src], why);
    }
    return GG_CONF_OK;
}

/* ---- command line ------------------------------------------------------------------------- */

static void print_opt_help(FILE *out, const gg_conf_opt *o)
{
    char env[NAME_MAX_LEN];
    gg_conf_env_name(o->name, env, sizeof(env));
    fprintf(out, "  --%s %s\n", o->name, type_metavars[o->type]);
    if (o->help)
        fprintf(out, "      %s\n", o->help);
    fprintf(out, "      env %s", env);
    if (o->flags & GG_CONF_SECRET)
        fputs("; secret", out);
    else if (o->def)
        fprintf(out, o->type == GG_CONF_STR ? "; default \"%s\"" : "; default %s", o->def);
    if ((o->type == GG_CONF_INT || o->type == GG_CONF_DOUBLE) && o->min < o->max)
        fprintf(out, "; range %.15g..%.15g", o->min, o->max);
    if (o->type == GG_CONF_LOGLEVEL)
        fprintf(out, "; %s", type_expected[o->type]);
    fputs(o->flags & GG_CONF_REQUIRED ? "; required\n" : "\n", out);
}

static void print_help(const conf_ctx *c)
{
    fprintf(c->out, "Usage: %s [OPTIONS]\n", c->prog);
    if (c->summary)
        fprintf(c->out, "%s\n", c->summary);
    fputs("\nEvery option can also be set with the environment variable shown; a flag wins over\n"
          "the environment, which wins over the default.\n\nOptions:\n",
          c->out);
    for (size_t i = 0; i < c->nopts; i++)
        print_opt_help(c->out, &c->opts[i]);
    if (c->want_props)
        fputs("  --" PROP_FLAG " NAME=VALUE\n"
              "      A librdkafka property such as security.protocol or sasl.mechanism;\n"
              "      repeatable. Values are never printed.\n"
              "      env " PROP_ENV_PREFIX "<name>, as " PROP_ENV_PREFIX "sasl.mechanism or\n"
              "      " PROP_ENV_PREFIX "SASL_MECHANISM\n",
              c->out);
    fputs("  --check-config\n      Validate every setting as a start would, print the verdict and\n"
          "      exit 0 (valid) or 2 (not), without starting anything or connecting anywhere.\n"
          "  --help\n      Print this help and exit.\n"
          "  --version\n      Print the version and exit.\n",
          c->out);
    fflush(c->out);
}

static const gg_conf_opt *find_opt(const conf_ctx *c, const char *name, size_t len, size_t *idx)
{
    for (*idx = 0; *idx < c->nopts; ++*idx) {
        const char *n = c->opts[*idx].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &c->opts[*idx];
    }
    return NULL;
}

static bool is_flag(const char *s, const char *name)
{
    return strncmp(s, "--", 2) == 0 && strcmp(s + 2, name) == 0;
}

/* Takes the value of the flag at argv[*i]: after '=', else the next argument. A bool flag alone
 * means true, so "--debug-http" reads naturally; it consumes the next argument only when that
 * is a bool word. A following "--x" is taken as a forgotten value rather than as the value. */
static const char *flag_value(int argc, char **argv, int *i, const char *eq, bool is_bool)
{
    bool ignored;
    if (eq)
        return eq + 1;
    if (is_bool && *i + 1 < argc && parse_bool(argv[*i + 1], &ignored) == 0)
        return argv[++*i];
    if (is_bool)
        return "true";
    if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)
        return NULL;
    return argv[++*i];
}

/* Reads the flag at argv[*i]; GG_CONF_OK, or the status to return. */
static int scan_flag(conf_ctx *c, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '='), *v;
    size_t len = eq ? (size_t)(eq - name) : strlen(name), idx;
    char env[NAME_MAX_LEN], q[96];
    if (c->want_props && len == strlen(PROP_FLAG) && memcmp(name, PROP_FLAG, len) == 0) {
        /* Never echoed: the argument may be sasl.password=... */
        if (!(v = flag_value(argc, argv, i, eq, false)) || !strchr(v, '=') || v[0] == '=')
            return conf_error(c, "--" PROP_FLAG " needs an argument of the form name=value");
        c->flagprops[c->nflagprops++] = v;
        return GG_CONF_OK;
    }
    const gg_conf_opt *o = find_opt(c, name, len, &idx);
    if (!o)
        return conf_error(c, "unknown option %s (see --help)",
                          quote(q, sizeof(q), argv[*i], (size_t)(name - argv[*i]) + len));
    gg_conf_env_name(o->name, env, sizeof(env));
    if (!(v = flag_value(argc, argv, i, eq, o->type == GG_CONF_BOOL)))
        return conf_error(c, "option --%s (env %s) needs a value", o->name, env);
    c->flagval[idx] = v;
    return GG_CONF_OK;
}

static int scan_args(conf_ctx *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (is_flag(a, "help") || strcmp(a, "-h") == 0) {
            print_help(c);
            return GG_CONF_EXIT_SUCCESS;
        }
        if (is_flag(a, "version")) {
            fprintf(c->out, "%s %s\n", c->prog, GG_VERSION);
            fflush(c->out);
            return GG_CONF_EXIT_SUCCESS;
        }
        if (is_flag(a, "check-config")) {
            c->check_only = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            const char *what = strcmp(a, "--") == 0 && i + 1 < argc ? argv[i + 1] : a;
            char q[96];
            return conf_error(c, "unexpected argument %s: settings are --name value flags",
                              quote(q, sizeof(q), what, strlen(what)));
        }
        if ((rc = scan_flag(c, argc, argv, &i)) != GG_CONF_OK)
            return rc;
    }
    return GG_CONF_OK;
}

/* Puts every field in its "unset" state so that gg_conf_free is safe whatever happens next. */
static void settings_reset(const gg_conf_opt *opts, size_t nopts, void *settings)
{
    for (size_t i = 0; i < nopts; i++) {
        gg_conf_value v = {.s = NULL};
        if (opts[i].type == GG_CONF_LOGLEVEL)
            v.lv = GG_LOG_INFO;
        memcpy((char *)settings + opts[i].offset, &v, type_sizes[opts[i].type]);
    }
}

int gg_conf_load(const char *prog, const char *summary, const gg_conf_opt *opts, size_t nopts,
                 void *settings, gg_conf_props *kafka_props, int argc, char **argv, char **envp,
                 FILE *out, FILE *err)
{
    conf_ctx c = {.prog = prog ? prog : "gridgate",
                  .summary = summary,
                  .opts = opts,
                  .nopts = nopts,
                  .out = out ? out : stdout,
                  .err = err ? err : stderr,
                  .want_props = kafka_props != NULL};
    int rc;

    settings_reset(opts, nopts, settings);
    if (kafka_props)
        *kafka_props = (gg_conf_props){NULL, 0};
    c.flagval = calloc(nopts + 1, sizeof(*c.flagval));
    c.flagprops = calloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof(*c.flagprops));
    if (!c.flagval || !c.flagprops)
        rc = conf_error(&c, "out of memory");
    else if ((rc = scan_args(&c, argc, argv)) == GG_CONF_OK &&
             (rc = apply_opts(&c, settings, envp ? envp : environ)) == GG_CONF_OK && kafka_props)
        rc = collect_props(&c, kafka_props, envp ? envp : environ);
    free(c.flagval);
    free(c.flagprops);
    if (rc != GG_CONF_OK)
        gg_conf_free(opts, nopts, settings, kafka_props);
    return rc == GG_CONF_OK && c.check_only ? GG_CONF_CHECK_ONLY : rc;
}

void gg_conf_free(const gg_conf_opt *opts, size_t nopts, void *settings, gg_conf_props *kafka_props)
{
    for (size_t i = 0; settings && i < nopts; i++) {
        char *s = NULL, *field = (char *)settings + opts[i].offset;
        if (opts[i].type != GG_CONF_STR)
            continue;
        memcpy(&s, field, sizeof(s));
        free(s);
        s = NULL;
        memcpy(field, &s, sizeof(s));
    }
    for (size_t i = 0; kafka_props && i < kafka_props->count; i++) {
        free((char *)kafka_props->items[i].name);
        free((char *)kafka_props->items[i].value);
    }
    if (kafka_props) {
        free(kafka_props->items);
        *kafka_props = (gg_conf_props){NULL, 0};
    }
}

/* ---- describe ----------------------------------------------------------------------------- */

static json_t *describe_value(const gg_conf_opt *o, const void *settings)
{
    gg_conf_value v = {.s = NULL};
    memcpy(&v, (const char *)settings + o->offset, type_sizes[o->type]);
    if (o->flags & GG_CONF_SECRET)
        return o->type == GG_CONF_STR && !v.s ? json_null() : json_string("***");
    switch (o->type) {
    case GG_CONF_STR:
        return v.s ? json_string(v.s) : json_null();
    case GG_CONF_INT:
        return json_integer((json_int_t)v.l);
    case GG_CONF_DOUBLE:
        return json_real(v.d);
    case GG_CONF_BOOL:
        return json_boolean(v.b);
    case GG_CONF_LOGLEVEL:
        return json_string(gg_log_level_name(v.lv));
    }
    return json_null();
}

json_t *gg_conf_describe(const gg_conf_opt *opts, size_t nopts, const void *settings)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < nopts; i++) {
        json_t *v = describe_value(&opts[i], settings);
        /* A string that is not UTF-8 cannot go into JSON; null beats losing the whole line. */
        json_object_set_new(obj, opts[i].name, v ? v : json_null());
    }
    return obj;
}

json_t *gg_conf_describe_props(const gg_conf_props *kafka_props)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && kafka_props && i < kafka_props->count; i++)
        json_object_set_new(obj, kafka_props->items[i].name, json_string("***"));
    return obj;
}
