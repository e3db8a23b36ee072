/*
 * test_ssh.c — the ssh transport (src/transport/ssh.c) and the console
 * (src/spool/console.c) against a real OpenSSH sshd started by this test on
 * a free 127.0.0.1 port with a throwaway host key and an authorized test
 * key, on a migrated SQLite database (plus PostgreSQL when
 * BILLD_TEST_PG_URL is set). Tasks are hand-made struct spool_task values
 * given to transport_ssh.send, as the spool does.
 *
 * When sshd cannot start (not installed, no permission) every case fails
 * with the reason from sshd's log rather than passing silently.
 */
#include "common.h"
#include "core/identity.h"
#include "db/db.h"
#include "db/migrate.h"
#include "spool/console.h"
#include "transport/ssh.h"
#include "transport/transport.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/log.h"
#include "testdb.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

struct backend {
    const char *name;
    char url[512];
    struct db *db;
};

static struct backend g_lite = { .name = "sqlite" }, g_pg = { .name = "pg" };
static struct db *g_pg_admin;
static char g_pg_dbname[64];
static char g_lite_path[256];
static char g_dir[128];       /* temp dir: keys, sshd config and log, files the commands write */
static int g_port;            /* the test sshd */
static pid_t g_sshd = -1;
static char g_user[64];       /* who the commands run as (the current user) */
static char g_sshd_error[512];
static struct config g_cfg;

/* ---- helpers ---- */

static void run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run_cmd(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fprintf(stderr, "# command failed: %s\n", cmd);
}

