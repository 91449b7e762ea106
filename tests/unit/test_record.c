/* Unit tests of gg_record: the sample readings parse to what their text says and round-trip
 * through gg_record_to_json, variations the format allows are accepted, and hostile bytes never
 * break the parser. Field rules and rejections have their own file, test_record_rules.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_messages.h"

#define SAMPLE_PATH GG_SOURCE_DIR "/tests/demo-data/readings-sample.tsv"
/* The sample holds 6 stations x 500 steps, every fifth step an edge prediction. */
#define SAMPLE_LINES      (6 * 500)
#define SAMPLE_EDGE_LINES (SAMPLE_LINES / 5)

/* ---- helpers ---- */

static void assert_record_equal(const gg_record *a, const gg_record *b)
{
    assert_string_equal(a->station_id, b->station_id);
    assert_true(a->modality == b->modality);
    assert_string_equal(a->unit, b->unit);
    assert_int_equal(a->aspect, b->aspect);
    assert_int_equal(a->created_at_us, b->created_at_us);
    assert_int_equal(a->has_correlation_id, b->has_correlation_id);
    assert_string_equal(a->correlation_id, b->correlation_id);
    assert_int_equal(a->schema_version, b->schema_version);
}

static void assert_parses(const char *key, const char *value, gg_record *out)
{
    char msg[MSG_LEN];
    gg_record_reason r = parse_text(key, value, out, msg);

    if (r != GG_RECORD_OK)
        print_error("unexpected %s: %s\n", gg_record_reason_code(r), msg);
    assert_int_equal(r, GG_RECORD_OK);
    assert_string_equal(msg, "");
}

/* Round-trips a record through gg_record_to_json and the parser. */
static void assert_json_round_trip(const gg_record *rec, const char *key)
{
    json_t *j = gg_record_to_json(rec);
    char *text;
    gg_record back;

    assert_non_null(j);
    text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    assert_parses(key, text, &back);
    assert_record_equal(rec, &back);
    free(text);
    json_decref(j);
}

/* ---- the sample file ---- */

typedef struct sample_line {
    char *key;
    size_t keylen;
    char *value; /* exactly valuelen bytes, no terminator, so over-reads show under ASan */
    size_t valuelen;
    char *text; /* the same bytes NUL-terminated, for reading expectations out of the line */
} sample_line;

typedef struct sample {
    sample_line *lines;
    size_t n;
} sample;

static char *dup_bytes(const char *s, size_t len, int terminate)
{
    char *d = malloc(len + (terminate ? 1 : 0) + (len == 0));

    assert_non_null(d);
    memcpy(d, s, len);
    if (terminate)
        d[len] = '\0';
    return d;
}

static void sample_add(sample *s, char *line, size_t len)
{
    char *tab = memchr(line, '\t', len);
    sample_line *l;

    assert_non_null(tab);
    s->lines = realloc(s->lines, (s->n + 1) * sizeof(*s->lines));
    assert_non_null(s->lines);
    l = &s->lines[s->n++];
    l->keylen = (size_t)(tab - line);
    l->key = dup_bytes(line, l->keylen, 0);
    l->valuelen = len - l->keylen - 1;
    l->value = dup_bytes(tab + 1, l->valuelen, 0);
    l->text = dup_bytes(tab + 1, l->valuelen, 1);
}

static int sample_setup(void **state)
{
    sample *s = calloc(1, sizeof(*s));
    FILE *f = fopen(SAMPLE_PATH, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    assert_non_null(s);
    assert_non_null(f);
    while ((n = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len > 0)
            sample_add(s, line, len);
    }
    free(line);
    fclose(f);
    *state = s;
    return 0;
}

static int sample_teardown(void **state)
{
    sample *s = *state;

    for (size_t i = 0; i < s->n; i++) {
        free(s->lines[i].key);
        free(s->lines[i].value);
        free(s->lines[i].text);
    }
    free(s->lines);
    free(s);
    return 0;
}

static gg_record_reason sample_parse(const sample_line *l, gg_record *out, char *msg)
{
    return gg_record_parse(l->key, l->keylen, l->value, l->valuelen, 4096, out, msg, MSG_LEN);
}

/* The text after needle in the line, which must be there. */
static const char *after(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);

    assert_non_null(p);
    return p + strlen(needle);
}

