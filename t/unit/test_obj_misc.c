/*
 * test_obj_misc.c — unit tests of the misc helpers, constants and small
 * objects of templates.md §7.13, §7.14, §7.17, §7.19 and §7.21 that live in
 * src/objects/obj_misc*.c, obj_crypto.c, obj_ratelimit.c and obj_cache.c:
 * tables of template → exact expected output rendered through render_text()
 * (Russian plurals of format_time_diff with the test clock, AES-256-GCM
 * known-answer vectors, sort_by_keys, qrencode, ip_rate_limit windows, the
 * undefined `env` of D13, the cache with TTL expiry).
 *
 * The database cases run on SQLite and, when BILLD_TEST_PG_URL is set, on
 * PostgreSQL, each in a transaction that is rolled back (billing_fixture.h).
 */
#include "billing_fixture.h"
#include "peers.h"

#include "core/promo.h"
#include "core/ratelimit.h"
#include "objects/objects_int.h"
#include "objects/render.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <unistd.h>

#include <jansson.h>

#define DANUK 40092

/* Renders src with r into a new string; *rc gets the status. Releases r. */
static char *render_with(struct render_ctx *rp, const char *src, int *rc, struct err *e)
{
    struct render_ctx r = *rp;
    struct buf out;
    buf_init(&out, 0);
    *rc = render_text(&r, "t", src, strlen(src), &out, e);
    render_ctx_release(&r);
    return buf_detach(&out, NULL);
}

/* Renders src as danuk from client_ip (may be NULL) into a new string; *rc gets the status. */
static char *render_ip(struct db *db, const char *ip, const char *src, int *rc, struct err *e)
{
    struct render_ctx r = { .db = db, .user_id = DANUK, .client_ip = ip };
    return render_with(&r, src, rc, e);
}

/* The render of src as user (admin flag) is want. */
static void expect_as(struct db *db, int64_t user, bool admin, const char *src, const char *want)
{
    struct err e = { 0 };
    int rc;
    struct render_ctx r = { .db = db, .user_id = user, .admin = admin };
    char *got = render_with(&r, src, &rc, &e);
    if (rc)
        fail_msg("render of %s failed: %s", src, e.msg);
    if (strcmp(got, want))
        fail_msg("%s\n  got:  \"%s\"\n  want: \"%s\"", src, got, want);
    free(got);
}

static void expect_ip(struct db *db, const char *ip, const char *src, const char *want)
{
    struct err e = { 0 };
    int rc;
    char *got = render_ip(db, ip, src, &rc, &e);
    if (rc)
        fail_msg("render of %s failed: %s", src, e.msg);
    if (strcmp(got, want))
        fail_msg("%s\n  got:  \"%s\"\n  want: \"%s\"", src, got, want);
    free(got);
}

static void expect(struct db *db, const char *src, const char *want)
{
    expect_ip(db, NULL, src, want);
}

/* The render of src fails with a message containing msg. */
static void expect_error(struct db *db, const char *src, const char *msg)
{
    struct err e = { 0 };
    int rc;
    char *got = render_ip(db, NULL, src, &rc, &e);
    if (rc == 0)
        fail_msg("render of %s succeeded: \"%s\"", src, got);
    if (!strstr(e.msg, msg))
        fail_msg("%s: error \"%s\" lacks \"%s\"", src, e.msg, msg);
    free(got);
}

struct vec {
    const char *src;
    const char *want;
};

static void run_vectors(struct db *db, const struct vec *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expect(db, v[i].src, v[i].want);
}

/* Now is 2017-01-01 00:00:00 UTC. */
static const struct vec time_diff_vectors[] = {
    { "{{ misc.utime_to_string(1485907190) }}|{{ misc.utime_to_string(1485907190, '%d.%m.%Y') }}|"
      "{{ misc.utime_to_string }}|{{ misc.utime_to_string(0, '%H:%M') }}",
      "2017-01-31 23:59:50|31.01.2017|2017-01-01 00:00:00|00:00" },
    { "{{ misc.format_time_diff('2017-01-02 00:00:00') }}", "1 день" },
    { "{{ misc.format_time_diff('2017-01-03 00:00:00') }}", "2 дня" },
    { "{{ misc.format_time_diff('2017-01-06 00:00:00') }}", "5 дней" },
    { "{{ misc.format_time_diff('2017-01-12 00:00:00') }}", "11 дней" },
    { "{{ misc.format_time_diff('2017-01-22 00:00:00') }}", "21 день" },
    { "{{ misc.format_time_diff('2017-01-23 00:00:00') }}", "22 дня" },
    { "Осталось: {{ misc.format_time_diff('2017-01-30 18:05:00') }}",
      "Осталось: 29 дней, 18 часов, 5 минут" },
    { "{{ misc.format_time_diff('2017-02-01 01:01:00') }}", "1 месяц, 1 час, 1 минута" },
    { "{{ misc.format_time_diff('2017-03-01 00:00:00') }}", "2 месяца" },
    { "{{ misc.format_time_diff('2018-06-15 11:21:00') }}", "1 год, 5 месяцев, 14 дней" },
    { "{{ misc.format_time_diff('2038-01-01 00:00:00') }}", "21 год" },
    { "{{ misc.format_time_diff('2017-01-01 02:03:00') }}", "2 часа, 3 минуты" },
    { "{{ misc.format_time_diff('2017-01-01 00:11:00') }}", "11 минут" },
    { "{{ misc.format_time_diff('2017-01-01 00:00:59') }}", "менее минуты" },
    { "{{ misc.format_time_diff('2016-12-31 23:00:00') }}", "1 час" },
    { "{{ misc.format_time_diff('2016-11-30 00:00:00') }}", "1 месяц, 2 дня" },
    { "[{{ misc.format_time_diff('soon') }}][{{ misc.format_time_diff() }}]"
      "[{{ misc.format_time_diff('2017-01-02') }}][{{ misc.format_time_diff('2017-01-02 10:00') }}]",
      "[][][][]" },
};

