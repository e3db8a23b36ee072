/*
 * billing_fixture.h — the database fixture of the billing unit tests
 * (test_usvc.c, test_withdraw.c): one migrated SQLite file, plus a
 * throwaway PostgreSQL database when BILLD_TEST_PG_URL is set; every
 * database case runs inside a transaction that is rolled back afterwards,
 * in UTC with the test clock unfrozen. Also the small builders the billing
 * cases share (users with money through the ledger, services, the dev
 * seed's discounts) and the ledger invariant assertion.
 *
 * The helpers fail the running cmocka case (fail_msg) on any database
 * error, so a case reads as a list of steps.
 */
#ifndef BILLD_T_BILLING_FIXTURE_H
#define BILLD_T_BILLING_FIXTURE_H

#include "common.h"
#include "db/db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* One engine the database cases run on; the case state points at it. */
struct bf_backend {
    const char *name;
    char url[512];
    struct db *db;
};

/* The connection of the engine the running case was registered for. */
#define DB(state) (((struct bf_backend *)*(state))->db)

/* Fails the case when call returns non-zero; needs a `struct err e` in scope. */
#define OK(call)                                                                              \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != 0)                                                                         \
            fail_msg("%s:%d: %s = %d: %s", __FILE__, __LINE__, #call, rc_, e.msg);            \
    } while (0)

/* One test case of a group. */
struct bf_case {
    const char *name;
    void (*fn)(void **);
};

/*
 * Runs the pure cases once and the database cases on each configured
 * engine (SQLite always, PostgreSQL when BILLD_TEST_PG_URL is set) as one
 * cmocka group named group. prefix names the throwaway databases
 * (prefix_<pid>). Returns cmocka's result.
 */
int bf_run_all(const char *group, const char *prefix, const struct bf_case *pure, size_t npure,
               const struct bf_case *dbc, size_t ndb);

/* The integer result of a one-value query (fails the case on error). */
int64_t bf_q_int(struct db *db, const char *sql, const struct db_value *p, int n);
/* Runs a statement without parameters (fails the case on error). */
void bf_q_exec(struct db *db, const char *sql);

/* A new user (unique login) with balance and bonus credited through the ledger. */
int64_t bf_mkuser(struct db *db, int64_t balance, int64_t bonus);
/*
 * A new orderable service: cost (minor units), period (scaled), category,
 * flags, config and children JSON texts (NULL = SQL NULL). Returns its id.
 */
int64_t bf_mkservice(struct db *db, int64_t cost, int64_t period, const char *category,
                     int pay_always, int no_discount, int is_composite, const char *config,
                     const char *children);
/* The discounts rows of the dev seed (billing.md §6.3), once per database. */
void bf_seed_discounts(struct db *db);
/* An integer column of users (col is a literal column name of the test). */
int64_t bf_user_col(struct db *db, int64_t user_id, const char *col);
/* Asserts that the ledger sums equal the stored balance and bonus of user_id (D7). */
void bf_assert_ledger(struct db *db, int64_t user_id);
/* Unix time of a local "YYYY-MM-DD HH:MM:SS" in the current TZ (fails the case when bad). */
int64_t bf_at(const char *local);
/* Sets TZ and re-reads it. */
void bf_set_tz(const char *tz);

#endif
