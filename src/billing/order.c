/*
 * order.c — the checks of ordering a service (billing.md §9 steps 1–2,
 * order.h): existence and orderability of the service, and the
 * de-duplication lookup of an existing user service.
 */
#include "order.h"

#include "pricelist.h"
#include "withdraw.h"
#include "../db/sqlb.h"

int order_check(struct db *db, int64_t user_id, int64_t service_id, bool check_orderable,
                struct err *e)
{
    struct bill_service s;
    bool ok = true;
    int rc = service_id > 0 ? bill_service_load(db, service_id, &s, e) : ERR_NOT_FOUND;
    if (rc == 0) {
        bool deleted = s.deleted;
        bill_service_free(&s);
        rc = deleted ? ERR_NOT_FOUND : 0;
    }
    if (rc == ERR_NOT_FOUND)
        return err_set_status(e, ERR_NOT_FOUND, 404, "Service not found");
    if (rc == 0 && check_orderable &&
        (rc = pricelist_orderable(db, user_id, service_id, &ok, e)) == 0 && !ok)
        rc = err_set_status(e, ERR_DENIED, 403, "The service is prohibited for registration");
    return rc;
}

int order_find_existing(struct db *db, int64_t user_id, int64_t service_id,
                        const struct order_dedup *d, int64_t *usi, struct err *e)
{
    struct sqlb q;
    bool cat = d->category && *d->category;
    *usi = 0;
    if (!d->exists && !d->unpaid && !cat)
        return 0;
    sqlb_init(&q);
    sqlb_add(&q, "SELECT u.user_service_id FROM user_services u JOIN services s "
                 "ON s.service_id = u.service_id WHERE u.user_id = ");
    sqlb_int(&q, user_id);
    sqlb_add(&q, " AND u.status <> 'REMOVED'");
    if (cat) {
        sqlb_add(&q, " AND s.category %s ", db_sql_ilike(db));
        sqlb_text(&q, d->category);
    } else {
        sqlb_add(&q, " AND u.parent IS NULL AND u.service_id = ");
        sqlb_int(&q, service_id);
        if (d->unpaid)
            sqlb_add(&q, " AND u.status = 'NOT PAID'");
    }
    sqlb_add(&q, " ORDER BY u.user_service_id LIMIT 1");
    int rc = db_query_int(db, q.sql.data, q.params, q.n, usi, e);
    sqlb_free(&q);
    if (rc == ERR_NOT_FOUND) {
        err_clear(e);
        rc = 0;
    }
    return rc;
}
