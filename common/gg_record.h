/* gg_record: parses and validates one station reading as it arrives on Kafka, and writes it back.
 *
 * Every service starts from the same reading, so the rules of what a reading is live here once: the
 * ingest and cache consumers call gg_record_parse() on each message, send what it rejects to the
 * dead-letter topic with gg_record_reason_code() as the reason header and metrics label, and the
 * HTTP handlers reuse gg_record_station_id_valid() for ids in URLs. The parser does no I/O, does
 * not log and keeps no state, so any thread may call it; the caller decides what a rejection is
 * worth.
 *
 * Wire format: the Kafka key is the station id as text, or absent; the value is a JSON object
 *   {"payload": "<JSON text>" | {...}, "correlation_id": "<uuid>", "created_at": 1764000000.001471,
 *    "schema_version": 1}
 * with payload {"sensor_id": 3 | "s-3", "modality": 421, "unit": "MW",
 *               "temporal_aspect": "real_time" | "edge_prediction"}.
 *
 * Rules, chosen so that one message always yields one reason, the same on every replica:
 * - The value must be 1..max_bytes bytes (max_bytes 0: no limit), checked before parsing so an
 *   oversized message costs nothing; then it must hold no NUL byte, be UTF-8 and be one JSON
 *   object with no duplicate keys. These are jansson's own checks, each mapped to its own reason;
 *   bad UTF-8 and bad syntax are reported in the order jansson meets them while reading. Numbers
 *   that do not fit a double or a 64-bit integer are number_out_of_range, which is how modality is
 *   kept finite.
 * - A JSON null counts as absent, for required and optional fields alike.
 * - Fields are checked in a fixed order and the first failure is reported: value bytes, JSON,
 *   schema_version (a newer envelope should say so, not fail on a field it renamed), payload,
 *   sensor_id and key, modality, unit, temporal_aspect, created_at, correlation_id.
 * - schema_version: optional, default 1; an integer other than 1 is unsupported.
 * - payload: a JSON object, or a string holding one (what the reference producer sends); the
 *   string form is parsed with the same duplicate-key and NUL rules.
 * - sensor_id: a non-negative integer (normalised to its decimal text) or a string that passes
 *   gg_record_station_id_valid(). Reals, even 3.0, are refused rather than guessed at.
 * - Kafka key: when present and non-empty it must itself be a valid station id; it fills in a
 *   missing sensor_id and must otherwise equal the normalised id byte for byte ("03" is not 3).
 * - modality: any JSON number. unit: optional string of at most GG_RECORD_UNIT_MAX bytes without
 *   control characters; empty when absent.
 * - temporal_aspect: exactly "real_time" or "edge_prediction" (case-sensitive).
 * - created_at: seconds since the epoch as a JSON number (integer or real), held as exact integer
 *   microseconds; must fall after the epoch and before 2200-01-01T00:00:00Z. Below 2^53 us
 *   (year 2255) a double times 1e6 rounds back to the microsecond the producer wrote.
 * - correlation_id: optional UUID text (8-4-4-4-12 hex digits, any case), stored lower-case.
 * - Unknown fields are ignored, so producers can add fields before consumers know them. */
#ifndef GG_RECORD_H
#define GG_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define GG_RECORD_STATION_MAX 64
#define GG_RECORD_UNIT_MAX    16
#define GG_RECORD_UUID_LEN    36
/* 2200-01-01T00:00:00Z in microseconds: later event times are taken for unit errors (ms, us). */
#define GG_RECORD_CREATED_AT_MAX_US INT64_C(7258118400000000)
/* Large enough for any gg_record_format_created_at() text, sign and NUL included. */
#define GG_RECORD_CREATED_AT_BUFLEN 28

typedef enum gg_aspect { GG_ASPECT_REAL_TIME, GG_ASPECT_EDGE_PREDICTION } gg_aspect;

typedef struct gg_record {
    char station_id[GG_RECORD_STATION_MAX + 1]; /* normalised: integers as decimal text */
    double modality;
    char unit[GG_RECORD_UNIT_MAX + 1]; /* empty if absent */
    gg_aspect aspect;
    int64_t created_at_us;                       /* microseconds since the epoch, exact */
    char correlation_id[GG_RECORD_UUID_LEN + 1]; /* lower-case canonical UUID */
    int has_correlation_id; /* 0: downstream keys the reading by topic/partition/offset */
    int schema_version;
} gg_record;

/* The stable text of each reason (gg_record_reason_code) is part of the dead-letter format and of
 * metric labels: append new reasons, never renumber or rename. */
