/* gg_problem: the one table of problem types (see gg_problem.h). tests/integration reads this
 * table to check every service's answers against it, so keep one entry per line. */
#include "gg_problem.h"

#include <string.h>

static const gg_problem_type types[] = {
    /* clang-format off */
    {"invalid-parameter", 400, "a path or query parameter is malformed, not taken by the resource, or given twice"},
    {"invalid-json", 400, "the body is not JSON"},
    {"invalid-body", 400, "the body is JSON but not what the operation takes"},
    {"unauthorized", 401, "the bearer token is missing or wrong"},
    {"forbidden", 403, "the operation is switched off: the service has no token for it"},
    {"not-found", 404, "no such path, or no such station, reading or job"},
    {"method-not-allowed", 405, "the path does not take this method; Allow lists those it takes"},
    {"conflict", 409, "the resource is not in a state that allows the operation"},
    {"payload-too-large", 413, "the body exceeds GRIDGATE_MAX_BODY"},
    {"unsupported-media-type", 415, "the body is not application/json"},
    {"invalid-text", 422, "a string in the body holds the NUL character (\\u0000), which JSON allows but no field takes"},
    {"input-not-found", 422, "a word count's input directory does not exist"},
    {"input-not-directory", 422, "a word count's input is not a directory"},
    {"input-too-large", 422, "a word count's input holds too many directories"},
    {"internal", 500, "a defect or resource exhaustion in the service"},
    {"mongodb-error", 502, "MongoDB refused the operation"},
    {"redis-error", 502, "Redis answered with an error"},
    {"webhcat-error", 502, "WebHCat answered wrongly"},
    {"webhdfs-error", 502, "WebHDFS answered wrongly"},
    {"mongodb-unavailable", 503, "MongoDB cannot be reached"},
    {"kafka-unavailable", 503, "Kafka acknowledged nothing in time"},
    {"redis-unavailable", 503, "Redis cannot be reached"},
    {"webhcat-unavailable", 503, "WebHCat cannot be reached"},
    {"webhdfs-unavailable", 503, "WebHDFS cannot be reached"},
    {"overloaded", 503, "Too many requests wait for this route's backend"},
    {"too-many-streams", 503, "GRIDGATE_STREAM_MAX event streams are open on this replica"},
    /* clang-format on */
};

const gg_problem_type *gg_problem_types(size_t *n)
{
    *n = sizeof(types) / sizeof(types[0]);
    return types;
}

const gg_problem_type *gg_problem_find(const char *slug)
{
    for (size_t i = 0; slug && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i].slug, slug) == 0)
            return &types[i];
    return NULL;
}
