/*
 * render.h — turning an api_ctx into the HTTP response: SHM's JSON envelope
 * (api.md §7.1), the error envelope (§7.2, §8), the `format` argument (§7.3)
 * and the headers every answer carries (CORS, §7.4).
 */
#ifndef BILLD_RENDER_H
#define BILLD_RENDER_H

#include "api.h"

/* Writes c->resp from c->err (when set) or c->data. */
void render_response(struct api_ctx *c);
/* 204 answer to a CORS preflight. */
void render_preflight(struct api_ctx *c);
/* 404 for an unknown route: JSON inside /shm/v1, text outside. */
void render_not_found(struct api_ctx *c, bool in_api);
/* Serialises v compactly with sorted keys (owned string). */
char *render_json(const json_t *v);

#endif
