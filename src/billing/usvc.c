/*
 * usvc.c — the user-service engine (billing.md §9–§13): rows, the state
 * machine, tree processing, prolongation, next service, delete, finish and
 * the manual operations. Money moves only through charge.c and, for
 * add_period_by_money, ledger_adjust() directly.
 *
 * A `struct bctx` carries the connection, "now" (one time_now() per call,
 * so a whole tree is processed at the same second), the strategy and the
 * error of one engine call.
 */
#include "usvc.h"
#include "../spool/spool.h"
#include "bcache.h"
#include "charge.h"
#include "ledger.h"
#include "withdraw.h"
#include "../core/event.h"
#include "../core/money.h"
#include "../core/period.h"
#include "../core/server.h"
#include "../core/storage.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <ctype.h>
#include <strings.h>

#define MAX_DEPTH 32

/* A public call that succeeded leaves no error behind (not-found lookups it handled). */
static int finish_call(int rc, struct err *e)
{
    if (rc == 0)
        err_clear(e);
    return rc;
}

static const struct field us_fields[] = {
    { "user_service_id", FT_INT, FF_KEY, "User service id", 0, NULL },
    { "user_id", FT_INT, FF_HIDDEN, "Owner", 0, NULL },
    { "service_id", FT_INT, 0, "Service", 0, NULL },
    { "auto_bill", FT_INT, FF_HIDDEN, "Managed by billing", 0, NULL },
    { "withdraw_id", FT_INT, FF_HIDDEN, "Current withdraw", 0, NULL },
    { "created", FT_DATE, 0, "Created", 0, NULL },
    { "expire", FT_DATE, 0, "Paid through", 0, NULL },
    { "status_before", FT_TEXT, FF_HIDDEN, "Previous status", 8, NULL },
    { "status", FT_TEXT, 0, "Status", 8, "INIT|NOT PAID|PROGRESS|ACTIVE|BLOCK|REMOVED|ERROR" },
    { "next", FT_INT, 0, "Next service", 0, NULL },
    { "parent", FT_INT, 0, "Parent user service", 0, NULL },
    { "settings", FT_JSON, FF_HIDDEN, "Settings", 0, NULL },
};

const struct model usvc_model = {
    "UserService", "user_services", "user_service_id", us_fields, ARRAY_SIZE(us_fields),
};

struct bctx {
    struct db *db;
    struct bcache *cache; /* may be NULL: services, strategy and events read each time */
    int64_t now;
    enum calc_strategy st;
    struct err *e;
};

static void bctx_init_cached(struct bctx *b, struct db *db, struct bcache *c, struct err *e)
{
    b->db = db;
    b->cache = c;
    b->now = time_now();
    b->st = bcache_strategy(c, db);
    b->e = e;
}

static void bctx_init(struct bctx *b, struct db *db, struct err *e)
{
    bctx_init_cached(b, db, NULL, e);
}

static bool eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ---- rows ---- */

#define US_COLS                                                                              \
    "user_service_id, user_id, service_id, auto_bill, withdraw_id, created, expire, "      \
    "status_before, status, next, parent, settings"

/* Column positions of US_COLS (read by position: no name lookup per cell). */
enum us_col {
    UC_ID, UC_USER, UC_SERVICE, UC_AUTO_BILL, UC_WITHDRAW, UC_CREATED, UC_EXPIRE, UC_BEFORE,
    UC_STATUS, UC_NEXT, UC_PARENT, UC_SETTINGS,
};

/* A text cell copied into dst (size bytes), or def when NULL. */
static void copy_text(char *dst, size_t size, const char *src, const char *def)
{
    snprintf(dst, size, "%s", src ? src : def);
}

/* Reads the row sql selects (US_COLS) into out; *found false (no error) when there is none. */
static int us_read(struct db *db, const char *sql, const struct db_value *p, int np,
                   struct usvc *out, bool *found, struct err *e)
{
    struct db_result *r = NULL;
    memset(out, 0, sizeof(*out));
    *found = false;
    int rc = db_query(db, sql, p, np, &r, e);
    if (rc || db_result_rows(r) == 0) {
        db_result_free(r);
        return rc;
    }
    *found = true;
    out->user_service_id = db_result_int(r, 0, UC_ID);
    out->user_id = db_result_int(r, 0, UC_USER);
    out->service_id = db_result_int(r, 0, UC_SERVICE);
    out->auto_bill = db_result_int(r, 0, UC_AUTO_BILL) != 0;
    out->withdraw_id = db_result_int(r, 0, UC_WITHDRAW);
    out->created = db_result_int(r, 0, UC_CREATED);
    out->expire = db_result_int(r, 0, UC_EXPIRE);
    out->next = db_result_int(r, 0, UC_NEXT);
    out->parent = db_result_int(r, 0, UC_PARENT);
    copy_text(out->status, sizeof(out->status), db_result_text(r, 0, UC_STATUS), "INIT");
    copy_text(out->status_before, sizeof(out->status_before), db_result_text(r, 0, UC_BEFORE),
              "INIT");
    const char *s = db_result_text(r, 0, UC_SETTINGS);
    out->settings = s ? json_loads(s, 0, NULL) : NULL;
    if (out->settings && !json_is_object(out->settings)) {
        json_decref(out->settings);
        out->settings = NULL;
    }
    db_result_free(r);
    return 0;
}

int usvc_load(struct db *db, int64_t usi, struct usvc *out, struct err *e)
{
    bool found = false;
    struct db_value p[] = { DB_INT(usi) };
    int rc = us_read(db, "SELECT " US_COLS " FROM user_services WHERE user_service_id = $1", p,
                     1, out, &found, e);
    if (rc == 0 && !found)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    return rc;
}

void usvc_free(struct usvc *us)
{
    json_decref(us->settings);
    us->settings = NULL;
}

static struct db_value null_if_zero(int64_t v)
{
    return v ? DB_INT(v) : DB_NULL;
}

