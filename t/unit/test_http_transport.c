/*
 * test_http_transport.c — the http transport (src/transport/http_client.c,
 * transports.md §2) and its libcurl client against a real HTTP peer
 * (t/lib/HttpPeer.pm on 127.0.0.1): rendering of URL and body, the settings
 * merge, GET query strings, results for 2xx / 4xx / 5xx / timeouts /
 * refused connections, storage_save_key, STUCK reasons, the user agent,
 * proxies from the environment, TLS verification against an HTTPS peer
 * (needs IO::Socket::SSL), and the pure helpers.
 *
 * Runs on a migrated SQLite database (the transport only reads templates and
 * the user and writes storage; the engines are covered by t/api/6201-http.t).
 */
#include "common.h"
#include "core/storage.h"
#include "db/db.h"
#include "db/migrate.h"
#include "transport/http_client.h"
#include "transport/transport.h"
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
static struct peer g_peer;
static struct peer g_tls; /* HTTPS with a self-signed certificate */

#define USER_ID 7

static void exec_sql(const char *sql)
{
    struct err e = { 0 };
    if (db_exec_script(g_db, sql, &e))
        fail_msg("%s: %s", sql, e.msg);
}

/* A JSON object from text (NULL text = {}). Owned. */
static json_t *obj(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : json_object();
    if (!j)
        fail_msg("bad JSON in the test: %s", text);
    return j;
}

/*
 * Runs the http transport on a task whose server has host ("PORT" stands for
 * the peer's port; NULL = no server) and the given settings levels.
 */
static enum task_result run_task(const char *host_fmt, const char *server_settings,
                                 const char *event_settings, const char *task_settings,
                                 json_t **response)
{
    char host[256];
    json_t *server = NULL;
    if (host_fmt) {
        const char *at = strstr(host_fmt, "PORT");
        if (at)
            snprintf(host, sizeof(host), "%.*s%d%s", (int)(at - host_fmt), host_fmt, g_peer.port,
                     at + 4);
        else
            snprintf(host, sizeof(host), "%s", host_fmt);
        server = json_pack("{s:i,s:s,s:s,s:o}", "server_id", 3, "transport", "http", "host", host,
                           "settings", obj(server_settings));
    }
    json_t *event = json_pack("{s:s,s:o}", "name", "CREATE", "settings", obj(event_settings));
    json_t *settings = obj(task_settings);
    struct spool_task t = { .id = 42, .user_id = USER_ID, .server_id = server ? 3 : 0,
                            .attempt = 1, .token = "tok42", .name = "CREATE", .event = event,
                            .settings = settings, .server = server };
    struct task_ctx x = { .db = g_db, .task = &t };
    peer_clear(&g_peer);
    enum task_result res = transport_http.send(&x, response);
    assert_non_null(*response);
    json_decref(server);
    json_decref(event);
    json_decref(settings);
    return res;
}

/* The only request the peer got since the last run (owned). */
static json_t *one_request(void)
{
    json_t *all = peer_records(&g_peer);
    assert_int_equal(json_array_size(all), 1);
    json_t *r = json_incref(json_array_get(all, 0));
    json_decref(all);
    return r;
}

static const char *jstr(const json_t *o, const char *path)
{
    json_t *v = json_object_get(o, path);
    return json_string_value(v);
}

static const char *hdr(const json_t *req, const char *name)
{
    return json_string_value(json_object_get(json_object_get(req, "headers"), name));
}

/* ---- successful requests ---- */

