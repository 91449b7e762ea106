/* fuzz_record: the reading parser (gg_record_parse) on hostile Kafka messages.
 *
 * Input: one line of the sample data's form, "key<TAB>value"; without a TAB the whole input is
 * the value and the message has no key. Besides the sanitizers it checks the parser's promises:
 * exactly one known reason, a zeroed record and a message on rejection, and that an accepted
 * reading written back with gg_record_to_json parses again to the very same reading. */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "gg_record.h"

static void check_round_trip(const gg_record *r, const char *key, size_t keylen)
{
    json_t *env = gg_record_to_json(r);
    FUZZ_CHECK(env != NULL);
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    FUZZ_CHECK(text != NULL);
    gg_record again;
    char msg[256];
    gg_record_reason rc =
        gg_record_parse(key, keylen, text, strlen(text), 0, &again, msg, sizeof(msg));
    free(text);
    FUZZ_CHECK(rc == GG_RECORD_OK);
    FUZZ_CHECK(strcmp(again.station_id, r->station_id) == 0);
    FUZZ_CHECK(again.created_at_us == r->created_at_us);
    FUZZ_CHECK(again.aspect == r->aspect);
    FUZZ_CHECK(strcmp(again.unit, r->unit) == 0);
    FUZZ_CHECK(again.has_correlation_id == r->has_correlation_id);
    FUZZ_CHECK(strcmp(again.correlation_id, r->correlation_id) == 0);
    FUZZ_CHECK(again.modality == r->modality);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *tab = memchr(data, '\t', size);
    const uint8_t *key = tab ? data : NULL;
    size_t keylen = tab ? (size_t)(tab - data) : 0;
    const uint8_t *value = tab ? tab + 1 : data;
    size_t valuelen = tab ? size - keylen - 1 : size;

    gg_record r;
    char msg[200];
    /* A limit below some inputs' size, so the size check is reached too. */
    gg_record_reason rc = gg_record_parse(key, keylen, value, valuelen, 4096, &r, msg, sizeof(msg));
    FUZZ_CHECK((unsigned)rc < GG_RECORD_REASON_COUNT);
    FUZZ_CHECK(strcmp(gg_record_reason_code(rc), "unknown") != 0);
    if (rc != GG_RECORD_OK) {
        static const gg_record zero;
        FUZZ_CHECK(memcmp(&r, &zero, sizeof(r)) == 0);
        FUZZ_CHECK(msg[0] != '\0' && strlen(msg) < sizeof(msg));
        return 0;
    }
    FUZZ_CHECK(msg[0] == '\0');
    FUZZ_CHECK(gg_record_station_id_valid(r.station_id, strlen(r.station_id)));
    FUZZ_CHECK(r.created_at_us > 0 && r.created_at_us < GG_RECORD_CREATED_AT_MAX_US);
    FUZZ_CHECK(gg_aspect_name(r.aspect) != NULL);
    char when[GG_RECORD_CREATED_AT_BUFLEN];
    FUZZ_CHECK(gg_record_format_created_at(r.created_at_us, when, sizeof(when)) == 0);
    check_round_trip(&r, (const char *)key, keylen);
    return 0;
}