/* Writes the mutable columns of us. */
static int us_store(struct db *db, const struct usvc *us, struct err *e)
{
    char *settings = us->settings ? json_dumps(us->settings, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct db_value p[] = {
        DB_INT(us->user_service_id), DB_INT(us->service_id), DB_INT(us->auto_bill ? 1 : 0),
        null_if_zero(us->withdraw_id), null_if_zero(us->expire), DB_TEXT(us->status_before),
        DB_TEXT(us->status), DB_INT(us->next), DB_TEXT(settings),
    };
    int rc = db_exec(db,
                     "UPDATE user_services SET service_id = $2, auto_bill = $3, withdraw_id = $4, "
                     "expire = $5, status_before = $6, status = $7, next = $8, settings = $9 "
                     "WHERE user_service_id = $1",
                     p, (int)ARRAY_SIZE(p), NULL, e);
    free(settings);
    return rc;
}

static int us_insert(struct db *db, struct usvc *us, struct err *e)
{
    char *settings = us->settings ? json_dumps(us->settings, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct db_value p[] = {
        DB_INT(us->user_id), DB_INT(us->service_id), DB_INT(us->auto_bill ? 1 : 0),
        DB_INT(us->created), DB_TEXT(us->status_before), DB_TEXT(us->status), DB_INT(us->next),
        null_if_zero(us->parent), DB_TEXT(settings),
    };
    int rc = db_insert(db,
                       "INSERT INTO user_services (user_id, service_id, auto_bill, created, "
                       "status_before, status, next, parent, settings) VALUES ($1, $2, $3, $4, "
                       "$5, $6, $7, $8, $9)",
                       "user_service_id", p, (int)ARRAY_SIZE(p), &us->user_service_id, e);
    free(settings);
    return rc;
}

/* The ids of the non-REMOVED children of usi in id order (owned array, *n entries). */
static int children_ids(struct db *db, int64_t usi, int64_t **ids, size_t *n, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(usi) };
    *ids = NULL;
    *n = 0;
    int rc = db_query(db,
                      "SELECT user_service_id FROM user_services WHERE parent = $1 "
                      "AND status <> 'REMOVED' ORDER BY user_service_id",
                      p, 1, &r, e);
    if (rc)
        return rc;
    *n = (size_t)db_result_rows(r);
    *ids = xcalloc(*n ? *n : 1, sizeof(int64_t));
    for (size_t i = 0; i < *n; i++)
        (*ids)[i] = db_result_int(r, (int)i, 0);
    db_result_free(r);
    return 0;
}

/* ---- events and statuses (§10) ---- */

const char *usvc_event_target(const char *event)
{
    static const char *const map[][2] = {
        { USVC_CREATE, "ACTIVE" },        { USVC_ACTIVATE, "ACTIVE" },
        { USVC_PROLONGATE, "ACTIVE" },    { USVC_BLOCK, "BLOCK" },
        { USVC_REMOVE, "REMOVED" },       { USVC_NOT_ENOUGH_MONEY, "NOT PAID" },
    };
    for (size_t i = 0; event && i < ARRAY_SIZE(map); i++)
        if (strcasecmp(event, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

bool usvc_event_allowed(const char *status, const char *ev)
{
    if (eq(status, "REMOVED"))
        return false;
    if (eq(status, "PROGRESS") || eq(ev, USVC_CHANGED) || eq(ev, USVC_CHANGED_TARIFF))
        return true;
    if ((eq(status, "NOT PAID") || eq(status, "INIT")) && eq(ev, USVC_CREATE))
        return true;
    if (eq(status, "INIT") && eq(ev, USVC_NOT_ENOUGH_MONEY))
        return true;
    if (eq(status, "ACTIVE"))
        return eq(ev, USVC_PROLONGATE) || eq(ev, USVC_BLOCK) || eq(ev, USVC_REMOVE);
    if (eq(status, "BLOCK"))
        return eq(ev, USVC_ACTIVATE) || eq(ev, USVC_REMOVE);
    return false;
}

static char *service_category(struct bctx *b, int64_t service_id)
{
    struct bill_service s;
    struct err e = { 0 };
    char *out = NULL;
    if (bcache_service(b->cache, b->db, service_id, &s, &e))
        return NULL;
    out = s.category ? xstrdup(s.category) : NULL;
    bill_service_free(&s);
    return out;
}

/* The commands bound to event for the service of us (new array). */
static int commands_of(struct bctx *b, const struct usvc *us, const char *event, json_t **out)
{
    char *cat = service_category(b, us->service_id);
    int rc = bcache_events(b->cache, b->db, event, cat, out, b->e);
    free(cat);
    return rc;
}

/* The spooled copy of an events row: upper-cased name (spool.md §3). */
static json_t *event_copy(const json_t *row)
{
    json_t *ev = json_object();
    const char *keys[] = { "id", "kind", "title", "server_gid", "settings" };
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(row, keys[i]);
        if (v)
            json_object_set(ev, keys[i], v);
    }
    char *name = xstrdup(json_string_value(json_object_get(row, "name")) ?: "");
    for (char *p = name; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    json_object_set_new(ev, "name", json_string(name));
    free(name);
    return ev;
}

/* Task settings {user_service_id, server_id?} plus extra (may be NULL). */
static json_t *task_settings(const struct usvc *us, const json_t *extra)
{
    json_t *s = json_pack("{s:I}", "user_service_id", (json_int_t)us->user_service_id);
    json_t *sid = us->settings ? json_object_get(us->settings, "server_id") : NULL;
    if (sid && !json_is_null(sid))
        json_object_set(s, "server_id", sid);
    if (extra)
        json_object_update(s, (json_t *)extra);
    return s;
}

/* One task of events row row for us; the event is serialised once per cache (bcache.h). */
static int spool_insert(struct bctx *b, const struct usvc *us, const json_t *row,
                        const json_t *extra)
{
    json_t *st = task_settings(us, extra);
    struct spool_new t = { .user_id = us->user_id, .usi = us->user_service_id, .settings = st };
    const struct spool_event *pe = bcache_spool_event(b->cache, row, event_copy);
    int rc;
    if (pe) {
        rc = spool_add_prepared(b->db, &t, pe, NULL, b->e);
    } else {
        json_t *ev = event_copy(row);
        t.event = ev;
        rc = spool_add(b->db, &t, NULL, b->e);
        json_decref(ev);
    }
    json_decref(st);
    return rc;
}

static int spool_all(struct bctx *b, const struct usvc *us, const json_t *cmds,
                     const json_t *extra)
{
    size_t i;
    json_t *row;
    json_array_foreach(cmds, i, row) {
        int rc = spool_insert(b, us, row, extra);
        if (rc)
            return rc;
    }
    return 0;
}

/* Queues the commands of event for us (if any); *queued tells whether any were. */
static int queue_event(struct bctx *b, const struct usvc *us, const char *event,
                       const json_t *extra, bool *queued)
{
    json_t *cmds = NULL;
    int rc = commands_of(b, us, event, &cmds);
    if (rc == 0)
        rc = spool_all(b, us, cmds, extra);
    if (queued)
        *queued = rc == 0 && json_array_size(cmds) > 0;
    json_decref(cmds);
    return rc;
}

static int child_status_updated(struct bctx *b, int64_t parent, const char *status,
                                const char *event, int depth);

/* Side effects of entering REMOVED (§10.4). */
static int removed_effects(struct bctx *b, struct usvc *us)
{
    struct wd w;
    int rc = 0;
    if (us->withdraw_id && (rc = withdraw_get(b->db, us->withdraw_id, &w, b->e)) == 0 &&
        !w.withdraw_date) {
        if ((rc = withdraw_delete(b->db, w.withdraw_id, b->e)))
            return rc;
        us->withdraw_id = 0;
    }
    if (rc && rc != ERR_NOT_FOUND)
        return rc;
    if ((rc = storage_delete_by_service(b->db, us->user_id, us->user_service_id, NULL, b->e)))
        return rc;
    json_t *sid = us->settings ? json_object_get(us->settings, "server_id") : NULL;
    int64_t id = json_is_integer(sid) ? json_integer_value(sid)
                 : json_is_string(sid) ? strtoll(json_string_value(sid), NULL, 10) : 0;
    if (sid) {
        if (id > 0 && (rc = server_services_count_add(b->db, id, -1, b->e)) &&
            rc != ERR_NOT_FOUND)
            return rc;
        json_object_del(us->settings, "server_id");
    }
    return 0;
}

/* §10.4; *changed (may be NULL) tells whether the status changed. */
static int set_status(struct bctx *b, struct usvc *us, const char *status, const char *event,
                      int depth, bool *changed)
{
    if (changed)
        *changed = false;
    if (eq(status, us->status) || eq(us->status, "REMOVED"))
        return 0;
    if (!eq(us->status, "PROGRESS") && !eq(us->status, "ERROR"))
        snprintf(us->status_before, sizeof(us->status_before), "%s", us->status);
    int rc = eq(status, "REMOVED") ? removed_effects(b, us) : 0;
    snprintf(us->status, sizeof(us->status), "%s", status ? status : "");
    if (rc == 0)
        rc = us_store(b->db, us, b->e);
    if (rc == 0 && changed)
        *changed = true;
    if (rc == 0 && us->parent)
        rc = child_status_updated(b, us->parent, status, event, depth + 1);
    return rc;
}

/*
 * Sets status (§10.4) and, when it really changed (not from ERROR, not for
 * PROLONGATE), queues the CHANGED commands with {status: {before, after}}
 * (§10.3 step 3). event may be NULL (us.status(STATUS) in a template).
 */
static int set_status_changed(struct bctx *b, struct usvc *us, const char *status,
                              const char *event, int depth)
{
    char old[16];
    bool changed = false;
    snprintf(old, sizeof(old), "%s", us->status);
    int rc = set_status(b, us, status, event, depth, &changed);
    if (rc || !changed || eq(old, "ERROR") || eq(event, USVC_PROLONGATE))
        return rc;
    json_t *extra = json_pack("{s:{s:s,s:s}}", "status", "before", us->status_before, "after",
                              status);
    rc = queue_event(b, us, USVC_CHANGED, extra, NULL);
    json_decref(extra);
    return rc;
}

/* set_status_by_event (§10.3 step 3). */
static int set_status_by_event(struct bctx *b, struct usvc *us, const char *event, int depth)
{
    const char *target = usvc_event_target(event);
    return target ? set_status_changed(b, us, target, event, depth) : 0;
}

static int child_in_progress(struct bctx *b, int64_t usi, bool *yes)
{
    int64_t n = 0;
    struct db_value p[] = { DB_INT(usi) };
    int rc = db_query_int(b->db,
                          "SELECT count(*) FROM user_services WHERE parent = $1 "
                          "AND status = 'PROGRESS'",
                          p, 1, &n, b->e);
    *yes = rc == 0 && n > 0;
    return rc;
}

/*
 * Queues cmds, the commands of event (§10.3 step 2): PROLONGATE only records
 * status_before; otherwise the us goes to PROGRESS when progress is set.
 */
static int run_commands(struct bctx *b, struct usvc *us, const char *event, const json_t *cmds,
                        bool progress, int depth)
{
    int rc = 0;
    if (eq(event, USVC_PROLONGATE)) {
        snprintf(us->status_before, sizeof(us->status_before), "%s", us->status);
        rc = us_store(b->db, us, b->e);
    } else if (progress) {
        rc = set_status(b, us, "PROGRESS", event, depth, NULL);
    }
    return rc ? rc : spool_all(b, us, cmds, NULL);
}

/* us.event(event) (§10.3); has_children false: children_ids found none just now. */
static int us_event(struct bctx *b, struct usvc *us, const char *event, int depth,
                    bool has_children)
{
    bool busy = false;
    json_t *cmds = NULL;
    int rc = has_children ? child_in_progress(b, us->user_service_id, &busy) : 0;
    if (rc || busy)
        return rc ? rc : set_status(b, us, "PROGRESS", event, depth, NULL);
    if ((rc = commands_of(b, us, event, &cmds)))
        return rc;
    if (usvc_event_allowed(us->status, event) && json_array_size(cmds) > 0)
        rc = run_commands(b, us, event, cmds, true, depth);
    else
        rc = set_status_by_event(b, us, event, depth);
    json_decref(cmds);
    return rc;
}

/* True when every non-REMOVED child of usi has status (or none remain and status is REMOVED). */
static int children_settled(struct bctx *b, int64_t usi, const char *status, bool *yes)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(usi) };
    int rc = db_query(b->db,
                      "SELECT status FROM user_services WHERE parent = $1 AND status <> 'REMOVED'",
                      p, 1, &r, b->e);
    if (rc)
        return rc;
    int n = db_result_rows(r);
    *yes = n > 0 || eq(status, "REMOVED");
    for (int i = 0; i < n; i++)
        if (!eq(db_result_text(r, i, 0), status))
            *yes = false;
    db_result_free(r);
    return 0;
}

/* child_status_updated (§11.3). */
static int child_status_updated(struct bctx *b, int64_t parent, const char *status,
                                const char *event, int depth)
{
    struct usvc p;
    bool settled = false, queued = false;
    if (depth > MAX_DEPTH || !event) /* a template's us.status(X) names no event */
        return 0;
    int rc = usvc_load(b->db, parent, &p, b->e);
    if (rc)
        return rc == ERR_NOT_FOUND ? 0 : rc;
    if (eq(p.status, "PROGRESS") && (rc = children_settled(b, parent, status, &settled)) == 0 &&
        settled) {
        rc = queue_event(b, &p, event, NULL, &queued);
        if (rc == 0 && !queued)
            rc = set_status_by_event(b, &p, event, depth);
    }
    usvc_free(&p);
    return rc;
}

/* ---- prolongation (§12), next service (§13.1) ---- */

/* Paid through a second before now; an expire of exactly now (finish, §13.4) counts too. */
static bool expired(const struct bctx *b, const struct usvc *us)
{
    return us->expire && us->expire <= b->now;
}

/* apply_partial_period (§12.2) on the unpaid w of service s. */
static int apply_partial(struct bctx *b, struct wd *w, const struct bill_service *s)
{
    struct charge_user u;
    int64_t months = 0;
    int rc = charge_user_load(b->db, w->user_id, &u, b->e);
    if (rc)
        return rc;
    int64_t avail = charge_available_bonuses(s->config, u.bonus, w->total);
    if (!charge_insufficient(&u, avail, w->total, s->pay_in_credit))
        return 0;
    int64_t amount = u.balance + charge_available_bonuses(s->config, u.bonus, u.balance);
    rc = calc_period_for_amount(b->st, amount, w->cost, s->period, b->now, &months);
    if (rc || months == 0)
        return rc == ERR_LIMIT ? 0 : (rc ? err_set(b->e, rc, "Can't compute a partial period") : 0);
    w->total = amount;
    w->months = months;
    return 0;
}

/* calc_withdraw for a new unpaid withdraw of us (dates cleared until paid). */
static int new_wd(struct bctx *b, const struct usvc *us, const struct bill_service *s,
                  const struct wd_input *in, struct wd *w)
{
    int rc = withdraw_calc_cached(b->db, b->cache, b->st, us->user_id, s, in, b->now, w, b->e);
    w->user_service_id = us->user_service_id;
    w->withdraw_date = 0;
    w->end_date = 0;
    return rc;
}

static int switch_to_next(struct bctx *b, struct usvc *us, bool partial, struct wd *w)
{
    struct bill_service s;
    struct wd_input in = { .qnt = 1 };
    struct wd cur;
    int rc = bcache_service(b->cache, b->db, us->next, &s, b->e);
    if (rc)
        return rc;
    rc = new_wd(b, us, &s, &in, w);
    if (rc == 0 && (partial || bill_service_flag(&s, "allow_partial_period")))
        rc = apply_partial(b, w, &s);
    bool overwrite = rc == 0 && us->withdraw_id &&
                     withdraw_get(b->db, us->withdraw_id, &cur, b->e) == 0 && !cur.withdraw_date;
    if (rc == 0 && overwrite) {
        w->withdraw_id = cur.withdraw_id;
        rc = withdraw_update(b->db, w, b->e);
    } else if (rc == 0) {
        rc = withdraw_insert(b->db, w, b->e);
    }
    if (rc == 0) {
        us->withdraw_id = w->withdraw_id;
        us->service_id = s.service_id;
        us->next = s.next;
        rc = us_store(b->db, us, b->e);
    }
    bill_service_free(&s);
    return rc ? rc : queue_event(b, us, USVC_CHANGED_TARIFF, NULL, NULL);
}

/* The renewal withdraw after a paid one: a queued one, else the grandfathered price. */
static int renewal_wd(struct bctx *b, struct usvc *us, const struct wd *prev, bool partial,
                      struct wd *w)
{
    struct bill_service s;
    int rc = withdraw_next_queued(b->db, us->user_service_id, prev->withdraw_id, w, b->e);
    if (rc == 0 || rc != ERR_NOT_FOUND) {
        if (rc == 0)
            us->withdraw_id = w->withdraw_id;
        return rc ? rc : us_store(b->db, us, b->e);
    }
    if ((rc = bcache_service(b->cache, b->db, us->service_id, &s, b->e)))
        return rc;
    struct wd_input in = { .has_cost = true, .cost = prev->cost, .has_months = true,
                           .months = s.period, .discount = prev->discount, .qnt = prev->qnt };
    rc = new_wd(b, us, &s, &in, w);
    if (rc == 0 && (partial || bill_service_flag(&s, "allow_partial_period")))
        rc = apply_partial(b, w, &s);
    if (rc == 0)
        rc = withdraw_insert(b->db, w, b->e);
    bill_service_free(&s);
    if (rc == 0) {
        us->withdraw_id = w->withdraw_id;
        rc = us_store(b->db, us, b->e);
    }
    return rc;
}

/*
 * Pays the current withdraw of us (§7), us as stored; known (may be NULL) is the row of
 * that withdraw when the caller has it; *w receives the row as it now stands.
 */
static int pay_us(struct bctx *b, const struct usvc *us, const struct wd *known, bool *paid,
                  struct wd *w)
{
    struct charge_known k = { .has_row = true, .withdraw_id = us->withdraw_id,
                              .parent = us->parent, .service_id = us->service_id,
                              .user_id = us->user_id, .wd = known };
    return charge_pay_us_cached(b->db, b->cache, us->user_service_id, b->now, &k, paid, w,
                                b->e);
}

/*
 * Sets the new expire from start and the paid withdraw's months (§12.1 step 6).
 * paid is the withdraw pay_us just left behind; read again when it is not the current one.
 */
static int set_expire(struct bctx *b, struct usvc *us, int64_t start, const struct wd *paid)
{
    struct wd w;
    int rc = 0;
    if (paid->withdraw_id && paid->withdraw_id == us->withdraw_id)
        w = *paid;
    else
        rc = withdraw_get(b->db, us->withdraw_id, &w, b->e);
    if (rc)
        return rc;
    if ((rc = calc_end_date(b->st, start, w.months, &us->expire)))
        return err_set(b->e, rc, "Can't compute the end date");
    w.end_date = us->expire;
    rc = withdraw_update(b->db, &w, b->e);
    return rc ? rc : us_store(b->db, us, b->e);
}

static const char *block_if_active(const struct usvc *us)
{
    return eq(us->status, "ACTIVE") ? USVC_BLOCK : NULL;
}

/*
 * Chooses the withdraw to pay (§12.1 step 4); *ev set when the result is REMOVE.
 * *known receives the row of the withdraw to pay when it was read or written here
 * (withdraw_id 0 otherwise), so paying it need not read it again.
 */
static int choose_wd(struct bctx *b, struct usvc *us, bool partial, const char **ev,
                     struct wd *known)
{
    struct wd cur, w;
    known->withdraw_id = 0;
    int rc = us->withdraw_id ? withdraw_get(b->db, us->withdraw_id, &cur, b->e) : ERR_NOT_FOUND;
    if (rc && rc != ERR_NOT_FOUND)
        return rc;
    if (rc == 0 && !cur.withdraw_date) {
        *known = cur;
        return 0;
    }
    if (us->next == -1) {
        *ev = USVC_REMOVE;
        return charge_money_back(b->db, b->st, us->withdraw_id, us->expire, b->now, NULL, b->e);
    }
    if (us->next > 0)
        return switch_to_next(b, us, partial, &w);
    if (rc == ERR_NOT_FOUND)
        return 0;
    rc = renewal_wd(b, us, &cur, partial, known);
    if (rc)
        known->withdraw_id = 0;
    return rc;
}

static int prolongate(struct bctx *b, struct usvc *us, bool force, bool partial, const char **ev)
{
    struct bill_service s;
    struct usvc parent;
    struct wd known, w;
    bool paid = false;
    *ev = NULL;
    if (!eq(us->status, "ACTIVE") && !eq(us->status, "NOT PAID") && !eq(us->status, "BLOCK"))
        return 0;
    int rc = bcache_service(b->cache, b->db, us->service_id, &s, b->e);
    if (rc)
        return rc;
    bool no_renew = bill_service_flag(&s, "no_auto_renew");
    bill_service_free(&s);
    if (no_renew && !force) {
        *ev = block_if_active(us);
        return 0;
    }
    if (us->expire && !expired(b, us))
        return 0;
    if (us->parent && usvc_load(b->db, us->parent, &parent, b->e) == 0) {
        bool pexp = expired(b, &parent);
        usvc_free(&parent);
        if (pexp) {
            *ev = block_if_active(us);
            return 0;
        }
    }
    if ((rc = choose_wd(b, us, partial, ev, &known)) || *ev)
        return rc;
    if ((rc = pay_us(b, us, &known, &paid, &w)))
        return rc;
    if (!paid) {
        *ev = block_if_active(us);
        return 0;
    }
    int64_t start = expired(b, us) && !eq(us->status, "BLOCK") ? us->expire : b->now;
    if ((rc = set_expire(b, us, start, &w)))
        return rc;
    *ev = eq(us->status, "ACTIVE") ? USVC_PROLONGATE : USVC_ACTIVATE;
    return 0;
}

/* ---- processing a tree (§11) ---- */

/* process_service (§11.2): *ev receives the event to pass on, or NULL. */
static int process_service(struct bctx *b, struct usvc *us, const char *event, const char **ev)
{
    bool paid = false;
    *ev = NULL;
    if (eq(us->status, "PROGRESS") || eq(us->status, "REMOVED"))
        return 0;
    if (eq(event, USVC_BLOCK_FORCE)) {
        *ev = block_if_active(us);
        return 0;
    }
    if (eq(event, USVC_ACTIVATE_FORCE)) {
        *ev = eq(us->status, "BLOCK") ? USVC_ACTIVATE : NULL;
        return 0;
    }
    if (!us->withdraw_id) {
        *ev = event;
        return 0;
    }
    if (eq(event, USVC_REMOVE)) {
        *ev = USVC_REMOVE;
        return us->expire ? charge_money_back(b->db, b->st, us->withdraw_id, us->expire, b->now,
                                              NULL, b->e)
                          : 0;
    }
    if (!us->expire) {
        struct wd w;
        int rc = pay_us(b, us, NULL, &paid, &w);
        if (rc)
            return rc;
        *ev = paid ? USVC_CREATE : USVC_NOT_ENOUGH_MONEY;
        return paid ? set_expire(b, us, b->now, &w) : 0;
    }
    if (!expired(b, us))
        return 0;
    return prolongate(b, us, false, false, ev);
}

static int process_recursive(struct bctx *b, int64_t usi, const char *event, int depth);

/* process_recursive of us, already read (§11.2); frees it. */
static int process_loaded(struct bctx *b, struct usvc *us, const char *event, int depth)
{
    const char *ev = NULL;
    int64_t *kids = NULL, usi = us->user_service_id;
    size_t n = 0;
    int rc = process_service(b, us, event, &ev);
    if (rc == 0 && ev)
        rc = children_ids(b->db, usi, &kids, &n, b->e);
    for (size_t i = 0; rc == 0 && ev && i < n; i++)
        rc = process_recursive(b, kids[i], ev, depth + 1);
    free(kids);
    /* Children may have changed this us (child_status_updated): read it again after them.
       Without children the row is what us holds (process_service stored every change). */
    if (rc == 0 && ev && n > 0) {
        usvc_free(us);
        rc = usvc_load(b->db, usi, us, b->e);
    }
    if (rc == 0 && ev)
        rc = us_event(b, us, ev, depth, n > 0);
    usvc_free(us);
    return rc;
}

static int process_recursive(struct bctx *b, int64_t usi, const char *event, int depth)
{
    struct usvc us;
    if (depth > MAX_DEPTH)
        return 0;
    int rc = usvc_load(b->db, usi, &us, b->e);
    return rc ? rc : process_loaded(b, &us, event, depth);
}

static int usvc_touch_impl(struct db *db, struct bcache *c, int64_t usi, const char *event,
                           struct err *e)
{
    struct bctx b;
    bctx_init_cached(&b, db, c, e);
    return process_recursive(&b, usi, event ? event : USVC_PROLONGATE, 0);
}

/* ---- creating (§9) ---- */

static int create_recursive(struct bctx *b, int64_t user_id, const struct usvc_order *o,
                            int64_t service_id, int64_t parent, double qnt, int depth,
                            int64_t *usi);

static int create_children(struct bctx *b, const struct usvc *us, const struct bill_service *s,
                           const struct usvc_order *o, int depth)
{
    size_t i;
    json_t *ch;
    int64_t id;
    json_array_foreach(s->children, i, ch) {
        int64_t sid = json_integer_value(json_object_get(ch, "service_id"));
        double qnt = json_number_value(json_object_get(ch, "qnt"));
        int rc = create_recursive(b, us->user_id, o, sid, us->user_service_id, qnt, depth + 1,
                                  &id);
        if (rc)
            return rc;
    }
    return 0;
}

static int create_wd(struct bctx *b, struct usvc *us, const struct bill_service *s,
                     const struct usvc_order *o, bool top, double qnt)
{
    struct wd w;
    struct wd_input in = { .qnt = qnt };
    if (top) {
        in.has_cost = o->has_cost;
        in.cost = o->cost;
        in.has_months = o->has_months;
        in.months = o->months;
    }
    int rc = new_wd(b, us, s, &in, &w);
    if (rc == 0)
        rc = withdraw_insert(b->db, &w, b->e);
    if (rc == 0) {
        us->withdraw_id = w.withdraw_id;
        rc = us_store(b->db, us, b->e);
    }
    return rc;
}

static int create_recursive(struct bctx *b, int64_t user_id, const struct usvc_order *o,
                            int64_t service_id, int64_t parent, double qnt, int depth,
                            int64_t *usi)
{
    struct bill_service s;
    struct usvc us = { 0 };
    bool top = depth == 0;
    if (depth > MAX_DEPTH)
        return err_set(b->e, ERR_INVALID, "Service children are nested too deeply");
    int rc = bcache_service(b->cache, b->db, service_id, &s, b->e);
    if (rc)
        return rc;
    us.user_id = user_id;
    us.service_id = service_id;
    us.auto_bill = o->auto_bill != 0;
    us.created = b->now;
    us.next = s.next;
    us.parent = parent;
    snprintf(us.status, sizeof(us.status), "%s", top && o->status ? o->status : "INIT");
    snprintf(us.status_before, sizeof(us.status_before), "INIT");
    us.settings = top && json_is_object(o->settings) ? json_deep_copy(o->settings) : NULL;
    rc = us_insert(b->db, &us, b->e);
    if (rc == 0 && (s.pay_always || !parent))
        rc = create_wd(b, &us, &s, o, top, qnt);
    if (rc == 0)
        rc = create_children(b, &us, &s, o, depth);
    *usi = us.user_service_id;
    usvc_free(&us);
    bill_service_free(&s);
    return rc;
}

static int override_expire(struct bctx *b, int64_t usi, int64_t end_date)
{
    struct usvc us;
    struct wd w;
    int rc = usvc_load(b->db, usi, &us, b->e);
    if (rc)
        return rc;
    us.expire = end_date;
    rc = us_store(b->db, &us, b->e);
    if (rc == 0 && us.withdraw_id && withdraw_get(b->db, us.withdraw_id, &w, b->e) == 0 &&
        w.withdraw_date) {
        w.end_date = end_date;
        rc = withdraw_update(b->db, &w, b->e);
    }
    usvc_free(&us);
    return rc;
}

static int usvc_create_impl(struct db *db, int64_t user_id, const struct usvc_order *o, int64_t *usi,
                struct err *e)
{
    struct bctx b;
    struct usvc_order ord = *o;
    bctx_init(&b, db, e);
    if (ord.auto_bill < 0)
        ord.auto_bill = 1;
    int rc = create_recursive(&b, user_id, &ord, ord.service_id, ord.parent, 1, 0, usi);
    if (rc == 0 && ord.auto_bill)
        rc = process_recursive(&b, *usi, USVC_CREATE, 0);
    if (rc == 0 && ord.end_date)
        rc = override_expire(&b, *usi, ord.end_date);
    return rc;
}

/* ---- operations (§10.5, §10.6, §13) ---- */

static int usvc_task_done_impl(struct db *db, int64_t usi, const char *event, struct err *e)
{
    struct bctx b;
    struct usvc us;
    const char *target = usvc_event_target(event);
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc == 0 && target)
        rc = set_status(&b, &us, target, event, 0, NULL);
    usvc_free(&us);
    return rc;
}

static int usvc_delete_impl(struct db *db, int64_t usi, bool force, struct err *e)
{
    struct bctx b;
    struct usvc us;
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc)
        return rc;
    bool ok = eq(us.status, "BLOCK") || eq(us.status, "NOT PAID") ||
              (force && eq(us.status, "ACTIVE"));
    if (!ok) {
        rc = err_set_status(e, ERR_INVALID, 400, "Can't delete service with status: %s",
                            us.status);
    } else if (!us.expire || us.expire > b.now) {
        us.expire = b.now;
        rc = us_store(db, &us, e);
    }
    usvc_free(&us);
    return rc ? rc : process_recursive(&b, usi, USVC_REMOVE, 0);
}

