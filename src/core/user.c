/*
 * user.c — the users table: model, login rules, creation, updates, passwords,
 * deletion and the first admin (see user.h).
 */
#include "user.h"
#include "password.h"
#include "session.h"
#include "../billing/ledger.h"
#include "../core/money.h"
#include "../db/sqlb.h"
#include "../util/strutil.h"
#include "../util/timeutil.h"

static const struct field user_fields[] = {
    { "user_id", FT_INT, FF_KEY, "id пользователя" },
    { "partner_id", FT_INT, FF_HIDDEN, "id партнера" },
    { "login", FT_TEXT, FF_REQUIRED, "логин" },
    { "login2", FT_TEXT, 0, "альтернативный логин" },
    { "password", FT_TEXT, FF_HIDDEN | FF_NOFILTER, "пароль" },
    { "type", FT_INT, FF_HIDDEN, "тип" },
    { "created", FT_DATE, 0, "дата регистрации" },
    { "last_login", FT_DATE, 0, "дата последнего входа" },
    { "discount", FT_INT, 0, "персональная скидка" },
    { "balance", FT_MONEY, 0, "баланс" },
    { "credit", FT_MONEY, 0, "кредит" },
    { "comment", FT_TEXT, FF_HIDDEN, "комментарий" },
    { "dogovor", FT_TEXT, 0, "договор" },
    { "block", FT_INT, FF_HIDDEN, "заблокирован" },
    { "gid", FT_INT, FF_HIDDEN, "группа" },
    { "perm_credit", FT_INT, FF_HIDDEN, "постоянный кредит" },
    { "full_name", FT_TEXT, FF_USER_WRITE, "имя" },
    { "can_overdraft", FT_INT, FF_HIDDEN, "разрешен овердрафт" },
    { "bonus", FT_MONEY, 0, "бонусы" },
    { "phone", FT_TEXT, FF_USER_WRITE, "телефон" },
    { "verified", FT_INT, FF_HIDDEN, "подтвержден" },
    { "create_act", FT_INT, FF_HIDDEN, NULL },
    { "settings", FT_JSON, FF_HIDDEN, "настройки" },
};

const struct model user_model = {
    .name = "User",
    .table = "users",
    .key = "user_id",
    .fields = user_fields,
    .nfields = ARRAY_SIZE(user_fields),
};

void user_auth_free(struct user_auth *a)
{
    free(a->password);
    a->password = NULL;
}

static int load_auth(struct db *db, const char *sql, struct db_value v, struct user_auth *out,
                     struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db, sql, &v, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1) {
        db_result_free(r);
        return err_set(e, ERR_NOT_FOUND, "User not found");
    }
    out->user_id = db_result_int(r, 0, 0);
    out->admin = db_result_int(r, 0, 1) == USER_ADMIN_GID;
    out->blocked = db_result_int(r, 0, 2) != 0;
    out->password = db_result_text(r, 0, 3) ? xstrdup(db_result_text(r, 0, 3)) : NULL;
    db_result_free(r);
    return 0;
}

int user_find_by_login(struct db *db, const char *login, struct user_auth *out, struct err *e)
{
    char *l = str_lower(xstrdup(login));
    int rc = load_auth(db,
                       "SELECT user_id, gid, block, password FROM users"
                       " WHERE login = $1 OR login2 = $1 ORDER BY login = $1 DESC LIMIT 1",
                       DB_TEXT(l), out, e);
    free(l);
    return rc;
}

int user_find_by_id(struct db *db, int64_t user_id, struct user_auth *out, struct err *e)
{
    return load_auth(db, "SELECT user_id, gid, block, password FROM users WHERE user_id = $1",
                     DB_INT(user_id), out, e);
}

int user_touch_login(struct db *db, int64_t user_id, int64_t now, struct err *e)
{
    struct db_value p[] = { DB_INT(user_id), DB_INT(now) };
    return db_exec(db, "UPDATE users SET last_login = $2 WHERE user_id = $1", p, 2, NULL, e);
}

