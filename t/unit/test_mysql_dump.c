/*
 * test_mysql_dump.c — unit tests of src/import/mysql_dump.c: string escapes
 * and doubled quotes, multi-row VALUES, column lists, DEFAULT, NULL, NOW(),
 * numbers, _binary and hex/bit literals, every comment form, CREATE TABLE
 * column lists, statements for other tables and other statement kinds,
 * DELIMITER blocks, truncated input (with line numbers), hostile input, and
 * the streaming reader (a FILE* gives the same rows as the buffer, also
 * across its 64 KiB window).
 *
 * Rows are rendered by a collecting handler as one line each:
 *   table|kind|col,col|value,value
 * with kind P (plain), I (IGNORE), R (REPLACE); values as N (NULL), D
 * (DEFAULT), NOW, #<number>, '<text>' or b'<bytes>' with non-printable
 * bytes as \xHH. CREATE TABLEs render as "CREATE table|col,col".
 */
#include "common.h"
#include "import/mysql_dump.h"
#include "util/buf.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

struct collect {
    struct buf out;
    int stop_after; /* > 0: the row callback fails at that row */
    int seen;
};

static void put_bytes(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            buf_printf(b, "\\x%02x", c);
        else
            buf_putc(b, (char)c);
    }
}

static void put_value(struct buf *b, const struct mysql_value *v)
{
    switch (v->type) {
    case MYSQL_NULL: buf_puts(b, "N"); break;
    case MYSQL_DEFAULT: buf_puts(b, "D"); break;
    case MYSQL_NOW: buf_puts(b, "NOW"); break;
    case MYSQL_NUMBER:
        buf_putc(b, '#');
        put_bytes(b, v->data, v->len);
        break;
    case MYSQL_STRING:
        buf_puts(b, v->binary ? "b'" : "'");
        put_bytes(b, v->data, v->len);
        buf_putc(b, '\'');
        break;
    }
    if (v->data)
        assert_int_equal(v->data[v->len], '\0'); /* always NUL-terminated */
}

static int on_row(void *ctx, const struct mysql_row *r, struct err *e)
{
    struct collect *c = ctx;
    static const char kinds[] = "PIR";
    if (c->stop_after && ++c->seen == c->stop_after)
        return err_set(e, ERR_CONFLICT, "stopped at row %zu of statement %llu", r->row,
                       (unsigned long long)r->statement);
    buf_printf(&c->out, "%s|%c|", r->table, kinds[r->kind]);
    for (size_t i = 0; i < r->ncolumns; i++)
        buf_printf(&c->out, "%s%s", i ? "," : "", r->columns[i]);
    buf_putc(&c->out, '|');
    for (size_t i = 0; i < r->nvalues; i++) {
        if (i)
            buf_putc(&c->out, ',');
        put_value(&c->out, &r->values[i]);
    }
    buf_putc(&c->out, '\n');
    return 0;
}

static int on_table(void *ctx, const struct mysql_table *t, struct err *e)
{
    struct collect *c = ctx;
    UNUSED(e);
    buf_printf(&c->out, "CREATE %s|", t->name);
    for (size_t i = 0; i < t->ncolumns; i++)
        buf_printf(&c->out, "%s%s", i ? "," : "", t->columns[i]);
    if (t->auto_increment)
        buf_printf(&c->out, "|next=%lld", (long long)t->auto_increment);
    buf_putc(&c->out, '\n');
    return 0;
}

/* Parses text; returns the status, the rendering in *out (owned) and the error in e. */
static int parse(const char *text, char **out, struct err *e)
{
    struct collect c = { .stop_after = 0 };
    struct mysql_dump_handler h = { .ctx = &c, .on_table = on_table, .on_row = on_row };
    buf_init(&c.out, 0);
    err_clear(e);
    int rc = mysql_dump_parse_buffer(text, strlen(text), &h, NULL, e);
    *out = buf_detach(&c.out, NULL);
    return rc;
}

/* Asserts that text parses and renders as expected. */
static void expect(const char *text, const char *expected)
{
    struct err e;
    char *out;
    int rc = parse(text, &out, &e);
    if (rc)
        fail_msg("parse failed: %s\ninput: %s", e.msg, text);
    assert_string_equal(out, expected);
    free(out);
}

