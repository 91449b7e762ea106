/* Unit tests of ingest_cursor: base64url, page cursors (round trip, and everything else
 * refused), and the from/to time forms checked against libc's own calendar. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_cursor.h"

static void test_base64_known_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10, without padding. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char buf[32];
    unsigned char back[32];
    for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++) {
        size_t n = strlen(plain[i]);
        assert_int_equal(ingest_b64url_encode((const unsigned char *)plain[i], n, buf, sizeof(buf)),
                         (int)strlen(coded[i]));
        assert_string_equal(buf, coded[i]);
        assert_int_equal(ingest_b64_decode(coded[i], strlen(coded[i]), back, sizeof(back)), (int)n);
        assert_memory_equal(back, plain[i], n);
    }
    /* The URL alphabet out, both alphabets and padding in. */
    const unsigned char ff[] = {0xfb, 0xff, 0xbf};
    assert_int_equal(ingest_b64url_encode(ff, 3, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "-_-_");
    assert_int_equal(ingest_b64_decode("+/+/", 4, back, sizeof(back)), 3);
    assert_memory_equal(back, ff, 3);
    assert_int_equal(ingest_b64_decode("Zm8=", 4, back, sizeof(back)), 2);
}

static void test_base64_refuses_bad_text(void **state)
{
    (void)state;
    unsigned char out[16];
    char small[4];
    assert_int_equal(ingest_b64_decode("Zm9v!", 5, out, sizeof(out)), -1); /* alphabet */
    assert_int_equal(ingest_b64_decode("Z", 1, out, sizeof(out)), -1);     /* 6 bits only */
    assert_int_equal(ingest_b64_decode("Zh", 2, out, sizeof(out)), -1);    /* stray bits */
    assert_int_equal(ingest_b64_decode("Zm9vYmFy", 8, out, 5), -1);        /* no room */
    assert_int_equal(ingest_b64url_encode((const unsigned char *)"foo", 3, small, sizeof(small)),
                     -1);
}

static void test_base64_round_trips_random_bytes(void **state)
{
    (void)state;
    unsigned char data[64], back[64];
    char text[100];
    srand(11);
    for (int round = 0; round < 500; round++) {
        size_t n = (size_t)(rand() % 64);
        for (size_t i = 0; i < n; i++)
            data[i] = (unsigned char)rand();
        int len = ingest_b64url_encode(data, n, text, sizeof(text));
        assert_true(len >= 0);
        assert_null(strpbrk(text, "+/="));
        assert_int_equal(ingest_b64_decode(text, (size_t)len, back, sizeof(back)), (int)n);
        assert_memory_equal(back, data, n);
    }
}

