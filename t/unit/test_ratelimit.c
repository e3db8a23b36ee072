/*
 * test_ratelimit.c — unit tests of src/core/ratelimit.c, SHM's per-IP action
 * counters: exempt loopback and private ranges and TRUSTED_IPS entries
 * (whole entries only), fixed windows that start at the first hit, and
 * counters independent per bucket and per IP.
 */
#include "common.h"
#include "core/ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#define T0 INT64_C(1782944753)

static int reset_counters(void **state)
{
    UNUSED(state);
    ratelimit_reset();
    return 0;
}

static void test_exempt_ranges(void **state)
{
    static const char *exempt[] = {
        "127.0.0.1", "127.255.255.254", "127.1.2.3", "10.0.0.0", "10.1.2.3",
        "10.255.255.255", "172.16.0.1", "172.20.10.10", "172.31.255.255", "192.168.0.1",
        "192.168.255.254", "::1",
    };
    static const char *counted[] = {
        "8.8.8.8", "1.2.3.4", "11.0.0.1", "9.255.255.255", "126.255.255.255", "128.0.0.1",
        "172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.1", "100.64.0.1",
        "169.254.1.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::2", "fe80::1", "",
        "localhost", "not-an-ip", "10.0.0", "127.0.0.1.5",
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(exempt); i++)
        if (!ratelimit_exempt(exempt[i], NULL))
            fail_msg("%s should be exempt", exempt[i]);
    for (size_t i = 0; i < ARRAY_SIZE(counted); i++)
        if (ratelimit_exempt(counted[i], NULL))
            fail_msg("%s should not be exempt", counted[i]);
}

static void test_trusted_list(void **state)
{
    const char *trusted = "8.8.8.8, 1.2.3.4,2001:db8::7 ,, 203.0.113.9";
    UNUSED(state);
    assert_true(ratelimit_exempt("8.8.8.8", trusted));
    assert_true(ratelimit_exempt("1.2.3.4", trusted));
    assert_true(ratelimit_exempt("2001:db8::7", trusted));
    assert_true(ratelimit_exempt("203.0.113.9", trusted));
    /* whole entries only, never prefixes or suffixes */
    assert_false(ratelimit_exempt("8.8.8.80", trusted));
    assert_false(ratelimit_exempt("8.8.8", trusted));
    assert_false(ratelimit_exempt("1.2.3.45", trusted));
    assert_false(ratelimit_exempt("203.0.113.90", trusted));
    assert_false(ratelimit_exempt("2001:db8::", trusted));
    assert_false(ratelimit_exempt("9.9.9.9", trusted));
    assert_false(ratelimit_exempt("9.9.9.9", ""));
    assert_false(ratelimit_exempt("8.8.8.8", NULL));
    /* private ranges stay exempt with any list */
    assert_true(ratelimit_exempt("192.168.1.1", "8.8.8.8"));
    assert_true(ratelimit_exempt("10.0.0.1", ""));
}

static void test_count_hit_window(void **state)
{
    UNUSED(state);
    assert_int_equal(ratelimit_count("login", "203.0.113.5", T0), 0);
    for (int i = 1; i <= RATELIMIT_MAX; i++) {
        ratelimit_hit("login", "203.0.113.5", 180, T0 + i);
        assert_int_equal(ratelimit_count("login", "203.0.113.5", T0 + i), i);
    }
    /* the window is fixed at the first hit: later hits do not extend it */
    assert_int_equal(ratelimit_count("login", "203.0.113.5", T0 + 1 + 179), RATELIMIT_MAX);
    assert_int_equal(ratelimit_count("login", "203.0.113.5", T0 + 1 + 180), 0);
    assert_int_equal(ratelimit_count("login", "203.0.113.5", T0 + 10000), 0);
    /* a hit after expiry starts a new window at 1 */
    ratelimit_hit("login", "203.0.113.5", 60, T0 + 500);
    assert_int_equal(ratelimit_count("login", "203.0.113.5", T0 + 500), 1);
    assert_int_equal(ratelimit_count("login", "203.0.113.5", T0 + 559), 1);
    assert_int_equal(ratelimit_count("login", "203.0.113.5", T0 + 560), 0);
}

static void test_independent(void **state)
{
    UNUSED(state);
    ratelimit_hit("login", "198.51.100.1", 180, T0);
    ratelimit_hit("login", "198.51.100.1", 180, T0);
    ratelimit_hit("register", "198.51.100.1", 3600, T0);
    ratelimit_hit("login", "198.51.100.2", 180, T0);
    ratelimit_hit("login", "2001:db8::1", 180, T0);
    assert_int_equal(ratelimit_count("login", "198.51.100.1", T0), 2);
    assert_int_equal(ratelimit_count("register", "198.51.100.1", T0), 1);
    assert_int_equal(ratelimit_count("login", "198.51.100.2", T0), 1);
    assert_int_equal(ratelimit_count("login", "2001:db8::1", T0), 1);
    assert_int_equal(ratelimit_count("register", "198.51.100.2", T0), 0);
    assert_int_equal(ratelimit_count("login", "198.51.100.3", T0), 0);
    assert_int_equal(ratelimit_count("login", "198.51.100.10", T0), 0);
    /* login expires after 180 s, register keeps its own hour */
    assert_int_equal(ratelimit_count("login", "198.51.100.1", T0 + 180), 0);
    assert_int_equal(ratelimit_count("register", "198.51.100.1", T0 + 180), 1);
    assert_int_equal(ratelimit_count("register", "198.51.100.1", T0 + 3600), 0);
}

static void test_many_keys(void **state)
{
    char ip[32];
    UNUSED(state);
    for (int i = 0; i < 500; i++) {
        snprintf(ip, sizeof(ip), "203.0.%d.%d", i / 256, i % 256);
        for (int k = 0; k <= i % 3; k++)
            ratelimit_hit("login", ip, 180, T0);
    }
    for (int i = 0; i < 500; i++) {
        snprintf(ip, sizeof(ip), "203.0.%d.%d", i / 256, i % 256);
        if (ratelimit_count("login", ip, T0) != i % 3 + 1)
            fail_msg("%s: count %d, want %d", ip, ratelimit_count("login", ip, T0), i % 3 + 1);
    }
}

static void test_reset(void **state)
{
    UNUSED(state);
    ratelimit_hit("login", "203.0.113.7", 180, T0);
    assert_int_equal(ratelimit_count("login", "203.0.113.7", T0), 1);
    ratelimit_reset();
    assert_int_equal(ratelimit_count("login", "203.0.113.7", T0), 0);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_exempt_ranges, reset_counters),
        cmocka_unit_test_setup(test_trusted_list, reset_counters),
        cmocka_unit_test_setup(test_count_hit_window, reset_counters),
        cmocka_unit_test_setup(test_independent, reset_counters),
        cmocka_unit_test_setup(test_many_keys, reset_counters),
        cmocka_unit_test_setup(test_reset, reset_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
