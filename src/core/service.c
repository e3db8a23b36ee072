/*
 * service.c — the services table: model, value rules, children lists and the
 * catalogue graph (see service.h).
 */
#include "service.h"
#include "period.h"
#include "../db/sqlb.h"
#include "../util/strutil.h"

#include <math.h>

static const struct field service_fields[] = {
    { "service_id", FT_INT, FF_KEY | FF_NONNEG, "id услуги", 0, NULL },
    { "name", FT_TEXT, FF_REQUIRED, "название", 64, NULL },
    { "cost", FT_MONEY, FF_REQUIRED | FF_NONNEG, "стоимость за период", 0, NULL },
    { "period", FT_PERIOD, 0, "период M.DDHH", 0, NULL },
    { "category", FT_TEXT, 0, "категория", 16, NULL },
    { "children", FT_JSON, FF_HIDDEN, "дочерние услуги [{service_id, qnt}]", 0, NULL },
    { "next", FT_INT, FF_HIDDEN | FF_NONNEG, "услуга при продлении (0 = та же)", 0, NULL },
    { "allow_to_order", FT_INT, FF_HIDDEN, "доступна для заказа", 0, NULL },
    { "max_count", FT_INT, FF_HIDDEN | FF_NONNEG, NULL, 0, NULL },
    { "question", FT_INT, FF_HIDDEN | FF_NONNEG, NULL, 0, NULL },
    { "pay_always", FT_INT, FF_HIDDEN, "списывать всегда", 0, NULL },
    { "no_discount", FT_INT, FF_HIDDEN, "без скидок", 0, NULL },
    { "descr", FT_TEXT, 0, "описание", 255, NULL },
    { "pay_in_credit", FT_INT, FF_HIDDEN, "списывать в кредит", 0, NULL },
    { "config", FT_JSON, FF_HIDDEN, "настройки", 0, NULL },
    { "is_composite", FT_INT, FF_HIDDEN, "составная услуга", 0, NULL },
    { "deleted", FT_INT, FF_HIDDEN, "удалена", 0, NULL },
};

const struct model service_model = {
    .name = "Service",
    .table = "services",
    .key = "service_id",
    .fields = service_fields,
    .nfields = ARRAY_SIZE(service_fields),
};

/* The 0/1 columns; the NOT NULL ones may not be set to null. */
static const struct {
    const char *name;
    bool nullable;
} service_flags[] = {
    { "allow_to_order", true }, { "pay_always", true },    { "no_discount", true },
    { "pay_in_credit", true },  { "is_composite", false }, { "deleted", false },
};

#define NOT_FOUND_MSG "Object not found. Check the ID."

/* ---- value rules ------------------------------------------------------ */

int service_period_check(const json_t *v, int64_t *scaled, struct err *e)
{
    int64_t n;
    if (!v || period_from_json(v, &n))
        return err_set(e, ERR_INVALID,
                       "Field period: expected a period M.DDHH (e.g. 1, 0.01, 1.0015)");
    if (n <= 0)
        return err_set(e, ERR_INVALID, "Field period: must be greater than zero");
    *scaled = n;
    return 0;
}

/* 0 or 1 from a number, a boolean or the string "0"/"1"; -1 for anything else. */
static int flag_value(const json_t *v)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        return n == 0 || n == 1 ? (int)n : -1;
    }
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_string(v) && strcmp(json_string_value(v), "0") == 0)
        return 0;
    if (json_is_string(v) && strcmp(json_string_value(v), "1") == 0)
        return 1;
    return -1;
}

int service_flag_check(const char *name, const json_t *v, bool nullable, json_t **out,
                       struct err *e)
{
    int n;
    if (json_is_null(v) && nullable) {
        *out = json_null();
        return 0;
    }
    n = flag_value(v);
    if (n < 0)
        return err_set(e, ERR_INVALID, "Field %s: must be 0 or 1", name);
    *out = json_integer(n);
    return 0;
}

