/*
 * event.h — the `events` table: bindings of an event name (and, for service
 * events, a service-category mask) to a server group and transport settings
 * (spool.md §3, data-model.md §3.8). The spool asks event_find() which rows
 * an event fires; the admin API (api_event.c) edits the rows.
 *
 * Matching (spool.md §3), identical on both engines because it runs in C:
 *   - `name` equals the event name, ASCII case-insensitively;
 *   - for a non-empty service category, `settings.category` must be a string
 *     that matches the category as an SQL LIKE mask anchored at both ends:
 *     `%` any run of characters (also none), `_` exactly one character (a
 *     UTF-8 code point), every other byte literal — there is no escape
 *     character. The comparison is case-sensitive: SHM compared the
 *     JSON-quoted values, and MySQL compares JSON text with utf8mb4_bin.
 *     A row without a string `settings.category` never matches;
 *   - for an empty or NULL category every row with that name matches.
 *   `kind` is informational and not used for matching.
 */
#ifndef BILLD_EVENT_H
#define BILLD_EVENT_H

#include "../db/model.h"

#include <jansson.h>

/* The transports settings.transport may force (transports.md). */
#define EVENT_TRANSPORTS "ssh|http|mail|local|telegram"
/* The kind of a row created without one (SHM's default). */
#define EVENT_DEFAULT_KIND "UserService"

/* Columns of `events`: id, kind, title, name, server_gid, settings. */
extern const struct model event_model;

/*
 * True when s matches the LIKE mask as described above (anchored, `%` and
 * `_` wildcards, case-sensitive, no escape character). Both are NUL-terminated
 * UTF-8; an empty mask matches only the empty string.
 */
bool event_like(const char *mask, const char *s);

/*
 * True when the event row (an object as event_model renders it) is bound to
 * the event `name` for a service of `category` (NULL or "" = no category).
 */
bool event_matches(const json_t *row, const char *name, const char *category);

/*
 * Reads the rows bound to `name` for a service of `category` (may be NULL)
 * into *out: a new JSON array of row objects in ascending id order, possibly
 * empty. Returns 0 or a database error.
 */
int event_find(struct db *db, const char *name, const char *category, json_t **out,
               struct err *e);

/*
 * The two halves of event_find, for callers that match many events against one
 * reading of the table (the renewal pass, billing/bcache.c): event_rows reads
 * every row in ascending id order into *out (a new array; 0 or a database
 * error); event_select returns a new array holding the rows of rows bound to
 * name for category, sharing them.
 */
int event_rows(struct db *db, json_t **out, struct err *e);
json_t *event_select(const json_t *rows, const char *name, const char *category);

/*
 * Checks and normalises the settings of a binding in place: a JSON object
 * whose `category`, `template_id`, `cmd` and `stdin` are strings when present
 * and whose `transport` is one of EVENT_TRANSPORTS; other keys are kept as
 * they are. Returns 0 or ERR_INVALID with "Field settings: ..." in e.
 */
int event_check_settings(const json_t *settings, struct err *e);

/*
 * Checks and normalises the column values of a create (create = true) or an
 * update before they are written: required text not emptied, an empty `kind`
 * becomes EVENT_DEFAULT_KIND, `server_gid` is 0, null or an existing server
 * group (default 0 on create), `settings` is null or an object (a string
 * holding a JSON object is decoded) that passes event_check_settings().
 * Returns 0, ERR_INVALID (message for a 400 in e) or a database error.
 */
int event_check_values(struct db *db, json_t *values, bool create, struct err *e);

#endif
