/* gg_problem: the problem types (RFC 9457 "type", urn:gridgate:problem:<slug>) every gridgate
 * service answers with. One slug per kind of error, whichever service finds it, so a client
 * handles "malformed parameter" or "dependency down" once for the whole API; the detail (and
 * analytics' "field") says which parameter, member or dependency.
 *
 * Dependencies are named as /readyz names them: <dependency>-unavailable is an outage (503 with
 * Retry-After), <dependency>-error a dependency that answered wrongly (502). Handlers pass the
 * slug to gg_http_reply_problem; tests/integration/test_api_consistency.py checks that every slug
 * in the services' sources and answers is in this table. */
#ifndef GG_PROBLEM_H
#define GG_PROBLEM_H

#include <stddef.h>

typedef struct gg_problem_type {
    const char *slug;
    unsigned status;
    const char *meaning;
} gg_problem_type;

/* The whole vocabulary, in the order documented in api/README.md. */
const gg_problem_type *gg_problem_types(size_t *n);
/* The entry of slug, or NULL when it is not part of the vocabulary. */
const gg_problem_type *gg_problem_find(const char *slug);

#endif
