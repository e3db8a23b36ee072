/*
 * tpl_eval.c — walks a compiled template's AST and writes the output
 * (templates.md §2). Variables live in a chain of scopes (INCLUDE and macro
 * calls push a scope, PROCESS shares the caller's); dotted access follows
 * TT2's Template::Stash::_dotop (hash key, list index or virtual method,
 * object member, scalar virtual method); every step is counted and the
 * limits of struct tpl_limits are enforced here.
 *
 * Convention: functions return 0, or -1 with cx->ctl set — CTL_ERROR for an
 * exception (catchable by TRY unless exc_fatal), CTL_NEXT/LAST/RETURN/STOP
 * for control flow, which the enclosing loop, template or render consumes.
 * Values written through `out` pointers are owned by the caller.
 */
#include "../common.h"
#include "tpl_int.h"

#include <math.h>
#include <stdarg.h>

static int exec(struct tpl_ctx *cx, const struct tpl_node *n);
static int eval(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out);

/* ================================================================ errors */

static void at(struct tpl_ctx *cx, uint32_t line, uint32_t col)
{
    cx->line = line;
    cx->col = col;
}

static void set_where(struct tpl_ctx *cx)
{
    const struct tpl *t = cx->frame ? cx->frame->t : NULL;
    snprintf(cx->exc_where, sizeof(cx->exc_where), "template %s:%u:%u", t ? t->name : "?",
             cx->line, cx->col);
}

static void exc_clear(struct tpl_ctx *cx)
{
    free(cx->exc_type);
    cx->exc_type = NULL;
    tpl_value_drop(&cx->exc_info);
    cx->exc_fatal = false;
    cx->ctl = CTL_NONE;
}

int tpl_throw_value(struct tpl_ctx *cx, const char *type, struct tpl_value info)
{
    if (cx->ctl == CTL_ERROR) { /* keep the first exception */
        tpl_value_drop(&info);
        return -1;
    }
    exc_clear(cx);
    cx->exc_type = xstrdup(type);
    cx->exc_info = info;
    cx->ctl = CTL_ERROR;
    set_where(cx);
    return -1;
}

int tpl_throw(struct tpl_ctx *cx, const char *type, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tpl_throw_value(cx, type, tpl_cstr(msg));
}

int tpl_fatal(struct tpl_ctx *cx, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    exc_clear(cx);
    cx->exc_type = xstrdup("limit");
    cx->exc_info = tpl_cstr(msg);
    cx->exc_fatal = true;
    cx->ctl = CTL_ERROR;
    set_where(cx);
    return -1;
}

/* ================================================================ limits */

static int64_t ms_left(const struct tpl_ctx *cx)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(cx->deadline.tv_sec - now.tv_sec) * 1000 +
           (cx->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

static bool over_memory(const struct tpl_ctx *cx)
{
    size_t live = tpl_mem_live();
    return live > cx->mem_base && live - cx->mem_base > cx->lim.max_memory;
}

int tpl_step(struct tpl_ctx *cx, uint64_t n)
{
    uint64_t before = cx->steps;
    cx->steps += n;
    if (cx->steps > cx->lim.max_steps)
        return tpl_fatal(cx, "step limit exceeded (%llu steps)",
                         (unsigned long long)cx->lim.max_steps);
    if ((before >> 10) == (cx->steps >> 10))
        return 0;
    if (ms_left(cx) < 0)
        return tpl_fatal(cx, "time limit exceeded (%u ms)", cx->lim.max_ms);
    if (over_memory(cx)) {
        tpl_gc_collect();
        if (over_memory(cx))
            return tpl_fatal(cx, "memory limit exceeded (%zu bytes)", cx->lim.max_memory);
    }
    return 0;
}

/* Stack the evaluator may use below tpl_render's frame (nested blocks, macros, includes). */
#define STACK_MAX (1u << 20)

static int check_stack(struct tpl_ctx *cx)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (cx->stack_base > here && cx->stack_base - here > STACK_MAX)
        return tpl_fatal(cx, "template nested too deeply");
    return 0;
}

int tpl_check_len(struct tpl_ctx *cx, size_t len)
{
    if (len > cx->lim.max_output)
        return tpl_fatal(cx, "string longer than the output limit (%zu bytes)",
                         cx->lim.max_output);
    return 0;
}

static int out_write(struct tpl_ctx *cx, const char *s, size_t n)
{
    if (buf_append(cx->out, s, n))
        return tpl_fatal(cx, "output limit exceeded (%zu bytes)", cx->lim.max_output);
    return 0;
}

static int out_value(struct tpl_ctx *cx, const struct tpl_value *v)
{
    if (tpl_value_print(v, cx->out))
        return tpl_fatal(cx, "output limit exceeded (%zu bytes)", cx->lim.max_output);
    return 0;
}

/* ================================================================ scopes */

static const struct tpl_value *scope_lookup(struct tpl_ctx *cx, const char *name, size_t len)
{
    for (struct tpl_scope *s = cx->scope; s; s = s->parent) {
        const struct tpl_value *v = tpl_hash_get(&s->vars, name, len);
        if (v)
            return v;
    }
    if (cx->env->vars)
        return tpl_hash_get(cx->env->vars, name, len);
    return NULL;
}

static void scope_set(struct tpl_ctx *cx, const char *name, size_t len, struct tpl_value v)
{
    tpl_hash_set(&cx->scope->vars, name, len, v);
}

static void scope_push(struct tpl_ctx *cx, struct tpl_scope *s)
{
    s->vars = tpl_hash_new();
    s->parent = cx->scope;
    cx->scope = s;
}

static void scope_pop(struct tpl_ctx *cx, struct tpl_scope *s)
{
    cx->scope = s->parent;
    tpl_value_drop(&s->vars);
}

static bool is_private(const char *s, size_t n)
{
    return n && (s[0] == '_' || s[0] == '.');
}

/* ================================================================ arguments */

struct argv {
    struct tpl_value *pos;
    size_t npos;
    struct tpl_value named;
    struct tpl_args a;
};

static void argv_free(struct argv *av)
{
    for (size_t i = 0; i < av->npos; i++)
        tpl_value_drop(&av->pos[i]);
    free(av->pos);
    tpl_value_drop(&av->named);
}

static int key_string(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct tpl_value k;
    if (eval(cx, x, &k))
        return -1;
    if (k.type == TPL_STR) {
        *out = k;
        return 0;
    }
    struct tpl_sv sv;
    sv_get(&sv, &k);
    *out = tpl_str(sv.p, sv.n);
    sv_done(&sv);
    tpl_value_drop(&k);
    return 0;
}

static int eval_args(struct tpl_ctx *cx, const struct tpl_argl *al, struct argv *av)
{
    memset(av, 0, sizeof(*av));
    av->a.parens = al != NULL;
    if (!al)
        return 0;
    av->pos = xcalloc(al->npos ? al->npos : 1, sizeof(struct tpl_value));
    for (size_t i = 0; i < al->npos; i++, av->npos++)
        if (eval(cx, al->pos[i], &av->pos[i]))
            goto fail;
    if (al->nnamed) {
        av->named = tpl_hash_new();
        for (size_t i = 0; i < al->nnamed; i++) {
            struct tpl_value k, v;
            if (key_string(cx, al->nkey[i], &k))
                goto fail;
            if (eval(cx, al->nval[i], &v)) {
                tpl_value_drop(&k);
                goto fail;
            }
            tpl_hash_set(&av->named, k.u.s->data, k.u.s->len, v);
            tpl_value_drop(&k);
        }
    }
    av->a.pos = av->pos;
    av->a.npos = av->npos;
    av->a.named = al->nnamed ? &av->named : NULL;
    return 0;
fail:
    argv_free(av);
    return -1;
}

/* ================================================================ calls */

static const struct tpl_args no_args;

