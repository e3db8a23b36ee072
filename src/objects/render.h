/*
 * render.h — rendering a template with SHM's object model (templates.md §6,
 * §7): the one entry point for everything that renders a stored template or
 * a command string — the spool's transports, the template and public routes,
 * the admin render test and `billd template check`.
 *
 * The render acts as render_ctx.user_id (the current user): the objects it
 * binds (user, us, service, wd, pay, bonus, server, config, storage, misc,
 * http, spool, task, …) read and write with that user's rights; an admin
 * caller (admin = true) may reach other users as SHM allows admins to.
 *
 *     struct render_ctx r = { .db = db, .cfg = cfg, .user_id = uid, .usi = usi,
 *                             .task = task, .event_name = "CREATE" };
 *     struct buf out; buf_init(&out, 0);
 *     json_t *tsettings = NULL;
 *     rc = render_template(&r, "vpn_create", &out, &tsettings, &e);
 *     ...
 *     render_ctx_release(&r);   // frees r.answer
 *
 * Transactions are the caller's: objects that write (storage.save,
 * us.gen_store_pass, spool.add) write on r.db as they go, inside whatever
 * transaction the caller has open (or in autocommit when none is).
 */
#ifndef BILLD_OBJECTS_RENDER_H
#define BILLD_OBJECTS_RENDER_H

#include "../common.h"
#include "../spool/task.h"

#include <jansson.h>

struct buf;
struct db;
struct config;

struct render_ctx {
    struct db *db;
    const struct config *cfg;     /* may be NULL outside the daemon (tests, template check) */
    int64_t user_id;              /* the current user; 0 = anonymous (public templates, D12) */
    bool admin;                   /* the caller acts as an admin */
    int64_t usi;                  /* binds `us` to this user service (0 = none) */
    const struct spool_task *task; /* binds `task` (NULL = none) */
    const json_t *server;         /* binds `server` (NULL = the task's server, if any) */
    const char *event_name;       /* binds `event_name` (NULL = the task's name, if any) */
    const json_t *vars;           /* extra top-level variables (an object, borrowed) */
    bool auto_escape_shell;       /* D19: every interpolation through the shell filter */
    const char *client_ip;        /* the HTTP client of a template endpoint (borrowed; NULL =
                                     none): misc.ip_rate_limit counts per this IP */
    json_t *answer;               /* out: keys given to task.answer(...), owned; NULL = none */
    char *report_error;           /* out: the first report.add_error(msg), owned; NULL = none.
                                     The template endpoints answer 400 with it. */
    json_t *report_errors;        /* out: every report.add_error message (owned array, NULL =
                                     none); report.errors returns and clears them */
    int report_status;            /* out: report.status(N), 100..599 (0 = none): the status of
                                     a successful template endpoint answer */
    json_t *report_headers;       /* out: report.headers({…}) (owned object of strings, NULL =
                                     none): extra headers of a template endpoint answer */
};

/*
 * Renders the stored template template_id. *settings (may be NULL) receives
 * the template's settings object (owned, NULL when it has none). Returns 0,
 * ERR_NOT_FOUND ("Template <id> not found") or ERR_INVALID/ERR_LIMIT with the
 * engine's message (templates.md §1 errors).
 */
int render_template(struct render_ctx *r, const char *template_id, struct buf *out,
                    json_t **settings, struct err *e);

/* Renders src (a command string, a bot reply) named name in messages. Same returns. */
int render_text(struct render_ctx *r, const char *name, const char *src, size_t len,
                struct buf *out, struct err *e);

/* Frees what a render left in r (answer, report_*). */
void render_ctx_release(struct render_ctx *r);

#endif