/* Asserts that text fails with ERR_INVALID and a message containing needle. */
static void expect_error(const char *text, const char *needle)
{
    struct err e;
    char *out;
    int rc = parse(text, &out, &e);
    free(out);
    if (rc != ERR_INVALID || !strstr(e.msg, needle))
        fail_msg("expected an error with \"%s\", got rc %d: \"%s\"\ninput: %s", needle, rc, e.msg,
                 text);
}

static void test_escapes(void **state)
{
    UNUSED(state);
    expect("INSERT INTO t VALUES ('a\\0b\\'c\\\"d\\be\\nf\\rg\\th\\Zi\\\\j\\%k\\_l\\qm');",
           "t|P||'a\\x00b'c\"d\\x08e\\x0af\\x0dg\\x09h\\x1ai\\x5cj\\x5c%k\\x5c_lqm'\n");
    /* doubled quotes, the other quote inside, double-quoted strings */
    expect("INSERT INTO t VALUES ('it''s', \"say \"\"hi\"\"\", 'a\"b', \"a'b\", '', \"\");",
           "t|P||'it's','say \"hi\"','a\"b','a'b','',''\n");
    /* adjacent literals are one value; a real newline inside a string */
    expect("INSERT INTO t VALUES ('a' 'b'\n \"c\", 'x\ny');", "t|P||'abc','x\\x0ay'\n");
    /* UTF-8 passes through untouched */
    expect("INSERT INTO `t` VALUES ('Тестовая услуга 💰');", "t|P||'Тестовая услуга 💰'\n");
    /* a backslash before a quote of the other kind, and a trailing backslash pair */
    expect("INSERT INTO t VALUES ('\\\"', \"\\'\", '\\\\');", "t|P||'\"',''','\\x5c'\n");
}

static void test_rows_and_columns(void **state)
{
    UNUSED(state);
    expect("INSERT INTO `users` VALUES (1,'a'),(2,'b'),\n(3,'c');",
           "users|P||#1,'a'\nusers|P||#2,'b'\nusers|P||#3,'c'\n");
    expect("INSERT INTO `spool` (id,`status`,user_id, `event`) VALUES (default,'NEW',1,'{}');",
           "spool|P|id,status,user_id,event|D,'NEW',#1,'{}'\n");
    expect("insert ignore into t values (DEFAULT, null, Null, now(), NOW( ), CURRENT_TIMESTAMP,"
           " current_timestamp(6), LOCALTIMESTAMP, SYSDATE(), TRUE, false);",
           "t|I||D,N,N,NOW,NOW,NOW,NOW,NOW,NOW,#1,#0\n");
    expect("REPLACE INTO db.`t` (a) VALUE (1);", "t|R|a|#1\n");
    expect("INSERT LOW_PRIORITY IGNORE INTO `shm`.`t` VALUES ();", "t|I||\n");
    expect("INSERT t VALUES (1);", "t|P||#1\n");
    expect("INSERT INTO `weird``name` (`a``b`) VALUES (1);", "weird`name|P|a`b|#1\n");
    /* statements for other tables come through too: the importer decides */
    expect("INSERT INTO a VALUES (1); INSERT INTO b VALUES (2);", "a|P||#1\nb|P||#2\n");
}

static void test_numbers(void **state)
{
    UNUSED(state);
    expect("INSERT INTO t VALUES (-21.56, +7, .5, 1e3, -1.5E-3, 0, 100000.00, - 5, 2e+2, 1.);",
           "t|P||#-21.56,#7,#.5,#1e3,#-1.5E-3,#0,#100000.00,#-5,#2e+2,#1.\n");
    expect_error("INSERT INTO t VALUES (12abc);", "invalid number");
    expect_error("INSERT INTO t VALUES (1.2.3);", "invalid number");
    expect_error("INSERT INTO t VALUES (1e);", "invalid number");
    expect_error("INSERT INTO t VALUES (-);", "expected a number");
}

static void test_binary(void **state)
{
    UNUSED(state);
    expect("INSERT INTO t VALUES (_binary 'a\\0b', X'4142', x'', 0x4142, 0x123, _binary 0xff,"
           " b'101', 0b11, _utf8mb4'тест', N'n', _latin1 X'41');",
           "t|P||b'a\\x00b',b'AB',b'',b'AB',b'\\x01#',b'\xff',#5,#3,'тест','n',b'A'\n");
    expect_error("INSERT INTO t VALUES (X'4G');", "invalid hex literal");
    expect_error("INSERT INTO t VALUES (0x12zz);", "invalid hex literal");
    expect_error("INSERT INTO t VALUES (b'102');", "invalid bit literal");
    expect_error("INSERT INTO t VALUES (b'11111111111111111111111111111111111111111111111111111111111111111');",
                 "wider than 64 bits");
    expect_error("INSERT INTO t VALUES (_binary);", "unsupported value");
}