int tpl_call_value(struct tpl_ctx *cx, const struct tpl_value *fn, const struct tpl_args *args,
                   struct tpl_value *out)
{
    struct err e = {0};
    *out = tpl_undef();
    if (fn->type != TPL_FUNC) {
        *out = tpl_value_ref(fn);
        return 0;
    }
    uint32_t line = cx->line, col = cx->col;
    struct tpl_value hold = tpl_value_ref(fn); /* the call may overwrite where fn lives */
    int rc = hold.u.o->fn(hold.u.o->self, cx, args ? args : &no_args, out, &e);
    tpl_value_drop(&hold);
    if (rc == 0)
        return 0;
    tpl_value_drop(out);
    if (rc == TPL_DECLINED)
        return 0;
    if (cx->ctl != CTL_NONE)
        return -1;
    at(cx, line, col);
    return tpl_throw(cx, "undef", "%s", e.msg[0] ? e.msg : "function failed");
}

/* Host errors become "undef" exceptions; TPL_DECLINED is reported as 1. */
static int host_result(struct tpl_ctx *cx, int rc, struct err *e, struct tpl_value *out,
                       uint32_t line, uint32_t col)
{
    if (rc == 0)
        return 0;
    tpl_value_drop(out);
    if (rc == TPL_DECLINED)
        return 1;
    if (cx->ctl != CTL_NONE)
        return -1;
    at(cx, line, col);
    return tpl_throw(cx, "undef", "%s", e->msg[0] ? e->msg : "method failed");
}

/* A member of a host object: get, then call; 1 when the object declines. */
static int object_member(struct tpl_ctx *cx, const struct tpl_value *obj, const char *key,
                         const struct tpl_args *args, struct tpl_value *out)
{
    const struct tpl_object_ops *ops = obj->u.o->ops;
    struct err e = {0};
    uint32_t line = cx->line, col = cx->col;
    *out = tpl_undef();
    int rc = TPL_DECLINED;
    if (ops && ops->get && !args->parens)
        rc = host_result(cx, ops->get(obj->u.o->self, cx, key, out, &e), &e, out, line, col);
    if (rc == TPL_DECLINED && ops && ops->call)
        rc = host_result(cx, ops->call(obj->u.o->self, cx, key, args, out, &e), &e, out, line,
                         col);
    return rc;
}

static int call_vmethod(struct tpl_ctx *cx, tpl_vmethod_fn vm, const struct tpl_value *self,
                        const struct tpl_args *args, struct tpl_value *out)
{
    *out = tpl_undef();
    if (tpl_step(cx, 1))
        return -1;
    int rc = vm(cx, self, args, out);
    if (rc)
        tpl_value_drop(out);
    return rc;
}

/* Scalar vmethod, else list vmethod on [self]; 1 when neither exists. */
static int scalar_member(struct tpl_ctx *cx, const struct tpl_value *self, const char *key,
                         size_t klen, const struct tpl_args *args, struct tpl_value *out)
{
    tpl_vmethod_fn vm = tpl_vmethod_find(VM_SCALAR, key, klen);
    if (vm)
        return call_vmethod(cx, vm, self, args, out);
    if (!(vm = tpl_vmethod_find(VM_LIST, key, klen)))
        return 1;
    struct tpl_value l = tpl_list_new();
    tpl_list_push(&l, tpl_value_ref(self));
    int rc = call_vmethod(cx, vm, &l, args, out);
    tpl_value_drop(&l);
    return rc;
}

static bool parse_index(const char *key, size_t klen, int64_t *idx)
{
    size_t i = key[0] == '-' ? 1 : 0;
    if (i == klen || klen > 19)
        return false;
    for (size_t j = i; j < klen; j++)
        if (key[j] < '0' || key[j] > '9')
            return false;
    char tmp[24];
    memcpy(tmp, key, klen);
    tmp[klen] = '\0';
    *idx = strtoll(tmp, NULL, 10);
    return true;
}

static const struct tpl_value *list_index(const struct tpl_value *l, int64_t idx)
{
    int64_t len = (int64_t)tpl_list_len(l);
    if (idx < 0)
        idx += len;
    return idx >= 0 && idx < len ? tpl_list_at(l, (size_t)idx) : NULL;
}

/* Value found in a container: functions are called with the arguments. */
static int found(struct tpl_ctx *cx, const struct tpl_value *v, const struct tpl_args *args,
                 struct tpl_value *out)
{
    if (v->type == TPL_FUNC)
        return tpl_call_value(cx, v, args, out);
    *out = tpl_value_ref(v);
    return 0;
}

/* root.key(args) per TT2's Stash::_dotop. */
static int dotop(struct tpl_ctx *cx, const struct tpl_value *root, const char *key, size_t klen,
                 const struct tpl_args *args, struct tpl_value *out)
{
    *out = tpl_undef();
    tpl_vmethod_fn vm;
    int64_t idx;
    int rc;
    switch (root->type) {
    case TPL_UNDEF:
        return 0;
    case TPL_HASH: {
        const struct tpl_value *v = tpl_hash_get(root, key, klen);
        if (v && v->type != TPL_UNDEF)
            return found(cx, v, args, out);
        vm = tpl_vmethod_find(VM_HASH, key, klen);
        return vm ? call_vmethod(cx, vm, root, args, out) : 0;
    }
    case TPL_LIST:
        if ((vm = tpl_vmethod_find(VM_LIST, key, klen)))
            return call_vmethod(cx, vm, root, args, out);
        if (parse_index(key, klen, &idx)) {
            const struct tpl_value *v = list_index(root, idx);
            return v ? found(cx, v, args, out) : 0;
        }
        return 0;
    case TPL_OBJ:
        if ((rc = object_member(cx, root, key, args, out)) != 1)
            return rc;
        rc = scalar_member(cx, root, key, klen, args, out);
        return rc == 1 ? 0 : rc;
    default:
        rc = scalar_member(cx, root, key, klen, args, out);
        return rc == 1 ? 0 : rc;
    }
}

int tpl_member(struct tpl_ctx *cx, const struct tpl_value *root, const char *key, size_t klen,
               struct tpl_value *out)
{
    return dotop(cx, root, key, klen, &no_args, out);
}

/* ================================================================ variables */

/* Name of a segment: static, or the string value of its expression. */
static int seg_name(struct tpl_ctx *cx, const struct tpl_seg *sg, struct tpl_value *tmp,
                    const char **name, size_t *len)
{
    *tmp = tpl_undef();
    if (sg->name) {
        *name = sg->name;
        *len = sg->len;
        return 0;
    }
    if (key_string(cx, sg->dyn, tmp))
        return -1;
    *name = tmp->u.s->data;
    *len = tmp->u.s->len;
    return 0;
}

/* Applies one `.seg` to *v (owned in and out). */
static int apply_seg(struct tpl_ctx *cx, struct tpl_value *v, const struct tpl_seg *sg)
{
    if (v->type == TPL_UNDEF)
        return 0;
    struct tpl_value tmp, r;
    const char *name;
    size_t len;
    if (seg_name(cx, sg, &tmp, &name, &len))
        return -1;
    int rc = 0;
    if (is_private(name, len)) {
        r = tpl_undef();
    } else {
        struct argv av;
        if (eval_args(cx, sg->args, &av)) {
            tpl_value_drop(&tmp);
            return -1;
        }
        rc = dotop(cx, v, name, len, &av.a, &r);
        argv_free(&av);
    }
    tpl_value_drop(&tmp);
    tpl_value_drop(v);
    *v = r;
    return rc;
}

static int apply_segs(struct tpl_ctx *cx, struct tpl_value *v, const struct tpl_seg *segs,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v->type == TPL_UNDEF)
            return 0;
        if (apply_seg(cx, v, &segs[i])) {
            tpl_value_drop(v);
            return -1;
        }
    }
    return 0;
}

static int eval_var(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    const struct tpl_seg *sg = &x->u.var.segs[0];
    struct tpl_value tmp;
    const char *name;
    size_t len;
    *out = tpl_undef();
    if (seg_name(cx, sg, &tmp, &name, &len))
        return -1;
    const struct tpl_value *v = is_private(name, len) ? NULL : scope_lookup(cx, name, len);
    int rc = 0;
    if (v && v->type == TPL_FUNC) {
        struct tpl_value fn = tpl_value_ref(v);
        struct argv av;
        rc = eval_args(cx, sg->args, &av);
        if (!rc) {
            at(cx, x->line, x->col);
            rc = tpl_call_value(cx, &fn, &av.a, out);
            argv_free(&av);
        }
        tpl_value_drop(&fn);
    } else if (v) {
        *out = tpl_value_ref(v);
    }
    tpl_value_drop(&tmp);
    if (rc)
        return -1;
    return apply_segs(cx, out, x->u.var.segs + 1, x->u.var.n - 1);
}