static void test_format_time_diff(void **state)
{
    struct db *db = DB(state);
    time_freeze(bf_at("2017-01-01 00:00:00"));
    run_vectors(db, time_diff_vectors, ARRAY_SIZE(time_diff_vectors));
    time_unfreeze();
}

#define K0 "0000000000000000000000000000000000000000000000000000000000000000"
#define IV0 "000000000000000000000000"
#define K16 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"

/* NIST GCM test case 13 (empty text: the tag alone) and vectors of an independent AES-GCM. */
static const struct vec aes_vectors[] = {
    { "{{ misc.encrypt_aes256_gcm_base64('', '" K0 "', '" IV0 "') }}",
      "AAAAAAAAAAAAAAAAUw+K+8dFNrmpY7TxxMtziw==" },
    { "{{ misc.encrypt_aes256_gcm_base64('Привет, мир', '" K16 "', 'cafebabefacedbaddecaf888') }}",
      "yv66vvrO263eyviIW4MiVbFqq1CBk+/kqVG0WzIl9A++lg64SURPzFJ75kVDrvnv" },
    { "{{ misc.encrypt_aes256_gcm_base64(data = 'hello', key = '" K16
      "', iv = 'cafebabefacedbaddecaf888', aad = 'hdr') }}",
      "yv66vvrO263eyviI43mfuQ7qTz5uFfMpadaVNjyIqLn6" },
    { "{{ misc.encrypt_aes256_gcm_base64('secret', '0123456789abcdef0123456789abcdef', "
      "'nonce-12byte') }}",
      "bm9uY2UtMTJieXRl/vBbkMmbMKe4i2SATd0MfenP1CsGyQ==" },
    /* a random iv: 12 + 5 + 16 bytes → 44 base64 characters, never twice the same */
    { "{{ a = misc.encrypt_aes256_gcm_base64('hello', '" K16 "') }}"
      "{{ b = misc.encrypt_aes256_gcm_base64('hello', '" K16 "') }}"
      "{{ a.length }}|{{ a == b ? 'same' : 'differ' }}",
      "44|differ" },
};

static void test_aes_gcm(void **state)
{
    struct db *db = DB(state);
    run_vectors(db, aes_vectors, ARRAY_SIZE(aes_vectors));
    expect_error(db, "{{ misc.encrypt_aes256_gcm_base64('x', 'short') }}",
                 "key must be 32 bytes or 64 hex digits");
    expect_error(db, "{{ misc.encrypt_aes256_gcm_base64('x') }}", "key is required");
    expect_error(db, "{{ misc.encrypt_aes256_gcm_base64('x', '" K0 "', 'abc') }}",
                 "iv must be 12 bytes or 24 hex digits");
}

/* NIST GCM test case 14: 16 zero bytes under the zero key and iv. */
static void test_aes_gcm_nist14(void **state)
{
    UNUSED(state);
    unsigned char key[32] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 }, out[12 + 16 + 16];
    assert_int_equal(obj_aes256gcm_seal(key, iv, NULL, 0, pt, sizeof(pt), out), 0);
    assert_memory_equal(out, iv, 12);
    assert_memory_equal(out + 12,
                        "\xce\xa7\x40\x3d\x4d\x60\x6b\x6e\x07\x4e\xc5\xd3\xba\xf3\x9d\x18", 16);
    assert_memory_equal(out + 28,
                        "\xd0\xd1\xc8\xa7\x99\x99\x6b\xf0\x26\x5b\x98\xb5\xd4\x8a\xb9\x19", 16);
}

#define PEOPLE "[{n => 'b', c => 10}, {n => 'a', c => 9}, {n => 'c', c => 10}, {c => 1}]"

static const struct vec list_vectors[] = {
    { "{{ FOR x IN misc.sort_by_keys(" PEOPLE ", 'c', 'n') }}{{ x.n }}{{ x.c }},{{ END }}",
      "1,a9,b10,c10," },
    { "{{ FOR x IN misc.sort_by_keys(" PEOPLE ", '-c', 'n') }}{{ x.n }}{{ x.c }},{{ END }}",
      "b10,c10,a9,1," },
    { "{{ FOR x IN misc.sort_by_keys(" PEOPLE ", 'n') }}{{ x.n }},{{ END }}", ",a,b,c," },
    { "{{ FOR x IN misc.sort_by_keys(" PEOPLE ") }}{{ x.n }},{{ END }}", "b,a,c,," },
    { "{{ FOR x IN misc.sort_by_keys([3, {k => 2}, 1], 'k') }}{{ x.k || x }},{{ END }}",
      "2,3,1," },
    { "[{{ misc.sort_by_keys('x', 'k') }}]", "[]" },
    { "{{ v = misc.get_random_value(['a', 'b', 'c']) }}{{ ['a', 'b', 'c'].grep('^' _ v _ '$').size }}|"
      "{{ misc.get_random_value(['only']) }}|{{ misc.get_random_value('x') }}|"
      "[{{ misc.get_random_value([]) }}]",
      "1|only|x|[]" },
};