static void test_post_json(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    enum task_result res = run_task("http://127.0.0.1:PORT/json/{{ user.login }}/{{ task.id }}",
                                    "{\"headers\":{\"X-Token\":\"s3cret\"}}",
                                    "{\"template_id\":\"http_body\"}", NULL, &resp);
    assert_int_equal(res, TASK_SUCCESS);
    json_t *req = one_request();
    assert_string_equal(jstr(req, "method"), "POST");
    assert_string_equal(jstr(req, "path"), "/json/httpuser/42");
    assert_string_equal(jstr(req, "body"), "{\"login\":\"httpuser\",\"event\":\"CREATE\"}");
    assert_string_equal(hdr(req, "content-type"), "application/json; charset=utf-8");
    assert_string_equal(hdr(req, "user-agent"), "SHM");
    assert_string_equal(hdr(req, "x-token"), "s3cret");
    assert_string_equal(hdr(req, "x-billd-task-token"), "tok42"); /* D9 */
    assert_string_equal(hdr(req, "x-billd-attempt"), "1");
    json_decref(req);
    /* the response: decoded JSON body, status, message, the request */
    assert_string_equal(jstr(json_object_get(resp, "response"), "hello"), "мир");
    json_t *st = json_object_get(resp, "status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 200);
    assert_string_equal(jstr(st, "line"), "200 OK");
    assert_string_equal(jstr(resp, "message"), "successful");
    assert_null(json_object_get(resp, "error"));
    json_t *rq = json_object_get(resp, "request");
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/json/httpuser/42", g_peer.port);
    assert_string_equal(jstr(rq, "url"), url);
    assert_string_equal(jstr(rq, "method"), "post");
    assert_string_equal(jstr(rq, "content"), "{\"login\":\"httpuser\",\"event\":\"CREATE\"}");
    assert_string_equal(jstr(json_object_get(rq, "headers"), "X-Token"), "s3cret");
    json_decref(resp);
}

/* server < template < event settings; the template comes from the server when none else. */
static void test_settings_merge(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    enum task_result res = run_task(
        "http://127.0.0.1:PORT/echo",
        "{\"template_id\":\"http_tpl_settings\",\"method\":\"put\",\"headers\":{\"X-A\":\"server\"},"
        "\"content_type\":\"text/x-server\"}",
        "{\"method\":\"PATCH\"}", NULL, &resp);
    assert_int_equal(res, TASK_SUCCESS);
    json_t *req = one_request();
    assert_string_equal(jstr(req, "method"), "PATCH");
    assert_string_equal(hdr(req, "x-a"), "template");
    assert_string_equal(hdr(req, "content-type"), "text/plain; charset=utf-8");
    assert_string_equal(jstr(req, "body"), "plain body 7");
    json_decref(req);
    json_decref(resp);

    /* a Content-Type among the headers wins over content_type (sent once) */
    res = run_task("http://127.0.0.1:PORT/echo",
                   "{\"template_id\":\"http_body\",\"headers\":{\"content-type\":\"text/csv\"}}",
                   NULL, NULL, &resp);
    assert_int_equal(res, TASK_SUCCESS);
    req = one_request();
    assert_string_equal(hdr(req, "content-type"), "text/csv");
    json_decref(req);
    json_decref(resp);

    /* task settings' template_id is used when the event has none */
    res = run_task("http://127.0.0.1:PORT/echo", "{\"template_id\":\"nope\"}", NULL,
                   "{\"template_id\":\"http_body\"}", &resp);
    assert_int_equal(res, TASK_SUCCESS);
    json_decref(one_request());
    json_decref(resp);
}

static void test_get_query(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    enum task_result res = run_task("http://127.0.0.1:PORT/echo?x=1",
                                    "{\"method\":\"GET\",\"template_id\":\"http_query\"}", NULL,
                                    NULL, &resp);
    assert_int_equal(res, TASK_SUCCESS);
    json_t *req = one_request();
    assert_string_equal(jstr(req, "method"), "GET");
    assert_string_equal(jstr(req, "query"), "x=1&a=1&b=%D0%B4%D0%B2%D0%B0");
    assert_string_equal(jstr(req, "body"), "");
    json_decref(req);
    /* the peer echoes the request as JSON: the response field is that object */
    assert_string_equal(jstr(json_object_get(resp, "response"), "path"), "/echo");
    json_decref(resp);

    /* a JSON object body is form-encoded into the query */
    res = run_task("http://127.0.0.1:PORT/echo", "{\"method\":\"get\",\"template_id\":\"http_body\"}",
                   NULL, NULL, &resp);
    assert_int_equal(res, TASK_SUCCESS);
    json_t *req2 = one_request();
    assert_string_equal(jstr(req2, "query"), "login=httpuser&event=CREATE");
    json_decref(req2);
    json_decref(resp);
}

static void test_not_json(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task("http://127.0.0.1:PORT/text", "{\"template_id\":\"http_body\"}", NULL,
                              NULL, &resp),
                     TASK_SUCCESS);
    assert_string_equal(jstr(resp, "response"), "*NOT_JSON* Length: 12");
    json_decref(resp);
}

/* ---- failures ---- */

static void test_4xx_is_permanent_success(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task("http://127.0.0.1:PORT/status/404", "{\"template_id\":\"http_body\"}",
                              NULL, NULL, &resp),
                     TASK_SUCCESS);
    assert_string_equal(jstr(resp, "error"), "404 Not Found");
    assert_null(json_object_get(resp, "message"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "response"),
                                                        "status")), 404);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "status"), "code")),
                     404);
    json_decref(resp);
}