/* ================================================================ assignment */

/* The container at root.key for assigning below it (created when missing). */
static int lvalue_member(struct tpl_ctx *cx, struct tpl_value *cur, const char *key, size_t klen,
                         const struct tpl_args *args)
{
    struct tpl_value r = tpl_undef();
    int64_t idx;
    if (cur->type == TPL_HASH) {
        const struct tpl_value *v = tpl_hash_get(cur, key, klen);
        if (v && v->type != TPL_UNDEF) {
            if (found(cx, v, args, &r))
                return -1;
        } else {
            r = tpl_hash_new();
            tpl_hash_set(cur, key, klen, tpl_value_ref(&r));
        }
    } else if (cur->type == TPL_LIST && parse_index(key, klen, &idx)) {
        const struct tpl_value *v = list_index(cur, idx);
        if (v && v->type != TPL_UNDEF) {
            if (found(cx, v, args, &r))
                return -1;
        } else if (idx >= 0) {
            if ((uint64_t)idx >= cx->lim.max_iterations)
                return tpl_fatal(cx, "list index %lld too large", (long long)idx);
            r = tpl_hash_new();
            tpl_list_set(cur, (size_t)idx, tpl_value_ref(&r));
        }
    } else if (cur->type == TPL_OBJ) {
        if (dotop(cx, cur, key, klen, args, &r))
            return -1;
    }
    tpl_value_drop(cur);
    *cur = r;
    return 0;
}

/* Sets root.key = v (takes v). */
static int assign_member(struct tpl_ctx *cx, struct tpl_value *root, const char *key,
                         size_t klen, const struct tpl_args *args, struct tpl_value v,
                         bool dflt)
{
    int64_t idx;
    if (root->type == TPL_HASH) {
        const struct tpl_value *cur = tpl_hash_get(root, key, klen);
        if (dflt && cur && tpl_value_truth(cur))
            tpl_value_drop(&v);
        else
            tpl_hash_set(root, key, klen, v);
        return 0;
    }
    if (root->type == TPL_LIST && parse_index(key, klen, &idx)) {
        if (idx < 0)
            idx += (int64_t)tpl_list_len(root);
        const struct tpl_value *cur = idx >= 0 ? tpl_list_at(root, (size_t)idx) : NULL;
        if (idx < 0 || (uint64_t)idx >= cx->lim.max_iterations || (dflt && cur && tpl_value_truth(cur))) {
            tpl_value_drop(&v); /* a negative index before the start is ignored, as in TT2 */
            if (idx >= 0 && (uint64_t)idx >= cx->lim.max_iterations)
                return tpl_fatal(cx, "list index %lld too large", (long long)idx);
            return 0;
        }
        tpl_list_set(root, (size_t)idx, v);
        return 0;
    }
    if (root->type == TPL_OBJ) {
        /* TT2 calls the method with the value appended to the arguments */
        struct tpl_value *pos = xcalloc(args->npos + 1, sizeof(*pos));
        for (size_t i = 0; i < args->npos; i++)
            pos[i] = args->pos[i];
        pos[args->npos] = v;
        struct tpl_args a = {.pos = pos, .npos = args->npos + 1, .named = args->named,
                             .parens = true};
        struct tpl_value r;
        int rc = object_member(cx, root, key, &a, &r);
        tpl_value_drop(&r);
        tpl_value_drop(&v);
        free(pos);
        return rc < 0 ? -1 : 0;
    }
    tpl_value_drop(&v); /* assigning below a scalar or undefined is ignored, as in TT2 */
    return 0;
}

static int assign_top(struct tpl_ctx *cx, const char *name, size_t len, struct tpl_value v,
                      bool dflt)
{
    if (is_private(name, len)) {
        tpl_value_drop(&v);
        return 0;
    }
    const struct tpl_value *cur = dflt ? scope_lookup(cx, name, len) : NULL;
    if (cur && tpl_value_truth(cur))
        tpl_value_drop(&v);
    else
        scope_set(cx, name, len, v);
    return 0;
}

/* Walks to the parent of the last segment, creating hashes on the way. */
static int assign_path(struct tpl_ctx *cx, const struct tpl_expr *target, struct tpl_value *cur)
{
    const struct tpl_seg *segs = target->u.var.segs;
    struct tpl_value tmp;
    const char *name;
    size_t len;
    if (seg_name(cx, &segs[0], &tmp, &name, &len))
        return -1;
    const struct tpl_value *v = is_private(name, len) ? NULL : scope_lookup(cx, name, len);
    int rc = 0;
    if (v && v->type != TPL_UNDEF) {
        rc = found(cx, v, NULL, cur);
    } else if (!is_private(name, len)) {
        *cur = tpl_hash_new();
        scope_set(cx, name, len, tpl_value_ref(cur));
    }
    tpl_value_drop(&tmp);
    for (size_t i = 1; !rc && i + 1 < target->u.var.n && cur->type != TPL_UNDEF; i++) {
        struct argv av;
        if (seg_name(cx, &segs[i], &tmp, &name, &len))
            return -1;
        if (is_private(name, len)) {
            tpl_value_drop(cur);
        } else if (!(rc = eval_args(cx, segs[i].args, &av))) {
            rc = lvalue_member(cx, cur, name, len, &av.a);
            argv_free(&av);
        }
        tpl_value_drop(&tmp);
    }
    return rc;
}

/* target = v (takes v); DEFAULT assigns only over a false value. */
static int assign(struct tpl_ctx *cx, const struct tpl_expr *target, struct tpl_value v, bool dflt)
{
    if (target->kind == EX_LIT)
        return assign_top(cx, target->u.lit.u.s->data, target->u.lit.u.s->len, v, dflt);
    const struct tpl_seg *last = &target->u.var.segs[target->u.var.n - 1];
    struct tpl_value tmp, root = tpl_undef();
    const char *name;
    size_t len;
    if (target->u.var.n > 1 && assign_path(cx, target, &root)) {
        tpl_value_drop(&root);
        tpl_value_drop(&v);
        return -1;
    }
    if (seg_name(cx, last, &tmp, &name, &len)) {
        tpl_value_drop(&root);
        tpl_value_drop(&v);
        return -1;
    }
    int rc;
    if (target->u.var.n == 1) {
        rc = assign_top(cx, name, len, v, dflt);
    } else if (is_private(name, len)) {
        tpl_value_drop(&v);
        rc = 0;
    } else {
        struct argv av;
        if (eval_args(cx, last->args, &av)) {
            tpl_value_drop(&v);
            rc = -1;
        } else {
            rc = assign_member(cx, &root, name, len, &av.a, v, dflt);
            argv_free(&av);
        }
    }
    tpl_value_drop(&tmp);
    tpl_value_drop(&root);
    return rc;
}

/* ================================================================ operators */

static struct tpl_value perl_bool(bool b)
{
    return b ? tpl_int(1) : tpl_str("", 0);
}

