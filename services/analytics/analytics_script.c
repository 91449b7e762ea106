/* analytics_script: the script of a raw HiveQL job (see analytics_script.h). */
#include "analytics_script.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "gg_buf.h"
#include "analytics_hiveql.h"

typedef struct scanner {
    const char *s;
    size_t i, n;
} scanner;

/* Skips a comment or a quoted string at the cursor; false when there is none. */
static bool skip_quiet(scanner *sc)
{
    const char *s = sc->s;
    size_t i = sc->i;
    if (s[i] == '-' && i + 1 < sc->n && s[i + 1] == '-') {
        while (sc->i < sc->n && s[sc->i] != '\n')
            sc->i++;
        return true;
    }
    if (s[i] == '/' && i + 1 < sc->n && s[i + 1] == '*') {
        const char *close = strstr(s + i + 2, "*/");
        sc->i = close ? (size_t)(close - s) + 2 : sc->n;
        return true;
    }
    return false;
}

static void skip_quoted(scanner *sc)
{
    char q = sc->s[sc->i++];
    while (sc->i < sc->n && sc->s[sc->i] != q) {
        if (sc->s[sc->i] == '\\' && q != '`' && sc->i + 1 < sc->n)
            sc->i++;
        sc->i++;
    }
    if (sc->i < sc->n)
        sc->i++; /* the closing quote */
}

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The statement being read. */
typedef struct stmt {
    bool any;
    analytics_script_last at;
    int depth;
    size_t words;      /* top-level words seen */
    bool create;       /* its first word is CREATE */
    bool temporary;    /* CREATE TEMPORARY ... (a table, function or macro of the session) */
    bool first_query;  /* its first word is SELECT or WITH */
    bool verb_seen;    /* a top-level SELECT, INSERT, ... after which the verb is known */
    bool select_first; /* that verb is SELECT */
} stmt;

static void on_word(stmt *st, const char *w, size_t len, size_t at)
{
    if (st->depth != 0)
        return;
    bool select = len == 6 && strncasecmp(w, "select", 6) == 0;
    if (st->words == 0)
        st->create = len == 6 && strncasecmp(w, "create", 6) == 0;
    if (st->words == 1)
        st->temporary = st->create && len == 9 && strncasecmp(w, "temporary", 9) == 0;
    if (st->words++ == 0)
        st->first_query = select || (len == 4 && strncasecmp(w, "with", 4) == 0);
    static const char *const verbs[] = {"select", "insert", "update", "delete", "merge", "from"};
    for (size_t k = 0; !st->verb_seen && k < sizeof(verbs) / sizeof(verbs[0]); k++) {
        if (len == strlen(verbs[k]) && strncasecmp(w, verbs[k], len) == 0) {
            st->verb_seen = true;
            st->select_first = select;
            st->at.select_at = at;
        }
    }
}

bool analytics_script_scan(const char *text, analytics_script_last *out)
{
    scanner sc = {text, 0, strlen(text)};
    stmt st = {0}, last = {0};
    bool temporary = false;
    while (sc.i <= sc.n) {
        if (sc.i == sc.n || text[sc.i] == ';') {
            if (st.any) {
                temporary |= last.temporary;
                last = st;
            }
            memset(&st, 0, sizeof(st));
            sc.i++;
            continue;
        }
        char c = text[sc.i];
        if (isspace((unsigned char)c) || skip_quiet(&sc)) {
            if (isspace((unsigned char)c))
                sc.i++;
            continue;
        }
        size_t from = sc.i;
        if (!st.any) {
            st.any = true;
            st.at.start = from;
        }
        if (c == '\'' || c == '"' || c == '`') {
            skip_quoted(&sc);
        } else if (word_char(c)) {
            while (sc.i < sc.n && word_char(text[sc.i]))
                sc.i++;
            on_word(&st, text + from, sc.i - from, from);
        } else {
            st.depth += c == '(' ? 1 : c == ')' ? -1 : 0;
            sc.i++;
        }
        st.at.end = sc.i;
    }
    if (!last.any)
        return false;
    *out = last.at;
    out->is_query = last.first_query && last.verb_seen && last.select_first;
    out->temporary_before = temporary;
    return true;
}

char *analytics_script_query(const char *text, const char *view, const char *result_dir, bool *oom)
{
    analytics_script_last l;
    *oom = false;
    if (!analytics_script_scan(text, &l) || !l.is_query)
        return NULL;
    int qlen = (int)(l.end - l.start), head = (int)(l.select_at - l.start);
    const char *q = text + l.start;
    gg_buf b = {0};
    gg_buf_append(&b, text, l.start);
    if (l.start && text[l.start - 1] != '\n')
        gg_buf_puts(&b, "\n");
    /* Hive refuses a view over the session's temporary tables and functions: such a result
     * keeps its shape, without names. */
    if (!l.temporary_before)
        gg_buf_printf(&b,
                      "-- gridgate: the result's column names, as Hive describes them\n"
                      "DROP VIEW IF EXISTS %s;\n"
                      "CREATE VIEW %s AS\n%.*s;\n"
                      "SET hive.ddl.output.format=json;\n"
                      "DESCRIBE %s;\n"
                      "DROP VIEW %s;\n",
                      view, view, qlen, q, view, view);
    gg_buf_printf(&b, "-- gridgate: the result's rows, as files\n%.*s", head, q);
    bool ok = analytics_hiveql_result_into(&b, result_dir);
    gg_buf_printf(&b, "%.*s;\n", qlen - head, q + head);
    if (!ok || b.failed) {
        *oom = b.failed;
        gg_buf_free(&b);
        return NULL;
    }
    return gg_buf_take(&b, NULL);
}

json_t *analytics_script_columns(const char *line, size_t len)
{
    const char *open = memchr(line, '{', len);
    const char *close = NULL;
    for (const char *p = line + len; p > line && !close; p--)
        if (p[-1] == '}')
            close = p;
    if (!open || !close || close <= open)
        return NULL;
    json_t *doc = json_loadb(open, (size_t)(close - open), 0, NULL);
    json_t *cols = json_object_get(doc, "columns");
    json_t *out = json_is_array(cols) ? json_array() : NULL;
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        if (!name || !type) {
            json_decref(out);
            out = NULL;
            break;
        }
        json_array_append_new(out, json_pack("{s:s, s:s}", "name", name, "type", type));
    }
    json_decref(doc);
    return out;
}