static int usvc_block_force_impl(struct db *db, int64_t usi, int auto_bill, struct err *e)
{
    struct usvc us;
    int rc = usvc_load(db, usi, &us, e);
    if (rc)
        return rc;
    if (auto_bill >= 0) {
        us.auto_bill = auto_bill != 0;
        rc = us_store(db, &us, e);
    }
    bool active = eq(us.status, "ACTIVE");
    usvc_free(&us);
    return rc || !active ? rc : usvc_touch(db, usi, USVC_BLOCK_FORCE, e);
}

static int usvc_activate_force_impl(struct db *db, int64_t usi, struct err *e)
{
    struct bctx b;
    struct usvc us;
    const char *ev = NULL;
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc)
        return rc;
    bool block = eq(us.status, "BLOCK");
    if (block && expired(&b, &us)) {
        rc = prolongate(&b, &us, true, false, &ev);
        if (rc == 0 && !eq(ev, USVC_ACTIVATE))
            rc = err_set_status(e, ERR_INVALID, 400, "Not enough money");
    }
    usvc_free(&us);
    return rc || !block ? rc : usvc_touch(db, usi, USVC_ACTIVATE_FORCE, e);
}

static int usvc_set_status_manual_impl(struct db *db, int64_t usi, const char *status, struct err *e)
{
    struct usvc us;
    if (!eq(status, "ACTIVE") && !eq(status, "BLOCK"))
        return err_set_status(e, ERR_INVALID, 400, "Field status: must be ACTIVE or BLOCK");
    int rc = usvc_load(db, usi, &us, e);
    if (rc == 0 && !eq(us.status, status)) {
        if (!eq(us.status, "PROGRESS") && !eq(us.status, "ERROR"))
            snprintf(us.status_before, sizeof(us.status_before), "%s", us.status);
        snprintf(us.status, sizeof(us.status), "%s", status);
        rc = us_store(db, &us, e);
    }
    usvc_free(&us);
    return rc;
}

