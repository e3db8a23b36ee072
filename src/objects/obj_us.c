/*
 * obj_us.c — `us` / `us(usi)`, the user service (templates.md §7.2): its
 * columns and settings, name and category, the catalogue service, the
 * current withdraw, the service tree, the bound server, flags
 * (parent_has_expired, last_event, cur_event), and the writing members
 * gen_store_pass (a password kept in settings.password), set_settings (deep
 * merge) and make_custom_event (a spool task). The other writing members
 * (billing operations, status, set, create, …) are in obj_us_write.c.
 *
 * Without a bound service `us` is an unbound object of the current user:
 * it has no columns (`us.id` is undefined) but `us.create(...)` works.
 *
 * A user service is visible when it belongs to the current user, or to
 * anyone in an admin render (D11); otherwise `us(N)` is undefined.
 */
#include "obj_us_int.h"

#include "../billing/pricelist.h"
#include "../billing/usvc.h"
#include "../core/config_store.h"
#include "../core/money.h"
#include "../core/password.h"
#include "../db/db.h"
#include "../spool/spool.h"
#include "../util/timeutil.h"

#define US_SQL "SELECT * FROM user_services WHERE user_service_id = $1"
#define GEN_PASS_DEFAULT 10
#define GEN_PASS_MAX 128

json_t *obj_us_load(struct render_ctx *r, const struct obj *o)
{
    json_t *row = obj_row(r, &usvc_model, US_SQL, o->id);
    if (!row)
        return NULL;
    if (!obj_may_see(r, json_integer_value(json_object_get(row, "user_id")))) {
        json_decref(row);
        return NULL;
    }
    json_object_set_new(row, "id", json_integer(o->id));
    if (!json_is_object(json_object_get(row, "settings")))
        json_object_set_new(row, "settings", json_object());
    return row;
}

struct tpl_value obj_us_value(struct render_ctx *r, int64_t usi)
{
    struct obj probe = { .kind = &obj_us_kind, .id = usi };
    json_t *row = usi > 0 ? obj_us_load(r, &probe) : NULL;
    if (!row)
        return tpl_undef();
    int64_t uid = json_integer_value(json_object_get(row, "user_id"));
    json_decref(row);
    return obj_new(&obj_us_kind, usi, uid, NULL);
}

/* The integer column col of the us row (0 when absent or NULL). */
int64_t obj_us_int(struct render_ctx *r, const struct obj *o, const char *col)
{
    json_t *row = obj_us_load(r, o);
    int64_t v = json_integer_value(json_object_get(row, col));
    json_decref(row);
    return v;
}

static int m_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    return obj_id_member(o, r, a, obj_us_value, out);
}

/* Service columns joined in: name (placeholders resolved) and category. */
static int service_col(struct obj *o, struct render_ctx *r, const char *col,
                       struct tpl_value *out)
{
    json_t *row = obj_us_load(r, o);
    if (!row)
        return TPL_DECLINED;
    struct db_result *res = NULL;
    struct err e = { 0 };
    struct db_value p[] = { DB_INT(json_integer_value(json_object_get(row, "service_id"))) };
    int rc = TPL_DECLINED;
    if (db_query(r->db, "SELECT name, category FROM services WHERE service_id = $1", p, 1, &res,
                 &e) == 0 && db_result_rows(res)) {
        const char *v = db_result_get(res, 0, col);
        if (!strcmp(col, "name") && v) {
            char *n = usvc_name(v, json_object_get(row, "settings"));
            *out = tpl_cstr(n);
            free(n);
        } else {
            *out = v ? tpl_cstr(v) : tpl_undef();
        }
        rc = 0;
    }
    db_result_free(res);
    json_decref(row);
    return rc;
}

static int m_name(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return service_col(o, r, "name", out);
}

static int m_category(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return service_col(o, r, "category", out);
}

static int m_service(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    int64_t sid = obj_us_int(r, o, "service_id");
    *out = sid ? obj_new(&obj_service_kind, sid, o->user_id, NULL) : tpl_undef();
    return 0;
}