/* The whole file at path (owned), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    return buf_detach(&b, NULL);
}

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

/* True once something accepts on 127.0.0.1:port and sends an SSH banner. */
static bool sshd_ready(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char banner[8] = "";
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
              read(fd, banner, 4) == 4 && memcmp(banner, "SSH-", 4) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void sshd_stop(void);

/* Starts /usr/sbin/sshd -D -e on g_port. Returns 0 or -1 with g_sshd_error set. */
static int sshd_start(void)
{
    char conf[300], log[300];
    snprintf(conf, sizeof(conf), "%s/sshd_config", g_dir);
    snprintf(log, sizeof(log), "%s/sshd.log", g_dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "Port %d\nListenAddress 127.0.0.1\nHostKey %s/host_key\nPidFile %s/sshd.pid\n"
            "AuthorizedKeysFile %s/authorized_keys\nUsePAM no\nStrictModes no\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "AllowTcpForwarding yes\nLogLevel VERBOSE\n",
            g_port, g_dir, g_dir, g_dir);
    fclose(f);
    if (geteuid() == 0)
        mkdir("/run/sshd", 0755); /* privilege separation directory */
    g_sshd = fork();
    if (g_sshd == 0) {
        FILE *lf = freopen(log, "a", stderr);
        UNUSED(lf);
        execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        if (sshd_ready(g_port))
            return 0;
        int st;
        if (waitpid(g_sshd, &st, WNOHANG) == g_sshd)
            break;
        usleep(50000);
    }
    sshd_stop();
    char *text = slurp(log);
    snprintf(g_sshd_error, sizeof(g_sshd_error), "sshd did not start: %s", text ? text : "");
    free(text);
    return -1;
}

static void sshd_stop(void)
{
    if (g_sshd > 0) {
        kill(g_sshd, SIGTERM);
        waitpid(g_sshd, NULL, 0);
    }
    g_sshd = -1;
}

/* ---- database ---- */

static struct db *db_of(void **state)
{
    return ((struct backend *)*state)->db;
}

static void sql(struct db *db, const char *text)
{
    struct err e = { 0 };
    if (db_exec_script(db, text, &e))
        fail_msg("sql %s: %s", text, e.msg);
}

static int pg_setup(const char *admin_url)
{
    struct err e = { 0 };
    char text[160];
    if (db_open(admin_url, &g_pg_admin, &e))
        return fprintf(stderr, "# cannot open %s: %s\n", admin_url, e.msg), -1;
    snprintf(g_pg_dbname, sizeof(g_pg_dbname), "billd_test_ssh_%ld", (long)getpid());
    snprintf(text, sizeof(text), "DROP DATABASE IF EXISTS %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, text, &e))
        return -1;
    snprintf(text, sizeof(text), "CREATE DATABASE %s", g_pg_dbname);
    if (db_exec_script(g_pg_admin, text, &e))
        return fprintf(stderr, "# %s: %s\n", text, e.msg), -1;
    if (testdb_pg_url(admin_url, g_pg_dbname, g_pg.url, sizeof(g_pg.url)) ||
        db_open(g_pg.url, &g_pg.db, &e))
        return fprintf(stderr, "# cannot open %s: %s\n", g_pg.url, e.msg), -1;
    return 0;
}

static int keys_setup(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/billd_test_ssh_%ld_XXXXXX", (long)getpid());
    if (!mkdtemp(g_dir))
        return -1;
    run_cmd("ssh-keygen -q -t ed25519 -N '' -C host -f %s/host_key", g_dir);
    run_cmd("ssh-keygen -q -t ed25519 -N '' -C client -f %s/client_key", g_dir);
    run_cmd("cp %s/client_key.pub %s/authorized_keys", g_dir, g_dir);
    const char *u = getenv("USER");
    snprintf(g_user, sizeof(g_user), "%s", geteuid() == 0 ? "root" : u ? u : "nobody");
    g_port = free_port();
    return g_port > 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    struct err e = { 0 };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    UNUSED(state);
    log_set_level(getenv("BILLD_TEST_LOG") ? LOG_DEBUG : LOG_OFF);
    if (sodium_init() < 0 || keys_setup())
        return -1;
    randombytes_buf(g_cfg.secret_key, sizeof(g_cfg.secret_key));
    if (sshd_start())
        fprintf(stderr, "# %s\n", g_sshd_error);
    setenv("TZ", "UTC", 1);
    snprintf(g_lite_path, sizeof(g_lite_path), "%s/billd.db", g_dir);
    snprintf(g_lite.url, sizeof(g_lite.url), "sqlite://%s", g_lite_path);
    if (db_open(g_lite.url, &g_lite.db, &e) || migrate_run(g_lite.db, NULL, &e))
        return fprintf(stderr, "# sqlite: %s\n", e.msg), -1;
    if (!pg || !*pg)
        return 0;
    if (pg_setup(pg) || migrate_run(g_pg.db, NULL, &e))
        return fprintf(stderr, "# pg: %s\n", e.msg), -1;
    return 0;
}

static int group_teardown(void **state)
{
    struct err e = { 0 };
    char text[160];
    UNUSED(state);
    sshd_stop();
    db_close(g_lite.db);
    testdb_lite_remove(g_lite_path);
    db_close(g_pg.db);
    if (g_pg_admin) {
        snprintf(text, sizeof(text), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_pg_dbname);
        if (db_exec_script(g_pg_admin, text, &e))
            fprintf(stderr, "# %s: %s\n", text, e.msg);
        db_close(g_pg_admin);
    }
    if (!getenv("BILLD_TEST_KEEP"))
        run_cmd("rm -rf %s", g_dir);
    return 0;
}

/* Every case: identity 7 = the authorized client key, server 1 = the test sshd. */
static int clean(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    char path[300], *pem, *sealed = NULL;
    if (g_sshd < 0)
        fail_msg("%s", g_sshd_error);
    sql(db, "DELETE FROM identities; DELETE FROM servers; DELETE FROM console;"
            " DELETE FROM templates WHERE id LIKE 'ssh_test_%'");
    snprintf(path, sizeof(path), "%s/client_key", g_dir);
    pem = slurp(path);
    assert_non_null(pem);
    assert_int_equal(identity_seal(&g_cfg, pem, &sealed, &e), 0);
    free(pem);
    struct db_value p[] = { DB_TEXT(sealed) };
    assert_int_equal(db_exec(db, "INSERT INTO identities (id, name, private_key) VALUES"
                                 " (7, 'test', $1)", p, 1, NULL, &e), 0);
    free(sealed);
    char *host = xasprintf("%s@127.0.0.1", g_user);
    char *st = xasprintf("{\"key_id\":7,\"port\":%d}", g_port);
    struct db_value q[] = { DB_TEXT(host), DB_TEXT(st) };
    assert_int_equal(db_exec(db, "INSERT INTO servers (server_id, transport, host, settings)"
                                 " VALUES (1, 'ssh', $1, $2)", q, 2, NULL, &e), 0);
    free(host);
    free(st);
    return 0;
}

/* ---- running a task ---- */

/* What one execution gave. */
struct outcome {
    enum task_result result;
    json_t *response;
    char *log;       /* the console text */
    bool eof;
};

static void outcome_free(struct outcome *o)
{
    json_decref(o->response);
    free(o->log);
}

/* The servers row 1 as the spool hands it to a transport (settings decoded). */
static json_t *server_json(struct db *db)
{
    struct err e = { 0 };
    struct db_result *r = NULL;
    assert_int_equal(db_query(db, "SELECT server_id, host, settings FROM servers"
                                  " WHERE server_id = 1", NULL, 0, &r, &e), 0);
    assert_int_equal(db_result_rows(r), 1);
    json_t *s = json_pack("{s:I,s:s}", "server_id", (json_int_t)1, "host",
                          db_result_text(r, 0, 1));
    json_object_set_new(s, "settings", json_loads(db_result_text(r, 0, 2), 0, NULL));
    db_result_free(r);
    return s;
}

/*
 * Runs task settings `settings_json` (with server 1 unless no_server) as
 * attempt `attempt` with token `token`, and reads back its console.
 */
static struct outcome run_task(struct db *db, const char *settings_json, bool no_server,
                               int attempt, const char *token)
{
    struct outcome o = { 0 };
    struct err e = { 0 };
    json_t *settings = json_loads(settings_json, 0, NULL);
    assert_non_null(settings);
    json_t *server = no_server ? NULL : server_json(db);
    json_t *event = json_pack("{s:s,s:s,s:{}}", "kind", "UserService", "name", "CREATE",
                              "settings");
    struct spool_task t = { .id = 42, .user_id = 1, .server_id = no_server ? 0 : 1,
                            .attempt = attempt, .token = token, .name = "CREATE",
                            .event = event, .settings = settings, .server = server };
    struct task_ctx x = { .db = db, .cfg = &g_cfg, .task = &t };
    o.result = transport_ssh.send(&x, &o.response);
    assert_non_null(o.response);
    int64_t id = json_integer_value(json_object_get(o.response, "pipeline_id"));
    assert_true(id > 0);
    struct console_chunk ch;
    assert_int_equal(console_read(db, id, 1, &ch, &e), 0);
    o.log = ch.text;
    o.eof = ch.eof;
    json_decref(settings);
    json_decref(server);
    json_decref(event);
    return o;
}

static const char *resp_str(const struct outcome *o, const char *key)
{
    return json_string_value(json_object_get(o->response, key));
}

static json_int_t resp_int(const struct outcome *o, const char *key)
{
    return json_integer_value(json_object_get(o->response, key));
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay ? hay : "(null)");
}

/* The file g_dir/name (owned) or fails. */
static char *dir_file(const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    char *s = slurp(path);
    if (!s)
        fail_msg("%s was not written", path);
    return s;
}

/* ---- cases ---- */

static void test_command_success(void **state)
{
    struct db *db = db_of(state);
    char *set = xasprintf("{\"cmd\":\"echo written > %s/ok.txt; echo '<b>out & about</b>';"
                          " echo err-line >&2\"}", g_dir);
    struct outcome o = run_task(db, set, false, 1, "tok");
    assert_int_equal(o.result, TASK_SUCCESS);
    char *f = dir_file("ok.txt");
    assert_string_equal(f, "written\n");
    free(f);
    char *want = xasprintf("<font color=yellow>Trying connect to: %s@127.0.0.1 (timeout: 10s)"
                           " port %d</font>\n<font color=green>SUCCESS</font>\n\n"
                           "&lt;b&gt;out &amp; about&lt;/b&gt;\nerr-line\n\n"
                           "<font color=green>DONE</font>\n",
                           g_user, g_port);
    assert_string_equal(o.log, want);
    assert_true(o.eof);
    assert_int_equal(resp_int(&o, "ret_code"), 0);
    assert_null(json_object_get(o.response, "error"));
    json_t *srv = json_object_get(o.response, "server");
    assert_int_equal(json_integer_value(json_object_get(srv, "id")), 1);
    assert_int_equal(json_integer_value(json_object_get(srv, "port")), g_port);
    assert_int_equal(json_integer_value(json_object_get(srv, "key_id")), 7);
    assert_contains(resp_str(&o, "cmd"), "ok.txt");
    free(want);
    free(set);
    outcome_free(&o);
}

static void test_stderr_dropped(void **state)
{
    struct outcome o = run_task(db_of(state), "{\"cmd\":\"echo visible; echo hidden >&2\","
                                              "\"stderr_to_stdout\":0}", false, 1, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    assert_contains(o.log, "visible");
    assert_null(strstr(o.log, "hidden"));
    outcome_free(&o);
}

static void test_exit_code(void **state)
{
    struct outcome o = run_task(db_of(state), "{\"cmd\":\"echo before; exit 3\"}", false, 1, "t");
    assert_int_equal(o.result, TASK_FAIL);
    assert_int_equal(resp_int(&o, "ret_code"), 3);
    assert_string_equal(resp_str(&o, "error"), "Exit code 3");
    assert_contains(o.log, "before\n\n<font color=red>ERROR 3</font>\n");
    assert_true(o.eof);
    outcome_free(&o);
}

static void test_timeout(void **state)
{
    struct outcome o = run_task(db_of(state), "{\"cmd\":\"echo started; sleep 20\",\"timeout\":2}",
                                false, 1, "t");
    assert_int_equal(o.result, TASK_FAIL);
    assert_contains(o.log, "(timeout: 2s)");
    assert_contains(o.log, "started\n\n<font color=red>TIMEOUT</font>\n");
    assert_contains(resp_str(&o, "error"), "Timeout");
    assert_true(o.eof);
    outcome_free(&o);
}

static void test_env_and_quoting(void **state)
{
    char *set = xasprintf("{\"cmd\":\"printf '%%s|%%s|%%s|%%s' \\\"$BILLD_TASK_ID\\\""
                          " \\\"$BILLD_TASK_TOKEN\\\" \\\"$BILLD_TASK_ATTEMPT\\\""
                          " \\\"$BILLD_EVENT\\\" > %s/env.txt\"}", g_dir);
    for (int attempt = 1; attempt <= 2; attempt++) {
        struct outcome o = run_task(db_of(state), set, false, attempt, "to'k $x");
        assert_int_equal(o.result, TASK_SUCCESS);
        char *f = dir_file("env.txt");
        char want[64];
        snprintf(want, sizeof(want), "42|to'k $x|%d|CREATE", attempt);
        assert_string_equal(f, want);
        free(f);
        outcome_free(&o);
    }
    free(set);
}

static void test_auto_escape(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    assert_int_equal(db_exec(db, "INSERT INTO templates (id, data, settings) VALUES"
                                 " ('ssh_test_escaped', 'echo {{ task.token }}', '{\"auto_escape\":\"shell\"}')",
                             NULL, 0, NULL, &e), 0);
    /* without auto_escape the token's $(…) would run; with it, it is one quoted word */
    struct outcome o = run_task(db, "{\"template_id\":\"ssh_test_escaped\"}", false, 1,
                                "a $(echo INJECTED) b");
    assert_int_equal(o.result, TASK_SUCCESS);
    assert_contains(o.log, "\na $(echo INJECTED) b\n");
    outcome_free(&o);
    o = run_task(db, "{\"cmd\":\"echo {{ task.token }}\",\"auto_escape\":\"shell\"}", false, 1,
                 "x;echo INJECTED");
    assert_int_equal(o.result, TASK_SUCCESS);
    assert_contains(o.log, "\nx;echo INJECTED\n");
    outcome_free(&o);
    o = run_task(db, "{\"cmd\":\"echo {{ task.token }}\"}", false, 1, "x;echo RAW");
    assert_contains(o.log, "\nx\nRAW\n"); /* SHM's default: raw */
    outcome_free(&o);
}

static void test_exec(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    struct ssh_exec_result r;
    char *set = xasprintf("{\"host\":\"%s@127.0.0.1\",\"port\":%d,\"key_id\":7,"
                          "\"cmd\":\"echo '{{ as is }}'; echo '<x>'; cat\",\"stdin\":\"in\"}",
                          g_user, g_port);
    json_t *settings = json_loads(set, 0, NULL);
    assert_int_equal(ssh_exec(db, &g_cfg, 1, settings, &r, &e), 0);
    assert_int_equal(r.result, TASK_SUCCESS);
    assert_int_equal(r.ret_code, 0);
    assert_string_equal(r.output, "{{ as is }}\n<x>\nin"); /* not rendered again */
    assert_contains(r.logs, "\n{{ as is }}\n&lt;x&gt;\nin\n<font color=green>DONE</font>\n");
    assert_true(r.pipeline_id > 0);
    assert_int_equal(json_integer_value(json_object_get(r.response, "pipeline_id")), r.pipeline_id);
    ssh_exec_result_free(&r);
    json_decref(settings);
    free(set);

    set = xasprintf("{\"host\":\"%s@127.0.0.1\",\"port\":%d,\"key_id\":7,\"cmd\":\"exit 4\"}",
                    g_user, g_port);
    settings = json_loads(set, 0, NULL);
    assert_int_equal(ssh_exec(db, &g_cfg, 1, settings, &r, &e), 0);
    assert_int_equal(r.result, TASK_FAIL);
    assert_int_equal(r.ret_code, 4);
    assert_string_equal(r.output, "");
    ssh_exec_result_free(&r);
    json_decref(settings);
    free(set);
}

static void test_stdin(void **state)
{
    char *set = xasprintf("{\"cmd\":\"cat > %s/in.txt\",\"stdin\":\"line one\\nline two\"}",
                          g_dir);
    struct outcome o = run_task(db_of(state), set, false, 1, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    char *f = dir_file("in.txt");
    assert_string_equal(f, "line one\nline two");
    free(f);
    free(set);
    outcome_free(&o);
}

static void test_template(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    char *script = xasprintf("echo \"event {{ event_name }}\" > %s/tpl.txt\necho done-tpl\n",
                             g_dir);
    struct db_value p[] = { DB_TEXT(script) };
    assert_int_equal(db_exec(db, "INSERT INTO templates (id, data) VALUES ('ssh_test_script', $1),"
                                 " ('ssh_test_empty', '  \n')", p, 1, NULL, &e), 0);
    free(script);
    struct outcome o = run_task(db, "{\"template_id\":\"ssh_test_script\"}", false, 1, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    assert_string_equal(resp_str(&o, "template_id"), "ssh_test_script");
    assert_null(json_object_get(o.response, "cmd"));
    char *f = dir_file("tpl.txt");
    assert_string_equal(f, "event CREATE\n");
    free(f);
    assert_contains(o.log, "done-tpl\n");
    outcome_free(&o);

    o = run_task(db, "{\"template_id\":\"ssh_test_empty\"}", false, 1, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    assert_string_equal(resp_str(&o, "msg"),
                        "Template ssh_test_empty is empty. Nothing to do. Skip it.");
    assert_true(o.eof);
    outcome_free(&o);

    o = run_task(db, "{\"template_id\":\"ssh_test_missing\"}", false, 1, "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_contains(resp_str(&o, "error"), "ssh_test_missing");
    outcome_free(&o);
}

static void test_nothing_to_do(void **state)
{
    struct outcome o = run_task(db_of(state), "{}", false, 1, "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_string_equal(resp_str(&o, "error"), "Nothing to do (no cmd, no template_id)");
    assert_contains(o.log, "<font color=red>FAIL Nothing to do (no cmd, no template_id)</font>");
    assert_true(o.eof);
    outcome_free(&o);
}

static void test_bad_settings(void **state)
{
    struct db *db = db_of(state);
    struct outcome o = run_task(db, "{\"cmd\":\"true\",\"host\":\"root@bad host;rm\"}", false, 1,
                                "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_contains(resp_str(&o, "error"), "Invalid host");
    outcome_free(&o);
    o = run_task(db, "{\"cmd\":\"true\",\"host\":\"-oProxyCommand=x@h\"}", false, 1, "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_contains(resp_str(&o, "error"), "bad user name");
    outcome_free(&o);
    o = run_task(db, "{\"cmd\":\"true\",\"host\":\"127.0.0.1\"}", true, 1, "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_contains(resp_str(&o, "error"), "No key_id");
    outcome_free(&o);
    o = run_task(db, "{\"cmd\":\"true\",\"key_id\":99}", false, 1, "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_contains(resp_str(&o, "error"), "Identity 99 not found");
    outcome_free(&o);
    o = run_task(db, "{\"cmd\":\"true\",\"shell\":\"bash;rm\"}", false, 1, "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_contains(resp_str(&o, "error"), "Invalid shell");
    outcome_free(&o);
}

static void test_connection_refused(void **state)
{
    char set[100];
    snprintf(set, sizeof(set), "{\"cmd\":\"true\",\"port\":%d}", free_port());
    struct outcome o = run_task(db_of(state), set, false, 1, "t");
    assert_int_equal(o.result, TASK_FAIL);
    assert_int_equal(resp_int(&o, "ret_code"), -1);
    assert_contains(resp_str(&o, "error"), "Connection to 127.0.0.1");
    assert_contains(o.log, "<font color=red>FAIL Connection to 127.0.0.1");
    assert_true(o.eof);
    outcome_free(&o);
}

/* The servers.settings of server 1 (owned). */
static json_t *server_settings(struct db *db)
{
    json_t *s = server_json(db);
    json_t *st = json_incref(json_object_get(s, "settings"));
    json_decref(s);
    return st;
}

static void test_host_key_pinning(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    struct outcome o = run_task(db, "{\"cmd\":\"true\"}", false, 1, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    json_t *st = server_settings(db);
    const char *pinned = json_string_value(json_object_get(st, "host_key"));
    assert_non_null(pinned);
    assert_true(strncmp(pinned, "SHA256:", 7) == 0);
    assert_string_equal(pinned, resp_str(&o, "host_key"));
    assert_int_equal(json_integer_value(json_object_get(st, "port")), g_port); /* kept */
    json_decref(st);
    outcome_free(&o);

    o = run_task(db, "{\"cmd\":\"true\"}", false, 1, "t"); /* same key: fine */
    assert_int_equal(o.result, TASK_SUCCESS);
    outcome_free(&o);

    char *text = xasprintf("{\"key_id\":7,\"port\":%d,\"host_key\":\"SHA256:other\"}", g_port);
    struct db_value p[] = { DB_TEXT(text) };
    assert_int_equal(db_exec(db, "UPDATE servers SET settings = $1 WHERE server_id = 1", p, 1,
                             NULL, &e), 0);
    free(text);
    char file[300];
    snprintf(file, sizeof(file), "%s/never.txt", g_dir);
    unlink(file);
    char *set = xasprintf("{\"cmd\":\"touch %s\"}", file);
    o = run_task(db, set, false, 1, "t");
    assert_int_equal(o.result, TASK_STUCK);
    assert_contains(resp_str(&o, "error"), "Host key of ");
    assert_contains(resp_str(&o, "error"), "changed: pinned SHA256:other, offered SHA256:");
    assert_contains(o.log, "<font color=red>FAIL Host key of");
    assert_int_equal(access(file, F_OK), -1); /* nothing ran */
    free(set);
    outcome_free(&o);

    /* a host given by the task is not the server's: not pinned, not checked */
    char *other = xasprintf("{\"cmd\":\"true\",\"host\":\"%s@localhost\"}", g_user);
    o = run_task(db, other, false, 1, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    free(other);
    outcome_free(&o);
}

/* The number of open file descriptors of this process. */
static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static void test_jump_host(void **state)
{
    struct db *db = db_of(state);
    struct outcome warm = run_task(db, "{\"cmd\":\"true\"}", false, 1, "t");
    outcome_free(&warm);
    int fds = open_fds(); /* after a direct run: libraries' lazily opened files are counted */
    char *set = xasprintf("{\"cmd\":\"echo via-jump > %s/jump.txt; echo jumped\","
                          "\"proxy_host\":\"%s@127.0.0.1:%d\"}", g_dir, g_user, g_port);
    struct outcome o = run_task(db, set, false, 1, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    char *f = dir_file("jump.txt");
    assert_string_equal(f, "via-jump\n");
    free(f);
    char *want = xasprintf("through %s@127.0.0.1 port %d</font>", g_user, g_port);
    assert_contains(o.log, want);
    assert_contains(o.log, "jumped\n");
    assert_non_null(resp_str(&o, "proxy_host_key"));
    assert_int_equal(open_fds(), fds); /* the socket pair and both sessions are closed */
    free(want);
    free(set);
    outcome_free(&o);

    /* an unreachable target behind the jump host fails (and is retried) */
    set = xasprintf("{\"cmd\":\"true\",\"port\":%d,\"proxy_host\":\"%s@127.0.0.1:%d\"}",
                    free_port(), g_user, g_port);
    o = run_task(db, set, false, 1, "t");
    assert_int_equal(o.result, TASK_FAIL);
    assert_contains(resp_str(&o, "error"), "cannot reach");
    free(set);
    outcome_free(&o);
}

static void test_pipeline_reuse(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    int64_t id = 0;
    assert_int_equal(console_create(db, &id, &e), 0);
    assert_int_equal(console_append(db, id, "earlier\n", 8, &e), 0);
    assert_int_equal(console_finish(db, id, &e), 0);
    char set[100];
    snprintf(set, sizeof(set), "{\"cmd\":\"echo again\",\"pipeline_id\":%lld}", (long long)id);
    struct outcome o = run_task(db, set, false, 2, "t");
    assert_int_equal(o.result, TASK_SUCCESS);
    assert_int_equal(resp_int(&o, "pipeline_id"), id);
    assert_true(strncmp(o.log, "earlier\n<font color=yellow>", 27) == 0);
    assert_contains(o.log, "again\n");
    assert_true(o.eof);
    outcome_free(&o);

    /* a pipeline_id chosen in advance that does not exist yet is created */
    o = run_task(db, "{\"cmd\":\"true\",\"pipeline_id\":9000}", false, 1, "t");
    assert_int_equal(resp_int(&o, "pipeline_id"), 9000);
    assert_int_equal(o.result, TASK_SUCCESS);
    outcome_free(&o);
    int64_t next = 0;
    assert_int_equal(console_create(db, &next, &e), 0);
    assert_true(next > 9000);
}

static void test_console_rows(void **state)
{
    struct db *db = db_of(state);
    struct err e = { 0 };
    struct console_chunk ch;
    int64_t id = 0;
    assert_int_equal(console_create(db, &id, &e), 0);
    assert_int_equal(console_read(db, id, 1, &ch, &e), 0);
    assert_int_equal(ch.len, 0);
    assert_false(ch.eof);
    free(ch.text);
    assert_int_equal(console_line(db, id, "yellow", &e, "a <%d>", 1), 0);
    static const char bin[] = { 'x', '\0', (char)0xff, '\n' };
    assert_int_equal(console_append(db, id, bin, sizeof(bin), &e), 0);
    assert_int_equal(console_read(db, id, 1, &ch, &e), 0);
    assert_int_equal(ch.len, 38 + 4);
    assert_int_equal(ch.total, 42);
    assert_memory_equal(ch.text, "<font color=yellow>a &lt;1&gt;</font>\nx\0\xff\n", 42);
    free(ch.text);
    assert_int_equal(console_read(db, id, 40, &ch, &e), 0); /* 1-based */
    assert_int_equal(ch.len, 3);
    assert_memory_equal(ch.text, "\0\xff\n", 3);
    free(ch.text);
    assert_int_equal(console_read(db, id, 500, &ch, &e), 0);
    assert_int_equal(ch.len, 0);
    free(ch.text);
    assert_int_equal(console_finish(db, id, &e), 0);
    assert_int_equal(console_read(db, id, 0, &ch, &e), 0);
    assert_true(ch.eof);
    assert_int_equal(ch.len, 42);
    free(ch.text);
    assert_int_equal(console_read(db, id + 1000, 1, &ch, &e), ERR_NOT_FOUND);
    char want[64];
    snprintf(want, sizeof(want), "Console %lld not found", (long long)(id + 1000));
    assert_string_equal(e.msg, want);
}

static void test_check_host(void **state)
{
    struct err e = { 0 };
    UNUSED(state);
    assert_int_equal(ssh_check_host("host", "root@10.0.0.1", false, &e), 0);
    assert_int_equal(ssh_check_host("host", "deploy_1@vpn-1.example.com", false, &e), 0);
    assert_int_equal(ssh_check_host("host", "::1", false, &e), 0);
    assert_int_equal(ssh_check_host("proxy_host", "u@[::1]:2222", true, &e), 0);
    assert_int_equal(ssh_check_host("proxy_host", "u@jump.example.com:22", true, &e), 0);
    assert_int_equal(ssh_check_host("host", "h:22", false, &e), ERR_INVALID);
    assert_int_equal(ssh_check_host("host", "", false, &e), ERR_INVALID);
    assert_int_equal(ssh_check_host("host", "a b", false, &e), ERR_INVALID);
    assert_int_equal(ssh_check_host("host", "-x@h", false, &e), ERR_INVALID);
    assert_int_equal(ssh_check_host("host", "h$(id)", false, &e), ERR_INVALID);
    assert_int_equal(ssh_check_host("proxy_host", "h:0", true, &e), ERR_INVALID);
    assert_string_equal(e.msg, "Invalid proxy_host: bad port in 'h:0'");
}

static const struct {
    const char *name;
    void (*fn)(void **state);
} db_cases[] = {
    { "console_rows", test_console_rows },
    { "command_success", test_command_success },
    { "stderr_dropped", test_stderr_dropped },
    { "exit_code", test_exit_code },
    { "timeout", test_timeout },
    { "env_and_quoting", test_env_and_quoting },
    { "stdin", test_stdin },
    { "auto_escape", test_auto_escape },
    { "exec", test_exec },
    { "template", test_template },
    { "nothing_to_do", test_nothing_to_do },
    { "bad_settings", test_bad_settings },
    { "connection_refused", test_connection_refused },
    { "host_key_pinning", test_host_key_pinning },
    { "jump_host", test_jump_host },
    { "pipeline_reuse", test_pipeline_reuse },
};

#define NDB ARRAY_SIZE(db_cases)

int main(void)
{
    static struct CMUnitTest all[1 + 2 * NDB];
    static char names[2 * NDB][64];
    struct backend *backends[] = { &g_lite, &g_pg };
    const char *pg = getenv("BILLD_TEST_PG_URL");
    size_t nb = pg && *pg ? 2 : 1, n = 0, k = 0;
    if (nb == 1)
        fprintf(stderr, "# test_ssh: BILLD_TEST_PG_URL unset, PostgreSQL cases not run\n");
    all[n++] = (struct CMUnitTest)cmocka_unit_test(test_check_host);
    for (size_t b = 0; b < nb; b++) {
        for (size_t i = 0; i < NDB; i++, k++) {
            snprintf(names[k], sizeof(names[k]), "%s_%s", backends[b]->name, db_cases[i].name);
            all[n++] = (struct CMUnitTest){
                .name = names[k],
                .test_func = db_cases[i].fn,
                .setup_func = clean,
                .initial_state = backends[b],
            };
        }
    }
    return _cmocka_run_group_tests("test_ssh", all, n, group_setup, group_teardown);
}
