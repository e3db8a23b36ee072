/*
 * obj_us_write.c — the members of `us` (templates.md §7.2) that change a
 * user service or order one: the billing operations (touch, block,
 * activate, delete, finish, change, add_period_by_money, recalc), status,
 * set, settings / settings_save, make_commands_by_event, create and lock.
 * Each write is atomic: it runs in the caller's transaction, or in one of
 * its own when none is open (a spool render).
 *
 * Rights (D11, D16): a member acts only on a user service the render may
 * see. What a client cannot do through the API is refused in a plain user's
 * render with a template error and allowed to admins and spool tasks
 * (obj_privileged): setting the status, queuing an event's commands,
 * ordering a service outside the price list or with settings/end_date, and
 * setting `next` to a service outside the price list.
 */
#include "obj_us_int.h"

#include "../billing/order.h"
#include "../billing/pricelist.h"
#include "../billing/usvc.h"
#include "../core/money.h"
#include "../core/service.h"
#include "../db/db.h"
#include "../util/timeutil.h"

/* ---- billing operations (billing.md §10.6, §11, §13), each atomic ---- */

typedef int (*us_op)(struct render_ctx *r, struct obj *o, const struct tpl_args *a,
                     struct err *e);

/* Runs op in a transaction of its own when none is open. */
static int atomic(struct render_ctx *r, struct obj *o, const struct tpl_args *a, us_op op,
                  struct err *e)
{
    bool own;
    int rc = obj_tx_begin(r, &own, e);
    return rc ? rc : obj_tx_end(r, own, op(r, o, a, e), e);
}

/* Runs op on this service when visible; answers the reloaded object. */
static int billing_op(struct obj *o, struct render_ctx *r, struct tpl_value *out, struct err *e,
                      us_op op, const struct tpl_args *a)
{
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    int rc = atomic(r, o, a, op, e);
    if (rc == 0)
        *out = obj_new(o->kind, o->id, o->user_id, NULL);
    return rc;
}

static int op_touch(struct render_ctx *r, struct obj *o, const struct tpl_args *a, struct err *e)
{
    UNUSED(a);
    return usvc_touch(r->db, o->id, NULL, e);
}

static int op_block(struct render_ctx *r, struct obj *o, const struct tpl_args *a, struct err *e)
{
    UNUSED(a);
    return usvc_block_force(r->db, o->id, -1, e);
}

static int op_activate(struct render_ctx *r, struct obj *o, const struct tpl_args *a,
                       struct err *e)
{
    UNUSED(a);
    return usvc_activate_force(r->db, o->id, e);
}

static int op_delete(struct render_ctx *r, struct obj *o, const struct tpl_args *a,
                     struct err *e)
{
    UNUSED(a);
    return usvc_delete(r->db, o->id, false, e);
}

static int op_finish(struct render_ctx *r, struct obj *o, const struct tpl_args *a,
                     struct err *e)
{
    int64_t money_back = 1;
    obj_arg_int(a, (size_t)-1, "money_back", &money_back);
    return usvc_finish(r->db, o->id, money_back != 0, e);
}

/* change(service_id = N, finish_active = 1): users only to orderable services (D16). */
static int op_change(struct render_ctx *r, struct obj *o, const struct tpl_args *a,
                     struct err *e)
{
    int64_t sid = 0, finish = 0;
    if (!obj_arg_int(a, (size_t)-1, "service_id", &sid) || sid <= 0)
        return err_set_status(e, ERR_INVALID, 400, "Field required: service_id");
    obj_arg_int(a, (size_t)-1, "finish_active", &finish);
    if (!r->admin) {
        bool yes = false;
        int rc = pricelist_orderable(r->db, o->user_id, sid, &yes, e);
        if (rc)
            return rc;
        if (!yes)
            return err_set_status(e, ERR_DENIED, 403, "The service is prohibited for registration");
    }
    return usvc_change(r->db, o->id, sid, finish != 0, false, e);
}

#define OP_METHOD(fname, op)                                                                  \
    OBJ_US_METHOD(fname)                                                                      \
    {                                                                                         \
        return billing_op(o, r, out, e, op, a);                                               \
    }
OP_METHOD(obj_us_touch, op_touch)
OP_METHOD(obj_us_block, op_block)
OP_METHOD(obj_us_activate, op_activate)
OP_METHOD(obj_us_delete, op_delete)
OP_METHOD(obj_us_finish, op_finish)
OP_METHOD(obj_us_change, op_change)

/* add_period_by_money(amount) (billing.md §15.1) → 1 when a period was bought, else 0. */
OBJ_US_METHOD(obj_us_add_period_by_money)
{
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    json_t *amount = obj_arg_json(tpl_args_at(a, 0));
    int64_t minor = 0;
    bool added = false, own = false;
    int rc = money_from_json(amount, &minor)
                 ? err_set(e, ERR_INVALID, "add_period_by_money: bad amount")
                 : obj_tx_begin(r, &own, e);
    json_decref(amount);
    if (rc == 0)
        rc = obj_tx_end(r, own, usvc_add_period_by_money(r->db, o->id, minor, &added, e), e);
    if (rc == 0)
        *out = tpl_int(added);
    return rc;
}

