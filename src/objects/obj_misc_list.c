/*
 * obj_misc_list.c — misc.sort_by_keys(list, key, …) (templates.md §7.14):
 * a new list of the hashes of list ordered by the values of the given keys,
 * the first key first. A key written "-name" sorts that key descending.
 * Two values that both read as numbers compare as numbers, anything else
 * as byte strings; a missing key sorts as "". The sort is stable (equal
 * items keep their order) and elements that are not hashes keep their
 * place relative to each other at the end. Without keys the list is
 * returned as is. Also misc.get_random_value(list), a random element.
 */
#include "objects_int.h"

#include "../util/buf.h"

#include <math.h>
#include <sodium.h>

#define SORT_KEYS_MAX 8

struct sort_key {
    const char *name;
    bool desc;
};

/* One element with its key values printed once (texts[k], owned). */
struct sort_item {
    const struct tpl_value *v;
    size_t pos;
    char **texts; /* NULL for an element that is not a hash */
};

struct sort_spec {
    const struct sort_key *keys;
    size_t nkeys;
};

/* The member name of item as text (owned; "" when absent). */
static char *member_text(const struct tpl_value *item, const char *name)
{
    const struct tpl_value *m = tpl_hash_get(item, name, strlen(name));
    struct buf b;
    buf_init(&b, 0);
    if (m)
        tpl_value_print(m, &b);
    buf_putc(&b, '\0');
    return buf_detach(&b, NULL);
}

static bool as_number(const char *s, double *d)
{
    char *end;
    if (!*s)
        return false;
    *d = strtod(s, &end);
    return *end == '\0' && !isnan(*d);
}

static int cmp_text(const char *x, const char *y)
{
    double a, b;
    if (as_number(x, &a) && as_number(y, &b))
        return (a > b) - (a < b);
    return strcmp(x, y);
}

/* Hashes first, then by each key, then by the original position (stable). */
static int cmp_items(const void *px, const void *py, void *arg)
{
    const struct sort_item *x = px, *y = py;
    const struct sort_spec *sp = arg;
    if (!x->texts != !y->texts)
        return x->texts ? -1 : 1;
    for (size_t k = 0; x->texts && k < sp->nkeys; k++) {
        int c = cmp_text(x->texts[k], y->texts[k]);
        if (c)
            return sp->keys[k].desc ? -c : c;
    }
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int obj_misc_sort_by_keys(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                          struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r);
    const struct tpl_value *l = tpl_args_at(a, 0);
    if (!l || l->type != TPL_LIST)
        return TPL_DECLINED;
    struct sort_key keys[SORT_KEYS_MAX];
    size_t nkeys = 0;
    char *names[SORT_KEYS_MAX];
    if (a->npos > SORT_KEYS_MAX + 1)
        return err_set(e, ERR_INVALID, "misc.sort_by_keys: at most %d keys", SORT_KEYS_MAX);
    for (size_t i = 1; i < a->npos; i++) {
        names[nkeys] = obj_arg_str(a, i, NULL);
        const char *n = names[nkeys] ? names[nkeys] : "";
        keys[nkeys].desc = *n == '-';
        keys[nkeys].name = n + keys[nkeys].desc;
        nkeys++;
    }
    size_t n = tpl_list_len(l);
    struct sort_item *items = xcalloc(n ? n : 1, sizeof(*items));
    for (size_t i = 0; i < n; i++) {
        items[i].v = tpl_list_at(l, i);
        items[i].pos = i;
        if (items[i].v->type != TPL_HASH)
            continue;
        items[i].texts = xcalloc(nkeys ? nkeys : 1, sizeof(char *));
        for (size_t k = 0; k < nkeys; k++)
            items[i].texts[k] = member_text(items[i].v, keys[k].name);
    }
    struct sort_spec sp = { keys, nkeys };
    qsort_r(items, n, sizeof(*items), cmp_items, &sp);
    *out = tpl_list_new();
    for (size_t i = 0; i < n; i++) {
        tpl_list_push(out, tpl_value_ref(items[i].v));
        for (size_t k = 0; items[i].texts && k < nkeys; k++)
            free(items[i].texts[k]);
        free(items[i].texts);
    }
    free(items);
    for (size_t k = 0; k < nkeys; k++)
        free(names[k]);
    return 0;
}

/* misc.get_random_value(list): a random element of a list (SHM); any other value as is. */
int obj_misc_get_random_value(struct obj *o, struct render_ctx *r, const struct tpl_args *a,
                              struct tpl_value *out, struct err *e)
{
    UNUSED(o), UNUSED(r), UNUSED(e);
    const struct tpl_value *v = tpl_args_at(a, 0);
    if (v && v->type == TPL_LIST && tpl_list_len(v))
        v = tpl_list_at(v, randombytes_uniform((uint32_t)tpl_list_len(v)));
    else if (v && v->type == TPL_LIST)
        v = NULL;
    *out = v ? tpl_value_ref(v) : tpl_undef();
    return 0;
}
