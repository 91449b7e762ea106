/* fuzz_ingest_body: the body of ingest's POST /v1/readings (ingest_post_items, then
 * ingest_post_check on every item: wire envelopes and readings in the read endpoints' shape),
 * everything the handler does before producing to Kafka.
 *
 * Checks: a body is either an array of 1..INGEST_POST_MAX_ITEMS items or refused with a reason;
 * an accepted item has a correlation id and a normalised envelope that the consumer's parser
 * accepts as the same reading (so nothing accepted here is dead-lettered later); a refused item
 * has a known reason and a message. */
#include <string.h>

#include "fuzz.h"
#include "gg_record.h"
#include "ingest_post.h"

#define MAX_MESSAGE_BYTES 4096

static void check_item(json_t *item)
{
    ingest_post_item it;
    memset(&it, 0, sizeof(it));
    ingest_post_check(item, MAX_MESSAGE_BYTES, &it);
    FUZZ_CHECK(it.reason >= 0 && it.reason < GG_RECORD_REASON_COUNT);
    if (it.reason != GG_RECORD_OK) {
        FUZZ_CHECK(it.why[0] != '\0' && it.value == NULL);
        return;
    }
    FUZZ_CHECK(it.value != NULL && it.rec.has_correlation_id);
    gg_record again;
    char why[200];
    gg_record_reason rc = gg_record_parse(it.rec.station_id, strlen(it.rec.station_id), it.value,
                                          strlen(it.value), 0, &again, why, sizeof(why));
    FUZZ_CHECK(rc == GG_RECORD_OK);
    FUZZ_CHECK(strcmp(again.station_id, it.rec.station_id) == 0);
    FUZZ_CHECK(strcmp(again.correlation_id, it.rec.correlation_id) == 0);
    FUZZ_CHECK(again.created_at_us == it.rec.created_at_us && again.aspect == it.rec.aspect);
    free(it.value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256] = "";
    const char *slug = NULL;
    json_t *items = ingest_post_items((const char *)data, size, &slug, why, sizeof(why));
    if (!items) {
        FUZZ_CHECK(slug != NULL && why[0] != '\0');
        return 0;
    }
    size_t n = json_array_size(items);
    FUZZ_CHECK(json_is_array(items) && n >= 1 && n <= INGEST_POST_MAX_ITEMS);
    for (size_t i = 0; i < n; i++)
        check_item(json_array_get(items, i));
    json_decref(items);
    return 0;
}