static void test_5xx_fails(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task("http://127.0.0.1:PORT/status/503", "{\"template_id\":\"http_body\"}",
                              NULL, NULL, &resp),
                     TASK_FAIL);
    assert_string_equal(jstr(resp, "error"), "503 Service Unavailable");
    json_decref(resp);
}

static void test_timeout_fails_as_500(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task("http://127.0.0.1:PORT/hang",
                              "{\"template_id\":\"http_body\",\"timeout\":1}", NULL, NULL, &resp),
                     TASK_FAIL);
    json_t *st = json_object_get(resp, "status");
    assert_int_equal(json_integer_value(json_object_get(st, "code")), 500);
    assert_true(!strncmp(jstr(st, "line"), "500 ", 4));
    if (!strstr(jstr(resp, "error"), "imed out"))
        fail_msg("error: %s", jstr(resp, "error"));
    assert_true(json_real_value(json_object_get(json_object_get(resp, "request"), "timeout")) ==
                1.0);
    json_decref(resp);
}

static void test_refused_fails_as_500(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    /* port 1 on loopback: nothing listens there */
    assert_int_equal(run_task("http://127.0.0.1:1/x", "{\"template_id\":\"http_body\"}",
                              NULL, NULL, &resp),
                     TASK_FAIL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "status"), "code")),
                     500);
    assert_true(!strncmp(jstr(resp, "error"), "500 ", 4));
    json_decref(resp);
}