static void test_comments(void **state)
{
    UNUSED(state);
    expect("-- MySQL-ish header\n# hash comment\n/* block\n comment */\n"
           "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
           "/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
           "INSERT /* hint */ INTO t -- why\n VALUES ( 1 /* one */ , # two\n 2 )\n;\n"
           "--\n-- Dump completed on 2025-01-01\n--",
           "t|P||#1,#2\n");
    /* "--" not followed by a space is no comment (here: in a skipped statement) */
    expect("SET @a = 1--1;\nINSERT INTO t VALUES (1);", "t|P||#1\n");
    /* comment markers inside strings are text */
    expect("INSERT INTO t VALUES ('-- x', '# y', '/* z */', ';');",
           "t|P||'-- x','# y','/* z */',';'\n");
    expect_error("/* never closed\nINSERT INTO t VALUES (1);", "unexpected end of input in a comment");
}

static void test_create_table(void **state)
{
    UNUSED(state);
    expect("DROP TABLE IF EXISTS `users`;\n"
           "CREATE TABLE IF NOT EXISTS `users` (\n"
           "  `user_id` int(11) NOT NULL AUTO_INCREMENT,\n"
           "  `login` varchar(128) NOT NULL COMMENT 'a, (tricky) ''comment''',\n"
           "  `key` char(32) NOT NULL, -- a column named like a keyword\n"
           "  balance decimal(10,2) NOT NULL DEFAULT '0.00',\n"
           "  `kind` enum('a','b,c') DEFAULT 'a',\n"
           "  PRIMARY KEY (`user_id`),\n"
           "  UNIQUE KEY `users_uniq` (`login`),\n"
           "  KEY idx (login, balance),\n"
           "  CONSTRAINT `fk` FOREIGN KEY (user_id) REFERENCES other (id) ON DELETE SET NULL,\n"
           "  FOREIGN KEY (user_id) REFERENCES users (user_id),\n"
           "  CHECK (balance > -1)\n"
           ") ENGINE=InnoDB AUTO_INCREMENT=40095 DEFAULT CHARSET=utf8mb4 COMMENT='x;y';\n"
           "CREATE TEMPORARY TABLE tmp (a int);\n"
           "CREATE TABLE copy LIKE users;\n"
           "CREATE DATABASE IF NOT EXISTS shm;\nUSE shm;\n"
           "CREATE TABLE `shm`.`x` (`a` int);\n",
           "CREATE users|user_id,login,key,balance,kind|next=40095\nCREATE tmp|a\nCREATE x|a\n");
    expect("CREATE TABLE t (a int) AUTO_INCREMENT 7 COMMENT 'AUTO_INCREMENT=9';\n"
           "CREATE TABLE u (a int) ENGINE=InnoDB AUTO_INCREMENT=0;\n",
           "CREATE t|a|next=7\nCREATE u|a\n");
    expect_error("CREATE TABLE t (a int) AUTO_INCREMENT=x;", "AUTO_INCREMENT without a number");
    expect_error("CREATE TABLE t (a int) AUTO_INCREMENT=99999999999999999999;",
                 "AUTO_INCREMENT out of range");
    expect_error("CREATE TABLE t (a int, b varchar(3)", "unexpected end of input in CREATE TABLE");
}