static void test_cursor_round_trip(void **state)
{
    (void)state;
    const ingest_cursor cases[] = {
        {INT64_C(1764000000003235), "5f2dd97f-1cfb-40f6-a827-688de6a16a3b"},
        {0, "x"},
        {GG_RECORD_CREATED_AT_MAX_US, "INGESTION/3/9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char text[INGEST_CURSOR_BUFLEN];
        ingest_cursor back;
        assert_int_equal(ingest_cursor_encode(&cases[i], text, sizeof(text)), 0);
        assert_null(strpbrk(text, "+/=&?% "));
        assert_int_equal(ingest_cursor_decode(text, &back), 0);
        assert_int_equal(back.created_at_us, cases[i].created_at_us);
        assert_string_equal(back.id, cases[i].id);
    }
    ingest_cursor longest = {1, ""};
    memset(longest.id, 'a', INGEST_ID_MAX);
    char text[INGEST_CURSOR_BUFLEN];
    assert_int_equal(ingest_cursor_encode(&longest, text, sizeof(text)), 0);
    ingest_cursor back;
    assert_int_equal(ingest_cursor_decode(text, &back), 0);
    assert_int_equal(strlen(back.id), INGEST_ID_MAX);
}

/* A cursor from raw bytes, for forging bad ones. */
static void forge(const unsigned char *raw, size_t n, char *text, size_t len)
{
    assert_true(ingest_b64url_encode(raw, n, text, len) >= 0);
}

static void test_cursor_refuses_forgeries(void **state)
{
    (void)state;
    char text[INGEST_CURSOR_BUFLEN * 2];
    ingest_cursor c;
    const unsigned char ok[] = {1, 0, 0, 0, 0, 0, 0, 0, 5, 'a', 'b'};
    forge(ok, sizeof(ok), text, sizeof(text));
    assert_int_equal(ingest_cursor_decode(text, &c), 0);

    unsigned char bad[sizeof(ok)];
    memcpy(bad, ok, sizeof(ok));
    bad[0] = 2; /* unknown version */
    forge(bad, sizeof(bad), text, sizeof(text));
    assert_int_equal(ingest_cursor_decode(text, &c), -1);
    forge(ok, 9, text, sizeof(text)); /* no id */
    assert_int_equal(ingest_cursor_decode(text, &c), -1);
    memcpy(bad, ok, sizeof(ok));
    bad[1] = 0x80; /* negative time */
    forge(bad, sizeof(bad), text, sizeof(text));
    assert_int_equal(ingest_cursor_decode(text, &c), -1);
    memcpy(bad, ok, sizeof(ok));
    bad[10] = '\n'; /* not printable */
    forge(bad, sizeof(bad), text, sizeof(text));
    assert_int_equal(ingest_cursor_decode(text, &c), -1);
    assert_int_equal(ingest_cursor_decode("", &c), -1);
    assert_int_equal(ingest_cursor_decode("not a cursor!", &c), -1);
    memset(text, 'A', sizeof(text) - 1); /* far too long */
    text[sizeof(text) - 1] = '\0';
    assert_int_equal(ingest_cursor_decode(text, &c), -1);
    ingest_cursor empty = {1, ""};
    assert_int_equal(ingest_cursor_encode(&empty, text, sizeof(text)), -1);
}

static void expect_time(const char *text, int64_t want)
{
    int64_t us = -1;
    if (ingest_time_parse(text, &us) != 0)
        fail_msg("'%s' was refused", text);
    if (us != want)
        fail_msg("'%s' gave %lld, want %lld", text, (long long)us, (long long)want);
}

static void test_time_forms(void **state)
{
    (void)state;
    const int64_t t = INT64_C(1764000000) * 1000000; /* 2025-11-24T16:00:00Z */
    expect_time("1764000000", t);
    expect_time("1764000000.001471", t + 1471);
    expect_time("1764000000.5", t + 500000);
    expect_time("1764000000.0014719", t + 1471); /* cut, not rounded */
    expect_time("0", 0);
    expect_time("2025-11-24T16:00:00Z", t);
    expect_time("2025-11-24t16:00:00z", t);
    expect_time("2025-11-24T16:00:00.001471Z", t + 1471);
    expect_time("2025-11-24T18:00:00+02:00", t);
    expect_time("2025-11-24T10:30:00.25-05:30", t + 250000);
    expect_time("2025-11-24 18:00:00 02:00", t); /* '+' turned into a space by a form encoder */
    expect_time("2024-02-29T00:00:00Z", INT64_C(1709164800) * 1000000);
    expect_time("1969-12-31T23:59:59Z", -1000000);
}

static void test_time_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "now",
        "-5",
        "1764000000.",
        "1764000000.x",
        "1e9",
        " 1764000000",
        "99999999999999999999",
        "2025-11-24",
        "2025-11-24T16:00:00",
        "2025-11-24T16:00Z",
        "2025-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2025-11-31T00:00:00Z",
        "2025-11-24T24:00:00Z",
        "2025-11-24T16:60:00Z",
        "2025-11-24T16:00:60Z",
        "2025-11-24T16:00:00+2:00",
        "2025-11-24T16:00:00+24:00",
        "2025-11-24T16:00:00Zjunk",
        "25-11-24T16:00:00Z",
        "2025-11-24X16:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int64_t us;
        if (ingest_time_parse(bad[i], &us) != -1)
            fail_msg("'%s' was accepted", bad[i]);
    }
    int64_t us;
    assert_int_equal(ingest_time_parse(NULL, &us), -1);
}

static void test_time_agrees_with_libc(void **state)
{
    (void)state;
    srand(5);
    for (int i = 0; i < 3000; i++) {
        /* Years 1970 to 2199, any second, sometimes an offset. */
        int64_t sec = (int64_t)(((uint64_t)rand() << 16 ^ (uint64_t)rand()) % INT64_C(7258118400));
        int offset_min = (rand() % 3 == 0) ? (rand() % 1440) - 720 : 0;
        time_t local = (time_t)(sec + offset_min * 60);
        struct tm tm;
        char text[64], num[32];
        gmtime_r(&local, &tm);
        size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
        if (offset_min == 0)
            snprintf(text + n, sizeof(text) - n, "Z");
        else
            snprintf(text + n, sizeof(text) - n, "%c%02d:%02d", offset_min < 0 ? '-' : '+',
                     abs(offset_min) / 60, abs(offset_min) % 60);
        expect_time(text, sec * 1000000);
        snprintf(num, sizeof(num), "%lld", (long long)sec);
        expect_time(num, sec * 1000000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_known_vectors),
        cmocka_unit_test(test_base64_refuses_bad_text),
        cmocka_unit_test(test_base64_round_trips_random_bytes),
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_cursor_refuses_forgeries),
        cmocka_unit_test(test_time_forms),
        cmocka_unit_test(test_time_refusals),
        cmocka_unit_test(test_time_agrees_with_libc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
