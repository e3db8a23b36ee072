/*
 * api_storage.c — storage routes (api.md R65–R73, R156–R162; other.md §1):
 * users manage and download their own named blobs, admins those of any user.
 *
 * Every query is scoped to the current user (c->user_id): the caller for
 * users, the `user_id` argument for admins (the dispatcher has switched it,
 * api.md §5.3). Names are per-user namespaces, so a user can never reach
 * another user's entry; a ?user_service_id= link must name a user service
 * of the entry's owner (DECISIONS D11, else 404).
 *
 * Raw routes read the request body as bytes (RF_RAW_BODY, up to 16 MiB) and
 * answer reads with the stored bytes themselves (API_OUT_CUSTOM).
 */
#include "api.h"
#include "../core/storage.h"
#include "../core/user.h"
#include "../db/sqlb.h"
#include "../util/timeutil.h"

#define CT_PLAIN "text/plain; charset=utf-8"
#define CT_JSON "application/json; charset=utf-8"
#define CT_BYTES "application/octet-stream"
#define NOT_FOUND_MSG "Object not found. Check the ID."

/* How a read route answers. */
struct storage_view {
    bool typed;       /* JSON items application/json, others octet-stream (else text/plain) */
    bool attachment;  /* Content-Disposition: attachment; filename="<name>" */
    bool missing_404; /* a missing entry is a 404 (else SHM's empty 200) */
};

static const struct storage_view view_manage = { false, false, false };
static const struct storage_view view_download = { true, true, true };
static const struct storage_view view_admin = { true, false, true };

/*
 * Checks an admin's `user_id` (users never keep it, api.md §5.3): it must be
 * a positive integer, since the dispatcher silently ignores anything else.
 * *given tells whether one was passed.
 */
static int user_arg(struct api_ctx *c, bool *given)
{
    int64_t id = 0;
    int rc = args_i64(c->args, "user_id", &id);
    *given = rc == 0;
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc || id <= 0)
        return api_fail(c, 400, "Field user_id: expected a positive integer");
    return 0;
}

/* The checked `user_id` and entry name (the splat or the `name` argument) of the request. */
static int target(struct api_ctx *c, const char **name)
{
    bool given;
    json_t *v = json_object_get(c->args, "name");
    int rc = user_arg(c, &given);
    if (rc)
        return rc;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return api_fail(c, 400, "Field required: name");
    if (!json_is_string(v))
        return api_fail(c, 400, "Field name: expected a string");
    if (strlen(json_string_value(v)) != json_string_length(v)) /* a NUL inside */
        return api_fail(c, 400, "%s", STORAGE_NAME_CHARS_MSG);
    if (storage_check_name(json_string_value(v), &c->err))
        return c->err.code;
    *name = json_string_value(v);
    return 0;
}

/* An admin writing for another user: that user must exist. */
static int require_owner(struct api_ctx *c)
{
    struct user_auth a = { 0 };
    if (c->user_id == c->auth_user_id)
        return 0;
    int rc = user_find_by_id(c->db, c->user_id, &a, &c->err);
    user_auth_free(&a);
    if (rc == ERR_NOT_FOUND)
        return api_fail(c, 404, NOT_FOUND_MSG);
    return rc;
}

/*
 * The `user_service_id` link: absent → *given false; empty or null → no
 * link; else a user service of the entry's owner (D11: 404 otherwise).
 */
static int service_arg(struct api_ctx *c, struct storage_write *w)
{
    int64_t id = 0;
    json_t *v = json_object_get(c->args, "user_service_id");
    w->has_service = v != NULL;
    w->user_service_id = 0;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    if (args_i64(c->args, "user_service_id", &id) || id <= 0)
        return api_fail(c, 400, "Field user_service_id: expected a positive integer");
    int rc = storage_check_service(c->db, c->user_id, id, &c->err);
    if (rc == 0)
        w->user_service_id = id;
    return rc;
}

/* The `settings` argument: absent → keep, an object → replace, null → reset. */
static int settings_arg(struct api_ctx *c, struct storage_write *w)
{
    json_t *v = json_object_get(c->args, "settings");
    if (v && !json_is_object(v) && !json_is_null(v))
        return api_fail(c, 400, "Field settings: expected an object");
    w->settings = v;
    return 0;
}

