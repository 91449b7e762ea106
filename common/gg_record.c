/* gg_record: the reading parser. The rules are documented in gg_record.h. */
#include "gg_record.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const gg_record_reason_codes[GG_RECORD_REASON_COUNT] = {
    [GG_RECORD_OK] = "ok",
    [GG_RECORD_EMPTY_VALUE] = "empty_value",
    [GG_RECORD_VALUE_TOO_LARGE] = "value_too_large",
    [GG_RECORD_NUL_BYTE] = "nul_byte",
    [GG_RECORD_INVALID_UTF8] = "invalid_utf8",
    [GG_RECORD_MALFORMED_JSON] = "malformed_json",
    [GG_RECORD_DUPLICATE_KEY] = "duplicate_key",
    [GG_RECORD_NUMBER_OUT_OF_RANGE] = "number_out_of_range",
    [GG_RECORD_VALUE_NOT_OBJECT] = "value_not_object",
    [GG_RECORD_SCHEMA_VERSION_BAD_TYPE] = "schema_version_bad_type",
    [GG_RECORD_SCHEMA_VERSION_UNSUPPORTED] = "unsupported_schema_version",
    [GG_RECORD_PAYLOAD_MISSING] = "payload_missing",
    [GG_RECORD_PAYLOAD_BAD_TYPE] = "payload_bad_type",
    [GG_RECORD_PAYLOAD_BAD_JSON] = "payload_bad_json",
    [GG_RECORD_PAYLOAD_NOT_OBJECT] = "payload_not_object",
    [GG_RECORD_KEY_INVALID] = "key_invalid",
    [GG_RECORD_KEY_MISMATCH] = "key_mismatch",
    [GG_RECORD_SENSOR_ID_MISSING] = "sensor_id_missing",
    [GG_RECORD_SENSOR_ID_BAD_TYPE] = "sensor_id_bad_type",
    [GG_RECORD_SENSOR_ID_INVALID] = "sensor_id_invalid",
    [GG_RECORD_MODALITY_MISSING] = "modality_missing",
    [GG_RECORD_MODALITY_BAD_TYPE] = "modality_bad_type",
    [GG_RECORD_UNIT_BAD_TYPE] = "unit_bad_type",
    [GG_RECORD_UNIT_INVALID] = "unit_invalid",
    [GG_RECORD_ASPECT_MISSING] = "temporal_aspect_missing",
    [GG_RECORD_ASPECT_BAD_TYPE] = "temporal_aspect_bad_type",
    [GG_RECORD_ASPECT_INVALID] = "temporal_aspect_invalid",
    [GG_RECORD_CREATED_AT_MISSING] = "created_at_missing",
    [GG_RECORD_CREATED_AT_BAD_TYPE] = "created_at_bad_type",
    [GG_RECORD_CREATED_AT_OUT_OF_RANGE] = "created_at_out_of_range",
    [GG_RECORD_CORRELATION_ID_BAD_TYPE] = "correlation_id_bad_type",
    [GG_RECORD_CORRELATION_ID_INVALID] = "correlation_id_invalid",
};

static const char *const gg_aspect_names[] = {
    [GG_ASPECT_REAL_TIME] = "real_time",
    [GG_ASPECT_EDGE_PREDICTION] = "edge_prediction",
};

#define GG_ASPECT_COUNT (sizeof(gg_aspect_names) / sizeof(gg_aspect_names[0]))

/* The caller's message buffer. Checks stop at the first failure, so it is written at most once. */
typedef struct gg_record_err {
    char *msg;
    size_t msglen;
} gg_record_err;

__attribute__((format(printf, 3, 4))) static gg_record_reason
gg_record_fail(gg_record_err *err, gg_record_reason r, const char *fmt, ...)
{
    va_list ap;

    if (err->msg && err->msglen > 0) {
        va_start(ap, fmt);
        vsnprintf(err->msg, err->msglen, fmt, ap);
        va_end(ap);
    }
    return r;
}