static void test_sort_by_keys(void **state)
{
    struct db *db = DB(state);
    run_vectors(db, list_vectors, ARRAY_SIZE(list_vectors));
    struct err e = { 0 };
    int rc;
    /* misc.passgen: SHM's alphabet only */
    char *pw = render_ip(db, NULL, "{{ misc.passgen(200) }}|{{ misc.passgen.length }}|{{ misc.passgen(3).length }}",
                         &rc, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(strspn(pw, "ertpadfhkzxcbnmERTPADFHKZXCBNM123456789"), 200);
    assert_string_equal(pw + 200, "|10|3");
    free(pw);
    /* every element is drawn (missing one of three in 90 draws: p < 10^-15) */
    char *got = render_ip(db, NULL, "{{ FOR i IN [1..90] }}{{ misc.get_random_value(['a', 'b', 'c']) }}{{ END }}",
                          &rc, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(got), 90);
    assert_true(strchr(got, 'a') && strchr(got, 'b') && strchr(got, 'c'));
    free(got);
}

static const struct vec qr_vectors[] = {
    { "{{ q = misc.qrencode('https://vpn.example/sub/1') }}"
      "{{ q.success }}|{{ q.format }}|{{ q.text_length }}|{{ q.size > 100 ? 'ok' : 'bad' }}|"
      "{{ misc.encode_base64(q.data).substr(0, 11) }}",
      "1|PNG|25|ok|iVBORw0KGgo" },
    { "{{ q = misc.qrencode('x', format => 'svg') }}{{ q.format }}|{{ q.data.search('<svg') ? 1 : 0 }}",
      "SVG|1" },
    { "{{ misc.qrencode('').error }}", "No text provided" },
    { "{{ misc.qrencode('x', 'format', 'EPS').error }}", "Invalid format. Use PNG or SVG" },
    { "{{ misc.qrencode('x', size => 5).error }}",
      "QR encode failed: only the format option is supported" },
};

static void test_qrencode(void **state)
{
    struct db *db = DB(state);
    run_vectors(db, qr_vectors, ARRAY_SIZE(qr_vectors));
}

#define RL "{{ misc.ip_rate_limit('reg', '2/60') }}"

static void test_ip_rate_limit(void **state)
{
    struct db *db = DB(state);
    ratelimit_reset();
    time_freeze(bf_at("2017-01-01 00:00:00"));
    expect_ip(db, "203.0.113.7", RL RL RL RL, "0011");
    expect_ip(db, "203.0.113.8", RL, "0");                    /* another IP: its own count */
    expect_ip(db, "203.0.113.7", "{{ misc.ip_rate_limit('other', '1/60') }}", "0");
    expect_ip(db, NULL, RL RL RL, "000");                     /* no client IP: never limited */
    time_freeze(bf_at("2017-01-01 00:00:59"));
    expect_ip(db, "203.0.113.7", RL, "1");
    time_freeze(bf_at("2017-01-01 00:01:00"));                /* the window is over */
    expect_ip(db, "203.0.113.7", RL RL RL, "001");
    time_unfreeze();
    expect_error(db, "{{ misc.ip_rate_limit('k', '5') }}", "must be \"N/seconds\"");
    expect_error(db, "{{ misc.ip_rate_limit('k', '0/60') }}", "must be \"N/seconds\"");
    expect_error(db, "{{ misc.ip_rate_limit('k', '5/x') }}", "must be \"N/seconds\"");
    ratelimit_reset();
}

/* D13 (templates.md §7.19): env is not bound (undefined), whatever the process environment holds. */
static const struct vec env_const_vectors[] = {
    { "[{{ env }}][{{ env.DB_PASS }}][{{ env.HOME }}][{{ env.keys.join(',') }}]"
      "{{ env.defined ? 'bound' : 'undef' }}",
      "[][][][]undef" },
    { "{{ SUCCESS }}{{ FAIL }}[{{ STUCK }}]", "10[]" },
    { "{{ CLIENT_FIZ }}{{ CLIENT_JUR }}{{ CLIENT_IP }}{{ CLIENT_FIZ_NR }}{{ CLIENT_JUR_NR }}",
      "01234" },
    { "{{ GROUP_ID_LOCAL }}{{ GROUP_ID_MAIL }}", "12" },
    { "{{ STATUS_INIT }}|{{ STATUS_WAIT_FOR_PAY }}|{{ STATUS_PROGRESS }}|{{ STATUS_ACTIVE }}|"
      "{{ STATUS_BLOCK }}|{{ STATUS_REMOVED }}|{{ STATUS_ERROR }}",
      "INIT|NOT PAID|PROGRESS|ACTIVE|BLOCK|REMOVED|ERROR" },
    { "{{ EVENT_CREATE }}|{{ EVENT_NOT_ENOUGH_MONEY }}|{{ EVENT_BLOCK }}|{{ EVENT_BLOCK_FORCE }}|"
      "{{ EVENT_REMOVE }}|{{ EVENT_PROLONGATE }}|{{ EVENT_ACTIVATE }}|{{ EVENT_ACTIVATE_FORCE }}|"
      "{{ EVENT_CHANGED }}|{{ EVENT_CHANGED_TARIFF }}",
      "CREATE|NOT_ENOUGH_MONEY|BLOCK|BLOCK FORCE|REMOVE|PROLONGATE|ACTIVATE|ACTIVATE FORCE|"
      "CHANGED|CHANGED_TARIFF" },
    { "{{ TASK_NEW }}|{{ TASK_SUCCESS }}|{{ TASK_FAIL }}|{{ TASK_DELAYED }}|{{ TASK_STUCK }}|"
      "{{ TASK_PAUSED }}",
      "NEW|SUCCESS|FAIL|DELAYED|STUCK|PAUSED" },
};

/* §7.13: dump and the filter values as the hashes filter(…) translates (api.md §9.7). */
static const struct vec helper_vectors[] = {
    { "{{ dump({ b => [1, 'x'], a => undef_thing }) }}",
      "{\n  \"a\": null,\n  \"b\": [\n    1,\n    \"x\"\n  ]\n}" },
    { "{{ dump(undef_thing) }}|{{ dump('s') }}|{{ dump(5) }}", "undef|\"s\"|5" },
    /* SHM's html_escape: ' is &#39; */
    { "{{ misc.html_escape(\"<a href='/x'>&\\\"</a>\") }}",
      "&lt;a href=&#39;&#x2F;x&#39;&gt;&amp;&quot;&lt;&#x2F;a&gt;" },
    { "{{ misc.html_unescape('&lt;&#39;&#x27;&#x2F;&gt;') }}", "<''/>" },
    { "{{ toJson([isNull, null, isNotNull, isEmpty, isNotEmpty, true, false]) }}",
      "[{\"-op\":\"isnull\"},{\"-op\":\"isnull\"},{\"-op\":\"notnull\"},"
      "{\"-op\":\"empty\"},{\"-op\":\"notempty\"},{\"-op\":\"true\"},{\"-op\":\"false\"}]" },
    { "{{ toJson([isPositive, isNegative, isNonNegative, isNonPositive]) }}",
      "[{\"-op\":\"pos\"},{\"-op\":\"neg\"},{\"-op\":\"nonneg\"},{\"-op\":\"nonpos\"}]" },
    { "{{ toJson([lt(1), gt(2), le(3), ge(4), eq('a'), ne('b'), between(5, 6)]) }}",
      "[{\"-op\":\"lt\",\"v\":1},{\"-op\":\"gt\",\"v\":2},{\"-op\":\"le\",\"v\":3},"
      "{\"-op\":\"ge\",\"v\":4},{\"-op\":\"eq\",\"v\":\"a\"},{\"-op\":\"ne\",\"v\":\"b\"},"
      "{\"-op\":\"between\",\"v\":5,\"v2\":6}]" },
};

static void test_helpers(void **state)
{
    struct db *db = DB(state);
    run_vectors(db, helper_vectors, ARRAY_SIZE(helper_vectors));
}

/* logger (§7.17) and report.add_error write billd's log (stderr): captured into a file. */
static void test_logger(void **state)
{
    struct db *db = DB(state);
    char path[] = "/tmp/billd_test_logger_XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    log_set_level(LOG_DEBUG);
    expect(db, "[{{ logger.debug('d1') }}{{ logger.info('i \"q\"') }}{{ logger.warning('w1') }}"
               "{{ logger.error(msg => 'e1') }}{{ report.add_error('r1') }}]",
           "[]");
    log_set_level(LOG_INFO);
    expect(db, "{{ logger.debug('hidden') }}", "");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[4096] = { 0 };
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    const char *want[] = {
        "level=debug msg=\"template log\" text=\"d1\" user_id=40092",
        "level=info msg=\"template log\" text=\"i \\\"q\\\"\" user_id=40092",
        "level=warn msg=\"template log\" text=\"w1\" user_id=40092",
        "level=error msg=\"template log\" text=\"e1\" user_id=40092",
        "level=warn msg=\"template report\" text=\"r1\" user_id=40092",
    };
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        if (!strstr(text, want[i]))
            fail_msg("log lacks %s:\n%s", want[i], text);
    assert_null(strstr(text, "hidden"));
}

static void test_env_constants(void **state)
{
    struct db *db = DB(state);
    setenv("DB_PASS", "must-not-leak", 1);
    run_vectors(db, env_const_vectors, ARRAY_SIZE(env_const_vectors));
    unsetenv("DB_PASS");
}

/* The cache (templates.md §7.17): values, JSON, increment, delete, TTL expiry on the test clock. */
static const struct vec cache_vectors[] = {
    { "[{{ cache.get('k') }}]{{ cache.set('k', 'v1') }}|{{ cache.get('k') }}", "[]OK|v1" },
    { "{{ cache.set('k', 'v2', 10) }}|{{ cache.get('k') }}|{{ cache.get(key => 'k') }}", "OK|v2|v2" },
    { "{{ cache.set_json('j', {b => [1, 2], a => 'x'}) }}|{{ cache.get('j') }}|"
      "{{ cache.get_json('j').b.1 }}{{ cache.get_json('j').a }}",
      "OK|{\"a\":\"x\",\"b\":[1,2]}|2x" },
    { "[{{ cache.get_json('k') }}]", "[]" },
    { "{{ cache.increment('n') }}{{ cache.increment('n') }}{{ cache.increment('n', 5) }}|"
      "{{ cache.get('n') }}",
      "123|3" },
    { "{{ cache.delete('n') }}|[{{ cache.delete('n') }}][{{ cache.get('n') }}]", "3|[][]" },
    { "{{ cache.set('d', {x => 1}, 0) }}|{{ cache.delete_json('d').x }}", "OK|1" },
    { "[{{ cache.get('') }}][{{ cache.set('', 'x') }}][{{ cache.increment('') }}]", "[][][]" },
};

static int64_t expires_of(struct db *db, const char *key)
{
    struct db_value p[] = { DB_TEXT(key) };
    return bf_q_int(db, "SELECT COALESCE(expires, 0) FROM cache WHERE key = $1", p, 1);
}

static void test_cache(void **state)
{
    struct db *db = DB(state);
    int64_t t0 = bf_at("2017-01-01 00:00:00");
    time_freeze(t0);
    run_vectors(db, cache_vectors, ARRAY_SIZE(cache_vectors));
    assert_int_equal(expires_of(db, "k"), t0 + 10);
    expect(db, "{{ cache.set('default', 1) }}{{ cache.set('forever', 2, 0) }}"
               "{{ cache.increment('hits', 0) }}{{ cache.increment('hits2', 60) }}",
           "OKOK11");
    assert_int_equal(expires_of(db, "default"), t0 + 3600);
    assert_int_equal(expires_of(db, "forever"), 0);
    assert_int_equal(expires_of(db, "hits"), t0 + 3600);
    assert_int_equal(expires_of(db, "hits2"), t0 + 60);
    time_freeze(t0 + 9);
    expect(db, "{{ cache.get('k') }}|{{ cache.increment('hits2', 60) }}", "v2|2");
    assert_int_equal(expires_of(db, "hits2"), t0 + 69); /* increment renews the expiry */
    time_freeze(t0 + 10);                                 /* k expires at its 10th second */
    expect(db, "[{{ cache.get('k') }}][{{ cache.delete('k') }}]{{ cache.get('default') }}",
           "[][]1");
    time_freeze(t0 + 3600);
    expect(db, "[{{ cache.get('default') }}]{{ cache.get('forever') }}|{{ cache.increment('hits') }}",
           "[]2|1");                                      /* an expired counter starts again */
    /* writes sweep expired rows */
    assert_int_equal(bf_q_int(db, "SELECT count(*) FROM cache WHERE key = 'default'", NULL, 0), 0);
    time_freeze(t0 + 100000);
    expect(db, "{{ cache.get('forever') }}", "2");
    time_unfreeze();
}

static void test_cache_errors(void **state)
{
    struct db *db = DB(state);
    expect(db, "{{ cache.set('s', 'text') }}", "OK");
    expect_error(db, "{{ cache.increment('s') }}", "the value of s is not an integer");
    expect(db, "{{ cache.get('s') }}", "text");
    expect_error(db, "{{ cache.set('s', 'x', -1) }}", "ttl must be 0");
    expect_error(db, "{{ cache.increment('s', -5) }}", "ttl must be 0");
    expect_error(db, "{{ cache.set('k' _ 'x'.repeat(300), 'v') }}", "key must be 1 to 255");
    expect_error(db, "{{ cache.set('big', 'x'.repeat(1048577)) }}", "over 1048576 bytes");
    expect(db, "{{ cache.get('s') }}|[{{ cache.get('big') }}]", "text|[]");
}

/* report (templates.md §7.17): what a render leaves in render_ctx for the template endpoints. */
static void test_report(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    const char *src = "{{ x = report.status(201) }}{{ report.status }}|"
                      "{{ x = report.headers({ 'X-A' => 'a', 'X-N' => 7 }) }}"
                      "{{ report.headers.keys.sort.join(',') }}|{{ report.is_success }}|"
                      "[{{ report.add_error('bad', 'input') }}]|{{ report.error({ code => 3 }) }}|"
                      "{{ report.is_success }}";
    struct render_ctx r = { .db = db, .user_id = DANUK };
    struct buf out;
    buf_init(&out, 0);
    OK(render_text(&r, "t", src, strlen(src), &out, &e));
    assert_string_equal(out.data, "201|status,X-A,X-N|1|[]||0");
    assert_int_equal(r.report_status, 201);
    assert_string_equal(r.report_error, "bad input");
    char *h = json_dumps(r.report_headers, JSON_COMPACT | JSON_SORT_KEYS);
    char *errs = json_dumps(r.report_errors, JSON_COMPACT);
    assert_string_equal(h, "{\"X-A\":\"a\",\"X-N\":\"7\"}");
    assert_string_equal(errs, "[\"bad input\",{\"code\":3}]");
    free(h), free(errs);
    render_ctx_release(&r);
    assert_null(r.report_headers);
    assert_int_equal(r.report_status, 0);
    buf_free(&out);
    expect_error(db, "{{ x = report.headers({ 'Bad Name' => 'v' }) }}",
                 "header Bad Name is not allowed");
    expect_error(db, "{{ x = report.headers({ 'X-L' => [1] }) }}", "header X-L must be text");
    expect_error(db, "{{ x = report.status(600) }}", "600 is not an HTTP status");
}

/* currency.convert (other.md §14.4) with the rates of config `currencies`. */
static const struct vec currency_vectors[] = {
    { "{{ currency.convert(from = 'RUB', to = 'USD', amount = 1000) }}", "10.9" }, /* 10.8932 up */
    { "{{ currency.convert(from = 'USD', to = 'RUB', amount = 10.01) }}", "918.91" }, /* 918.918 down */
    { "{{ currency.convert('from', 'usd', 'to', 'eur', 'amount', 10) }}", "8.74" }, /* 8.7428 */
    { "{{ currency.convert(from = 'EUR', to = 'USD', amount = 1) }}", "1.14" },    /* 1.1437 */
    { "{{ currency.convert(to = 'XTR', amount = 100) }}", "66.67" },              /* fixed 1.5 */
    { "{{ currency.convert(from = 'XTR', amount = 3) }}", "4.5" },
    { "{{ currency.convert(from = 'RUB', to = 'rub', amount = 10.5) }}", "10.5" },
    { "[{{ currency.convert(from = 'GBP', to = 'RUB', amount = 1) }}]"
      "[{{ currency.convert(from = 'USD', to = 'RUB') }}][{{ currency.convert(to = 'BAD', amount = 1) }}]",
      "[][][]" },
    { "{{ currency.get_value('usd') }}|{{ currency.get_value('RUB') }}|{{ currency.get('EUR').value }}|"
      "[{{ currency.get_value('GBP') }}][{{ currency.get_value('BAD') }}]",
      "91.8|1|100|[][]" },
};

static void test_currency(void **state)
{
    struct db *db = DB(state);
    bf_q_exec(db, "DELETE FROM config WHERE key = 'currencies'");
    bf_q_exec(db, "INSERT INTO config (key, value) VALUES ('currencies', '{"
                  "\"USD\":{\"value\":90,\"addition_type\":\"percent\",\"addition_value\":2},"
                  "\"EUR\":{\"value\":100,\"addition_type\":\"numeric\",\"addition_value\":5},"
                  "\"XTR\":{\"value\":2,\"addition_type\":\"fixed\",\"addition_value\":1.5},"
                  "\"BAD\":{\"value\":\"x\"}}')");
    run_vectors(db, currency_vectors, ARRAY_SIZE(currency_vectors));
    /* the system currency changes which direction rounds up */
    bf_q_exec(db, "UPDATE config SET value = '{\"currency\":\"USD\"}' WHERE key = 'billing'");
    expect(db, "{{ currency.convert(from = 'USD', to = 'RUB', amount = 10.01) }}|"
               "{{ currency.convert(to = 'RUB', amount = 0.01) }}|"
               "{{ currency.convert(from = 'RUB', amount = 1000) }}",
           "918.92|0.92|10.89");
}

/* profile (templates.md §7.17): the user's own profiles only (D11). */
static void test_profile(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    bf_q_exec(db, "INSERT INTO users (user_id, login, password, created, balance, bonus, gid) "
                  "VALUES (40092, 'danuk', 'x', 1483228800, 0, 0, 0), "
                  "(40093, 'bob', 'x', 1483228800, 0, 0, 0)");
    bf_q_exec(db, "INSERT INTO profiles (id, user_id, data, created) VALUES "
                  "(501, 40092, '{\"name\":\"Danuk\",\"email\":\"d@example.org\"}', 1483228800), "
                  "(502, 40093, '{\"name\":\"Bob\"}', 1483228800)");
    time_freeze(bf_at("2017-02-01 10:00:00"));
    expect(db, "{{ FOR p IN profile.items }}{{ p.id }}:{{ p.data.name }}:{{ p.created }};{{ END }}"
               "{{ profile.list_for_api.0.data.email }}",
           "501:Danuk:2017-01-01 00:00:00;d@example.org");
    expect(db, "{{ profile.id(501).data.name }}|[{{ profile.id(502).data.name }}]"
               "[{{ profile.id(502) }}][{{ profile.id(9999) }}]",
           "Danuk|[][][]");
    expect(db, "{{ p = profile.add({ name => 'Второй', phone => '+7' }) }}{{ p.data.name }}|"
               "{{ p.user_id }}|{{ p.created }}|{{ profile.items.size }}",
           "Второй|40092|2017-02-01 10:00:00|2");
    /* filter / sort / limit (templates.md §7.0): only the user's rows; data is not filterable */
    expect(db, "{{ FOR p IN profile.rsort('created').items }}{{ p.data.name }};{{ END }}|"
               "{{ FOR p IN profile.filter(id = 501).list_for_api }}{{ p.data.name }};{{ END }}|"
               "{{ profile.filter(id = 502).items.size }}|"
               "{{ profile.sort('created').limit(1, 1).items.0.data.name }}|"
               "{{ profile.filter(created = gt('2017-01-15 00:00:00')).items.0.data.phone }}",
           "Второй;Danuk;|Danuk;|0|Второй|+7");
    expect_error(db, "{{ profile.filter(data = 1).items }}", "filter data");
    expect(db, "{{ x = profile.id(501).set_data(data => { name => 'New' }) }}{{ x }}|"
               "{{ profile.id(501).data.name }}|[{{ profile.id(502).set_data({ name => 'X' }) }}]",
           "1|New|[]");
    expect(db, "[{{ profile.id(502).delete }}]{{ profile.id(501).delete }}|{{ profile.items.size }}",
           "[]1|1");
    struct db_value p[] = { DB_INT(502) };
    assert_int_equal(bf_q_int(db, "SELECT count(*) FROM profiles WHERE id = $1", p, 1), 1);
    /* anonymous (public templates): no profiles, none added */
    const char *anon = "{{ profile.items.size }}{{ profile.add({ a => 1 }) }}";
    struct render_ctx r0 = { .db = db, .user_id = 0 };
    struct buf out;
    buf_init(&out, 0);
    assert_int_not_equal(render_text(&r0, "t", anon, strlen(anon), &out, &e), 0);
    assert_non_null(strstr(e.msg, "profile.add: no user"));
    render_ctx_release(&r0);
    buf_free(&out);
    expect_error(db, "{{ profile.add('x') }}", "the data must be a hash");
    time_unfreeze();
}

#define GEN "promo.generate(template_id => 'promo_bonus'"

/* promo (other.md §4): generation as PUT /admin/promo, codes visible to their creator (D11). */
static void test_promo(void **state)
{
    struct db *db = DB(state);
    bf_q_exec(db, "INSERT INTO templates (id, data) VALUES ('promo_bonus', 'bonus')");
    time_freeze(bf_at("2017-03-01 12:00:00"));
    expect(db, "{{ c = " GEN ", count => 2, prefix => 'TEST_', length => 6) }}"
               "{{ c.size }}|{{ c.0.substr(0, 5) }}|{{ c.0.length }}|{{ c.0 == c.1 ? 'same' : 'diff' }}|"
               "{{ c.0 == c.0.upper ? 'UP' : 'low' }}|{{ p = promo.id(c.1) }}{{ p.template_id }}|"
               "{{ p.user_id }}|{{ p.created }}|{{ p.settings.prefix }}|{{ p.settings.status }}|"
               "{{ p.settings.reusable }}|[{{ p.used }}][{{ p.expire }}]",
           "2|TEST_|11|diff|UP|promo_bonus|40092|2017-03-01 12:00:00|TEST_|1|0|[][]");
    expect(db, "{{ " GEN ", reusable => 1, code => 'SUMMER', quantity => 5, public => { title => 'Лето' }, "
               "expire => '2017-12-31 23:59:59', count => 7).join(',') }}|"
               "{{ p = promo.id('SUMMER') }}{{ p.settings.quantity }}|{{ p.settings.public.title }}|"
               "{{ p.settings.reusable }}|{{ p.expire }}|{{ promo.list_for_api.size }}",
           "SUMMER|5|Лето|1|2017-12-31 23:59:59|3");
    expect(db, "{{ " GEN ", reusable => 1).0.length }}", "10");
    /* a usage row of SUMMER by user 40093, later: not in 40093's own list; SUMMER stays danuk's */
    bf_q_exec(db, "INSERT INTO promo_codes (id, user_id, template_id, created) VALUES "
                  "('SUMMER', 40093, 'promo_bonus', 1490000000)");
    expect_as(db, 40093, false, "{{ promo.list_for_api.size }}[{{ promo.id('SUMMER') }}]", "0[]");
    expect_as(db, 1, true, "{{ promo.id('SUMMER').user_id }}", "40092");
    expect(db, "{{ promo.id('SUMMER').user_id }}|[{{ promo.id('NOPE') }}]", "40092|[]");
    expect_error(db, "{{ " GEN ", reusable => 1, code => 'SUMMER') }}", "Promo code SUMMER exists");
    expect_error(db, "{{ promo.generate(count => 1) }}", "Field template_id: required");
    expect_error(db, "{{ promo.generate(template_id => 'nope') }}", "Field template_id: template nope not found");
    expect_error(db, "{{ " GEN ", count => 0) }}", "Field count: must be 1 to 1000");
    expect_error(db, "{{ " GEN ", count => 1001) }}", "Field count: must be 1 to 1000");
    expect_error(db, "{{ " GEN ", prefix => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', length => 7) }}",
                 "exceed 32 characters");
    expect_error(db, "{{ " GEN ", expire => 'never') }}", "Field expire: not a date");
    struct db_value p[] = { DB_INT(DANUK) };
    assert_int_equal(bf_q_int(db, "SELECT count(*) FROM promo_codes WHERE user_id = $1", p, 1), 4);
    struct err e = { 0 };
    int rc;
    struct render_ctx anon = { .db = db, .user_id = 0 };
    char *got = render_with(&anon, "{{ " GEN ") }}", &rc, &e);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(e.msg, "promo.generate: no user"));
    free(got);
    time_unfreeze();
}

