/*
 * test_config.c — unit tests of src/util/config.c: defaults with an empty
 * environment, LISTEN forms ("host:port", ":port", "port", "[v6]:port") and
 * bad ports, each invalid variable refused with a message naming it, and the
 * env-file loader (comments, quotes, export prefix, real environment wins,
 * missing file, malformed line reported as file:line).
 *
 * Every test starts and ends with the configuration variables unset.
 */
#include "common.h"
#include "util/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *config_vars[] = {
    "DATABASE_URL", "LISTEN", "TZ", "WORKERS_COUNT", "LOG_LEVEL", "BILLD_ADMIN_PASSWORD",
    "TRUSTED_IPS", "MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_IP", "IDLE_TIMEOUT",
    "MIN_PASSWORD_LENGTH",
    /* set by the env-files of these tests */
    "BILLD_T_PLAIN", "BILLD_T_EXPORT", "BILLD_T_DQ", "BILLD_T_SQ", "BILLD_T_EMPTY",
    "BILLD_T_SPACED", "BILLD_T_HASH", "BILLD_T_MISMATCH", "BILLD_T_REAL", "BILLD_T_CRLF",
    "BILLD_T_BEFORE", "BILLD_T_AFTER",
};

static char g_dir[64];

static void clear_env(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(config_vars); i++)
        unsetenv(config_vars[i]);
    /* a fixed identity key: config_load would otherwise create var/secret.key here */
    unsetenv("BILLD_SECRET_KEY_FILE");
    unsetenv("BILLD_SECRET_KEY_OLD");
    setenv("BILLD_SECRET_KEY", "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed", 1);
}

static int setup(void **state)
{
    UNUSED(state);
    clear_env();
    return 0;
}

static int teardown(void **state)
{
    UNUSED(state);
    clear_env();
    tzset();
    return 0;
}

static int group_setup(void **state)
{
    UNUSED(state);
    snprintf(g_dir, sizeof(g_dir), "/tmp/billd_test_config.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    static const char *files[] = { "good.env", "wins.env", "bad.env" };
    char path[128];
    UNUSED(state);
    /* the tests unlink their files; a failed test leaves them for here */
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", g_dir, files[i]);
        unlink(path);
    }
    rmdir(g_dir);
    return 0;
}

/* Writes text to a file in the test directory and returns its path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* config_load must fail with ERR_INVALID and a message containing each of the words. */
static void assert_load_fails(const char *env_file, const char *word1, const char *word2)
{
    struct config c;
    struct err e = { 0 };
    int rc = config_load(&c, env_file, &e);
    config_free(&c);
    if (rc != ERR_INVALID)
        fail_msg("config_load = %d, want ERR_INVALID", rc);
    if (!strstr(e.msg, word1) || (word2 && !strstr(e.msg, word2)))
        fail_msg("message \"%s\" lacks \"%s\"/\"%s\"", e.msg, word1, word2 ? word2 : "");
}

/* Sets one variable, expects config_load to refuse it naming the variable. */
static void assert_var_invalid(const char *name, const char *value)
{
    setenv(name, value, 1);
    assert_load_fails(NULL, name, value);
    unsetenv(name);
}

static void test_defaults(void **state)
{
    struct config c;
    struct err e = { 0 };
    UNUSED(state);
    assert_int_equal(config_load(&c, NULL, &e), 0);
    assert_string_equal(c.database_url, "sqlite://var/billd.db");
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.tz, "UTC");
    assert_string_equal(getenv("TZ"), "UTC");
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_null(c.admin_password);
    assert_null(c.trusted_ips);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.max_connections_per_ip, 512);
    assert_int_equal(c.idle_timeout, 30);
    assert_int_equal(c.min_password_length, 8);
    assert_int_equal(c.max_body, 1024 * 1024);
    assert_int_equal(c.max_body_large, 16 * 1024 * 1024);
    assert_int_equal(c.header_memory, 64 * 1024);
    config_free(&c);
    assert_null(c.database_url);
}