static int finish(struct bctx *b, struct usvc *us, bool money_back)
{
    if (!eq(us->status, "ACTIVE") || expired(b, us))
        return 0;
    us->expire = b->now;
    int rc = us_store(b->db, us, b->e);
    if (rc == 0 && money_back)
        rc = charge_money_back(b->db, b->st, us->withdraw_id, b->now, b->now, NULL, b->e);
    return rc;
}

static int usvc_finish_impl(struct db *db, int64_t usi, bool money_back, struct err *e)
{
    struct bctx b;
    struct usvc us;
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc == 0)
        rc = finish(&b, &us, money_back);
    usvc_free(&us);
    return rc;
}

static int usvc_change_impl(struct db *db, int64_t usi, int64_t service_id, bool finish_active,
                bool allow_partial, struct err *e)
{
    struct bctx b;
    struct usvc us;
    struct wd w;
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc)
        return rc;
    us.next = service_id;
    rc = us_store(db, &us, e);
    bool act = false;
    if (rc == 0 && (eq(us.status, "NOT PAID") || eq(us.status, "BLOCK"))) {
        rc = switch_to_next(&b, &us, allow_partial, &w);
        act = true;
    } else if (rc == 0 && eq(us.status, "ACTIVE") && finish_active) {
        rc = finish(&b, &us, true);
        act = true;
    }
    usvc_free(&us);
    return rc || !act ? rc : process_recursive(&b, usi, USVC_PROLONGATE, 0);
}