/* created_at as written in the line, converted with integer arithmetic only. */
static int64_t text_created_at_us(const char *text)
{
    const char *p = after(text, "\"created_at\": ");
    int64_t sec = 0, frac = 0;
    int digits = 0;

    while (isdigit((unsigned char)*p))
        sec = sec * 10 + (*p++ - '0');
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            frac = frac * 10 + (*p - '0');
    }
    assert_in_range(digits, 0, 6);
    for (; digits < 6; digits++)
        frac *= 10;
    return sec * 1000000 + frac;
}

static void test_sample_every_line_parses(void **state)
{
    const sample *s = *state;
    size_t edge = 0;

    assert_int_equal(s->n, SAMPLE_LINES);
    for (size_t i = 0; i < s->n; i++) {
        const sample_line *l = &s->lines[i];
        char msg[MSG_LEN], cid[GG_RECORD_UUID_LEN + 1];
        gg_record rec;

        assert_int_equal(sample_parse(l, &rec, msg), GG_RECORD_OK);
        assert_int_equal(strlen(rec.station_id), l->keylen);
        assert_memory_equal(rec.station_id, l->key, l->keylen);
        assert_true(rec.modality == strtod(after(l->text, "\\\"modality\\\": "), NULL));
        assert_string_equal(rec.unit, "MW");
        assert_int_equal(rec.aspect, strstr(l->text, "\\\"edge_prediction\\\"")
                                         ? GG_ASPECT_EDGE_PREDICTION
                                         : GG_ASPECT_REAL_TIME);
        assert_int_equal(rec.created_at_us, text_created_at_us(l->text));
        memcpy(cid, after(l->text, "\"correlation_id\": \""), GG_RECORD_UUID_LEN);
        cid[GG_RECORD_UUID_LEN] = '\0';
        assert_true(rec.has_correlation_id);
        assert_string_equal(rec.correlation_id, cid);
        assert_int_equal(rec.schema_version, 1);
        edge += rec.aspect == GG_ASPECT_EDGE_PREDICTION;
    }
    assert_int_equal(edge, SAMPLE_EDGE_LINES);
}

/* Each line with its payload string replaced by the object it holds. */
static char *sample_as_object(const sample_line *l)
{
    json_error_t jerr;
    json_t *env = json_loadb(l->value, l->valuelen, 0, &jerr);
    json_t *payload;
    char *out;

    assert_non_null(env);
    payload = json_loads(json_string_value(json_object_get(env, "payload")), 0, &jerr);
    assert_true(json_is_object(payload));
    assert_int_equal(json_object_set_new(env, "payload", payload), 0);
    out = json_dumps(env, JSON_COMPACT);
    assert_non_null(out);
    json_decref(env);
    return out;
}

static void test_sample_payload_as_object(void **state)
{
    const sample *s = *state;

    for (size_t i = 0; i < s->n; i++) {
        const sample_line *l = &s->lines[i];
        char msg[MSG_LEN], *obj = sample_as_object(l);
        gg_record from_string, from_object;

        assert_null(strstr(obj, "\"payload\":\""));
        assert_int_equal(sample_parse(l, &from_string, msg), GG_RECORD_OK);
        assert_int_equal(gg_record_parse(l->key, l->keylen, obj, strlen(obj), 4096, &from_object,
                                         msg, sizeof(msg)),
                         GG_RECORD_OK);
        assert_record_equal(&from_string, &from_object);
        free(obj);
    }
}

static void test_sample_to_json_round_trip(void **state)
{
    const sample *s = *state;

    for (size_t i = 0; i < s->n; i++) {
        char msg[MSG_LEN];
        gg_record rec;

        assert_int_equal(sample_parse(&s->lines[i], &rec, msg), GG_RECORD_OK);
        assert_json_round_trip(&rec, NULL);
        assert_json_round_trip(&rec, rec.station_id);
    }
}

