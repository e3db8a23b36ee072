/*
 * tsettings.h — reading transport settings (JSON objects merged from the
 * server, template, event and task levels, transports.md §0) the way SHM's
 * Perl reads its hashes: shallow merges where later levels win, Perl
 * truthiness, non-empty strings, seconds as numbers or strings. Shared by
 * the http (http_client.c) and mail (mail.c) transports.
 */
#ifndef BILLD_TRANSPORT_TSETTINGS_H
#define BILLD_TRANSPORT_TSETTINGS_H

#include "../common.h"

#include <jansson.h>

/* The string at key of o when it is non-empty (borrowed), else NULL. */
const char *tset_str(const json_t *o, const char *key);

/*
 * Perl truthiness of v: false, 0, "", "0" are false, other values true;
 * absent (NULL) or JSON null give def (Perl's `// def`).
 */
bool tset_true(const json_t *v, bool def);

/* True when v is present and not JSON null. */
bool tset_defined(const json_t *v);

/* Shallow merge: every key of src (an object; anything else is ignored) overwrites dst. */
void tset_merge(json_t *dst, const json_t *src);

/*
 * Milliseconds of a duration given in seconds (5, 2.5, "5"); def when v is
 * absent, not a positive number, or not below max_s seconds.
 */
long tset_seconds_ms(const json_t *v, long def, double max_s);

/*
 * A JSON string of s[0..n); bytes that are not valid UTF-8 (and NULs)
 * become '?', so text from a remote peer can always be stored. New reference.
 */
json_t *tset_text(const char *s, size_t n);

/* tset_text over a NUL-terminated string. */
json_t *tset_textz(const char *s);

#endif