static int usvc_update_admin_impl(struct db *db, int64_t usi, const json_t *args, struct err *e)
{
    struct usvc us;
    json_t *v;
    int rc = usvc_load(db, usi, &us, e);
    if (rc)
        return rc;
    if ((v = json_object_get(args, "auto_bill")) && !json_is_null(v))
        us.auto_bill = json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0) ||
                       (json_is_string(v) && strcmp(json_string_value(v), "0") != 0 &&
                        json_string_length(v) > 0);
    if ((v = json_object_get(args, "next"))) {
        if (!json_is_null(v) && !json_is_integer(v) &&
            !(json_is_string(v) && json_string_length(v) > 0))
            rc = err_set_status(e, ERR_INVALID, 400, "Field next: expected an integer");
        else
            us.next = json_is_integer(v) ? json_integer_value(v)
                      : json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
    }
    if (rc == 0 && (v = json_object_get(args, "settings"))) {
        json_t *obj = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL)
                                        : json_incref(v);
        if (!json_is_object(obj) && !json_is_null(obj)) {
            rc = err_set_status(e, ERR_INVALID, 400, "Field settings: expected an object");
            json_decref(obj);
        } else {
            json_decref(us.settings);
            us.settings = json_is_object(obj) ? obj : NULL;
            if (!us.settings)
                json_decref(obj);
        }
    }
    if (rc == 0)
        rc = us_store(db, &us, e);
    usvc_free(&us);
    return rc;
}

