/* Building blocks of test messages for the gg_record tests: a valid reading in both payload
 * forms, and macros that swap one field for another text. Unknown fields x1.. stand in for
 * omitted ones, since the parser ignores them. */
#ifndef TEST_RECORD_MESSAGES_H
#define TEST_RECORD_MESSAGES_H

#include <string.h>

#include "gg_record.h"

#define MSG_LEN 256

#define UUID             "906f764e-4cc5-4d3b-9d3e-2f1a8b0f9c11"
#define F_SID            "\"sensor_id\": 3"
#define F_MOD            "\"modality\": 421"
#define F_UNIT           "\"unit\": \"MW\""
#define F_ASP            "\"temporal_aspect\": \"real_time\""
#define F_CID            "\"correlation_id\": \"" UUID "\""
#define F_CAT            "\"created_at\": 1764000000.001471"
#define F_SV             "\"schema_version\": 1"
#define OBJ4(a, b, c, d) "{" a ", " b ", " c ", " d "}"
#define PAYLOAD          OBJ4(F_SID, F_MOD, F_UNIT, F_ASP)
#define F_PAY            "\"payload\": " PAYLOAD
#define ENV_P(pv)        OBJ4("\"payload\": " pv, F_CID, F_CAT, F_SV)
#define ENV_CID(f)       OBJ4(F_PAY, f, F_CAT, F_SV)
#define ENV_CAT(f)       OBJ4(F_PAY, F_CID, f, F_SV)
#define ENV_SV(f)        OBJ4(F_PAY, F_CID, F_CAT, f)
#define PAY_SID(f)       ENV_P(OBJ4(f, F_MOD, F_UNIT, F_ASP))
#define PAY_MOD(f)       ENV_P(OBJ4(F_SID, f, F_UNIT, F_ASP))
#define PAY_UNIT(f)      ENV_P(OBJ4(F_SID, F_MOD, f, F_ASP))
#define PAY_ASP(f)       ENV_P(OBJ4(F_SID, F_MOD, F_UNIT, f))
#define BASE             ENV_P(PAYLOAD)
/* The reference producer's form: the payload object as a JSON string. */
#define BASE_STRING                                                                                \
    ENV_P("\"{\\\"sensor_id\\\": 3, \\\"modality\\\": 421, \\\"unit\\\": \\\"MW\\\", "             \
          "\\\"temporal_aspect\\\": \\\"real_time\\\"}\"")
#define ID65   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define S(lit) lit, sizeof(lit) - 1

/* Parses a NUL-terminated test value with a NUL-terminated key (or none) and no size limit. */
static inline gg_record_reason parse_text(const char *key, const char *value, gg_record *out,
                                          char *msg)
{
    return gg_record_parse(key, key ? strlen(key) : 0, value, strlen(value), 0, out, msg, MSG_LEN);
}

#endif