static int arith(struct tpl_ctx *cx, enum tpl_tok op, const struct tpl_value *a,
                 const struct tpl_value *b, struct tpl_value *out)
{
    bool ai, bi;
    int64_t x, y, r;
    double dx, dy;
    tpl_value_number(a, &ai, &x, &dx);
    tpl_value_number(b, &bi, &y, &dy);
    bool ints = ai && bi;
    if (ai)
        dx = (double)x;
    if (bi)
        dy = (double)y;
    switch (op) {
    case TK_PLUS:
        *out = ints && !__builtin_add_overflow(x, y, &r) ? tpl_int(r) : tpl_num(dx + dy);
        return 0;
    case TK_MINUS:
        *out = ints && !__builtin_sub_overflow(x, y, &r) ? tpl_int(r) : tpl_num(dx - dy);
        return 0;
    case TK_STAR:
        *out = ints && !__builtin_mul_overflow(x, y, &r) ? tpl_int(r) : tpl_num(dx * dy);
        return 0;
    case TK_SLASH:
        if (dy == 0)
            return tpl_throw(cx, "undef", "Illegal division by zero");
        *out = ints && y != -1 && x % y == 0 ? tpl_int(x / y) : tpl_num(dx / dy);
        return 0;
    case TK_DIV: {
        if (dy == 0)
            return tpl_throw(cx, "undef", "Illegal division by zero");
        if (ints && y != -1) {
            *out = tpl_int(x / y);
            return 0;
        }
        double q = trunc(dx / dy);
        *out = fabs(q) < 9.2e18 ? tpl_int((int64_t)q) : tpl_num(q);
        return 0;
    }
    default: { /* % and mod: integer operands, the result takes the divisor's sign */
        if (!ai)
            x = isfinite(dx) && fabs(dx) < 9.2e18 ? (int64_t)dx : 0;
        if (!bi)
            y = isfinite(dy) && fabs(dy) < 9.2e18 ? (int64_t)dy : 0;
        if (y == 0)
            return tpl_throw(cx, "undef", "Illegal modulus zero");
        r = y == -1 ? 0 : x % y;
        if (r != 0 && ((r < 0) != (y < 0)))
            r += y;
        *out = tpl_int(r);
        return 0;
    }
    }
}