static int usvc_set_status_impl(struct db *db, int64_t usi, const char *status, struct err *e)
{
    struct bctx b;
    struct usvc us;
    json_t *v = json_string(status ? status : "");
    int rc = model_check_value(model_field(&usvc_model, "status"), v, e);
    json_decref(v);
    if (rc || !status || !*status)
        return rc ? rc : err_set_status(e, ERR_INVALID, 400, "Field status: required");
    bctx_init(&b, db, e);
    if ((rc = usvc_load(db, usi, &us, e)))
        return rc;
    rc = set_status_changed(&b, &us, status, NULL, 0);
    usvc_free(&us);
    return rc;
}

static int usvc_make_commands_impl(struct db *db, int64_t usi, const char *event, int *queued,
                                   struct err *e)
{
    struct bctx b;
    struct usvc us;
    json_t *cmds = NULL;
    char ev[32];
    size_t i = 0;
    for (; event && event[i] && i + 1 < sizeof(ev); i++)
        ev[i] = (char)toupper((unsigned char)event[i]);
    ev[i] = 0;
    *queued = 0;
    if (!*ev)
        return err_set_status(e, ERR_INVALID, 400, "make_commands_by_event: event required");
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc == 0 && usvc_event_allowed(us.status, ev) &&
        (rc = commands_of(&b, &us, ev, &cmds)) == 0 && json_array_size(cmds) > 0) {
        rc = run_commands(&b, &us, ev, cmds, usvc_event_target(ev) != NULL, 0);
        *queued = rc ? 0 : (int)json_array_size(cmds);
    }
    json_decref(cmds);
    usvc_free(&us); /* usvc_load zeroes it first */
    return rc;
}

