/*
 * test_mail_transport.c — the mail transport (src/transport/mail.c,
 * transports.md §3) against real SMTP receivers (t/lib/SmtpSink.pm on
 * 127.0.0.1): what arrives (envelope, AUTH PLAIN/LOGIN credentials, decoded
 * UTF-8 subject and sender name, body, To/Cc, no Bcc header), the settings
 * merge with the config `mail` defaults, the recipient rules of §3.3, the
 * skips (no recipient, empty message), STUCK reasons (no server, no From,
 * invalid or rejected addresses, missing template), FAIL on temporary
 * SMTP errors, wrong credentials and refused connections, and TLS: STARTTLS,
 * implicit TLS, certificate verification, no plain-text fallback. The TLS
 * sinks need IO::Socket::SSL (Debian libio-socket-ssl-perl, in TEST_PKGS).
 *
 * Runs on a migrated SQLite database (engines are covered by t/api/6202-mail.t).
 */
#include "common.h"
#include "db/db.h"
#include "db/migrate.h"
#include "transport/transport.h"
#include "util/buf.h"
#include "util/log.h"
#include "peers.h"
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static struct db *g_db;
static char g_path[128];
static struct peer g_sink;       /* AUTH required: mailer / "p@ss word", PLAIN and LOGIN */
static struct peer g_sink_login; /* AUTH LOGIN only: mailer2 / pw2 */
static struct peer g_sink_starttls; /* STARTTLS required, self-signed certificate, no AUTH */
static struct peer g_sink_implicit; /* TLS from the first byte (as on port 465), no AUTH */

static void exec_sql(const char *sql)
{
    struct err e = { 0 };
    if (db_exec_script(g_db, sql, &e))
        fail_msg("%s: %s", sql, e.msg);
}

static json_t *obj(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : json_object();
    if (!j)
        fail_msg("bad JSON in the test: %s", text);
    return j;
}

/*
 * Runs the mail transport for user_id with a server on sink (NULL = no
 * server; host "127.0.0.1:<port>" unless host is given) and the settings levels.
 */
static enum task_result run_task(int64_t user_id, const struct peer *sink, const char *host,
                                 const char *server_settings, const char *event_settings,
                                 const char *task_settings, json_t **response)
{
    char h[128];
    json_t *server = NULL;
    if (sink || host) {
        if (!host)
            snprintf(h, sizeof(h), "127.0.0.1:%d", sink->port);
        server = json_pack("{s:i,s:s,s:s,s:o}", "server_id", 9, "transport", "mail", "host",
                           host ? host : h, "settings",
                           obj(server_settings ? server_settings
                                               : "{\"user\":\"mailer\",\"password\":\"p@ss word\"}"));
    }
    json_t *event = json_pack("{s:s,s:o}", "name", "PAYMENT", "settings", obj(event_settings));
    json_t *settings = obj(task_settings);
    json_object_set_new(settings, "server_id", json_integer(9));
    struct spool_task t = { .id = 77, .user_id = user_id, .server_id = 9, .attempt = 1,
                            .token = "tok77", .name = "PAYMENT", .event = event,
                            .settings = settings, .server = server };
    struct task_ctx x = { .db = g_db, .task = &t };
    peer_clear(&g_sink);
    peer_clear(&g_sink_login);
    peer_clear(&g_sink_starttls);
    peer_clear(&g_sink_implicit);
    enum task_result res = transport_mail.send(&x, response);
    assert_non_null(*response);
    json_decref(server);
    json_decref(event);
    json_decref(settings);
    return res;
}

static json_t *one_message(const struct peer *sink)
{
    json_t *all = peer_records(sink);
    assert_int_equal(json_array_size(all), 1);
    json_t *m = json_incref(json_array_get(all, 0));
    json_decref(all);
    return m;
}

