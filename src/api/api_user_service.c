/*
 * api_user_service.c — user services and ordering (api.md R50–R53, R60,
 * R61, R84, R85, R110–R113, R115, R118–R123): the caller's services, the
 * price list, orders through the billing engine (src/billing/usvc.c), and
 * the admin operations.
 *
 * Every user service named by id must belong to the current user (the
 * caller, or the `user_id` an admin acts for): otherwise 404 (DECISIONS D11).
 */
#include "api.h"
#include "resource.h"
#include "../billing/charge.h"
#include "../billing/order.h"
#include "../billing/pricelist.h"
#include "../billing/renew.h"
#include "../billing/usvc.h"
#include "../billing/withdraw.h"
#include "../core/money.h"
#include "../core/period.h"
#include "../core/service.h"
#include "../db/list.h"
#include "../db/sqlb.h"
#include "../util/timeutil.h"

#define ORDER_BUCKET "service-order"
#define ORDER_WINDOW 600
#define NOT_FOUND_MSG "Object not found. Check the ID."

/* ---- helpers ---- */

/* The `user_service_id` argument, which must name a us of the current user. */
static int own_usi(struct api_ctx *c, int64_t *usi)
{
    int64_t n = 0;
    if (args_i64(c->args, "user_service_id", usi) || *usi <= 0)
        return api_fail(c, 400, "Field user_service_id: expected a positive integer");
    struct db_value p[] = { DB_INT(*usi), DB_INT(c->user_id) };
    int rc = db_query_int(c->db,
                          "SELECT count(*) FROM user_services WHERE user_service_id = $1 "
                          "AND user_id = $2",
                          p, 2, &n, &c->err);
    if (rc)
        return rc;
    return n ? 0 : api_fail(c, 404, NOT_FOUND_MSG);
}

static json_t *service_json(struct db *db, int64_t service_id, bool admin)
{
    struct db_result *r = NULL;
    struct err e = { 0 };
    struct sqlb q;
    json_t *out = NULL;
    sqlb_init(&q);
    sqlb_add(&q, "SELECT ");
    model_select_list(&service_model, &q.sql);
    sqlb_add(&q, " FROM services WHERE service_id = ");
    sqlb_int(&q, service_id);
    if (db_query(db, q.sql.data, q.params, q.n, &r, &e) == 0 && db_result_rows(r) > 0)
        out = model_row_to_json(&service_model, r, 0, admin);
    db_result_free(r);
    sqlb_free(&q);
    return out;
}

/* The resolved name of a us row object (its service_id and settings). */
static json_t *name_of(struct db *db, const json_t *row)
{
    json_t *svc = service_json(db, json_integer_value(json_object_get(row, "service_id")), true);
    json_t *settings = NULL;
    struct usvc us;
    struct err e = { 0 };
    if (usvc_load(db, json_integer_value(json_object_get(row, "user_service_id")), &us, &e) == 0)
        settings = us.settings;
    char *name = usvc_name(svc ? json_string_value(json_object_get(svc, "name")) : "", settings);
    json_t *out = json_string(name);
    free(name);
    if (settings)
        usvc_free(&us);
    json_decref(svc);
    return out;
}

/* The row of usi as JSON (hidden fields removed unless admin). */
static json_t *us_json(struct api_ctx *c, int64_t usi)
{
    struct db_result *r = NULL;
    struct sqlb q;
    json_t *out = NULL;
    sqlb_init(&q);
    sqlb_add(&q, "SELECT ");
    model_select_list(&usvc_model, &q.sql);
    sqlb_add(&q, " FROM user_services WHERE user_service_id = ");
    sqlb_int(&q, usi);
    if (db_query(c->db, q.sql.data, q.params, q.n, &r, &c->err) == 0 && db_result_rows(r) > 0)
        out = model_row_to_json(&usvc_model, r, 0, api_caller_admin(c));
    db_result_free(r);
    sqlb_free(&q);
    return out;
}

static int reply_us(struct api_ctx *c, int64_t usi, bool with_name)
{
    json_t *row = us_json(c, usi);
    if (!row)
        return api_fail(c, 404, NOT_FOUND_MSG);
    if (with_name)
        json_object_set_new(row, "name", name_of(c->db, row));
    api_set_data(c, row);
    return 0;
}

