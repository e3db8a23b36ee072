/*
 * fuzz_template.c — libFuzzer target for the template engine: the lexer and
 * parser on any input (both tag styles, chomping options from the first
 * byte), then a render of whatever compiles under tight limits, with a
 * loader that serves the input itself. Any input must either compile or be
 * refused with ERR_INVALID, and a render must end with 0, ERR_INVALID or
 * ERR_LIMIT — never crash, hang, leak or overrun (ASan/UBSan), and every
 * template value must be freed afterwards (tpl_mem_live() back to 0).
 */
#include "common.h"
#include "template/tpl.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const char *s;
    size_t n;
};

static int self_load(void *ud, const char *name, struct buf *src, struct err *e)
{
    const struct input *in = ud;
    UNUSED(e);
    if (!strcmp(name, "missing"))
        return ERR_NOT_FOUND;
    return buf_append(src, in->s, in->n);
}

static void render(const struct tpl *t, const struct input *in)
{
    static const struct tpl_limits lim = {
        .max_output = 1 << 16,
        .max_memory = 8 << 20,
        .max_steps = 20000,
        .max_iterations = 5000,
        .max_while = 100,
        .max_depth = 8,
        .max_ms = 200,
    };
    const char *json = "{\"s\":\"str\",\"n\":42,\"f\":1.5,\"l\":[3,1,2],\"h\":{\"a\":1,\"b\":[true,null]}}";
    json_t *j = json_loads(json, 0, NULL);
    struct tpl_value vars = tpl_value_from_json(j);
    json_decref(j);
    struct tpl_loader loader = {self_load, (void *)in};
    struct tpl_env env = {.vars = &vars, .loader = &loader, .limits = &lim};
    struct buf out;
    struct err e;
    buf_init(&out, 1 << 16);
    int rc = tpl_render(t, &env, &out, &e);
    if (rc != 0 && rc != ERR_INVALID && rc != ERR_LIMIT)
        abort();
    buf_free(&out);
    tpl_value_drop(&vars);
    tpl_gc_collect();
    if (tpl_mem_live() != 0) /* a lost reference: LSan cannot see it (the registry holds it) */
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    struct tpl_options opt = {
        .tags = data[0] & 1 ? TPL_TAGS_PERCENT : TPL_TAGS_CURLY,
        .no_pre_chomp = data[0] & 2,
        .post_chomp = data[0] & 4,
        .no_trim = data[0] & 8,
        .auto_escape_shell = data[0] & 16,
    };
    struct input in = {(const char *)data + 1, size - 1};
    struct tpl *t;
    struct err e;
    int rc = tpl_compile("fuzz", in.s, in.n, &opt, &t, &e);
    if (rc == ERR_INVALID) {
        if (strncmp(e.msg, "template fuzz:", 14) != 0)
            abort();
        tpl_cache_clear();
        return 0;
    }
    if (rc != 0)
        abort();
    render(t, &in);
    tpl_unref(t);
    tpl_cache_clear();
    return 0;
}