static void assert_no_message(const struct peer *sink)
{
    json_t *all = peer_records(sink);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *hdr(const json_t *m, const char *name)
{
    return jstr(json_object_get(m, "headers"), name);
}

/* The envelope recipients joined with ",". */
static char *rcpts(const json_t *m)
{
    struct buf b;
    size_t i;
    json_t *v;
    buf_init(&b, 0);
    json_array_foreach(json_object_get(m, "rcpt"), i, v)
        buf_printf(&b, "%s%s", i ? "," : "", json_string_value(v));
    return buf_detach(&b, NULL);
}

static void assert_rcpts(const json_t *m, const char *want)
{
    char *got = rcpts(m);
    assert_string_equal(got, want);
    free(got);
}

/* ---- delivery ---- */

static void test_template_mail_with_auth(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task(1001, &g_sink, NULL, NULL, "{\"template_id\":\"mail_tpl\"}", NULL,
                              &resp),
                     TASK_SUCCESS);
    json_t *m = one_message(&g_sink);
    json_t *auth = json_object_get(m, "auth");
    assert_string_equal(jstr(auth, "mech"), "PLAIN");
    assert_string_equal(jstr(auth, "user"), "mailer");
    assert_string_equal(jstr(auth, "password"), "p@ss word");
    assert_string_equal(jstr(m, "from"), "billing@shm.test");
    assert_rcpts(m, "first@example.com");
    assert_string_equal(jstr(m, "subject"), "Ваш счёт оплачен");     /* template settings */
    assert_string_equal(jstr(m, "from_header"), "Биллинг <billing@shm.test>");
    assert_string_equal(jstr(m, "to_header"), "first@example.com");
    assert_string_equal(jstr(m, "body"), "Здравствуйте, mailuser!\nС уважением.");
    assert_string_equal(hdr(m, "content-type"), "text/plain; charset=UTF-8");
    assert_string_equal(hdr(m, "content-transfer-encoding"), "base64");
    assert_string_equal(hdr(m, "message-id"), "<billd.77.tok77@shm.test>");
    assert_string_equal(hdr(m, "mime-version"), "1.0");
    assert_non_null(hdr(m, "date"));
    assert_null(hdr(m, "bcc"));
    json_decref(m);
    /* the response: server host, mail arguments, no server id, no password, no error */
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", g_sink.port);
    assert_string_equal(jstr(json_object_get(resp, "server"), "host"), host);
    assert_null(json_object_get(json_object_get(resp, "server"), "id"));
    json_t *mail = json_object_get(resp, "mail");
    assert_string_equal(jstr(mail, "to"), "first@example.com");
    assert_string_equal(jstr(mail, "subject"), "Ваш счёт оплачен");
    assert_string_equal(jstr(mail, "message"), "Здравствуйте, mailuser!\nС уважением.");
    assert_null(json_object_get(mail, "password"));
    assert_null(json_object_get(mail, "server_id"));
    assert_null(json_object_get(resp, "error"));
    json_decref(resp);
}

static void test_auth_login_and_message_setting(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task(1001, &g_sink_login, NULL,
                              "{\"user\":\"mailer2\",\"password\":\"pw2\",\"content_type\":\"text/html\"}",
                              "{\"message\":\"<b>Оплата</b> получена\"}", NULL, &resp),
                     TASK_SUCCESS);
    json_t *m = one_message(&g_sink_login);
    assert_string_equal(jstr(json_object_get(m, "auth"), "mech"), "LOGIN");
    assert_string_equal(jstr(json_object_get(m, "auth"), "user"), "mailer2");
    assert_string_equal(jstr(json_object_get(m, "auth"), "password"), "pw2");
    assert_string_equal(jstr(m, "body"), "<b>Оплата</b> получена");
    assert_string_equal(jstr(m, "subject"), "Default subject"); /* config mail.subject */
    assert_string_equal(hdr(m, "content-type"), "text/html; charset=UTF-8");
    json_decref(m);
    json_decref(resp);
}