const char *gg_record_reason_code(gg_record_reason r)
{
    if ((unsigned)r >= GG_RECORD_REASON_COUNT)
        return "unknown";
    return gg_record_reason_codes[r];
}

const char *gg_aspect_name(gg_aspect a)
{
    if ((unsigned)a >= GG_ASPECT_COUNT)
        return NULL;
    return gg_aspect_names[a];
}

int gg_aspect_parse(const char *s, gg_aspect *out)
{
    for (size_t i = 0; s && i < GG_ASPECT_COUNT; i++) {
        if (strcmp(s, gg_aspect_names[i]) == 0) {
            *out = (gg_aspect)i;
            return 0;
        }
    }
    return -1;
}

/* ASCII only on purpose: isalnum() would follow the locale and let Latin-1 letters in. */
static int gg_record_station_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int gg_record_station_id_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > GG_RECORD_STATION_MAX)
        return 0;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!gg_record_station_char_ok((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* Copies a UUID lower-cased into dst (GG_RECORD_UUID_LEN + 1 bytes); -1 if s is not one. */
static int gg_record_uuid_copy(const char *s, size_t len, char *dst)
{
    if (len != GG_RECORD_UUID_LEN)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !isxdigit(c))
            return -1;
        dst[i] = (char)tolower(c);
    }
    dst[len] = '\0';
    return 0;
}

static const char *gg_record_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

/* A member lookup in which null means absent, so producers that serialise unset fields as null
 * are treated like those that leave them out. */
static json_t *gg_record_field(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_null(v) ? NULL : v;
}

/* Parses JSON text and turns jansson's error classes into reasons; anything that is not one of
 * the specific classes is a syntax error, reported as syntax_reason. Any JSON value is accepted
 * here so that a well-formed scalar is reported as the wrong shape, not as bad syntax. */
static gg_record_reason gg_record_load(const char *buf, size_t len, const char *what,
                                       gg_record_reason syntax_reason, json_t **out,
                                       gg_record_err *err)
{
    json_error_t jerr;
    gg_record_reason r;

    *out = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (*out)
        return GG_RECORD_OK;
    switch (json_error_code(&jerr)) {
    case json_error_invalid_utf8:
        r = GG_RECORD_INVALID_UTF8;
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        r = GG_RECORD_NUL_BYTE;
        break;
    case json_error_duplicate_key:
        r = GG_RECORD_DUPLICATE_KEY;
        break;
    case json_error_numeric_overflow:
        r = GG_RECORD_NUMBER_OUT_OF_RANGE;
        break;
    default:
        r = syntax_reason;
        break;
    }
    return gg_record_fail(err, r, "cannot parse %s: %s (byte %d)", what, jerr.text, jerr.position);
}

static gg_record_reason gg_record_load_value(const void *value, size_t valuelen, size_t max_bytes,
                                             json_t **env, gg_record_err *err)
{
    gg_record_reason r;

    *env = NULL;
    if (!value || valuelen == 0)
        return gg_record_fail(err, GG_RECORD_EMPTY_VALUE, "value is empty");
    if (max_bytes > 0 && valuelen > max_bytes)
        return gg_record_fail(err, GG_RECORD_VALUE_TOO_LARGE, "value is %zu bytes, limit %zu",
                              valuelen, max_bytes);
    /* jansson would call a raw NUL a control character or a bad token; give it its own reason. */
    if (memchr(value, '\0', valuelen))
        return gg_record_fail(err, GG_RECORD_NUL_BYTE, "value contains a NUL byte");
    r = gg_record_load(value, valuelen, "value", GG_RECORD_MALFORMED_JSON, env, err);
    if (r != GG_RECORD_OK)
        return r;
    if (!json_is_object(*env))
        return gg_record_fail(err, GG_RECORD_VALUE_NOT_OBJECT,
                              "value must be a JSON object, got %s", gg_record_type_name(*env));
    return GG_RECORD_OK;
}

