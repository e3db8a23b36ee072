/*
 * usvc.h — user services (table user_services, data-model.md §3.3) and the
 * billing engine that drives them: creating a us with its withdraw and
 * children (billing.md §9), the state machine of statuses and events
 * (§10), processing a service tree (§11: touch, children before parents),
 * prolongation and partial periods (§12), the switch to the next service
 * and deleting (§13), and the manual admin operations (§10.6).
 *
 * An event with commands bound in `events` (event_find) puts the us into
 * PROGRESS and queues one spool task per command (spool.md §3/§4); an event
 * without commands applies its target status at once. The spool reports a
 * finished task with usvc_task_done() (§10.5).
 *
 * Every function runs inside the caller's write transaction and takes "now"
 * from time_now().
 */
#ifndef BILLD_USVC_H
#define BILLD_USVC_H

#include "../db/model.h"

#include <jansson.h>

/* Columns of user_services as the API renders them. */
extern const struct model usvc_model;

/* Event names (billing.md §10.2). */
#define USVC_CREATE "CREATE"
#define USVC_NOT_ENOUGH_MONEY "NOT_ENOUGH_MONEY"
#define USVC_PROLONGATE "PROLONGATE"
#define USVC_BLOCK "BLOCK"
#define USVC_ACTIVATE "ACTIVATE"
#define USVC_REMOVE "REMOVE"
#define USVC_CHANGED "CHANGED"
#define USVC_CHANGED_TARIFF "CHANGED_TARIFF"
#define USVC_BLOCK_FORCE "BLOCK FORCE"
#define USVC_ACTIVATE_FORCE "ACTIVATE FORCE"

/* One user_services row. 0 stands for NULL in withdraw_id, expire, parent. */
struct usvc {
    int64_t user_service_id, user_id, service_id, withdraw_id;
    int64_t created, expire, next, parent;
    bool auto_bill;
    char status[16], status_before[16];
    json_t *settings; /* owned object or NULL */
};

int usvc_load(struct db *db, int64_t usi, struct usvc *out, struct err *e);
void usvc_free(struct usvc *us);

/* The target status of an event (§10.2), or NULL (CHANGED, CHANGED_TARIFF, unknown). */
const char *usvc_event_target(const char *event);
/* True when commands for event may be queued in status (§10.2, checked in the table's order). */
bool usvc_event_allowed(const char *status, const char *event);

/* What to create (billing.md §9). */
struct usvc_order {
    int64_t service_id;
    bool has_cost, has_months;
    int64_t cost, months;
    const json_t *settings; /* borrowed, may be NULL */
    int64_t parent;         /* 0 = top level */
    int auto_bill;          /* -1 = default (1) */
    const char *status;     /* NULL = INIT */
    int64_t end_date;       /* 0 = none */
};

/*
 * create_service_recursive + auto_bill processing (§9 steps 3–5) for user_id.
 * No orderability or de-duplication check. *usi receives the new id.
 */
int usvc_create(struct db *db, int64_t user_id, const struct usvc_order *o, int64_t *usi,
                struct err *e);

/* touch (§11.1): process_service_recursive(usi, event); event NULL = PROLONGATE. */
int usvc_touch(struct db *db, int64_t usi, const char *event, struct err *e);
/*
 * The same, reading services, the strategy and the events bindings through
 * cache c (bcache.h; NULL = no cache). The renewal pass keeps one per batch.
 */
struct bcache;
int usvc_touch_cached(struct db *db, struct bcache *c, int64_t usi, const char *event,
                      struct err *e);
/*
 * The renewal pass's touch: when usi is due at now (ACTIVE, auto_bill = 1,
 * expire <= now) *due is set and it is touched with PROLONGATE as
 * usvc_touch_cached does, from the row that answered the check (one read, not
 * two); otherwise *due is false and nothing happens.
 */
int usvc_touch_if_due(struct db *db, struct bcache *c, int64_t usi, int64_t now, bool *due,
                      struct err *e);