/* server < event < task settings; to/cc/bcc; Bcc only in the envelope. */
static void test_recipients_and_merge(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(
        run_task(1001, &g_sink, NULL,
                 "{\"user\":\"mailer\",\"password\":\"p@ss word\",\"subject\":\"server\","
                 "\"from_name\":\"Server Name\"}",
                 "{\"subject\":\"event\",\"message\":\"hi\",\"to\":\"to@example.com\"}",
                 "{\"subject\":\"task level\",\"cc\":\"Иван Петров <cc@example.com>\","
                 "\"bcc\":[\"hidden@example.com\"]}",
                 &resp),
        TASK_SUCCESS);
    json_t *m = one_message(&g_sink);
    assert_rcpts(m, "to@example.com,cc@example.com,hidden@example.com");
    assert_string_equal(jstr(m, "subject"), "task level");
    assert_string_equal(jstr(m, "from_header"), "Server Name <billing@shm.test>");
    assert_string_equal(jstr(m, "to_header"), "to@example.com");
    assert_string_equal(jstr(m, "cc_header"), "Иван Петров <cc@example.com>");
    assert_null(hdr(m, "bcc"));
    assert_null(strstr(jstr(m, "data"), "hidden"));
    json_decref(m);
    json_decref(resp);
}

/* users.settings.email, login2, login, profile e-mail: the first valid one; else bcc. */
static void test_user_email_fallbacks(void **state)
{
    json_t *resp = NULL;
    const struct { int64_t uid; const char *want; } c[] = {
        { 1002, "second@example.com" },  /* settings.email not an address → login2 */
        { 1003, "login@example.com" },   /* login */
        { 1004, "profile@example.com" }, /* profile e-mail */
    };
    UNUSED(state);
    for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
        assert_int_equal(run_task(c[i].uid, &g_sink, NULL, NULL, "{\"message\":\"m\"}", NULL,
                                  &resp),
                         TASK_SUCCESS);
        json_t *m = one_message(&g_sink);
        assert_rcpts(m, c[i].want);
        json_decref(m);
        json_decref(resp);
    }
    /* no address at all: bcc becomes the recipient */
    assert_int_equal(run_task(1005, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"bcc\":\"admin@example.com\"}", NULL, &resp),
                     TASK_SUCCESS);
    json_t *m = one_message(&g_sink);
    assert_rcpts(m, "admin@example.com");
    assert_string_equal(jstr(m, "to_header"), "admin@example.com");
    json_decref(m);
    json_decref(resp);
    /* nothing: skipped as a success */
    assert_int_equal(run_task(1005, &g_sink, NULL, NULL, "{\"message\":\"m\"}", NULL, &resp),
                     TASK_SUCCESS);
    assert_string_equal(jstr(resp, "error"), "User email undefined");
    assert_no_message(&g_sink);
    json_decref(resp);
}

static void test_empty_message_skipped(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task(1001, &g_sink, NULL, NULL, "{\"template_id\":\"mail_empty\"}", NULL,
                              &resp),
                     TASK_SUCCESS);
    assert_string_equal(jstr(resp, "error"), "The message is empty, skip it.");
    json_decref(resp);
    assert_int_equal(run_task(1001, &g_sink, NULL, NULL, NULL, NULL, &resp), TASK_SUCCESS);
    assert_string_equal(jstr(resp, "error"), "The message is empty, skip it.");
    assert_no_message(&g_sink);
    json_decref(resp);
}

/* CR/LF in subject and from_name never make headers; the recipients stay as set. */
static void test_header_injection(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"subject\":\"Hi\\r\\nBcc: victim@example.com\","
                              "\"from_name\":\"X\\r\\nCc: victim@example.com\"}",
                              NULL, &resp),
                     TASK_SUCCESS);
    json_t *m = one_message(&g_sink);
    assert_rcpts(m, "first@example.com");
    assert_null(hdr(m, "bcc"));
    assert_null(hdr(m, "cc"));
    assert_string_equal(jstr(m, "subject"), "Hi\r\nBcc: victim@example.com");
    json_decref(m);
    json_decref(resp);
}

/* ---- STUCK and FAIL ---- */

static void test_stuck_reasons(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task(1001, NULL, NULL, NULL, "{\"message\":\"m\"}", NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "Server not defined");
    json_decref(resp);

    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"to\":\"not-an-address\"}", NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "Invalid email address: not-an-address");
    json_decref(resp);

    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"to\":\"a@example.com\\r\\nBcc: v@example.com\"}",
                              NULL, &resp),
                     TASK_STUCK);
    json_decref(resp);

    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"template_id\":\"no_such_template\"}", NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "template with id `no_such_template` not found");
    json_decref(resp);

    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"content_type\":\"text/plain\\r\\nX: y\"}", NULL,
                              &resp),
                     TASK_STUCK);
    json_decref(resp);

    assert_int_equal(run_task(1001, NULL, "smtp.example.com:notaport", NULL, "{\"message\":\"m\"}",
                              NULL, &resp),
                     TASK_STUCK);
    json_decref(resp);

    /* a recipient the server refuses permanently (550) */
    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"to\":\"reject-me@example.com\"}", NULL, &resp),
                     TASK_STUCK);
    assert_non_null(strstr(jstr(resp, "error"), "550"));
    json_decref(resp);
    assert_no_message(&g_sink);
}

