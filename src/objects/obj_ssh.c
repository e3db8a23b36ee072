/*
 * obj_ssh.c — `ssh` (templates.md §7.9, transports.md §1.7):
 * ssh.exec(host = …, key_id = …, cmd = …, stdin = …, port = …, timeout = …)
 * (or positionally exec(host, key_id, cmd)) runs a command synchronously
 * through src/transport/ssh.h as the current user and returns the
 * transport's response; afterwards ssh.logs (the console text), ssh.output
 * (the command's output) and ssh.ret_code describe the last run.
 *
 * ssh_exec writes console lines as they come and must not run inside a
 * transaction, so ssh.exec works only where the render has none (spool
 * tasks); API renders get an error. Anonymous renders cannot use it.
 */
#include "objects_int.h"

#include "../db/db.h"
#include "../transport/ssh.h"

/* The exec settings: named/key-value arguments, or host, key_id, cmd positionally. */
static json_t *exec_settings(const struct tpl_args *a)
{
    json_t *s = obj_args_object(a);
    if (json_object_get(s, "host") || a->npos == 0)
        return s;
    json_decref(s);
    s = a->named ? obj_arg_json(a->named) : json_object();
    static const char *const keys[] = { "host", "key_id", "cmd" };
    for (size_t i = 0; i < ARRAY_SIZE(keys) && i < a->npos; i++) {
        json_t *v = obj_arg_json(&a->pos[i]);
        json_object_set_new(s, keys[i], v ? v : json_null());
    }
    return s;
}

static int m_exec(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                  struct tpl_value *out, struct err *e)
{
    if (!r->user_id)
        return err_set(e, ERR_DENIED, "ssh.exec: no current user");
    if (!r->cfg)
        return err_set(e, ERR_INVALID, "ssh.exec: not available here (no configuration)");
    if (db_in_tx(r->db))
        return err_set(e, ERR_INVALID,
                       "ssh.exec: not available inside a request (only in spool tasks)");
    json_t *settings = exec_settings(a);
    struct ssh_exec_result res;
    int rc = ssh_exec(r->db, r->cfg, r->user_id, settings, &res, e);
    json_decref(settings);
    json_t *last = json_pack("{s:s,s:s,s:i}", "logs", res.logs ? res.logs : "", "output",
                             res.output ? res.output : "", "ret_code", res.ret_code);
    char *text = json_dumps(last, JSON_COMPACT);
    free(o->key);
    o->key = text;
    json_decref(last);
    if (rc == 0)
        *out = res.response ? obj_from_json(res.response) : tpl_undef();
    ssh_exec_result_free(&res);
    return rc;
}

/* logs / output / ret_code of the last exec (undefined before one). */
static json_t *ssh_load(struct render_ctx *r, const struct obj *o)
{
    UNUSED(r);
    return o->key ? json_loads(o->key, 0, NULL) : NULL;
}

static const struct obj_method ssh_methods[] = {
    { "exec", m_exec },
    { NULL, NULL },
};

const struct obj_kind obj_ssh_kind = { "Core::Transport::Ssh", ssh_methods, ssh_load };

void obj_ssh_bind(struct tpl_value *vars, struct render_ctx *r)
{
    tpl_hash_set(vars, "ssh", 3, obj_new(&obj_ssh_kind, 0, r->user_id, NULL));
}
