/*
 * obj_http.c — `http` (templates.md §7.10): not available yet; `http` is
 * left unbound, so templates that call it see undefined values.
 */
#include "objects_int.h"

void obj_http_bind(struct tpl_value *vars, struct render_ctx *r)
{
    UNUSED(vars);
    UNUSED(r);
}
