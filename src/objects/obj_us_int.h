/*
 * obj_us_int.h — what the two files of the `us` object share
 * (templates.md §7.2): obj_us.c owns the kind, its row and the reading
 * members; obj_us_write.c the members that change the user service or
 * order new ones. Every member follows obj_method_fn (objects_int.h).
 */
#ifndef BILLD_OBJ_US_INT_H
#define BILLD_OBJ_US_INT_H

#include "objects_int.h"

/* The us row of o (id added, settings an object) when visible (D11), else NULL. Owned. */
json_t *obj_us_load(struct render_ctx *r, const struct obj *o);
/* The integer column col of the row of o (0 when absent, NULL or not visible). */
int64_t obj_us_int(struct render_ctx *r, const struct obj *o, const char *col);
/* Locks the us row for the rest of the transaction (PostgreSQL; SQLite serialises writers). */
int obj_us_lock(struct render_ctx *r, int64_t usi, struct err *e);

#define OBJ_US_METHOD(fname)                                                                  \
    int fname(struct obj *o, struct render_ctx *r, const struct tpl_args *a,                  \
              struct tpl_value *out, struct err *e)

/* obj_us_write.c: billing operations (billing.md §10.6, §11, §13, §15). */
OBJ_US_METHOD(obj_us_touch);
OBJ_US_METHOD(obj_us_block);
OBJ_US_METHOD(obj_us_activate);
OBJ_US_METHOD(obj_us_delete);
OBJ_US_METHOD(obj_us_finish);
OBJ_US_METHOD(obj_us_change);
OBJ_US_METHOD(obj_us_add_period_by_money);
OBJ_US_METHOD(obj_us_recalc);
/* obj_us_write.c: status, columns, settings, events, ordering, locking. */
OBJ_US_METHOD(obj_us_status);
OBJ_US_METHOD(obj_us_set);
OBJ_US_METHOD(obj_us_settings);
OBJ_US_METHOD(obj_us_settings_save);
OBJ_US_METHOD(obj_us_make_commands_by_event);
OBJ_US_METHOD(obj_us_create);
OBJ_US_METHOD(obj_us_lock_m);

/*
 * Orders service_id for user_id as the render may (billing.md §9, the path
 * of PUT /service/order): args are the key/value arguments of us.create /
 * service.create_for_api / service.reg. *usi receives the new or existing
 * user service. Runs in its own transaction when none is open.
 */
int obj_us_order(struct render_ctx *r, int64_t user_id, const struct tpl_args *a, int64_t *usi,
                 struct err *e);

#endif