typedef enum gg_record_reason {
    GG_RECORD_OK = 0,
    GG_RECORD_EMPTY_VALUE,                /* empty_value */
    GG_RECORD_VALUE_TOO_LARGE,            /* value_too_large */
    GG_RECORD_NUL_BYTE,                   /* nul_byte: raw, or \u0000 in a string or key */
    GG_RECORD_INVALID_UTF8,               /* invalid_utf8 */
    GG_RECORD_MALFORMED_JSON,             /* malformed_json */
    GG_RECORD_DUPLICATE_KEY,              /* duplicate_key: in the envelope or the payload */
    GG_RECORD_NUMBER_OUT_OF_RANGE,        /* number_out_of_range: beyond a double or int64 */
    GG_RECORD_VALUE_NOT_OBJECT,           /* value_not_object */
    GG_RECORD_SCHEMA_VERSION_BAD_TYPE,    /* schema_version_bad_type */
    GG_RECORD_SCHEMA_VERSION_UNSUPPORTED, /* unsupported_schema_version */
    GG_RECORD_PAYLOAD_MISSING,            /* payload_missing */
    GG_RECORD_PAYLOAD_BAD_TYPE,           /* payload_bad_type */
    GG_RECORD_PAYLOAD_BAD_JSON,           /* payload_bad_json: the string form does not parse */
    GG_RECORD_PAYLOAD_NOT_OBJECT,         /* payload_not_object: the string form is not {...} */
    GG_RECORD_KEY_INVALID,                /* key_invalid */
    GG_RECORD_KEY_MISMATCH,               /* key_mismatch */
    GG_RECORD_SENSOR_ID_MISSING,          /* sensor_id_missing: and no key either */
    GG_RECORD_SENSOR_ID_BAD_TYPE,         /* sensor_id_bad_type */
    GG_RECORD_SENSOR_ID_INVALID,          /* sensor_id_invalid */
    GG_RECORD_MODALITY_MISSING,           /* modality_missing */
    GG_RECORD_MODALITY_BAD_TYPE,          /* modality_bad_type */
    GG_RECORD_UNIT_BAD_TYPE,              /* unit_bad_type */
    GG_RECORD_UNIT_INVALID,               /* unit_invalid */
    GG_RECORD_ASPECT_MISSING,             /* temporal_aspect_missing */
    GG_RECORD_ASPECT_BAD_TYPE,            /* temporal_aspect_bad_type */
    GG_RECORD_ASPECT_INVALID,             /* temporal_aspect_invalid */
    GG_RECORD_CREATED_AT_MISSING,         /* created_at_missing */
    GG_RECORD_CREATED_AT_BAD_TYPE,        /* created_at_bad_type */
    GG_RECORD_CREATED_AT_OUT_OF_RANGE,    /* created_at_out_of_range */
    GG_RECORD_CORRELATION_ID_BAD_TYPE,    /* correlation_id_bad_type */
    GG_RECORD_CORRELATION_ID_INVALID,     /* correlation_id_invalid */
    GG_RECORD_REASON_COUNT
} gg_record_reason;

/* Parses one Kafka message. key and value need not be NUL-terminated and may be NULL when their
 * length is 0. On GG_RECORD_OK *out holds the reading and msg (if msglen > 0) is empty; otherwise
 * *out is zeroed and msg holds a one-line human explanation, truncated to msglen. msg may be
 * NULL. */
gg_record_reason gg_record_parse(const void *key, size_t keylen, const void *value, size_t valuelen,
                                 size_t max_bytes, gg_record *out, char *msg, size_t msglen);

/* Stable snake_case text of a reason ("ok" for GG_RECORD_OK, "unknown" out of range). */
const char *gg_record_reason_code(gg_record_reason r);

/* "real_time" / "edge_prediction" (NULL out of range); parse returns 0, or -1 for other text. */
const char *gg_aspect_name(gg_aspect a);
int gg_aspect_parse(const char *s, gg_aspect *out);

/* 1 if s[0..len) is a usable station id: 1..GG_RECORD_STATION_MAX bytes of [A-Za-z0-9._-], and
 * not "." or "..". Ids become Redis keys and URL path segments, so nothing that needs escaping
 * or that a path normaliser would rewrite gets in. */
int gg_record_station_id_valid(const char *s, size_t len);

/* The reading as a wire-format envelope: payload as an object, sensor_id as a string (lossless
 * for every id), created_at as a real that parses back to the same microsecond, unit and
 * correlation_id only when set. For re-producing and REST replies; NULL when out of memory or
 * when r does not hold a valid reading. The caller owns the reference. */
json_t *gg_record_to_json(const gg_record *r);

/* Writes created_at as exact decimal seconds with six fractional digits ("1764000000.001471"),
 * the form for text sinks where a double would lose microseconds. Returns 0, or -1 when buf is
 * too small (then buf holds "" if len > 0). */
int gg_record_format_created_at(int64_t us, char *buf, size_t len);

#endif