static void test_empty_values_are_defaults(void **state)
{
    struct config c;
    struct err e = { 0 };
    UNUSED(state);
    setenv("DATABASE_URL", "", 1);
    setenv("WORKERS_COUNT", "", 1);
    setenv("LISTEN", "", 1);
    setenv("LOG_LEVEL", "", 1);
    setenv("BILLD_ADMIN_PASSWORD", "", 1);
    assert_int_equal(config_load(&c, NULL, &e), 0);
    assert_string_equal(c.database_url, "sqlite://var/billd.db");
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.listen_port, 8080);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_null(c.admin_password);
    config_free(&c);
}

static void test_values_from_env(void **state)
{
    struct config c;
    struct err e = { 0 };
    UNUSED(state);
    setenv("DATABASE_URL", "postgresql://billd:pw@db.example:5432/billd?sslmode=require", 1);
    setenv("LISTEN", "0.0.0.0:9000", 1);
    setenv("TZ", "Europe/Moscow", 1);
    setenv("WORKERS_COUNT", "16", 1);
    setenv("LOG_LEVEL", "WARNING", 1);
    setenv("BILLD_ADMIN_PASSWORD", "adm1n-pass", 1);
    setenv("TRUSTED_IPS", "8.8.8.8,1.1.1.1", 1);
    setenv("MAX_CONNECTIONS", "100", 1);
    setenv("MAX_CONNECTIONS_PER_IP", "10", 1);
    setenv("IDLE_TIMEOUT", "3600", 1);
    setenv("MIN_PASSWORD_LENGTH", "12", 1);
    assert_int_equal(config_load(&c, NULL, &e), 0);
    assert_string_equal(c.database_url,
                        "postgresql://billd:pw@db.example:5432/billd?sslmode=require");
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.tz, "Europe/Moscow");
    assert_string_equal(getenv("TZ"), "Europe/Moscow");
    assert_int_equal(c.workers, 16);
    assert_int_equal(c.log_level, LOG_WARN);
    assert_string_equal(c.admin_password, "adm1n-pass");
    assert_string_equal(c.trusted_ips, "8.8.8.8,1.1.1.1");
    assert_int_equal(c.max_connections, 100);
    assert_int_equal(c.max_connections_per_ip, 10);
    assert_int_equal(c.idle_timeout, 3600);
    assert_int_equal(c.min_password_length, 12);
    config_free(&c);

    /* the other accepted forms of the URL and of the integer bounds */
    setenv("DATABASE_URL", "sqlite:///var/lib/billd/billd.db", 1);
    setenv("WORKERS_COUNT", "2", 1);
    setenv("LOG_LEVEL", "debug", 1);
    assert_int_equal(config_load(&c, NULL, &e), 0);
    assert_string_equal(c.database_url, "sqlite:///var/lib/billd/billd.db");
    assert_int_equal(c.workers, 2);
    assert_int_equal(c.log_level, LOG_DEBUG);
    config_free(&c);
    setenv("DATABASE_URL", "postgres://u@h/db", 1);
    setenv("WORKERS_COUNT", "256", 1);
    setenv("LOG_LEVEL", "off", 1);
    assert_int_equal(config_load(&c, NULL, &e), 0);
    assert_string_equal(c.database_url, "postgres://u@h/db");
    assert_int_equal(c.workers, 256);
    assert_int_equal(c.log_level, LOG_OFF);
    config_free(&c);
}

/* Fills c with the defaults, as config_load does before reading LISTEN. */
static void listen_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
    c->listen_port = 8080;
}

static void assert_listen(const char *s, const char *host, int port)
{
    struct config c;
    struct err e = { 0 };
    listen_defaults(&c);
    int rc = config_parse_listen(&c, s, &e);
    if (rc != 0)
        fail_msg("config_parse_listen(\"%s\") = %d: %s", s, rc, e.msg);
    if (strcmp(c.listen_host, host) != 0 || c.listen_port != port)
        fail_msg("config_parse_listen(\"%s\") = %s port %d, want %s port %d", s, c.listen_host,
                 c.listen_port, host, port);
}

static void assert_listen_bad(const char *s)
{
    struct config c;
    struct err e = { 0 };
    listen_defaults(&c);
    int rc = config_parse_listen(&c, s, &e);
    if (rc != ERR_INVALID)
        fail_msg("config_parse_listen(\"%s\") = %d (%s:%d), want ERR_INVALID", s, rc,
                 c.listen_host, c.listen_port);
    assert_non_null(strstr(e.msg, "LISTEN"));
    assert_int_equal(c.listen_port, 8080);
}

