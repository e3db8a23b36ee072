/*
 * withdraw.h — the price of a withdraw (billing.md §6: calc_withdraw and the
 * period discounts of §6.3) and the rows of `withdraw_history`
 * (data-model.md §3.4): read, insert, update, delete.
 *
 * Also owns the view of a catalogue service that the billing engine reads
 * (struct bill_service): cost, period, flags, category, config and children.
 *
 * Money is int64 minor units, periods are scaled by PERIOD_SCALE, times are
 * Unix seconds; 0 stands for SQL NULL in the date fields of struct wd.
 */
#ifndef BILLD_WITHDRAW_H
#define BILLD_WITHDRAW_H

#include "calc.h"
#include "../db/model.h"

#include <jansson.h>

/* Columns of withdraw_history as the API renders them. */
extern const struct model withdraw_model;

/* The billing-relevant fields of one `services` row. */
struct bill_service {
    int64_t service_id;
    int64_t cost;
    int64_t period;
    int64_t next;
    bool pay_always, no_discount, pay_in_credit, is_composite, allow_to_order, deleted;
    char *name;       /* owned */
    char *category;   /* owned, may be NULL */
    json_t *config;   /* owned object (empty when NULL in the row) */
    json_t *children; /* owned array of {service_id, qnt} */
};

/* Reads service id (deleted ones too). ERR_NOT_FOUND (404) when absent. */
int bill_service_load(struct db *db, int64_t id, struct bill_service *out, struct err *e);
/* The billing view of row `row` of r, a result holding every column bill_service_load reads. */
void bill_service_from_row(const struct db_result *r, int row, struct bill_service *out);
void bill_service_free(struct bill_service *s);
/* True when services.config has key set to a true value (1, true, non-empty non-"0" string). */
bool bill_service_flag(const struct bill_service *s, const char *key);

/* The billing strategy configured in config billing.type (Simpler by default). */
enum calc_strategy withdraw_strategy(struct db *db);

/* One withdraw_history row. */
struct wd {
    int64_t withdraw_id;
    int64_t user_id, service_id, user_service_id;
    int64_t create_date;
    int64_t withdraw_date; /* 0 = not paid */
    int64_t end_date;      /* 0 = none */
    int64_t cost, discount, bonus, months, total;
    double qnt;
};

/* Overrides of calc_withdraw (billing.md §6.1); has_* tell which are given. */
struct wd_input {
    bool has_cost, has_months;
    int64_t cost, months;
    int64_t discount;      /* 0 = compute (§6.3) */
    double qnt;            /* < 1 means 1 */
    int64_t bonus;         /* bonus part subtracted from the total */
    int64_t withdraw_date; /* 0 = now */
};

/*
 * Discount in percent for buying `months` (scaled) of service s by user_id
 * (billing.md §6.3): personal discount + the discounts row with the largest
 * months <= bought months when the service period is below 2 months, capped
 * at 100; 0 with no_discount. Returns 0 or a DB error.
 */
int withdraw_discount(struct db *db, int64_t user_id, const struct bill_service *s,
                      int64_t months, int64_t *out, struct err *e);

/*
 * The percent of the discounts row with the largest whole months <= months
 * (scaled), 0 when there is none (§6.3). Returns 0 or a DB error.
 */
int withdraw_period_discount(struct db *db, int64_t months, int64_t *out, struct err *e);

/*
 * calc_withdraw (billing.md §6.2) for user_id and service s with the
 * overrides in in: fills out (withdraw_id 0, withdraw_date and end_date as
 * computed, create_date = now). Returns 0 or an error.
 */
int withdraw_calc(struct db *db, enum calc_strategy st, int64_t user_id,
                  const struct bill_service *s, const struct wd_input *in, int64_t now,
                  struct wd *out, struct err *e);
/* The same, reading the discounts table through cache c (bcache.h; may be NULL). */
struct bcache;
int withdraw_calc_cached(struct db *db, struct bcache *c, enum calc_strategy st, int64_t user_id,
                         const struct bill_service *s, const struct wd_input *in, int64_t now,
                         struct wd *out, struct err *e);

/* Reads withdraw id into out. ERR_NOT_FOUND when absent. */
int withdraw_get(struct db *db, int64_t id, struct wd *out, struct err *e);
/* Inserts w (its withdraw_id is ignored) and sets w->withdraw_id. */
int withdraw_insert(struct db *db, struct wd *w, struct err *e);
/* Writes every column of w to row w->withdraw_id. */
int withdraw_update(struct db *db, const struct wd *w, struct err *e);
/* Deletes row id. */
int withdraw_delete(struct db *db, int64_t id, struct err *e);
/*
 * The first withdraw of user service usi with an id above after_id that is
 * not paid yet (a queued renewal), into out. ERR_NOT_FOUND when none.
 */
int withdraw_next_queued(struct db *db, int64_t usi, int64_t after_id, struct wd *out,
                         struct err *e);
/* The row of withdraw id as JSON (admin view), or NULL. */
json_t *withdraw_to_json(struct db *db, int64_t id);

#endif
