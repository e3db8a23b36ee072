/*
 * obj_user_admin.h — the writing and admin members of the `user` object
 * (obj_user_admin.c), registered in obj_user.c's member table.
 */
#ifndef BILLD_OBJ_USER_ADMIN_H
#define BILLD_OBJ_USER_ADMIN_H

#include "objects_int.h"

#define USER_ADMIN_METHOD(fn)                                                                 \
    int fn(struct obj *o, struct render_ctx *r, const struct tpl_args *a,                    \
           struct tpl_value *out, struct err *e)

USER_ADMIN_METHOD(obj_user_set);
USER_ADMIN_METHOD(obj_user_lock);
USER_ADMIN_METHOD(obj_user_payment);
USER_ADMIN_METHOD(obj_user_set_credit);
USER_ADMIN_METHOD(obj_user_passwd);
USER_ADMIN_METHOD(obj_user_set_new_passwd);
USER_ADMIN_METHOD(obj_user_recash);
USER_ADMIN_METHOD(obj_user_delete);
USER_ADMIN_METHOD(obj_user_reg);
USER_ADMIN_METHOD(obj_user_items);
USER_ADMIN_METHOD(obj_user_list_for_api);
USER_ADMIN_METHOD(obj_user_referrals);
USER_ADMIN_METHOD(obj_user_profile);
USER_ADMIN_METHOD(obj_user_storage);
USER_ADMIN_METHOD(obj_user_spool_history);
USER_ADMIN_METHOD(obj_user_has_autopayment);
USER_ADMIN_METHOD(obj_user_list_autopayments);
USER_ADMIN_METHOD(obj_user_delete_autopayment);
USER_ADMIN_METHOD(obj_user_make_autopayment);

#endif
