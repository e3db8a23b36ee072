/*
 * shm_import.h — moves an SHM installation into billd: reads SHM's MySQL
 * dump (mysql_dump.h) and loads every SHM table billd has (issue 7,
 * docs/migrating-from-shm.md).
 *
 * What happens, all in ONE write transaction (nothing lands unless all of
 * it does):
 *   1. A database that already holds data is refused unless force (see
 *      shm_import_database_is_empty() for what "data" means).
 *   2. The SHM tables are emptied, billd's own seeds included (server groups
 *      1-4, service 1, event 1, spool jobs 1-3, the two templates, the first
 *      admin), so the result looks like the SHM database; config keys the
 *      dump does not have keep their billd values.
 *   3. Rows are converted to billd's representation (data-model.md, D2, D5):
 *      ids kept (`default` ids numbered as MySQL's AUTO_INCREMENT would),
 *      money decimals to minor units exactly (more than two decimals is an
 *      error unless zeros), periods/months to the 10^4-scaled integer, local
 *      datetimes read in the process TZ (the dump's zone) to Unix seconds,
 *      NOW() to the import's start time, JSON validated: a broken value is
 *      quarantined (table import_quarantine, with table, row key and column)
 *      and the row gets NULL there (a row that needs the value, config.value
 *      or spool.event, is left out). Passwords stay SHM hashes (verified and
 *      upgraded at login, D17); a password SHM stored in plain text (quirk
 *      Q3) is hashed with argon2id. Identities' private keys are sealed with
 *      the configured key (identity.h). INSERT IGNORE / REPLACE keep MySQL's
 *      meaning for duplicate keys; a CREATE TABLE in the dump gives the
 *      column order of positional rows, columns billd lacks are warned about.
 *   4. Each user's balance and bonus become one ledger row of kind "opening"
 *      (D7), so `billd check` passes right after the import.
 *   5. user_services.parent is set once all rows are in (a dump may name a
 *      parent before it), sequences are moved past the imported ids, and the
 *      ledger is verified before COMMIT.
 * SHM sessions are not carried over (their ids are plain text in the dump;
 * users log in again), nor are SHM's legacy tables (acts, acts_data, apps,
 * domains, domains_services, dns_services, invoices, zones): both are
 * counted in the summary. Tables the importer does not know are listed.
 *
 * Errors are returned with a message naming the file, line, table, row key
 * and column; nothing is printed.
 */
#ifndef BILLD_SHM_IMPORT_H
#define BILLD_SHM_IMPORT_H

#include "../db/db.h"
#include "../util/buf.h"
#include "../util/config.h"

struct shm_import;

struct shm_import_options {
    const struct config *cfg; /* borrowed: the identity sealing key */
    bool force;               /* replace a database that already holds data */
    /*
     * Optional: told the rows imported so far into a table (every 1000 rows
     * and when a table is done); used for a progress line on a terminal.
     */
    void (*progress)(void *ctx, const char *table, int64_t rows);
    void *progress_ctx;
};

/*
 * Sets *empty to whether db holds nothing but what billd's migrations and
 * its first start create: no user but user 1, no service but service 1, no
 * event but event 1, no server group but 1-4, no spool task but 1-3 (and no
 * spool_history row of another task), no template but `forecast` and
 * `user_password_reset`, and no row at all in user_services,
 * withdraw_history, pays_history, pays_history_deleted, bonus_history,
 * ledger, storage, profiles, promo_codes, identities, servers, discounts and
 * import_quarantine. config, sessions, console logs and idempotency keys are
 * not looked at (a billd that ran its periodic jobs is still empty). When not
 * empty, why names the first table that holds data. Returns 0 or a database
 * error.
 */
int shm_import_database_is_empty(struct db *db, bool *empty, char *why, size_t whylen,
                                 struct err *e);

/*
 * Starts an import into db (migrated, not in a transaction): opens the write
 * transaction, refuses a non-empty database unless o->force, empties the
 * SHM tables. *out is owned: free with shm_import_free(). Returns 0,
 * ERR_CONFLICT (not empty) or a database error.
 */
int shm_import_begin(struct db *db, const struct shm_import_options *o, struct shm_import **out,
                     struct err *e);
/*
 * Imports one dump read from in; source names it in messages ("-" for
 * standard input). Several dumps may be fed in order (e.g. SHM's structure
 * file, then its data file). Returns 0 or an error; after an error the
 * import can only be freed (which rolls back).
 */
int shm_import_feed(struct shm_import *im, FILE *in, const char *source, struct err *e);
/*
 * Finishes: checks that the input was an SHM dump, sets parents, restores
 * config keys the dump lacked, moves sequences, verifies the ledger and
 * commits. Returns 0 or an error (then nothing was committed).
 */
int shm_import_finish(struct shm_import *im, struct err *e);
/* Appends the human-readable summary (per-table counts, what was not carried over, quarantine, opening balances, warnings) to out. */
void shm_import_summary(const struct shm_import *im, struct buf *out);
/* Rolls back an unfinished import and frees im (NULL is allowed). */
void shm_import_free(struct shm_import *im);

#endif