/* created_at as written in the line, with the trailing zeros the producer left out put back. */
static void text_created_at_padded(const char *text, char *out, size_t outlen)
{
    const char *p = after(text, "\"created_at\": ");
    size_t len = strspn(p, "0123456789.");
    const char *dot = memchr(p, '.', len);
    size_t frac = dot ? len - (size_t)(dot - p) - 1 : 0;

    assert_true(len + (dot ? 0 : 1) + (6 - frac) < outlen);
    snprintf(out, outlen, "%.*s%s%.*s", (int)len, p, dot ? "" : ".", (int)(6 - frac), "000000");
}

static void test_sample_format_created_at(void **state)
{
    const sample *s = *state;

    for (size_t i = 0; i < s->n; i++) {
        char msg[MSG_LEN], buf[GG_RECORD_CREATED_AT_BUFLEN], want[64];
        gg_record rec;

        assert_int_equal(sample_parse(&s->lines[i], &rec, msg), GG_RECORD_OK);
        assert_int_equal(gg_record_format_created_at(rec.created_at_us, buf, sizeof(buf)), 0);
        text_created_at_padded(s->lines[i].text, want, sizeof(want));
        assert_string_equal(buf, want);
    }
}

/* ---- accepted variations ---- */

static void test_accept_reference_string_payload(void **state)
{
    gg_record rec;

    (void)state;
    assert_parses("3", BASE_STRING, &rec);
    assert_string_equal(rec.station_id, "3");
    assert_true(rec.modality == 421.0);
    assert_string_equal(rec.unit, "MW");
    assert_int_equal(rec.aspect, GG_ASPECT_REAL_TIME);
    /* the wire format's own example: 1764000000.001471 s is this many microseconds */
    assert_int_equal(rec.created_at_us, INT64_C(1764000000001471));
    assert_string_equal(rec.correlation_id, UUID);
}

static void test_accept_minimal_envelope(void **state)
{
    gg_record rec;

    (void)state;
    assert_parses(NULL,
                  "{\"payload\": {\"sensor_id\": 7, \"modality\": -12.5, "
                  "\"temporal_aspect\": \"edge_prediction\"}, \"created_at\": 1764000000}",
                  &rec);
    assert_string_equal(rec.station_id, "7");
    assert_true(rec.modality == -12.5);
    assert_string_equal(rec.unit, "");
    assert_int_equal(rec.aspect, GG_ASPECT_EDGE_PREDICTION);
    assert_int_equal(rec.created_at_us, INT64_C(1764000000) * 1000000);
    assert_false(rec.has_correlation_id);
    assert_string_equal(rec.correlation_id, "");
    assert_int_equal(rec.schema_version, 1);
}

static void test_accept_nulls_as_absent(void **state)
{
    gg_record rec;

    (void)state;
    assert_parses("3", OBJ4(F_PAY, "\"correlation_id\": null", F_CAT, "\"schema_version\": null"),
                  &rec);
    assert_false(rec.has_correlation_id);
    assert_int_equal(rec.schema_version, 1);
    assert_parses("3", PAY_UNIT("\"unit\": null"), &rec);
    assert_string_equal(rec.unit, "");
}

static void test_accept_key_supplies_station(void **state)
{
    gg_record rec;

    (void)state;
    assert_parses("station-7.B_2", PAY_SID("\"x1\": 0"), &rec);
    assert_string_equal(rec.station_id, "station-7.B_2");
    assert_parses("9", PAY_SID("\"sensor_id\": null"), &rec);
    assert_string_equal(rec.station_id, "9");
}

static void test_accept_string_sensor_id(void **state)
{
    gg_record rec;

    (void)state;
    assert_parses("3", PAY_SID("\"sensor_id\": \"3\""), &rec);
    assert_string_equal(rec.station_id, "3");
    assert_parses(NULL, PAY_SID("\"sensor_id\": \"Sub-Station_4.a\""), &rec);
    assert_string_equal(rec.station_id, "Sub-Station_4.a");
    assert_parses("Sub-Station_4.a", PAY_SID("\"sensor_id\": \"Sub-Station_4.a\""), &rec);
    assert_string_equal(rec.station_id, "Sub-Station_4.a");
}

