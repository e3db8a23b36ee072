/*
 * test_clock.c — unit tests of the test clock (DECISIONS D5) in
 * src/util/timeutil.c and its switch in src/util/config.c: time_now() reads
 * the real clock until time_freeze(), then returns exactly the frozen second
 * (also after a real second has passed, in every thread, backwards in time),
 * until time_unfreeze(); BILLD_TEST_CLOCK accepts 0 and 1 only, default 0.
 */
#include "common.h"
#include "util/config.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>

#include <cmocka.h>

/* 2024-03-01 12:00:00 UTC. */
#define T_MAR1 INT64_C(1709294400)

static int reset_clock(void **state)
{
    UNUSED(state);
    time_unfreeze();
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static void assert_real_now(void)
{
    int64_t before = (int64_t)time(NULL);
    int64_t now = time_now();
    int64_t after = (int64_t)time(NULL);
    assert_true(now >= before && now <= after);
}

static void test_real_by_default(void **state)
{
    UNUSED(state);
    assert_false(time_frozen());
    assert_real_now();
}

static void test_freeze_holds(void **state)
{
    UNUSED(state);
    time_freeze(T_MAR1);
    assert_true(time_frozen());
    assert_int_equal(time_now(), T_MAR1);
    usleep(1100 * 1000); /* a real second passes; the frozen one does not */
    assert_int_equal(time_now(), T_MAR1);
    assert_int_equal(time_now(), T_MAR1);
}

static void test_backwards_and_release(void **state)
{
    UNUSED(state);
    time_freeze(T_MAR1);
    time_freeze(T_MAR1 - 86400 * 365);
    assert_int_equal(time_now(), T_MAR1 - 86400 * 365);
    time_freeze(0);
    assert_true(time_frozen());
    assert_int_equal(time_now(), 0);
    time_unfreeze();
    assert_false(time_frozen());
    assert_real_now();
    time_unfreeze(); /* releasing twice is harmless */
    assert_false(time_frozen());
}

static void test_local_strings(void **state)
{
    char out[32];
    int64_t t = 0;
    UNUSED(state);
    setenv("TZ", "Europe/Moscow", 1);
    tzset();
    assert_int_equal(time_parse_local("2024-03-01 15:00:00", &t), 0);
    assert_int_equal(t, T_MAR1);
    time_freeze(t);
    time_format_local(time_now(), out, sizeof(out));
    assert_string_equal(out, "2024-03-01 15:00:00");
    time_format_ctime(time_now(), out, sizeof(out));
    assert_string_equal(out, "Fri Mar  1 15:00:00 2024");
}

static void *read_clock(void *arg)
{
    int64_t *out = arg;
    *out = time_now();
    return NULL;
}

static void *set_clock(void *arg)
{
    time_freeze(*(int64_t *)arg);
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t th;
    int64_t seen = 0, t = T_MAR1 + 7;
    UNUSED(state);
    time_freeze(T_MAR1);
    assert_int_equal(pthread_create(&th, NULL, read_clock, &seen), 0);
    pthread_join(th, NULL);
    assert_int_equal(seen, T_MAR1);
    assert_int_equal(pthread_create(&th, NULL, set_clock, &t), 0);
    pthread_join(th, NULL);
    assert_int_equal(time_now(), T_MAR1 + 7);
}

/* config_load with BILLD_TEST_CLOCK set to value (NULL = unset); returns its result. */
static int load_with(const char *value, struct config *c, struct err *e)
{
    setenv("BILLD_SECRET_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
           1);
    setenv("DATABASE_URL", "sqlite::memory:", 1);
    if (value)
        setenv("BILLD_TEST_CLOCK", value, 1);
    else
        unsetenv("BILLD_TEST_CLOCK");
    int rc = config_load(c, NULL, e);
    unsetenv("BILLD_TEST_CLOCK");
    unsetenv("BILLD_SECRET_KEY");
    unsetenv("DATABASE_URL");
    return rc;
}

static void test_config_flag(void **state)
{
    struct config c;
    struct err e = { 0 };
    UNUSED(state);
    assert_int_equal(load_with(NULL, &c, &e), 0);
    assert_false(c.test_clock);
    config_free(&c);
    assert_int_equal(load_with("", &c, &e), 0);
    assert_false(c.test_clock);
    config_free(&c);
    assert_int_equal(load_with("0", &c, &e), 0);
    assert_false(c.test_clock);
    config_free(&c);
    assert_int_equal(load_with("1", &c, &e), 0);
    assert_true(c.test_clock);
    config_free(&c);
    const char *bad[] = { "2", "yes", "-1", "1x" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(load_with(bad[i], &c, &e), ERR_INVALID);
        assert_non_null(strstr(e.msg, "BILLD_TEST_CLOCK must be an integer between 0 and 1"));
        config_free(&c);
    }
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_real_by_default, reset_clock),
        cmocka_unit_test_setup(test_freeze_holds, reset_clock),
        cmocka_unit_test_setup(test_backwards_and_release, reset_clock),
        cmocka_unit_test_setup(test_local_strings, reset_clock),
        cmocka_unit_test_setup(test_threads, reset_clock),
        cmocka_unit_test_setup(test_config_flag, reset_clock),
    };
    return cmocka_run_group_tests(tests, NULL, reset_clock);
}
