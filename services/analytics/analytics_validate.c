/* analytics_validate: strict input rules and HiveQL quoting (see analytics_validate.h). */
#include "analytics_validate.h"

#include <stdio.h>
#include <string.h>

static bool alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool fail(char *why, size_t whylen, const char *reason)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", reason);
    return false;
}

bool analytics_valid_path(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '/')
        n--; /* "/data/text/" names the same directory as "/data/text" */
    if (n < 2 || s[0] != '/')
        return fail(why, whylen, "must be an absolute HDFS path below /");
    if (n > ANALYTICS_PATH_MAX)
        return fail(why, whylen, "is longer than 1024 bytes");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!alnum(c) && c != '.' && c != '_' && c != '/' && c != '-')
            return fail(why, whylen, "may only contain A-Z a-z 0-9 . _ - and /");
    }
    for (size_t i = 0; i < n;) { /* every segment between slashes */
        size_t j = i + 1;
        while (j < n && s[j] != '/')
            j++;
        size_t len = j - i - 1;
        if (len == 0)
            return fail(why, whylen, "has an empty segment (//)");
        if ((len == 1 && s[i + 1] == '.') || (len == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
            return fail(why, whylen, "may not contain . or .. segments");
        i = j;
    }
    return true;
}

bool analytics_valid_word(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    if (n == 0 || n > ANALYTICS_WORD_MAX)
        return fail(why, whylen, "must be 1 to 64 characters");
    for (size_t i = 0; i < n; i++)
        if (!alnum((unsigned char)s[i]) && s[i] != '\'')
            return fail(why, whylen, "may only contain A-Z a-z 0-9 and '");
    if (s[0] == '\'' || s[n - 1] == '\'')
        return fail(why, whylen, "may not start or end with ' (the tokeniser strips those)");
    return true;
}

bool analytics_valid_job_id(const char *s)
{
    static const char shape[] = "dddddddd-dddddd-xxxxxxxx";
    if (strlen(s) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        char c = s[i];
        bool ok = shape[i] == '-'   ? c == '-'
                  : shape[i] == 'd' ? (c >= '0' && c <= '9')
                                    : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        if (!ok)
            return false;
    }
    return true;
}

bool analytics_hiveql_quote(gg_buf *b, const char *s)
{
    gg_buf_append(b, "'", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c >= 0x80)
            return false;
        if (alnum(c) || c == ' ' || c == '.' || c == '_' || c == '/' || c == ':' || c == '-')
            gg_buf_append(b, (const char *)p, 1);
        else if (c == '\'' || c == '\\')
            gg_buf_printf(b, "\\%c", c);
        else
            gg_buf_printf(b, "\\u%04X", c);
    }
    gg_buf_append(b, "'", 1);
    return true;
}

static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    return n;
}

bool analytics_path_below(const char *path, const char *dir)
{
    size_t np = trimmed_len(path), nd = trimmed_len(dir);
    if (nd == 1 && dir[0] == '/')
        return path[0] == '/';
    return np >= nd && strncmp(path, dir, nd) == 0 && (np == nd || path[nd] == '/');
}