/* recalc (billing.md §15.2) → 1 when the unpaid withdraw was recomputed, else 0. */
OBJ_US_METHOD(obj_us_recalc)
{
    UNUSED(a);
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    bool done = false, own = false;
    int rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, usvc_recalc(r->db, o->id, &done, e), e);
    if (rc == 0)
        *out = tpl_int(done);
    return rc;
}


/* ---- status and events (billing.md §10) ---- */

/* The status column of o as a string value. */
static struct tpl_value status_value(struct render_ctx *r, const struct obj *o)
{
    json_t *row = obj_us_load(r, o);
    struct tpl_value v = obj_from_json(json_object_get(row, "status"));
    json_decref(row);
    return v;
}

static int op_status(struct render_ctx *r, struct obj *o, const struct tpl_args *a,
                     struct err *e)
{
    char *st = obj_arg_str(a, 0, "status");
    int rc = usvc_set_status(r->db, o->id, st, e);
    free(st);
    return rc;
}

/*
 * status: the status column; status(STATUS): sets it (usvc_set_status:
 * the CHANGED commands are queued) and answers the status now stored.
 */
OBJ_US_METHOD(obj_us_status)
{
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    if (!tpl_args_at(a, 0) && !tpl_args_kv(a, "status")) {
        *out = status_value(r, o);
        return 0;
    }
    if (!obj_privileged(r))
        return obj_refuse(e, "us.status", true);
    int rc = atomic(r, o, a, op_status, e);
    if (rc == 0)
        *out = status_value(r, o);
    return rc;
}

/*
 * make_commands_by_event('EVENT'): queues the event's commands when the
 * status allows them (usvc_make_commands); answers the number of tasks
 * queued, undefined when none (SHM).
 */
OBJ_US_METHOD(obj_us_make_commands_by_event)
{
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    if (!obj_privileged(r))
        return obj_refuse(e, "us.make_commands_by_event", true);
    char *ev = obj_arg_str(a, 0, "event");
    int queued = 0;
    bool own;
    int rc = obj_tx_begin(r, &own, e);
    if (rc == 0)
        rc = obj_tx_end(r, own, usvc_make_commands(r->db, o->id, ev, &queued, e), e);
    free(ev);
    if (rc == 0)
        *out = queued ? tpl_int(queued) : tpl_undef();
    return rc;
}

/* ---- columns and settings ---- */

/*
 * A `next` value us.set may store: -1 (delete at the end of the period), 0,
 * or an existing service — for a plain user's render one of the user's
 * price list (D16).
 */
static int check_next(struct render_ctx *r, const struct obj *o, const json_t *v, struct err *e)
{
    if (json_is_integer(v) && json_integer_value(v) == -1)
        return 0;
    if (json_is_string(v) && !strcmp(json_string_value(v), "-1"))
        return 0;
    int rc = service_check_next(r->db, v, e);
    int64_t id = json_is_integer(v) ? json_integer_value(v)
                 : json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
    bool ok = true;
    if (rc || id <= 0 || obj_privileged(r))
        return rc;
    if ((rc = pricelist_orderable(r->db, o->user_id, id, &ok, e)) == 0 && !ok)
        rc = err_set_status(e, ERR_DENIED, 403, "The service is prohibited for registration");
    return rc;
}

/* The columns us.set may write (the admin edit of POST /admin/user/service). */
static bool settable(const char *col)
{
    return !strcmp(col, "next") || !strcmp(col, "auto_bill") || !strcmp(col, "settings");
}

static int op_set(struct render_ctx *r, struct obj *o, const struct tpl_args *a, struct err *e)
{
    json_t *args = obj_args_object(a), *v;
    const char *k;
    int rc = json_object_size(args) ? 0
             : err_set_status(e, ERR_INVALID, 400, "us.set: expected field, value pairs");
    json_object_foreach(args, k, v) {
        if (rc == 0 && !settable(k))
            rc = err_set_status(e, ERR_INVALID, 400,
                                "us.set: field %s may not be set (next, auto_bill, settings)", k);
    }
    if (rc == 0 && (v = json_object_get(args, "next")))
        rc = check_next(r, o, v, e);
    if (rc == 0)
        rc = usvc_update_admin(r->db, o->id, args, e);
    json_decref(args);
    return rc;
}

/* set(field, value, …) / set({…}): next, auto_bill, settings (replaced whole). Answers 1. */
OBJ_US_METHOD(obj_us_set)
{
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    int rc = atomic(r, o, a, op_set, e);
    if (rc == 0)
        *out = tpl_int(1);
    return rc;
}

static int op_settings_add(struct render_ctx *r, struct obj *o, const struct tpl_args *a,
                           struct err *e)
{
    json_t *row = obj_us_load(r, o);
    json_t *merged = obj_arg_json(tpl_args_at(a, 0));
    json_object_update(merged, json_object_get(row, "settings"));
    json_t *args = json_pack("{s:o}", "settings", merged);
    int rc = usvc_update_admin(r->db, o->id, args, e);
    json_decref(args);
    json_decref(row);
    return rc;
}