/* A positive id from a JSON integer or a string of digits. */
static int id_from_json(const json_t *v, int64_t *out)
{
    int64_t n;
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (!json_is_string(v) ||
             parse_i64(json_string_value(v), json_string_length(v), 1, INT64_MAX, &n))
        return ERR_INVALID;
    if (n <= 0)
        return ERR_INVALID;
    *out = n;
    return 0;
}

static int check_name(json_t *values, struct err *e)
{
    json_t *v = json_object_get(values, "name");
    if (v && (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)))
        return err_set(e, ERR_INVALID, "Field name: must not be empty");
    return 0;
}

static int check_cost(json_t *values, struct err *e)
{
    json_t *v = json_object_get(values, "cost");
    if (v && json_is_null(v))
        return err_set(e, ERR_INVALID, "Field cost: must not be null");
    return 0;
}

static int check_period(json_t *values, struct err *e)
{
    int64_t scaled;
    json_t *v = json_object_get(values, "period");
    if (!v)
        return 0;
    if (json_is_null(v))
        return err_set(e, ERR_INVALID, "Field period: must not be null");
    return service_period_check(v, &scaled, e);
}

static int check_flags(json_t *values, struct err *e)
{
    for (size_t i = 0; i < ARRAY_SIZE(service_flags); i++) {
        json_t *v = json_object_get(values, service_flags[i].name), *norm;
        if (!v)
            continue;
        if (service_flag_check(service_flags[i].name, v, service_flags[i].nullable, &norm, e))
            return ERR_INVALID;
        json_object_set_new(values, service_flags[i].name, norm);
    }
    return 0;
}

/* config is null or an object; a string holding a JSON object is decoded. */
static int check_config(json_t *values, struct err *e)
{
    json_t *v = json_object_get(values, "config");
    if (!v || json_is_null(v) || json_is_object(v))
        return 0;
    if (json_is_string(v)) {
        json_t *o = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);
        if (json_is_object(o)) {
            json_object_set_new(values, "config", o);
            return 0;
        }
        json_decref(o);
    }
    return err_set(e, ERR_INVALID, "Field config: must be a JSON object");
}

/* An admin-chosen id must be positive; a null id means "choose one". */
static int check_new_id(json_t *values, struct err *e)
{
    int64_t id;
    json_t *v = json_object_get(values, "service_id");
    if (!v)
        return 0;
    if (json_is_null(v)) {
        json_object_del(values, "service_id");
        return 0;
    }
    if (id_from_json(v, &id))
        return err_set(e, ERR_INVALID, "Field service_id: must be a positive integer");
    return 0;
}

int service_values_check(json_t *values, bool create, struct err *e)
{
    int rc = check_name(values, e);
    if (rc == 0)
        rc = check_cost(values, e);
    if (rc == 0)
        rc = check_period(values, e);
    if (rc == 0)
        rc = check_flags(values, e);
    if (rc == 0)
        rc = check_config(values, e);
    if (rc == 0 && create)
        rc = check_new_id(values, e);
    return rc;
}

/* ---- children lists --------------------------------------------------- */

/* True when s[0..len) is digits with an optional fraction: "2", "0.5". */
static bool is_decimal(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    }
    return digits > 0 && i == len && len < 32;
}

/* qnt: absent or null = 1, else a positive number up to SERVICE_MAX_QNT. */
static int qnt_from_json(const json_t *v, double *out)
{
    double q;
    if (!v || json_is_null(v)) {
        *out = 1;
        return 0;
    }
    if (json_is_integer(v))
        q = (double)json_integer_value(v);
    else if (json_is_real(v))
        q = json_real_value(v);
    else if (json_is_string(v) && is_decimal(json_string_value(v), json_string_length(v)))
        q = strtod(json_string_value(v), NULL);
    else
        return ERR_INVALID;
    if (!isfinite(q) || q <= 0 || q > SERVICE_MAX_QNT)
        return ERR_INVALID;
    *out = q;
    return 0;
}

static json_t *qnt_to_json(double q)
{
    if (q == floor(q))
        return json_integer((json_int_t)q);
    return json_real(q);
}