int user_read(struct db *db, int64_t user_id, bool admin, json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    struct buf sql;
    buf_init(&sql, 0);
    buf_puts(&sql, "SELECT ");
    model_select_list(&user_model, &sql);
    buf_puts(&sql, " FROM users WHERE user_id = $1");
    struct db_value p[] = { DB_INT(user_id) };
    int rc = db_query(db, sql.data, p, 1, &r, e);
    buf_free(&sql);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    else
        *out = model_row_to_json(&user_model, r, 0, admin);
    db_result_free(r);
    return rc;
}

int user_check_login(char *login, struct err *e)
{
    size_t n = strlen(login);
    if (n == 0 || n > 128)
        return err_set(e, ERR_INVALID, "Login must be 1 to 128 characters");
    for (const char *p = login; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '@' || c == '.' || c == '-';
        if (!ok)
            return err_set(e, ERR_INVALID,
                           "Login may contain only letters, digits and _ @ . -");
    }
    str_lower(login);
    return 0;
}

int user_check_password(const char *pw, int min_len, struct err *e)
{
    size_t n = strlen(pw);
    if (n < (size_t)min_len)
        return err_set(e, ERR_INVALID, "Password must be at least %d characters", min_len);
    if (n > PASSWORD_MAX_LENGTH)
        return err_set(e, ERR_INVALID, "Password is too long");
    return 0;
}

/* Fields an admin may set on create/update besides login; never key, password, created. */
static bool admin_settable(const struct field *f)
{
    return !(f->flags & FF_KEY) && strcmp(f->name, "password") != 0 &&
           strcmp(f->name, "created") != 0 && strcmp(f->name, "balance") != 0 &&
           strcmp(f->name, "bonus") != 0;
}

/* Returns 0 when login is free, ERR_CONFLICT (409) when another user has it, or a DB error. */
static int login_free(struct db *db, const char *login, int64_t except_id, struct err *e)
{
    int64_t n = 0;
    struct db_value p[] = { DB_TEXT(login), DB_INT(except_id) };
    int rc = db_query_int(db,
                          "SELECT count(*) FROM users WHERE (login = $1 OR login2 = $1)"
                          " AND user_id <> $2",
                          p, 2, &n, e);
    if (rc == 0 && n > 0)
        rc = err_set_status(e, ERR_CONFLICT, 409, "Login already in use");
    return rc;
}

int user_create(struct db *db, const char *login, const char *password, int min_len,
                json_t *fields, int64_t *new_id, struct err *e)
{
    char hash[PASSWORD_HASH_MAX];
    char *l = xstrdup(login);
    int rc = user_check_login(l, e);
    if (rc == 0)
        rc = user_check_password(password, min_len, e);
    if (rc == 0)
        rc = login_free(db, l, 0, e);
    if (rc == 0 && password_hash(password, hash))
        rc = err_set(e, ERR_INTERNAL, "cannot hash the password");
    if (rc) {
        free(l);
        return rc;
    }
    struct sqlb b;
    sqlb_init(&b);
    sqlb_add(&b, "INSERT INTO users (login, password, created");
    const char *key;
    json_t *v;
    json_object_foreach(fields, key, v) {
        const struct field *f = model_field(&user_model, key);
        if (!f || !admin_settable(f) || strcmp(key, "login") == 0)
            continue;
        sqlb_add(&b, ", %s", f->name);
    }
    sqlb_add(&b, ") VALUES (");
    sqlb_text(&b, l);
    sqlb_add(&b, ", ");
    sqlb_text(&b, hash);
    sqlb_add(&b, ", ");
    sqlb_int(&b, time_now());
    json_object_foreach(fields, key, v) {
        const struct field *f = model_field(&user_model, key);
        if (!f || !admin_settable(f) || strcmp(key, "login") == 0)
            continue;
        sqlb_add(&b, ", ");
        if ((rc = model_bind_value(f, v, &b, e)))
            break;
    }
    sqlb_add(&b, ") RETURNING user_id");
    if (rc == 0)
        rc = db_query_int(db, b.sql.data, b.params, b.n, new_id, e);
    if (rc == ERR_CONFLICT)
        err_set_status(e, ERR_CONFLICT, 409, "Login already in use");
    sqlb_free(&b);
    free(l);
    return rc;
}