static bool compare_num(enum tpl_tok op, const struct tpl_value *a, const struct tpl_value *b)
{
    bool ai, bi;
    int64_t x, y;
    double dx, dy;
    tpl_value_number(a, &ai, &x, &dx);
    tpl_value_number(b, &bi, &y, &dy);
    int c;
    if (ai && bi) {
        c = x < y ? -1 : x > y;
    } else {
        dx = ai ? (double)x : dx;
        dy = bi ? (double)y : dy;
        if (isnan(dx) || isnan(dy))
            return false;
        c = dx < dy ? -1 : dx > dy;
    }
    switch (op) {
    case TK_LT:
        return c < 0;
    case TK_LE:
        return c <= 0;
    case TK_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool equal_str(const struct tpl_value *a, const struct tpl_value *b)
{
    struct tpl_sv sa, sb;
    sv_get(&sa, a);
    sv_get(&sb, b);
    bool eq = sa.n == sb.n && memcmp(sa.p, sb.p, sa.n) == 0;
    sv_done(&sa);
    sv_done(&sb);
    return eq;
}

static bool compare(enum tpl_tok op, const struct tpl_value *a, const struct tpl_value *b)
{
    if (op == TK_EQ)
        return equal_str(a, b);
    if (op == TK_NE)
        return !equal_str(a, b);
    return compare_num(op, a, b);
}

static int concat(struct tpl_ctx *cx, const struct tpl_value *a, const struct tpl_value *b,
                  struct tpl_value *out)
{
    struct tpl_sv sa, sb;
    sv_get(&sa, a);
    sv_get(&sb, b);
    int rc = tpl_check_len(cx, sa.n + sb.n);
    if (!rc) {
        *out = tpl_str_new(sa.n + sb.n);
        memcpy(out->u.s->data, sa.p, sa.n);
        memcpy(out->u.s->data + sa.n, sb.p, sb.n);
    }
    sv_done(&sa);
    sv_done(&sb);
    return rc;
}

static int eval_binary(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct tpl_value a, b;
    if (eval(cx, x->u.op.a, &a))
        return -1;
    if (eval(cx, x->u.op.b, &b)) {
        tpl_value_drop(&a);
        return -1;
    }
    at(cx, x->line, x->col);
    int rc = 0;
    switch (x->u.op.op) {
    case TK_CAT:
        rc = concat(cx, &a, &b, out);
        break;
    case TK_EQ:
    case TK_NE:
    case TK_LT:
    case TK_LE:
    case TK_GT:
    case TK_GE:
        *out = perl_bool(compare(x->u.op.op, &a, &b));
        break;
    default:
        rc = arith(cx, x->u.op.op, &a, &b, out);
        break;
    }
    tpl_value_drop(&a);
    tpl_value_drop(&b);
    return rc;
}

/* a < b <= c: each operand evaluated once, stops at the first false comparison. */
static int eval_chain(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct tpl_value left, right;
    if (eval(cx, x->u.chain.operands[0], &left))
        return -1;
    bool ok = true;
    for (size_t i = 0; ok && i < x->u.chain.n; i++) {
        if (eval(cx, x->u.chain.operands[i + 1], &right)) {
            tpl_value_drop(&left);
            return -1;
        }
        ok = compare(x->u.chain.ops[i], &left, &right);
        tpl_value_drop(&left);
        left = right;
    }
    tpl_value_drop(&left);
    *out = perl_bool(ok);
    return 0;
}

static int eval_unary(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct tpl_value a;
    if (eval(cx, x->u.op.a, &a))
        return -1;
    if (x->u.op.op == TK_NOT) {
        *out = perl_bool(!tpl_value_truth(&a));
    } else {
        bool is_int;
        int64_t i;
        double d;
        tpl_value_number(&a, &is_int, &i, &d);
        *out = is_int && i != INT64_MIN ? tpl_int(-i) : tpl_num(is_int ? -(double)i : -d);
    }
    tpl_value_drop(&a);
    return 0;
}

static int eval_logic(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    if (eval(cx, x->u.op.a, out))
        return -1;
    bool t = tpl_value_truth(out);
    if (x->kind == EX_AND ? !t : t)
        return 0;
    tpl_value_drop(out);
    return eval(cx, x->u.op.b, out);
}

/* ================================================================ literals */

static int eval_string(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct buf b;
    buf_init(&b, cx->lim.max_output);
    for (size_t i = 0; i < x->u.str.n; i++) {
        struct tpl_value v;
        if (eval(cx, x->u.str.parts[i], &v)) {
            buf_free(&b);
            return -1;
        }
        int rc = tpl_value_print(&v, &b);
        tpl_value_drop(&v);
        if (rc) {
            buf_free(&b);
            return tpl_check_len(cx, SIZE_MAX);
        }
    }
    *out = tpl_str_from_buf(&b);
    return 0;
}

static int eval_list(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    *out = tpl_list_new();
    tpl_list_reserve(out, x->u.list.n);
    for (size_t i = 0; i < x->u.list.n; i++) {
        struct tpl_value v;
        if (eval(cx, x->u.list.items[i], &v)) {
            tpl_value_drop(out);
            return -1;
        }
        tpl_list_push(out, v);
    }
    return 0;
}

static int eval_range(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct tpl_value a, b;
    if (eval(cx, x->u.op.a, &a))
        return -1;
    if (eval(cx, x->u.op.b, &b)) {
        tpl_value_drop(&a);
        return -1;
    }
    double from = trunc(tpl_value_double(&a)), to = trunc(tpl_value_double(&b));
    tpl_value_drop(&a);
    tpl_value_drop(&b);
    *out = tpl_list_new();
    if (!(to >= from))
        return 0;
    at(cx, x->line, x->col);
    if (from < -9e18 || to > 9e18) {
        tpl_value_drop(out);
        return tpl_throw(cx, "undef", "range bounds out of range");
    }
    if (to - from + 1 > (double)cx->lim.max_iterations) {
        tpl_value_drop(out);
        return tpl_fatal(cx, "range larger than the iteration limit (%llu)",
                         (unsigned long long)cx->lim.max_iterations);
    }
    int64_t f = (int64_t)from, n = (int64_t)(to - from) + 1;
    if (tpl_step(cx, (uint64_t)n)) {
        tpl_value_drop(out);
        return -1;
    }
    tpl_list_reserve(out, (size_t)n);
    for (int64_t i = 0; i < n; i++)
        tpl_list_push(out, tpl_int(f + i));
    return 0;
}

static int eval_hash(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    *out = tpl_hash_new();
    for (size_t i = 0; i < x->u.hash.n; i++) {
        struct tpl_value k, v;
        if (key_string(cx, x->u.hash.keys[i], &k))
            goto fail;
        if (eval(cx, x->u.hash.vals[i], &v)) {
            tpl_value_drop(&k);
            goto fail;
        }
        tpl_hash_set(out, k.u.s->data, k.u.s->len, v);
        tpl_value_drop(&k);
    }
    return 0;
fail:
    tpl_value_drop(out);
    return -1;
}

/* ================================================================ filters */

/* Applies filter f (EX_FILTER node) to in (borrowed). */
static int apply_filter(struct tpl_ctx *cx, const struct tpl_expr *f, const struct tpl_value *in,
                        struct tpl_value *out)
{
    const struct tpl_filter_def *def = f->u.filter.def;
    *out = tpl_undef();
    at(cx, f->line, f->col);
    if (!def)
        return tpl_throw(cx, "undef", "%s: filter not found", f->u.filter.name);
    struct argv av;
    if (eval_args(cx, f->u.filter.args, &av))
        return -1;
    at(cx, f->line, f->col);
    int rc = tpl_step(cx, 1);
    if (!rc)
        rc = def->fn(cx, in, &av.a, out);
    if (rc)
        tpl_value_drop(out);
    argv_free(&av);
    return rc;
}

static int eval_filter(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct tpl_value in;
    if (eval(cx, x->u.filter.in, &in))
        return -1;
    int rc = apply_filter(cx, x, &in, out);
    tpl_value_drop(&in);
    return rc;
}

/* ================================================================ expressions */

static int eval_dot(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    if (eval(cx, x->u.var.base, out))
        return -1;
    return apply_segs(cx, out, x->u.var.segs, x->u.var.n);
}

static int eval_assign(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    struct tpl_value v;
    if (eval(cx, x->u.assign.value, &v))
        return -1;
    *out = tpl_value_ref(&v);
    if (assign(cx, x->u.assign.target, v, false)) {
        tpl_value_drop(out);
        return -1;
    }
    return 0;
}

static int eval(struct tpl_ctx *cx, const struct tpl_expr *x, struct tpl_value *out)
{
    *out = tpl_undef();
    at(cx, x->line, x->col);
    if (tpl_step(cx, 1) || check_stack(cx))
        return -1;
    switch (x->kind) {
    case EX_LIT: /* literal strings live in the template's arena: values get a copy */
        *out = x->u.lit.type == TPL_STR ? tpl_str(x->u.lit.u.s->data, x->u.lit.u.s->len)
                                         : x->u.lit;
        return 0;
    case EX_STRING:
        return eval_string(cx, x, out);
    case EX_VAR:
        return eval_var(cx, x, out);
    case EX_DOT:
        return eval_dot(cx, x, out);
    case EX_LIST:
        return eval_list(cx, x, out);
    case EX_RANGE:
        return eval_range(cx, x, out);
    case EX_HASH:
        return eval_hash(cx, x, out);
    case EX_UNARY:
        return eval_unary(cx, x, out);
    case EX_BINARY:
        return eval_binary(cx, x, out);
    case EX_AND:
    case EX_OR:
        return eval_logic(cx, x, out);
    case EX_TERNARY: {
        struct tpl_value c;
        if (eval(cx, x->u.op.a, &c))
            return -1;
        bool t = tpl_value_truth(&c);
        tpl_value_drop(&c);
        return eval(cx, t ? x->u.op.b : x->u.op.c, out);
    }
    case EX_FILTER:
        return eval_filter(cx, x, out);
    case EX_ASSIGN:
        return eval_assign(cx, x, out);
    case EX_CHAIN:
        return eval_chain(cx, x, out);
    }
    return 0;
}

/* ================================================================ output capture */

/* Runs body with its output captured into a string. */
static int capture(struct tpl_ctx *cx, const struct tpl_node *body, struct tpl_value *out)
{
    struct buf b;
    buf_init(&b, cx->lim.max_output);
    struct buf *saved = cx->out;
    size_t saved_mark = cx->out_mark;
    cx->out = &b;
    cx->out_mark = 0;
    int rc = exec(cx, body);
    cx->out = saved;
    cx->out_mark = saved_mark;
    if (rc) {
        buf_free(&b);
        *out = tpl_undef();
        return -1;
    }
    *out = tpl_str_from_buf(&b);
    return 0;
}

/* ================================================================ templates and blocks */

static const struct tpl_node *find_block(const struct tpl *t, const char *name)
{
    for (const struct tpl_blockdef *d = t->blocks; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d->body;
    return NULL;
}

/* The options included templates are compiled with: those of the outermost template. */
static const struct tpl_options *base_options(const struct tpl_ctx *cx)
{
    const struct tpl_frame *f = cx->frame;
    while (f->parent)
        f = f->parent;
    return &f->t->opt;
}

static int load_source(struct tpl_ctx *cx, const char *name, struct buf *src)
{
    struct err e = {0};
    if (!cx->env->loader || !cx->env->loader->load)
        return tpl_throw(cx, "file", "%s: not found", name);
    buf_init(src, 16u << 20);
    int rc = cx->env->loader->load(cx->env->loader->ud, name, src, &e);
    if (rc == 0)
        return 0;
    buf_free(src);
    if (rc == ERR_NOT_FOUND)
        return tpl_throw(cx, "file", "%s: not found", name);
    return tpl_throw(cx, "file", "%s: %s", name, e.msg[0] ? e.msg : "cannot load");
}

/* Finds template or block `name`: blocks in scope first, then the loader. */
static int resolve(struct tpl_ctx *cx, const char *name, const struct tpl **t,
                   const struct tpl_node **body)
{
    for (const struct tpl_frame *f = cx->frame; f; f = f->parent) {
        if ((*body = find_block(f->t, name))) {
            *t = f->t;
            return 0;
        }
    }
    for (size_t i = cx->nloaded; i-- > 0;) {
        if ((*body = find_block(cx->loaded[i], name))) {
            *t = cx->loaded[i];
            return 0;
        }
        if (strcmp(cx->loaded[i]->name, name) == 0) {
            *t = cx->loaded[i];
            *body = (*t)->root;
            return 0;
        }
    }
    struct buf src;
    if (load_source(cx, name, &src))
        return -1;
    struct tpl *nt;
    struct err e = {0};
    int rc = tpl_compile_cached(name, src.data, src.len, base_options(cx), &nt, &e);
    buf_free(&src);
    if (rc)
        return tpl_throw(cx, "file", "%s", e.msg);
    cx->loaded = xrealloc(cx->loaded, (cx->nloaded + 1) * sizeof(*cx->loaded));
    cx->loaded[cx->nloaded++] = nt;
    *t = nt;
    *body = nt->root;
    return 0;
}

static int name_string(struct tpl_ctx *cx, const struct tpl_name *nm, struct tpl_value *tmp,
                       const char **name)
{
    *tmp = tpl_undef();
    if (nm->s) {
        *name = nm->s;
        return 0;
    }
    if (key_string(cx, nm->dyn, tmp))
        return -1;
    *name = tmp->u.s->data;
    return 0;
}

static int depth_enter(struct tpl_ctx *cx)
{
    if (cx->depth >= cx->lim.max_depth)
        return tpl_fatal(cx, "include depth limit exceeded (%u)", cx->lim.max_depth);
    cx->depth++;
    return 0;
}

static int run_assigns(struct tpl_ctx *cx, const struct tpl_node *n)
{
    for (size_t i = 0; i < n->nassigns; i++) {
        struct tpl_value v;
        if (eval(cx, n->assigns[i].value, &v) || assign(cx, n->assigns[i].target, v, false))
            return -1;
    }
    return 0;
}

/*
 * Runs body of template t in a new frame (and scope when localise), after
 * evaluating the assignments of n (INCLUDE/PROCESS args) in that scope.
 * RETURN ends only this template.
 */
static int run_template(struct tpl_ctx *cx, const struct tpl *t, const struct tpl_node *body,
                        const struct tpl_node *n, bool localise, struct tpl_value *content)
{
    struct tpl_scope sc;
    struct tpl_frame fr = {.t = t, .parent = cx->frame};
    if (depth_enter(cx))
        return -1;
    if (localise)
        scope_push(cx, &sc);
    int rc = 0;
    if (content)
        scope_set(cx, "content", 7, tpl_value_ref(content));
    if (n)
        rc = run_assigns(cx, n);
    size_t saved_loops = cx->loop_depth, saved_mark = cx->out_mark;
    if (!rc) {
        cx->frame = &fr;
        cx->loop_depth = 0; /* NEXT/LAST do not reach the caller's loops */
        cx->out_mark = cx->out->len;
        rc = exec(cx, body);
        cx->frame = fr.parent;
    }
    cx->loop_depth = saved_loops;
    cx->out_mark = saved_mark;
    if (rc && cx->ctl == CTL_RETURN) {
        cx->ctl = CTL_NONE;
        rc = 0;
    }
    if (localise)
        scope_pop(cx, &sc);
    cx->depth--;
    return rc;
}

static int exec_include(struct tpl_ctx *cx, const struct tpl_node *n, bool localise)
{
    struct tpl_value tmp;
    const char *name;
    const struct tpl *t;
    const struct tpl_node *body;
    if (name_string(cx, &n->name, &tmp, &name))
        return -1;
    at(cx, n->line, n->col);
    int rc = resolve(cx, name, &t, &body);
    tpl_value_drop(&tmp);
    if (rc)
        return -1;
    return run_template(cx, t, body, n, localise, NULL);
}

static int exec_insert(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value tmp;
    const char *name;
    struct buf src;
    if (name_string(cx, &n->name, &tmp, &name))
        return -1;
    at(cx, n->line, n->col);
    int rc = load_source(cx, name, &src);
    tpl_value_drop(&tmp);
    if (rc)
        return -1;
    rc = out_write(cx, src.data, src.len);
    buf_free(&src);
    return rc;
}

static int exec_wrapper(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value content, tmp;
    const char *name;
    const struct tpl *t;
    const struct tpl_node *body;
    if (capture(cx, n->body, &content))
        return -1;
    if (name_string(cx, &n->name, &tmp, &name)) {
        tpl_value_drop(&content);
        return -1;
    }
    at(cx, n->line, n->col);
    int rc = resolve(cx, name, &t, &body);
    tpl_value_drop(&tmp);
    if (!rc)
        rc = run_template(cx, t, body, n, true, &content);
    tpl_value_drop(&content);
    return rc;
}

/* ================================================================ macros */

struct macro {
    struct tpl *t; /* holds the AST alive */
    const struct tpl_node *n;
};

static void macro_free(void *self)
{
    struct macro *m = self;
    tpl_unref(m->t);
    free(m);
}

/* A macro call: INCLUDE semantics with the parameters bound; returns the output. */
static int macro_call(void *self, struct tpl_ctx *cx, const struct tpl_args *args,
                      struct tpl_value *out, struct err *e)
{
    struct macro *m = self;
    struct tpl_scope sc;
    struct tpl_frame fr = {.t = m->t, .parent = cx->frame};
    UNUSED(e);
    if (depth_enter(cx))
        return -1;
    scope_push(cx, &sc);
    for (size_t i = 0; i < m->n->nparams; i++) {
        const char *p = m->n->params[i];
        const struct tpl_value *v = tpl_args_at(args, i);
        scope_set(cx, p, strlen(p), v ? tpl_value_ref(v) : tpl_undef());
    }
    size_t it = 0, klen;
    const char *k;
    const struct tpl_value *v;
    while (args->named && tpl_hash_next(args->named, &it, &k, &klen, &v))
        scope_set(cx, k, klen, tpl_value_ref(v));
    size_t saved_loops = cx->loop_depth;
    cx->frame = &fr;
    cx->loop_depth = 0;
    int rc = capture(cx, m->n->body, out);
    cx->frame = fr.parent;
    cx->loop_depth = saved_loops;
    if (rc && cx->ctl == CTL_RETURN) {
        cx->ctl = CTL_NONE;
        *out = tpl_str("", 0);
        rc = 0;
    }
    scope_pop(cx, &sc);
    cx->depth--;
    return rc;
}

static int exec_macro(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct macro *m = xmalloc(sizeof(*m));
    m->t = tpl_ref((struct tpl *)cx->frame->t);
    m->n = n;
    scope_set(cx, n->var, strlen(n->var), tpl_func_new(macro_call, m, macro_free));
    return 0;
}

/* ================================================================ loops */

struct iter {
    struct tpl_value list;
    size_t index, size;
};

static void iter_free(void *self)
{
    struct iter *it = self;
    tpl_value_drop(&it->list);
    free(it);
}

static void iter_visit(void *self, void (*fn)(struct tpl_value *slot, void *arg), void *arg)
{
    fn(&((struct iter *)self)->list, arg);
}

static struct tpl_value iter_item(const struct iter *it, size_t i)
{
    const struct tpl_value *v = tpl_list_at(&it->list, i);
    return v ? tpl_value_ref(v) : tpl_undef();
}

/* loop.index, loop.count, … (templates.md §2.6). */
static int iter_get(void *self, struct tpl_ctx *cx, const char *name, struct tpl_value *out,
                    struct err *e)
{
    struct iter *it = self;
    size_t i = it->index;
    UNUSED(cx);
    UNUSED(e);
    if (!strcmp(name, "index"))
        *out = tpl_int((int64_t)i);
    else if (!strcmp(name, "count") || !strcmp(name, "number"))
        *out = tpl_int((int64_t)i + 1);
    else if (!strcmp(name, "first"))
        *out = tpl_int(i == 0);
    else if (!strcmp(name, "last"))
        *out = tpl_int(i + 1 == it->size);
    else if (!strcmp(name, "size"))
        *out = tpl_int((int64_t)it->size);
    else if (!strcmp(name, "max"))
        *out = tpl_int((int64_t)it->size - 1);
    else if (!strcmp(name, "prev"))
        *out = i ? iter_item(it, i - 1) : tpl_undef();
    else if (!strcmp(name, "next"))
        *out = iter_item(it, i + 1);
    else if (!strcmp(name, "odd"))
        *out = tpl_int((i + 1) % 2);
    else if (!strcmp(name, "even"))
        *out = tpl_int(i % 2);
    else if (!strcmp(name, "parity"))
        *out = tpl_cstr((i + 1) % 2 ? "odd" : "even");
    else
        return TPL_DECLINED;
    return 0;
}

static int iter_call(void *self, struct tpl_ctx *cx, const char *name, const struct tpl_args *a,
                     struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    return iter_get(self, cx, name, out, e);
}

static const struct tpl_object_ops iter_ops = {
    .type_name = "Template::Iterator",
    .get = iter_get,
    .call = iter_call,
    .visit = iter_visit,
    .free = iter_free,
};

/* What FOREACH iterates: lists as they are, hashes as sorted pairs, a true scalar as itself. */
static struct tpl_value iteration_list(const struct tpl_value *v)
{
    if (v->type == TPL_LIST)
        return tpl_value_ref(v);
    if (v->type == TPL_HASH)
        return tpl_hash_pairs(v);
    struct tpl_value l = tpl_list_new();
    if (tpl_value_truth(v))
        tpl_list_push(&l, tpl_value_ref(v));
    return l;
}

/* Runs one iteration's body; returns 1 to stop the loop normally. */
static int loop_body(struct tpl_ctx *cx, const struct tpl_node *body)
{
    if (!exec(cx, body))
        return 0;
    if (cx->ctl == CTL_NEXT) {
        cx->ctl = CTL_NONE;
        return 0;
    }
    if (cx->ctl == CTL_LAST) {
        cx->ctl = CTL_NONE;
        return 1;
    }
    return -1;
}

static void import_hash(struct tpl_ctx *cx, const struct tpl_value *h)
{
    size_t it = 0, klen;
    const char *k;
    const struct tpl_value *v;
    while (tpl_hash_next(h, &it, &k, &klen, &v))
        if (!is_private(k, klen))
            scope_set(cx, k, klen, tpl_value_ref(v));
}

static int foreach_run(struct tpl_ctx *cx, const struct tpl_node *n, struct iter *it,
                       struct tpl_value *loop)
{
    int rc = 0;
    for (size_t i = 0; i < it->size && rc == 0; i++) {
        at(cx, n->line, n->col);
        if (tpl_step(cx, 1))
            return -1;
        it->index = i;
        struct tpl_value item = iter_item(it, i);
        scope_set(cx, "loop", 4, tpl_value_ref(loop));
        if (n->var)
            scope_set(cx, n->var, strlen(n->var), item);
        else if (item.type == TPL_HASH)
            import_hash(cx, &item);
        if (!n->var)
            tpl_value_drop(&item);
        rc = loop_body(cx, n->body);
    }
    return rc < 0 ? -1 : 0;
}

static int exec_foreach(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value src;
    if (eval(cx, n->expr, &src))
        return -1;
    struct iter *it = xcalloc(1, sizeof(*it));
    it->list = iteration_list(&src);
    it->size = tpl_list_len(&it->list);
    tpl_value_drop(&src);
    struct tpl_value loop = tpl_object_new(&iter_ops, it);
    if (it->size > cx->lim.max_iterations) {
        tpl_value_drop(&loop);
        at(cx, n->line, n->col);
        return tpl_fatal(cx, "loop larger than the iteration limit (%llu)",
                         (unsigned long long)cx->lim.max_iterations);
    }
    struct tpl_scope sc;
    struct tpl_value old = tpl_undef();
    if (n->var) {
        const struct tpl_value *o = scope_lookup(cx, "loop", 4);
        old = o ? tpl_value_ref(o) : tpl_undef();
    } else {
        scope_push(cx, &sc);
    }
    cx->loop_depth++;
    int rc = foreach_run(cx, n, it, &loop);
    cx->loop_depth--;
    if (n->var)
        scope_set(cx, "loop", 4, old);
    else
        scope_pop(cx, &sc);
    tpl_value_drop(&loop);
    return rc;
}

static int exec_while(struct tpl_ctx *cx, const struct tpl_node *n)
{
    int rc = 0;
    cx->loop_depth++;
    for (uint32_t k = 1;; k++) {
        at(cx, n->line, n->col);
        if (k >= cx->lim.max_while) {
            rc = tpl_fatal(cx, "WHILE loop terminated (> %u iterations)", cx->lim.max_while);
            break;
        }
        struct tpl_value c;
        if ((rc = eval(cx, n->expr, &c)))
            break;
        bool t = tpl_value_truth(&c);
        tpl_value_drop(&c);
        if (!t || (rc = loop_body(cx, n->body)) != 0)
            break;
    }
    cx->loop_depth--;
    return rc < 0 ? -1 : 0;
}

/* ================================================================ SWITCH, TRY, THROW */

static bool case_matches(const struct tpl_value *m, const struct tpl_value *v)
{
    if (m->type != TPL_LIST)
        return equal_str(m, v);
    for (size_t i = 0; i < tpl_list_len(m); i++)
        if (equal_str(tpl_list_at(m, i), v))
            return true;
    return false;
}

static int exec_switch(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value v;
    if (eval(cx, n->expr, &v))
        return -1;
    const struct tpl_node *run = NULL, *dflt = NULL;
    int rc = 0;
    for (size_t i = 0; i < n->ncases && !run; i++) {
        const struct tpl_case *c = &n->cases[i];
        if (!c->match) {
            dflt = dflt ? dflt : c->body;
            continue;
        }
        struct tpl_value m;
        if ((rc = eval(cx, c->match, &m)))
            break;
        if (case_matches(&m, &v))
            run = c->body;
        tpl_value_drop(&m);
    }
    tpl_value_drop(&v);
    if (rc)
        return -1;
    run = run ? run : dflt;
    return run ? exec(cx, run) : 0;
}

struct exc {
    char *type;
    struct tpl_value info;
};

static void exc_free(void *self)
{
    struct exc *x = self;
    free(x->type);
    tpl_value_drop(&x->info);
    free(x);
}

static void exc_visit(void *self, void (*fn)(struct tpl_value *slot, void *arg), void *arg)
{
    fn(&((struct exc *)self)->info, arg);
}

static int exc_get(void *self, struct tpl_ctx *cx, const char *name, struct tpl_value *out,
                   struct err *e)
{
    struct exc *x = self;
    UNUSED(cx);
    UNUSED(e);
    if (!strcmp(name, "type"))
        *out = tpl_cstr(x->type);
    else if (!strcmp(name, "info"))
        *out = tpl_value_ref(&x->info);
    else
        return TPL_DECLINED;
    return 0;
}

static int exc_call(void *self, struct tpl_ctx *cx, const char *name, const struct tpl_args *a,
                    struct tpl_value *out, struct err *e)
{
    UNUSED(a);
    return exc_get(self, cx, name, out, e);
}

static int exc_to_string(void *self, struct buf *b)
{
    struct exc *x = self;
    if (buf_printf(b, "%s error - ", x->type))
        return ERR_LIMIT;
    return tpl_value_print(&x->info, b);
}

static const struct tpl_object_ops exc_ops = {
    .type_name = "Template::Exception",
    .get = exc_get,
    .call = exc_call,
    .to_string = exc_to_string,
    .visit = exc_visit,
    .free = exc_free,
};

/* The CATCH for type: exact, then its parents (a.b.c → a.b → a), then the default. */
static const struct tpl_node *select_handler(const struct tpl_node *n, const char *type)
{
    char t[128];
    snprintf(t, sizeof(t), "%s", type);
    while (t[0]) {
        for (size_t i = 0; i < n->ncases; i++)
            if (n->cases[i].type && !strcmp(n->cases[i].type, t))
                return n->cases[i].body;
        char *dot = strrchr(t, '.');
        if (dot)
            *dot = '\0';
        else
            t[0] = '\0';
    }
    for (size_t i = 0; i < n->ncases; i++)
        if (!n->cases[i].type)
            return n->cases[i].body;
    return NULL;
}

struct pending {
    enum tpl_ctl ctl;
    char *type;
    struct tpl_value info;
    bool fatal;
    char where[160];
};

static void pending_save(struct tpl_ctx *cx, struct pending *p)
{
    p->ctl = cx->ctl;
    p->type = cx->exc_type;
    p->info = cx->exc_info;
    p->fatal = cx->exc_fatal;
    memcpy(p->where, cx->exc_where, sizeof(p->where));
    cx->exc_type = NULL;
    cx->exc_info = tpl_undef();
    cx->exc_fatal = false;
    cx->ctl = CTL_NONE;
}

static void pending_restore(struct tpl_ctx *cx, struct pending *p)
{
    exc_clear(cx);
    cx->ctl = p->ctl;
    cx->exc_type = p->type;
    cx->exc_info = p->info;
    cx->exc_fatal = p->fatal;
    memcpy(cx->exc_where, p->where, sizeof(p->where));
}

static int run_catch(struct tpl_ctx *cx, const struct tpl_node *n)
{
    const struct tpl_node *h = select_handler(n, cx->exc_type);
    if (!h)
        return -1; /* no handler: the exception stays pending */
    struct exc *x = xmalloc(sizeof(*x));
    x->type = cx->exc_type;
    x->info = cx->exc_info;
    cx->exc_type = NULL;
    cx->exc_info = tpl_undef();
    exc_clear(cx);
    struct tpl_value ev = tpl_object_new(&exc_ops, x);
    scope_set(cx, "error", 5, tpl_value_ref(&ev));
    scope_set(cx, "e", 1, ev);
    return exec(cx, h);
}

static int exec_try(struct tpl_ctx *cx, const struct tpl_node *n)
{
    int rc = exec(cx, n->body);
    if (rc && cx->ctl == CTL_ERROR && !cx->exc_fatal)
        rc = run_catch(cx, n);
    bool run_final = n->alt && (!rc || (cx->ctl == CTL_ERROR && !cx->exc_fatal));
    if (!run_final)
        return rc;
    struct pending p;
    pending_save(cx, &p);
    int frc = exec(cx, n->alt);
    if (frc) { /* an error in FINAL wins */
        free(p.type);
        tpl_value_drop(&p.info);
        return -1;
    }
    pending_restore(cx, &p);
    return rc;
}

/* THROW type info [args]: extra arguments make info a hash as TT2 does. */
static int throw_info(struct tpl_ctx *cx, const struct tpl_node *n, struct tpl_value *info)
{
    struct argv av;
    *info = tpl_undef();
    if (eval_args(cx, n->argl, &av))
        return -1;
    if (av.npos == 1 && !av.a.named) {
        *info = tpl_value_ref(&av.pos[0]);
    } else if (av.npos || av.a.named) {
        struct tpl_value list = tpl_list_new();
        *info = av.a.named ? tpl_value_ref(&av.named) : tpl_hash_new();
        for (size_t i = 0; i < av.npos; i++) {
            char k[24];
            int kl = snprintf(k, sizeof(k), "%zu", i);
            tpl_hash_set(info, k, (size_t)kl, tpl_value_ref(&av.pos[i]));
            tpl_list_push(&list, tpl_value_ref(&av.pos[i]));
        }
        tpl_hash_set(info, "args", 4, list);
    }
    argv_free(&av);
    return 0;
}

static int exec_throw(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value tmp, info;
    const char *type;
    if (name_string(cx, &n->name, &tmp, &type))
        return -1;
    if (throw_info(cx, n, &info)) {
        tpl_value_drop(&tmp);
        return -1;
    }
    at(cx, n->line, n->col);
    tpl_throw_value(cx, type, info);
    tpl_value_drop(&tmp);
    return -1;
}

/* ================================================================ statements */

static bool filtered_by_shell(const struct tpl_expr *x)
{
    return x->kind == EX_FILTER && !strcmp(x->u.filter.name, "shell");
}

static int exec_get(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value v;
    if (eval(cx, n->expr, &v))
        return -1;
    int rc;
    if (cx->auto_shell && !filtered_by_shell(n->expr)) {
        struct tpl_sv sv;
        sv_get(&sv, &v);
        rc = tpl_shell_quote(sv.p, sv.n, cx->out) ? tpl_fatal(cx, "output limit exceeded (%zu bytes)",
                                                              cx->lim.max_output)
                                                  : 0;
        sv_done(&sv);
    } else {
        rc = out_value(cx, &v);
    }
    tpl_value_drop(&v);
    return rc;
}

static int exec_set(struct tpl_ctx *cx, const struct tpl_node *n)
{
    for (size_t i = 0; i < n->nassigns; i++) {
        struct tpl_value v;
        if (eval(cx, n->assigns[i].value, &v))
            return -1;
        if (assign(cx, n->assigns[i].target, v, n->kind == ND_DEFAULT))
            return -1;
    }
    return 0;
}

static int exec_if(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value c;
    if (eval(cx, n->expr, &c))
        return -1;
    bool t = tpl_value_truth(&c);
    tpl_value_drop(&c);
    const struct tpl_node *run = t ? n->body : n->alt;
    return run ? exec(cx, run) : 0;
}

static int exec_filter(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value text, r;
    if (capture(cx, n->body, &text))
        return -1;
    int rc = apply_filter(cx, n->expr, &text, &r);
    tpl_value_drop(&text);
    if (!rc)
        rc = out_value(cx, &r);
    tpl_value_drop(&r);
    return rc;
}

static int exec_capture(struct tpl_ctx *cx, const struct tpl_node *n)
{
    struct tpl_value v;
    if (capture(cx, n->body, &v))
        return -1;
    return assign(cx, n->expr, v, false);
}

/* NEXT/LAST; outside a loop of the current template they end it, as TT2 does. */
static int exec_loopctl(struct tpl_ctx *cx, const struct tpl_node *n)
{
    if (!cx->loop_depth)
        cx->ctl = CTL_RETURN;
    else
        cx->ctl = n->kind == ND_NEXT ? CTL_NEXT : CTL_LAST;
    return -1;
}

static int exec_block(struct tpl_ctx *cx, const struct tpl_node *n)
{
    for (const struct tpl_node *k = n->kids; k; k = k->next)
        if (exec(cx, k))
            return -1;
    return 0;
}

static int exec(struct tpl_ctx *cx, const struct tpl_node *n)
{
    at(cx, n->line, n->col);
    if (tpl_step(cx, 1) || check_stack(cx))
        return -1;
    switch (n->kind) {
    case ND_BLOCK:
        return exec_block(cx, n);
    case ND_TEXT:
        return out_write(cx, n->text, n->len);
    case ND_GET:
        return exec_get(cx, n);
    case ND_SET:
    case ND_DEFAULT:
        return exec_set(cx, n);
    case ND_CALL: {
        struct tpl_value v;
        if (eval(cx, n->expr, &v))
            return -1;
        tpl_value_drop(&v);
        return 0;
    }
    case ND_IF:
        return exec_if(cx, n);
    case ND_FOREACH:
        return exec_foreach(cx, n);
    case ND_WHILE:
        return exec_while(cx, n);
    case ND_SWITCH:
        return exec_switch(cx, n);
    case ND_INCLUDE:
        return exec_include(cx, n, true);
    case ND_PROCESS:
        return exec_include(cx, n, false);
    case ND_INSERT:
        return exec_insert(cx, n);
    case ND_WRAPPER:
        return exec_wrapper(cx, n);
    case ND_MACRO:
        return exec_macro(cx, n);
    case ND_FILTER:
        return exec_filter(cx, n);
    case ND_CAPTURE:
        return exec_capture(cx, n);
    case ND_NEXT:
    case ND_LAST:
        return exec_loopctl(cx, n);
    case ND_RETURN:
        cx->ctl = CTL_RETURN;
        return -1;
    case ND_STOP:
        cx->ctl = CTL_STOP;
        return -1;
    case ND_CLEAR: /* what this template or block wrote so far */
        cx->out->len = cx->out_mark < cx->out->len ? cx->out_mark : cx->out->len;
        cx->out->data[cx->out->len] = '\0';
        return 0;
    case ND_TRY:
        return exec_try(cx, n);
    case ND_THROW:
        return exec_throw(cx, n);
    }
    return 0;
}

/* ================================================================ entry points */

int tpl_eval_text(struct tpl_ctx *cx, const char *src, size_t len, struct tpl_value *out)
{
    struct tpl *t;
    struct err e = {0};
    if (tpl_compile_cached("(eval)", src, len, base_options(cx), &t, &e))
        return tpl_throw(cx, "file", "%s", e.msg);
    struct buf b;
    buf_init(&b, cx->lim.max_output);
    struct buf *saved = cx->out;
    cx->out = &b;
    int rc = run_template(cx, t, t->root, NULL, false, NULL);
    cx->out = saved;
    tpl_unref(t);
    if (rc) {
        buf_free(&b);
        return -1;
    }
    *out = tpl_str_from_buf(&b);
    return 0;
}

void *tpl_ctx_host(const struct tpl_ctx *cx)
{
    return cx->env->host;
}

/* `template`: the outermost template's name and META data. */
static void set_template_var(struct tpl_ctx *cx, const struct tpl *t)
{
    struct tpl_value h = tpl_hash_new();
    tpl_hash_set(&h, "name", 4, tpl_cstr(t->name));
    for (const struct tpl_meta *m = t->meta; m; m = m->next) {
        struct tpl_value v = m->val.type == TPL_STR ? tpl_str(m->val.u.s->data, m->val.u.s->len)
                                                    : m->val;
        tpl_hash_set(&h, m->name, strlen(m->name), v);
    }
    scope_set(cx, "template", 8, h);
}

int tpl_eval_root(struct tpl_ctx *cx, const struct tpl *t)
{
    struct tpl_frame fr = {.t = t};
    set_template_var(cx, t);
    cx->frame = &fr;
    int rc = exec(cx, t->root);
    cx->frame = NULL;
    if (rc && (cx->ctl == CTL_RETURN || cx->ctl == CTL_STOP)) {
        cx->ctl = CTL_NONE;
        rc = 0;
    }
    return rc;
}

int tpl_eval_error(struct tpl_ctx *cx, struct err *e)
{
    if (cx->ctl != CTL_ERROR) { /* control flow that escaped its construct: a bug */
        exc_clear(cx);
        return err_set(e, ERR_INTERNAL, "template: unexpected control flow");
    }
    struct tpl_sv sv;
    sv_get(&sv, &cx->exc_info);
    int code = cx->exc_fatal ? ERR_LIMIT : ERR_INVALID;
    if (cx->exc_fatal)
        err_set(e, code, "%s: %.*s", cx->exc_where, (int)sv.n, sv.p);
    else
        err_set(e, code, "%s: %s error - %.*s", cx->exc_where,
                cx->exc_type ? cx->exc_type : "undef", (int)sv.n, sv.p);
    sv_done(&sv);
    exc_clear(cx);
    return code;
}
