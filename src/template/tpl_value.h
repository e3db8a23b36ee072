/*
 * tpl_value.h — the value model of the template engine (public).
 *
 * A struct tpl_value is a small tagged union passed by value: undefined,
 * boolean, 64-bit integer, double, string, list, hash, host object or host
 * function. Strings are immutable and reference-counted; lists and hashes
 * are mutable and shared by reference (TT2 semantics: `a = b; a.x = 1`
 * changes b too); objects and functions carry a vtable supplied by the host.
 *
 * Ownership: a struct tpl_value variable either owns one reference or is
 * borrowed, and every function says which. "takes" = the callee now owns
 * the reference; "borrows" = valid until the container changes; "returns
 * owned" = drop it with tpl_value_drop(). Values are not thread-safe: keep
 * a value, and everything reachable from it, within one thread.
 *
 * Lists, hashes, objects and functions are tracked by a per-thread cycle
 * collector (tpl_gc_collect, run at the end of every render), so templates
 * that build reference cycles (`h.self = h`) do not leak.
 *
 * Truth, numbers and strings follow Perl as TT2 does (templates.md §2.2):
 * false = undefined, "", 0 and "0"; numbers print as integers or with up to
 * 15 significant digits; strings print as they are.
 */
#ifndef BILLD_TPL_VALUE_H
#define BILLD_TPL_VALUE_H

#include "../common.h"

#include <jansson.h>

struct buf;
struct tpl_ctx;

enum tpl_type {
    TPL_UNDEF = 0,
    TPL_BOOL, /* JSON true/false: prints 1 / 0 */
    TPL_INT,
    TPL_NUM, /* double */
    TPL_STR,
    TPL_LIST,
    TPL_HASH,
    TPL_OBJ,  /* host object: members through struct tpl_object_ops */
    TPL_FUNC, /* host function (or macro): called when referenced */
};

struct tpl_str;
struct tpl_list;
struct tpl_hash;
struct tpl_obj;

struct tpl_value {
    enum tpl_type type;
    union {
        bool b;
        int64_t i;
        double n;
        struct tpl_str *s;
        struct tpl_list *l;
        struct tpl_hash *h;
        struct tpl_obj *o; /* TPL_OBJ and TPL_FUNC */
    } u;
};

/*
 * Returned (positive) by a host get/call callback for "no such member": the
 * engine then tries the virtual methods of §4 and otherwise yields undefined.
 */
#define TPL_DECLINED 1

/*
 * Arguments of a call, all borrowed for the duration of the callback.
 * `a.b(1, x, key => v)`: pos = [1, x], named = {key: v}. TT2 passes named
 * arguments as one hash after the positional ones; tpl_args_kv() gives the
 * SHM reading where positional pairs and hashes are a flat key/value list.
 */
struct tpl_args {
    const struct tpl_value *pos;
    size_t npos;
    const struct tpl_value *named; /* a TPL_HASH, or NULL when none were given */
    bool parens;                   /* the member was written with parentheses */
};

/*
 * Vtable of a host object (user, us, service, config, storage, http, …).
 * Every callback may be NULL. Callbacks return 0 with *out set (owned),
 * TPL_DECLINED, or a negative ERR_* code with e filled: the error becomes a
 * template exception (type "undef", info e->msg) that TRY/CATCH can catch.
 *
 *   get       `obj.name` written without parentheses. When NULL, or when it
 *             declines, `call` is tried with no arguments.
 *   call      `obj.name(...)`, and `obj.name` as above.
 *   to_string the text printed for `{{ obj }}` (default "<type_name>").
 *   visit     report every tpl_value the object holds (fn may clear a slot),
 *             so the cycle collector can see through it. Needed only when
 *             the object keeps template values.
 *   free      release self; called once, when the last reference goes.
 */
struct tpl_object_ops {
    const char *type_name;
    int (*get)(void *self, struct tpl_ctx *cx, const char *name, struct tpl_value *out,
               struct err *e);
    int (*call)(void *self, struct tpl_ctx *cx, const char *name, const struct tpl_args *args,
                struct tpl_value *out, struct err *e);
    int (*to_string)(void *self, struct buf *out);
    void (*visit)(void *self, void (*fn)(struct tpl_value *slot, void *arg), void *arg);
    void (*free)(void *self);
};

/*
 * A host function: `{{ f }}` calls it with no arguments, `{{ f(1, a = 2) }}`
 * with those. Same return convention as the object callbacks (TPL_DECLINED
 * means undefined). Use it for SHM's lazy top-level names (`user`,
 * `user(40094)`) and helpers (`toJson(x)`).
 */
typedef int (*tpl_func_fn)(void *self, struct tpl_ctx *cx, const struct tpl_args *args,
                           struct tpl_value *out, struct err *e);

/* ---- constructors: all return owned values ---- */