/*
 * Parses children entry i: a service id or an object {service_id, qnt}.
 * Lenient parsing (stored values) reads a bad qnt as 1, as SHM's `qnt || 1`.
 * Returns 0, or ERR_INVALID with a message naming the entry in e (may be NULL).
 */
static int child_parse(const json_t *v, size_t i, bool lenient, int64_t *id, double *qnt,
                       struct err *e)
{
    if (json_is_object(v)) {
        json_t *sid = json_object_get(v, "service_id");
        if (!sid || id_from_json(sid, id))
            return err_set(e, ERR_INVALID,
                           "Field children[%zu].service_id: must be a positive integer", i);
        if (qnt_from_json(json_object_get(v, "qnt"), qnt)) {
            if (!lenient)
                return err_set(e, ERR_INVALID,
                               "Field children[%zu].qnt: must be a positive number up to %d", i,
                               SERVICE_MAX_QNT);
            *qnt = 1;
        }
        return 0;
    }
    *qnt = 1;
    if (id_from_json(v, id))
        return err_set(e, ERR_INVALID,
                       "Field children[%zu]: expected a service id or {service_id, qnt}", i);
    return 0;
}

static json_t *child_entry(int64_t id, double qnt)
{
    json_t *o = json_object();
    json_object_set_new(o, "service_id", json_integer(id));
    json_object_set_new(o, "qnt", qnt_to_json(qnt));
    return o;
}

/* The array of in, decoding a string that holds one; new reference or NULL. */
static json_t *children_array(const json_t *in)
{
    if (json_is_array(in))
        return json_incref((json_t *)in);
    if (json_is_string(in)) {
        json_t *a = json_loadb(json_string_value(in), json_string_length(in), 0, NULL);
        if (json_is_array(a))
            return a;
        json_decref(a);
    }
    return NULL;
}

int service_children_normalize(const json_t *in, int64_t self_id, json_t **out, struct err *e)
{
    json_t *arr = children_array(in), *res, *v;
    size_t i;
    int64_t id = 0;
    double qnt = 0;
    if (!arr)
        return err_set(e, ERR_INVALID,
                       "Field children: expected an array of {service_id, qnt}");
    if (json_array_size(arr) > SERVICE_MAX_CHILDREN) {
        json_decref(arr);
        return err_set(e, ERR_INVALID, "Field children: more than %d entries",
                       SERVICE_MAX_CHILDREN);
    }
    res = json_array();
    json_array_foreach(arr, i, v) {
        if (child_parse(v, i, false, &id, &qnt, e)) {
            json_decref(res);
            json_decref(arr);
            return ERR_INVALID;
        }
        if (id != self_id)
            json_array_append_new(res, child_entry(id, qnt));
    }
    json_decref(arr);
    *out = res;
    return 0;
}

json_t *service_children_read(const json_t *stored)
{
    json_t *arr = stored ? children_array(stored) : NULL, *res = json_array(), *v;
    size_t i;
    int64_t id = 0;
    double qnt = 0;
    json_array_foreach(arr, i, v) {
        if (child_parse(v, i, true, &id, &qnt, NULL) == 0)
            json_array_append_new(res, child_entry(id, qnt));
    }
    json_decref(arr);
    return res;
}

/* ---- the catalogue graph ---------------------------------------------- */

void service_graph_init(struct service_graph *g)
{
    memset(g, 0, sizeof(*g));
}

void service_graph_free(struct service_graph *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->nodes[i].children);
    free(g->nodes);
    service_graph_init(g);
}

/* Index of id, or where it would be inserted; true when found. */
static bool graph_find(const struct service_graph *g, int64_t id, size_t *pos)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->nodes[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < g->n && g->nodes[lo].id == id;
}

static struct service_node *graph_insert(struct service_graph *g, size_t pos, int64_t id)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->nodes = xrealloc(g->nodes, g->cap * sizeof(*g->nodes));
    }
    memmove(&g->nodes[pos + 1], &g->nodes[pos], (g->n - pos) * sizeof(*g->nodes));
    g->n++;
    memset(&g->nodes[pos], 0, sizeof(g->nodes[pos]));
    g->nodes[pos].id = id;
    return &g->nodes[pos];
}