static int m_withdraw(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    int64_t wid = obj_us_int(r, o, "withdraw_id");
    *out = wid ? obj_new(&obj_wd_kind, wid, o->user_id, NULL) : tpl_undef();
    return 0;
}

static int m_parent(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    *out = obj_us_value(r, obj_us_int(r, o, "parent"));
    return 0;
}

static int m_top_parent(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    struct obj cur = *o;
    for (int depth = 0; depth < 64; depth++) {
        int64_t p = obj_us_int(r, &cur, "parent");
        if (!p)
            break;
        cur.id = p;
    }
    *out = obj_us_value(r, cur.id);
    return 0;
}

/* The child user services of o (ascending usi), optionally of one category. */
static struct tpl_value children_list(struct obj *o, struct render_ctx *r, const char *category)
{
    struct tpl_value list = tpl_list_new();
    struct db_result *res = NULL;
    struct err e = { 0 };
    struct db_value p[] = { DB_INT(o->id), DB_TEXT(category) };
    const char *sql = category
        ? "SELECT us.user_service_id FROM user_services us JOIN services s ON "
          "s.service_id = us.service_id WHERE us.parent = $1 AND s.category = $2 "
          "ORDER BY us.user_service_id"
        : "SELECT user_service_id FROM user_services WHERE parent = $1 "
          "ORDER BY user_service_id";
    if (db_query(r->db, sql, p, category ? 2 : 1, &res, &e) == 0)
        for (int i = 0; i < db_result_rows(res); i++)
            tpl_list_push(&list, obj_new(&obj_us_kind, db_result_int(res, i, 0), o->user_id,
                                         NULL));
    db_result_free(res);
    return list;
}

static int m_children(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                      struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    *out = children_list(o, r, NULL);
    return 0;
}

static int m_has_children(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    struct tpl_value l = children_list(o, r, NULL);
    *out = tpl_int(tpl_list_len(&l) > 0);
    tpl_value_drop(&l);
    return 0;
}

static int m_child_by_category(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                               struct tpl_value *out, struct err *e)
{
    UNUSED(e);
    char *cat = obj_arg_str(a, 0, "category");
    if (!cat || !obj_us_int(r, o, "user_id")) {
        free(cat);
        return TPL_DECLINED;
    }
    struct tpl_value l = children_list(o, r, cat);
    free(cat);
    const struct tpl_value *first = tpl_list_at(&l, 0);
    *out = first ? tpl_value_ref(first) : tpl_undef();
    tpl_value_drop(&l);
    return 0;
}

static int m_server(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    json_t *row = obj_us_load(r, o);
    json_t *sid = json_object_get(json_object_get(row, "settings"), "server_id");
    int64_t id = json_is_integer(sid) ? json_integer_value(sid)
                 : json_is_string(sid) ? strtoll(json_string_value(sid), NULL, 10) : 0;
    json_decref(row);
    *out = id > 0 ? obj_new(&obj_server_kind, id, o->user_id, NULL) : tpl_undef();
    return 0;
}

int obj_us_merge_settings(struct render_ctx *r, int64_t usi, const json_t *patch, struct err *e)
{
    struct obj probe = { .kind = &obj_us_kind, .id = usi };
    json_t *row = obj_us_load(r, &probe);
    if (!row)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    json_t *merged = config_store_merge(json_object_get(row, "settings"), patch);
    json_t *args = json_pack("{s:o}", "settings", merged);
    int rc = usvc_update_admin(r->db, usi, args, e);
    json_decref(args);
    json_decref(row);
    return rc;
}

/* Locks the us row for the rest of the transaction (PostgreSQL; SQLite writers are serialised). */
int obj_us_lock(struct render_ctx *r, int64_t usi, struct err *e)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT user_service_id FROM user_services "
             "WHERE user_service_id = $1%s", db_sql_for_update(r->db));
    struct db_value p[] = { DB_INT(usi) };
    return db_exec(r->db, sql, p, 1, NULL, e);
}