static void test_accept_limits(void **state)
{
    static const char id64[] = ID65;
    char value[512];
    gg_record rec;

    (void)state;
    snprintf(value, sizeof(value), PAY_SID("\"sensor_id\": \"%.*s\""), GG_RECORD_STATION_MAX, id64);
    assert_parses(NULL, value, &rec);
    assert_int_equal(strlen(rec.station_id), GG_RECORD_STATION_MAX);
    assert_parses("3", PAY_UNIT("\"unit\": \"ABCDEFGHIJKLMNOP\""), &rec);
    assert_int_equal(strlen(rec.unit), GG_RECORD_UNIT_MAX);
    assert_parses("3", PAY_UNIT("\"unit\": \"\\u00b0C\""), &rec);
    assert_string_equal(rec.unit, "\xc2\xb0"
                                  "C");
    assert_parses("0", PAY_SID("\"sensor_id\": 0"), &rec);
    assert_string_equal(rec.station_id, "0");
    assert_parses("3", ENV_CAT("\"created_at\": 7258118399.999999"), &rec);
    assert_int_equal(rec.created_at_us, GG_RECORD_CREATED_AT_MAX_US - 1);
    assert_parses("3", ENV_CAT("\"created_at\": 0.000001"), &rec);
    assert_int_equal(rec.created_at_us, 1);
    assert_int_equal(gg_record_parse("3", 1, BASE, strlen(BASE), strlen(BASE), &rec, NULL, 0),
                     GG_RECORD_OK);
}

static void test_accept_uuid_lower_cased(void **state)
{
    gg_record rec;

    (void)state;
    assert_parses("3", ENV_CID("\"correlation_id\": \"B0C11FDE-CB91-4E37-9BC8-FBBCBDE5C099\""),
                  &rec);
    assert_true(rec.has_correlation_id);
    assert_string_equal(rec.correlation_id, "b0c11fde-cb91-4e37-9bc8-fbbcbde5c099");
}

static void test_accept_unknown_fields(void **state)
{
    gg_record plain, extra;

    (void)state;
    assert_parses("3", BASE, &plain);
    assert_parses("3",
                  "{\"trace\": [1, {\"a\": null}], " F_PAY ", " F_CID ", " F_CAT ", " F_SV
                  ", \"payload_v2\": 1}",
                  &extra);
    assert_record_equal(&plain, &extra);
    assert_parses("3", PAY_UNIT("\"quality\": \"good\", " F_UNIT), &extra);
    assert_record_equal(&plain, &extra);
}

static void test_to_json_shape(void **state)
{
    gg_record rec;
    json_t *j, *payload;

    (void)state;
    assert_parses("3", BASE_STRING, &rec);
    j = gg_record_to_json(&rec);
    assert_non_null(j);
    payload = json_object_get(j, "payload");
    assert_true(json_is_object(payload));
    assert_string_equal(json_string_value(json_object_get(payload, "sensor_id")), "3");
    assert_true(json_number_value(json_object_get(payload, "modality")) == rec.modality);
    assert_string_equal(json_string_value(json_object_get(payload, "unit")), "MW");
    assert_string_equal(json_string_value(json_object_get(payload, "temporal_aspect")),
                        "real_time");
    assert_true(json_is_real(json_object_get(j, "created_at")));
    assert_string_equal(json_string_value(json_object_get(j, "correlation_id")), UUID);
    assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), 1);
    json_decref(j);

    /* unset optional fields are left out rather than sent empty */
    rec.unit[0] = '\0';
    rec.has_correlation_id = 0;
    rec.correlation_id[0] = '\0';
    j = gg_record_to_json(&rec);
    assert_non_null(j);
    assert_null(json_object_get(json_object_get(j, "payload"), "unit"));
    assert_null(json_object_get(j, "correlation_id"));
    json_decref(j);
    assert_json_round_trip(&rec, "3");
}

/* ---- hostile bytes ---- */