static int usvc_withdraw_edit_impl(struct db *db, int64_t user_id, int64_t wd_id,
                                   const struct wd_edit *ed, struct err *e)
{
    struct bctx b;
    struct wd w;
    struct usvc us;
    int64_t expire = 0;
    bctx_init(&b, db, e);
    int rc = withdraw_get(db, wd_id, &w, e);
    if (rc == 0 && w.user_id != user_id)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, "Object not found. Check the ID.");
    if (rc || (rc = usvc_load(db, w.user_service_id, &us, e)))
        return rc;
    rc = charge_withdraw_edit(db, b.st, &w, us.withdraw_id, us.status, us.expire, ed, b.now,
                              &expire, e);
    if (rc == 0 && expire) {
        us.expire = expire;
        rc = us_store(db, &us, e);
    }
    usvc_free(&us);
    return rc ? rc : process_recursive(&b, w.user_service_id, USVC_PROLONGATE, 0);
}

/* ---- add_period_by_money (§15.1), recalc (§15.2) ---- */

/* The PROLONGATE commands of an ACTIVE us, as SHM's make_commands_by_event queues them. */
static int prolongate_commands(struct bctx *b, struct usvc *us)
{
    bool queued = false;
    int rc = queue_event(b, us, USVC_PROLONGATE, NULL, &queued);
    if (rc || !queued)
        return rc;
    snprintf(us->status_before, sizeof(us->status_before), "%s", us->status);
    return us_store(b->db, us, b->e);
}

/* The period amount buys of w's discounted price (§15.1 steps 2–3) into *extra. */
static int period_by_money(struct bctx *b, const struct wd *w, int64_t service_id, int64_t amount,
                           int64_t *extra)
{
    struct bill_service s;
    double cost = money_to_double(w->cost);
    int64_t price = money_from_double(cost - cost * (double)w->discount / 100);
    int rc = bcache_service(b->cache, b->db, service_id, &s, b->e);
    if (rc)
        return rc;
    rc = calc_period_for_amount(b->st, amount, price, s.period, b->now, extra);
    bill_service_free(&s);
    if (rc == ERR_LIMIT)
        return err_set_status(b->e, ERR_LIMIT, 400, "Field money: buys more than %d months",
                              PERIOD_MAX_MONTHS);
    return rc ? err_set(b->e, rc, "Can't compute the period for the amount") : 0;
}

static int add_period_by_money(struct bctx *b, struct usvc *us, int64_t amount, bool *added)
{
    struct wd w;
    int64_t extra = 0, end = 0;
    if (!eq(us->status, "ACTIVE") || !us->withdraw_id || amount <= 0)
        return 0;
    int rc = withdraw_get(b->db, us->withdraw_id, &w, b->e);
    if (rc || !w.withdraw_date)
        return rc == ERR_NOT_FOUND ? 0 : rc;
    if ((rc = period_by_money(b, &w, us->service_id, amount, &extra)) || extra == 0)
        return rc;
    int64_t parts[] = { w.months, extra };
    w.months = period_sum(parts, ARRAY_SIZE(parts));
    if ((rc = calc_end_date(b->st, w.withdraw_date, w.months, &end)))
        return err_set(b->e, rc, "Can't compute the end date");
    w.end_date = end;
    w.total += amount;
    us->expire = end;
    if ((rc = withdraw_update(b->db, &w, b->e)) || (rc = us_store(b->db, us, b->e)))
        return rc;
    rc = ledger_adjust(b->db, us->user_id, -amount, 0, "withdraw", "withdraw_history",
                       w.withdraw_id, "add_period_by_money", b->e);
    *added = rc == 0;
    return rc ? rc : prolongate_commands(b, us);
}

static int usvc_add_period_by_money_impl(struct db *db, int64_t usi, int64_t amount, bool *added,
                                         struct err *e)
{
    struct bctx b;
    struct usvc us;
    bool done = false;
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc == 0)
        rc = add_period_by_money(&b, &us, amount, &done);
    usvc_free(&us);
    if (added)
        *added = rc == 0 && done;
    return rc;
}