/*
 * user.promo (the codes a user created and applied) and user.mail (mail
 * queued for that user): per-user views, within the render's rights (D11).
 */
static void test_user_promo_mail(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    bf_q_exec(db, "INSERT INTO users (user_id, login, password, created, balance, bonus, gid) "
                  "VALUES (1, 'admin', 'x', 1483228800, 0, 0, 1), "
                  "(40092, 'danuk', 'x', 1483228800, 0, 0, 0), "
                  "(40093, 'bob', 'x', 1483228800, 0, 0, 0)");
    bf_q_exec(db, "INSERT INTO templates (id, data) VALUES ('promo_bonus', 'bonus')");
    bf_q_exec(db, "INSERT INTO promo_codes (id, user_id, template_id, created, settings) VALUES "
                  "('ONCE', 40092, 'promo_bonus', 1483228800, '{\"status\":1}'), "
                  "('MANY', 40092, 'promo_bonus', 1483228800, '{\"reusable\":1}'), "
                  "('BOBS', 40093, 'promo_bonus', 1483228800, NULL)");
    json_t *row = NULL;
    OK(promo_apply(db, "ONCE", 40093, bf_at("2017-03-01 12:00:00"), &row, &e));
    json_decref(row);
    OK(promo_apply(db, "MANY", 40093, bf_at("2017-03-02 12:00:00"), &row, &e));
    json_decref(row);
    expect_as(db, DANUK, false,
              "{{ FOR c IN user.promo.list_for_api }}{{ c.id }}:{{ c.used_by }};{{ END }}|"
              "{{ user.promo.applied.size }}|[{{ user(40093).promo }}]",
              "MANY:;ONCE:40093;|0|[]");
    expect_as(db, 40093, false,
              "{{ FOR c IN user.promo.applied }}{{ c.id }}@{{ c.used }};{{ END }}|"
              "{{ FOR c IN user.promo.list_for_api }}{{ c.id }};{{ END }}|"
              "[{{ user.promo.applied.0.template_id }}{{ user.promo.applied.0.settings }}]",
              "ONCE@2017-03-01 12:00:00;MANY@2017-03-02 12:00:00;|BOBS;|[]");
    expect_as(db, 1, true, "{{ user(40093).promo.applied.size }}|"
                           "{{ user(40092).promo.list_for_api.size }}|{{ promo.list_for_api.size }}",
              "2|2|0");

    /* user.mail: the task is the bound user's; another user's mail is undefined for a user */
    expect_as(db, DANUK, false, "[{{ user(40093).mail }}]", "[]");
    char *id = NULL;
    int rc;
    struct render_ctx adm = { .db = db, .user_id = 1, .admin = true };
    id = render_with(&adm, "{{ user(40093).mail.setup(subject = 'Hi').send('Body') }}", &rc, &e);
    if (rc)
        fail_msg("user.mail.send: %s", e.msg);
    struct db_value p[] = { DB_INT(strtoll(id, NULL, 10)) };
    assert_int_equal(bf_q_int(db, "SELECT user_id FROM spool WHERE id = $1", p, 1), 40093);
    free(id);
    id = render_with(&(struct render_ctx){ .db = db, .user_id = DANUK },
                     "{{ user.mail.send('x') }}", &rc, &e);
    OK(rc);
    struct db_value q[] = { DB_INT(strtoll(id, NULL, 10)) };
    assert_int_equal(bf_q_int(db, "SELECT user_id FROM spool WHERE id = $1", q, 1), DANUK);
    free(id);
}

