/*
 * jsonout.h — a faster json_dumps for the API's response flags
 * (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(p)):
 * byte for byte what jansson writes, NULL where jansson returns NULL.
 */
#ifndef BILLD_JSONOUT_H
#define BILLD_JSONOUT_H

#include <jansson.h>

/*
 * The compact, key-sorted text of v (owned, free()), reals with precision p
 * (1–31). Plain ASCII keys, strings and integers are written here; reals,
 * non-ASCII strings and anything unusual (a non-ASCII key, deep nesting) are
 * left to jansson itself, so the output cannot differ from json_dumps.
 */
char *jsonout_dumps(const json_t *v, int precision);

#endif