/* ---- lists ---- */

static void add_service_brief(struct api_ctx *c, json_t *row)
{
    json_t *svc = service_json(c->db, json_integer_value(json_object_get(row, "service_id")), true);
    json_t *brief = json_object();
    if (svc) {
        json_object_set(brief, "name", json_object_get(svc, "name"));
        json_object_set(brief, "cost", json_object_get(svc, "cost"));
        json_object_set(brief, "category", json_object_get(svc, "category"));
    }
    json_object_set_new(row, "service", brief);
    json_decref(svc);
}

/* R50: the caller's services, REMOVED hidden unless the usi is given. */
static int api_user_service_list(struct api_ctx *c)
{
    struct sqlb where;
    int64_t usi = 0;
    bool one = !args_missing(c->args, "user_service_id");
    int rc = one ? own_usi(c, &usi) : 0;
    if (rc)
        return rc;
    sqlb_init(&where);
    sqlb_add(&where, "user_id = ");
    sqlb_int(&where, c->user_id);
    if (one) {
        sqlb_add(&where, " AND user_service_id = ");
        sqlb_int(&where, usi);
    } else {
        sqlb_add(&where, " AND status <> 'REMOVED'");
    }
    rc = api_list(c, &usvc_model, "user_services", &where);
    sqlb_free(&where);
    size_t i;
    json_t *row;
    json_array_foreach(rc ? NULL : c->data, i, row)
        add_service_brief(c, row);
    return rc;
}

/* Joins the service columns, `services`, `withdraws` and the resolved `name` (§9.8). */
static void admin_enrich(struct api_ctx *c, json_t *row)
{
    json_t *svc = service_json(c->db, json_integer_value(json_object_get(row, "service_id")), true);
    const char *k;
    json_t *v;
    if (svc) {
        json_object_foreach(svc, k, v) {
            if (!json_object_get(row, k))
                json_object_set(row, k, v);
        }
    }
    json_object_set_new(row, "services", svc ? svc : json_null());
    json_t *wid = json_object_get(row, "withdraw_id");
    json_t *wd = json_is_integer(wid) ? withdraw_to_json(c->db, json_integer_value(wid)) : NULL;
    json_object_set_new(row, "withdraws", wd ? wd : json_null());
    json_object_set_new(row, "name", name_of(c->db, row));
}

static bool filter_has(struct api_ctx *c, const char *key)
{
    json_t *f = json_object_get(c->args, "filter");
    json_t *obj = json_is_string(f) ? json_loads(json_string_value(f), 0, NULL) : json_incref(f);
    bool has = json_is_object(obj) && json_object_get(obj, key);
    json_decref(obj);
    return has;
}

/*
 * The R110 filter keys on the joined service (api.md §9.8): `name` and `next`
 * are services columns; they are moved out of the request's filter into
 * *svc_filter (a new object, NULL when neither is given) and the reduced
 * filter is put back into the arguments. *orig receives the decoded filter
 * for the envelope's echo (new reference or NULL). A filter that does not
 * decode is left for the list machinery to refuse.
 */
static void split_service_filter(struct api_ctx *c, json_t **svc_filter, json_t **orig)
{
    static const char *const keys[] = { "name", "next" };
    json_t *f = json_object_get(c->args, "filter");
    json_t *obj = json_is_string(f) ? json_loads(json_string_value(f), 0, NULL)
                                    : json_incref(f);
    *svc_filter = NULL;
    *orig = NULL;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return;
    }
    json_t *rest = json_deep_copy(obj);
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(rest, keys[i]);
        if (!v)
            continue;
        if (!*svc_filter)
            *svc_filter = json_object();
        json_object_set(*svc_filter, keys[i], v);
        json_object_del(rest, keys[i]);
    }
    *orig = obj;
    json_object_set_new(c->args, "filter", rest);
}