static struct peer g_peer;

/* An s3 object on the HttpPeer with bucket into out. */
static void s3_of(const char *bucket, char *out, size_t len)
{
    snprintf(out, len,
             "s3.setup('AKID', 'SECRET', region = 'eu-1', bucket = '%s', "
             "endpoint = 'http://127.0.0.1:%d/')",
             bucket, g_peer.port);
}

/* The s3 object against the HttpPeer: path-style URL, SigV4 header, JSON / text / bytes, errors. */
static void test_s3(void **state)
{
    struct db *db = DB(state);
    struct err e = { 0 };
    int rc;
    char src[1024], s3[256];
    s3_of("bkt", s3, sizeof(s3));
    /* any other path: the peer answers the recorded request as JSON */
    snprintf(src, sizeof(src), "{{ r = %s.get('dir/a b+.json') }}{{ r.method }}|{{ r.path }}|"
             "{{ r.headers.authorization }}|{{ r.headers.item('x-amz-date').length }}", s3);
    char *got = render_ip(db, NULL, src, &rc, &e);
    if (rc)
        fail_msg("render: %s", e.msg);
    if (!strstr(got, "GET|/bkt/dir/a%20b%2B.json|AWS4-HMAC-SHA256 Credential=AKID/") ||
        !strstr(got, "/eu-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;"
                     "x-amz-date, Signature=") ||
        !strstr(got, "|16") || strstr(got, "SECRET"))
        fail_msg("s3 request: %s", got);
    free(got);
    s3_of("json", s3, sizeof(s3));
    snprintf(src, sizeof(src), "{{ %s.get('k').ok }}|{{ %s.get('k', 1).length > 20 }}", s3, s3);
    expect(db, src, "1|1");
    s3_of("text", s3, sizeof(s3));
    snprintf(src, sizeof(src), "{{ %s.get('k') }}", s3);
    expect(db, src, "plain answer");
    s3_of("status", s3, sizeof(s3));
    snprintf(src, sizeof(src), "[{{ %s.get('404') }}][{{ %s.get('403').defined }}]", s3, s3);
    expect(db, src, "[][]");
    expect_error(db, "{{ s3.setup('AK', 'SK').get('k') }}", "no bucket");
    expect_error(db, "{{ s3.setup(bucket = 'b').get('k') }}", "no access_key");
    expect_error(db, "{{ s3.setup('AK', 'SK', bucket = 'b').get('') }}", "no key");
}

int main(void)
{
    static const struct bf_case dbc[] = {
        { "format_time_diff", test_format_time_diff },
        { "aes_gcm", test_aes_gcm },
        { "sort_by_keys", test_sort_by_keys },
        { "qrencode", test_qrencode },
        { "ip_rate_limit", test_ip_rate_limit },
        { "env_constants", test_env_constants },
        { "helpers", test_helpers },
        { "logger", test_logger },
        { "cache", test_cache },
        { "cache_errors", test_cache_errors },
        { "report", test_report },
        { "currency", test_currency },
        { "profile", test_profile },
        { "promo", test_promo },
        { "user_promo_mail", test_user_promo_mail },
        { "s3", test_s3 },
    };
    static const struct bf_case pure[] = {
        { "aes_gcm_nist14", test_aes_gcm_nist14 },
    };
    if (peer_start(&g_peer, "HttpPeer", NULL))
        return 1;
    int rc = bf_run_all("obj_misc", "billd_test_obj_misc", pure, ARRAY_SIZE(pure), dbc,
                        ARRAY_SIZE(dbc));
    peer_stop(&g_peer);
    return rc;
}
