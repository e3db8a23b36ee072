/*
 * test_buf.c — unit tests of src/util/buf.c: growth past the initial
 * capacity, the maximum size (ERR_LIMIT leaves the contents untouched),
 * printf-style appends, detach, the NUL terminator and binary data.
 */
#include "common.h"
#include "util/buf.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

/* Every buffer must keep data[len] == '\0' and len < cap. */
static void assert_invariants(const struct buf *b)
{
    assert_non_null(b->data);
    assert_true(b->len < b->cap);
    assert_int_equal(b->data[b->len], '\0');
}

static void test_init_empty(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 100);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    assert_string_equal(b.data, "");
    assert_invariants(&b);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_growth(void **state)
{
    struct buf b;
    char expect[5001];
    UNUSED(state);
    buf_init(&b, 0);
    size_t initial_cap = b.cap;
    for (int i = 0; i < 5000; i++) {
        char c = (char)('a' + i % 26);
        expect[i] = c;
        assert_int_equal(buf_putc(&b, c), 0);
        assert_int_equal(b.len, (size_t)i + 1);
        assert_invariants(&b);
    }
    expect[5000] = '\0';
    assert_true(b.cap > initial_cap);
    assert_string_equal(b.data, expect);

    /* one big append that needs several doublings at once */
    char *big = xmalloc(100000);
    memset(big, 'z', 100000);
    assert_int_equal(buf_append(&b, big, 100000), 0);
    assert_int_equal(b.len, 105000);
    assert_invariants(&b);
    assert_memory_equal(b.data, expect, 5000);
    assert_memory_equal(b.data + 5000, big, 100000);
    free(big);
    buf_free(&b);
}

static void test_puts_and_reset(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 0);
    assert_int_equal(buf_puts(&b, "hello"), 0);
    assert_int_equal(buf_putc(&b, ' '), 0);
    assert_int_equal(buf_puts(&b, "world"), 0);
    assert_int_equal(buf_puts(&b, ""), 0);
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_string_equal(b.data, "hello world");
    assert_int_equal(b.len, 11);
    size_t cap = b.cap;
    char *storage = b.data;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(b.cap, cap);
    assert_ptr_equal(b.data, storage);
    assert_int_equal(buf_puts(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    buf_free(&b);
}

static void test_max_exact_fit(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "hello"), 0);
    assert_int_equal(buf_puts(&b, "world"), 0); /* exactly 10 bytes */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    assert_int_equal(buf_append(&b, "", 0), 0); /* appending nothing at the cap is fine */
    assert_int_equal(buf_putc(&b, '!'), ERR_LIMIT);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "helloworld");
    buf_free(&b);
}

static void test_max_refuses_and_keeps_contents(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "hello"), 0);
    /* 5 + 6 > 10: refused whole, nothing partial is written */
    assert_int_equal(buf_puts(&b, "world!"), ERR_LIMIT);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "hello");
    assert_invariants(&b);
    assert_int_equal(buf_append(&b, "0123456789", 10), ERR_LIMIT);
    assert_int_equal(buf_printf(&b, "%s", "abcdef"), ERR_LIMIT);
    assert_int_equal(buf_printf(&b, "%d", 123456), ERR_LIMIT);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "hello");
    /* a smaller append still fits afterwards */
    assert_int_equal(buf_printf(&b, "%d", 12345), 0);
    assert_string_equal(b.data, "hello12345");
    buf_free(&b);

    /* a cap larger than the initial storage: refused only past max, not past cap */
    buf_init(&b, 200);
    char block[150];
    memset(block, 'x', sizeof(block));
    assert_int_equal(buf_append(&b, block, sizeof(block)), 0);
    assert_int_equal(buf_append(&b, block, 51), ERR_LIMIT);
    assert_int_equal(b.len, 150);
    assert_int_equal(buf_append(&b, block, 50), 0);
    assert_int_equal(b.len, 200);
    assert_invariants(&b);
    buf_free(&b);

    /* a huge length must not overflow the size arithmetic */
    buf_init(&b, 0);
    assert_int_equal(buf_puts(&b, "ab"), 0);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), ERR_LIMIT);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 2), ERR_LIMIT);
    assert_string_equal(b.data, "ab");
    buf_free(&b);
}