void service_graph_set(struct service_graph *g, int64_t id, const json_t *children, bool deleted)
{
    size_t pos;
    struct service_node *nd = graph_find(g, id, &pos) ? &g->nodes[pos] : graph_insert(g, pos, id);
    json_t *list = service_children_read(children), *v;
    size_t i;
    free(nd->children);
    nd->deleted = deleted;
    nd->nchildren = json_array_size(list);
    nd->children = xcalloc(nd->nchildren ? nd->nchildren : 1, sizeof(*nd->children));
    json_array_foreach(list, i, v)
        nd->children[i] = json_integer_value(json_object_get(v, "service_id"));
    json_decref(list);
}

const struct service_node *service_graph_get(const struct service_graph *g, int64_t id)
{
    size_t pos;
    return graph_find(g, id, &pos) ? &g->nodes[pos] : NULL;
}

enum { WHITE = 0, GRAY, BLACK };

struct dfs_frame {
    size_t node; /* index into g->nodes */
    size_t next; /* next child to visit */
};

/* Writes the ids of the stack from the frame of node `back` to the top, then back again. */
static void write_cycle(const struct service_graph *g, const struct dfs_frame *st, size_t depth,
                        size_t back, struct buf *path)
{
    size_t k = 0;
    if (!path)
        return;
    while (k < depth && st[k].node != back)
        k++;
    for (; k < depth; k++)
        buf_printf(path, "%lld -> ", (long long)g->nodes[st[k].node].id);
    buf_printf(path, "%lld", (long long)g->nodes[back].id);
}

/* Iterative depth-first search from root; true (and path) when it meets a gray node. */
static bool dfs_from(const struct service_graph *g, size_t root, unsigned char *color,
                     struct dfs_frame *st, struct buf *path)
{
    size_t depth = 0, ci;
    st[depth++] = (struct dfs_frame){ root, 0 };
    color[root] = GRAY;
    while (depth) {
        struct dfs_frame *f = &st[depth - 1];
        const struct service_node *nd = &g->nodes[f->node];
        if (f->next == nd->nchildren) {
            color[f->node] = BLACK;
            depth--;
            continue;
        }
        if (!graph_find(g, nd->children[f->next++], &ci))
            continue;
        if (color[ci] == GRAY) {
            write_cycle(g, st, depth, ci, path);
            return true;
        }
        if (color[ci] == WHITE) {
            color[ci] = GRAY;
            st[depth++] = (struct dfs_frame){ ci, 0 };
        }
    }
    return false;
}

bool service_graph_find_cycle(const struct service_graph *g, int64_t start, struct buf *path)
{
    bool found = false;
    if (g->n == 0)
        return false;
    unsigned char *color = xcalloc(g->n, 1);
    struct dfs_frame *st = xcalloc(g->n, sizeof(*st));
    for (size_t i = 0; i < g->n && !found; i++) {
        if ((start && g->nodes[i].id != start) || color[i] != WHITE)
            continue;
        found = dfs_from(g, i, color, st, path);
    }
    free(st);
    free(color);
    return found;
}

int service_graph_load(struct db *db, struct service_graph *g, struct err *e)
{
    struct db_result *r = NULL;
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT service_id, children, deleted FROM services ORDER BY service_id%s",
             db_sql_for_update(db));
    int rc = db_query(db, sql, NULL, 0, &r, e);
    if (rc)
        return rc;
    for (int i = 0; i < db_result_rows(r); i++) {
        json_t *ch = model_cell_to_json(FT_JSON, r, i, 1);
        service_graph_set(g, db_result_int(r, i, 0), ch, db_result_int(r, i, 2) != 0);
        json_decref(ch);
    }
    db_result_free(r);
    return 0;
}

/* ---- database operations ---------------------------------------------- */