static gg_record_reason gg_record_schema_version(const json_t *env, gg_record *out,
                                                 gg_record_err *err)
{
    json_t *v = gg_record_field(env, "schema_version");

    out->schema_version = 1;
    if (!v)
        return GG_RECORD_OK;
    if (!json_is_integer(v))
        return gg_record_fail(err, GG_RECORD_SCHEMA_VERSION_BAD_TYPE,
                              "schema_version must be an integer, got %s", gg_record_type_name(v));
    if (json_integer_value(v) != 1)
        return gg_record_fail(err, GG_RECORD_SCHEMA_VERSION_UNSUPPORTED,
                              "schema_version %" JSON_INTEGER_FORMAT " is not supported (only 1)",
                              json_integer_value(v));
    return GG_RECORD_OK;
}

/* Gives a new reference to the payload object, whichever form it came in. */
static gg_record_reason gg_record_payload(const json_t *env, json_t **payload, gg_record_err *err)
{
    json_t *v = gg_record_field(env, "payload");
    gg_record_reason r;

    *payload = NULL;
    if (!v)
        return gg_record_fail(err, GG_RECORD_PAYLOAD_MISSING, "payload is missing");
    if (json_is_object(v)) {
        *payload = json_incref(v);
        return GG_RECORD_OK;
    }
    if (!json_is_string(v))
        return gg_record_fail(err, GG_RECORD_PAYLOAD_BAD_TYPE,
                              "payload must be an object or a string holding one, got %s",
                              gg_record_type_name(v));
    r = gg_record_load(json_string_value(v), json_string_length(v), "payload string",
                       GG_RECORD_PAYLOAD_BAD_JSON, payload, err);
    if (r != GG_RECORD_OK)
        return r;
    if (!json_is_object(*payload))
        return gg_record_fail(err, GG_RECORD_PAYLOAD_NOT_OBJECT,
                              "payload string must hold a JSON object, got %s",
                              gg_record_type_name(*payload));
    return GG_RECORD_OK;
}

static gg_record_reason gg_record_sensor_id(const json_t *payload, gg_record *out,
                                            gg_record_err *err)
{
    json_t *v = gg_record_field(payload, "sensor_id");

    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return gg_record_fail(
                err, GG_RECORD_SENSOR_ID_INVALID,
                "payload.sensor_id must not be negative, got %" JSON_INTEGER_FORMAT,
                json_integer_value(v));
        snprintf(out->station_id, sizeof(out->station_id), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return GG_RECORD_OK;
    }
    if (!json_is_string(v))
        return gg_record_fail(err, GG_RECORD_SENSOR_ID_BAD_TYPE,
                              "payload.sensor_id must be an integer or a string, got %s",
                              gg_record_type_name(v));
    if (!gg_record_station_id_valid(json_string_value(v), json_string_length(v)))
        return gg_record_fail(err, GG_RECORD_SENSOR_ID_INVALID,
                              "payload.sensor_id must be 1..%d characters of [A-Za-z0-9._-], "
                              "not . or .., got %zu bytes",
                              GG_RECORD_STATION_MAX, json_string_length(v));
    memcpy(out->station_id, json_string_value(v), json_string_length(v) + 1);
    return GG_RECORD_OK;
}

/* The station comes from the payload, the key, or both when they agree. */
static gg_record_reason gg_record_station(const json_t *payload, const char *key, size_t keylen,
                                          gg_record *out, gg_record_err *err)
{
    gg_record_reason r;

    if (keylen > 0 && !gg_record_station_id_valid(key, keylen))
        return gg_record_fail(err, GG_RECORD_KEY_INVALID,
                              "key must be 1..%d characters of [A-Za-z0-9._-], not . or .., "
                              "got %zu bytes",
                              GG_RECORD_STATION_MAX, keylen);
    if (!gg_record_field(payload, "sensor_id")) {
        if (keylen == 0)
            return gg_record_fail(err, GG_RECORD_SENSOR_ID_MISSING,
                                  "payload.sensor_id is missing and the message has no key");
        memcpy(out->station_id, key, keylen);
        out->station_id[keylen] = '\0';
        return GG_RECORD_OK;
    }
    r = gg_record_sensor_id(payload, out, err);
    if (r != GG_RECORD_OK)
        return r;
    if (keylen > 0 && (strlen(out->station_id) != keylen || memcmp(out->station_id, key, keylen)))
        return gg_record_fail(err, GG_RECORD_KEY_MISMATCH,
                              "key \"%.*s\" does not match payload.sensor_id \"%s\"", (int)keylen,
                              key, out->station_id);
    return GG_RECORD_OK;
}

