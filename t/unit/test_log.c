/*
 * test_log.c — the logfmt lines of log.c: log_request writes exactly what the
 * printf form of the access-log line wrote (field order, quoting, ms with
 * three decimals, the request id, " aborted=1"), and log_write's prefix.
 */
#include "common.h"
#include "util/log.h"

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

/* Runs fn with stderr redirected to a temporary file; returns what it wrote (owned). */
static char *capture(void (*fn)(void *), void *arg)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    fn(arg);
    dup2(saved, STDERR_FILENO);
    close(saved);
    long n = ftell(tmp);
    char *out = calloc(1, (size_t)n + 1);
    rewind(tmp);
    assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return out;
}

struct line {
    int status;
    int64_t ns;
    bool aborted;
    bool printf_form;
};

static void write_line(void *arg)
{
    const struct line *l = arg;
    char q[300];
    log_q(q, sizeof(q), "/shm/v1/user \"x\"");
    if (l->printf_form)
        log_write(LOG_INFO, "request", "method=%s path=%s status=%d ip=%s ms=%.3f%s", "GET", q,
                  l->status, "127.0.0.1", (double)l->ns / 1e6, l->aborted ? " aborted=1" : "");
    else
        log_request("GET", q, l->status, "127.0.0.1", l->ns, l->aborted);
}

/* The line without its "ts=… " field. */
static const char *after_ts(const char *s)
{
    assert_memory_equal(s, "ts=", 3);
    const char *sp = strchr(s, ' ');
    assert_non_null(sp);
    return sp + 1;
}

static void test_request_line_matches_printf_form(void **state)
{
    static const struct line cases[] = {
        { 200, 1234567, false, false }, { 404, 0, false, false },
        { 200, 999999999999, false, false }, { 500, 42000, true, false },
        { 0, 1000, false, false }, { -1, 7654321, false, false },
    };
    UNUSED(state);
    log_set_level(LOG_INFO);
    log_set_request_id("00002a");
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct line fast = cases[i], slow = cases[i];
        slow.printf_form = true;
        char *a = capture(write_line, &fast);
        char *b = capture(write_line, &slow);
        assert_string_equal(after_ts(a), after_ts(b));
        free(a);
        free(b);
    }
    log_set_request_id(NULL);
    struct line plain = { 200, 1500000, false, false };
    char *a = capture(write_line, &plain);
    assert_string_equal(after_ts(a), "level=info msg=\"request\" method=GET "
                                     "path=\"/shm/v1/user \\\"x\\\"\" status=200 ip=127.0.0.1 "
                                     "ms=1.500\n");
    free(a);
}

static void test_timestamp_format(void **state)
{
    regex_t re;
    UNUSED(state);
    struct line l = { 200, 1, false, false };
    log_set_level(LOG_INFO);
    char *a = capture(write_line, &l);
    assert_int_equal(regcomp(&re, "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\."
                                  "[0-9]{3}Z level=info msg=\"request\" ",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, a, 0, NULL, 0), 0);
    regfree(&re);
    free(a);
}

static void silent(void *arg)
{
    write_line(arg);
}

static void test_level_off_writes_nothing(void **state)
{
    struct line l = { 200, 1, false, false };
    UNUSED(state);
    log_set_level(LOG_WARN);
    char *a = capture(silent, &l);
    assert_string_equal(a, "");
    free(a);
    log_set_level(LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_line_matches_printf_form),
        cmocka_unit_test(test_timestamp_format),
        cmocka_unit_test(test_level_off_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