static void test_stuck_reasons(void **state)
{
    json_t *resp = NULL;
    UNUSED(state);
    assert_int_equal(run_task(NULL, NULL, "{\"template_id\":\"http_body\"}", NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "Server not exists");
    json_decref(resp);

    assert_int_equal(run_task("http://127.0.0.1:PORT/json", NULL, "{\"template_id\":\"nope\"}",
                              NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "template with id `nope` not found");
    json_decref(resp);

    assert_int_equal(run_task("http://127.0.0.1:PORT/json", NULL, NULL, NULL, &resp), TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "template with id `` not found");
    json_decref(resp);

    assert_int_equal(run_task("http://127.0.0.1:PORT/json",
                              "{\"template_id\":\"http_body\",\"method\":\"TRACE\"}", NULL, NULL,
                              &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "unknown method `TRACE`");
    json_decref(resp);

    assert_int_equal(run_task("", "{\"template_id\":\"http_body\"}", NULL, NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "not configure `URL`");
    json_decref(resp);

    /* header injection through settings: refused, nothing sent */
    assert_int_equal(run_task("http://127.0.0.1:PORT/json",
                              "{\"template_id\":\"http_body\",\"headers\":{\"X-A\":\"a\\r\\nX-B: b\"}}",
                              NULL, NULL, &resp),
                     TASK_STUCK);
    assert_string_equal(jstr(resp, "error"), "Header X-A: invalid name or value");
    json_decref(resp);

    assert_int_equal(run_task("ftp://127.0.0.1:PORT/x", "{\"template_id\":\"http_body\"}", NULL,
                              NULL, &resp),
                     TASK_STUCK);
    assert_true(!strncmp(jstr(resp, "error"), "Unsupported URL: ftp://", 23));
    json_decref(resp);

    assert_int_equal(run_task("http://127.0.0.1:PORT/json",
                              "{\"template_id\":\"http_body\",\"storage_save_key\":\"a/b\"}", NULL,
                              NULL, &resp),
                     TASK_STUCK);
    assert_true(!strncmp(jstr(resp, "error"), "storage_save_key: Field name:", 29));
    json_decref(resp);
    json_t *none = peer_records(&g_peer);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
}

/* ---- storage_save_key ---- */

static void test_storage_save_key(void **state)
{
    json_t *resp = NULL;
    struct storage_item it = { 0 };
    struct err e = { 0 };
    UNUSED(state);
    assert_int_equal(run_task("http://127.0.0.1:PORT/json",
                              "{\"template_id\":\"http_body\",\"storage_save_key\":\"vpn_answer\"}",
                              NULL, NULL, &resp),
                     TASK_SUCCESS);
    json_decref(resp);
    assert_int_equal(storage_read(g_db, USER_ID, "vpn_answer", &it, &e), 0);
    assert_true(it.json);
    json_t *saved = json_loadb(it.data, it.len, 0, NULL);
    assert_string_equal(jstr(saved, "path"), "/json");
    json_decref(saved);
    storage_item_release(&it);

    /* a second answer replaces the entry; a text answer is stored as text */
    assert_int_equal(run_task("http://127.0.0.1:PORT/text",
                              "{\"template_id\":\"http_body\",\"storage_save_key\":\"vpn_answer\"}",
                              NULL, NULL, &resp),
                     TASK_SUCCESS);
    json_decref(resp);
    assert_int_equal(storage_read(g_db, USER_ID, "vpn_answer", &it, &e), 0);
    assert_false(it.json);
    assert_string_equal(it.data, "plain answer");
    storage_item_release(&it);

    /* an error answer is not saved */
    assert_int_equal(run_task("http://127.0.0.1:PORT/status/404",
                              "{\"template_id\":\"http_body\",\"storage_save_key\":\"vpn_other\"}",
                              NULL, NULL, &resp),
                     TASK_SUCCESS);
    json_decref(resp);
    assert_int_equal(storage_read(g_db, USER_ID, "vpn_other", &it, &e), ERR_NOT_FOUND);
}

/* ---- proxies from the environment ---- */

static void test_proxy_from_environment(void **state)
{
    json_t *resp = NULL;
    char proxy[64];
    UNUSED(state);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", g_peer.port);
    setenv("HTTP_PROXY", proxy, 1); /* upper case: honoured although libcurl ignores it */
    assert_int_equal(run_task("http://localhost:1/json",
                              "{\"template_id\":\"http_body\"}", NULL, NULL, &resp),
                     TASK_SUCCESS);
    json_decref(resp);
    json_t *req = one_request();
    assert_string_equal(jstr(req, "target"), "http://localhost:1/json");
    json_decref(req);

    /* NO_PROXY wins: the direct connection to localhost:1 (nothing listens) fails; no DNS is used */
    setenv("NO_PROXY", "localhost", 1);
    assert_int_equal(run_task("http://localhost:1/json",
                              "{\"template_id\":\"http_body\"}", NULL, NULL, &resp),
                     TASK_FAIL);
    json_decref(resp);
    json_t *none = peer_records(&g_peer);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    unsetenv("NO_PROXY");
    unsetenv("HTTP_PROXY");

    /* lower-case http_proxy (libcurl's own reading) */
    setenv("http_proxy", proxy, 1);
    assert_int_equal(run_task("http://localhost:1/text",
                              "{\"template_id\":\"http_body\"}", NULL, NULL, &resp),
                     TASK_SUCCESS);
    json_decref(resp);
    req = one_request();
    assert_string_equal(jstr(req, "target"), "http://localhost:1/text");
    json_decref(req);
    unsetenv("http_proxy");
}

/* ---- TLS verification (verify_hostname) ---- */

static void test_https_verify(void **state)
{
    json_t *resp = NULL;
    char host[80];
    UNUSED(state);
    snprintf(host, sizeof(host), "https://127.0.0.1:%d/json", g_tls.port);
    peer_clear(&g_tls);
    /* verified by default: the self-signed certificate fails the request (as a 500) */
    assert_int_equal(run_task(host, "{\"template_id\":\"http_body\"}", NULL, NULL, &resp),
                     TASK_FAIL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "status"), "code")),
                     500);
    json_decref(resp);
    json_t *none = peer_records(&g_tls);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    /* verify_hostname 0 ("0" too) accepts it */
    assert_int_equal(run_task(host, "{\"template_id\":\"http_body\",\"verify_hostname\":\"0\"}",
                              NULL, NULL, &resp),
                     TASK_SUCCESS);
    assert_string_equal(jstr(json_object_get(resp, "response"), "hello"), "мир");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "request"),
                                                        "verify_hostname")), 0);
    json_decref(resp);
    json_t *got = peer_records(&g_tls);
    assert_int_equal(json_array_size(got), 1);
    json_decref(got);
}

/* ---- the client API ---- */

static void test_client_body_cap_and_headers(void **state)
{
    char url[128];
    struct err e = { 0 };
    struct http_client_resp rs;
    UNUSED(state);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/json", g_peer.port);
    struct http_client_req rq = { .url = url, .max_body = 10 };
    assert_int_equal(http_client_request(&rq, &rs, &e), ERR_LIMIT);
    assert_int_equal(rs.code, 0);
    http_client_resp_release(&rs);

    rq.max_body = 0;
    assert_int_equal(http_client_request(&rq, &rs, &e), 0);
    assert_int_equal(rs.code, 200);
    assert_string_equal(rs.status_line, "200 OK");
    assert_string_equal(http_client_resp_header(&rs, "x-peer"), "HttpPeer");
    assert_true(http_client_resp_is_json(&rs));
    http_client_resp_release(&rs);
    http_client_resp_release(&rs); /* twice is safe */

    /* GET follows redirects; POST does not */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/redirect", g_peer.port);
    assert_int_equal(http_client_request(&rq, &rs, &e), 0);
    assert_int_equal(rs.code, 200);
    assert_non_null(strstr(rs.body.data, "\"path\":\"/json\"")); /* the final answer */
    http_client_resp_release(&rs);
    rq.method = "POST";
    assert_int_equal(http_client_request(&rq, &rs, &e), 0);
    assert_int_equal(rs.code, 302);
    assert_string_equal(rs.status_line, "302 Found");
    assert_string_equal(http_client_resp_header(&rs, "location"), "/json");
    http_client_resp_release(&rs);

    rq.method = "BREW";
    assert_int_equal(http_client_request(&rq, &rs, &e), ERR_INVALID);
    assert_string_equal(e.msg, "unknown method `BREW`");
    http_client_resp_release(&rs);
}