/* The stored settings.password of o (owned), or NULL. */
static char *stored_pass(struct render_ctx *r, const struct obj *o)
{
    json_t *row = obj_us_load(r, o);
    json_t *have = json_object_get(json_object_get(row, "settings"), "password");
    char *pw = json_is_string(have) && json_string_length(have)
                   ? xstrdup(json_string_value(have)) : NULL;
    json_decref(row);
    return pw;
}

/*
 * gen_store_pass(len): settings.password when set, else a new random
 * password of len characters (default 10) stored there first. The row is
 * locked, so two renders of one service agree on one password.
 */
static int m_gen_store_pass(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                            struct tpl_value *out, struct err *e)
{
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    int64_t len = GEN_PASS_DEFAULT;
    if (!obj_arg_int(a, 0, "len", &len) || len < 4 || len > GEN_PASS_MAX)
        len = len > GEN_PASS_MAX ? GEN_PASS_MAX : len < 4 ? GEN_PASS_DEFAULT : len;
    bool own;
    int rc = obj_tx_begin(r, &own, e);
    if (rc)
        return rc;
    rc = obj_us_lock(r, o->id, e);
    char *pw = rc ? NULL : stored_pass(r, o);
    if (rc == 0 && !pw) {
        pw = xmalloc(GEN_PASS_MAX + 1);
        random_alnum(pw, (size_t)len + 1);
        json_t *patch = json_pack("{s:s}", "password", pw);
        rc = obj_us_merge_settings(r, o->id, patch, e);
        json_decref(patch);
    }
    rc = obj_tx_end(r, own, rc, e);
    if (rc == 0)
        *out = tpl_cstr(pw);
    free(pw);
    return rc;
}

static int m_set_settings(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    json_t *patch = obj_arg_hash(a);
    if (!patch)
        return err_set(e, ERR_INVALID, "set_settings: expected a hash");
    bool own;
    int rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, obj_us_merge_settings(r, o->id, patch, e), e);
    json_decref(patch);
    if (rc == 0)
        *out = obj_new(o->kind, o->id, o->user_id, NULL);
    return rc;
}

static int flag(struct obj *o, struct render_ctx *r, struct tpl_value *out, int which)
{
    json_t *row = obj_us_load(r, o);
    if (!row)
        return TPL_DECLINED;
    const char *status = json_string_value(json_object_get(row, "status"));
    const char *exp = json_string_value(json_object_get(row, "expire"));
    int64_t next = json_integer_value(json_object_get(row, "next"));
    int64_t t = 0;
    bool v = false;
    if (which == 0)
        v = status && !strcmp(status, "ACTIVE");
    else if (which == 1)
        v = exp && time_parse_local(exp, &t) == 0 && t < time_now();
    else if (which == 2)
        v = next > 0;
    else
        v = next == -1;
    json_decref(row);
    *out = tpl_int(v);
    return 0;
}

static int m_is_paid(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return flag(o, r, out, 0);
}

static int m_has_expired(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return flag(o, r, out, 1);
}

static int m_will_change(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return flag(o, r, out, 2);
}

static int m_will_delete(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    return flag(o, r, out, 3);
}

/* parent_has_expired: 1 when the parent us has expired (0 for a top-level us). */
static int m_parent_has_expired(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                                struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    struct obj parent = { .kind = o->kind, .id = obj_us_int(r, o, "parent"),
                          .user_id = o->user_id };
    if (!parent.id) {
        *out = tpl_int(0);
        return 0;
    }
    return flag(&parent, r, out, 1);
}

/* The status and status_before of the row of o (copied into st/before); false when not visible. */
static bool us_statuses(struct render_ctx *r, const struct obj *o, char st[16], char before[16])
{
    json_t *row = obj_us_load(r, o);
    if (!row)
        return false;
    snprintf(st, 16, "%s", json_string_value(json_object_get(row, "status")) ?: "");
    snprintf(before, 16, "%s", json_string_value(json_object_get(row, "status_before")) ?: "");
    json_decref(row);
    return true;
}

