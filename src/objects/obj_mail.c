/*
 * obj_mail.c — `mail` (templates.md §7.11, transports.md §3.6):
 * mail.setup(to = …, subject = …, from = …, …) returns a mail object with
 * those settings; .send(message) (or send(message = …)) queues a mail task
 * for the object's user (the current user; `user.mail` is bound to that
 * user, so an admin render can mail any user) on server group `server_gid` (a setup key), else
 * config mail.server_gid, else 2 (billd's mail group; SHM's dev seed uses 6,
 * quirk Q10). The mail transport then sends it (recipient defaults, from,
 * …, transports.md §3). Returns the task id.
 */
#include "objects_int.h"

#include "../core/config_store.h"
#include "../spool/spool.h"

#define MAIL_DEFAULT_GID 2

static int m_setup(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                   struct tpl_value *out, struct err *e)
{
    UNUSED(r);
    UNUSED(e);
    json_t *s = obj_key_json(o);
    json_t *add = obj_args_object(a);
    json_object_update(s, add);
    char *key = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
    *out = obj_new(o->kind, 0, o->user_id, key);
    free(key);
    json_decref(add);
    json_decref(s);
    return 0;
}

/* The server group: setup's server_gid, config mail.server_gid, or MAIL_DEFAULT_GID. */
static int64_t mail_gid(struct render_ctx *r, json_t *settings)
{
    json_t *g = json_object_get(settings, "server_gid");
    json_t *cfg = g ? NULL : config_store_lookup(r->db, "mail", "server_gid");
    const json_t *v = g ? g : cfg;
    int64_t gid = json_is_integer(v) ? json_integer_value(v)
                  : json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
    json_decref(cfg);
    json_object_del(settings, "server_gid");
    return gid > 0 ? gid : MAIL_DEFAULT_GID;
}

static int m_send(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    if (!o->user_id)
        return err_set(e, ERR_DENIED, "mail.send: no current user");
    json_t *settings = obj_key_json(o);
    json_t *add = a->npos == 1 ? NULL : obj_args_object(a);
    if (add)
        json_object_update(settings, add);
    else {
        json_t *msg = obj_arg_json(tpl_args_at(a, 0));
        json_object_set_new(settings, "message", msg ? msg : json_string(""));
    }
    int64_t gid = mail_gid(r, settings);
    json_t *event = json_pack("{s:s,s:s,s:s,s:I,s:{s:s}}", "kind", "Transport::Mail", "title",
                              "mail from a template", "name", "SYSTEM", "server_gid",
                              (json_int_t)gid, "settings", "transport", "mail");
    struct spool_new t = { .user_id = o->user_id, .event = event, .settings = settings };
    int64_t id = 0;
    int rc = spool_add(r->db, &t, &id, e);
    json_decref(event);
    json_decref(settings);
    json_decref(add);
    if (rc == 0)
        *out = tpl_int(id);
    return rc;
}

static const struct obj_method mail_methods[] = {
    { "setup", m_setup },
    { "send", m_send },
    { NULL, NULL },
};

const struct obj_kind obj_mail_kind = { "Core::Transport::Mail", mail_methods, NULL };

void obj_mail_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "mail", 4, obj_new(&obj_mail_kind, 0, r->user_id, NULL));
}