/* Adds "service_id IN (SELECT … FROM services WHERE <svc_filter>)" to where (renumbered). */
static int add_service_filter(struct api_ctx *c, json_t *svc_filter, struct sqlb *where)
{
    struct sqlb sub;
    struct list_page page;
    struct err e = { 0 };
    json_t *args = json_pack("{s:O}", "filter", svc_filter);
    sqlb_init(&sub);
    int rc = list_compile(c->db, &service_model, args, true, &sub, &page, &e);
    list_page_free(&page);
    json_decref(args);
    if (rc == 0 && sub.sql.len) {
        int base = where->n;
        sqlb_add(where, " AND service_id IN (SELECT service_id FROM services WHERE ");
        /* the sub-filter's $1.. become $base+1..: copy the text, renumbering */
        for (const char *p = sub.sql.data; *p; p++) {
            if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
                long n = strtol(p + 1, (char **)&p, 10);
                sqlb_add(where, "$%ld", n + base);
                p--;
            } else {
                sqlb_add(where, "%c", *p);
            }
        }
        sqlb_add(where, ")");
        for (int i = 0; i < sub.n; i++)
            sqlb_bind(where, sub.params[i]);
    }
    sqlb_free(&sub);
    return rc ? api_fail(c, 400, "%s", e.msg) : 0;
}

/* One page row with its original position (the in-memory sort is stable, as Perl's). */
struct sort_row {
    json_t *row;
    size_t pos;
    const char *field;
    bool as_string, desc;
};

static double sort_num(const json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    return json_is_string(v) ? strtod(json_string_value(v), NULL) : 0;
}