/*
 * settings: the settings hash. settings({…}) adds the keys of the hash that
 * settings lacks (SHM: the stored values win) and saves them at once;
 * answers the us, so SHM's `us.settings({…}).settings_save` works.
 */
OBJ_US_METHOD(obj_us_settings)
{
    json_t *row = obj_us_load(r, o);
    if (!row)
        return TPL_DECLINED;
    const struct tpl_value *h = tpl_args_at(a, 0);
    int rc = 0;
    if (h && h->type == TPL_HASH) {
        rc = atomic(r, o, a, op_settings_add, e);
        if (rc == 0)
            *out = obj_new(o->kind, o->id, o->user_id, NULL);
    } else {
        *out = obj_from_json(json_object_get(row, "settings"));
    }
    json_decref(row);
    return rc;
}

/* settings_save: objects hold no data, settings are saved as they change; answers 1. */
OBJ_US_METHOD(obj_us_settings_save)
{
    UNUSED(a);
    UNUSED(e);
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    *out = tpl_int(1);
    return 0;
}

/* lock: locks the row until the end of the caller's transaction; answers 1. */
OBJ_US_METHOD(obj_us_lock_m)
{
    UNUSED(a);
    if (!obj_us_int(r, o, "user_id"))
        return TPL_DECLINED;
    int rc = db_in_tx(r->db) ? obj_us_lock(r, o->id, e) : 0;
    if (rc == 0)
        *out = tpl_int(1);
    return rc;
}

/* ---- ordering (billing.md §9) ---- */

/* The order described by the arguments: service_id, settings and end_date (privileged). */
static int order_args(struct render_ctx *r, const struct tpl_args *a, struct usvc_order *ord,
                      json_t **settings, struct err *e)
{
    char *end = obj_arg_str(a, (size_t)-1, "end_date");
    *settings = obj_arg_json(tpl_args_kv(a, "settings"));
    int rc = 0;
    if (!obj_arg_int(a, (size_t)-1, "service_id", &ord->service_id) || ord->service_id <= 0)
        rc = err_set_status(e, ERR_INVALID, 400, "Field service_id: expected a positive integer");
    else if ((*settings || end) && !obj_privileged(r))
        rc = obj_refuse(e, "us.create with settings or end_date", true);
    else if (*settings && !json_is_object(*settings))
        rc = err_set_status(e, ERR_INVALID, 400, "Field settings: expected an object");
    else if (end && *end && time_parse_local(end, &ord->end_date))
        rc = err_set_status(e, ERR_INVALID, 400, "Field end_date: expected YYYY-MM-DD HH:MM:SS");
    ord->settings = *settings;
    free(end);
    return rc;
}

/* Checks, de-duplicates and creates (the steps of PUT /service/order). */
static int order_run(struct render_ctx *r, int64_t user_id, const struct tpl_args *a,
                     const struct usvc_order *ord, int64_t *usi, struct err *e)
{
    int64_t allow = 1, exists = 0, unpaid = 0;
    obj_arg_int(a, (size_t)-1, "check_allow_to_order", &allow);
    obj_arg_int(a, (size_t)-1, "check_exists", &exists);
    obj_arg_int(a, (size_t)-1, "check_exists_unpaid", &unpaid);
    char *cat = obj_arg_str(a, (size_t)-1, "check_category");
    /* admins order anything; a task may skip the price list; a user never (D16) */
    bool orderable = !r->admin && (allow != 0 || !r->task);
    struct order_dedup d = { .exists = exists != 0, .unpaid = unpaid != 0, .category = cat };
    int rc = order_check(r->db, user_id, ord->service_id, orderable, e);
    if (rc == 0)
        rc = order_find_existing(r->db, user_id, ord->service_id, &d, usi, e);
    if (rc == 0 && !*usi)
        rc = usvc_create(r->db, user_id, ord, usi, e);
    free(cat);
    return rc;
}

int obj_us_order(struct render_ctx *r, int64_t user_id, const struct tpl_args *a, int64_t *usi,
                 struct err *e)
{
    struct usvc_order ord = { .auto_bill = -1 };
    json_t *settings = NULL;
    bool own = false;
    *usi = 0;
    if (!user_id || !obj_may_see(r, user_id))
        return err_set_status(e, ERR_DENIED, 403, "create: no current user");
    int rc = order_args(r, a, &ord, &settings, e);
    if (rc == 0 && (rc = obj_tx_begin(r, &own, e)) == 0)
        rc = obj_tx_end(r, own, order_run(r, user_id, a, &ord, usi, e), e);
    json_decref(settings);
    return rc;
}

/*
 * create(service_id = N, check_exists, check_exists_unpaid, check_category,
 * check_allow_to_order, settings, end_date): orders a service for the
 * user of this us (the current user for an unbound `us`); answers the new
 * (or the existing, de-duplicated) user service.
 */
OBJ_US_METHOD(obj_us_create)
{
    int64_t usi = 0;
    int rc = obj_us_order(r, o->user_id, a, &usi, e);
    if (rc == 0)
        *out = obj_us_value(r, usi);
    return rc;
}
