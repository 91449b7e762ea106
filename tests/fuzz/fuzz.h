/* fuzz: what every libFuzzer target of tests/fuzz shares: the entry points (declared here so that
 * -Wmissing-prototypes holds) and a check that turns a broken property into a crash, which is how
 * libFuzzer learns that an input is interesting beyond the sanitizers' own findings. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated copy of the input (the parsers under test take C strings); never NULL. */
char *fuzz_strndup(const uint8_t *data, size_t size);

#endif