/* The `data` argument: a string is stored as is, an object or array as JSON text. */
static int data_arg(struct api_ctx *c, struct storage_write *w, char **owned)
{
    json_t *v = json_object_get(c->args, "data");
    if (!v)
        return 0;
    if (json_is_string(v)) {
        w->data = json_string_value(v);
        w->len = json_string_length(v);
    } else if (json_is_object(v) || json_is_array(v)) {
        *owned = json_dumps(v, JSON_COMPACT);
        if (!*owned)
            return api_fail(c, 400, "Field data: not encodable as JSON");
        w->data = *owned;
        w->len = strlen(*owned);
        w->json = true;
    } else {
        return api_fail(c, 400, "Field data: expected a string, an object or an array");
    }
    w->has_data = true;
    return 0;
}

/* SHM's write result: {"length": N, "result": "successful"} (no length when data was kept). */
static void reply_written(struct api_ctx *c, const struct storage_write *w)
{
    json_t *o = json_pack("{s:s}", "result", "successful");
    if (w->has_data)
        json_object_set_new(o, "length", json_integer((json_int_t)w->len));
    api_set_data(c, o);
}

/* Creates or replaces (user_id, name) from the raw request body (R70, R71, R161). */
static int raw_write(struct api_ctx *c, bool create)
{
    struct storage_write w = { .user_id = c->user_id, .has_data = true };
    int rc = target(c, &w.name);
    if (rc == 0 && create)
        rc = require_owner(c);
    if (rc == 0)
        rc = service_arg(c, &w);
    if (rc)
        return rc;
    w.data = c->req->body.data;
    w.len = c->req->body.len;
    w.json = storage_is_json(http_header(c->req, "Content-Type"), w.data, w.len);
    rc = create ? storage_create(c->db, &w, time_now(), &c->err)
                : storage_replace(c->db, &w, &c->err);
    if (rc == 0)
        reply_written(c, &w);
    return rc;
}

static int api_storage_put(struct api_ctx *c)
{
    return raw_write(c, true);
}

static int api_storage_post(struct api_ctx *c)
{
    return raw_write(c, false);
}

/* Creates or replaces (user_id, name) from arguments: data, user_service_id, settings. */
static int fields_write(struct api_ctx *c, bool create)
{
    struct storage_write w = { .user_id = c->user_id };
    char *owned = NULL;
    if (!c->auth_admin) /* SHM filters every field out for users (other.md §1) */
        return api_fail(c, 403, "Permission denied");
    int rc = target(c, &w.name);
    if (rc == 0 && create)
        rc = require_owner(c);
    if (rc == 0)
        rc = service_arg(c, &w);
    if (rc == 0)
        rc = settings_arg(c, &w);
    if (rc == 0)
        rc = data_arg(c, &w, &owned);
    if (rc == 0)
        rc = create ? storage_create(c->db, &w, time_now(), &c->err)
                    : storage_replace(c->db, &w, &c->err);
    if (rc == 0)
        reply_written(c, &w);
    free(owned);
    return rc;
}

static int api_storage_create(struct api_ctx *c)
{
    return fields_write(c, true);
}

static int api_storage_update(struct api_ctx *c)
{
    return fields_write(c, false);
}

/* Answers with the entry's bytes as the route's view says (takes it->data). */
static void reply_bytes(struct api_ctx *c, const struct storage_view *v, const char *name,
                        struct storage_item *it)
{
    const char *ctype = !v->typed ? CT_PLAIN : it->json ? CT_JSON : CT_BYTES;
    c->out = API_OUT_CUSTOM;
    c->resp->status = 200;
    http_response_body(c->resp, it->data, it->len, ctype);
    it->data = NULL;
    http_response_header(c->resp, "X-Content-Type-Options", "nosniff");
    http_response_header(c->resp, "Cache-Control", "no-store");
    if (v->attachment) {
        char *cd = storage_disposition(name);
        http_response_header(c->resp, "Content-Disposition", cd);
        free(cd);
    }
}

/* Reads one entry (R69, R73, R160). */
static int api_storage_read(struct api_ctx *c)
{
    const struct storage_view *v = c->route->data;
    struct storage_item it = { 0 };
    const char *name = NULL;
    int rc = target(c, &name);
    if (rc == 0)
        rc = storage_read(c->db, c->user_id, name, &it, &c->err);
    if (rc == ERR_NOT_FOUND && !v->missing_404) {
        err_clear(&c->err); /* SHM: a missing entry reads as an empty body */
        it.data = xstrdup("");
        rc = 0;
    }
    if (rc)
        return rc;
    reply_bytes(c, v, name, &it);
    storage_item_release(&it);
    return 0;
}

/* Deletes one entry (R68, R72, R159, R162): data [null], as SHM. */
static int api_storage_delete(struct api_ctx *c)
{
    const char *name = NULL;
    int rc = target(c, &name);
    if (rc == 0)
        rc = storage_delete(c->db, c->user_id, name, &c->err);
    if (rc)
        return rc;
    api_set_data(c, json_null());
    return 0;
}