static gg_record_reason gg_record_modality(const json_t *payload, gg_record *out,
                                           gg_record_err *err)
{
    json_t *v = gg_record_field(payload, "modality");

    if (!v)
        return gg_record_fail(err, GG_RECORD_MODALITY_MISSING, "payload.modality is missing");
    if (!json_is_number(v))
        return gg_record_fail(err, GG_RECORD_MODALITY_BAD_TYPE,
                              "payload.modality must be a number, got %s", gg_record_type_name(v));
    out->modality = json_number_value(v);
    return GG_RECORD_OK;
}

static gg_record_reason gg_record_unit(const json_t *payload, gg_record *out, gg_record_err *err)
{
    json_t *v = gg_record_field(payload, "unit");
    const char *s;
    size_t len;

    if (!v)
        return GG_RECORD_OK;
    if (!json_is_string(v))
        return gg_record_fail(err, GG_RECORD_UNIT_BAD_TYPE, "payload.unit must be a string, got %s",
                              gg_record_type_name(v));
    s = json_string_value(v);
    len = json_string_length(v);
    if (len > GG_RECORD_UNIT_MAX)
        return gg_record_fail(err, GG_RECORD_UNIT_INVALID,
                              "payload.unit must be at most %d bytes, got %zu", GG_RECORD_UNIT_MAX,
                              len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return gg_record_fail(err, GG_RECORD_UNIT_INVALID,
                                  "payload.unit must not contain control characters");
    }
    memcpy(out->unit, s, len + 1);
    return GG_RECORD_OK;
}

static gg_record_reason gg_record_aspect(const json_t *payload, gg_record *out, gg_record_err *err)
{
    json_t *v = gg_record_field(payload, "temporal_aspect");

    if (!v)
        return gg_record_fail(err, GG_RECORD_ASPECT_MISSING, "payload.temporal_aspect is missing");
    if (!json_is_string(v))
        return gg_record_fail(err, GG_RECORD_ASPECT_BAD_TYPE,
                              "payload.temporal_aspect must be a string, got %s",
                              gg_record_type_name(v));
    if (gg_aspect_parse(json_string_value(v), &out->aspect) != 0)
        return gg_record_fail(err, GG_RECORD_ASPECT_INVALID,
                              "payload.temporal_aspect must be \"real_time\" or "
                              "\"edge_prediction\"");
    return GG_RECORD_OK;
}

static gg_record_reason gg_record_created_at(const json_t *env, gg_record *out, gg_record_err *err)
{
    json_t *v = gg_record_field(env, "created_at");
    double max_s = (double)(GG_RECORD_CREATED_AT_MAX_US / 1000000);
    double x;

    if (!v)
        return gg_record_fail(err, GG_RECORD_CREATED_AT_MISSING, "created_at is missing");
    if (!json_is_number(v))
        return gg_record_fail(err, GG_RECORD_CREATED_AT_BAD_TYPE,
                              "created_at must be a number of seconds, got %s",
                              gg_record_type_name(v));
    x = json_number_value(v);
    /* Bounded before llround(), whose result is undefined when it does not fit. */
    if (x > 0.0 && x < max_s) {
        out->created_at_us = llround(x * 1e6);
        if (out->created_at_us > 0 && out->created_at_us < GG_RECORD_CREATED_AT_MAX_US)
            return GG_RECORD_OK;
    }
    return gg_record_fail(err, GG_RECORD_CREATED_AT_OUT_OF_RANGE,
                          "created_at must be seconds after the epoch and before "
                          "2200-01-01, got %.17g",
                          x);
}