static void test_from_undefined(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    exec_sql("UPDATE config SET value = '{\"subject\":\"x\"}' WHERE key = 'mail'");
    enum task_result res = run_task(1001, &g_sink, NULL, NULL, "{\"message\":\"m\"}", NULL, &resp);
    exec_sql("UPDATE config SET value = '{\"from\":\"billing@shm.test\",\"from_name\":\"Биллинг\","
             "\"subject\":\"Default subject\"}' WHERE key = 'mail'");
    assert_int_equal(res, TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "From undefined");
    json_decref(resp);
    /* the setting alone is enough; an invalid one is STUCK */
    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"from\":\"bad from\"}", NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "Invalid email address: bad from");
    json_decref(resp);
}

static void test_fail_is_retried(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    /* temporary recipient failure (451) */
    assert_int_equal(run_task(1001, &g_sink, NULL, NULL,
                              "{\"message\":\"m\",\"to\":\"busy@example.com\"}", NULL, &resp),
                     TASK_FAIL);
    assert_non_null(strstr(jstr(resp, "error"), "451"));
    assert_non_null(json_object_get(resp, "mail"));
    json_decref(resp);
    /* wrong credentials */
    assert_int_equal(run_task(1001, &g_sink, NULL, "{\"user\":\"mailer\",\"password\":\"wrong\"}",
                              "{\"message\":\"m\"}", NULL, &resp),
                     TASK_FAIL);
    assert_non_null(strstr(jstr(resp, "error"), "535"));
    json_decref(resp);
    /* nothing listens on port 1 */
    assert_int_equal(run_task(1001, NULL, "127.0.0.1:1", NULL, "{\"message\":\"m\"}", NULL, &resp),
                     TASK_FAIL);
    assert_non_null(jstr(resp, "error"));
    json_decref(resp);
    assert_no_message(&g_sink);
}

/* ---- TLS (§3.2) ---- */