static void test_listen(void **state)
{
    UNUSED(state);
    assert_listen("0.0.0.0:9000", "0.0.0.0", 9000);
    assert_listen(":9000", "127.0.0.1", 9000); /* the host keeps its default */
    assert_listen("9000", "127.0.0.1", 9000);
    assert_listen("[::1]:8080", "::1", 8080);
    assert_listen("[::]:80", "::", 80);
    assert_listen("localhost:1", "localhost", 1);
    assert_listen("10.0.0.5:65535", "10.0.0.5", 65535);
    assert_listen_bad("0.0.0.0:0");
    assert_listen_bad("0.0.0.0:65536");
    assert_listen_bad("0.0.0.0:");
    assert_listen_bad("0.0.0.0:http");
    assert_listen_bad("0.0.0.0:80x");
    assert_listen_bad("0.0.0.0:-80");
    assert_listen_bad("0.0.0.0: 80");
    assert_listen_bad("");
    assert_listen_bad(":");
    assert_listen_bad("[::1]");
    assert_listen_bad("99999999999999999999");

    /* through the environment */
    struct config c;
    struct err e = { 0 };
    setenv("LISTEN", "[::1]:8081", 1);
    assert_int_equal(config_load(&c, NULL, &e), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 8081);
    config_free(&c);
    assert_var_invalid("LISTEN", "127.0.0.1:70000");
}

static void test_listen_host_too_long(void **state)
{
    struct config c;
    struct err e = { 0 };
    char s[128];
    UNUSED(state);
    listen_defaults(&c);
    snprintf(s, sizeof(s), "%0100d:80", 0);
    assert_int_equal(config_parse_listen(&c, s, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "LISTEN"));
    assert_string_equal(c.listen_host, "127.0.0.1");
}

static void test_invalid_workers(void **state)
{
    UNUSED(state);
    assert_var_invalid("WORKERS_COUNT", "x");
    assert_var_invalid("WORKERS_COUNT", "1");
    assert_var_invalid("WORKERS_COUNT", "257");
    assert_var_invalid("WORKERS_COUNT", "-4");
    assert_var_invalid("WORKERS_COUNT", "4 ");
    assert_var_invalid("WORKERS_COUNT", "4.0");
    assert_var_invalid("WORKERS_COUNT", "99999999999999999999");
    assert_var_invalid("MAX_CONNECTIONS", "15");
    assert_var_invalid("MAX_CONNECTIONS_PER_IP", "0");
    assert_var_invalid("IDLE_TIMEOUT", "3601");
    assert_var_invalid("MIN_PASSWORD_LENGTH", "0");
}

static void test_invalid_log_level(void **state)
{
    UNUSED(state);
    assert_var_invalid("LOG_LEVEL", "verbose");
    assert_var_invalid("LOG_LEVEL", "information");
    assert_var_invalid("LOG_LEVEL", "1");
}

static void test_invalid_tz(void **state)
{
    UNUSED(state);
    assert_var_invalid("TZ", "Mars/Olympus_Mons");
    assert_var_invalid("TZ", "../../../etc/passwd");
    assert_var_invalid("TZ", "Europe/../../../../etc/passwd");
    assert_var_invalid("TZ", "UTC+3");
    assert_var_invalid("TZ", "Europe"); /* a directory of zones, not a zone */
    assert_var_invalid("TZ", "Europe/");
    char longtz[100];
    memset(longtz, 'A', sizeof(longtz) - 1);
    longtz[sizeof(longtz) - 1] = '\0';
    setenv("TZ", longtz, 1);
    assert_load_fails(NULL, "TZ", NULL);
}

static void test_invalid_database_url(void **state)
{
    UNUSED(state);
    assert_var_invalid("DATABASE_URL", "mysql://u@h/db");
    assert_var_invalid("DATABASE_URL", "var/billd.db");
    assert_var_invalid("DATABASE_URL", "SQLITE:///x.db");
    assert_var_invalid("DATABASE_URL", "postgresql:/h/db");
}