/* Applies a change of balance/bonus given as absolute values, through the ledger. */
static int update_money(struct db *db, int64_t user_id, json_t *args, struct err *e)
{
    json_t *jb = json_object_get(args, "balance"), *jbonus = json_object_get(args, "bonus");
    int64_t nb, nbonus;
    if (!jb && !jbonus)
        return 0;
    if ((jb && money_from_json(jb, &nb)) || (jbonus && money_from_json(jbonus, &nbonus)))
        return err_set(e, ERR_INVALID, "Field balance/bonus: expected an amount");
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    char *sql = xasprintf("SELECT balance, bonus FROM users WHERE user_id = $1%s",
                          db_sql_for_update(db));
    int rc = db_query(db, sql, p, 1, &r, e);
    free(sql);
    if (rc)
        return rc;
    int64_t cur_b = db_result_int(r, 0, 0), cur_bonus = db_result_int(r, 0, 1);
    db_result_free(r);
    int64_t dmoney = jb ? nb - cur_b : 0, dbonus = jbonus ? nbonus - cur_bonus : 0;
    return ledger_adjust(db, user_id, dmoney, dbonus, "admin", "users", user_id,
                         "set by admin via POST /admin/user", e);
}

static int update_login(struct db *db, int64_t user_id, json_t *v, struct sqlb *b, struct err *e)
{
    if (!json_is_string(v))
        return err_set(e, ERR_INVALID, "Field login: expected a string");
    char *l = xstrdup(json_string_value(v));
    int rc = user_check_login(l, e);
    if (rc == 0)
        rc = login_free(db, l, user_id, e);
    if (rc == 0)
        sqlb_text(b, l);
    free(l);
    return rc;
}

int user_update(struct db *db, int64_t user_id, json_t *args, bool admin, struct err *e)
{
    struct sqlb b;
    int rc = 0, n = 0;
    const char *key;
    json_t *v;
    sqlb_init(&b);
    sqlb_add(&b, "UPDATE users SET ");
    json_object_foreach(args, key, v) {
        const struct field *f = model_field(&user_model, key);
        if (!f)
            continue;
        if (admin ? !admin_settable(f) : !(f->flags & FF_USER_WRITE))
            continue;
        sqlb_add(&b, "%s%s = ", n++ ? ", " : "", f->name);
        rc = strcmp(key, "login") == 0 ? update_login(db, user_id, v, &b, e)
                                       : model_bind_value(f, v, &b, e);
        if (rc)
            break;
    }
    sqlb_add(&b, " WHERE user_id = ");
    sqlb_int(&b, user_id);
    int64_t changed = 1;
    if (rc == 0 && n > 0)
        rc = db_exec(db, b.sql.data, b.params, b.n, &changed, e);
    sqlb_free(&b);
    if (rc == ERR_CONFLICT)
        return err_set_status(e, ERR_CONFLICT, 409, "Login already in use");
    if (rc == 0 && changed == 0)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    if (rc == 0 && admin)
        rc = update_money(db, user_id, args, e);
    json_t *blk = json_object_get(args, "block");
    if (rc == 0 && admin && blk && !json_is_null(blk) && !json_is_false(blk) &&
        !(json_is_integer(blk) && json_integer_value(blk) == 0) &&
        !(json_is_string(blk) && strcmp(json_string_value(blk), "0") == 0))
        rc = session_delete_user(db, user_id, e);
    return rc;
}

int user_set_password(struct db *db, int64_t user_id, const char *password, int min_len,
                      struct err *e)
{
    char hash[PASSWORD_HASH_MAX];
    int64_t changed = 0;
    int rc = user_check_password(password, min_len, e);
    if (rc)
        return rc;
    if (password_hash(password, hash))
        return err_set(e, ERR_INTERNAL, "cannot hash the password");
    struct db_value p[] = { DB_INT(user_id), DB_TEXT(hash) };
    rc = db_exec(db, "UPDATE users SET password = $2 WHERE user_id = $1", p, 2, &changed, e);
    if (rc == 0 && changed == 0)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    return rc ? rc : session_delete_user(db, user_id, e);
}