static int sort_cmp(const void *a, const void *b)
{
    const struct sort_row *x = a, *y = b;
    const json_t *vx = json_object_get(x->row, x->field), *vy = json_object_get(y->row, x->field);
    int c;
    if (x->as_string) {
        c = strcmp(json_is_string(vx) ? json_string_value(vx) : "",
                   json_is_string(vy) ? json_string_value(vy) : "");
    } else {
        double dx = sort_num(vx), dy = sort_num(vy);
        c = dx < dy ? -1 : dx > dy;
    }
    if (x->desc)
        c = -c;
    return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/*
 * SHM's in-memory re-sort of the R110 page (api.md §9.2): by sort_field (a
 * usvc column, else user_service_id), `expire` and `created` as strings,
 * the rest numerically; descending only for a lower-case "desc".
 */
static void resort_page(struct api_ctx *c)
{
    const char *field = args_str(c->args, "sort_field");
    const char *dir = args_str(c->args, "sort_direction");
    size_t n = json_array_size(c->data);
    if (!field || !model_field(&usvc_model, field))
        field = "user_service_id";
    struct sort_row *rows = xcalloc(n ? n : 1, sizeof(*rows));
    for (size_t i = 0; i < n; i++)
        rows[i] = (struct sort_row){ json_incref(json_array_get(c->data, i)), i, field,
                                     !strcmp(field, "expire") || !strcmp(field, "created"),
                                     dir && !strcmp(dir, "desc") };
    qsort(rows, n, sizeof(*rows), sort_cmp);
    json_array_clear(c->data);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(c->data, rows[i].row);
    free(rows);
}

/*
 * R110: top-level services by default, REMOVED hidden unless the usi or
 * status is given; filters name and next on the joined service; the page
 * re-sorted in memory.
 */
static int api_admin_user_service_list(struct api_ctx *c)
{
    struct sqlb where;
    int64_t usi = 0, uid = 0;
    json_t *svc_filter = NULL, *orig = NULL;
    bool one = args_i64(c->args, "user_service_id", &usi) == 0;
    sqlb_init(&where);
    sqlb_add(&where, "1 = 1");
    if (args_i64(c->args, "user_id", &uid) == 0) {
        sqlb_add(&where, " AND user_id = ");
        sqlb_int(&where, uid);
    }
    if (one) {
        sqlb_add(&where, " AND user_service_id = ");
        sqlb_int(&where, usi);
    }
    if (!one && !filter_has(c, "parent"))
        sqlb_add(&where, " AND parent IS NULL");
    if (!one && !filter_has(c, "status") && !filter_has(c, "user_service_id"))
        sqlb_add(&where, " AND status <> 'REMOVED'");
    split_service_filter(c, &svc_filter, &orig);
    int rc = svc_filter ? add_service_filter(c, svc_filter, &where) : 0;
    if (rc == 0)
        rc = api_list(c, &usvc_model, "user_services", &where);
    sqlb_free(&where);
    json_decref(svc_filter);
    if (orig && c->is_list) { /* the envelope echoes the filter as given */
        json_decref(c->page.filter_echo);
        c->page.filter_echo = orig;
    } else {
        json_decref(orig);
    }
    if (rc)
        return rc;
    resort_page(c);
    size_t i;
    json_t *row;
    json_array_foreach(c->data, i, row)
        admin_enrich(c, row);
    return 0;
}

/* ---- price list and orders ---- */

/* R60, R84 */
static int api_service_order_list(struct api_ctx *c)
{
    json_t *list = NULL;
    struct pricelist_opts o = { .category = args_str(c->args, "category"),
                                .filter = json_object_get(c->args, "filter") };
    int rc = pricelist_query(c->db, c->user_id, &o, &list, &c->err);
    if (rc)
        return rc;
    c->data = list;
    return 0;
}

static int order_money(struct api_ctx *c, struct usvc_order *o)
{
    json_t *v = json_object_get(c->args, "cost");
    if (v && !json_is_null(v)) {
        if (money_from_json(v, &o->cost))
            return api_fail(c, 400, "Field cost: expected a decimal amount");
        o->has_cost = true;
    }
    v = json_object_get(c->args, "months");
    if (v && !json_is_null(v)) {
        if (period_from_json(v, &o->months))
            return api_fail(c, 400, "Field months: expected a period M.DDHH");
        o->has_months = true;
    }
    return 0;
}

/* The admin-only overrides of PUT /admin/service/order (R85). */
static int order_overrides(struct api_ctx *c, struct usvc_order *o)
{
    int64_t v = 0;
    const char *end = args_str(c->args, "end_date");
    int rc = order_money(c, o);
    if (rc)
        return rc;
    if (end && *end && time_parse_local(end, &o->end_date))
        return api_fail(c, 400, "Field end_date: expected YYYY-MM-DD HH:MM:SS");
    json_t *s = json_object_get(c->args, "settings");
    if (s && !json_is_null(s) && !json_is_object(s))
        return api_fail(c, 400, "Field settings: expected an object");
    o->settings = s;
    if (!args_missing(c->args, "auto_bill"))
        o->auto_bill = args_true(c->args, "auto_bill") ? 1 : 0;
    o->status = args_str(c->args, "status");
    if (o->status && model_check_value(model_field(&usvc_model, "status"),
                                       json_object_get(c->args, "status"), &c->err) != 0)
        return api_fail(c, 400, "%s", c->err.msg);
    if (args_i64(c->args, "parent", &v) == 0)
        o->parent = v;
    return 0;
}

/* An existing us for the de-duplication options (§9 step 2), or 0. */
static int find_existing(struct api_ctx *c, int64_t service_id, int64_t *usi)
{
    struct order_dedup d = { .exists = args_true(c->args, "check_exists"),
                             .unpaid = args_true(c->args, "check_exists_unpaid"),
                             .category = args_str(c->args, "check_category") };
    return order_find_existing(c->db, c->user_id, service_id, &d, usi, &c->err);
}

static int order(struct api_ctx *c, bool admin)
{
    struct usvc_order o = { .auto_bill = -1 };
    int64_t usi = 0;
    if (args_i64(c->args, "service_id", &o.service_id) || o.service_id <= 0)
        return api_fail(c, 400, "Field service_id: expected a positive integer");
    int rc = order_check(c->db, c->user_id, o.service_id, !admin, &c->err);
    if (rc)
        return rc;
    if (!admin)
        api_ratelimit_hit(c, ORDER_BUCKET, ORDER_WINDOW);
    if (admin && ((rc = order_overrides(c, &o)) || (rc = find_existing(c, o.service_id, &usi))))
        return rc;
    if (!usi && (rc = usvc_create(c->db, c->user_id, &o, &usi, &c->err)))
        return rc;
    return reply_us(c, usi, true);
}

/* R61 */
static int api_service_order(struct api_ctx *c)
{
    return order(c, false);
}

/* R85 */
static int api_admin_service_order(struct api_ctx *c)
{
    return order(c, true);
}

/* ---- operations ---- */

/* R51, R113 */
static int api_user_service_delete(struct api_ctx *c)
{
    int64_t usi = 0;
    int rc = own_usi(c, &usi);
    if (rc == 0)
        rc = usvc_delete(c->db, usi, api_caller_admin(c) && args_true(c->args, "force"), &c->err);
    return rc ? rc : reply_us(c, usi, false);
}

/* R52, R120 */
static int api_user_service_stop(struct api_ctx *c)
{
    int64_t usi = 0;
    int ab = -1;
    int rc = own_usi(c, &usi);
    if (!args_missing(c->args, "auto_bill"))
        ab = args_true(c->args, "auto_bill") ? 1 : 0;
    if (rc == 0)
        rc = usvc_block_force(c->db, usi, ab, &c->err);
    return rc ? rc : reply_us(c, usi, false);
}

/* R53, R123 (D16: users only to a service of their price list) */
static int api_user_service_change(struct api_ctx *c)
{
    int64_t usi = 0, sid = 0;
    bool ok = true;
    int rc = own_usi(c, &usi);
    if (rc)
        return rc;
    if (args_i64(c->args, "service_id", &sid) || sid <= 0)
        return api_fail(c, 400, "Field service_id: expected a positive integer");
    if (!api_caller_admin(c) &&
        ((rc = pricelist_orderable(c->db, c->user_id, sid, &ok, &c->err)) || !ok))
        return rc ? rc : api_fail(c, 403, "The service is prohibited for registration");
    if (api_caller_admin(c)) {
        struct bill_service s;
        if ((rc = bill_service_load(c->db, sid, &s, &c->err)))
            return rc == ERR_NOT_FOUND ? api_fail(c, 404, "Service not found") : rc;
        bill_service_free(&s);
    }
    bool finish = args_missing(c->args, "finish_active") || args_true(c->args, "finish_active");
    rc = usvc_change(c->db, usi, sid, finish, args_true(c->args, "allow_partial_period"),
                     &c->err);
    return rc ? rc : reply_us(c, usi, false);
}

/* R119 */
static int api_admin_us_status(struct api_ctx *c)
{
    int64_t usi = 0;
    int rc = own_usi(c, &usi);
    if (rc == 0)
        rc = usvc_set_status_manual(c->db, usi, args_str(c->args, "status"), &c->err);
    return rc ? rc : reply_us(c, usi, false);
}

/* R121 */
static int api_admin_us_activate(struct api_ctx *c)
{
    int64_t usi = 0;
    int rc = own_usi(c, &usi);
    if (rc == 0)
        rc = usvc_activate_force(c->db, usi, &c->err);
    return rc ? rc : reply_us(c, usi, false);
}

/* R122 */
static int api_admin_us_touch(struct api_ctx *c)
{
    int64_t usi = 0;
    int rc = own_usi(c, &usi);
    if (rc == 0)
        rc = usvc_touch(c->db, usi, NULL, &c->err);
    return rc ? rc : reply_us(c, usi, false);
}

/* R112 */
static int api_admin_us_update(struct api_ctx *c)
{
    int64_t usi = 0;
    int rc = own_usi(c, &usi);
    if (rc == 0)
        rc = usvc_update_admin(c->db, usi, c->args, &c->err);
    return rc ? rc : reply_us(c, usi, false);
}

/* R111: a raw row, no billing. */
static int us_before_write(struct api_ctx *c, json_t *values, json_t *key, bool create)
{
    UNUSED(key);
    if (!create)
        return 0;
    if (!json_object_get(values, "user_id"))
        json_object_set_new(values, "user_id", json_integer(c->user_id));
    if (!json_object_get(values, "service_id"))
        return api_fail(c, 400, "Field required: service_id");
    if (!json_object_get(values, "created")) {
        char now[32];
        time_format_local(time_now(), now, sizeof(now));
        json_object_set_new(values, "created", json_string(now));
    }
    return 0;
}

static const struct resource us_resource = { &usvc_model, NULL, NULL, us_before_write, NULL };

/* R115: withdraws (of the current user when user_id is given), each with `name`. */
static int api_admin_withdraw_list(struct api_ctx *c)
{
    struct sqlb where;
    int64_t uid = 0, usi = 0;
    sqlb_init(&where);
    sqlb_add(&where, "1 = 1");
    if (args_i64(c->args, "user_id", &uid) == 0) {
        sqlb_add(&where, " AND user_id = ");
        sqlb_int(&where, uid);
    }
    if (args_i64(c->args, "user_service_id", &usi) == 0) {
        sqlb_add(&where, " AND user_service_id = ");
        sqlb_int(&where, usi);
    }
    int rc = api_list(c, &withdraw_model, "withdraw_history", &where);
    sqlb_free(&where);
    size_t i;
    json_t *row;
    json_array_foreach(rc ? NULL : c->data, i, row) {
        json_t *svc =
            service_json(c->db, json_integer_value(json_object_get(row, "service_id")), true);
        json_object_set(row, "name", svc ? json_object_get(svc, "name") : json_null());
        json_decref(svc);
    }
    return rc;
}

/* The withdraw values of a request (R116, R117); has_* tell which were given. */
static int wd_args(struct api_ctx *c, struct wd_edit *ed)
{
    json_t *v;
    int64_t n = 0;
    memset(ed, 0, sizeof(*ed));
    if ((v = json_object_get(c->args, "cost")) && !json_is_null(v)) {
        if (money_from_json(v, &ed->cost))
            return api_fail(c, 400, "Field cost: expected a decimal amount");
        ed->has_cost = true;
    }
    if ((v = json_object_get(c->args, "bonus")) && !json_is_null(v)) {
        if (money_from_json(v, &ed->bonus))
            return api_fail(c, 400, "Field bonus: expected a decimal amount");
        ed->has_bonus = true;
    }
    if ((v = json_object_get(c->args, "months")) && !json_is_null(v)) {
        if (period_from_json(v, &ed->months))
            return api_fail(c, 400, "Field months: expected a period M.DDHH");
        ed->has_months = true;
    }
    if (!args_missing(c->args, "discount")) {
        if (args_i64(c->args, "discount", &n) || n < 0 || n > 100)
            return api_fail(c, 400, "Field discount: expected 0..100");
        ed->discount = n;
        ed->has_discount = true;
    }
    if ((v = json_object_get(c->args, "qnt")) && !json_is_null(v)) {
        ed->qnt = json_is_number(v) ? json_number_value(v)
                  : json_is_string(v) ? strtod(json_string_value(v), NULL) : 0;
        if (!(ed->qnt > 0) || ed->qnt > SERVICE_MAX_QNT)
            return api_fail(c, 400, "Field qnt: expected a positive number");
        ed->has_qnt = true;
    }
    return 0;
}

static int reply_wd(struct api_ctx *c, int64_t id)
{
    json_t *row = withdraw_to_json(c->db, id);
    if (!row)
        return api_fail(c, 404, NOT_FOUND_MSG);
    api_set_data(c, row);
    return 0;
}

/* R116: a new unpaid (queued) withdraw of a us of the current user. */
static int api_admin_withdraw_add(struct api_ctx *c)
{
    struct wd_edit ed;
    struct bill_service s;
    struct wd w;
    int64_t usi = 0, sid = 0;
    int rc = own_usi(c, &usi);
    if (rc || (rc = wd_args(c, &ed)))
        return rc;
    if (args_i64(c->args, "service_id", &sid))
        return api_fail(c, 400, "Field service_id: expected an integer");
    if ((rc = bill_service_load(c->db, sid, &s, &c->err)))
        return rc == ERR_NOT_FOUND ? api_fail(c, 404, "Service not found") : rc;
    struct wd_input in = { .has_cost = ed.has_cost, .cost = ed.cost, .has_months = ed.has_months,
                           .months = ed.months, .discount = ed.discount, .qnt = ed.qnt,
                           .bonus = ed.bonus };
    rc = withdraw_calc(c->db, withdraw_strategy(c->db), c->user_id, &s, &in, time_now(), &w,
                       &c->err);
    bill_service_free(&s);
    if (rc)
        return rc;
    w.user_service_id = usi;
    w.withdraw_date = 0;
    w.end_date = 0;
    return (rc = withdraw_insert(c->db, &w, &c->err)) ? rc : reply_wd(c, w.withdraw_id);
}

/* R117 (billing.md §15.3; dry_run previews through the dispatcher's rollback) */
static int api_admin_withdraw_edit(struct api_ctx *c)
{
    struct wd_edit ed;
    int64_t id = 0;
    if (args_i64(c->args, "withdraw_id", &id))
        return api_fail(c, 400, "Field withdraw_id: expected an integer");
    int rc = wd_args(c, &ed);
    if (rc == 0)
        rc = usvc_withdraw_edit(c->db, c->user_id, id, &ed, &c->err);
    return rc ? rc : reply_wd(c, id);
}

/* R118: only an unpaid withdraw; the us forgets it. */
static int api_admin_withdraw_delete(struct api_ctx *c)
{
    int64_t id = 0;
    struct wd w;
    if (args_i64(c->args, "withdraw_id", &id))
        return api_fail(c, 400, "Field withdraw_id: expected an integer");
    int rc = withdraw_get(c->db, id, &w, &c->err);
    if (rc == ERR_NOT_FOUND || (rc == 0 && w.user_id != c->user_id))
        return api_fail(c, 404, NOT_FOUND_MSG);
    if (rc)
        return rc;
    if (w.withdraw_date)
        return api_fail(c, 400, "Can't delete a paid withdraw");
    struct db_value p[] = { DB_INT(id) };
    rc = db_exec(c->db, "UPDATE user_services SET withdraw_id = NULL WHERE withdraw_id = $1", p, 1,
                 NULL, &c->err);
    if (rc == 0)
        rc = withdraw_delete(c->db, id, &c->err);
    if (rc == 0)
        api_set_data(c, json_null());
    return rc;
}

/* The columns of spool rows shown by R124 (the spool module owns the table). */
static const struct field spool_fields[] = {
    { "id", FT_INT, FF_KEY, "Task id", 0, NULL },
    { "user_id", FT_INT, 0, "User", 0, NULL },
    { "user_service_id", FT_INT, 0, "User service", 0, NULL },
    { "event", FT_JSON, 0, "Event copy", 0, NULL },
    { "prio", FT_INT, 0, "Priority", 0, NULL },
    { "status", FT_TEXT, 0, "Status", 0, NULL },
    { "created", FT_DATE, 0, "Created", 0, NULL },
    { "executed", FT_DATE, 0, "Executed", 0, NULL },
    { "delayed", FT_INT, 0, "Delay", 0, NULL },
    { "settings", FT_JSON, 0, "Settings", 0, NULL },
    { "response", FT_JSON, 0, "Response", 0, NULL },
};
static const struct model us_spool_model = { "UserServiceTask", "spool", "id", spool_fields,
                                             ARRAY_SIZE(spool_fields) };

/* R124: the spool tasks queued for a us of the current user. */
static int api_admin_us_spool(struct api_ctx *c)
{
    struct sqlb where;
    int64_t usi = 0;
    int rc = own_usi(c, &usi);
    if (rc)
        return rc;
    sqlb_init(&where);
    sqlb_add(&where, "user_service_id = ");
    sqlb_int(&where, usi);
    rc = api_list(c, &us_spool_model, "spool", &where);
    sqlb_free(&where);
    return rc;
}

#define R(m, p, a, req, h, fl, rl, tag, sum, data) { m, p, a, req, h, fl, NULL, rl, tag, sum, data }

/*
 * POST /admin/billing/renew (billd): one renewal pass now — what the scheduler
 * runs periodically; with a test clock the only way renewals happen.
 */
static int api_admin_renew(struct api_ctx *c)
{
    struct renew_stats st;
    int rc = renew_due(c->db, time_now(), 0, &st, &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_pack("{s:I,s:I,s:I}", "due", (json_int_t)st.due, "touched",
                              (json_int_t)st.touched, "failed", (json_int_t)st.failed));
    return 0;
}

static const struct route routes[] = {
    R("GET", "/user/service", AUTH_USER, NULL, api_user_service_list, 0, NULL, "user-service",
      "The caller's services (REMOVED hidden unless user_service_id is given)", NULL), /* R50 */
    R("DELETE", "/user/service", AUTH_USER, "user_service_id", api_user_service_delete, 0, NULL,
      "user-service", "Delete a BLOCK or NOT PAID service", NULL),                     /* R51 */
    R("POST", "/user/service/stop", AUTH_USER, "user_service_id", api_user_service_stop, 0,
      NULL, "user-service", "Block an ACTIVE service (block_force)", NULL),            /* R52 */
    R("POST", "/user/service/change", AUTH_USER, "user_service_id,service_id",
      api_user_service_change, 0, NULL, "user-service",
      "Change the tariff to a service of the price list", NULL),                       /* R53 */
    R("GET", "/service/order", AUTH_USER, NULL, api_service_order_list, 0, NULL, "service",
      "The price list", NULL),                                                         /* R60 */
    R("PUT", "/service/order", AUTH_USER, "service_id", api_service_order, 0, ORDER_BUCKET,
      "service", "Order a service of the price list (5 per 10 minutes per IP)", NULL), /* R61 */
    R("GET", "/admin/service/order", AUTH_ADMIN, NULL, api_service_order_list, 0, NULL, "admin",
      "The price list of the current user", NULL),                                     /* R84 */
    R("PUT", "/admin/service/order", AUTH_ADMIN, "user_id,service_id", api_admin_service_order,
      0, NULL, "admin", "Create a user service with the full billing flow", NULL),     /* R85 */
    R("GET", "/admin/user/service", AUTH_ADMIN, NULL, api_admin_user_service_list, 0, NULL,
      "admin", "User services (top-level by default) joined with their service", NULL), /* R110 */
    R("PUT", "/admin/user/service", AUTH_ADMIN, NULL, api_resource_create, 0, NULL, "admin",
      "Insert a raw user-service row (no billing)", &us_resource),                     /* R111 */
    R("POST", "/admin/user/service", AUTH_ADMIN, "user_id,user_service_id",
      api_admin_us_update, 0, NULL, "admin", "Update auto_bill, next, settings", NULL), /* R112 */
    R("DELETE", "/admin/user/service", AUTH_ADMIN, "user_id,user_service_id",
      api_user_service_delete, 0, NULL, "admin", "Delete a user service", NULL),       /* R113 */
    R("GET", "/admin/user/service/withdraw", AUTH_ADMIN, NULL, api_admin_withdraw_list, 0, NULL,
      "admin", "Withdraws, each with the service name", NULL),                         /* R115 */
    R("PUT", "/admin/user/service/withdraw", AUTH_ADMIN, "user_id,user_service_id,service_id,cost",
      api_admin_withdraw_add, 0, NULL, "admin", "Add an unpaid (queued) withdraw", NULL), /* R116 */
    R("POST", "/admin/user/service/withdraw", AUTH_ADMIN, "user_id,withdraw_id",
      api_admin_withdraw_edit, 0, NULL, "admin", "Edit a withdraw (recomputed)", NULL), /* R117 */
    R("DELETE", "/admin/user/service/withdraw", AUTH_ADMIN, "user_id,withdraw_id",
      api_admin_withdraw_delete, 0, NULL, "admin", "Delete an unpaid withdraw", NULL), /* R118 */
    R("POST", "/admin/user/service/status", AUTH_ADMIN, "user_id,user_service_id,status",
      api_admin_us_status, 0, NULL, "admin", "Set ACTIVE or BLOCK without events", NULL), /* R119 */
    R("POST", "/admin/user/service/stop", AUTH_ADMIN, "user_id,user_service_id",
      api_user_service_stop, 0, NULL, "admin", "block_force", NULL),                   /* R120 */
    R("POST", "/admin/user/service/activate", AUTH_ADMIN, "user_id,user_service_id",
      api_admin_us_activate, 0, NULL, "admin", "activate_force", NULL),                /* R121 */
    R("POST", "/admin/user/service/touch", AUTH_ADMIN, "user_id,user_service_id",
      api_admin_us_touch, 0, NULL, "admin", "touch (process the service tree)", NULL), /* R122 */
    R("POST", "/admin/user/service/change", AUTH_ADMIN, "user_id,user_service_id,service_id",
      api_user_service_change, 0, NULL, "admin", "Tariff change", NULL),               /* R123 */
    R("GET", "/admin/user/service/spool", AUTH_ADMIN, "user_id,user_service_id",
      api_admin_us_spool, 0, NULL, "admin", "Spool tasks of a user service", NULL),    /* R124 */
    R("POST", "/admin/billing/renew", AUTH_ADMIN, NULL, api_admin_renew, RF_NO_TX, NULL, "admin",
      "Renew every due user service now (billd)", NULL),
};

const struct route_table api_user_service_routes = ROUTE_TABLE(routes);
