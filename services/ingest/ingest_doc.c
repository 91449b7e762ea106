/* ingest_doc: a reading as a MongoDB document and back (see ingest_doc.h). */
#include "ingest_doc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *ingest_reason_code(int reason)
{
    if (reason == INGEST_REASON_STORE_REJECTED)
        return "store_rejected";
    if (reason < 0 || reason >= GG_RECORD_REASON_COUNT)
        return "unknown";
    return gg_record_reason_code((gg_record_reason)reason);
}

void ingest_doc_id(const gg_record *r, const ingest_origin *o, char *buf, size_t len)
{
    if (r->has_correlation_id)
        snprintf(buf, len, "%s", r->correlation_id);
    else
        snprintf(buf, len, "%s/%" PRId32 "/%" PRId64, o->topic, o->partition, o->offset);
}

/* Floor division: event times are after the epoch, but a date field read back from a store
 * written by something else may not be. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool ingest_doc_build(bson_t *doc, const gg_record *r, const ingest_origin *o,
                      int64_t ingested_at_ms)
{
    char id[INGEST_ID_MAX + 1];
    bson_t kafka;
    ingest_doc_id(r, o, id, sizeof(id));
    bool ok = BSON_APPEND_UTF8(doc, "_id", id) &&
              BSON_APPEND_UTF8(doc, "station_id", r->station_id) &&
              BSON_APPEND_DOUBLE(doc, "modality", r->modality) &&
              BSON_APPEND_UTF8(doc, "unit", r->unit) &&
              BSON_APPEND_UTF8(doc, "temporal_aspect", gg_aspect_name(r->aspect)) &&
              BSON_APPEND_DATE_TIME(doc, "created_at", floor_div(r->created_at_us, 1000)) &&
              BSON_APPEND_INT64(doc, "created_at_us", r->created_at_us);
    if (!ok)
        return false;
    ok = r->has_correlation_id ? BSON_APPEND_UTF8(doc, "correlation_id", r->correlation_id)
                               : BSON_APPEND_NULL(doc, "correlation_id");
    ok = ok && BSON_APPEND_INT32(doc, "schema_version", r->schema_version) &&
         BSON_APPEND_DOCUMENT_BEGIN(doc, "kafka", &kafka);
    if (!ok)
        return false;
    ok = BSON_APPEND_UTF8(&kafka, "topic", o->topic) &&
         BSON_APPEND_INT32(&kafka, "partition", o->partition) &&
         BSON_APPEND_INT64(&kafka, "offset", o->offset);
    ok = bson_append_document_end(doc, &kafka) && ok;
    return ok && BSON_APPEND_DATE_TIME(doc, "ingested_at", ingested_at_ms);
}

/* ---- back to JSON ------------------------------------------------------------------------ */

/* A whole number as a JSON integer (-204, not -204.0), as the cache and the producers write it:
 * every gridgate API gives a reading's modality the same text. Beyond 2^53 a double no longer
 * holds every integer, so those stay reals. */
static json_t *number_json(double v)
{
    if (nearbyint(v) == v && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* A BSON value as the JSON the REST replies use; NULL when its type has no place there. */
static json_t *value_json(const bson_iter_t *it)
{
    char buf[GG_TIME_BUFLEN];
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t n = 0;
        const char *s = bson_iter_utf8(it, &n);
        return json_stringn(s, n); /* NULL (rendered null) when not UTF-8 */
    }
    case BSON_TYPE_DOUBLE:
        return number_json(bson_iter_double(it));
    case BSON_TYPE_INT32:
        return json_integer(bson_iter_int32(it));
    case BSON_TYPE_INT64:
        return json_integer(bson_iter_int64(it));
    case BSON_TYPE_DATE_TIME:
        if (gg_time_format_ms(bson_iter_date_time(it), buf, sizeof(buf)) != 0)
            return NULL;
        return json_string(buf);
    default:
        return NULL;
    }
}

static json_t *field_json(const bson_t *doc, const char *path)
{
    bson_iter_t it;
    json_t *v = NULL;
    if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, path, &it))
        v = value_json(&it);
    return v ? v : json_null();
}

static int64_t field_int64(const bson_t *doc, const char *name, int *found)
{
    bson_iter_t it;
    *found = bson_iter_init_find(&it, doc, name) &&
             (BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it));
    return *found ? bson_iter_as_int64(&it) : 0;
}

json_t *ingest_doc_to_json(const bson_t *doc)
{
    char when[GG_TIME_BUFLEN];
    int have_us = 0;
    int64_t us = field_int64(doc, "created_at_us", &have_us);
    /* created_at_us is exact; the date field only has milliseconds. */
    json_t *created = have_us && gg_time_format_us(us, when, sizeof(when)) == 0
                          ? json_string(when)
                          : field_json(doc, "created_at");
    json_t *kafka =
        json_pack("{s:o, s:o, s:o}", "topic", field_json(doc, "kafka.topic"), "partition",
                  field_json(doc, "kafka.partition"), "offset", field_json(doc, "kafka.offset"));
    /* The reading as the cache serves it (same members, same order), then what the store adds. */
    json_t *out =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "station_id", field_json(doc, "station_id"),
                  "temporal_aspect", field_json(doc, "temporal_aspect"), "modality",
                  field_json(doc, "modality"), "unit", field_json(doc, "unit"), "created_at",
                  created, "created_at_us", have_us ? json_integer(us) : json_null());
    json_t *cid = field_json(doc, "correlation_id");
    if (out && !json_is_null(cid))
        json_object_set(out, "correlation_id", cid); /* absent when the producer sent none */
    json_decref(cid);
    json_t *stored =
        json_pack("{s:o, s:o, s:o}", "schema_version", field_json(doc, "schema_version"), "kafka",
                  kafka, "ingested_at", field_json(doc, "ingested_at"));
    if (out && stored)
        json_object_update(out, stored);
    json_decref(stored);
    return out;
}
