/*
 * hello_sqlite.c — reference ceiling for the authenticated-read benchmark: hello.c plus one
 * SQLite primary-key read per request. Each pool thread opens its own read-only connection
 * (WAL) on its first request and keeps one prepared statement; the request reads a user row
 * chosen round-robin from the bench database and returns it as JSON built with jansson.
 *
 *   hello_sqlite PORT THREADS DBFILE NUSERS
 *
 * Built by bench/bench.py with cc and pkg-config; not part of billd.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *db_path;
static long long nusers;
static atomic_llong counter;
static char marker;

struct conn {
    sqlite3 *db;
    sqlite3_stmt *st;
};

static _Thread_local struct conn *tconn;

static struct conn *thread_conn(void)
{
    if (tconn)
        return tconn;
    struct conn *c = calloc(1, sizeof(*c));
    if (!c || sqlite3_open_v2(db_path, &c->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "hello_sqlite: cannot open %s\n", db_path);
        exit(1);
    }
    sqlite3_busy_timeout(c->db, 5000);
    if (sqlite3_prepare_v3(c->db,
                           "SELECT user_id, login, balance, bonus, credit, created, full_name "
                           "FROM users WHERE user_id = ?1",
                           -1, SQLITE_PREPARE_PERSISTENT, &c->st, NULL) != SQLITE_OK) {
        fprintf(stderr, "hello_sqlite: %s\n", sqlite3_errmsg(c->db));
        exit(1);
    }
    tconn = c;
    return c;
}

static char *read_user(void)
{
    struct conn *c = thread_conn();
    long long id = 2 + atomic_fetch_add(&counter, 1) % nusers;
    json_t *row = NULL;
    sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    sqlite3_bind_int64(c->st, 1, id);
    if (sqlite3_step(c->st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(c->st, 6);
        row = json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:s?}", "user_id",
                        (json_int_t)sqlite3_column_int64(c->st, 0), "login",
                        (const char *)sqlite3_column_text(c->st, 1), "balance",
                        (json_int_t)sqlite3_column_int64(c->st, 2), "bonus",
                        (json_int_t)sqlite3_column_int64(c->st, 3), "credit",
                        (json_int_t)sqlite3_column_int64(c->st, 4), "created",
                        (json_int_t)sqlite3_column_int64(c->st, 5), "full_name", name);
    }
    sqlite3_reset(c->st);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    json_t *env = json_pack("{s:[o?],s:i}", "data", row, "status", 200);
    char *out = json_dumps(env, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(env);
    return out;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    if (*state == NULL) {
        *state = &marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    char *body = read_user();
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: hello_sqlite PORT THREADS DBFILE NUSERS\n");
        return 2;
    }
    db_path = argv[3];
    nusers = atoll(argv[4]);
    if (nusers < 1)
        nusers = 1;
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)atoi(argv[1]), NULL, NULL,
        on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[2]),
        MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "hello_sqlite: cannot start on port %s\n", argv[1]);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