static uint64_t fuzz_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct fuzz_tally {
    size_t ok;
    size_t seen[GG_RECORD_REASON_COUNT];
} fuzz_tally;

/* Parses from an exact-size heap copy, so any read past the end trips ASan. */
static void fuzz_one(const char *key, const unsigned char *bytes, size_t len, fuzz_tally *t)
{
    unsigned char *copy = malloc(len ? len : 1);
    char msg[MSG_LEN];
    gg_record rec;
    gg_record_reason r;

    assert_non_null(copy);
    memcpy(copy, bytes, len);
    r = gg_record_parse(key, key ? strlen(key) : 0, copy, len, 4096, &rec, msg, sizeof(msg));
    assert_in_range(r, GG_RECORD_OK, GG_RECORD_REASON_COUNT - 1);
    t->seen[r]++;
    if (r == GG_RECORD_OK) {
        assert_true(gg_record_station_id_valid(rec.station_id, strlen(rec.station_id)));
        assert_non_null(gg_aspect_name(rec.aspect));
        assert_in_range(rec.created_at_us, 1, GG_RECORD_CREATED_AT_MAX_US - 1);
        t->ok++;
    } else {
        assert_true(msg[0] != '\0');
    }
    free(copy);
}

static void test_fuzz_truncations_and_flips(void **state)
{
    static const char *const seeds[] = {BASE_STRING, BASE};
    static const char *const keys[] = {"3", NULL, "x/y", "4"};
    static const unsigned char interesting[] = {'"', '\\', '{', '}', '[',  ']',  ':',  ',',  '0',
                                                '9', '-',  'e', '.', 0x00, 0x7f, 0x80, 0xc3, 0xff};
    uint64_t rng = 0x9e3779b97f4a7c15u;
    fuzz_tally t;
    size_t distinct = 0;

    (void)state;
    memset(&t, 0, sizeof(t));
    for (size_t s = 0; s < 2; s++) {
        const unsigned char *seed = (const unsigned char *)seeds[s];
        size_t len = strlen(seeds[s]);
        unsigned char buf[512];

        for (size_t cut = 0; cut <= len; cut++)
            fuzz_one("3", seed, cut, &t);
        for (int iter = 0; iter < 20000; iter++) {
            int flips = 1 + (int)(fuzz_next(&rng) % 3);
            memcpy(buf, seed, len);
            for (int f = 0; f < flips; f++) {
                uint64_t x = fuzz_next(&rng);
                buf[x % len] = (x >> 32) & 1 ? interesting[(x >> 40) % sizeof(interesting)]
                                             : (unsigned char)(x >> 48);
            }
            fuzz_one(keys[fuzz_next(&rng) % 4], buf, len - fuzz_next(&rng) % 4, &t);
        }
    }
    for (int r = 0; r < GG_RECORD_REASON_COUNT; r++)
        distinct += t.seen[r] > 0;
    /* the inputs did reach deep into the parser, not only its first check */
    assert_true(t.ok > 0);
    assert_true(distinct >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sample_every_line_parses, sample_setup,
                                        sample_teardown),
        cmocka_unit_test_setup_teardown(test_sample_payload_as_object, sample_setup,
                                        sample_teardown),
        cmocka_unit_test_setup_teardown(test_sample_to_json_round_trip, sample_setup,
                                        sample_teardown),
        cmocka_unit_test_setup_teardown(test_sample_format_created_at, sample_setup,
                                        sample_teardown),
        cmocka_unit_test(test_accept_reference_string_payload),
        cmocka_unit_test(test_accept_minimal_envelope),
        cmocka_unit_test(test_accept_nulls_as_absent),
        cmocka_unit_test(test_accept_key_supplies_station),
        cmocka_unit_test(test_accept_string_sensor_id),
        cmocka_unit_test(test_accept_limits),
        cmocka_unit_test(test_accept_uuid_lower_cased),
        cmocka_unit_test(test_accept_unknown_fields),
        cmocka_unit_test(test_to_json_shape),
        cmocka_unit_test(test_fuzz_truncations_and_flips),
    };
    return cmocka_run_group_tests_name("gg_record", tests, NULL, NULL);
}