/* calc_withdraw of w again from service s (its cost and period, bonus 0), w stays unpaid. */
static int recalc_wd(struct bctx *b, const struct usvc *us, const struct bill_service *s,
                     struct wd *w)
{
    struct wd nw;
    struct wd_input in = { .qnt = 1 };
    int rc = new_wd(b, us, s, &in, &nw);
    if (rc)
        return rc;
    nw.withdraw_id = w->withdraw_id;
    nw.create_date = w->create_date;
    nw.service_id = w->service_id;
    *w = nw;
    return withdraw_update(b->db, w, b->e);
}

static int usvc_recalc_impl(struct db *db, int64_t usi, bool *recalculated, struct err *e)
{
    struct bctx b;
    struct usvc us;
    struct bill_service s;
    struct wd w;
    bctx_init(&b, db, e);
    int rc = usvc_load(db, usi, &us, e);
    if (rc)
        return rc;
    bool todo = !eq(us.status, "REMOVED") && us.withdraw_id &&
                (rc = withdraw_get(db, us.withdraw_id, &w, e)) == 0 && !w.withdraw_date;
    if (rc == ERR_NOT_FOUND)
        rc = 0;
    if (rc == 0 && todo && (rc = bill_service_load(db, us.service_id, &s, e)) == 0) {
        rc = recalc_wd(&b, &us, &s, &w);
        bill_service_free(&s);
    }
    usvc_free(&us);
    if (recalculated)
        *recalculated = rc == 0 && todo;
    return rc || !todo ? rc : process_recursive(&b, usi, USVC_PROLONGATE, 0);
}

/* ---- names ---- */

static json_t *lookup_ci(const json_t *obj, const char *key, size_t len)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (strlen(k) == len && strncasecmp(k, key, len) == 0)
            return v;
    }
    return NULL;
}

static bool put_value(struct buf *out, const json_t *v)
{
    if (json_is_string(v))
        return buf_puts(out, json_string_value(v)) == 0;
    if (json_is_integer(v))
        return buf_printf(out, "%lld", (long long)json_integer_value(v)) == 0;
    if (json_is_real(v))
        return buf_printf(out, "%.15g", json_real_value(v)) == 0;
    return false;
}

char *usvc_name(const char *name, const json_t *settings)
{
    struct buf out;
    buf_init(&out, 0);
    const char *p = name ? name : "";
    while (*p) {
        const char *end = strncmp(p, "${", 2) == 0 ? strchr(p + 2, '}') : NULL;
        json_t *v = end && json_is_object(settings) ? lookup_ci(settings, p + 2,
                                                                (size_t)(end - p - 2))
                                                    : NULL;
        if (v && put_value(&out, v)) {
            p = end + 1;
            continue;
        }
        buf_putc(&out, *p++);
    }
    return buf_detach(&out, NULL);
}

int usvc_touch(struct db *db, int64_t usi, const char *event, struct err *e)
{
    return finish_call(usvc_touch_impl(db, NULL, usi, event, e), e);
}

int usvc_touch_cached(struct db *db, struct bcache *c, int64_t usi, const char *event,
                      struct err *e)
{
    return finish_call(usvc_touch_impl(db, c, usi, event, e), e);
}

static int usvc_touch_if_due_impl(struct db *db, struct bcache *c, int64_t usi, int64_t now,
                                  bool *due, struct err *e)
{
    struct bctx b;
    struct usvc us;
    struct db_value p[] = { DB_INT(usi), DB_INT(now) };
    int rc = us_read(db,
                     "SELECT " US_COLS " FROM user_services WHERE user_service_id = $1"
                     " AND status = 'ACTIVE' AND auto_bill = 1 AND expire IS NOT NULL"
                     " AND expire <= $2",
                     p, 2, &us, due, e);
    if (rc || !*due)
        return rc;
    bctx_init_cached(&b, db, c, e);
    return process_loaded(&b, &us, USVC_PROLONGATE, 0);
}

int usvc_touch_if_due(struct db *db, struct bcache *c, int64_t usi, int64_t now, bool *due,
                      struct err *e)
{
    return finish_call(usvc_touch_if_due_impl(db, c, usi, now, due, e), e);
}

int usvc_create(struct db *db, int64_t user_id, const struct usvc_order *o, int64_t *usi,
                struct err *e)
{
    return finish_call(usvc_create_impl(db, user_id, o, usi, e), e);
}

int usvc_task_done(struct db *db, int64_t usi, const char *event, struct err *e)
{
    return finish_call(usvc_task_done_impl(db, usi, event, e), e);
}

int usvc_delete(struct db *db, int64_t usi, bool force, struct err *e)
{
    return finish_call(usvc_delete_impl(db, usi, force, e), e);
}

int usvc_block_force(struct db *db, int64_t usi, int auto_bill, struct err *e)
{
    return finish_call(usvc_block_force_impl(db, usi, auto_bill, e), e);
}

int usvc_activate_force(struct db *db, int64_t usi, struct err *e)
{
    return finish_call(usvc_activate_force_impl(db, usi, e), e);
}

int usvc_change(struct db *db, int64_t usi, int64_t service_id, bool finish_active,
                bool allow_partial, struct err *e)
{
    return finish_call(usvc_change_impl(db, usi, service_id, finish_active, allow_partial, e), e);
}

int usvc_finish(struct db *db, int64_t usi, bool money_back, struct err *e)
{
    return finish_call(usvc_finish_impl(db, usi, money_back, e), e);
}

int usvc_set_status_manual(struct db *db, int64_t usi, const char *status, struct err *e)
{
    return finish_call(usvc_set_status_manual_impl(db, usi, status, e), e);
}

int usvc_update_admin(struct db *db, int64_t usi, const json_t *args, struct err *e)
{
    return finish_call(usvc_update_admin_impl(db, usi, args, e), e);
}

int usvc_withdraw_edit(struct db *db, int64_t user_id, int64_t wd_id, const struct wd_edit *ed,
                       struct err *e)
{
    return finish_call(usvc_withdraw_edit_impl(db, user_id, wd_id, ed, e), e);
}

int usvc_add_period_by_money(struct db *db, int64_t usi, int64_t amount, bool *added,
                             struct err *e)
{
    return finish_call(usvc_add_period_by_money_impl(db, usi, amount, added, e), e);
}

int usvc_recalc(struct db *db, int64_t usi, bool *recalculated, struct err *e)
{
    return finish_call(usvc_recalc_impl(db, usi, recalculated, e), e);
}

int usvc_set_status(struct db *db, int64_t usi, const char *status, struct err *e)
{
    return finish_call(usvc_set_status_impl(db, usi, status, e), e);
}

int usvc_make_commands(struct db *db, int64_t usi, const char *event, int *queued,
                       struct err *e)
{
    return finish_call(usvc_make_commands_impl(db, usi, event, queued, e), e);
}
