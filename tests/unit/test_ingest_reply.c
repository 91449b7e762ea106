/* Unit tests of ingest_reply: which documents of a bulk insert count as stored, given replies
 * of the shapes the driver builds (successful, write errors, write concern errors, a
 * connection lost half way). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ingest_reply.h"

static void read_json(const char *json, bool ok, ingest_doc_result *out, size_t n)
{
    bson_error_t e;
    bson_t *reply = bson_new_from_json((const uint8_t *)json, -1, &e);
    if (!reply)
        fail_msg("bad test reply: %s", e.message);
    ingest_reply_read(reply, ok, out, n);
    bson_destroy(reply);
}

static void test_success_stores_everything(void **state)
{
    (void)state;
    ingest_doc_result r[3];
    read_json("{\"nInserted\": 3, \"nMatched\": 0}", true, r, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r[i].outcome, INGEST_OUTCOME_INSERTED);
}

static void test_write_errors_name_their_documents(void **state)
{
    (void)state;
    ingest_doc_result r[5];
    /* The shape FerretDB and MongoDB answer an unordered insert with two duplicates and one
     * refused document: the rest was inserted, and nInserted says so. */
    read_json("{\"nInserted\": 2, \"writeErrors\": ["
              "{\"index\": 1, \"code\": 11000, \"errmsg\": \"E11000 duplicate key\"},"
              "{\"index\": 3, \"code\": 121, \"errmsg\": \"Document failed validation\"},"
              "{\"index\": {\"$numberLong\": \"4\"}, \"code\": 11000, \"errmsg\": \"dup\"}]}",
              false, r, 5);
    assert_int_equal(r[0].outcome, INGEST_OUTCOME_INSERTED);
    assert_int_equal(r[1].outcome, INGEST_OUTCOME_DUPLICATE);
    assert_int_equal(r[2].outcome, INGEST_OUTCOME_INSERTED);
    assert_int_equal(r[3].outcome, INGEST_OUTCOME_ERROR);
    assert_int_equal(r[3].code, 121);
    assert_string_equal(r[3].why, "Document failed validation");
    assert_int_equal(r[4].outcome, INGEST_OUTCOME_DUPLICATE);
}

static void test_unaccounted_documents_are_written_again(void **state)
{
    (void)state;
    ingest_doc_result r[4];
    /* The connection broke after one of two internal batches: nInserted and the errors do not
     * add up, so the unnamed documents may or may not be stored. */
    read_json("{\"nInserted\": 1, \"writeErrors\": [{\"index\": 0, \"code\": 11000, \"errmsg\": "
              "\"dup\"}]}",
              false, r, 4);
    assert_int_equal(r[0].outcome, INGEST_OUTCOME_DUPLICATE);
    for (int i = 1; i < 4; i++)
        assert_int_equal(r[i].outcome, INGEST_OUTCOME_UNKNOWN);
    /* No reply at all (server selection failed). */
    read_json("{}", false, r, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].outcome, INGEST_OUTCOME_UNKNOWN);
}

static void test_write_concern_error_means_not_yet(void **state)
{
    (void)state;
    ingest_doc_result r[3];
    /* Written to the primary, but not acknowledged by the majority in time: not stored in the
     * sense that offsets may be committed. */
    read_json("{\"nInserted\": 2, \"writeErrors\": [{\"index\": 2, \"code\": 11000, \"errmsg\": "
              "\"dup\"}], \"writeConcernErrors\": [{\"code\": 64, \"errmsg\": \"waiting for "
              "replication timed out\"}]}",
              false, r, 3);
    assert_int_equal(r[0].outcome, INGEST_OUTCOME_UNKNOWN);
    assert_int_equal(r[1].outcome, INGEST_OUTCOME_UNKNOWN);
    assert_int_equal(r[2].outcome, INGEST_OUTCOME_DUPLICATE);
}

static void test_odd_write_errors_are_ignored(void **state)
{
    (void)state;
    ingest_doc_result r[2];
    /* Out of range, missing or repeated indexes name no document of this write. */
    read_json("{\"nInserted\": 1, \"writeErrors\": [{\"index\": 7, \"code\": 11000}, "
              "{\"code\": 11000}, {\"index\": 1, \"code\": 11000, \"errmsg\": \"a\"}, "
              "{\"index\": 1, \"code\": 2, \"errmsg\": \"b\"}, \"junk\"]}",
              false, r, 2);
    assert_int_equal(r[0].outcome, INGEST_OUTCOME_INSERTED);
    assert_int_equal(r[1].outcome, INGEST_OUTCOME_DUPLICATE);
}

static void test_transient_codes(void **state)
{
    (void)state;
    /* Not primary, shutting down, network: worth waiting for. */
    const int32_t transient[] = {91, 189, 10107, 11600, 11602, 13435, 6, 89, 9001, 64};
    for (size_t i = 0; i < sizeof(transient) / sizeof(*transient); i++)
        assert_true(ingest_reply_code_transient(transient[i]));
    /* Validation, bad values, duplicates: about the document itself. */
    const int32_t permanent[] = {121, 2, 11000, 0, 17419};
    for (size_t i = 0; i < sizeof(permanent) / sizeof(*permanent); i++)
        assert_false(ingest_reply_code_transient(permanent[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_stores_everything),
        cmocka_unit_test(test_write_errors_name_their_documents),
        cmocka_unit_test(test_unaccounted_documents_are_written_again),
        cmocka_unit_test(test_write_concern_error_means_not_yet),
        cmocka_unit_test(test_odd_write_errors_are_ignored),
        cmocka_unit_test(test_transient_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