static void test_printf(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 0);
    assert_int_equal(buf_printf(&b, "%d-%s-%05.2f", 42, "x", 3.14159), 0);
    assert_string_equal(b.data, "42-x-03.14");
    assert_int_equal(b.len, strlen("42-x-03.14"));
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 10);
    /* output longer than the current capacity */
    assert_int_equal(buf_printf(&b, "|%0300d|", 7), 0);
    assert_int_equal(b.len, 10 + 302);
    assert_int_equal(b.data[10], '|');
    assert_int_equal(b.data[11], '0');
    assert_int_equal(b.data[310], '7');
    assert_int_equal(b.data[311], '|');
    assert_invariants(&b);
    assert_int_equal(buf_printf(&b, "%lld", (long long)INT64_MIN), 0);
    assert_string_equal(b.data + 312, "-9223372036854775808");
    buf_free(&b);
}

/* Output that exactly fills the free space, and one byte more (formatted a second time). */
static void test_printf_at_capacity(void **state)
{
    struct buf b;
    UNUSED(state);
    buf_init(&b, 0);
    size_t room = b.cap - b.len - 1;
    assert_int_equal(buf_printf(&b, "%0*d", (int)room, 5), 0);
    assert_int_equal(b.len, room);
    assert_int_equal(b.data[room - 1], '5');
    assert_invariants(&b);
    buf_reset(&b);
    room = b.cap - 1;
    assert_int_equal(buf_printf(&b, "%0*d", (int)room + 1, 6), 0);
    assert_int_equal(b.len, room + 1);
    assert_int_equal(b.data[room], '6');
    assert_int_equal(b.data[0], '0');
    assert_invariants(&b);
    buf_free(&b);

    /* fits in the storage but not under max: refused, contents and terminator intact */
    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_int_equal(buf_printf(&b, "%s", "defghi"), ERR_LIMIT);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    assert_int_equal(buf_printf(&b, "%s", "defgh"), 0);
    assert_string_equal(b.data, "abcdefgh");
    buf_free(&b);
}

static void test_detach(void **state)
{
    struct buf b;
    size_t len = 99;
    UNUSED(state);
    buf_init(&b, 50);
    assert_int_equal(buf_puts(&b, "owned text"), 0);
    char *s = buf_detach(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "owned text");
    assert_int_equal(len, 10);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(s);
    buf_free(&b); /* a released buffer may be freed again */

    /* re-initialised, it works as new */
    buf_init(&b, 50);
    assert_int_equal(buf_puts(&b, "second"), 0);
    s = buf_detach(&b, NULL);
    assert_string_equal(s, "second");
    free(s);

    /* detaching an empty buffer gives an empty string, not NULL */
    buf_init(&b, 0);
    len = 99;
    s = buf_detach(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
}

static void test_binary(void **state)
{
    static const char bin[] = { 'a', '\0', 'b', '\0', '\xff', '\x01' };
    struct buf b;
    size_t len = 0;
    UNUSED(state);
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, bin, sizeof(bin)), 0);
    assert_int_equal(buf_putc(&b, '\0'), 0);
    assert_int_equal(b.len, sizeof(bin) + 1);
    assert_memory_equal(b.data, bin, sizeof(bin));
    assert_int_equal(b.data[sizeof(bin)], '\0');
    assert_invariants(&b);
    assert_int_equal(strlen(b.data), 1); /* as a C string it stops at the first NUL */
    char *s = buf_detach(&b, &len);
    assert_int_equal(len, sizeof(bin) + 1);
    assert_memory_equal(s, bin, sizeof(bin));
    assert_int_equal(s[len], '\0'); /* the terminator survives detach */
    free(s);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_puts_and_reset),
        cmocka_unit_test(test_max_exact_fit),
        cmocka_unit_test(test_max_refuses_and_keeps_contents),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_at_capacity),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
