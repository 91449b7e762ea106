/* Loads tests/stack/env (the "export NAME=value" lines written by tests/stack/up) into the
 * environment, so integration tests find the servers however ctest was started. Variables
 * already set win, so a developer can point a test at other servers. */
#ifndef TEST_STACK_ENV_H
#define TEST_STACK_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int stack_env_load(void)
{
    FILE *f = fopen(GG_SOURCE_DIR "/tests/stack/env", "r");
    if (!f) {
        fprintf(stderr, "tests/stack/env is missing: run tests/stack/up first\n");
        return -1;
    }
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        char *p = line;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        char *eq = strchr(p, '=');
        if (!eq || *p == '#')
            continue;
        *eq = '\0';
        char *v = eq + 1;
        v[strcspn(v, "\r\n")] = '\0';
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = '\0';
            v++;
        }
        setenv(p, v, 0);
    }
    fclose(f);
    return 0;
}

/* The variable's value, failing the test run (not skipping) when the stack did not provide it. */
static inline const char *stack_env_need(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set: the stack did not start that server\n", name);
        exit(1);
    }
    return v;
}

#endif
