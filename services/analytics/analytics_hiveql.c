/* analytics_hiveql: word-count HiveQL (see analytics_hiveql.h). */
#include "analytics_hiveql.h"

#include <stdio.h>
#include <string.h>

#include "gg_buf.h"
#include "analytics_validate.h"

void analytics_hiveql_table(char *out, size_t outlen, const char *job_id)
{
    int n = snprintf(out, outlen, "gridgate_wc_%s", job_id);
    for (int i = 0; i < n && (size_t)i < outlen; i++)
        if (out[i] == '-')
            out[i] = '_';
}

bool analytics_hiveql_result_into(gg_buf *q, const char *dir)
{
    gg_buf_puts(q, "INSERT OVERWRITE DIRECTORY ");
    bool ok = analytics_hiveql_quote(q, dir);
    /* LazySimpleSerDe is Hive's default text SerDe; every property is spelled out so that no
     * site default can change the bytes: tab between fields, backslash escaping the separators
     * and itself, line breaks inside values written as \n and \r, NULL as \N. */
    gg_buf_puts(q, "\n  ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'\n"
                   "  WITH SERDEPROPERTIES ('field.delim'='\\t', 'escape.delim'='\\\\',\n"
                   "    'serialization.escape.crlf'='true', "
                   "'serialization.null.format'='\\\\N')\n"
                   "  STORED AS TEXTFILE\n");
    return ok;
}

/* CREATE EXTERNAL TABLE over the directory. One STRING column: the field delimiter is the line
 * terminator, so a whole line (whatever bytes it holds) lands in it. */
static bool emit_table(gg_buf *q, const analytics_wc_params *p, const char *table,
                       const char *prefix)
{
    gg_buf location = {0};
    gg_buf_puts(&location, prefix ? prefix : "");
    gg_buf_puts(&location, p->path);
    /* Every file below the directory, at any depth, whatever the engine's default. */
    gg_buf_puts(q, "SET hive.mapred.supports.subdirectories=true;\n"
                   "SET mapreduce.input.fileinputformat.input.dir.recursive=true;\n");
    gg_buf_printf(q, "DROP TABLE IF EXISTS %s;\n", table);
    gg_buf_printf(q,
                  "CREATE EXTERNAL TABLE %s (line STRING)\n"
                  "  ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\n'\n"
                  "  STORED AS TEXTFILE\n"
                  "  LOCATION ",
                  table);
    const char *loc = gg_buf_str(&location);
    bool ok = loc && analytics_hiveql_quote(q, loc);
    gg_buf_puts(q, ";\n");
    gg_buf_free(&location);
    return ok;
}

/* The counting query: tokens, then counts per word, then the tagged result rows. */
static bool emit_select(gg_buf *q, const analytics_wc_params *p, const char *table,
                        const char *result_dir)
{
    const char *lower_open = p->case_sensitive ? "" : "lower(";
    const char *lower_close = p->case_sensitive ? "" : ")";
    gg_buf_printf(q,
                  "WITH tokens AS (\n"
                  "  SELECT %sregexp_replace(w, '^\\'+|\\'+$', '')%s AS word\n"
                  "  FROM %s LATERAL VIEW explode(split(line, '[^A-Za-z0-9\\']+')) s AS w\n"
                  "), counts AS (\n"
                  "  SELECT word, count(*) AS n FROM tokens WHERE word <> '' GROUP BY word\n"
                  ")\n",
                  lower_open, lower_close, table);
    bool ok = analytics_hiveql_result_into(q, result_dir);
    gg_buf_printf(q,
                  "SELECT kind, word, n FROM (\n"
                  "  SELECT 'top' AS kind, word, n FROM (\n"
                  "    SELECT word, n FROM counts ORDER BY n DESC, word ASC LIMIT %ld\n"
                  "  ) t\n",
                  p->top);
    if (p->nwords) {
        gg_buf_puts(q, "  UNION ALL\n"
                       "  SELECT 'word' AS kind, word, n FROM counts WHERE word IN (");
        for (size_t i = 0; i < p->nwords && ok; i++) {
            if (i)
                gg_buf_puts(q, ", ");
            ok = analytics_hiveql_quote(q, p->words[i]);
        }
        gg_buf_puts(q, ")\n");
    }
    gg_buf_puts(q, ") r ORDER BY kind ASC, n DESC, word ASC;\n");
    return ok;
}

char *analytics_hiveql_wordcount(const analytics_wc_params *p, const char *table,
                                 const char *location_prefix, const char *result_dir)
{
    gg_buf q = {0};
    bool ok = emit_table(&q, p, table, location_prefix) && emit_select(&q, p, table, result_dir);
    gg_buf_printf(&q, "DROP TABLE %s;\n", table);
    if (!ok) {
        gg_buf_free(&q);
        return NULL;
    }
    return gg_buf_take(&q, NULL);
}