static void test_form_and_query_helpers(void **state)
{
    UNUSED(state);
    json_t *o = json_pack("{s:s,s:i,s:b,s:n,s:[s,s],s:{s:i}}", "a b", "x&y=z", "n", 5, "t", 1,
                          "nul", "arr", "1", "2", "obj", "k", 1);
    char *s = http_form_encode(o);
    assert_string_equal(s, "a%20b=x%26y%3Dz&n=5&t=1&nul=&arr=1&arr=2&obj=%7B%22k%22%3A1%7D");
    free(s);
    json_decref(o);
    s = http_form_encode(NULL);
    assert_string_equal(s, "");
    free(s);

    struct { const char *url, *q, *want; } c[] = {
        { "http://h/p", "a=1", "http://h/p?a=1" },
        { "http://h/p?x=1", "a=1", "http://h/p?x=1&a=1" },
        { "http://h/p?", "a=1", "http://h/p?a=1" },
        { "http://h/p#frag", "?a=1", "http://h/p?a=1#frag" },
        { "http://h/p", "", "http://h/p" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
        s = http_url_add_query(c[i].url, c[i].q);
        assert_string_equal(s, c[i].want);
        free(s);
    }
}

/* ---- setup ---- */

static int group_setup(void **state)
{
    struct err e = { 0 };
    char url[160];
    UNUSED(state);
    setenv("TZ", "UTC", 1);
    tzset();
    const char *proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                              "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY" };
    for (size_t i = 0; i < ARRAY_SIZE(proxies); i++)
        unsetenv(proxies[i]);
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    snprintf(g_path, sizeof(g_path), "/tmp/billd_test_http_transport_%ld.db", (long)getpid());
    testdb_lite_remove(g_path);
    snprintf(url, sizeof(url), "sqlite://%s", g_path);
    if (db_open(url, &g_db, &e) || migrate_run(g_db, NULL, &e)) {
        fprintf(stderr, "# cannot prepare %s: %s\n", url, e.msg);
        return -1;
    }
    exec_sql("INSERT INTO users (user_id, login, created) VALUES (7, 'httpuser', 0)");
    exec_sql("INSERT INTO templates (id, data, settings) VALUES "
             "('http_body', '{\"login\":\"{{ user.login }}\",\"event\":\"{{ event_name }}\"}', NULL),"
             "('http_tpl_settings', 'plain body {{ user.user_id }}', "
             "'{\"headers\":{\"X-A\":\"template\"},\"content_type\":\"text/plain; charset=utf-8\"}'),"
             "('http_query', 'a=1&b=%D0%B4%D0%B2%D0%B0\n', NULL)");
    const char *tls[] = { "--tls", "1", NULL };
    if (peer_start(&g_peer, "HttpPeer", NULL) || peer_start(&g_tls, "HttpPeer", tls))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    UNUSED(state);
    peer_stop(&g_peer);
    peer_stop(&g_tls);
    db_close(g_db);
    testdb_lite_remove(g_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_json),
        cmocka_unit_test(test_settings_merge),
        cmocka_unit_test(test_get_query),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_4xx_is_permanent_success),
        cmocka_unit_test(test_5xx_fails),
        cmocka_unit_test(test_timeout_fails_as_500),
        cmocka_unit_test(test_refused_fails_as_500),
        cmocka_unit_test(test_stuck_reasons),
        cmocka_unit_test(test_storage_save_key),
        cmocka_unit_test(test_proxy_from_environment),
        cmocka_unit_test(test_https_verify),
        cmocka_unit_test(test_client_body_cap_and_headers),
        cmocka_unit_test(test_form_and_query_helpers),
    };
    return cmocka_run_group_tests_name("http_transport", tests, group_setup, group_teardown);
}