static void test_env_file(void **state)
{
    struct config c;
    struct err e = { 0 };
    UNUSED(state);
    const char *path = write_file("good.env",
                                  "# billd settings\n"
                                  "\n"
                                  "   # an indented comment\n"
                                  "BILLD_T_PLAIN=plain value\n"
                                  "export BILLD_T_EXPORT=exported\n"
                                  "BILLD_T_DQ=\"double quoted\"\n"
                                  "BILLD_T_SQ='single # not a comment'\n"
                                  "BILLD_T_EMPTY=\n"
                                  "  BILLD_T_SPACED  =  spaced out  \n"
                                  "BILLD_T_HASH=a=b#c\n"
                                  "BILLD_T_MISMATCH=\"half'\n"
                                  "BILLD_T_CRLF=dos\r\n"
                                  "WORKERS_COUNT=7\n"
                                  "LISTEN=0.0.0.0:9001\n"
                                  "TZ=Europe/Moscow\n");
    assert_int_equal(config_load(&c, path, &e), 0);
    assert_int_equal(c.workers, 7);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9001);
    assert_string_equal(c.tz, "Europe/Moscow");
    assert_string_equal(getenv("BILLD_T_PLAIN"), "plain value");
    assert_string_equal(getenv("BILLD_T_EXPORT"), "exported");
    assert_string_equal(getenv("BILLD_T_DQ"), "double quoted");
    assert_string_equal(getenv("BILLD_T_SQ"), "single # not a comment");
    assert_string_equal(getenv("BILLD_T_EMPTY"), "");
    assert_string_equal(getenv("BILLD_T_SPACED"), "spaced out");
    assert_string_equal(getenv("BILLD_T_HASH"), "a=b#c");
    assert_string_equal(getenv("BILLD_T_MISMATCH"), "\"half'");
    assert_string_equal(getenv("BILLD_T_CRLF"), "dos");
    config_free(&c);
    unlink(path);
}

static void test_env_file_real_env_wins(void **state)
{
    struct config c;
    struct err e = { 0 };
    UNUSED(state);
    const char *path = write_file("wins.env", "WORKERS_COUNT=7\n"
                                              "BILLD_T_REAL=from file\n"
                                              "LOG_LEVEL=error\n");
    setenv("WORKERS_COUNT", "9", 1);
    setenv("BILLD_T_REAL", "from env", 1);
    assert_int_equal(config_load(&c, path, &e), 0);
    assert_int_equal(c.workers, 9);
    assert_string_equal(getenv("BILLD_T_REAL"), "from env");
    assert_int_equal(c.log_level, LOG_ERROR); /* not set in the environment: from the file */
    config_free(&c);

    /* an invalid value in the file is reported like one in the environment */
    unsetenv("WORKERS_COUNT");
    unsetenv("LOG_LEVEL");
    path = write_file("wins.env", "WORKERS_COUNT=many\n");
    assert_load_fails(path, "WORKERS_COUNT", "many");
    unlink(path);
}

static void test_env_file_missing(void **state)
{
    char path[128];
    UNUSED(state);
    snprintf(path, sizeof(path), "%s/does-not-exist.env", g_dir);
    assert_load_fails(path, "does-not-exist.env", NULL);
}

static void test_env_file_malformed(void **state)
{
    char where[160];
    UNUSED(state);
    const char *path = write_file("bad.env", "# header\n"
                                             "BILLD_T_BEFORE=1\n"
                                             "\n"
                                             "this line has no equals sign\n"
                                             "BILLD_T_AFTER=1\n");
    snprintf(where, sizeof(where), "%s:4", path);
    assert_load_fails(path, where, NULL);
    /* lines before the bad one were read, none after it */
    assert_string_equal(getenv("BILLD_T_BEFORE"), "1");
    assert_null(getenv("BILLD_T_AFTER"));
    unlink(path);

    path = write_file("bad.env", "=value without a key\n");
    snprintf(where, sizeof(where), "%s:1", path);
    assert_load_fails(path, where, NULL);
    path = write_file("bad.env", "BILLD_T_BEFORE=1\nexport =x\n");
    snprintf(where, sizeof(where), "%s:2", path);
    assert_load_fails(path, where, NULL);
    unlink(path);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_values_are_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_from_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_host_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_log_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_tz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_database_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_real_env_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