/*
 * last_event (SHM's USObject::last_event): the event that took the us from
 * status_before to status — INIT→ACTIVE CREATE, INIT→NOT PAID
 * NOT_ENOUGH_MONEY, ACTIVE→ACTIVE PROLONGATE, ACTIVE→BLOCK BLOCK, NOT
 * PAID/BLOCK→ACTIVE ACTIVATE, BLOCK→REMOVED REMOVE; otherwise undefined.
 */
static int m_last_event(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                        struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    static const char *const map[][3] = {
        { "INIT", "ACTIVE", "CREATE" },      { "INIT", "NOT PAID", "NOT_ENOUGH_MONEY" },
        { "ACTIVE", "ACTIVE", "PROLONGATE" }, { "ACTIVE", "BLOCK", "BLOCK" },
        { "NOT PAID", "ACTIVE", "ACTIVATE" }, { "BLOCK", "ACTIVE", "ACTIVATE" },
        { "BLOCK", "REMOVED", "REMOVE" },
    };
    char st[16], before[16];
    if (!us_statuses(r, o, st, before))
        return TPL_DECLINED;
    *out = tpl_undef();
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (!strcmp(before, map[i][0]) && !strcmp(st, map[i][1]))
            *out = tpl_cstr(map[i][2]);
    return 0;
}

/* True when the current withdraw of o is paid. */
static bool wd_paid(struct render_ctx *r, const struct obj *o)
{
    struct obj w = { .kind = &obj_wd_kind, .id = obj_us_int(r, o, "withdraw_id") };
    json_t *row = w.id ? obj_wd_kind.load(r, &w) : NULL;
    json_t *d = json_object_get(row, "withdraw_date");
    bool paid = d && !json_is_null(d);
    json_decref(row);
    return paid;
}

/*
 * cur_event (SHM's USObject::cur_event): while the us is in PROGRESS, the
 * event its commands run for, from status_before — INIT CREATE, NOT PAID
 * and BLOCK ACTIVATE, ACTIVE PROLONGATE when the current withdraw is paid
 * else BLOCK; otherwise undefined.
 */
static int m_cur_event(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                       struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    char st[16], before[16];
    if (!us_statuses(r, o, st, before))
        return TPL_DECLINED;
    const char *ev = NULL;
    if (strcmp(st, "PROGRESS"))
        ev = NULL;
    else if (!strcmp(before, "INIT"))
        ev = "CREATE";
    else if (!strcmp(before, "NOT PAID") || !strcmp(before, "BLOCK"))
        ev = "ACTIVATE";
    else if (!strcmp(before, "ACTIVE"))
        ev = wd_paid(r, o) ? "PROLONGATE" : "BLOCK";
    *out = ev ? tpl_cstr(ev) : tpl_undef();
    return 0;
}

static int m_user(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    *out = obj_user_value(r, obj_us_int(r, o, "user_id"));
    return 0;
}

static int m_get_user_id(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                         struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    int64_t uid = obj_us_int(r, o, "user_id");
    if (!uid)
        return TPL_DECLINED;
    *out = tpl_int(uid);
    return 0;
}

/*
 * make_custom_event(name, title, template_id, transport, settings, delay,
 * prio) as key/value arguments: a spool task of this user service whose
 * event carries the template and transport in its settings.
 */