static int delete_rows(struct db *db, int64_t user_id, struct err *e);

int user_delete(struct db *db, int64_t user_id, bool force, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    int rc = db_query(db,
                      "SELECT gid, balance, bonus,"
                      " (SELECT count(*) FROM user_services s WHERE s.user_id = u.user_id"
                      "  AND s.status <> 'REMOVED') FROM users u WHERE user_id = $1",
                      p, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1) {
        db_result_free(r);
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    }
    bool is_admin = db_result_int(r, 0, 0) == USER_ADMIN_GID;
    bool has_money = db_result_int(r, 0, 1) != 0 || db_result_int(r, 0, 2) != 0;
    bool has_services = db_result_int(r, 0, 3) > 0;
    db_result_free(r);
    if (is_admin)
        return err_set(e, ERR_INVALID, "Can't delete an admin");
    if (!force && has_money)
        return err_set(e, ERR_INVALID, "The user has a non-zero balance or bonus; use force=1");
    if (!force && has_services)
        return err_set(e, ERR_INVALID, "The user has services; use force=1");
    return delete_rows(db, user_id, e);
}

/*
 * Removes a user and what exists only for the user (sessions, storage,
 * profiles, user services). Money history (payments, withdraws, bonuses,
 * ledger) is kept as the audit trail; a remaining balance or bonus is first
 * written off through the ledger so the ledger of the id sums to zero.
 */
static int delete_rows(struct db *db, int64_t user_id, struct err *e)
{
    static const char *const owned[] = {
        "DELETE FROM storage WHERE user_id = $1",
        "DELETE FROM profiles WHERE user_id = $1",
        "DELETE FROM user_services WHERE user_id = $1",
        "DELETE FROM users WHERE user_id = $1",
    };
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(user_id) };
    int rc = db_query(db, "SELECT balance, bonus FROM users WHERE user_id = $1", p, 1, &r, e);
    if (rc == 0 && (db_result_int(r, 0, 0) || db_result_int(r, 0, 1)))
        rc = ledger_adjust(db, user_id, -db_result_int(r, 0, 0), -db_result_int(r, 0, 1),
                           "user_deleted", "users", user_id, "written off when the user was deleted",
                           e);
    db_result_free(r);
    for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(owned); i++)
        rc = db_exec(db, owned[i], p, 1, NULL, e);
    return rc;
}

int user_bootstrap_admin(struct db *db, const char *password, char *generated,
                         size_t generated_len, bool *created, struct err *e)
{
    int64_t n = 0;
    char hash[PASSWORD_HASH_MAX];
    *created = false;
    int rc = db_query_int(db, "SELECT count(*) FROM users", NULL, 0, &n, e);
    if (rc || n > 0)
        return rc;
    if (!password) {
        if (generated_len < 12)
            return err_set(e, ERR_INVALID, "no room for a generated password");
        password_generate(generated, generated_len);
        password = generated;
    }
    if (password_hash(password, hash))
        return err_set(e, ERR_INTERNAL, "cannot hash the password");
    struct db_value p[] = { DB_TEXT(hash), DB_INT(time_now()) };
    rc = db_exec(db,
                 "INSERT INTO users (user_id, partner_id, login, password, type, created,"
                 " gid, full_name) VALUES (1, 0, 'admin', $1, 0, $2, 1, 'Admin')",
                 p, 2, NULL, e);
    if (rc == 0 && db_engine_of(db) == DB_PG)
        rc = db_exec(db,
                     "SELECT setval(pg_get_serial_sequence('users', 'user_id'),"
                     " (SELECT max(user_id) FROM users))",
                     NULL, 0, NULL, e);
    *created = rc == 0;
    return rc;
}