/* delete (§13.3): 400 "Can't delete service with status: X" unless BLOCK/NOT PAID (ACTIVE with force). */
int usvc_delete(struct db *db, int64_t usi, bool force, struct err *e);
/* block_force (§10.6): an ACTIVE us is touched with BLOCK FORCE; auto_bill >= 0 is stored first. */
int usvc_block_force(struct db *db, int64_t usi, int auto_bill, struct err *e);
/* activate_force (§10.6): 400 "Not enough money" when an expired us cannot be renewed. */
int usvc_activate_force(struct db *db, int64_t usi, struct err *e);
/* set_status_manual (§10.6): only ACTIVE or BLOCK (else 400); no events, no billing. */
int usvc_set_status_manual(struct db *db, int64_t usi, const char *status, struct err *e);
/*
 * us.status(STATUS) in a template (templates.md §7.2): sets the status as
 * §10.4 does (nothing when it equals the current one or the us is REMOVED;
 * the parent is notified) and, when it really changed and the old status
 * was not ERROR, queues the CHANGED commands of the category with settings
 * {status: {before, after}} (§10.3 step 3). ERR_INVALID (400) for a status
 * not in §10.1.
 */
int usvc_set_status(struct db *db, int64_t usi, const char *status, struct err *e);
/*
 * make_commands_by_event(event) (templates.md §7.2; SHM's
 * make_commands_by_event): when event (upper-cased) is allowed in the
 * current status (§10.2) and has commands for the category, the us goes to
 * PROGRESS (PROLONGATE only records status_before; CHANGED and other events
 * without a target status keep it) and one spool task per command is
 * queued. *queued receives the number of tasks (0: not allowed or no
 * commands, nothing changed). ERR_INVALID for an empty event.
 */
int usvc_make_commands(struct db *db, int64_t usi, const char *event, int *queued,
                       struct err *e);
/* The spool finished a task of event for usi successfully (§10.5): the target status is set. */
int usvc_task_done(struct db *db, int64_t usi, const char *event, struct err *e);
/*
 * Tariff change (§13.2): us.next = service_id; NOT PAID/BLOCK switch at once,
 * ACTIVE with finish_active finishes (expire = now, money back); then touch.
 */
int usvc_change(struct db *db, int64_t usi, int64_t service_id, bool finish_active,
                bool allow_partial, struct err *e);
/* finish (§13.4): an ACTIVE, unexpired us gets expire = now and (if money_back) a refund. */
int usvc_finish(struct db *db, int64_t usi, bool money_back, struct err *e);

/*
 * Admin withdraw edit (POST /admin/user/service/withdraw, billing.md §15.3)
 * of withdraw wd_id of user_id, then touch of its us. Returns ERR_NOT_FOUND
 * (404) for a withdraw of another user.
 */
struct wd_edit;
int usvc_withdraw_edit(struct db *db, int64_t user_id, int64_t wd_id, const struct wd_edit *ed,
                       struct err *e);

/*
 * add_period_by_money (billing.md §15.1): an ACTIVE us whose current
 * withdraw is paid buys the period that amount (> 0) pays at the
 * withdraw's discounted price: the withdraw's months and total grow, its
 * end_date and the us expire move to the end date of the longer period
 * from the withdraw date, the balance is charged through the ledger (kind
 * "withdraw", no funds check, as SHM) and the PROLONGATE commands are
 * queued. *added (may be NULL) tells whether anything happened: nothing
 * does for another status, no or an unpaid withdraw, amount <= 0 or an
 * amount that buys no time. ERR_LIMIT (400) for an amount buying more than
 * PERIOD_MAX_MONTHS months.
 */
int usvc_add_period_by_money(struct db *db, int64_t usi, int64_t amount, bool *added,
                             struct err *e);

/*
 * recalc (billing.md §15.2): for a non-REMOVED us whose current withdraw is
 * unpaid, recomputes that withdraw with calc_withdraw from the us's current
 * service (its cost and period, today's discounts; bonus 0) and touches the
 * us. *recalculated (may be NULL) tells whether a withdraw was recomputed.
 */
int usvc_recalc(struct db *db, int64_t usi, bool *recalculated, struct err *e);

/*
 * Admin edit (POST /admin/user/service): sets auto_bill, next and settings
 * (replaced as a whole) where present in args; other keys are ignored.
 */
int usvc_update_admin(struct db *db, int64_t usi, const json_t *args, struct err *e);

/*
 * The service name with ${VAR} placeholders replaced from settings (keys
 * matched case-insensitively; unknown ones are left as they are). Owned.
 */
char *usvc_name(const char *name, const json_t *settings);

#endif
