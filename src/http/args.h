/*
 * args.h — the request's argument map (api.md §3), as one JSON object.
 *
 * Query-string and form-encoded values are strings. A JSON object body
 * replaces the map and keeps its types; a JSON array or scalar body is stored
 * under "DATA". Any other non-empty body is kept as text under "POSTDATA"
 * (POST) or "PUTDATA" (PUT) when it is valid UTF-8. Query-string values are
 * merged last and win. Routes that consume the raw body (SHM's
 * skip_auto_parse_json) skip JSON/form parsing.
 */
#ifndef BILLD_ARGS_H
#define BILLD_ARGS_H

#include "http.h"

#include <jansson.h>

#define ARGS_MAX_KEYS 1000

/*
 * Builds the map into *out (new reference). Returns 0 or ERR_INVALID with a
 * message (malformed JSON, duplicate JSON keys, invalid UTF-8, too many keys).
 */
int args_parse(const struct http_request *req, bool raw_body, json_t **out, struct err *e);
/*
 * Parses an application/x-www-form-urlencoded text into obj (string values,
 * later duplicates win). Returns 0 or ERR_INVALID.
 */
int args_parse_form(const char *s, size_t len, json_t *obj, struct err *e);

/* Argument accessors for handlers. */
/* String value of key (numbers are not converted): NULL when absent or not a string. */
const char *args_str(json_t *args, const char *key);
/* True when key is absent, null or an empty string (SHM's "Field required" test). */
bool args_missing(json_t *args, const char *key);
/* Integer value of key (JSON integer or decimal string). Returns 0, ERR_NOT_FOUND or ERR_INVALID. */
int args_i64(json_t *args, const char *key, int64_t *out);
/* SHM truthiness: absent/null/false/0/""/"0" are false, anything else true. */
bool args_true(json_t *args, const char *key);

#endif