static inline struct tpl_value tpl_undef(void)
{
    struct tpl_value v = {.type = TPL_UNDEF};
    return v;
}
struct tpl_value tpl_bool(bool b);
struct tpl_value tpl_int(int64_t i);
struct tpl_value tpl_num(double d); /* integral doubles stay doubles; they print as integers */
/* Copies len bytes (NUL bytes allowed). */
struct tpl_value tpl_str(const char *s, size_t len);
struct tpl_value tpl_cstr(const char *s);
struct tpl_value tpl_list_new(void);
struct tpl_value tpl_hash_new(void);
/* A host object; ops must outlive the value (normally a static table). */
struct tpl_value tpl_object_new(const struct tpl_object_ops *ops, void *self);
/* A host function; free_self(self) runs when the last reference goes (may be NULL). */
struct tpl_value tpl_func_new(tpl_func_fn fn, void *self, void (*free_self)(void *self));

/* ---- references ---- */

/* Returns a new reference to v (v stays valid). */
struct tpl_value tpl_value_ref(const struct tpl_value *v);
/* Releases the reference held by *v and sets it to undefined. */
void tpl_value_drop(struct tpl_value *v);

/* ---- strings ---- */

/* Borrowed bytes of a TPL_STR (NUL-terminated), and its length. */
const char *tpl_str_data(const struct tpl_value *v, size_t *len);

/* ---- lists ---- */

size_t tpl_list_len(const struct tpl_value *list);
/* Borrowed element i, or NULL past the end. */
const struct tpl_value *tpl_list_at(const struct tpl_value *list, size_t i);
/* Appends v (takes). */
void tpl_list_push(struct tpl_value *list, struct tpl_value v);
/* Replaces element i (takes v), growing the list with undefined values. */
void tpl_list_set(struct tpl_value *list, size_t i, struct tpl_value v);

/* ---- hashes (insertion-ordered) ---- */

size_t tpl_hash_len(const struct tpl_value *hash);
/* Borrowed value of key, or NULL when absent. */
const struct tpl_value *tpl_hash_get(const struct tpl_value *hash, const char *key, size_t klen);
/* Sets key to v (takes v); replaces an existing value in place. */
void tpl_hash_set(struct tpl_value *hash, const char *key, size_t klen, struct tpl_value v);
/* Removes key; returns true when it was present. */
bool tpl_hash_del(struct tpl_value *hash, const char *key, size_t klen);
/*
 * Iterates in insertion order: start with *it = 0; returns false at the end.
 * key and val are borrowed until the hash changes.
 */
bool tpl_hash_next(const struct tpl_value *hash, size_t *it, const char **key, size_t *klen,
                   const struct tpl_value **val);

/* ---- objects ---- */

/* The self pointer of a TPL_OBJ/TPL_FUNC value, or NULL for other types. */
void *tpl_object_self(const struct tpl_value *v);
/* The vtable of a TPL_OBJ, or NULL. */
const struct tpl_object_ops *tpl_object_ops(const struct tpl_value *v);

/* ---- conversions (Perl/TT2 semantics) ---- */

bool tpl_value_truth(const struct tpl_value *v);
bool tpl_value_defined(const struct tpl_value *v);
/*
 * Numeric value: integers exactly into *i with *is_int set, everything else
 * as a double in *d (strings parse their numeric prefix, "abc" is 0).
 */
void tpl_value_number(const struct tpl_value *v, bool *is_int, int64_t *i, double *d);
double tpl_value_double(const struct tpl_value *v);
/* Appends the printed form of v to b. Returns 0 or ERR_LIMIT. */
int tpl_value_print(const struct tpl_value *v, struct buf *b);
/* Converts JSON to a value (returns owned). JSON null → undefined. */
struct tpl_value tpl_value_from_json(const json_t *j);
/*
 * Converts v to JSON (*out owned). Objects print as strings and functions
 * as null. Returns 0, or ERR_LIMIT for structures nested deeper than 256.
 */
int tpl_value_to_json(const struct tpl_value *v, json_t **out, struct err *e);
/*
 * Perl's list-return rule for host methods that return a list (§2.2):
 * consumes list, returns owned: one element → that element, none →
 * undefined, more → the list itself.
 */
struct tpl_value tpl_value_perl_list(struct tpl_value list);

/* ---- call arguments ---- */

/* Borrowed positional argument i, or NULL. */
const struct tpl_value *tpl_args_at(const struct tpl_args *a, size_t i);
/* Borrowed named argument, or NULL. */
const struct tpl_value *tpl_args_named(const struct tpl_args *a, const char *name);
/*
 * SHM's flat key/value reading (templates.md §2.10): the value of key among
 * the named arguments, positional hashes and positional key, value pairs
 * (later wins). Borrowed, or NULL.
 */
const struct tpl_value *tpl_args_kv(const struct tpl_args *a, const char *key);

/* ---- memory ---- */

/* Frees unreachable cycles among this thread's values. */
void tpl_gc_collect(void);
/* Approximate bytes held by this thread's live values. */
size_t tpl_mem_live(void);

#endif
