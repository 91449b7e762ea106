/* Unit tests of the cache's Redis key layout: names, the prefix rule, and that every key of one
 * station lands in one Redis Cluster slot (computed here with the cluster's own CRC16 rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cache_keys.h"

/* CRC16-CCITT (XMODEM), the hash of Redis Cluster key slots. */
static uint16_t crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc = (uint16_t)(crc ^ ((unsigned)(unsigned char)buf[i] << 8));
        for (int b = 0; b < 8; b++) {
            unsigned next = (unsigned)crc << 1;
            if (crc & 0x8000)
                next ^= 0x1021;
            crc = (uint16_t)next;
        }
    }
    return crc;
}

/* The slot rule of the Redis Cluster specification: hash the part between the first '{' and
 * the next '}' when that part is non-empty, else the whole key. */
static unsigned key_slot(const char *key)
{
    size_t len = strlen(key);
    const char *open = strchr(key, '{');
    if (open) {
        const char *close = strchr(open + 1, '}');
        if (close && close > open + 1)
            return crc16(open + 1, (size_t)(close - open - 1)) & 16383;
    }
    return crc16(key, len) & 16383;
}

static void test_crc16_reference_value(void **state)
{
    (void)state;
    /* The check value the cluster specification gives for its CRC16. */
    assert_int_equal(crc16("123456789", 9), 0x31C3);
}

static void test_key_names(void **state)
{
    (void)state;
    char k[CACHE_KEY_MAX];
    assert_int_equal(cache_key_latest(k, "gg:", "3", GG_ASPECT_REAL_TIME),
                     strlen("gg:{3}:latest:real_time"));
    assert_string_equal(k, "gg:{3}:latest:real_time");
    cache_key_latest(k, "gg:", "3", GG_ASPECT_EDGE_PREDICTION);
    assert_string_equal(k, "gg:{3}:latest:edge_prediction");
    cache_key_recent(k, "p.", "s-1");
    assert_string_equal(k, "p.{s-1}:recent");
    cache_key_recent_ids(k, "", "7");
    assert_string_equal(k, "{7}:recent-ids");
    cache_key_index(k, "gg:");
    assert_string_equal(k, "gg:stations");
    cache_key_channel(k, "gg:");
    assert_string_equal(k, "gg:updates");
}

static void test_station_keys_share_a_slot(void **state)
{
    (void)state;
    const char *stations[] = {"1", "2", "3", "station.a_b-c", "0123456789"};
    char a[CACHE_KEY_MAX], b[CACHE_KEY_MAX], c[CACHE_KEY_MAX], d[CACHE_KEY_MAX];
    unsigned distinct = 0, first = 0;
    for (size_t i = 0; i < sizeof(stations) / sizeof(stations[0]); i++) {
        cache_key_latest(a, "gg:", stations[i], GG_ASPECT_REAL_TIME);
        cache_key_latest(b, "gg:", stations[i], GG_ASPECT_EDGE_PREDICTION);
        cache_key_recent(c, "gg:", stations[i]);
        cache_key_recent_ids(d, "gg:", stations[i]);
        unsigned slot = key_slot(a);
        assert_int_equal(key_slot(b), slot);
        assert_int_equal(key_slot(c), slot);
        assert_int_equal(key_slot(d), slot);
        assert_int_equal(slot, crc16(stations[i], strlen(stations[i])) & 16383);
        if (i == 0)
            first = slot;
        else if (slot != first)
            distinct++;
    }
    assert_true(distinct > 0); /* stations spread over slots: the tag is the station, not fixed */
}

static void test_longest_key_fits(void **state)
{
    (void)state;
    char prefix[CACHE_PREFIX_MAX + 1], station[GG_RECORD_STATION_MAX + 1], k[CACHE_KEY_MAX];
    memset(prefix, 'p', CACHE_PREFIX_MAX);
    prefix[CACHE_PREFIX_MAX] = '\0';
    memset(station, 's', GG_RECORD_STATION_MAX);
    station[GG_RECORD_STATION_MAX] = '\0';
    size_t n = cache_key_latest(k, prefix, station, GG_ASPECT_EDGE_PREDICTION);
    assert_int_equal(n, strlen(k));
    assert_int_equal(n, CACHE_PREFIX_MAX + 2 + GG_RECORD_STATION_MAX +
                            strlen(":latest:edge_prediction"));
}

static void test_prefix_check(void **state)
{
    (void)state;
    char why[128];
    assert_int_equal(cache_prefix_check("gg:", why, sizeof(why)), 0);
    assert_int_equal(cache_prefix_check("", why, sizeof(why)), 0);
    assert_int_equal(cache_prefix_check("tenant-1.cache_v2:", why, sizeof(why)), 0);
    const char *bad[] = {"g{g}:", "gg }", "a b", "x\n", "ü:", "a*"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(cache_prefix_check(bad[i], why, sizeof(why)), -1);
        assert_non_null(strstr(why, "A-Z"));
    }
    char longp[CACHE_PREFIX_MAX + 2];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(cache_prefix_check(longp, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "at most"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_reference_value),
        cmocka_unit_test(test_key_names),
        cmocka_unit_test(test_station_keys_share_a_slot),
        cmocka_unit_test(test_longest_key_fits),
        cmocka_unit_test(test_prefix_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