static gg_record_reason gg_record_correlation_id(const json_t *env, gg_record *out,
                                                 gg_record_err *err)
{
    json_t *v = gg_record_field(env, "correlation_id");

    if (!v)
        return GG_RECORD_OK;
    if (!json_is_string(v))
        return gg_record_fail(err, GG_RECORD_CORRELATION_ID_BAD_TYPE,
                              "correlation_id must be a string, got %s", gg_record_type_name(v));
    if (gg_record_uuid_copy(json_string_value(v), json_string_length(v), out->correlation_id))
        return gg_record_fail(err, GG_RECORD_CORRELATION_ID_INVALID,
                              "correlation_id must be a UUID (8-4-4-4-12 hex digits)");
    out->has_correlation_id = 1;
    return GG_RECORD_OK;
}

/* Field checks on the parsed envelope, in the documented order. */
static gg_record_reason gg_record_fields(const json_t *env, const char *key, size_t keylen,
                                         gg_record *out, gg_record_err *err)
{
    json_t *payload = NULL;
    gg_record_reason r;

    r = gg_record_schema_version(env, out, err);
    if (r == GG_RECORD_OK)
        r = gg_record_payload(env, &payload, err);
    if (r == GG_RECORD_OK)
        r = gg_record_station(payload, key, keylen, out, err);
    if (r == GG_RECORD_OK)
        r = gg_record_modality(payload, out, err);
    if (r == GG_RECORD_OK)
        r = gg_record_unit(payload, out, err);
    if (r == GG_RECORD_OK)
        r = gg_record_aspect(payload, out, err);
    if (r == GG_RECORD_OK)
        r = gg_record_created_at(env, out, err);
    if (r == GG_RECORD_OK)
        r = gg_record_correlation_id(env, out, err);
    json_decref(payload);
    return r;
}

gg_record_reason gg_record_parse(const void *key, size_t keylen, const void *value, size_t valuelen,
                                 size_t max_bytes, gg_record *out, char *msg, size_t msglen)
{
    gg_record_err err = {msg, msglen};
    json_t *env;
    gg_record_reason r;

    memset(out, 0, sizeof(*out));
    if (msg && msglen > 0)
        msg[0] = '\0';
    if (!key)
        keylen = 0;
    r = gg_record_load_value(value, valuelen, max_bytes, &env, &err);
    if (r == GG_RECORD_OK)
        r = gg_record_fields(env, key, keylen, out, &err);
    json_decref(env);
    if (r != GG_RECORD_OK)
        memset(out, 0, sizeof(*out));
    return r;
}

json_t *gg_record_to_json(const gg_record *r)
{
    json_t *payload, *env;

    payload = json_pack("{s:s, s:f, s:s}", "sensor_id", r->station_id, "modality", r->modality,
                        "temporal_aspect", gg_aspect_name(r->aspect));
    if (payload && r->unit[0] && json_object_set_new(payload, "unit", json_string(r->unit))) {
        json_decref(payload);
        return NULL;
    }
    /* The quotient is correctly rounded, so the parser's llround(x * 1e6) gives back the same
     * microsecond. */
    env = json_pack("{s:o, s:f, s:i}", "payload", payload, "created_at",
                    (double)r->created_at_us / 1e6, "schema_version", r->schema_version);
    if (env && r->has_correlation_id &&
        json_object_set_new(env, "correlation_id", json_string(r->correlation_id))) {
        json_decref(env);
        return NULL;
    }
    return env;
}

int gg_record_format_created_at(int64_t us, char *buf, size_t len)
{
    uint64_t mag = us < 0 ? 0 - (uint64_t)us : (uint64_t)us;
    int n = snprintf(buf, len, "%s%" PRIu64 ".%06" PRIu64, us < 0 ? "-" : "", mag / 1000000,
                     mag % 1000000);

    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return -1;
    }
    return 0;
}
