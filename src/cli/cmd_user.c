/*
 * cmd_user.c — `billd user add LOGIN [--admin] [--password PW]` and
 * `billd user passwd LOGIN [--password PW]`. Without --password the
 * password is read from BILLD_PASSWORD or generated and printed once.
 */
#include "cli.h"
#include "../core/password.h"
#include "../core/user.h"

static const char *user_usage =
    "usage: billd user add LOGIN [--admin] [--password PW] [--env-file FILE]\n"
    "       billd user passwd LOGIN [--password PW] [--env-file FILE]\n\n"
    "Without --password the password comes from BILLD_PASSWORD, or is generated\n"
    "and printed once.\n";

struct user_opts {
    const char *action;
    const char *login;
    const char *password;
    bool admin;
};

static int parse_opts(int argc, char **argv, struct user_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--admin") == 0)
            o->admin = true;
        else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
            o->password = argv[++i];
        else if (!o->action)
            o->action = argv[i];
        else if (!o->login)
            o->login = argv[i];
        else
            return 2;
    }
    if (!o->action || !o->login)
        return 2;
    if (strcmp(o->action, "add") != 0 && strcmp(o->action, "passwd") != 0)
        return 2;
    if (!o->password && getenv("BILLD_PASSWORD"))
        o->password = getenv("BILLD_PASSWORD");
    return 0;
}

static int run_action(struct db *db, const struct config *cfg, const struct user_opts *o,
                      const char *pw, struct err *e)
{
    struct user_auth a = { 0 };
    int64_t id;
    int rc;
    if (strcmp(o->action, "add") == 0) {
        json_t *fields = o->admin ? json_pack("{s:i}", "gid", 1) : json_object();
        rc = db_begin(db, true, e);
        if (rc == 0)
            rc = user_create(db, o->login, pw, cfg->min_password_length, fields, &id, e);
        json_decref(fields);
    } else {
        rc = user_find_by_login(db, o->login, &a, e);
        id = a.user_id;
        user_auth_free(&a);
        if (rc == 0)
            rc = db_begin(db, true, e);
        if (rc == 0)
            rc = user_set_password(db, id, pw, cfg->min_password_length, e);
    }
    if (rc == 0)
        rc = db_commit(db, e);
    else
        db_rollback(db);
    if (rc == 0)
        printf("%s user '%s' (user_id %lld)\n", strcmp(o->action, "add") == 0 ? "created" : "updated",
               o->login, (long long)id);
    return rc;
}

int cmd_user(int argc, char **argv)
{
    struct user_opts o;
    struct config cfg;
    struct db *db;
    struct err e = { 0 };
    char generated[21];
    if (cli_wants_help(argc, argv)) {
        fputs(user_usage, stdout);
        return 0;
    }
    if (cli_load_config(&argc, argv, &cfg))
        return 1;
    if (parse_opts(argc, argv, &o)) {
        fputs(user_usage, stderr);
        config_free(&cfg);
        return 2;
    }
    int rc = cli_open_migrated(&cfg, &db);
    if (rc) {
        config_free(&cfg);
        return rc;
    }
    const char *pw = o.password;
    if (!pw) {
        password_generate(generated, sizeof(generated));
        pw = generated;
    }
    rc = run_action(db, &cfg, &o, pw, &e);
    if (rc)
        fprintf(stderr, "billd user %s: %s\n", o.action, e.msg);
    else if (!o.password)
        printf("password: %s\n", generated);
    db_close(db);
    config_free(&cfg);
    return rc ? 1 : 0;
}