/* Lists entries without data, of the current user only when scoped. */
static int list_entries(struct api_ctx *c, bool scoped)
{
    struct sqlb where;
    sqlb_init(&where);
    if (scoped) {
        sqlb_add(&where, "user_id = ");
        sqlb_int(&where, c->user_id);
    }
    int rc = api_list(c, &storage_model, "storage", &where);
    sqlb_free(&where);
    return rc;
}

/* R65: the current user's entries (also for admins: no admin mode outside /admin/). */
static int api_storage_list(struct api_ctx *c)
{
    bool given;
    int rc = user_arg(c, &given);
    return rc ? rc : list_entries(c, true);
}

/* R156: every user's entries, or those of `user_id`. */
static int api_admin_storage_list(struct api_ctx *c)
{
    bool given;
    int rc = user_arg(c, &given);
    return rc ? rc : list_entries(c, given);
}

#define RAW (RF_RAW_BODY | RF_LARGE_BODY | RF_PLAIN)
#define R(m, p, a, req, h, fl, tag, sum, d)                                                   \
    { m, p, a, req, h, fl, "name", NULL, tag, sum, d }

static const struct route routes[] = {
    /* the caller's entries (api.md §11.4) */
    R("GET", "/storage/manage", AUTH_USER, NULL, api_storage_list, 0, "storage",
      "List the caller's storage entries (without data)", NULL),                       /* R65 */
    R("PUT", "/storage/manage", AUTH_USER, NULL, api_storage_create, RF_LARGE_BODY,
      "storage", "Create an entry from fields (admins; users get 403)", NULL),          /* R66 */
    R("POST", "/storage/manage", AUTH_USER, NULL, api_storage_update, RF_LARGE_BODY,
      "storage", "Replace fields of an entry (admins; users get 403)", NULL),           /* R67 */
    R("DELETE", "/storage/manage", AUTH_USER, "name", api_storage_delete, 0, "storage",
      "Delete the caller's entry `name`", NULL),                                        /* R68 */
    R("GET", "/storage/manage/*", AUTH_USER, NULL, api_storage_read, 0, "storage",
      "The entry's data as text/plain (missing: empty body)", &view_manage),            /* R69 */
    R("PUT", "/storage/manage/*", AUTH_USER, NULL, api_storage_put, RAW, "storage",
      "Create an entry from the raw body (up to 16 MiB); ?user_service_id= links it",
      NULL),                                                                            /* R70 */
    R("POST", "/storage/manage/*", AUTH_USER, NULL, api_storage_post, RAW, "storage",
      "Replace an entry's data with the raw body", NULL),                              /* R71 */
    R("DELETE", "/storage/manage/*", AUTH_USER, NULL, api_storage_delete, 0, "storage",
      "Delete the caller's entry", NULL),                                               /* R72 */
    R("GET", "/storage/download/*", AUTH_USER, NULL, api_storage_read, 0, "storage",
      "Download the entry as an attachment", &view_download),                          /* R73 */

    /* admin (api.md §11.10) */
    R("GET", "/admin/storage/manage", AUTH_ADMIN, NULL, api_admin_storage_list, 0, "admin",
      "List the entries of all users, or of `user_id`", NULL),                          /* R156 */
    R("PUT", "/admin/storage/manage", AUTH_ADMIN, "user_id,name", api_storage_create,
      RF_LARGE_BODY, "admin", "Create an entry from fields (data, user_service_id, settings)",
      NULL),                                                                            /* R157 */
    R("POST", "/admin/storage/manage", AUTH_ADMIN, "user_id,name", api_storage_update,
      RF_LARGE_BODY, "admin", "Replace fields of an entry (data, user_service_id, settings)",
      NULL),                                                                            /* R158 */
    R("DELETE", "/admin/storage/manage", AUTH_ADMIN, "user_id,name", api_storage_delete, 0,
      "admin", "Delete an entry", NULL),                                                /* R159 */
    R("GET", "/admin/storage/manage/*", AUTH_ADMIN, "user_id", api_storage_read, 0, "admin",
      "An entry's data (application/json or application/octet-stream)", &view_admin), /* R160 */
    R("POST", "/admin/storage/manage/*", AUTH_ADMIN, "user_id", api_storage_post, RAW, "admin",
      "Replace an entry's data with the raw body", NULL),                              /* R161 */
    R("DELETE", "/admin/storage/manage/*", AUTH_ADMIN, "user_id", api_storage_delete, 0,
      "admin", "Delete an entry", NULL),                                                /* R162 */
};

const struct route_table api_storage_routes = ROUTE_TABLE(routes);