static int m_make_custom_event(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                               struct tpl_value *out, struct err *e)
{
    int64_t uid = obj_us_int(r, o, "user_id");
    if (!uid)
        return TPL_DECLINED;
    char *name = obj_arg_str(a, (size_t)-1, "name");
    char *title = obj_arg_str(a, (size_t)-1, "title");
    char *tpl_id = obj_arg_str(a, (size_t)-1, "template_id");
    char *transport = obj_arg_str(a, (size_t)-1, "transport");
    json_t *extra = obj_arg_json(tpl_args_kv(a, "settings"));
    int64_t delay = 0, prio = 0;
    obj_arg_int(a, (size_t)-1, "delay", &delay);
    obj_arg_int(a, (size_t)-1, "prio", &prio);
    json_t *es = json_is_object(extra) ? json_deep_copy(extra) : json_object();
    if (tpl_id)
        json_object_set_new(es, "template_id", json_string(tpl_id));
    if (transport)
        json_object_set_new(es, "transport", json_string(transport));
    json_t *event = json_pack("{s:s,s:s,s:s,s:o}", "kind", "UserService", "name",
                              name ? name : "CUSTOM", "title", title ? title : "custom event",
                              "settings", es);
    if (r->task)
        json_object_set_new(event, "task_id", json_integer(r->task->id));
    json_t *ts = json_pack("{s:I}", "user_service_id", (json_int_t)o->id);
    struct spool_new t = { .user_id = uid, .usi = o->id, .event = event, .settings = ts,
                           .prio = (int)prio, .delayed = delay };
    int64_t id = 0;
    int rc = spool_add(r->db, &t, &id, e);
    json_decref(event);
    json_decref(ts);
    json_decref(extra);
    free(name);
    free(title);
    free(tpl_id);
    free(transport);
    if (rc == 0)
        *out = tpl_int(id);
    return rc;
}

static int m_spool(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    UNUSED(e);
    int64_t uid = obj_us_int(r, o, "user_id");
    if (!uid)
        return TPL_DECLINED;
    *out = obj_spool_list(r, uid, o->id);
    return 0;
}

static const struct obj_method us_methods[] = {
    { "id", m_id },
    { "name", m_name },
    { "category", m_category },
    { "service", m_service },
    { "withdraw", m_withdraw },
    { "wd", m_withdraw },
    { "parent", m_parent },
    { "top_parent", m_top_parent },
    { "children", m_children },
    { "has_children", m_has_children },
    { "child_by_category", m_child_by_category },
    { "server", m_server },
    { "gen_store_pass", m_gen_store_pass },
    { "set_settings", m_set_settings },
    { "is_paid", m_is_paid },
    { "has_expired", m_has_expired },
    { "is_will_be_changed", m_will_change },
    { "is_will_be_deleted", m_will_delete },
    { "user", m_user },
    { "get_user_id", m_get_user_id },
    { "make_custom_event", m_make_custom_event },
    { "parent_has_expired", m_parent_has_expired },
    { "last_event", m_last_event },
    { "cur_event", m_cur_event },
    { "touch", obj_us_touch },
    { "block", obj_us_block },
    { "activate", obj_us_activate },
    { "delete", obj_us_delete },
    { "finish", obj_us_finish },
    { "change", obj_us_change },
    { "add_period_by_money", obj_us_add_period_by_money },
    { "recalc", obj_us_recalc },
    { "status", obj_us_status },
    { "set", obj_us_set },
    { "settings", obj_us_settings },
    { "settings_save", obj_us_settings_save },
    { "make_commands_by_event", obj_us_make_commands_by_event },
    { "create", obj_us_create },
    { "lock", obj_us_lock_m },
    { "spool", m_spool },
    { NULL, NULL },
};

const struct obj_kind obj_us_kind = { "Core::UserService", us_methods, obj_us_load };

/* `us` / `us(usi)`: the bound user service (else the task's), or usi when visible. */
static int fn_us(void *self, struct tpl_ctx *cx, const struct tpl_args *a, struct tpl_value *out,
                 struct err *e)
{
    UNUSED(self);
    UNUSED(e);
    struct render_ctx *r = obj_ctx(cx);
    int64_t usi = r->usi ? r->usi : r->task ? r->task->usi : 0;
    bool given = obj_arg_int(a, 0, NULL, &usi);
    if (!usi && !given && r->user_id) /* unbound: no columns, but us.create(...) works */
        *out = obj_new(&obj_us_kind, 0, r->user_id, NULL);
    else
        *out = obj_us_value(r, usi);
    return 0;
}

void obj_us_bind(struct tpl_value *vars, struct render_ctx *r)
{
    UNUSED(r);
    obj_bind_func(vars, "us", fn_us);
}