static void test_other_statements(void **state)
{
    UNUSED(state);
    expect("SET NAMES utf8mb4;\nSET FOREIGN_KEY_CHECKS = 0;\nLOCK TABLES `t` WRITE;\n"
           "INSERT INTO `t` VALUES (1);\nUNLOCK TABLES;\nSET @x = 'a;b', @y = \"c;d\";\n"
           "DELIMITER ;;\n"
           "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg"
           " BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END */;;\n"
           "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END;;\n"
           "DELIMITER ;\n"
           "INSERT INTO `t` VALUES (2);\n"
           "BEGIN;\nINSERT INTO t VALUES (3);\nCOMMIT;\nSTART TRANSACTION;\nCOMMIT;\n;;;\n",
           "t|P||#1\nt|P||#2\nt|P||#3\n");
    /* a statement ending with a custom delimiter */
    expect("DELIMITER $$\nINSERT INTO t VALUES ('$'),('a$$b')$$\nDELIMITER ;\n", "t|P||'$'\nt|P||'a$$b'\n");
    expect_error("DELIMITER\nINSERT INTO t VALUES (1);", "DELIMITER without a delimiter");
    expect_error("BEGIN;\nINSERT INTO t VALUES (1);\nROLLBACK;\n", "rolls back");
    expect_error("INSERT INTO t SET a = 1;", "only INSERT … VALUES");
    expect_error("INSERT INTO t SELECT * FROM u;", "only INSERT … VALUES");
    expect_error("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1;", "ON DUPLICATE KEY");
    expect_error("INSERT INTO t VALUES (CONCAT('a', 'b'));", "unsupported value \"CONCAT\"");
    expect_error("INSERT INTO t VALUES (@x);", "unexpected character '@'");
    expect_error("INSERT INTO t VALUES (1) (2);", "expected ',' or \";\" after a row");
    expect_error("INSERT INTO t VALUES (1 2);", "expected ',' or ')' after a value");
    expect_error("INSERT INTO t VALUES 1;", "expected '(' starting a row");
    expect_error("INSERT INTO (a) VALUES (1);", "expected a name");
}

/* SQL_MODE with NO_BACKSLASH_ESCAPES: a backslash is an ordinary byte until the mode changes. */
static void test_sql_mode(void **state)
{
    UNUSED(state);
    /* mysqldump's header and trailer */
    expect("/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,"
           "NO_BACKSLASH_ESCAPES' */;\n"
           "INSERT INTO t VALUES ('a\\b','c''d','e\\');\n"
           "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n"
           "INSERT INTO t VALUES ('a\\nb');\n",
           "t|P||'a\\x5cb','c'd','e\\x5c'\nt|P||'a\\x0ab'\n");
    /* plain SET statements, and statements skipped while the mode is on */
    expect("SET SESSION sql_mode = 'ANSI,no_backslash_escapes';\n"
           "SET @x = 'a\\';\nLOCK TABLES `t\\` WRITE;\n"
           "INSERT INTO t VALUES ('C:\\dir\\');\n"
           "SET @@session.sql_mode := '';\n"
           "INSERT INTO t VALUES ('\\t');\n",
           "t|P||'C:\\x5cdir\\x5c'\nt|P||'\\x09'\n");
    /* a user variable or OLD_SQL_MODE is not the mode */
    expect("SET @sql_mode = 'NO_BACKSLASH_ESCAPES', @OLD_SQL_MODE = 'NO_BACKSLASH_ESCAPES';\n"
           "/*!40101 SET @OLD_SQL_MODE='NO_BACKSLASH_ESCAPES' */;\n"
           "INSERT INTO t VALUES ('\\t');\n",
           "t|P||'\\x09'\n");
}

static void test_truncated(void **state)
{
    UNUSED(state);
    /* the line of the error and of the construct that was cut */
    expect_error("INSERT INTO t VALUES\n(1,'abc\n", "line 3: INSERT INTO `t` (line 1): unexpected end"
                                                    " of input in a string that starts on line 2");
    expect_error("INSERT INTO t VALUES (1,", "line 1: INSERT INTO `t` (line 1): unexpected end of"
                                             " input in the statement");
    expect_error("INSERT INTO t VALUES (1,2)", "after the last row: no closing delimiter");
    expect_error("INSERT INTO t VALUES (1,2),", "unexpected end of input in the statement");
    expect_error("INSERT INTO t (a, b", "in a column list");
    expect_error("INSERT INTO t VALUES (X'41", "in a hex literal");
    expect_error("INSERT INTO `t", "in a `quoted` name");
    expect_error("INSERT INTO t VALUES ('a' 'b", "in a string");
    expect_error("SET x = 1", "in a statement without its closing delimiter");
    expect_error("SET x = 'abc;", "in a string");
    expect_error("BEGIN;\nINSERT INTO t VALUES (1);\n", "line 3: unexpected end of input: the"
                                                         " transaction begun on line 1 is never"
                                                         " committed");
    expect_error("-- MySQL dump 10.13  Distrib 8.0.36\n\nINSERT INTO t VALUES (1);\n",
                 "no \"-- Dump completed\" trailer");
    expect("-- MariaDB dump 10.19\nINSERT INTO t VALUES (1);\n-- Dump completed on 2025-02-03\n",
           "t|P||#1\n");
}