static void test_tls(void **state)
{
    json_t *resp = NULL;
    char host[64];
    UNUSED(state);
    /* STARTTLS on request; the sink refuses MAIL before it, so the mail proves encryption */
    assert_int_equal(run_task(1001, &g_sink_starttls, NULL,
                              "{\"starttls\":1,\"verify_hostname\":0}", "{\"message\":\"tls\"}",
                              NULL, &resp),
                     TASK_SUCCESS);
    json_t *m = one_message(&g_sink_starttls);
    assert_int_equal(json_integer_value(json_object_get(m, "tls")), 1);
    assert_string_equal(jstr(m, "body"), "tls");
    json_decref(m);
    json_decref(resp);

    /* the certificate is verified by default: a self-signed one fails (retried) */
    assert_int_equal(run_task(1001, &g_sink_starttls, NULL, "{\"starttls\":\"1\"}",
                              "{\"message\":\"tls\"}", NULL, &resp),
                     TASK_FAIL);
    assert_no_message(&g_sink_starttls);
    json_decref(resp);

    /* no flag on a port other than 25/465/587: plain SMTP, which this sink refuses (530) */
    assert_int_equal(run_task(1001, &g_sink_starttls, NULL, "{}", "{\"message\":\"x\"}", NULL,
                              &resp),
                     TASK_FAIL);
    assert_non_null(strstr(jstr(resp, "error"), "530"));
    json_decref(resp);

    /* starttls demanded from a server without STARTTLS: no fallback to plain text */
    assert_int_equal(run_task(1001, &g_sink, NULL,
                              "{\"user\":\"mailer\",\"password\":\"p@ss word\",\"starttls\":1}",
                              "{\"message\":\"x\"}", NULL, &resp),
                     TASK_FAIL);
    assert_no_message(&g_sink);
    json_decref(resp);

    /* implicit TLS by the ssl flag, and by an smtps:// host */
    assert_int_equal(run_task(1001, &g_sink_implicit, NULL, "{\"ssl\":1,\"verify_hostname\":0}",
                              "{\"message\":\"implicit\"}", NULL, &resp),
                     TASK_SUCCESS);
    m = one_message(&g_sink_implicit);
    assert_int_equal(json_integer_value(json_object_get(m, "tls")), 1);
    json_decref(m);
    json_decref(resp);
    snprintf(host, sizeof(host), "smtps://127.0.0.1:%d", g_sink_implicit.port);
    assert_int_equal(run_task(1001, NULL, host, "{\"verify_hostname\":0}",
                              "{\"message\":\"implicit\"}", NULL, &resp),
                     TASK_SUCCESS);
    json_decref(one_message(&g_sink_implicit));
    json_decref(resp);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    struct err e = { 0 };
    char url[160];
    UNUSED(state);
    setenv("TZ", "UTC", 1);
    tzset();
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_path, sizeof(g_path), "/tmp/billd_test_mail_transport_%ld.db", (long)getpid());
    testdb_lite_remove(g_path);
    snprintf(url, sizeof(url), "sqlite://%s", g_path);
    if (db_open(url, &g_db, &e) || migrate_run(g_db, NULL, &e)) {
        fprintf(stderr, "# cannot prepare %s: %s\n", url, e.msg);
        return -1;
    }
    exec_sql("UPDATE config SET value = '{\"from\":\"billing@shm.test\",\"from_name\":\"Биллинг\","
             "\"subject\":\"Default subject\"}' WHERE key = 'mail'");
    exec_sql("INSERT INTO users (user_id, login, login2, created, settings) VALUES "
             "(1001, 'mailuser', NULL, 0, '{\"email\":\"first@example.com\"}'),"
             "(1002, 'user2', 'second@example.com', 0, '{\"email\":\"not an address\"}'),"
             "(1003, 'login@example.com', NULL, 0, NULL),"
             "(1004, 'user4', 'nope', 0, '{}'),"
             "(1005, 'user5', NULL, 0, NULL)");
    exec_sql("INSERT INTO profiles (user_id, data, created) VALUES "
             "(1004, '{\"email\":\"profile@example.com\"}', 0)");
    exec_sql("INSERT INTO templates (id, data, settings) VALUES "
             "('mail_tpl', 'Здравствуйте, {{ user.login }}!\nС уважением.', "
             "'{\"subject\":\"Ваш счёт оплачен\"}'),"
             "('mail_empty', '{{ IF 0 }}never{{ END }}  ', NULL)");
    const char *auth[] = { "--user", "mailer", "--password", "p@ss word", NULL };
    const char *login[] = { "--user", "mailer2", "--password", "pw2", "--mechs", "LOGIN", NULL };
    const char *starttls[] = { "--tls", "starttls", NULL };
    const char *implicit[] = { "--tls", "implicit", NULL };
    if (peer_start(&g_sink, "SmtpSink", auth) || peer_start(&g_sink_login, "SmtpSink", login) ||
        peer_start(&g_sink_starttls, "SmtpSink", starttls) ||
        peer_start(&g_sink_implicit, "SmtpSink", implicit))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    UNUSED(state);
    peer_stop(&g_sink);
    peer_stop(&g_sink_login);
    peer_stop(&g_sink_starttls);
    peer_stop(&g_sink_implicit);
    db_close(g_db);
    testdb_lite_remove(g_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_mail_with_auth),
        cmocka_unit_test(test_auth_login_and_message_setting),
        cmocka_unit_test(test_recipients_and_merge),
        cmocka_unit_test(test_user_email_fallbacks),
        cmocka_unit_test(test_empty_message_skipped),
        cmocka_unit_test(test_header_injection),
        cmocka_unit_test(test_stuck_reasons),
        cmocka_unit_test(test_from_undefined),
        cmocka_unit_test(test_fail_is_retried),
        cmocka_unit_test(test_tls),
    };
    return cmocka_run_group_tests_name("mail_transport", tests, group_setup, group_teardown);
}