/* Every child must be a known, non-deleted service. */
static int check_children_exist(const struct service_graph *g, json_t *list, struct err *e)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        int64_t id = json_integer_value(json_object_get(v, "service_id"));
        const struct service_node *nd = service_graph_get(g, id);
        if (!nd)
            return err_set(e, ERR_INVALID, "Field children[%zu]: no service with id %lld", i,
                           (long long)id);
        if (nd->deleted)
            return err_set(e, ERR_INVALID, "Field children[%zu]: service %lld is deleted", i,
                           (long long)id);
    }
    return 0;
}

/* Refuses list as the children of self_id when that closes a cycle. */
static int check_no_cycle(struct service_graph *g, int64_t self_id, json_t *list, struct err *e)
{
    const struct service_node *self = service_graph_get(g, self_id);
    struct buf path;
    int rc = 0;
    service_graph_set(g, self_id, list, self && self->deleted);
    buf_init(&path, 0);
    if (service_graph_find_cycle(g, self_id, &path))
        rc = err_set(e, ERR_INVALID, "Field children: would create a cycle: %s", path.data);
    buf_free(&path);
    return rc;
}

int service_children_prepare(struct db *db, int64_t self_id, const json_t *in, json_t **out,
                             struct err *e)
{
    struct service_graph g;
    json_t *list = NULL;
    int rc = service_children_normalize(in, self_id, &list, e);
    if (rc)
        return rc;
    service_graph_init(&g);
    rc = service_graph_load(db, &g, e);
    if (rc == 0)
        rc = check_children_exist(&g, list, e);
    if (rc == 0 && self_id)
        rc = check_no_cycle(&g, self_id, list, e);
    service_graph_free(&g);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* Loads the stored children of id (a new JSON value, null when unset); 404 when absent. */
static int load_children(struct db *db, int64_t id, json_t **stored, struct err *e)
{
    struct db_result *r = NULL;
    struct db_value p[] = { DB_INT(id) };
    int rc = db_query(db, "SELECT children FROM services WHERE service_id = $1", p, 1, &r, e);
    if (rc)
        return rc;
    if (db_result_rows(r) < 1)
        rc = err_set_status(e, ERR_NOT_FOUND, 404, NOT_FOUND_MSG);
    else
        *stored = model_cell_to_json(FT_JSON, r, 0, 0);
    db_result_free(r);
    return rc;
}

int service_children_get(struct db *db, int64_t id, json_t **out, struct err *e)
{
    json_t *stored = NULL;
    int rc = load_children(db, id, &stored, e);
    if (rc)
        return rc;
    *out = service_children_read(stored);
    json_decref(stored);
    return 0;
}

int service_children_set(struct db *db, int64_t id, const json_t *in, json_t **out,
                         struct err *e)
{
    json_t *stored = NULL, *list = NULL;
    int rc = load_children(db, id, &stored, e);
    json_decref(stored);
    if (rc == 0)
        rc = service_children_prepare(db, id, in, &list, e);
    if (rc)
        return rc;
    char *text = json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS);
    struct db_value p[] = { DB_INT(id), DB_TEXT(text) };
    rc = db_exec(db, "UPDATE services SET children = $2 WHERE service_id = $1", p, 2, NULL, e);
    free(text);
    if (rc) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

#define ROWS_BATCH 100

/* Adds the rows of ids[0..n) (all columns) to map, keyed by the decimal id. */
static int fetch_rows(struct db *db, const int64_t *ids, size_t n, json_t *map, struct err *e)
{
    struct db_result *r = NULL;
    struct sqlb b;
    char key[32];
    sqlb_init(&b);
    sqlb_add(&b, "SELECT ");
    model_select_list(&service_model, &b.sql);
    sqlb_add(&b, " FROM services WHERE service_id IN (");
    for (size_t i = 0; i < n; i++) {
        sqlb_add(&b, "%s", i ? ", " : "");
        sqlb_int(&b, ids[i]);
    }
    sqlb_add(&b, ")");
    int rc = db_query(db, b.sql.data, b.params, b.n, &r, e);
    sqlb_free(&b);
    if (rc)
        return rc;
    for (int i = 0; i < db_result_rows(r); i++) {
        snprintf(key, sizeof(key), "%lld", (long long)db_result_get_int(r, i, "service_id"));
        json_object_set_new(map, key, model_row_to_json(&service_model, r, i, true));
    }
    db_result_free(r);
    return 0;
}

/* The rows of the services named by the entries of list, as a map id → row. */
static int fetch_children_rows(struct db *db, json_t *list, json_t *map, struct err *e)
{
    size_t n = json_array_size(list), i, k = 0;
    int64_t *ids = xcalloc(n ? n : 1, sizeof(*ids));
    json_t *v;
    int rc = 0;
    json_array_foreach(list, i, v)
        ids[k++] = json_integer_value(json_object_get(v, "service_id"));
    for (i = 0; i < n && rc == 0; i += ROWS_BATCH)
        rc = fetch_rows(db, ids + i, n - i < ROWS_BATCH ? n - i : ROWS_BATCH, map, e);
    free(ids);
    return rc;
}

int service_children_list(struct db *db, int64_t id, json_t **out, struct err *e)
{
    json_t *list = NULL, *map = json_object(), *res, *v;
    size_t i;
    char key[32];
    int rc = service_children_get(db, id, &list, e);
    if (rc == 0)
        rc = fetch_children_rows(db, list, map, e);
    if (rc) {
        json_decref(list);
        json_decref(map);
        return rc;
    }
    res = json_array();
    json_array_foreach(list, i, v) {
        snprintf(key, sizeof(key), "%lld",
                 (long long)json_integer_value(json_object_get(v, "service_id")));
        json_t *row = json_object_get(map, key);
        json_t *item = row ? json_deep_copy(row) : json_object();
        json_object_update(item, v);
        json_array_append_new(res, item);
    }
    json_decref(list);
    json_decref(map);
    *out = res;
    return 0;
}

int service_check_next(struct db *db, const json_t *next, struct err *e)
{
    int64_t id = 0, deleted;
    if (!next || json_is_null(next))
        return 0;
    if (json_is_boolean(next))
        id = json_is_true(next);
    else if (json_is_integer(next))
        id = json_integer_value(next);
    else if (!json_is_string(next) ||
             parse_i64(json_string_value(next), json_string_length(next), 0, INT64_MAX, &id))
        return err_set(e, ERR_INVALID, "Field next: expected a service id");
    if (id == 0)
        return 0;
    struct db_value p[] = { DB_INT(id) };
    int rc = db_query_int(db, "SELECT deleted FROM services WHERE service_id = $1", p, 1,
                          &deleted, e);
    if (rc == ERR_NOT_FOUND)
        return err_set(e, ERR_INVALID, "Field next: no service with id %lld", (long long)id);
    if (rc == 0 && deleted)
        return err_set(e, ERR_INVALID, "Field next: service %lld is deleted", (long long)id);
    return rc;
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

int service_categories(struct db *db, json_t **out, struct err *e)
{
    struct db_result *r = NULL;
    int rc = db_query(db,
                      "SELECT DISTINCT category FROM services WHERE deleted = 0"
                      " AND category IS NOT NULL AND category <> ''",
                      NULL, 0, &r, e);
    if (rc)
        return rc;
    int n = db_result_rows(r);
    json_t **items = xcalloc(n ? (size_t)n : 1, sizeof(*items));
    for (int i = 0; i < n; i++)
        items[i] = json_string(db_result_text(r, i, 0));
    db_result_free(r);
    json_t *arr = json_array();
    size_t k = 0;
    for (int i = 0; i < n; i++)
        if (items[i])
            items[k++] = items[i]; /* json_string() is NULL for invalid UTF-8 */
    qsort(items, k, sizeof(*items), cmp_json_str);
    for (size_t i = 0; i < k; i++)
        json_array_append_new(arr, items[i]);
    free(items);
    *out = arr;
    return 0;
}