static void test_hostile(void **state)
{
    struct err e;
    char *out;
    UNUSED(state);
    /* garbage outside INSERTs is skipped up to a delimiter; inside it is an error */
    expect("\x01\x02 )))( ; 'x' ''; \"\"; INSERT INTO t VALUES (1);", "t|P||#1\n");
    expect_error("INSERT INTO t VALUES ((1));", "unexpected character '('");
    expect_error("INSERT INTO t VALUES (\x01);", "unexpected character '?'");
    /* an embedded NUL byte in the input is data inside strings, garbage elsewhere */
    static const char nul_in_string[] = "INSERT INTO t VALUES ('a\0b');";
    struct collect c = { .stop_after = 0 };
    struct mysql_dump_handler h = { .ctx = &c, .on_table = on_table, .on_row = on_row };
    buf_init(&c.out, 0);
    assert_int_equal(mysql_dump_parse_buffer(nul_in_string, sizeof(nul_in_string) - 1, &h, NULL, &e), 0);
    assert_string_equal(c.out.data, "t|P||'a\\x00b'\n");
    buf_free(&c.out);
    /* more values than a row may hold */
    struct buf big;
    buf_init(&big, 0);
    buf_puts(&big, "INSERT INTO t VALUES (");
    for (int i = 0; i <= MYSQL_DUMP_MAX_COLUMNS; i++)
        buf_puts(&big, i ? ",1" : "1");
    buf_puts(&big, ");");
    assert_int_equal(parse(big.data, &out, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "more than 4096 values"));
    free(out);
    buf_free(&big);
    /* a name longer than MySQL allows */
    buf_init(&big, 0);
    buf_puts(&big, "INSERT INTO ");
    for (int i = 0; i < 300; i++)
        buf_putc(&big, 'n');
    buf_puts(&big, " VALUES (1);");
    assert_int_equal(parse(big.data, &out, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "name longer than"));
    free(out);
    buf_free(&big);
    /* empty and whitespace-only input */
    expect("", "");
    expect("  \n\n -- nothing\n", "");
    /* no handler at all */
    assert_int_equal(mysql_dump_parse_buffer("INSERT INTO t VALUES (1);", 25, NULL, NULL, &e), 0);
}

static void test_value_too_long(void **state)
{
    struct err e;
    char *out;
    UNUSED(state);
    size_t n = MYSQL_DUMP_MAX_VALUE + 1;
    char *text = xmalloc(n + 64);
    int k = snprintf(text, 64, "INSERT INTO t VALUES ('");
    memset(text + k, 'x', n);
    memcpy(text + k + n, "');", 4);
    assert_int_equal(parse(text, &out, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "a value longer than 16777216 bytes"));
    free(out);
    free(text);
}

static void test_callback_error(void **state)
{
    struct err e;
    struct collect c = { .stop_after = 2 };
    struct mysql_dump_handler h = { .ctx = &c, .on_row = on_row };
    struct mysql_dump_stats st;
    UNUSED(state);
    buf_init(&c.out, 0);
    const char *text = "INSERT INTO t VALUES (1),(2),(3);\nINSERT INTO t VALUES (4);";
    assert_int_equal(mysql_dump_parse_buffer(text, strlen(text), &h, &st, &e), ERR_CONFLICT);
    assert_string_equal(e.msg, "stopped at row 2 of statement 1");
    assert_int_equal(st.rows, 2);
    buf_free(&c.out);
}

static void test_stats_and_lines(void **state)
{
    struct err e;
    struct mysql_dump_stats st;
    UNUSED(state);
    const char *text = "SET a=1;\n\nINSERT INTO t VALUES (1),(2);\nCREATE TABLE x (a int);\n";
    assert_int_equal(mysql_dump_parse_buffer(text, strlen(text), NULL, &st, &e), 0);
    assert_int_equal(st.statements, 3);
    assert_int_equal(st.inserts, 1);
    assert_int_equal(st.rows, 2);
    assert_int_equal(st.lines, 5);
}

/* A FILE* gives the same result as the buffer, with values crossing the 64 KiB window. */
static void test_stream_matches_buffer(void **state)
{
    struct buf dump;
    struct err e;
    UNUSED(state);
    buf_init(&dump, 0);
    buf_puts(&dump, "-- MySQL dump 10.13\nCREATE TABLE `storage` (`name` char(32), `data` mediumblob);\n");
    for (int s = 0; s < 20; s++) {
        buf_puts(&dump, "INSERT INTO `storage` VALUES ");
        for (int r = 0; r < 30; r++) {
            buf_printf(&dump, "%s('n%d_%d','", r ? "," : "", s, r);
            for (int i = 0; i < 700 + s * 37 + r; i++)
                buf_puts(&dump, i % 97 == 0 ? "\\n" : i % 89 == 0 ? "''" : i % 83 == 0 ? "\\\\" : "ж");
            buf_puts(&dump, "')");
        }
        buf_puts(&dump, ";\n");
    }
    buf_puts(&dump, "-- Dump completed\n");
    assert_true(dump.len > 3 * 65536);

    char *from_buffer;
    assert_int_equal(parse(dump.data, &from_buffer, &e), 0);

    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(dump.data, 1, dump.len, f), dump.len);
    rewind(f);
    struct collect c = { .stop_after = 0 };
    struct mysql_dump_handler h = { .ctx = &c, .on_table = on_table, .on_row = on_row };
    struct mysql_dump_stats st;
    buf_init(&c.out, 0);
    assert_int_equal(mysql_dump_parse_file(f, &h, &st, &e), 0);
    fclose(f);
    assert_string_equal(c.out.data, from_buffer);
    assert_int_equal(st.rows, 600);
    assert_int_equal(st.lines, 24);
    buf_free(&c.out);
    free(from_buffer);
    buf_free(&dump);
}

/* A truncated stream reports the line where it ends. */
static void test_stream_truncated(void **state)
{
    struct err e;
    UNUSED(state);
    FILE *f = tmpfile();
    assert_non_null(f);
    fputs("INSERT INTO t VALUES\n(1, 'one'),\n(2, 'tw", f);
    rewind(f);
    assert_int_equal(mysql_dump_parse_file(f, NULL, NULL, &e), ERR_INVALID);
    assert_string_equal(e.msg, "line 3: INSERT INTO `t` (line 1): unexpected end of input in a"
                               " string that starts on line 3 (truncated dump?)");
    fclose(f);
}

/* The shape of SHM's own seed files (../shared/fixtures/shm). */
static void test_shm_seed_shape(void **state)
{
    UNUSED(state);
    expect("BEGIN;\n\nINSERT INTO `users` VALUES\n"
           "(1,0,'admin',NULL,'0df78fa86a30eca0a918fdd21a94e238133ce7ab',0,NOW(),NULL,0,0,0.00)\n;\n\n"
           "INSERT INTO `config` VALUES\n(\"_shm\", '{\"version\":\"0.0.3\", \"cloud\": {}}'),\n"
           "(\"api\",     '{\"url\":\"https://bill.domain.ru\"}')\n;\n"
           "INSERT IGNORE INTO `events` VALUES\n(default,'UserService','t','n',1,"
           "'{\\\"category\\\": \\\"%\\\", \\\"cmd\\\": \\\"a\\\\nb\\\"}');\n"
           "INSERT IGNORE INTO `profiles` VALUES\n(1,'40092','{\"name\": \"Даниил\"}',DEFAULT)\n;\n"
           "COMMIT;\n",
           "users|P||#1,#0,'admin',N,'0df78fa86a30eca0a918fdd21a94e238133ce7ab',#0,NOW,N,#0,#0,"
           "#0.00\n"
           "config|P||'_shm','{\"version\":\"0.0.3\", \"cloud\": {}}'\n"
           "config|P||'api','{\"url\":\"https://bill.domain.ru\"}'\n"
           "events|I||D,'UserService','t','n',#1,'{\"category\": \"%\", \"cmd\": \"a\\x5cnb\"}'\n"
           "profiles|I||#1,'40092','{\"name\": \"Даниил\"}',D\n");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_rows_and_columns),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_create_table),
        cmocka_unit_test(test_other_statements),
        cmocka_unit_test(test_sql_mode),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_value_too_long),
        cmocka_unit_test(test_callback_error),
        cmocka_unit_test(test_stats_and_lines),
        cmocka_unit_test(test_stream_matches_buffer),
        cmocka_unit_test(test_stream_truncated),
        cmocka_unit_test(test_shm_seed_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
